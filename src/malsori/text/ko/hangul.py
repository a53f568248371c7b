"""Hangul syllables as (onset, vowel, coda) compatibility jamo, and back."""

from __future__ import annotations

ONSETS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
CODAS = ["", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ",
         "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ"]
FIRST, LAST = 0xAC00, 0xD7A3


def is_syllable(ch: str) -> bool:
    return FIRST <= ord(ch) <= LAST


def split(ch: str) -> list[str]:
    """[onset, vowel, coda] of one syllable (coda "" when there is none)."""
    index = ord(ch) - FIRST
    onset, rest = divmod(index, 21 * 28)
    vowel, coda = divmod(rest, 28)
    return [ONSETS[onset], VOWELS[vowel], CODAS[coda]]


_ONSET_INDEX = {j: i for i, j in enumerate(ONSETS)}
_VOWEL_INDEX = {j: i for i, j in enumerate(VOWELS)}
_CODA_INDEX = {j: i for i, j in enumerate(CODAS)}


def join(onset: str, vowel: str, coda: str = "") -> str:
    return chr(FIRST + (_ONSET_INDEX[onset] * 21 + _VOWEL_INDEX[vowel]) * 28 + _CODA_INDEX[coda])


def to_jamo(text: str) -> str:
    """Each syllable as its letters (compatibility jamo): 꽃 -> ㄲㅗㅊ; other characters as they are."""
    return "".join("".join(split(ch)) if is_syllable(ch) else ch for ch in text)
