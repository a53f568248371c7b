"""Diarization from local speakers, the way pyannote.audio 3.x does it, on malsori's parts.

1. The segmentation model (``PowersetSegmentation.local_speakers``) says, in 10 s chunks, which
   of up to 3 local speakers talks in each ~17 ms frame, overlap included.
2. Each local speaker of each chunk is embedded (CAM++ by default) on its frames, those where it
   talks alone when there are enough of them. The recording's filterbank is computed once.
3. The embeddings are clustered: agglomerative, centroid linkage, cut at a distance calibrated
   on held-out meetings, so the number of speakers comes from the threshold rather than from a
   gap in a spectrum. Clusters too small to be a voice join their nearest big one; a known number
   of speakers, or bounds on it, re-cut the same tree.
4. Each chunk's local speakers are matched to clusters (no two to the same one), the matched
   activity is averaged over the chunks covering each frame, and each frame keeps as many of the
   best-scoring speakers as the segmentation says are talking there.
5. The segmentation model hears almost nothing in some quiet far-field recordings: where the VAD
   hears speech and the model hears nobody, one speaker is kept too, taken from an embedding of
   that speech or from the nearest frame. The VAD listens only there (``unheard_spans``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker import unit_rows
from malsori.protocols import SpeakerTurn, SpeechRegion

ProgressHook = Callable[[str, int, int], None]  # (step, completed, total)
EMBED_GROUP = 64  # pieces copied out of the filterbank at a time
VAD_WINDOW_S = 512 / 16000  # Silero's window


@dataclass
class LocalSpeakerOptions:
    # Settings chosen on the tune half of the dev meetings (AMI trn00-04) only:
    # ``python benchmarks/diarization_bench.py --grid``.
    # 10 s chunks this far apart: the speed knob. Tune half: 2.5 s (each frame seen by 4 chunks)
    # 23.2% DER at 22x real time, 5 s 23.8% at 41x (but it over-counts speakers with the same
    # threshold); 1 s did no better than 2.5 s.
    chunk_step_s: float = 2.5
    # A local speaker heard alone this long is embedded on those frames only, else on all its
    # frames. 10 s (never, in practice): all frames, overlap included, did as well or better.
    min_alone_s: float = 10.0
    min_embed_s: float = 0.3  # a local speaker heard less than this is not embedded
    # At most this much of a local speaker's speech in a chunk is embedded (its middle part): the
    # encoder's cost grows with it. Tune half: 3 s gave 20.2% DER at 30x real time against 23.2%
    # at 22x for all of it (None); 5 s 23.2%, 2 s 30.0%. Check half: 19.8% either way.
    max_embed_s: float | None = 3.0
    # Embed the local speakers of every n-th chunk only; the others take the speaker their frames
    # overlap most in the embedded chunks. A speed knob: 2 gave 32x real time against 22x, tune
    # DER 23.3% (23.2%) with 3/5 speaker counts right (4/5); check 21.6% (19.8%).
    embed_every: int = 1
    # Centroid-linkage distance between unit embeddings (sqrt(2 - 2 cos)) at which clusters stop
    # merging: the number of speakers follows from it.
    threshold: float = 0.8
    # Clusters smaller than this share of the embeddings, or than ``min_cluster_size`` of them
    # where that is fewer, join a big one: a share alone grows with the recording, and on the
    # tune meetings joined end to end (150 s, 8 voices) it left 4 speakers and 29.2% DER against
    # 22.5% with a size of 2 (3: 25.0%); the 30 s files are the same either way.
    min_cluster_share: float = 0.05
    min_cluster_size: int = 2
    # VAD speech the model misses is kept, from a VAD at Silero's default threshold: at 0.25
    # (the windows method's) its false alarms cost 2 points of DER on the tune half.
    vad_fill: bool = True
    fill_vad_threshold: float = 0.5
    min_fill_embed_s: float = 1.0  # such speech this long is embedded to find its speaker
    # Local speakers are split into turns at pauses this long (None: whole, as pyannote does).
    # Tune half: whole at threshold 1.0 gave 22.6% DER with 3 of 5 speaker counts right, turns
    # at 0.8 gave 23.2% with 4 of 5, and two synthetic voices taking turns were told apart.
    run_gap_s: float | None = 0.3
    min_turn_s: float = 0.1
    min_gap_s: float = 0.1  # a speaker's pauses shorter than this are closed
    exclusive: bool = False  # one speaker per frame (subtitles)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def frame_mask(regions: list[SpeechRegion], frames: int, step: float) -> np.ndarray:
    mask = np.zeros(frames, bool)
    for r in regions:
        mask[int(r.start / step):int(np.ceil(r.end / step))] = True
    return mask


def local_embeddings(audio: Audio, local, encoder, options: LocalSpeakerOptions):
    """Embeddings of the local speakers heard long enough: (keys [(chunk, speaker)], (n, d))."""
    step = local.step
    chunks, frames, speakers = local.active.shape
    selections, keys = [], []
    for c in range(0, chunks, max(1, options.embed_every)):
        active = local.active[c]
        alone = active & (active.sum(axis=1, keepdims=True) == 1)
        for s in range(speakers):
            use = alone[:, s] if alone[:, s].sum() * step >= options.min_alone_s else active[:, s]
            if use.sum() * step >= options.min_embed_s:
                selections.append((local.starts[c], use))
                keys.append((c, s))
    if not keys:
        return keys, np.zeros((0, getattr(encoder, "dimension", 1)), np.float32)
    return keys, embed_selections(audio, encoder, selections, step, options.max_embed_s)


def embed_selections(audio: Audio, encoder, selections, step: float, max_s: float | None = None) -> np.ndarray:
    """Embeddings of ``(start_s, frame_mask)`` selections: each the speech of the frames its mask
    keeps, from ``start_s`` on (the middle ``max_s`` seconds of it at most). Encoders with
    ``embed_features`` get rows of one filterbank of the whole recording; others get the selected
    samples joined."""
    if max_s is not None:
        selections = [(start, middle_frames(mask, int(round(max_s / step)))) for start, mask in selections]
    if hasattr(encoder, "embed_features"):
        from malsori.engines.speaker.campplus import FRAME, HOP, RATE

        feats = encoder.features(audio)
        centres = (np.arange(len(feats)) * HOP + FRAME / 2) / RATE
        rows_of = []
        for start, mask in selections:
            first = int(np.searchsorted(centres, start))
            last = int(np.searchsorted(centres, start + len(mask) * step))
            index = ((centres[first:last] - start) / step).astype(int).clip(0, len(mask) - 1)
            rows = np.arange(first, last)[mask[index]]
            rows_of.append(rows if len(rows) >= 20 else np.arange(max(0, first), max(0, first) + 20))
        # Pieces are copied out of the filterbank a group at a time (similar lengths together):
        # each frame is in several chunks, and all pieces at once of an hour would take gigabytes.
        order = sorted(range(len(rows_of)), key=lambda i: len(rows_of[i]))
        out = np.zeros((len(rows_of), encoder.dimension), np.float32)
        for g in range(0, len(order), EMBED_GROUP):
            group = order[g:g + EMBED_GROUP]
            out[group] = encoder.embed_features([feats[rows_of[i]] for i in group])
        return out
    mono = audio.to_mono()
    rate = mono.sample_rate
    vectors = []
    for start, mask in selections:
        parts = [mono.samples[int((start + a * step) * rate):int((start + b * step) * rate)]
                 for a, b in true_runs(mask)]
        vectors.append(encoder.embed(Audio(np.concatenate(parts), rate)))
    return unit_rows(np.stack(vectors))


def middle_frames(mask: np.ndarray, keep: int) -> np.ndarray:
    """``mask`` with only its middle ``keep`` True frames left True."""
    index = np.flatnonzero(mask)
    if len(index) <= keep:
        return mask
    first = (len(index) - keep) // 2
    out = np.zeros_like(mask)
    out[index[first:first + keep]] = True
    return out


def cluster_embeddings(embeddings: np.ndarray, options: LocalSpeakerOptions, num_speakers: int | None = None,
                       min_speakers: int = 1, max_speakers: int = 8) -> np.ndarray:
    """Cluster labels 0..k-1 (agglomerative, centroid linkage); clusters too small to be a voice
    (``_big_clusters``) join the nearest big one; ``num_speakers`` or the bounds re-cut the tree."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    if n == 1 or num_speakers == 1 or max_speakers == 1:
        return np.zeros(n, int)
    from scipy.cluster.hierarchy import fcluster, linkage

    points = unit_rows(embeddings)
    tree = linkage(points, method="centroid", metric="euclidean")
    labels = fcluster(tree, options.threshold, criterion="distance") - 1
    big = _big_clusters(labels, options.min_cluster_share, options.min_cluster_size)
    wanted = num_speakers or int(np.clip(len(big), min_speakers, max_speakers))
    wanted = min(wanted, n)
    if len(big) != wanted:
        # The smallest cut that has as many big clusters as wanted, of an average-linkage tree:
        # a centroid-linkage tree is not monotone, so it cannot be cut into k clusters.
        recut = linkage(points, method="average", metric="cosine")
        for k in range(wanted, n + 1):
            labels = fcluster(recut, k, criterion="maxclust") - 1
            big = _big_clusters(labels, options.min_cluster_share if num_speakers is None else 0.0,
                                options.min_cluster_size)
            if len(big) >= wanted:
                break
        sizes = np.bincount(labels)
        big = sorted(big, key=lambda k: -sizes[k])[:wanted]
    return _join_small(points, labels, big)


