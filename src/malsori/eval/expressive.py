"""How much of the source's delivery the output speech kept: the SeamlessExpressive measures
(speech-rate correlation, pause alignment) plus pitch and energy contour correlation, whisper
agreement and speaker similarity. Definitions, as computed here:

- **Speech rate**: syllables of the utterance's text (``malsori.text.syllables``) per second
  from the first to the last speech frame (leading and trailing silence excluded, inner pauses
  included). Reported as Spearman's rank correlation between source and output rates across
  utterances (SeamlessExpressive reports this with syllables).
- **Pause alignment** (after stopes' ``local_prosody``): pauses of >= 0.1 s inside an utterance
  are attached to the word they follow (word times from the recogniser, pause edges from
  intensity). A source and an output pause are compared by the product of their duration ratio
  (shorter / longer) and the share of word-alignment edges that do not cross the link between them
  (weak diagonal edges weigh 0.1; see ``malsori.prosody.align``). Pauses are paired one to one to
  maximise the total; unpaired pauses score 0. The utterance score is the duration-weighted mean
  over both sides' pauses (1 when neither side pauses); the corpus score is the mean over
  utterances. Our word aligner is lexical (same tokens, cognates, the translator's word lexicon)
  where stopes uses awesome-align.
- **F0 / energy correlation**: the utterance is cut into phrases at its aligned pause pairs; for
  each phrase pair the log-F0 (voiced frames, gaps interpolated) and intensity (dB, speech frames)
  are resampled to 50 points and correlated (Pearson); the mean over phrases is the utterance's.
- **Whisper agreement**: the output is whispered exactly when the source is (``Prosody.whispered``).
- **Speaker similarity**: cosine between GE2E embeddings (Resemblyzer's encoder) of source and
  output, a VSim analogue (SeamlessExpressive's VSim uses a WavLM-based encoder).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from malsori.prosody.align import Alignment, align, pauses_after_words, words_of
from malsori.prosody.analysis import Prosody, analyze
from malsori.text.syllables import count_syllables

MIN_PAUSE_S = 0.1
CONTOUR_POINTS = 50


@dataclass
class Side:
    """One side of a pair: the audio's prosody, its words and their times."""

    prosody: Prosody
    words: list[str]
    word_times: list[tuple[float, float]]
    language: str

    @property
    def rate(self) -> float:
        speech = self.prosody.speech
        span = speech[-1][1] - speech[0][0] if speech else 0.0
        return count_syllables(" ".join(self.words), self.language) / span if span > 0 else float("nan")

    def pauses_after_words(self) -> list[float]:
        pauses = [(a, b) for a, b in self.prosody.pauses if b - a >= MIN_PAUSE_S]
        return pauses_after_words(self.word_times, pauses)


@dataclass
class PairScores:
    source_rate: float
    output_rate: float
    pause_score: float
    f0_correlation: float
    energy_correlation: float
    source_whispered: bool
    output_whispered: bool
    speaker_similarity: float | None = None
    source_pauses: int = 0
    output_pauses: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def side_from_transcript(audio, transcript, language: str) -> Side:
    words, times = [], []
    for seg in transcript.segments:
        for w in seg.words:
            if w.text.strip():
                words.append(w.text.strip())
                times.append((w.start, w.end))
        if not seg.words and seg.text.strip():  # a recogniser without word times: spread evenly
            parts = words_of(seg.text)
            step = (seg.end - seg.start) / max(1, len(parts))
            for k, part in enumerate(parts):
                words.append(part)
                times.append((seg.start + k * step, seg.start + (k + 1) * step))
    return Side(analyze(audio, min_pause_s=MIN_PAUSE_S), words, times, language)


def pause_alignment(source: list[float], output: list[float], alignment: Alignment) -> tuple[float, list]:
    """The utterance's duration-weighted joint score and the matched (source gap, output gap) pairs."""
    src = [(i, d) for i, d in enumerate(source) if d > 0]
    out = [(j, d) for j, d in enumerate(output) if d > 0]
    if not src and not out:
        return 1.0, []
    if not src or not out:
        return 0.0, []
    sims = np.array([[min(d, e) / max(d, e) * alignment.noncross_ratio(i, j) for j, e in out] for i, d in src])
    pairs = best_assignment(sims)
    scores_src = np.zeros(len(src))
    scores_out = np.zeros(len(out))
    for a, b in pairs:
        scores_src[a] = scores_out[b] = sims[a, b]
    weights = np.array([d for _, d in src] + [e for _, e in out])
    joint = np.concatenate([scores_src, scores_out])
    return float((joint * weights).sum() / weights.sum()), [(src[a][0], out[b][0]) for a, b in pairs]


