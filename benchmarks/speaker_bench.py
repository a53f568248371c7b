"""Speaker verification and identification on the dev speakers.

Verification: all pairs within each set (English read speech, Korean emotiontts, 8 kHz spoken
digits), EER and minDCF (p_target 0.01) of the shipped encoder's cosine (CAM++; the calibrated
scores are judged in verification_bench.py), next to the bare GE2E cosine computed in the same run. Identification: every speaker with at least 4 recordings is enrolled
from 3 of them; the rest are identified among all enrolled speakers (top-1). Text-dependent:
each English and Korean utterance is checked against its own text and against another
utterance's text by the same speaker.

    python benchmarks/speaker_bench.py [--skip-text]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data, utterances  # noqa: E402

from malsori.audio import load_audio  # noqa: E402
from malsori.eval.speaker import equal_error_rate, min_dcf  # noqa: E402
from malsori.pipelines.verify import DEFAULT_THRESHOLD, Verifier  # noqa: E402


def recordings(data: Path) -> list[dict]:
    rows = [r for r in utterances("speech/") if r["speaker"] != "cards_unknown"]
    with open(data / "speech" / "en" / "fsdd" / "digits.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            rows.append({**r, "file": str(data / r["path"]), "lang": "en"})
    return rows


def pair_scores(rows, vectors, score, same_speaker):
    scores, labels = [], []
    for a, b in itertools.combinations(rows, 2):
        scores.append(score(vectors[a["path"]], vectors[b["path"]]))
        labels.append(same_speaker(a["speaker"], b["speaker"]))
    return np.array(scores), np.array(labels)


def identification(rows, vectors, threshold, label: str, ge2e=None, narrow=frozenset()) -> None:
    """3 enrolment recordings per speaker with at least 4, the rest are probes (top-1). With
    ``ge2e`` vectors, probes in ``narrow`` are ranked as SpeakerStore.identify ranks them:
    CAM++ and GE2E cosines fused (verify.narrowband_fusion)."""
    from malsori.pipelines.verify import narrowband_fusion

    by_speaker: dict[str, list[dict]] = {}
    for r in rows:
        by_speaker.setdefault(r["speaker"], []).append(r)
    enrolled = {s: rs for s, rs in by_speaker.items() if len(rs) >= 4}
    prints = {s: np.mean([vectors[r["path"]] for r in rs[:3]], axis=0) for s, rs in enrolled.items()}
    prints = {s: v / np.linalg.norm(v) for s, v in prints.items()}
    names = list(prints)
    matrix = np.stack([prints[s] for s in names])
    if ge2e is not None:
        other = np.stack([(lambda m: m / np.linalg.norm(m))(np.mean([ge2e[r["path"]] for r in enrolled[s][:3]], axis=0))
                          for s in names])
    hits = total = unknown = 0
    misses: dict[str, int] = {}
    for s, rs in enrolled.items():
        for r in rs[3:]:
            sims = matrix @ vectors[r["path"]]
            if ge2e is not None and r["path"] in narrow:
                sims = narrowband_fusion(sims, other @ ge2e[r["path"]])
            best = names[int(np.argmax(sims))]
            total += 1
            hits += best == s
            unknown += threshold is not None and sims.max() < threshold
            if best != s:
                misses[f"{s}->{best}"] = misses.get(f"{s}->{best}", 0) + 1
    print(f"\nidentification ({label}) among {len(names)} enrolled speakers (3 recordings each): top-1 "
          f"{hits}/{total} = {hits / total:.1%}" + (f"; below the threshold ('unknown'): {unknown}" if threshold else ""))
    if misses:
        print("  confusions:", ", ".join(f"{k} x{v}" for k, v in sorted(misses.items(), key=lambda kv: -kv[1])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-text", action="store_true", help="skip the text-dependent part (runs Whisper)")
    parser.add_argument("--identify-encoders", default="ge2e", help="also identify with these encoders (baselines)")
    args = parser.parse_args()
    data = require_data()
    rows = recordings(data)
    from malsori.errors import AudioError
    from malsori.pipelines.verify import require_speech

    verifier = Verifier(check_speech=False)
    t0, audio_s = time.perf_counter(), 0.0
    vectors, audio = {}, {}
    for r in rows:
        clip = load_audio(r["file"])
        audio[r["path"]] = clip
        audio_s += clip.duration
        vectors[r["path"]] = verifier.embed(clip, r["path"])
    embed_s = time.perf_counter() - t0
    refused = []
    for path, clip in audio.items():
        try:
            require_speech(clip, path)
        except AudioError:
            refused.append(Path(path).name)
    print(f"speech check (enrolment guard) refuses {len(refused)}/{len(audio)} dev recordings: {', '.join(refused)}")
    # The bare baseline: the cosine of GE2E (the previous default), no speech check, no normalisation.
    ge2e = Verifier(encoder="ge2e", check_speech=False)
    bare_vectors = {p: ge2e.encoder.embed(a) for p, a in audio.items()}

    def cosine(a, b):
        return float(np.dot(a, b))

    sets = {
        "English read (LibriSpeech, SpeechBrain, LJ, LibriVox, FLEURS)": lambda r: "/en/" in r["path"] and "fsdd" not in r["path"],
        "Korean emotiontts (kih, ema, nea)": lambda r: "/ko/" in r["path"],
        "FSDD digits, 8 kHz": lambda r: "fsdd" in r["path"],
    }
    print(f"{'trial set':62} {'trials':>6} {'same':>5} {'EER bare':>9} {'EER':>7} {'minDCF':>7}")
    for label, keep in sets.items():
        chosen = [r for r in rows if keep(r)]
        b_scores, b_labels = pair_scores(chosen, bare_vectors, cosine, str.__eq__)
        scores, labels = pair_scores(chosen, vectors, verifier.score, str.__eq__)
        print(f"{label:62} {len(labels):6d} {int(labels.sum()):5d} {equal_error_rate(b_scores, b_labels)[0]:9.2%} "
              f"{equal_error_rate(scores, labels)[0]:7.2%} {min_dcf(scores, labels)[0]:7.3f}")
    # Every encoder tried puts ema and nea together ("em-a" and "ne-a": likely one voice, recorded
    # emotional and neutral); the Korean figure with them taken as one speaker:
    korean = [r for r in rows if "/ko/" in r["path"]]
    one = lambda a, b: a == b or {a, b} == {"et-ema", "et-nea"}  # noqa: E731
    scores, labels = pair_scores(korean, vectors, verifier.score, one)
    print(f"{'Korean, ema and nea taken as one speaker':62} {len(labels):6d} {int(labels.sum()):5d} {'':9} "
          f"{equal_error_rate(scores, labels)[0]:7.2%} {min_dcf(scores, labels)[0]:7.3f}")
    wide = [r for r in rows if "fsdd" not in r["path"]]
    scores, labels = pair_scores(wide, vectors, verifier.score, str.__eq__)
    eer, threshold = equal_error_rate(scores, labels)
    print(f"threshold at the wideband EER: {threshold:.3f} (shipped default {DEFAULT_THRESHOLD})")
    print(f"embedding speed: {audio_s / embed_s:.0f}x real time ({len(rows)} recordings, {audio_s:.0f} s)")

    identification(rows, vectors, DEFAULT_THRESHOLD, verifier.encoder.name)
    if verifier.calibrated:  # what SpeakerStore.identify does with telephone audio
        from malsori.pipelines.verify import is_narrowband

        narrow = frozenset(p for p, clip in audio.items() if is_narrowband(clip))
        identification(rows, vectors, None, "campplus, GE2E fused on narrow-band probes (shipped)", bare_vectors,
                       narrow)
    if args.identify_encoders:
        for name in args.identify_encoders.split(","):
            other = Verifier(encoder=name, check_speech=False)
            identification(rows, {r["path"]: other.embed(audio[r["path"]], r["path"]) for r in rows},
                           None, name)

    if args.skip_text:
        return
    # Text-dependent: right phrase vs another sentence of the same speaker, same voice.
    from malsori.pipelines.verify import PHRASE_MATCH, check_phrase

    checked = [r for r in rows if r.get("text") and r["speaker"] in ("ls-1988", "sb-spk1", "sb-spk2", "et-kih")][:24]
    right = wrong = 0
    for i, r in enumerate(checked):
        other = next(o for o in checked[i + 1:] + checked[:i] if o["speaker"] == r["speaker"] and o["text"] != r["text"])
        lang = "kor" if r["lang"] == "ko" else "eng"
        _, match = check_phrase(audio[r["path"]], r["text"], language=lang)
        _, other_match = check_phrase(audio[r["path"]], other["text"], language=lang)
        right += match >= PHRASE_MATCH
        wrong += other_match < PHRASE_MATCH
    print(f"\ntext-dependent ({len(checked)} utterances): own phrase accepted {right}/{len(checked)}, "
          f"another phrase of the same speaker rejected {wrong}/{len(checked)}")


if __name__ == "__main__":
    main()
