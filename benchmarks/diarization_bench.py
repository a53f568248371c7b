"""Diarization on the dev recordings (AMI excerpts trn00-09 and the 2-speaker call `sample`).

Prints DER (pyannote.metrics, collar 0.25 in its convention, inside the UEM) and JER per file and
pooled, for malsori's pipeline and, in the same process, two baselines:
- one speaker: every VAD region given to a single speaker;
- naive: VAD, non-overlapping 1.5 s windows, GE2E, average-linkage agglomerative clustering with
  one cosine threshold, tuned here on these same files (its best is printed); once with malsori's
  VAD settings and once with Silero's defaults (threshold 0.5).

    python benchmarks/diarization_bench.py [--collar 0.25] [--files trn00,trn01] [--no-segmentation]

malsori uses the segmentation model (speech and overlap) when it is installed; --no-segmentation
runs the pipeline on the VAD alone. pyannote's segmentation-3.0 was trained on AMI's training
split, which the trn excerpts come from: its figures there are not held-out ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

from malsori.audio import load_audio  # noqa: E402
from malsori.eval.speaker import diarization_scores, pooled_der  # noqa: E402
from malsori.pipelines.diarize import DiarizationOptions, SpeakerDiarization, read_rttm, read_uem  # noqa: E402
from malsori.protocols import Diarization, SpeakerTurn  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collar", type=float, default=0.25)
    parser.add_argument("--files", default="")
    parser.add_argument("--no-segmentation", action="store_true")
    parser.add_argument("--speech-from", default="vad", help="with segmentation: model, vad or union")
    parser.add_argument("--overlap-threshold", type=float, default=DiarizationOptions.overlap_threshold)
    parser.add_argument("--speech-threshold", type=float, default=DiarizationOptions.speech_threshold)
    args = parser.parse_args()
    folder = DATA / "diarization"
    if not (folder / "ami_train.rttm").is_file():
        print(f"SKIP: dev data not found at {folder}")
        return
    refs = read_rttm((folder / "ami_train.rttm").read_text())
    refs.update(read_rttm((folder / "sample.rttm").read_text()))
    uems = read_uem((folder / "ami_train.uem").read_text())
    names = args.files.split(",") if args.files else sorted(refs)
    pipeline = SpeakerDiarization(segmentation=False if args.no_segmentation else None,
                                  options=DiarizationOptions(speech_from=args.speech_from,
                                                             overlap_threshold=args.overlap_threshold,
                                                             speech_threshold=args.speech_threshold))
    print(f"segmentation model: {pipeline.segmentation.name if pipeline.segmentation else 'none (VAD only)'}")
    encoder = pipeline.encoder
    rows, audio_s, compute_s = [], 0.0, 0.0
    pipeline.apply(load_audio(folder / f"{names[0]}.wav"), uri=names[0])  # warm-up: model loading
    from malsori.engines.vad.silero import SileroVAD

    default_vad = SileroVAD(max_region_s=float("inf"))
    thresholds = np.round(np.arange(0.55, 0.86, 0.05), 2)
    naive_scores = {t: [] for t in thresholds}
    naive_default = {t: [] for t in thresholds}
    one_scores, ours = [], []
    for name in names:
        audio = load_audio(folder / f"{name}.wav")
        ref = refs[name]
        uem = uems.get(name, (0.0, audio.duration))
        t0 = time.perf_counter()
        hyp = pipeline.apply(audio, uri=name)
        compute_s += time.perf_counter() - t0
        audio_s += audio.duration
        score = diarization_scores(ref, hyp, collar=args.collar, uem=uem)
        ours.append(score)
        regions = pipeline.vad.regions(audio)
        one = Diarization(name, audio.duration, [SpeakerTurn(r.start, r.end, "A") for r in regions])
        one_scores.append(diarization_scores(ref, one, collar=args.collar, uem=uem))
        plain_regions = default_vad.regions(audio)
        for t in thresholds:
            naive_scores[t].append(diarization_scores(ref, naive(audio, regions, encoder, t, name),
                                                      collar=args.collar, uem=uem))
            naive_default[t].append(diarization_scores(ref, naive(audio, plain_regions, encoder, t, name),
                                                       collar=args.collar, uem=uem))
        rows.append((name, len(ref.speakers), len(hyp.speakers), score))
    print(f"{'file':8} {'ref':>3} {'hyp':>3} {'DER':>6} {'miss':>6} {'FA':>6} {'conf':>6} {'JER':>6}")
    for name, n_ref, n_hyp, s in rows:
        print(f"{name:8} {n_ref:3d} {n_hyp:3d} {s['DER']:6.1%} {s['miss']:6.1%} {s['false_alarm']:6.1%} "
              f"{s['confusion']:6.1%} {s['JER']:6.1%}")
    best_t = min(thresholds, key=lambda t: pooled_der(naive_scores[t])["DER"])
    best_d = min(thresholds, key=lambda t: pooled_der(naive_default[t])["DER"])
    pooled = {"malsori": pooled_der(ours), "naive (best threshold %.2f)" % best_t: pooled_der(naive_scores[best_t]),
              "naive, Silero defaults (%.2f)" % best_d: pooled_der(naive_default[best_d]),
              "one speaker": pooled_der(one_scores)}
    ami = [s for (name, *_), s in zip(rows, ours) if name.startswith("trn")]
    print()
    for label, p in pooled.items():
        print(f"{label:28} DER {p['DER']:6.1%}  (miss {p['miss']:.1%}, FA {p['false_alarm']:.1%}, "
              f"confusion {p['confusion']:.1%})")
    ours_der, naive_der = pooled["malsori"]["DER"], pooled_der(naive_scores[best_t])["DER"]
    print(f"relative to naive: {1 - ours_der / naive_der:+.1%} lower DER "
          f"({1 - ours_der / pooled_der(naive_default[best_d])['DER']:+.1%} against the naive one with Silero defaults)")
    if ami:
        print(f"AMI excerpts only: malsori DER {pooled_der(ami)['DER']:.1%}")
    print(f"speed: {audio_s / compute_s:.0f}x real time ({compute_s:.2f} s for {audio_s:.0f} s of audio)")


if __name__ == "__main__":
    main()
