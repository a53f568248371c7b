"""Long input: a recording of N minutes (dev utterances joined with pauses) through
`malsori translate --task s2st`, in a child process. Prints RTF, peak RSS and windows; then
interrupts a second run half way (SIGINT) and resumes it, to show finished windows are kept.

    python benchmarks/long_bench.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import require_data, utterances

MALSORI = str(Path(sys.executable).with_name("malsori"))


def build(minutes: float, path: Path) -> float:
    import soundfile as sf

    from malsori.audio import load_audio

    rng = np.random.default_rng(0)
    clips = [load_audio(r["file"], sample_rate=16000).samples for r in utterances("speech/en/")
             if "fsdd" not in r["path"]]
    parts, total, i = [], 0.0, 0
    while total < minutes * 60:
        clip = clips[i % len(clips)]
        pause = np.zeros(int(rng.uniform(0.4, 1.6) * 16000), np.float32)
        parts += [clip, pause]
        total += (len(clip) + len(pause)) / 16000
        i += 1
    sf.write(path, np.concatenate(parts), 16000)
    return total


def build_samples(minutes: float) -> np.ndarray:
    """``build``'s speech as 16 kHz samples in memory."""
    from malsori.audio import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        build(minutes, path)
        return load_audio(path, 16000).samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    require_data()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "long.wav", Path(tmp) / "long_es.wav"
        seconds = build(args.minutes, src)
        cmd = [MALSORI, "translate", str(src), "--task", "s2st", "--src", "eng", "--tgt", "spa", "-o", str(out), "-q"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        sidecar = json.loads(out.with_suffix(".json").read_text())
        print(f"{seconds / 60:.1f} min input: wall {wall:.1f} s, RTF {wall / seconds:.3f} (incl. start-up), "
              f"peak RSS {rss:.0f} MB, {len(sidecar['segments'])} segments, output {sidecar['audio_duration']:.0f} s")
        out.unlink()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        time.sleep(wall / 2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
        print(f"interrupted after {wall / 2:.0f} s: exit {proc.returncode}: {err.strip()}")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"resumed run finished in {time.perf_counter() - t0:.1f} s (a full run took {wall:.1f} s)")


if __name__ == "__main__":
    main()
