"""Gender estimate of the voice profile: the F0-only rule it replaced and the F0 + formant-spacing
estimate, side by side, on dev speech whose speakers' sex is documented.

    python benchmarks/gender_bench.py          # accuracy, "unknown" share, Brier score, reliability
    python benchmarks/gender_bench.py --fit    # refit the formant-spacing classes, print the constants

Sexes come from the corpora's own documentation, never from the voice:
- LibriSpeech dev-clean (SPEAKERS.TXT): 1988 F (Ransom), 2412 F, 3752 M (Mark Welch). The
  spkanon_eval lists the dev data came from have 1988 and 3752 the other way round; its 2412 F
  agrees with SPEAKERS.TXT.
- LJSpeech: one woman. The bundled Piper voice (joe) and the MBROLA databases: men.
- Korean emotiontts_open_db, Dataset/SpeechCorpus/Main/README.md: lmy, ava-avd, ada, adb women;
  adc, add men. The emotional sets (ema, emb, emf, emg, and nea, kih) are documented only as
  "2 women, 3 men" and "5 women, 5 men" without saying who is who, so they are listed, not scored.
- FSDD metadata: george, jackson, lucas are men.

Parts:
- fit: permissively licensed speech, the only data ``--fit`` reads: LibriSpeech (CC BY 4.0),
  LJSpeech (public domain), Piper joe, the MBROLA men (2 Spanish sentences each).
- held-out: never used for fitting. Korean (CC BY-NC-SA, research use: nothing fitted on it may
  ship; lmy is 30 of its 325 utterances, fixed seed) and FSDD (CC BY-SA, 8 kHz: too narrow a band
  for formants, so F0 alone).
- raised / lowered: each part's men re-pitched by PSOLA (Praat's "Change gender", formants kept)
  to a 230 Hz median, as a man raising his voice (the JFK inaugural address measures 237 Hz),
  and its women to 140 Hz.

Per part and rule: utterances, share answered "unknown", accuracy of the answers given, accuracy
over all utterances (an "unknown" counts as not right), confident errors (wrong at posterior 0.8
or more) and the Brier score of P(female).
Then reliability (natural speech of each part, and the re-pitched copies pooled): answers binned
by their confidence, with the share of them that was right.
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
import random
import time

import numpy as np
from common import DATA, require_data, utterances

from malsori.audio import load_audio
from malsori.errors import AudioError, MalsoriError
from malsori.pipelines import profile as P
from malsori.prosody.analysis import analyze
from malsori.prosody.transfer import change_voice

LABELS = {"ls-1988": "female", "ls-2412": "female", "ls-3752": "male", "lj": "female",
          "piper-joe": "male", **{f"ko-{s}": "female" for s in ("lmy", "ava", "avb", "avc", "avd", "ada", "adb")},
          "ko-adc": "male", "ko-add": "male", "fsdd-george": "male", "fsdd-jackson": "male", "fsdd-lucas": "male"}
ENGLISH = ["The quick brown fox jumps over the lazy dog. I would like a cup of coffee.",
           "She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
           "We will meet at the station at half past nine, unless the train is late again.",
           "The weather is lovely today, and we are going to the park after lunch.",
           "Please write your name and address on the form and hand it to the clerk."]
SPANISH = ["El perro corre por el parque mientras los niños juegan con la pelota.",
           "Mañana vamos a visitar a mi abuela en el pueblo."]
RAISED_HZ, LOWERED_HZ = 230.0, 140.0
BINS = [(0.5, 0.8), (0.8, 0.9), (0.9, 0.99), (0.99, 1.01)]


def old_rule(f0: float) -> tuple[str, float]:
    """The replaced estimate: a logistic of median F0 alone, always answering (P(female), answer)."""
    p = 1 / (1 + math.exp(-1.08 * 12 * math.log2(f0 / math.sqrt(120.0 * 210.0))))
    return ("female" if p >= 0.5 else "male"), p


def fit_clips() -> list[tuple[str, str, object]]:
    """(speaker, name, Audio) of the fit part: real recordings, then the synthetic men."""
    clips = [(r["speaker"], r["path"], load_audio(r["file"])) for r in utterances("speech/en/")
             if r["speaker"] in ("ls-1988", "ls-2412", "ls-3752", "lj")]
    from malsori.engines.tts.piper import PiperSynthesizer

    piper = PiperSynthesizer()
    clips += [("piper-joe", f"joe {i}", piper.synthesize(t, "eng")) for i, t in enumerate(ENGLISH)]
    try:
        from malsori.engines.tts.espeak_mbrola import VOICES, EspeakMbrola

        mbrola = EspeakMbrola()
        clips += [(f"mbrola-{v}", f"mb-{v} {i}", mbrola.speak(f"mb-{v}", t, 150, 50, 3))
                  for v in VOICES["spa"] for i, t in enumerate(SPANISH)]
    except MalsoriError as exc:
        print(f"note: MBROLA voices left out of the fit part ({exc})")
    return clips


def held_out_rows() -> tuple[list[dict], list[dict]]:
    """Korean and FSDD rows (labelled), and the unlabelled speakers' rows."""
    with open(DATA / "speech" / "ko" / "tts" / "metadata.tsv", newline="", encoding="utf-8") as fh:
        korean = [{**r, "speaker": "ko-" + r["speaker"], "file": str(DATA / "speech" / "ko" / "tts" / r["path"])}
                  for r in csv.DictReader(fh, delimiter="\t")]
    lmy = [r for r in korean if r["speaker"] == "ko-lmy"]
    korean = [r for r in korean if r["speaker"] != "ko-lmy"] + random.Random(0).sample(lmy, 30)
    with open(DATA / "speech" / "en" / "fsdd" / "digits.tsv", newline="", encoding="utf-8") as fh:
        fsdd = [{**r, "file": str(DATA / r["path"])} for r in csv.DictReader(fh, delimiter="\t")]
    rows = korean + fsdd
    others = [r for r in utterances("speech/") if r["speaker"] not in LABELS]
    return [r for r in rows if r["speaker"] in LABELS], [r for r in rows if r["speaker"] not in LABELS] + others


