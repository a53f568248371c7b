"""Korean normalisation: exact match on the dev written -> spoken pairs, spacing ignored.

    python benchmarks/ko_normalize_bench.py [--show-failures]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data  # noqa: E402

from malsori.text.ko.normalize import normalize  # noqa: E402


def squash(text: str) -> str:
    return "".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args()
    data = require_data()
    with open(data / "text" / "ko_normalization_pairs.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    t0 = time.perf_counter()
    outputs = [normalize(r["script_written_form"]) for r in rows]
    elapsed = time.perf_counter() - t0
    ok = [squash(o) == squash(r["transcript_spoken_form"]) for o, r in zip(outputs, rows)]
    unchanged = sum(squash(r["script_written_form"]) == squash(r["transcript_spoken_form"]) for r in rows)
    print(f"exact match (spacing ignored): {sum(ok)}/{len(rows)} = {sum(ok) / len(rows):.1%} "
          f"(the written form itself matches {unchanged}/{len(rows)})")
    print(f"speed: {len(rows) / elapsed:.0f} sentences/s")
    failures = [(r, o) for r, o, good in zip(rows, outputs, ok) if not good]
    if failures:
        print("failures:" if args.show_failures else f"{len(failures)} failures (--show-failures lists them)")
    if args.show_failures:
        for r, o in failures:
            print(f"  {r['utt_id']}\n    written:  {r['script_written_form']}\n    expected: {r['transcript_spoken_form']}\n"
                  f"    got:      {o}")


if __name__ == "__main__":
    main()
