"""`malsori batch` against a bare loop over the same pipeline, a crash mid-run, and Ray.

    python benchmarks/batch_bench.py [--items 200] [--task asr] [--skip-ray]

The manifest lists the English sentences of ../shared/data (speech/transcripts.tsv), cycled to
``--items`` entries with distinct ids. Measured in one process, on this machine:
1. bare: ``Translator.predict`` on each item in a loop, nothing written (the baseline);
2. batch in-process: ``malsori batch`` (files and results.jsonl written, fsync per item);
   its overhead over the bare loop;
3. crash: the CLI killed (SIGKILL) once half the items are done, then run again: the rerun must do
   exactly the rest, and every item must end up done once;
4. Ray: ``--ray local`` with one worker per core, models loaded once per worker.
RTF is processing seconds per second of audio, per item (median) and for the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data, utterances  # noqa: E402


def manifest(folder: Path, items: int) -> Path:
    require_data()
    english = [u for u in utterances("speech/en/") if "/fsdd/" not in u["path"]]  # sentences, not digits
    rows = ["path\tid"] + [f"{english[n % len(english)]['file']}\tu{n:04d}" for n in range(items)]
    path = folder / "manifest.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def rows_of(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def report(name: str, wall: float, rows: list[dict], baseline: float | None = None) -> None:
    audio = sum(r["audio_s"] or 0 for r in rows)
    per_item = statistics.median(r["rtf"] for r in rows if r.get("rtf")) if rows else float("nan")
    extra = f", {100 * (wall / baseline - 1):+.1f}% against the bare loop" if baseline else ""
    print(f"  {name:<28} {len(rows):4d} items  {wall:7.1f} s  RTF {wall / audio:.3f} (median per item "
          f"{per_item:.3f}){extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--task", default="asr")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()

    from malsori.audio import load_audio
    from malsori.pipelines.batch import BatchOptions, read_manifest, run_batch
    from malsori.pipelines.translate import Translator

    options = BatchOptions(args.task, src="eng", tgt="eng" if args.task != "s2st" else "spa")
    with tempfile.TemporaryDirectory(prefix="malsori-batch-bench-") as tmp:
        folder = Path(tmp)
        items = manifest(folder, args.items)
        print(f"{args.items} items ({args.task}), {os.cpu_count()} CPUs")

        translator = Translator()
        first = read_manifest(items)
        translator.predict(load_audio(first[0].path), options.task, options.tgt, options.src)  # load the models
        started = time.perf_counter()
        bare_rows = []
        for item in first:
            t0 = time.perf_counter()
            audio = load_audio(item.path)
            translator.predict(audio, options.task, options.tgt, options.src)
            bare_rows.append({"audio_s": audio.duration, "rtf": (time.perf_counter() - t0) / audio.duration})
        bare = time.perf_counter() - started
        report("bare loop (baseline)", bare, bare_rows)
        del translator

        started = time.perf_counter()
        run_batch(items, options, folder / "inproc")
        report("batch, in process", time.perf_counter() - started, rows_of(folder / "inproc"), bare)

        out = folder / "crash"
        command = [sys.executable, "-m", "malsori.cli", "batch", str(items), "--task", options.task, "--src", "eng",
                   "--tgt", options.tgt, "-o", str(out), "-q"]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while len(rows_of(out)) < args.items // 2 and proc.poll() is None:
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at = len(rows_of(out))
        started = time.perf_counter()
        subprocess.run(command, check=True)
        rerun = time.perf_counter() - started
        rows = rows_of(out)
        ids = [r["id"] for r in rows]
        print(f"  crash: killed after {killed_at} items; the rerun did {len(rows) - killed_at} in {rerun:.1f} s; "
              f"{len(set(ids))} distinct of {args.items}, {len(ids) - len(set(ids))} done twice", flush=True)

        if not args.skip_ray:
            started = time.perf_counter()
            run_batch(items, options, folder / "ray", ray="local")
            rows = rows_of(folder / "ray")
            report(f"batch on Ray ({len({r['worker'] for r in rows})} workers)", time.perf_counter() - started,
                   rows, bare)


if __name__ == "__main__":
    main()
