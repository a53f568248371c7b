"""Diarization on the dev recordings, split before tuning into a tune half and a check half.

- tune: AMI excerpts trn00-04 (every setting of the local-speaker method was chosen here);
- check: AMI excerpts trn05-09 and the 2-speaker call ``sample`` (never tuned on).

Prints DER (pyannote.metrics, collar 0.25 in its convention, inside the UEM), its parts and the
speaker count per file and pooled per half, for malsori's default pipeline (local speakers:
segmentation-3.0 + CAM++ + agglomerative clustering) and, in the same process, the baselines:
- windows: malsori's previous default (VAD, GE2E windows, spectral clustering);
- one speaker: every VAD region given to a single speaker;
- naive: VAD, 1.5 s windows, GE2E, average-linkage clustering with one cosine threshold fitted
  on the tune half and applied to the check half.

    python benchmarks/diarization_bench.py [--parts tune,check] [--collar 0.25]
    python benchmarks/diarization_bench.py --grid        # the local-speaker settings, tune half only
    python benchmarks/diarization_bench.py --joined      # each half's files joined into one recording
    python benchmarks/diarization_bench.py --long 3600   # speed, peak memory and DER on an hour

pyannote's segmentation-3.0 was trained on AMI's training split, which the trn excerpts come from:
its share of these figures is not held out from the model, only from our tuning.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, peak_rss_mb  # noqa: E402

from malsori.audio import Audio, load_audio  # noqa: E402
from malsori.eval.speaker import diarization_scores, pooled_der  # noqa: E402
from malsori.pipelines.diarize import DiarizationOptions, SpeakerDiarization, read_rttm, read_uem  # noqa: E402
from malsori.pipelines.local_speakers import (LocalSpeakerOptions, local_embeddings, speech_in_spans,  # noqa: E402
                                              split_runs, turns_from_embeddings, unheard_spans)
from malsori.protocols import Diarization, SpeakerTurn  # noqa: E402

PARTS = {"tune": [f"trn0{i}" for i in range(5)], "check": [f"trn0{i}" for i in range(5, 10)] + ["sample"]}
FOLDER = DATA / "diarization"


def naive(audio, regions, encoder, threshold: float, uri: str) -> Diarization:
    from scipy.cluster.hierarchy import fcluster, linkage

    spans = []
    for r in regions:
        t = r.start
        while t < r.end - 0.3:
            spans.append((t, min(t + 1.5, r.end)))
            t += 1.5
    result = Diarization(uri, audio.duration)
    if not spans:
        return result
    emb = encoder.embed_spans(audio, spans)
    labels = np.zeros(len(spans), int) if len(spans) == 1 else \
        fcluster(linkage(emb, "average", metric="cosine"), 1 - threshold, "distance")
    result.turns = [SpeakerTurn(a, b, f"S{k}") for (a, b), k in zip(spans, labels)]
    return result


def load_dev():
    refs = read_rttm((FOLDER / "ami_train.rttm").read_text())
    refs.update(read_rttm((FOLDER / "sample.rttm").read_text()))
    uems = read_uem((FOLDER / "ami_train.uem").read_text())
    return refs, uems


def report(label: str, names: list[str], scores: dict, counts: dict, refs) -> dict:
    pooled = pooled_der([scores[n] for n in names])
    right = sum(counts[n] == len(refs[n].speakers) for n in names)
    print(f"  {label:34} DER {pooled['DER']:6.1%}  (miss {pooled['miss']:5.1%}, FA {pooled['false_alarm']:5.1%}, "
          f"confusion {pooled['confusion']:5.1%})  speakers right {right}/{len(names)}")
    return pooled


def evaluate(args) -> None:
    refs, uems = load_dev()
    parts = [p for p in args.parts.split(",") if p]
    names = [n for p in parts for n in PARTS[p]]
    ours = SpeakerDiarization(options=DiarizationOptions(
        local=LocalSpeakerOptions(chunk_step_s=args.chunk_step or LocalSpeakerOptions.chunk_step_s,
                                  embed_every=args.embed_every or LocalSpeakerOptions.embed_every,
                                  max_embed_s=args.max_embed or LocalSpeakerOptions.max_embed_s)))
    windows = SpeakerDiarization(segmentation=False)
    print(f"malsori: {ours.method} ({ours.segmentation.name if ours.segmentation else '-'}, "
          f"encoder {ours.encoder.name}); baseline windows: encoder {windows.encoder.name}")
    ours.apply(load_audio(FOLDER / f"{names[0]}.wav"), uri=names[0])  # warm-up: model loading
    windows.apply(load_audio(FOLDER / f"{names[0]}.wav"), uri=names[0])

    thresholds = np.round(np.arange(0.55, 0.86, 0.05), 2)
    results = {k: {} for k in ("ours", "windows", "one")}
    counts = {k: {} for k in results}
    naive_scores: dict = {t: {} for t in thresholds}
    times = {"ours": 0.0, "windows": 0.0}
    audio_s = 0.0
    for name in names:
        audio = load_audio(FOLDER / f"{name}.wav")
        ref, uem = refs[name], uems.get(name, (0.0, audio.duration))
        audio_s += audio.duration
        for key, pipeline in (("ours", ours), ("windows", windows)):
            t0 = time.perf_counter()
            hyp = pipeline.apply(audio, uri=name)
            times[key] += time.perf_counter() - t0
            results[key][name] = diarization_scores(ref, hyp, collar=args.collar, uem=uem)
            counts[key][name] = len(hyp.speakers)
        regions = windows.vad.regions(audio)
        one = Diarization(name, audio.duration, [SpeakerTurn(r.start, r.end, "A") for r in regions])
        results["one"][name] = diarization_scores(ref, one, collar=args.collar, uem=uem)
        counts["one"][name] = 1
        for t in thresholds:
            hyp = naive(audio, regions, windows.encoder, t, name)
            naive_scores[t][name] = (diarization_scores(ref, hyp, collar=args.collar, uem=uem), len(hyp.speakers))
    print(f"\n{'file':8} {'ref':>3} {'ours':>4} {'DER':>6} {'miss':>6} {'FA':>6} {'conf':>6} | {'windows':>7} {'DER':>6}")
    for name in names:
        s, w = results["ours"][name], results["windows"][name]
        print(f"{name:8} {len(refs[name].speakers):3d} {counts['ours'][name]:4d} {s['DER']:6.1%} {s['miss']:6.1%} "
              f"{s['false_alarm']:6.1%} {s['confusion']:6.1%} | {counts['windows'][name]:7d} {w['DER']:6.1%}")
    tune_names = [n for n in PARTS["tune"] if n in names]
    fitted = min(thresholds, key=lambda t: pooled_der([naive_scores[t][n][0] for n in tune_names])["DER"]) \
        if tune_names else 0.7
    results["naive"] = {n: naive_scores[fitted][n][0] for n in names}
    counts["naive"] = {n: naive_scores[fitted][n][1] for n in names}
    labels = {"ours": "malsori (local speakers, CAM++)", "windows": "windows (GE2E, previous default)",
              "naive": f"naive AHC (threshold {fitted:.2f} from tune)", "one": "one speaker"}
    for part in parts + (["all"] if len(parts) > 1 else []):
        members = names if part == "all" else PARTS[part]
        print(f"\n{part} ({', '.join(members)}):")
        for key, label in labels.items():
            report(label, members, results[key], counts[key], refs)
    for key in times:
        print(f"speed {key}: {audio_s / times[key]:.0f}x real time ({times[key]:.2f} s for {audio_s:.0f} s)")


def grid(args) -> None:
    """Every combination of the local-speaker settings on the tune half, embeddings computed once
    per file and chunk step; the best by pooled DER, then the same settings on the check half."""
    refs, uems = load_dev()
    pipeline = SpeakerDiarization()
    encoder = pipeline.encoder
    space = {"threshold": [0.8, 0.9, 1.0, 1.1, 1.2], "min_cluster_share": [0.0, 0.05, 0.1],
             "vad_fill": [False, True], "min_alone_s": [1.0, 10.0], "run_gap_s": [None, 0.2, 0.3, 0.5]}
    cache = {}

    def prepared(name, step, alone, gap):
        key = (name, step, alone, gap)
        if key not in cache:
            audio = load_audio(FOLDER / f"{name}.wav")
            local = pipeline.segmentation.local_speakers(audio, step)
            opts = LocalSpeakerOptions(chunk_step_s=step, min_alone_s=alone, run_gap_s=gap)
            if gap is not None:
                local = split_runs(local, gap, opts.min_embed_s)
            cache[key] = (audio, local, *local_embeddings(audio, local, encoder, opts),
                          [r for r in speech_in_spans(pipeline.fill_vad, audio, unheard_spans(local, audio.duration))
                           if r.end - r.start > 0.05])
        return cache[key]

    def run(names, opts):
        scores, right = [], 0
        for name in names:
            audio, local, keys, emb, regions = prepared(name, opts.chunk_step_s, opts.min_alone_s, opts.run_gap_s)
            turns = turns_from_embeddings(audio, local, encoder, keys, emb, regions, opts)
            hyp = Diarization(name, audio.duration, turns)
            scores.append(diarization_scores(refs[name], hyp, collar=args.collar,
                                             uem=uems.get(name, (0.0, audio.duration))))
            right += len(hyp.speakers) == len(refs[name].speakers)
        return pooled_der(scores)["DER"], right

    rows = []
    for step in [float(s) for s in args.steps.split(",")]:
        for values in itertools.product(*space.values()):
            opts = LocalSpeakerOptions(chunk_step_s=step, **dict(zip(space, values)))
            der, right = run(PARTS["tune"], opts)
            rows.append((der, -right, opts))
    rows.sort(key=lambda r: (r[0], r[1]))
    print("best on tune (DER, speakers right):")
    for der, right, opts in rows[:10]:
        print(f"  {der:6.1%} {-right}/5  step {opts.chunk_step_s} threshold {opts.threshold} share "
              f"{opts.min_cluster_share} vad_fill {opts.vad_fill} alone {opts.min_alone_s} runs {opts.run_gap_s}")
    best = rows[0][2]
    der, right = run(PARTS["check"], best)
    print(f"the best on check: DER {der:.1%}, speakers right {right}/{len(PARTS['check'])}")
    default = LocalSpeakerOptions()
    for part in ("tune", "check"):
        der, right = run(PARTS[part], default)
        print(f"defaults ({default.chunk_step_s} s, threshold {default.threshold}, share {default.min_cluster_share}, "
              f"vad_fill {default.vad_fill}, alone {default.min_alone_s}, runs {default.run_gap_s}) on {part}: DER {der:.1%}, "
              f"speakers right {right}/{len(PARTS[part])}")


def joined_recording(names: list[str], seconds: float | None = None) -> tuple[Audio, Diarization]:
    """The dev files ``names`` end to end, repeated up to ``seconds`` (the same voices come back,
    as in a long meeting), and their references joined the same way."""
    refs, _ = load_dev()
    pieces = [load_audio(FOLDER / f"{n}.wav").to_mono().resample(16000).samples for n in names]
    joined = np.concatenate(pieces)
    seconds = seconds or len(joined) / 16000
    repeats = int(np.ceil(seconds * 16000 / len(joined)))
    audio = Audio(np.tile(joined, repeats)[: int(round(seconds * 16000))], 16000)
    starts = np.cumsum([0] + [len(p) for p in pieces])[:-1] / 16000
    period = len(joined) / 16000
    turns = [SpeakerTurn(r * period + o + t.start, min(seconds, r * period + o + t.end), t.speaker)
             for r in range(repeats) for n, o in zip(names, starts) for t in refs[n].turns
             if r * period + o + t.start < seconds]
    return audio, Diarization("joined", seconds, turns)


def joined_run(args) -> None:
    """Each half's files joined into one recording: the speaker count and DER when voices come
    and go over minutes rather than 30 s (the cluster-size rule was chosen on tune joined)."""
    pipeline = SpeakerDiarization()
    for part in [p for p in args.parts.split(",") if p]:
        audio, reference = joined_recording(PARTS[part])
        result = pipeline.apply(audio, uri=part, max_speakers=args.max_speakers)
        scores = diarization_scores(reference, result, collar=args.collar, uem=(0.0, audio.duration))
        print(f"{part} joined ({audio.duration:.0f} s): DER {scores['DER']:.1%} (miss {scores['miss']:.1%}, "
              f"FA {scores['false_alarm']:.1%}, confusion {scores['confusion']:.1%}), "
              f"{len(result.speakers)} speakers (reference {len(reference.speakers)})")


def long_run(args) -> None:
    """A recording of ``--long`` seconds made of all the dev files end to end, repeated: speed,
    peak memory, and DER against the references joined the same way."""
    audio, reference = joined_recording(sorted(load_dev()[0]), args.long)
    pipeline = SpeakerDiarization()
    pipeline.apply(audio.slice(0, 30))  # models loaded before timing
    before = peak_rss_mb()
    t0 = time.perf_counter()
    result = pipeline.apply(audio, max_speakers=args.max_speakers)
    seconds = time.perf_counter() - t0
    scores = diarization_scores(reference, result, collar=args.collar, uem=(0.0, args.long))
    print(f"{args.long:.0f} s recording: {seconds:.1f} s ({args.long / seconds:.0f}x real time), "
          f"{len(result.speakers)} speakers (reference {len(reference.speakers)}, at most {args.max_speakers} asked), "
          f"{len(result.turns)} turns, DER {scores['DER']:.1%} (miss {scores['miss']:.1%}, FA {scores['false_alarm']:.1%}, "
          f"confusion {scores['confusion']:.1%}); peak RSS {peak_rss_mb():.0f} MB "
          f"(after loading models: {before:.0f} MB; the audio alone: {audio.samples.nbytes / 2**20:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collar", type=float, default=0.25)
    parser.add_argument("--parts", default="tune,check")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--steps", default="2.5", help="--grid: chunk steps to try (s)")
    parser.add_argument("--long", type=float, default=0.0)
    parser.add_argument("--joined", action="store_true", help="each half's files joined into one recording")
    parser.add_argument("--chunk-step", type=float, default=None, help="seconds between segmentation chunks")
    parser.add_argument("--embed-every", type=int, default=None, help="embed the local speakers of every n-th chunk")
    parser.add_argument("--max-embed", type=float, default=None, help="seconds of a local speaker embedded at most")
    parser.add_argument("--max-speakers", type=int, default=30, help="--joined, --long: at most this many speakers")
    args = parser.parse_args()
    if not (FOLDER / "ami_train.rttm").is_file():
        print(f"SKIP: dev data not found at {FOLDER}")
        return
    if args.long:
        long_run(args)
    elif args.joined:
        joined_run(args)
    elif args.grid:
        grid(args)
    else:
        evaluate(args)


if __name__ == "__main__":
    main()
