"""Metrics with their standard definitions: WER/CER (after Whisper's text normalisation),
BLEU and chrF (sacrebleu, corpus level), ASR-BLEU (BLEU of re-transcribed output speech)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Sequence

# Korean and other scripts written without spaces between words are scored by characters.
CER_LANGUAGES = {"kor", "jpn", "cmn", "yue", "tha", "lao", "mya", "khm", "bod"}


@lru_cache(maxsize=1)
def _english_normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


@lru_cache(maxsize=1)
def _basic_normalizer():
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize(text: str, lang: str) -> str:
    """Whisper-style normalisation: English rules for eng, the basic rules otherwise; Korean digits
    are read out as Sino-Korean numerals so digit and spelled-out forms compare equal."""
    text = unicodedata.normalize("NFC", text)
    if lang == "eng":
        return _english_normalizer()(text)
    if lang == "kor":
        from malsori.text.ko.numbers import digits, sino

        # A recogniser can emit a digit string of any length: long ones are read digit by digit.
        text = re.sub(r"\d+", lambda m: sino(int(m[0])) if len(m[0]) <= 20 else digits(m[0], zero="영"),
                      text.replace(",", ""))
    return _basic_normalizer()(text)


def _edit_counts(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between token sequences (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def error_rate(refs: Sequence[str], hyps: Sequence[str], lang: str, unit: str | None = None) -> float:
    """Corpus WER (or CER): total edits over total reference units, after normalisation.
    ``unit`` defaults to characters for CER_LANGUAGES and words otherwise."""
    unit = unit or ("char" if lang in CER_LANGUAGES else "word")
    edits = total = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, h = normalize(ref, lang), normalize(hyp, lang)
        if unit == "char":
            r_units, h_units = list(r.replace(" ", "")), list(h.replace(" ", ""))
        else:
            r_units, h_units = r.split(), h.split()
        edits += _edit_counts(r_units, h_units)
        total += len(r_units)
    return edits / total if total else 0.0


def wer(refs, hyps, lang="eng") -> float:
    return error_rate(refs, hyps, lang, "word")


def cer(refs, hyps, lang="kor") -> float:
    return error_rate(refs, hyps, lang, "char")


def bleu(refs: Sequence[str], hyps: Sequence[str], lang: str = "eng") -> float:
    import sacrebleu

    tokenize = "char" if lang in CER_LANGUAGES else "13a"
    return sacrebleu.corpus_bleu(list(hyps), [list(refs)], tokenize=tokenize).score


def chrf(refs: Sequence[str], hyps: Sequence[str]) -> float:
    import sacrebleu

    return sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score
