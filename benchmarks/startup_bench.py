"""Start-up costs users feel: `malsori --help`, and the first translation of a ~10 s file from a
cold process (models loaded from disk). Baseline: the bare `python -c pass` start-up."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import require_data, utterances

MALSORI = str(Path(sys.executable).with_name("malsori"))


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return time.perf_counter() - t0


def main():
    python = statistics.median(wall([sys.executable, "-c", "pass"]) for _ in range(5))
    helptime = statistics.median(wall([MALSORI, "--help"]) for _ in range(5))
    print(f"python start-up        {python:.3f} s")
    print(f"malsori --help         {helptime:.3f} s   (target <= 0.5 s)")
    require_data()
    import soundfile as sf

    rows = sorted(utterances("speech/en/"), key=lambda r: abs(sf.info(r["file"]).duration - 10.0))
    f = rows[0]["file"]
    with tempfile.TemporaryDirectory() as tmp:
        cold = wall([MALSORI, "translate", f, "--task", "s2st", "--tgt", "spa", "-o", f"{tmp}/o.wav", "-q"])
        cold_src = wall([MALSORI, "translate", f, "--task", "s2st", "--src", "eng", "--tgt", "spa", "-o",
                         f"{tmp}/o2.wav", "-q"])
    print(f"first s2st of a {sf.info(f).duration:.1f} s file, cold process, language detected: {cold:.2f} s"
          f"   with --src eng: {cold_src:.2f} s   (target <= 8 s)")


if __name__ == "__main__":
    main()
