"""Speaker diarization: who spoke when.

Two methods behind one ``SpeakerDiarization.apply``:

- **local speakers** (the default where the segmentation model is installed; pyannote.audio 3.x's
  method, ``malsori.pipelines.local_speakers``): segmentation-3.0 finds up to 3 local speakers,
  overlap included, in 10 s chunks; CAM++ embeds each; agglomerative clustering with a
  calibrated threshold gives the speakers; frames are rebuilt with as many speakers as the
  segmentation hears; VAD speech the model misses is kept.
- **windows** (without the segmentation model): VAD -> GE2E embeddings of 1.5 s windows every
  0.25 s inside the speech, centred on the recording's mean -> spectral clustering of their
  affinity, pruned to each window's nearest neighbours, with the number of speakers taken at the
  largest eigengap (Park et al. 2019, NME-SC) -> every 50 ms frame takes the speaker whose
  centroid its covering windows are closest to -> turns. A frame whose second speaker scores
  almost as well as its first is given to both: a weak overlap cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker import unit, unit_rows
from malsori.errors import AudioError, MalsoriError
from malsori.pipelines.local_speakers import (LocalSpeakerOptions, ProgressHook, diarize_local_speakers, speech_in_spans,
                                              true_runs, unheard_spans)
from malsori.protocols import Diarization, Segment, SpeakerEncoder, SpeakerTurn, SpeechRegion, VoiceActivityDetector

FRAME_S = 0.05


@dataclass
class DiarizationOptions:
    window_s: float = 1.5
    step_s: float = 0.25
    min_window_s: float = 0.4  # speech shorter than this is labelled by its neighbours
    max_windows: int = 1500
    # Spectral clustering: each row of the affinity keeps its top ``p_neighbors`` share of
    # entries (None: chosen per recording, as NME-SC does), but at most ``max_neighbors``, so
    # that in long recordings with many voices a speaker's neighbours stay their own windows.
    p_neighbors: float | None = 0.5
    max_neighbors: int | None = 30
    min_cluster_share: float = 0.05
    min_turn_s: float = 0.3
    overlap: bool = True
    overlap_margin: float = 0.05  # a frame's second speaker is heard when it scores this close to the first
    min_overlap_s: float = 0.1
    # With the segmentation model: frames above these probabilities are speech / overlapped, and
    # the speech is the VAD's ("vad"), the model's ("model") or either's ("union"); on the AMI
    # excerpts their DERs differ by less than run-to-run changes in the speaker count.
    speech_from: str = "vad"
    speech_threshold: float = 0.5
    overlap_threshold: float = 0.3  # AMI excerpts: DER 24.1% at 0.5, 23.5% at 0.3, 23.2% at 0.2
    method: str = "local"  # "local" speakers where the segmentation model is installed, else "windows"
    exclusive: bool = False  # one speaker at a time (subtitles): overlapped speech goes to one of them
    local: LocalSpeakerOptions = field(default_factory=LocalSpeakerOptions)


class SpeakerDiarization:
    """``apply(audio) -> Diarization``; engines are injected (tests pass small ones)."""

    def __init__(self, encoder: SpeakerEncoder | None = None, vad: VoiceActivityDetector | None = None,
                 options: DiarizationOptions | None = None, segmentation=None):
        """``segmentation``: a ``PowersetSegmentation`` (or anything with ``frames(audio)``);
        None uses the installed model when there is one, False never does."""
        self._encoder = encoder
        self._vad = vad
        self._fill_vad = None
        self._segmentation = segmentation
        self.options = options or DiarizationOptions()

    @property
    def segmentation(self):
        if self._segmentation is None:
            from malsori.models.catalog import is_available

            self._segmentation = False
            if is_available("pyannote-segmentation-3.0"):
                from malsori.engines.speaker.segmentation import PowersetSegmentation

                self._segmentation = PowersetSegmentation()
        return self._segmentation

    @property
    def method(self) -> str:
        local = self.options.method == "local" and hasattr(self.segmentation, "local_speakers")
        return "local" if local else "windows"

    @property
    def encoder(self):
        """CAM++ for local speakers, in its fast precision (the same DER on the dev meetings,
        docs/benchmarks.md); GE2E for windows (their clustering was tuned on it)."""
        if self._encoder is None:
            from malsori.engines.speaker import default_encoder_name, shared_encoder

            self._encoder = shared_encoder(default_encoder_name() if self.method == "local" else "ge2e", fast=True)
        return self._encoder

    @property
    def vad(self):
        if self._vad is None:
            from malsori.engines.vad.silero import SileroVAD

            # Far-field meeting speech gets low speech probabilities: a low threshold keeps it
            # (tuned on the AMI dev excerpts), and short pauses are kept since turns change there.
            self._vad = SileroVAD(threshold=0.25, min_silence_ms=100, speech_pad_ms=100,
                                  max_region_s=float("inf"))
        return self._vad

    @property
    def fill_vad(self):
        """The VAD whose speech the local-speaker method keeps where the model hears nobody: an
        injected one, else Silero at ``options.local.fill_vad_threshold``."""
        if self._vad is not None:
            return self._vad
        if self._fill_vad is None:
            from malsori.engines.vad.silero import SileroVAD

            self._fill_vad = SileroVAD(threshold=self.options.local.fill_vad_threshold, min_silence_ms=100,
                                       speech_pad_ms=100, max_region_s=float("inf"))
        return self._fill_vad

    def apply(self, audio: Audio, uri: str = "audio", num_speakers: int | None = None,
              min_speakers: int = 1, max_speakers: int = 8, hook: ProgressHook | None = None) -> Diarization:
        hook = hook or (lambda step, completed, total: None)
        _check_counts(num_speakers, min_speakers, max_speakers)
        audio = audio.to_mono()
        if audio.frames == 0:
            raise AudioError("empty audio: nothing to diarize")
        result = Diarization(uri, audio.duration)
        if self.method == "local":
            hook("speech", 0, 1)
            local = self.segmentation.local_speakers(audio, self.options.local.chunk_step_s)
            spans = unheard_spans(local, audio.duration)
            regions = [r for r in speech_in_spans(self.fill_vad, audio, spans) if r.end - r.start > 0.05]
            hook("speech", 1, 1)
            options = replace(self.options.local, exclusive=self.options.local.exclusive or self.options.exclusive)
            result.turns = numbered_by_first_turn(diarize_local_speakers(
                audio, local, self.encoder, regions, options, num_speakers, min_speakers, max_speakers, hook))
            return result
        hook("speech", 0, 1)
        frames = self.segmentation.frames(audio) if self.segmentation else None
        regions = []
        if frames is None or self.options.speech_from != "model":
            regions = list(self.vad.regions(audio))
        if frames is not None and self.options.speech_from != "vad":
            regions = _union(regions, _regions(frames.speech > self.options.speech_threshold, frames.step))
        regions = [r for r in regions if r.end - r.start > 0.05]
        hook("speech", 1, 1)
        if not regions:
            return result  # silence: zero speakers, a documented answer rather than an error
        spans = windows(regions, self.options)
        hook("embeddings", 0, len(spans))
        embeddings = self._embed(audio, spans)
        hook("embeddings", len(spans), len(spans))
        hook("clustering", 0, 1)
        # Centred on the recording's mean, the shared part of every window (room, channel, the
        # encoder's positive orthant) drops out and speakers stand apart.
        centred = unit_rows(embeddings - embeddings.mean(axis=0)) if len(embeddings) > 2 else embeddings
        labels = cluster(centred, num_speakers, min_speakers, max_speakers, self.options)
        if num_speakers is None:
            labels = absorb_small(centred, labels, self.options.min_cluster_share, min_speakers)
        hook("clustering", 1, 1)
        overlapped = None
        if frames is not None:  # the model's frames read on this pipeline's 50 ms grid
            grid = ((np.arange(int(np.ceil(audio.duration / FRAME_S))) + 0.5) * FRAME_S / frames.step).astype(int)
            overlapped = frames.overlap[grid.clip(0, len(frames.overlap) - 1)] > self.options.overlap_threshold
        result.turns = numbered_by_first_turn(self._turns(spans, embeddings, labels, regions, audio.duration, overlapped))
        return result

    def _embed(self, audio: Audio, spans: list[tuple[float, float]]) -> np.ndarray:
        embed_spans = getattr(self.encoder, "embed_spans", None)
        if embed_spans is not None:
            return embed_spans(audio, spans)
        return np.stack([self.encoder.embed(audio.slice(a, b)) for a, b in spans])

    def _turns(self, spans, embeddings, labels, regions, duration, overlapped=None) -> list[SpeakerTurn]:
        count = int(labels.max()) + 1
        centroids = np.stack([unit(embeddings[labels == k].mean(axis=0)) for k in range(count)])
        closeness = embeddings @ centroids.T  # (windows, speakers)
        frames = int(np.ceil(duration / FRAME_S))
        score = np.zeros((frames, count))
        cover = np.zeros(frames)
        for (a, b), row in zip(spans, closeness):
            i, j = int(a / FRAME_S), max(int(a / FRAME_S) + 1, int(np.ceil(b / FRAME_S)))
            score[i:j] += row
            cover[i:j] += 1
        speech = np.zeros(frames, bool)
        for r in regions:
            speech[int(r.start / FRAME_S):int(np.ceil(r.end / FRAME_S))] = True
        covered = cover > 0
        score[covered] /= cover[covered, None]
        best = np.argmax(score, axis=1)
        # Uncovered speech (too short for a window) takes the nearest covered frame's speaker.
        if covered.any():
            nearest = np.searchsorted(np.flatnonzero(covered), np.arange(frames)).clip(0, covered.sum() - 1)
            best = np.where(covered, best, best[np.flatnonzero(covered)[nearest]])
        best = _smooth(best, speech, int(round(self.options.min_turn_s / FRAME_S)))
        name = lambda k: f"SPEAKER_{k:02d}"  # noqa: E731
        turns = _runs(best, speech, name)
        if self.options.overlap and not self.options.exclusive and count > 1:
            turns += self._second_speakers(score, best, speech, covered, name, overlapped)
        return sorted(turns, key=lambda t: (t.start, t.speaker))

    def _second_speakers(self, score, best, speech, covered, name, overlapped=None) -> list[SpeakerTurn]:
        """Overlapped frames (the model's, or else those whose second speaker scores within the
        margin of the first) get their second-closest speaker too."""
        o = self.options
        ranked = np.argsort(-score, axis=1)
        second = np.where(ranked[:, 0] == best, ranked[:, 1], ranked[:, 0])
        if overlapped is not None:
            extra = speech & covered & overlapped[:len(best)]
        else:
            gap = score[np.arange(len(best)), best] - score[np.arange(len(best)), second]
            extra = speech & covered & (gap < o.overlap_margin)
        labels = np.where(extra, second, -1)
        return [t for t in _runs(labels, labels >= 0, name) if t.duration >= o.min_overlap_s]


def numbered_by_first_turn(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """Speakers renamed SPEAKER_00, SPEAKER_01... in order of their first turn: clusters that
    end with no turn leave no gap in the numbers (SPEAKER_00 then SPEAKER_02 before)."""
    order: dict[str, None] = {}
    for t in sorted(turns, key=lambda t: (t.start, t.speaker)):
        order.setdefault(t.speaker)
    names = {speaker: f"SPEAKER_{k:02d}" for k, speaker in enumerate(order)}
    return sorted((replace(t, speaker=names[t.speaker]) for t in turns), key=lambda t: (t.start, t.speaker))


def _regions(mask: np.ndarray, step: float) -> list[SpeechRegion]:
    """Runs of True frames as regions."""
    return [SpeechRegion(a * step, b * step) for a, b in true_runs(mask)]


def _union(a: list[SpeechRegion], b: list[SpeechRegion]) -> list[SpeechRegion]:
    """Time covered by either list, as sorted disjoint regions."""
    merged: list[SpeechRegion] = []
    for r in sorted(a + b, key=lambda r: r.start):
        if merged and r.start <= merged[-1].end:
            merged[-1] = SpeechRegion(merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(SpeechRegion(r.start, r.end))
    return merged


def windows(regions: list[SpeechRegion], options: DiarizationOptions) -> list[tuple[float, float]]:
    """Overlapping windows inside each speech region; a region shorter than a window is one span.
    Long recordings get a longer step so that at most about ``max_windows`` are clustered (the
    affinity matrix and its eigendecomposition grow with the square and cube of their number)."""
    speech_s = sum(r.end - r.start for r in regions)
    step = max(options.step_s, speech_s / options.max_windows)
    spans = []
    for region in regions:
        length = region.end - region.start
        if length < options.min_window_s:
            continue
        if length <= options.window_s:
            spans.append((region.start, region.end))
            continue
        starts = np.arange(region.start, region.end - options.window_s + 1e-6, step)
        if region.end - (starts[-1] + options.window_s) > step / 2:
            starts = np.append(starts, region.end - options.window_s)
        spans.extend((float(s), float(s) + options.window_s) for s in starts)
    if not spans:  # only very short speech: embed what there is
        spans = [(r.start, r.end) for r in regions]
    return spans


def cluster(embeddings: np.ndarray, num_speakers: int | None, min_speakers: int, max_speakers: int,
            options: DiarizationOptions) -> np.ndarray:
    """Cluster labels 0..k-1, the number of speakers chosen by the largest eigengap unless given."""
    n = len(embeddings)
    if n < 3 or num_speakers == 1 or max_speakers == 1:
        return np.zeros(n, int) if num_speakers in (None, 1) or n == 1 else np.arange(n) % num_speakers
    if num_speakers is not None and num_speakers >= n:
        return np.arange(n)
    affinity = np.clip(embeddings @ embeddings.T, -1, 1)
    upper = min(max_speakers, n - 1)
    eigvecs, gaps = _spectral_embedding(affinity, options.p_neighbors, upper, options.max_neighbors)
    if num_speakers:
        k = num_speakers
    else:
        lower = max(1, min_speakers)
        k = int(np.argmax(gaps[lower - 1:upper])) + lower if upper >= lower else upper
    return np.zeros(n, int) if k == 1 else _kmeans(eigvecs[:, :k], k)


def absorb_small(embeddings: np.ndarray, labels: np.ndarray, share: float, min_speakers: int = 1) -> np.ndarray:
    """Give the windows of clusters holding less than ``share`` of all windows to the nearest
    remaining cluster: a handful of windows is more often a transition or a noise than a voice."""
    sizes = np.bincount(labels)
    keep = [k for k in range(len(sizes)) if sizes[k] >= max(2, share * len(labels))]
    if len(keep) < max(1, min_speakers) or len(keep) == len(sizes):
        return labels
    centroids = unit_rows(np.stack([embeddings[labels == k].mean(axis=0) for k in keep]))
    nearest = np.array(keep)[np.argmax(embeddings @ centroids.T, axis=1)]
    labels = np.where(np.isin(labels, keep), labels, nearest)
    remap = {old: new for new, old in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([remap[x] for x in labels])


def _spectral_embedding(affinity: np.ndarray, p_neighbors: float | None, max_k: int,
                        max_neighbors: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors and eigengaps of the Laplacian of the affinity pruned to each row's top
    neighbours. With ``p_neighbors`` None the share is chosen per recording as NME-SC does: the
    one with the smallest ratio of neighbours kept to normalised largest eigengap."""
    n = len(affinity)
    order = np.argsort(-affinity, axis=1)
    cap = max_neighbors or n
    candidates = [max(2, min(cap, int(round(p_neighbors * n))))] if p_neighbors else \
        sorted({max(2, int(round(f * n))) for f in np.linspace(0.05, 0.5, 10)})
    best = None
    for keep in candidates:
        pruned = np.zeros_like(affinity)
        pruned[np.arange(n)[:, None], order[:, :keep]] = 1.0
        pruned = (pruned + pruned.T) / 2
        values, vectors = np.linalg.eigh(np.diag(pruned.sum(axis=1)) - pruned)
        gaps = np.diff(values)
        ratio = keep / max(float(gaps[:max_k].max()) / max(float(values[-1]), 1e-9), 1e-9)
        if best is None or ratio < best[0]:
            best = (ratio, vectors, gaps)
    return best[1], best[2]


