"""Syllable counts from text, for speech rate (syllables per second) in any output language.

Korean is exact (one Hangul block is one syllable). Latin-script languages count vowel nuclei:
English drops a silent final e; Spanish, Italian and Portuguese split strong-vowel hiatus (a, e,
o and accented vowels are nuclei of their own) and merge diphthongs with i/u. Digits count one
syllable each and CJK characters one each. Good to a syllable or two per sentence, which is what
a rate correlation needs.
"""

from __future__ import annotations

import re

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_VOWELS = "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœ"
_STRONG = set("aeoáéíóúàèìòùâêôã")
_ROMANCE = {"spa", "ita", "por", "cat", "glg", "ron"}


def count_syllables(text: str, language: str = "eng") -> int:
    count = len(_HANGUL.findall(text)) + len(_CJK.findall(text)) + len(re.findall(r"\d", text))
    for word in re.findall(r"[^\W\d_]+", _HANGUL.sub(" ", _CJK.sub(" ", text.lower()))):
        count += _word_syllables(word, language)
    return count


def _word_syllables(word: str, language: str) -> int:
    groups = re.findall(f"[{_VOWELS}]+", word)
    if not groups:
        return 0
    if language in _ROMANCE:
        # Each strong vowel is a nucleus; weak vowels (i, u, y) only when the group has none.
        return sum(max(1, sum(c in _STRONG for c in g)) for g in groups)
    n = len(groups)
    if language == "eng" and n > 1 and word.endswith("e") and not word.endswith(("le", "ee", "ye")) \
            and not re.search(f"[{_VOWELS}]e$", word):
        n -= 1  # silent final e: "make", "there"
    elif language == "eng" and n > 1 and word.endswith("ed") and not word.endswith(("ted", "ded")):
        n -= 1  # "jumped", "called"
    return n



# Typical syllables per second over the speech span of read speech (inner pauses included), as
# ``count_syllables`` counts: eng, spa and kor measured on the dev recordings (medians 4.8-4.9,
# 5.9, 5.5-6.4); the others scaled from English by Pellegrino et al. (2011)'s cross-language rates.
TYPICAL_RATE = {"eng": 4.8, "spa": 5.9, "kor": 6.0, "fra": 5.6, "deu": 4.6, "ita": 5.4, "jpn": 6.1,
                "cmn": 4.0, "vie": 4.2}
DEFAULT_RATE = 5.0


def relative_rate(rate: float, language: str) -> float:
    """How much faster than typical for its language ``rate`` (syllables/s) is: 1.0 is typical."""
    return rate / TYPICAL_RATE.get(language, DEFAULT_RATE)
