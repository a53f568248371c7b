"""Hanja (漢字) in Korean text read in Hangul: 李舜臣 장군은 韓國 사람이다 -> 이순신 장군은 한국 사람이다.

Data: data/hanja.tsv, built by scripts/build_hanja_table.py from the kHangul field of Unicode's
Unihan database (Unicode Character Database 15.0.0, Unicode License, see data/HANJA_LICENSE.txt):
8,500 ideographs with their Hangul readings, most usual first. The readings are the original
ones (李 리, 女 녀, 樂 락), so the spelling rules below are applied here.

Each run of Hanja is read as follows.
1. Readings. Where python-mecab-ko is installed, a run is segmented by mecab-ko-dic and every
   word of two or more characters it knows takes the dictionary's reading, which picks the
   right one of several (音樂 음악, 金浦 김포, 變更 변경). Its single-character entries are not
   used: they are not chosen by context (率 is 수, 金 always 김: 黃金 would be 황김). Every other
   character takes its first reading in the table, so a name the dictionary lacks is read as
   words are (金九 금구, not 김구). mecab is optional: without it, the table alone.
2. 不 is read 부 before ㄷ and ㅈ (不足 부족, 不正 부정), 불 elsewhere (不法 불법).
3. 두음법칙 (한글 맞춤법 제10-12항) at the start of a word: ㄴ before ㅣ or a y-vowel is dropped
   (女子 여자, 泥田 이전), ㄹ is dropped before those (李 이, 歷史 역사) and becomes ㄴ before the
   others (來日 내일, 勞動 노동). mecab-ko-dic spells many words without it (女子 녀자), so it is
   applied to its readings as well, and also at the start of each dictionary word inside a run,
   as the rule asks for compounds (國際聯合 국제연합, 新女性 신여성).
4. Inside a word, 렬 and 률 after a vowel or ㄴ are 열 and 율 (比率 비율, 先烈 선열), and stay after
   other codas (能率 능률, 法律 법률).

A run starts a word unless it follows a Hangul syllable or a digit directly. Hangul before it
is taken to be the same word ("비率" -> 비율, "대韓民國" -> 대한민국), and a digit to be a number
before a counter (3年 -> 3년); whitespace, punctuation, Latin letters and the start of the text
all start a word. Word boundaries inside a run are only known from the dictionary: without
mecab, 國際聯合 is 국제련합.

CJK compatibility ideographs (U+F900-FAFF, U+2F800-2FA1F) that have a reading of their own keep
it, since the writer chose that character for that reading (U+F914 樂 is 낙, U+F9BF 樂 is 요);
the others are read as the unified ideograph they are canonically equivalent to.

Ideographs with no reading in the table (most of the rare extension blocks) are left as they
are; the syllable after one is taken to be inside a word whose last sound is unknown (no
두음법칙, 렬/률 kept).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

from malsori.text.ko.hangul import is_syllable, join, split

# CJK Unified Ideographs and extension A, the compatibility ideographs, and the supplementary
# planes' ideographs (extensions B to H and the compatibility supplement).
HANJA_RUN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]+")
COMPATIBILITY_RANGES = ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
# The vowels an initial ㄴ or ㄹ is dropped before (the y-glide and ㅣ) at the start of a word.
Y_VOWELS = "ㅑㅒㅕㅖㅛㅠㅣ"
YEOL_YUL = {"렬": "열", "률": "율"}
BUL = "不"


def read_hanja(text: str, morphology: bool = True) -> str:
    """``text`` with every run of Hanja replaced by its Hangul reading (see the module
    docstring); everything else is left as it is. mecab-ko-dic chooses the readings of the words
    it knows when python-mecab-ko is installed, unless ``morphology`` is False."""
    if not HANJA_RUN_RE.search(text):
        return text
    analyser = _load_mecab() if morphology else None
    pieces: list[str] = []
    done = 0
    for match in HANJA_RUN_RE.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        pieces += [text[done:match.start()], _read_run(match[0], before, analyser)]
        done = match.end()
    pieces.append(text[done:])
    return "".join(pieces)


def readings(char: str) -> tuple[str, ...]:
    """The Hangul readings of one ideograph, most usual first (() when it has none)."""
    table = _table()
    return table.get(char) or table.get(unicodedata.normalize("NFC", char), ())


def initial_sound_rule(syllable: str) -> str:
    """두음법칙 for one syllable at the start of a word: 녀 -> 여, 리 -> 이, 래 -> 내, 력 -> 역."""
    onset, vowel, coda = split(syllable)
    if onset == "ㄹ":
        return join("ㅇ" if vowel in Y_VOWELS else "ㄴ", vowel, coda)
    if onset == "ㄴ" and vowel in Y_VOWELS:
        return join("ㅇ", vowel, coda)
    return syllable


def _read_run(run: str, before: str, analyser) -> str:
    syllables = [_first_reading(char) for char in run]
    word_starts = {0} if _starts_word(before) else set()
    from_dictionary: set[int] = set()
    for start, reading in _dictionary_words(run, analyser):
        for index in range(start, start + len(reading)):
            if not _has_own_reading(run[index]):
                syllables[index] = reading[index - start]
        from_dictionary.update(range(start, start + len(reading)))
        if start:  # a dictionary word right after Hangul is taken to be part of that word too
            word_starts.add(start)
    _read_bul(run, syllables, from_dictionary)
    return _spell(run, syllables, word_starts, _coda_before(before))


def _first_reading(char: str) -> str | None:
    found = readings(char)
    return found[0] if found else None


def _starts_word(before: str) -> bool:
    return not before or not (is_syllable(before) or before.isdigit())


def _coda_before(before: str) -> str | None:
    """The coda of the Hangul syllable the run follows (None when it follows anything else)."""
    return split(before)[2] if before and is_syllable(before) else None


def _has_own_reading(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in COMPATIBILITY_RANGES) and char in _table()


def _dictionary_words(run: str, analyser) -> list[tuple[int, str]]:
    """(start, reading) of the words of two or more characters that mecab-ko-dic reads in
    ``run``, one syllable a character."""
    if analyser is None:
        return []
    unified = unicodedata.normalize("NFC", run)
    if len(unified) != len(run):  # compatibility ideographs map one to one; anything else: no
        return []
    try:
        morphemes = analyser.parse(unified)
    except Exception:  # a broken dictionary install should not stop the reading
        return []
    words = []
    for morpheme in morphemes:
        start, end = morpheme.span.start, morpheme.span.end
        reading = morpheme.feature.reading
        if (end - start >= 2 and unified[start:end] == morpheme.surface and reading
                and len(reading) == end - start and all(is_syllable(s) for s in reading)):
            words.append((start, reading))
    return words


def _read_bul(run: str, syllables: list[str | None], from_dictionary: set[int]) -> None:
    """不 is 부 before ㄷ and ㅈ (不當 부당, 不足 부족); the dictionary's readings already say so."""
    for index, char in enumerate(run[:-1]):
        following = syllables[index + 1]
        if (index not in from_dictionary and unicodedata.normalize("NFC", char) == BUL
                and syllables[index] == "불" and following and split(following)[0] in "ㄷㅈ"):
            syllables[index] = "부"


def _spell(run: str, syllables: list[str | None], word_starts: set[int], coda: str | None) -> str:
    """The readings with 두음법칙 at word starts and 열/율 inside words; ideographs without a
    reading are kept, and the syllable after one is read as if nothing came before it."""
    spelled = []
    for index, (char, syllable) in enumerate(zip(run, syllables)):
        if syllable is None:
            spelled.append(char)
            coda = None
            continue
        if index in word_starts:
            syllable = initial_sound_rule(syllable)
        elif syllable in YEOL_YUL and coda in ("", "ㄴ"):
            syllable = YEOL_YUL[syllable]
        spelled.append(syllable)
        coda = split(syllable)[2]
    return "".join(spelled)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, ...]]:
    text = resources.files("malsori.text.ko").joinpath("data/hanja.tsv").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            char, found = line.split("\t")
            table[char] = tuple(found.split())
    return table


@lru_cache(maxsize=1)
def _load_mecab():
    """mecab-ko-dic's analyser, or None when python-mecab-ko is not installed."""
    try:
        import mecab

        return mecab.MeCab()
    except Exception:  # not installed, or its dictionary missing: the table alone
        return None
