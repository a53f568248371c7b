"""Speaker verification with a held-out check: bare GE2E, bare CAM++ and the calibrated verifier
as shipped, in one run, on every pair of dev recordings within each condition.

The calibration (malsori.pipelines.verify.CALIBRATION) was fitted on the TUNE trials only:
English read speech (LibriSpeech, LJSpeech, LibriVox, Harvard, FLEURS) and the even-numbered FSDD
digits (8 kHz). CHECK trials were never used to fit anything: Korean read speech (emotiontts kih,
ema, nea; the Korean TTS pack's 12 speakers, 10 utterances each) and the odd-numbered FSDD
digits. ema and nea score as one person to both encoders (cosine 0.80 with CAM++, as close as
their own recordings), so their cross pairs are left out rather than counted either way.
``--refit`` fits the calibration again on TUNE and prints its coefficients beside the shipped ones.

    python benchmarks/verification_bench.py [--refit]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data  # noqa: E402

from malsori.audio import load_audio  # noqa: E402
from malsori.eval.speaker import equal_error_rate, min_dcf  # noqa: E402
from malsori.pipelines import verify  # noqa: E402

CONFUSED = {"et-ema", "et-nea"}


def recordings(data: Path, per_tts_speaker: int = 10) -> list[dict]:
    rows = []
    with open(data / "speech" / "transcripts.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if r["lang"] in ("en", "ko") and r["speaker"] != "cards_unknown":
                rows.append({"path": r["path"], "speaker": r["speaker"], "set": "english" if r["lang"] == "en" else "korean"})
    with open(data / "speech" / "en" / "fsdd" / "digits.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            take = int(Path(r["path"]).stem.rsplit("_", 1)[1])
            rows.append({"path": r["path"], "speaker": r["speaker"], "set": f"fsdd-{'even' if take % 2 == 0 else 'odd'}"})
    counts: dict[str, int] = {}
    with open(data / "speech" / "ko" / "tts" / "metadata.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if counts.get(r["speaker"], 0) < per_tts_speaker:
                counts[r["speaker"]] = counts.get(r["speaker"], 0) + 1
                rows.append({"path": f"speech/ko/tts/{r['path']}", "speaker": f"tts-{r['speaker']}", "set": "korean-tts"})
    return rows


TUNE, CHECK = ("english", "fsdd-even"), ("korean", "korean-tts", "fsdd-odd")


def trials(rows: list[dict], name: str) -> list[tuple[int, int, bool]]:
    members = [i for i, r in enumerate(rows) if r["set"] == name]
    out = []
    for k, i in enumerate(members):
        for j in members[k + 1:]:
            a, b = rows[i]["speaker"], rows[j]["speaker"]
            if a != b and {a, b} == CONFUSED:
                continue
            out.append((i, j, a == b))
    return out


def rates(scores, labels, threshold) -> str:
    eer, _ = equal_error_rate(scores, labels)
    dcf, _ = min_dcf(scores, labels)
    line = f"EER {100 * eer:5.1f}%  minDCF {dcf:.3f}"
    if threshold is not None:
        miss = np.mean(scores[labels] < threshold)
        fa = np.mean(scores[~labels] >= threshold)
        line += f"  at the shipped threshold: miss {100 * miss:4.1f}% false accept {100 * fa:4.1f}%"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refit", action="store_true")
    args = parser.parse_args()
    data = require_data()
    from malsori.engines.speaker import shared_encoder

    rows = recordings(data)
    campplus, ge2e = shared_encoder("campplus"), shared_encoder("ge2e")
    audio = [load_audio(data / r["path"]) for r in rows]
    speech_s = sum(a.duration for a in audio)
    timings = {}
    vectors = {}
    for encoder in (ge2e, campplus):
        t0 = time.perf_counter()
        vectors[encoder.name] = np.stack([encoder.embed(a) for a in audio])
        timings[encoder.name] = time.perf_counter() - t0
    narrow = np.array([verify.is_narrowband(a) for a in audio])
    seconds = np.array([a.duration for a in audio])
    print(f"{len(rows)} recordings, {speech_s / 60:.1f} min; embedding RTF: GE2E "
          f"{timings['ge2e'] / speech_s:.3f}, CAM++ {timings['campplus'] / speech_s:.3f} (2-core CPU)")

    def features(pairs):
        i, j = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        cam = (vectors["campplus"][i] * vectors["campplus"][j]).sum(1)
        ge = (vectors["ge2e"][i] * vectors["ge2e"][j]).sum(1)
        nb = (narrow[i] | narrow[j]).astype(float)
        ld = np.log(np.clip(np.minimum(seconds[i], seconds[j]), *verify.CALIBRATED_DURATIONS_S))
        return cam, ge, np.stack([np.ones_like(cam), cam, nb, nb * cam, nb * ge, ld], 1)

    coefficients = np.array(verify.CALIBRATION)
    if args.refit:
        from sklearn.linear_model import LogisticRegression

        tune_pairs = [p for name in TUNE for p in trials(rows, name)]
        _, _, x = features(tune_pairs)
        fit = LogisticRegression(class_weight="balanced", C=10, max_iter=2000).fit(x[:, 1:], [p[2] for p in tune_pairs])
        print("refit on TUNE:", np.round(np.concatenate([fit.intercept_, fit.coef_[0]]), 4).tolist())
        print("shipped:      ", coefficients.tolist())

    for part, names in (("TUNE", TUNE), ("CHECK (never fitted on)", CHECK)):
        print(f"\n== {part}")
        pooled: dict[str, list] = {"GE2E": [], "CAM++": [], "calibrated": []}
        labels_all = []
        for name in names:
            pairs = trials(rows, name)
            labels = np.array([p[2] for p in pairs])
            cam, ge, x = features(pairs)
            calibrated = x @ coefficients
            print(f"{name:11} {len(pairs):5d} trials ({labels.sum()} same-speaker)")
            for label, scores, threshold in (("GE2E", ge, verify.DEFAULT_THRESHOLD), ("CAM++", cam, None),
                                             ("calibrated", calibrated, 0.0)):
                print(f"  {label:10} {rates(scores, labels, threshold)}")
                pooled[label].append(scores)
            labels_all.append(labels)
        labels = np.concatenate(labels_all)
        print(f"pooled, one threshold, {len(labels)} trials:")
        for label, threshold in (("GE2E", verify.DEFAULT_THRESHOLD), ("CAM++", None), ("calibrated", 0.0)):
            print(f"  {label:10} {rates(np.concatenate(pooled[label]), labels, threshold)}")


if __name__ == "__main__":
    main()
