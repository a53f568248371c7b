"""Voice profile's gender estimate on every dev utterance, and its speed.

    python benchmarks/gender_bench.py

Runs ``profile_voice`` on each utterance of ../shared/data/speech (transcripts.tsv plus the FSDD
digits in speech/en/fsdd/digits.tsv). Accuracy is scored where the speaker's sex is known:

- LibriSpeech dev-clean: 1988 male, 2412 female, 3752 female. LibriSpeech's SPEAKERS.TXT could not
  be read here; these are the "gender" fields of the very same ten utterances in the source the
  dev data names (carlosfranzreb/spkanon_eval, data/debug/ls-dev-clean-2.txt). They are doubtful:
  3752 reads with a median F0 near 104 Hz and F1-F3 near 410/1620/2680 Hz, both typical of men
  (2412, labelled female, has 209 Hz and 550/1870/3040 Hz), so the table flags the label.
- LJSpeech: one female reader (Linda Johnson).

Every other speaker (Korean emotiontts kih/ema/nea, the FSDD digit speakers, speechbrain's
samples, the LibriVox reader, the pocketsphinx "cards" speaker, FLEURS) is unlabelled here: the
table shows what the estimate answers (majority over the speaker's utterances, how many agree,
mean confidence, median F0) so a reader who knows or hears them can see what it misses.
Prints utterance and speaker accuracy on the labelled speakers, and the mean real-time factor.
"""

from __future__ import annotations

import collections
import csv
import time

import numpy as np
from common import DATA, require_data, utterances

from malsori.audio import load_audio
from malsori.errors import AudioError
from malsori.pipelines.profile import profile_voice

LIBRISPEECH = {"ls-1988": "male", "ls-2412": "female", "ls-3752": "female"}
DOUBTFUL = {"ls-3752": "label from spkanon_eval; the voice measures as a man's (see the docstring)"}
KNOWN = {**LIBRISPEECH, "lj": "female"}


def all_utterances() -> list[dict]:
    rows = utterances("speech/")
    digits = DATA / "speech" / "en" / "fsdd" / "digits.tsv"
    if digits.is_file():
        with open(digits, newline="", encoding="utf-8") as fh:
            rows += [{**r, "file": str(DATA / r["path"])} for r in csv.DictReader(fh, delimiter="\t")]
    return rows


def main():
    require_data()
    rows = all_utterances()
    answers: dict[str, list] = collections.defaultdict(list)
    compute = seconds = 0.0
    failures = []
    for row in rows:
        audio = load_audio(row["file"])
        t0 = time.perf_counter()
        try:
            profile = profile_voice(audio)
        except AudioError as exc:
            failures.append(f"{row['path']}: {exc}")
            continue
        compute += time.perf_counter() - t0
        seconds += audio.duration
        answers[row["speaker"]].append(profile)

    print(f"{'speaker':40} {'n':>3} {'answer':>7} {'agree':>6} {'conf':>5} {'F0 med':>7}  truth")
    for speaker, profiles in sorted(answers.items(), key=lambda kv: (kv[0] not in KNOWN, kv[0])):
        said = [p.gender for p in profiles]
        majority, count = collections.Counter(said).most_common(1)[0]
        conf = [p.gender_confidence for p in profiles if p.gender == majority and p.gender_confidence is not None]
        f0 = [p.f0_median_hz for p in profiles if p.f0_median_hz is not None]
        truth = KNOWN.get(speaker, "?")
        mark = "" if truth == "?" else ("ok" if majority == truth else "MISS")
        print(f"{speaker:40} {len(profiles):3} {str(majority):>7} {count:3}/{len(profiles):<2} "
              f"{np.mean(conf) if conf else float('nan'):5.2f} {np.median(f0) if f0 else float('nan'):7.1f}  "
              f"{truth} {mark}")

    for name, labels in (("LibriSpeech dev-clean (3 speakers)", LIBRISPEECH), ("LibriSpeech + LJSpeech", KNOWN)):
        utts = [(p.gender, labels[s]) for s in labels for p in answers.get(s, [])]
        right = sum(g == t for g, t in utts)
        spk = [collections.Counter(p.gender for p in answers[s]).most_common(1)[0][0] == t
               for s, t in labels.items() if answers.get(s)]
        print(f"gender accuracy, {name}: utterances {right}/{len(utts)} = {100 * right / max(1, len(utts)):.1f}%, "
              f"speakers {sum(spk)}/{len(spk)}")
    for speaker, why in DOUBTFUL.items():
        print(f"note: {speaker} {why}")
    print(f"mean RTF {compute / seconds:.3f} ({seconds:.0f} s of audio, {len(rows) - len(failures)} utterances)")
    for line in failures:
        print("AudioError", line)


if __name__ == "__main__":
    main()