def _kmeans(points: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(points)
    # Label 0 is the speaker heard first, so outputs are stable.
    order = {old: new for new, old in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[x] for x in labels])


def _smooth(labels: np.ndarray, speech: np.ndarray, min_frames: int) -> np.ndarray:
    """Give runs shorter than ``min_frames`` inside speech to the longer neighbour run."""
    labels = labels.copy()
    for _ in range(3):
        runs = _label_runs(labels, speech)
        changed = False
        for idx, (a, b, k) in enumerate(runs):
            if b - a >= min_frames:
                continue
            neighbours = [runs[j] for j in (idx - 1, idx + 1) if 0 <= j < len(runs)
                          and (runs[j][1] == a or runs[j][0] == b)]
            if neighbours:
                donor = max(neighbours, key=lambda r: r[1] - r[0])
                if donor[2] != k:
                    labels[a:b] = donor[2]
                    changed = True
        if not changed:
            break
    return labels


def _label_runs(labels: np.ndarray, speech: np.ndarray) -> list[tuple[int, int, int]]:
    runs, start = [], None
    for i in range(len(labels) + 1):
        inside = i < len(labels) and speech[i]
        if start is not None and (not inside or labels[i] != labels[start]):
            runs.append((start, i, int(labels[start])))
            start = None
        if inside and start is None:
            start = i
    return runs


