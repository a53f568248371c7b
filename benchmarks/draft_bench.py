"""Streaming drafts: Whisper decoded on a shortened encoder window vs the usual 30 s window.

    python benchmarks/draft_bench.py [--model whisper-tiny.en] [--src eng] [--subset speech/en/fleurs]

Every utterance is cut into growing prefixes (1 s, then every 0.64 s), as a stream re-decodes
them. Each prefix is drafted greedily with a 30 s window (the baseline, what faster-whisper
does) and with each (min, pad) window setting; the script prints the time ratio and how far
the draft's words are from the 30 s draft's (WER between the two).
"""

from __future__ import annotations

import argparse
import time

from common import require_data, utterances

from malsori.audio import Audio, load_audio
from malsori.eval.metrics import error_rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--src", default="eng")
    parser.add_argument("--subset", action="append")
    parser.add_argument("--settings", default="6:2,8:3,10:4,12:6", help="min:pad pairs in seconds")
    args = parser.parse_args()
    require_data()
    from malsori.engines.asr.whisper import WhisperRecognizer

    rec = WhisperRecognizer(args.model)
    rows = [r for s in (args.subset or ["speech/en/librispeech", "speech/en/fleurs"]) for r in utterances(s)]
    prefixes = []
    for r in rows:
        samples = load_audio(r["file"], 16000).samples
        prefixes += [Audio(samples[:k], 16000) for k in range(16000, len(samples) + 10240, 10240)]
    print(f"{args.model}: {len(rows)} utterances, {len(prefixes)} prefixes")

    def run(min_s, pad_s):
        rec.draft_min_s, rec.draft_pad_s = min_s, pad_s
        rec.draft(prefixes[0], args.src)  # warm
        t0 = time.perf_counter()
        out = [rec.draft(p, args.src) for p in prefixes]
        return out, time.perf_counter() - t0

    base, base_s = run(30.0, 30.0)
    print(f"30 s window (baseline): {base_s / len(prefixes) * 1000:.0f} ms a draft")
    for setting in args.settings.split(","):
        min_s, pad_s = (float(x) for x in setting.split(":"))
        out, secs = run(min_s, pad_s)
        print(f"min {min_s:g} s, pad {pad_s:g} s: {secs / len(prefixes) * 1000:.0f} ms a draft "
              f"({base_s / secs:.1f}x faster), words differing from the 30 s draft "
              f"{100 * error_rate(base, out, args.src):.1f}%")


if __name__ == "__main__":
    main()
