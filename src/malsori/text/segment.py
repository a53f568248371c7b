"""Splitting text input into sentence-sized units for translation and synthesis."""

from __future__ import annotations

import re

# Sentence ends: Latin/Korean full stops, CJK full stops, question and exclamation marks.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def split_sentences(text: str, max_chars: int = 400) -> list[str]:
    """Paragraphs (blank lines or newlines) first, then sentences; long sentences cut at commas."""
    units: list[str] = []
    for paragraph in re.split(r"\n+", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            sentence = sentence.strip()
            while len(sentence) > max_chars:
                cut = sentence.rfind(",", 0, max_chars)
                cut = cut + 1 if cut > 0 else max_chars
                units.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                units.append(sentence)
    return units