def measure(audio) -> dict | None:
    try:
        prof = P.profile_voice(audio)
    except AudioError:
        return None
    if prof.f0_median_hz is None:
        return None
    p_new = 1 / (1 + math.exp(-P.gender_log_odds(prof.f0_median_hz, prof.formant_spacing_hz)))
    old, p_old = old_rule(prof.f0_median_hz)
    return {"f0": prof.f0_median_hz, "spacing": prof.formant_spacing_hz, "new": prof.gender,
            "new_conf": prof.gender_confidence, "p_new": p_new, "old": old, "p_old": p_old}


def repitch(audio, median_hz: float):
    mono = audio.to_mono()
    return change_voice(mono, analyze(mono), 1.0, median_hz, 1.0, 1.0)


def score(results: list[tuple[str, dict]], rule: str) -> str:
    n = len(results)
    answered = [(t, m) for t, m in results if m[rule] in ("female", "male")]
    right = sum(m[rule] == t for t, m in answered)
    conf = (lambda m: max(m["p_old"], 1 - m["p_old"])) if rule == "old" else (lambda m: m["new_conf"])
    confident_wrong = sum(m[rule] != t and conf(m) >= P.DECIDE_AT for t, m in answered)
    p = "p_old" if rule == "old" else "p_new"
    brier = np.mean([(m[p] - (t == "female")) ** 2 for t, m in results]) if n else float("nan")
    return (f"{n:4d} utts  unknown {100 * (n - len(answered)) / max(n, 1):5.1f}%  "
            f"acc(answered) {100 * right / max(len(answered), 1):5.1f}%  acc(all) {100 * right / max(n, 1):5.1f}%  "
            f"confident errors {confident_wrong:3d}  Brier {brier:.3f}")


def reliability(results: list[tuple[str, dict]], rule: str) -> list[str]:
    lines = []
    for lo, hi in BINS:
        got = []
        for t, m in results:
            if m[rule] not in ("female", "male"):
                continue
            c = max(m["p_old"], 1 - m["p_old"]) if rule == "old" else m["new_conf"]
            if lo <= c < hi:
                got.append((c, m[rule] == t))
        if got:
            lines.append(f"    confidence {lo:.2f}-{min(hi, 1):.2f}: {len(got):4d} answers, mean confidence "
                         f"{np.mean([c for c, _ in got]):.3f}, right {100 * np.mean([r for _, r in got]):5.1f}%")
    return lines