def best_assignment(sims: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one pairs maximising the total similarity (exact by dynamic programming over the
    smaller side's subsets; a few pauses per utterance keeps this tiny), zero-score pairs dropped."""
    flipped = sims.shape[1] > sims.shape[0]
    mat = sims.T if flipped else sims  # rows >= columns
    rows, cols = mat.shape
    if cols > 12:  # pathological: fall back to greedy
        pairs, used_r, used_c = [], set(), set()
        for r, c in sorted(np.ndindex(rows, cols), key=lambda rc: -mat[rc]):
            if r not in used_r and c not in used_c and mat[r, c] > 0:
                pairs.append((r, c))
                used_r.add(r)
                used_c.add(c)
    else:
        best = {0: (0.0, [])}  # mask of used columns -> (total, pairs)
        for r in range(rows):
            nxt = dict(best)
            for mask, (total, pairs) in best.items():
                for c in range(cols):
                    if not mask & (1 << c) and mat[r, c] > 0:
                        key = mask | (1 << c)
                        cand = total + mat[r, c]
                        if key not in nxt or cand > nxt[key][0]:
                            nxt[key] = (cand, pairs + [(r, c)])
            best = nxt
        pairs = max(best.values(), key=lambda v: v[0])[1]
    return [(c, r) for r, c in pairs] if flipped else pairs


def contour_correlations(source: Side, output: Side, gap_pairs: list[tuple[int, int]]) -> tuple[float, float]:
    """Mean Pearson correlation of the F0 and of the energy contours over aligned phrases."""
    cuts_src = _phrase_edges(source, [a for a, _ in sorted(gap_pairs)])
    cuts_out = _phrase_edges(output, [b for _, b in sorted(gap_pairs)])
    f0s, energies = [], []
    for (a0, a1), (b0, b1) in zip(cuts_src, cuts_out):
        f0s.append(_pearson(_f0_curve(source.prosody, a0, a1), _f0_curve(output.prosody, b0, b1)))
        energies.append(_pearson(_energy_curve(source.prosody, a0, a1), _energy_curve(output.prosody, b0, b1)))
    return _nanmean(f0s), _nanmean(energies)


def score_pair(source: Side, output: Side, lexicon: dict | None = None) -> PairScores:
    alignment = align(source.words, output.words, lexicon)
    src_pauses, out_pauses = source.pauses_after_words(), output.pauses_after_words()
    score, gap_pairs = pause_alignment(src_pauses, out_pauses, alignment)
    f0, energy = contour_correlations(source, output, gap_pairs)
    return PairScores(source.rate, output.rate, score, f0, energy, source.prosody.whispered,
                      output.prosody.whispered, source_pauses=sum(d > 0 for d in src_pauses),
                      output_pauses=sum(d > 0 for d in out_pauses))


def summarize(pairs: list[PairScores]) -> dict:
    """Corpus figures: rate Spearman, mean pause score, mean contour correlations, whisper
    agreement, mean speaker similarity."""
    if not pairs:
        return {"utterances": 0}
    sims = [p.speaker_similarity for p in pairs if p.speaker_similarity is not None]
    return {
        "utterances": len(pairs),
        "rate_spearman": _round(spearman([p.source_rate for p in pairs], [p.output_rate for p in pairs])),
        "pause_alignment": _round(float(np.mean([p.pause_score for p in pairs]))),
        "f0_correlation": _round(_nanmean([p.f0_correlation for p in pairs])),
        "energy_correlation": _round(_nanmean([p.energy_correlation for p in pairs])),
        "whisper_agreement": _round(float(np.mean([p.source_whispered == p.output_whispered for p in pairs]))),
        "speaker_similarity": _round(float(np.mean(sims))) if sims else None,
    }


def spearman(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return float("nan")
    return _pearson(_ranks(x[keep]), _ranks(y[keep]))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for v in np.unique(values):
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def _pearson(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None or len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _phrase_edges(side: Side, gaps: list[int]) -> list[tuple[float, float]]:
    """Time spans of the phrases between the given word gaps (speech edges at both ends)."""
    speech = side.prosody.speech
    if not speech:
        return []
    edges = [speech[0][0]]
    for g in gaps:
        if 0 <= g < len(side.word_times) - 1:
            edges.append((side.word_times[g][1] + side.word_times[g + 1][0]) / 2)
    edges.append(speech[-1][1])
    return list(zip(edges, edges[1:]))


def _frames(prosody: Prosody, start: float, end: float) -> np.ndarray:
    return (prosody.times >= start) & (prosody.times <= end)


def _f0_curve(prosody: Prosody, start: float, end: float) -> np.ndarray | None:
    sel = _frames(prosody, start, end)
    times, f0 = prosody.times[sel], prosody.f0[sel]
    voiced = np.isfinite(f0)
    if voiced.sum() < 5:
        return None
    semitones = 12 * np.log2(f0[voiced])
    grid = np.linspace(times[voiced][0], times[voiced][-1], CONTOUR_POINTS)
    return np.interp(grid, times[voiced], semitones)


def _energy_curve(prosody: Prosody, start: float, end: float) -> np.ndarray | None:
    sel = _frames(prosody, start, end)
    if sel.sum() < 5:
        return None
    grid = np.linspace(start, end, CONTOUR_POINTS)
    return np.interp(grid, prosody.times[sel], prosody.intensity[sel])


def _nanmean(values) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _round(v: float) -> float | None:
    return round(v, 3) if np.isfinite(v) else None


__all__ = ["Side", "PairScores", "side_from_transcript", "score_pair", "summarize", "spearman",
           "pause_alignment", "best_assignment"]
