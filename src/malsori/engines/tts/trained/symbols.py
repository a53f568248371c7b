"""Text to phone ids. Korean goes through malsori's own front-end (numbers, Hanja, English words,
then Standard Pronunciation), and each syllable becomes its letters, onset and coda kept apart
(ㄱ at the start of a syllable is not the same sound as ㄱ at its end), and the silent onset ㅇ is
left out: with no sound of its own, the aligner gave it the following vowel's frames. Other
languages are spelled with the characters the training transcripts use."""

from __future__ import annotations

import re
import unicodedata

from malsori.text.ko.hangul import CODAS, ONSETS, VOWELS, is_syllable, split

PAD = "<pad>"
PAUSES = (" ", ",", ".", "?", "!")
_ENDS = {"…": ".", ";": ",", ":": ",", "、": ",", "。": ".", "？": "?", "！": "!", "，": ","}
SILENT_ONSET = "ㅇ"
KOREAN_SYMBOLS = [PAD, *PAUSES, *(o for o in ONSETS if o != SILENT_ONSET), *VOWELS, *("_" + c for c in CODAS if c)]


def korean_phones(text: str, pronounce: bool = True) -> list[str]:
    """``text`` as phone symbols of ``KOREAN_SYMBOLS`` (letters the table lacks are dropped)."""
    if pronounce:
        from malsori.text.ko.g2p import g2p

        text = g2p(text)
    phones: list[str] = []
    for ch in _tidy(text):
        if is_syllable(ch):
            onset, vowel, coda = split(ch)
            phones += ([] if onset == SILENT_ONSET else [onset]) + [vowel] + (["_" + coda] if coda else [])
        elif ch in PAUSES:
            if ch == " " and (not phones or phones[-1] in PAUSES):
                continue
            phones.append(ch)
    while phones and phones[-1] == " ":
        phones.pop()
    return phones


def character_phones(text: str) -> list[str]:
    """Any language: the lower-cased characters, punctuation reduced to the pause marks."""
    phones: list[str] = []
    for ch in _tidy(text.lower()):
        if ch.isalpha() or ch in PAUSES:
            if ch == " " and (not phones or phones[-1] in PAUSES):
                continue
            phones.append(ch)
    return phones


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = "".join(_ENDS.get(ch, ch) for ch in text)
    return re.sub(r"\s+", " ", text).strip()


class PhoneSet:
    """The voice's symbol table: ids the model was trained with, in the order saved in its card."""

    def __init__(self, language: str, symbols: list[str]):
        self.language = language
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def for_language(cls, language: str, texts: list[str] = ()) -> "PhoneSet":
        if language == "kor":
            return cls(language, KOREAN_SYMBOLS)
        seen = sorted({p for t in texts for p in character_phones(t)} - set(PAUSES))
        return cls(language, [PAD, *PAUSES, *seen])

    def phones(self, text: str) -> list[str]:
        found = korean_phones(text) if self.language == "kor" else character_phones(text)
        return [p for p in found if p in self.index]

    def ids(self, text: str) -> list[int]:
        return [self.index[p] for p in self.phones(text)]