def _runs(labels: np.ndarray, speech: np.ndarray, name) -> list[SpeakerTurn]:
    return [SpeakerTurn(a * FRAME_S, b * FRAME_S, name(k)) for a, b, k in _label_runs(labels, speech)]


def _check_counts(num_speakers, min_speakers, max_speakers) -> None:
    if num_speakers is not None and num_speakers < 1:
        raise MalsoriError("--num-speakers must be at least 1")
    if min_speakers < 1 or max_speakers < min_speakers:
        raise MalsoriError("need 1 <= --min-speakers <= --max-speakers")


# Languages written without spaces between words: their words are joined as they are.
_UNSPACED = {"jpn", "cmn", "yue", "tha", "lao", "mya", "khm", "bod"}
_SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*$")


def split_by_speaker(segment: Segment, diarization: Diarization, offset: float = 0.0,
                     language: str | None = None) -> list[tuple[Segment, str | None]]:
    """A recognised segment cut where its words change speaker, each part timed by its own words
    (so a subtitle starts with its first word, not with the recogniser's segment). ``offset``:
    where the segment's clock starts in the diarized recording. Without word times the segment
    stays whole, with its main speaker."""
    if not segment.words:
        return [(segment, diarization.speaker_near(offset + segment.start, offset + segment.end))]
    runs: list[tuple[list, str | None]] = []
    for word in segment.words:
        who = diarization.speaker_near(offset + word.start, offset + word.end)
        if runs and runs[-1][1] == who:
            runs[-1][0].append(word)
        else:
            runs.append(([word], who))
    joiner = "" if language in _UNSPACED else " "
    return [(Segment(words[0].start, words[-1].end, joiner.join(w.text for w in words), words, segment.confidence), who)
            for words, who in runs]