def fit(clips) -> None:
    """Class means of log formant spacing (each speaker weighted equally) and their pooled spread."""
    by_speaker = collections.defaultdict(list)
    for speaker, _, audio in clips:
        m = measure(audio)
        if m and m["spacing"]:
            by_speaker[speaker].append(math.log(m["spacing"]))
    sex = {s: LABELS.get(s, "male") for s in by_speaker}  # MBROLA voices: all men
    means, devs = {}, []
    for cls in ("male", "female"):
        speakers = [s for s in by_speaker if sex[s] == cls]
        means[cls] = np.mean([np.mean(by_speaker[s]) for s in speakers])
        for s in speakers:  # each speaker's utterances weigh 1 in all
            devs += [((v - means[cls]) ** 2, 1 / len(by_speaker[s])) for v in by_speaker[s]]
        print(f"{cls}: {len(speakers)} speakers, " + ", ".join(
            f"{s} {math.exp(np.mean(by_speaker[s])):.0f}" for s in sorted(speakers)))
    spread = math.sqrt(sum(d * w for d, w in devs) / sum(w for _, w in devs))
    print(f"MALE_SPACING_HZ, FEMALE_SPACING_HZ, SPACING_SPREAD = {math.exp(means['male']):.0f}, "
          f"{math.exp(means['female']):.0f}, {spread:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the formant-spacing classes on the fit part")
    args = parser.parse_args()
    require_data()
    clips = fit_clips()
    if args.fit:
        fit(clips)
        return
    print(f"shipped: MALE_SPACING_HZ {P.MALE_SPACING_HZ}, FEMALE_SPACING_HZ {P.FEMALE_SPACING_HZ}, "
          f"SPACING_SPREAD {P.SPACING_SPREAD}, DECIDE_AT {P.DECIDE_AT}")
    labelled, unlabelled = held_out_rows()
    parts = {"fit": [(s, a) for s, _, a in clips],
             "held-out": [(r["speaker"], load_audio(r["file"])) for r in labelled]}
    results, per_speaker = collections.defaultdict(list), collections.defaultdict(list)
    t0, seconds = time.perf_counter(), 0.0
    for part, items in parts.items():
        for speaker, audio in items:
            truth = LABELS.get(speaker, "male")
            m = measure(audio)
            seconds += audio.duration
            if m is None:
                continue
            results[part].append((truth, m))
            per_speaker[(part, speaker)].append(m)
            target = RAISED_HZ if truth == "male" else LOWERED_HZ
            shifted = measure(repitch(audio, target))
            if shifted:
                results[f"{part}, {'men raised to 230' if truth == 'male' else 'women lowered to 140'} Hz"].append(
                    (truth, shifted))
    compute = time.perf_counter() - t0
    for row in unlabelled:
        m = measure(load_audio(row["file"]))
        if m:
            per_speaker[("unlabelled", row["speaker"])].append(m)

    print(f"\n{'part':10} {'speaker':38} {'n':>3} {'truth':>6} {'F0 med':>6} {'ΔF med':>6}  old (agree)   new (agree)")
    for (part, speaker), ms in per_speaker.items():
        old = collections.Counter(m["old"] for m in ms).most_common(1)[0]
        new = collections.Counter(m["new"] for m in ms).most_common(1)[0]
        spacings = [m["spacing"] for m in ms if m["spacing"]]
        print(f"{part:10} {speaker:38} {len(ms):3d} {LABELS.get(speaker, 'male' if 'mbrola' in speaker else '?'):>6} "
              f"{np.median([m['f0'] for m in ms]):6.1f} {np.median(spacings) if spacings else float('nan'):6.0f}  "
              f"{old[0]:>7} {old[1]:2d}/{len(ms):<2}  {new[0]:>7} {new[1]:2d}/{len(ms):<2}")

    for part, res in results.items():
        print(f"\n{part}")
        for rule, name in (("old", "F0 only (old)"), ("new", "F0 + formants")):
            print(f"  {name:14} {score(res, rule)}")
    for name, keys in (("fit part", ["fit"]), ("held-out part", ["held-out"]),
                       ("re-pitched copies of both parts", [k for k in results if "," in k])):
        pooled = [x for k in keys for x in results[k]]
        for rule, label in (("old", "F0 only (old)"), ("new", "F0 + formants")):
            print(f"\nreliability, {name}, {label}:")
            print("\n".join(reliability(pooled, rule)))
    print(f"\nRTF {compute / max(seconds, 1e-9):.3f} (profile_voice and re-pitching, {seconds:.0f} s of audio)")


if __name__ == "__main__":
    main()
