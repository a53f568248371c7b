"""Word alignment between a sentence and its translation, enough to carry pauses across.

No neural aligner runs offline here, so the alignment is built from evidence a person would use
first: the same token on both sides (names, numbers), cognates (a shared stem, accents ignored),
and optionally a word-by-word lexicon from the translator itself. These are the *strong* pairs;
every source word also gets a *weak* pair at its proportional position, so a sentence with no
lexical evidence still aligns monotonically (stopes' pause metric weighs weak pairs 0.1).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

WEAK_WEIGHT = 0.1
MIN_SIMILARITY = 0.6
# Lexical evidence far from the diagonal is usually a repeated function word: halve it at 0.3.
POSITION_SCALE = 0.3

_PUNCT_END = re.compile(r"[,;:.!?。、，！？…)\]\"'»]+$")


@dataclass
class Alignment:
    strong: set[tuple[int, int]] = field(default_factory=set)
    weak: set[tuple[int, int]] = field(default_factory=set)

    def noncross_ratio(self, i: int, j: int, weak_weight: float = WEAK_WEIGHT) -> float:
        """Weighted share of alignment edges that do not cross a link between the gap after
        source word ``i`` and the gap after target word ``j`` (1: the gaps split both sentences
        consistently)."""
        num = den = 0.0
        for pairs, weight in ((self.strong, 1.0), (self.weak, weak_weight)):
            for a, b in pairs:
                den += weight
                num += weight * ((a - i - 0.5) * (b - j - 0.5) > 0)
        return num / den if den else 1.0


def words_of(text: str) -> list[str]:
    """Whitespace tokens with their punctuation (Korean eojeol are words here too)."""
    return text.split()


def normalize(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def similarity(a: str, b: str) -> float:
    """1 for the same token, up to ~0.9 for a shared stem of 4+ letters, else 0."""
    a, b = normalize(a), normalize(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    prefix = 0
    for x, y in zip(a, b):
        if x != y:
            break
        prefix += 1
    if prefix < 4:
        return 0.0
    return 0.9 * prefix / max(len(a), len(b)) + 0.1


def align(source: list[str], target: list[str], lexicon: dict[str, list[str]] | None = None) -> Alignment:
    """Strong pairs from lexical evidence (one best target word per source word), weak pairs on
    the diagonal. ``lexicon`` maps a normalised source word to its translations' words."""
    n, m = len(source), len(target)
    result = Alignment()
    if not n or not m:
        return result
    for i, word in enumerate(source):
        result.weak.add((i, min(m - 1, int((i + 0.5) * m / n))))
        candidates = lexicon.get(normalize(word), []) if lexicon else []
        best, best_j = 0.0, -1
        for j, other in enumerate(target):
            sim = max([similarity(word, other)] + [similarity(c, other) for c in candidates])
            if sim < MIN_SIMILARITY:
                continue
            score = sim * 0.5 ** (abs((i + 0.5) / n - (j + 0.5) / m) / POSITION_SCALE)
            if score > best:
                best, best_j = score, j
        if best_j >= 0 and best >= MIN_SIMILARITY * 0.5:
            result.strong.add((i, best_j))
    return result


def map_gap(i: int, n_source: int, target: list[str], alignment: Alignment) -> int:
    """The target gap (after target word j) that best matches the source gap after word ``i``:
    most non-crossing alignment edges, then a target word ending a clause (punctuation), then
    the nearest to the proportional position."""
    m = len(target)
    if m < 2:
        return -1
    expected = (i + 1) * m / n_source - 1

    def score(j: int) -> tuple[float, float, float]:
        punct = 1.0 if _PUNCT_END.search(target[j]) else 0.0
        return (round(alignment.noncross_ratio(i, j), 2), punct, -abs(j - expected))

    return max(range(m - 1), key=score)


def pauses_after_words(word_times: list[tuple[float, float]], pauses: list[tuple[float, float]]) -> list[float]:
    """Assign each pause (start, end) to the word gap nearest its centre: the result holds, for
    each word but the last, the pause duration that follows it (0 for none)."""
    after = [0.0] * max(0, len(word_times) - 1)
    if not after:
        return after
    gaps = [(a[1] + b[0]) / 2 for a, b in zip(word_times, word_times[1:])]
    for start, end in pauses:
        centre = (start + end) / 2
        if centre <= word_times[0][0] or centre >= word_times[-1][1]:
            continue  # before the first or after the last word: not inside the sentence
        k = min(range(len(gaps)), key=lambda g: abs(gaps[g] - centre))
        after[k] += end - start
    return after