def _big_clusters(labels: np.ndarray, share: float, size: int) -> list[int]:
    sizes = np.bincount(labels)
    least = max(1, min(int(np.ceil(share * len(labels))), size))
    big = [k for k in range(len(sizes)) if sizes[k] >= least]
    return big or [int(np.argmax(sizes))]


def _join_small(points: np.ndarray, labels: np.ndarray, big: list[int]) -> np.ndarray:
    """Embeddings of small clusters go to the nearest big centroid; labels renumbered 0..k-1 in
    order of first appearance."""
    centroids = unit_rows(np.stack([points[labels == k].mean(axis=0) for k in big]))
    nearest = np.array(big)[np.argmax(points @ centroids.T, axis=1)]
    labels = np.where(np.isin(labels, big), labels, nearest)
    order = {old: new for new, old in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[x] for x in labels])


def assign_local_speakers(keys, embeddings: np.ndarray, labels: np.ndarray, local) -> tuple[np.ndarray, np.ndarray]:
    """(chunks, speakers) global speaker of every embedded local speaker (-1: none), and the
    cluster centroids. Each local speaker takes its nearest centroid, best matches first, except
    one already taken by a local speaker of the same chunk that talks at the same time."""
    chunks, _, speakers = local.active.shape
    count = int(labels.max()) + 1
    centroids = unit_rows(np.stack([embeddings[labels == k].mean(axis=0) for k in range(count)]))
    similarity = unit_rows(embeddings) @ centroids.T
    mapping = -np.ones((chunks, speakers), int)
    by_chunk: dict[int, list[int]] = {}
    for row, (c, _) in enumerate(keys):
        by_chunk.setdefault(c, []).append(row)
    for c, rows in by_chunk.items():
        active = local.active[c]
        for row in sorted(rows, key=lambda r: -similarity[r].max()):
            s = keys[row][1]
            taken = {mapping[c, o] for o in range(speakers)
                     if mapping[c, o] >= 0 and o != s and (active[:, o] & active[:, s]).any()}
            free = [k for k in np.argsort(-similarity[row]) if k not in taken]
            if free:
                mapping[c, s] = int(free[0])
    return mapping, centroids