def join_unfinished(parts: list[tuple[Segment, str | None]], language: str | None = None,
                    max_s: float = 7.0, max_gap_s: float = 0.5) -> list[tuple[Segment, str | None]]:
    """Neighbouring parts of one speaker joined where the recogniser cut a sentence in two ("the
    weather is lovely this" | "morning"), up to ``max_s``, a subtitle's usual longest."""
    joiner = "" if language in _UNSPACED else " "
    out: list[tuple[Segment, str | None]] = []
    for seg, who in parts:
        if out:
            last, last_who = out[-1]
            if (who == last_who and seg.start - last.end <= max_gap_s and seg.end - last.start <= max_s
                    and not _SENTENCE_END.search(last.text)):
                out[-1] = (Segment(last.start, seg.end, last.text + joiner + seg.text, last.words + seg.words,
                                   last.confidence), who)
                continue
        out.append((seg, who))
    return out


def label_segments(segments, diarization: Diarization) -> None:
    """Set each timed segment's ``speaker`` to whoever talks most during it."""
    for seg in segments:
        if seg.start is not None and seg.end is not None:
            seg.speaker = diarization.speaker_at(seg.start, seg.end)


def read_rttm(text: str) -> dict[str, Diarization]:
    """RTTM ``SPEAKER`` lines grouped by file id; durations are the end of the last turn."""
    by_uri: dict[str, Diarization] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise MalsoriError(f"RTTM line {number}: expected at least 8 fields, got {len(fields)}")
        try:
            uri, start, length, speaker = fields[1], float(fields[3]), float(fields[4]), fields[7]
        except ValueError:
            raise MalsoriError(f"RTTM line {number}: onset and duration must be numbers") from None
        entry = by_uri.setdefault(uri, Diarization(uri, 0.0))
        entry.turns.append(SpeakerTurn(start, start + length, speaker))
        entry.duration = max(entry.duration, start + length)
    return by_uri


def read_uem(text: str) -> dict[str, tuple[float, float]]:
    """UEM lines ``file channel onset offset``: the scored span of each file."""
    spans = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            spans[fields[0]] = (float(fields[2]), float(fields[3]))
    return spans


def uri_of(path: str | Path) -> str:
    """RTTM file id: the input's file name without its extension."""
    return Path(path).stem


def plot_timeline(diarization: Diarization, path: str | Path) -> None:
    """A PNG with one row per speaker and a bar per turn, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from malsori.files import atomic_path

    speakers = diarization.speakers
    fig, ax = plt.subplots(figsize=(max(6.0, min(24.0, diarization.duration / 5)), 0.5 + 0.5 * max(1, len(speakers))))
    for row, speaker in enumerate(speakers):
        ax.broken_barh([(t.start, t.duration) for t in diarization.of(speaker)], (row - 0.4, 0.8), color=f"C{row % 10}")
    ax.set_yticks(range(len(speakers)), speakers)
    ax.set_xlim(0, max(diarization.duration, 1e-3))
    ax.set_ylim(-0.6, max(0.6, len(speakers) - 0.4))
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title(diarization.uri)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
