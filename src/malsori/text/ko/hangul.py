"""Hangul syllables as (onset, vowel, coda) compatibility jamo, and back."""

from __future__ import annotations

ONSETS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
CODAS = ["", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ",
         "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ"]
FIRST, LAST = 0xAC00, 0xD7A3


def is_syllable(ch: str) -> bool:
    return FIRST <= ord(ch) <= LAST


# Every syllable's letters and back, as tables: the G2P splits and joins tens of syllables a
# sentence, and a lookup is several times faster than the arithmetic.
_LETTERS = [(o, v, c) for o in ONSETS for v in VOWELS for c in CODAS]
SYLLABLES = {letters: chr(FIRST + i) for i, letters in enumerate(_LETTERS)}


def split(ch: str) -> tuple[str, str, str]:
    """(onset, vowel, coda) of one syllable (coda "" when there is none)."""
    return _LETTERS[ord(ch) - FIRST]


def join(onset: str, vowel: str, coda: str = "") -> str:
    return SYLLABLES[onset, vowel, coda]


def to_jamo(text: str) -> str:
    """Each syllable as its letters (compatibility jamo): 꽃 -> ㄲㅗㅊ; other characters as they are."""
    return "".join("".join(split(ch)) if is_syllable(ch) else ch for ch in text)