def assign_by_overlap(local, mapping: np.ndarray, count: int, total: int) -> np.ndarray:
    """``mapping`` with each unassigned local speaker given the speaker whose activity (rebuilt
    from the assigned ones) its frames overlap most, two talking at once never the same one."""
    mapping = mapping.copy()
    score, _ = reconstruct(local, mapping, count, total)
    frames = local.active.shape[1]
    padded = np.vstack([score, np.zeros((frames, count))])
    for c, offset in enumerate(local.frame_offsets()):
        active = local.active[c]
        todo = [s for s in range(active.shape[1]) if mapping[c, s] < 0 and active[:, s].any()]
        support = {s: active[:, s].astype(float) @ padded[offset:offset + frames] for s in todo}
        for s in sorted(todo, key=lambda s: -support[s].max()):
            taken = {mapping[c, o] for o in range(active.shape[1])
                     if mapping[c, o] >= 0 and o != s and (active[:, o] & active[:, s]).any()}
            free = [k for k in np.argsort(-support[s]) if k not in taken and support[s][k] > 0]
            if free:
                mapping[c, s] = int(free[0])
    return mapping


def split_runs(local, gap_s: float, min_s: float):
    """Each local speaker's talk split at pauses of ``gap_s`` or more into runs that are local
    speakers of their own (a run under ``min_s`` stays with the run before or after it): the
    segmentation model sometimes gives one local number to two voices that take turns."""
    from malsori.engines.speaker.segmentation import LocalSpeakers

    chunks, frames, speakers = local.active.shape
    gap, least = int(round(gap_s / local.step)), int(round(min_s / local.step))
    columns: list[list[np.ndarray]] = []
    for c in range(chunks):
        runs = []
        for s in range(speakers):
            spans: list[list[int]] = []
            for a, b in true_runs(local.active[c, :, s]):
                if spans and (a - spans[-1][1] < gap or b - a < least or spans[-1][1] - spans[-1][0] < least):
                    spans[-1][1] = b  # a short pause, or a short run: the same turn
                else:
                    spans.append([a, b])
            for a, b in spans:
                column = np.zeros(frames, bool)
                column[a:b] = local.active[c, a:b, s]
                runs.append(column)
        columns.append(runs)
    width = max(1, max(len(r) for r in columns))
    active = np.zeros((chunks, frames, width), bool)
    for c, runs in enumerate(columns):
        for s, column in enumerate(runs):
            active[c, :, s] = column
    return LocalSpeakers(local.starts, local.step, active)


