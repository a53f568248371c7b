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


_KO_DIGITS = {"0": "영", "1": "일", "2": "이", "3": "삼", "4": "사", "5": "오", "6": "육", "7": "칠", "8": "팔", "9": "구"}


def _korean_number(match: re.Match) -> str:
    """Sino-Korean reading of an integer (Whisper writes digits, references spell numbers out)."""
    n = int(match.group(0))
    if n == 0:
        return "영"
    units = ["", "십", "백", "천"]
    big = ["", "만", "억", "조"]
    out, group = [], 0
    while n:
        n, chunk = divmod(n, 10_000)
        words = []
        for i, d in enumerate(reversed(f"{chunk:04d}")):
            if d != "0":
                words.append((_KO_DIGITS[d] if d != "1" or i == 0 else "") + units[i])
        if words:
            out.append("".join(reversed(words)) + big[group])
        group += 1
    return "".join(reversed(out))


def normalize(text: str, lang: str) -> str:
    """Whisper-style normalisation: English rules for eng, the basic rules otherwise; Korean digits
    are read out as Sino-Korean numerals so digit and spelled-out forms compare equal."""
    text = unicodedata.normalize("NFC", text)
    if lang == "eng":
        return _english_normalizer()(text)
    if lang == "kor":
        text = re.sub(r"\d+", _korean_number, text.replace(",", ""))
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
