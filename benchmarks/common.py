"""Shared helpers for benchmarks: the dev data (skipped cleanly when absent) and measurement."""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_data() -> Path:
    if not (DATA / "speech" / "transcripts.tsv").is_file():
        print(f"SKIP: dev data not found at {DATA} (benchmarks read ../shared/data)")
        sys.exit(0)
    return DATA


def utterances(prefix: str) -> list[dict]:
    with open(DATA / "speech" / "transcripts.tsv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["path"].startswith(prefix)]
    for r in rows:
        r["file"] = str(DATA / r["path"])
    return rows


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(script: str, *args: str) -> dict:
    """Run one variant in a fresh process (so its peak memory and cold start are its own)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = time.perf_counter() - t0
    return out
