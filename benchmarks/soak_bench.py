"""Soak: N minutes of continuous speech through one stream (as fast as possible), printing per
minute the real-time factor and resident memory, to show the stream keeps up and stays bounded.
Simultaneous streams a machine sustains ~ 1 / RTF (2 cores here).

    python benchmarks/soak_bench.py [--minutes 10] [--task asr]
"""

from __future__ import annotations

import argparse
import os
import time

from common import require_data
from long_bench import build_samples


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--task", default="asr")
    args = parser.parse_args()
    require_data()
    from malsori import Translator
    from malsori.pipelines.stream import StreamingTranslator

    samples = build_samples(args.minutes)
    session = StreamingTranslator(Translator(), args.task, "eng" if args.task == "asr" else "spa", "eng")
    session.warm_up()
    step, minute, compute, words = 5120, 16000 * 60, 0.0, 0
    rtfs = []
    for k in range(0, len(samples), step):
        t0 = time.perf_counter()
        events = session.push(samples[k:k + step])
        compute += time.perf_counter() - t0
        words += sum(len(e.text.split()) for e in events if e.kind == "commit")
        if (k + step) % minute < step:
            rtfs.append(compute / 60)
            print(f"minute {len(rtfs):3d}: RTF {rtfs[-1]:.2f}  RSS {rss_mb():.0f} MB  words committed {words}",
                  flush=True)
            compute = 0.0
    session.close()
    print(f"median RTF {sorted(rtfs)[len(rtfs) // 2]:.2f}, max {max(rtfs):.2f}: about "
          f"{int(1 / max(rtfs))} stream(s) keep up in real time on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