def reconstruct(local, mapping: np.ndarray, count: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Per recording frame: each global speaker's activity averaged over the chunks covering the
    frame (total, count), and how many speakers talk there (``talking_frames``)."""
    chunks, frames, _ = local.active.shape
    score = np.zeros((total + frames, count))
    seen = np.zeros(total + frames)
    for c, offset in enumerate(local.frame_offsets()):
        active = local.active[c]
        seen[offset:offset + frames] += 1
        for s, k in enumerate(mapping[c]):
            if k >= 0:  # distinct per chunk (matched), so adding is each chunk's own activity
                score[offset:offset + frames, k] += active[:, s]
    covered = seen > 0
    score[covered] /= seen[covered, None]
    return score[:total], talking_frames(local, total)


def talking_frames(local, total: int) -> np.ndarray:
    """How many speakers talk in each of the recording's ``total`` frames: the mean over the
    chunks covering the frame, rounded."""
    chunks, frames, _ = local.active.shape
    talking = np.zeros(total + frames)
    seen = np.zeros(total + frames)
    for c, offset in enumerate(local.frame_offsets()):
        talking[offset:offset + frames] += local.active[c].sum(axis=1)
        seen[offset:offset + frames] += 1
    covered = seen > 0
    talking[covered] /= seen[covered]
    return np.rint(talking[:total]).astype(int)


def unheard_spans(local, duration: float, pad_s: float = 1.0) -> list[tuple[float, float]]:
    """(start, end) seconds where the segmentation model hears nobody, widened by ``pad_s`` each
    side and joined where they meet: the only places the VAD's speech is used (step 5), so the
    VAD need not hear the rest (it took a tenth of the diarizer's time)."""
    total = int(np.ceil(duration / local.step))
    spans: list[list[float]] = []
    for a, b in true_runs(talking_frames(local, total) == 0):
        start, end = max(0.0, a * local.step - pad_s), min(duration, b * local.step + pad_s)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def speech_in_spans(vad, audio: Audio, spans: list[tuple[float, float]]) -> list[SpeechRegion]:
    """The speech ``vad`` hears inside each span of ``audio``, on the recording's time line."""
    regions = []
    for start, end in spans:
        # On the grid of the VAD's own windows over the whole recording (Silero: 512 samples at
        # 16 kHz), where it hears the same thing as it would over the whole recording.
        start = np.floor(start / VAD_WINDOW_S) * VAD_WINDOW_S
        piece = audio.slice(start, end)
        regions += [SpeechRegion(start + r.start, min(end, start + r.end)) for r in vad.regions(piece)]
    return regions


def diarize_local_speakers(audio: Audio, local, encoder, vad_regions: list[SpeechRegion] | None,
                           options: LocalSpeakerOptions, num_speakers: int | None = None, min_speakers: int = 1,
                           max_speakers: int = 8, hook: ProgressHook | None = None) -> list[SpeakerTurn]:
    """Speaker turns from the segmentation's local speakers (``LocalSpeakers``) and ``encoder``;
    ``vad_regions``: speech the VAD heard (None: the model's speech only)."""
    hook = hook or (lambda step, completed, total: None)
    if options.run_gap_s is not None:
        local = split_runs(local, options.run_gap_s, options.min_embed_s)
    hook("embeddings", 0, 1)
    keys, embeddings = local_embeddings(audio, local, encoder, options)
    hook("embeddings", 1, 1)
    hook("clustering", 0, 1)
    turns = turns_from_embeddings(audio, local, encoder, keys, embeddings, vad_regions, options,
                                  num_speakers, min_speakers, max_speakers)
    hook("clustering", 1, 1)
    return turns


def turns_from_embeddings(audio: Audio, local, encoder, keys, embeddings: np.ndarray,
                          vad_regions: list[SpeechRegion] | None, options: LocalSpeakerOptions,
                          num_speakers: int | None = None, min_speakers: int = 1, max_speakers: int = 8,
                          name=lambda k: f"SPEAKER_{k:02d}") -> list[SpeakerTurn]:
    """Clustering and reconstruction (steps 3-5), given the local speakers' embeddings."""
    step = local.step
    total = int(np.ceil(audio.duration / step))
    vad = frame_mask(vad_regions, total, step) if vad_regions is not None else None
    if not keys:
        # The model heard nobody long enough: the VAD's speech, one speaker.
        return _turns(vad[:, None] if vad is not None else np.zeros((total, 1), bool), step, options, name)
    labels = cluster_embeddings(embeddings, options, num_speakers, min_speakers, max_speakers)
    mapping, centroids = assign_local_speakers(keys, embeddings, labels, local)
    if options.embed_every > 1:
        mapping = assign_by_overlap(local, mapping, len(centroids), total)
    score, talking = reconstruct(local, mapping, len(centroids), total)
    talking = np.minimum(talking, len(centroids))
    if options.exclusive:
        talking = np.minimum(talking, 1)
    # Speech only the VAD heard goes to speakers the model heard somewhere: a cluster that wins no
    # frame of the model's own would otherwise become a speaker made of VAD blips.
    heard = _on(score, talking).any(axis=0)
    if heard.any():
        score[:, ~heard] = 0.0
    else:
        heard[:] = True
    if vad is not None and options.vad_fill:
        missed = vad & (talking == 0)
        talking[missed] = 1
        _fill_missed(audio, encoder, score, missed, centroids, heard, step, options)
    unscored = (talking > 0) & (score.max(axis=1) <= 0)
    if unscored.any():
        _fill_nearest(score, unscored)
    return _turns(_on(score, talking), step, options, name)


def _on(score: np.ndarray, talking: np.ndarray) -> np.ndarray:
    """(frames, speakers): in each frame, the ``talking`` best-scoring speakers."""
    ranked = np.argsort(-score, axis=1)
    on = np.zeros_like(score, bool)
    for rank in range(min(score.shape[1], int(talking.max(initial=0)))):
        rows = np.flatnonzero(talking > rank)
        on[rows, ranked[rows, rank]] = True
    return on


def _fill_missed(audio, encoder, score, missed, centroids, allowed, step, options) -> None:
    """Speech only the VAD heard, in runs long enough to embed, given to the ``allowed`` speaker
    nearest its embedding."""
    runs = [(a, b) for a, b in true_runs(missed) if (b - a) * step >= options.min_fill_embed_s
            and score[a:b].max(initial=0) <= 0]
    if not runs:
        return
    selections = [(a * step, np.ones(b - a, bool)) for a, b in runs]
    vectors = embed_selections(audio, encoder, selections, step)
    for (a, b), vector in zip(runs, vectors):
        score[a:b, int(np.argmax(np.where(allowed, centroids @ vector, -np.inf)))] = 1e-3  # below any the model heard


def _fill_nearest(score: np.ndarray, unscored: np.ndarray) -> None:
    """Frames with speech but no speaker score take the nearest scored frame's best speaker."""
    scored = np.flatnonzero(score.max(axis=1) > 0)
    if not len(scored):
        score[unscored, 0] = 1e-3
        return
    rows = np.flatnonzero(unscored)
    at = np.searchsorted(scored, rows).clip(1, len(scored) - 1) if len(scored) > 1 else np.zeros(len(rows), int)
    if len(scored) > 1:
        left, right = scored[at - 1], scored[at]
        nearest = np.where(rows - left <= right - rows, left, right)
    else:
        nearest = np.full(len(rows), scored[0])
    score[rows, np.argmax(score[nearest], axis=1)] = 1e-3


def _turns(on: np.ndarray, step: float, options: LocalSpeakerOptions, name) -> list[SpeakerTurn]:
    """Each speaker's runs of frames, pauses under ``min_gap_s`` closed and runs under
    ``min_turn_s`` dropped."""
    turns = []
    gap, least = int(round(options.min_gap_s / step)), options.min_turn_s
    for k in range(on.shape[1]):
        runs: list[list[int]] = []
        for a, b in true_runs(on[:, k]):
            if runs and a - runs[-1][1] < gap:
                runs[-1][1] = b
            else:
                runs.append([a, b])
        turns += [SpeakerTurn(a * step, b * step, name(k)) for a, b in runs if (b - a) * step >= least]
    return sorted(turns, key=lambda t: (t.start, t.speaker))
