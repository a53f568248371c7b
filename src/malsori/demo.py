"""`make demo`: English speech made by the bundled voice, translated into Spanish speech."""

from __future__ import annotations

import time
from pathlib import Path

from malsori.audio import save_audio

DEMO_SENTENCE = "Good morning. I would like to buy two tickets to the museum, please."


def run_demo(output: Path) -> None:
    from malsori.engines.tts.piper import PiperSynthesizer
    from malsori.pipelines.job import run_job
    from malsori.pipelines.translate import Translator

    output.parent.mkdir(parents=True, exist_ok=True)
    source = output.with_name("demo_en.wav")
    if not source.exists():
        print(f"recording the demo input with the bundled English voice: {source}")
        save_audio(source, PiperSynthesizer().synthesize(DEMO_SENTENCE, "eng"))
    t0 = time.perf_counter()
    job = run_job(Translator(), str(source), "s2st", "spa", None, str(output), resume=False)
    result = job.result
    print(f"input:       {source}  ({result.src_lang}, detected)")
    print(f"transcript:  {result.source_text}")
    print(f"translation: {result.text}")
    print(f"output:      {job.audio_path}  (+ {job.sidecar_path})")
    print(f"time:        {time.perf_counter() - t0:.1f} s, route: {result.route}")
