"""Text to audio: malsori's overhead over calling each library bare, in the same process.

For each family (MusicGen through transformers, Stable Audio Open and AudioLDM 2 through
diffusers) the same prompt, seed, length and steps go once through the bare library call and once
through ``TextToAudio.generate`` (prompt checks, seeding, progress hook, trimming), interleaved
``--repeats`` times; the best time of each is kept and their ratio printed (target: at most
1.05). Writing the file and its sidecar is timed apart.

With no ``--model-dir``, tiny random models are built (the tests' builders): that measures the
overhead where it is largest relative to the work. ``--model-dir DIR --family F`` times a real
model instead, with its peak memory.

    python benchmarks/generate_bench.py [--repeats 5] [--duration 2] [--steps 8]
    python benchmarks/generate_bench.py --model-dir ~/models/musicgen-small --duration 10 --repeats 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mb  # noqa: E402

PROMPT = "a man speaks while typing on a keyboard"


def bare_call(generator, prompt: str, duration: float, seed: int, steps: int):
    """What a user would write against the library directly: the same model object, no malsori."""
    import torch

    if generator.family == "musicgen":
        model, processor = generator._load()
        torch.manual_seed(seed)
        inputs = processor(text=[prompt], padding=True, return_tensors="pt")
        frames = int(np.ceil(duration * generator.frame_rate)) + generator.num_codebooks - 1
        with torch.inference_mode():
            return model.generate(**inputs, do_sample=True, max_new_tokens=frames)[0].numpy()
    pipe = generator._load()
    length = {"audio_end_in_s": duration} if generator.family == "stable-audio-open" else {"audio_length_in_s": duration}
    with torch.inference_mode():
        return pipe(prompt, num_inference_steps=steps, generator=torch.Generator().manual_seed(seed),
                    output_type="np", **length).audios[0]


def measure(folder: Path, duration: float, steps: int, repeats: int) -> dict:
    from malsori.pipelines.generate import TextToAudio, write_generated

    pipeline = TextToAudio(folder)
    generator = pipeline.generator
    steps_used = None if generator.family == "musicgen" else steps
    ticks = []
    list(pipeline.generate(PROMPT, duration, seed=0, steps=steps_used))  # loads the model
    bare_call(generator, PROMPT, duration, 0, steps)
    best = {"bare": np.inf, "malsori": np.inf}
    for k in range(repeats):
        t0 = time.perf_counter()
        bare_call(generator, PROMPT, duration, k, steps)
        best["bare"] = min(best["bare"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        [result] = pipeline.generate(PROMPT, duration, seed=k, steps=steps_used,
                                     hook=lambda what, done, total: ticks.append(done))
        best["malsori"] = min(best["malsori"], time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_generated(result, Path(tmp) / "out.wav")
        write_s = time.perf_counter() - t0
    return {"family": generator.family, **best, "write": write_s, "rate": result.audio.sample_rate,
            "ratio": best["malsori"] / best["bare"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model-dir", type=Path, help="a real model folder instead of the tiny ones")
    args = parser.parse_args()
    if args.model_dir is not None:
        folders = [args.model_dir]
    else:
        from tiny_models import build_tiny_audioldm2, build_tiny_musicgen, build_tiny_stable_audio

        tmp = Path(tempfile.mkdtemp(prefix="malsori-generate-bench-"))
        folders = [build(tmp / name) for name, build in (("musicgen", build_tiny_musicgen),
                                                          ("stable-audio-open", build_tiny_stable_audio),
                                                          ("audioldm2", build_tiny_audioldm2))]
    print(f"{args.duration:g} s of audio, {args.steps} steps (diffusion), best of {args.repeats}; "
          f"{'real model' if args.model_dir else 'tiny random models'}")
    print(f"{'family':18} {'bare':>8} {'malsori':>8} {'ratio':>6} {'write':>7}")
    for folder in folders:
        row = measure(folder, args.duration, args.steps, args.repeats)
        print(f"{row['family']:18} {row['bare']:7.3f}s {row['malsori']:7.3f}s {row['ratio']:6.3f} {row['write']:6.3f}s"
              f"   ({row['rate']} Hz; {row['malsori'] / args.duration:.2f} s per second of audio)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
