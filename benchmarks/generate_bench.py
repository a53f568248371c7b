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
    python benchmarks/generate_bench.py --real-sizes --duration 2   # the real architectures, random weights
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


# Published configurations (the models' config.json files), built with random weights: speed and
# memory do not depend on the weights' values, so these time the real architectures on this CPU.
REAL_SIZES = {
    "musicgen-small": {"decoder": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096),
                       "t5": dict(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12), "rate": 32000,
                       "ratios": [8, 5, 4, 4], "filters": 64},
    "audiogen-medium": {"decoder": dict(hidden_size=1536, num_hidden_layers=48, num_attention_heads=24, ffn_dim=6144),
                        "t5": dict(d_model=1024, d_kv=64, d_ff=4096, num_layers=24, num_heads=16), "rate": 16000,
                        "ratios": [8, 5, 4, 2], "filters": 64},
}


def real_size_musicgen(name: str, seconds: float, dtype: str) -> dict:
    import torch
    from transformers import (EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration,
                              T5Config)

    spec = REAL_SIZES[name]
    audio = EncodecConfig(sampling_rate=spec["rate"], num_filters=spec["filters"], upsampling_ratios=spec["ratios"],
                          codebook_size=2048, target_bandwidths=[2.2], num_lstm_layers=2, hidden_size=128,
                          use_conv_shortcut=False, pad_mode="constant")
    decoder = MusicgenDecoderConfig(vocab_size=2048, num_codebooks=4, max_position_embeddings=2048, **spec["decoder"])
    config = MusicgenConfig(text_encoder=T5Config(vocab_size=32128, **spec["t5"]).to_dict(), audio_encoder=audio.to_dict(),
                            decoder=decoder.to_dict())
    model = MusicgenForConditionalGeneration(config).eval().to(getattr(torch, dtype))
    params = sum(p.numel() for p in model.parameters()) / 1e9
    inputs = {"input_ids": torch.randint(0, 32000, (1, 12)), "attention_mask": torch.ones(1, 12, dtype=torch.long)}
    frame_rate = spec["rate"] / float(np.prod(spec["ratios"]))
    steps = int(seconds * frame_rate) + 3
    with torch.inference_mode():
        model.generate(**inputs, do_sample=True, guidance_scale=3.0, max_new_tokens=8)  # warm-up
        t0 = time.perf_counter()
        model.generate(**inputs, do_sample=True, guidance_scale=3.0, max_new_tokens=steps)
        took = time.perf_counter() - t0
    return {"model": name, "dtype": dtype, "params_b": params, "seconds": seconds, "took": took,
            "per_10s": took * 10 / seconds, "rss_mb": peak_rss_mb()}


def real_size_stable_audio(steps: int, dtype: str) -> dict:
    """Stable Audio Open 1.0's DiT and Oobleck autoencoder (their classes' defaults are its
    configuration), timed per denoising step over its whole 47 s window, and the decode."""
    import torch
    from diffusers import AutoencoderOobleck, StableAudioDiTModel

    kind = getattr(torch, dtype)
    dit = StableAudioDiTModel().eval().to(kind)
    vae = AutoencoderOobleck().eval().to(kind)
    params = (sum(p.numel() for p in dit.parameters()) + sum(p.numel() for p in vae.parameters())) / 1e9
    latents = torch.randn(2, 64, 1024, dtype=kind)  # classifier-free guidance: two rows
    text = torch.randn(2, 130, 768, dtype=kind)
    glob = torch.randn(2, 1, 1536, dtype=kind)
    with torch.inference_mode():
        dit(latents, torch.tensor([0.5]), encoder_hidden_states=text, global_hidden_states=glob)
        t0 = time.perf_counter()
        for _ in range(steps):
            dit(latents, torch.tensor([0.5]), encoder_hidden_states=text, global_hidden_states=glob)
        per_step = (time.perf_counter() - t0) / steps
        t0 = time.perf_counter()
        vae.decode(latents[:1]).sample
        decode = time.perf_counter() - t0
    return {"model": "stable-audio-open", "dtype": dtype, "params_b": params, "per_step": per_step, "decode": decode,
            "rss_mb": peak_rss_mb()}


def real_sizes(args) -> None:
    """Each configuration in its own process, so its peak memory is its own."""
    import json
    import subprocess

    print("random weights in the published configurations: speed and memory only, no sound")
    print(f"{'model':18} {'dtype':9} {'params':>7} {'time per 10 s of audio':>36} {'peak RSS':>9}")
    for name in ("musicgen-small", "audiogen-medium", "stable-audio-open"):
        for dtype in ("float32", "bfloat16"):
            proc = subprocess.run([sys.executable, __file__, "--one-real-size", name, "--dtype", dtype,
                                   "--duration", str(args.duration)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name:18} {dtype:9} failed: {proc.stderr.strip().splitlines()[-1][:100]}")
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            if name == "stable-audio-open":
                timing = (f"{row['per_step']:.1f} s a step: {(100 * row['per_step'] + row['decode']) / 60:.0f} min "
                          f"at 100, {(25 * row['per_step'] + row['decode']) / 60:.1f} at 25")
            else:
                timing = f"{row['per_10s'] / 60:.1f} min ({row['took']:.0f} s for {row['seconds']:g} s)"
            print(f"{name:18} {dtype:9} {row['params_b']:6.2f}B {timing:>36} {row['rss_mb'] / 1024:7.1f} GB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model-dir", type=Path, help="a real model folder instead of the tiny ones")
    parser.add_argument("--real-sizes", action="store_true",
                        help="time random-weight models of the published sizes (MusicGen small, AudioGen medium, "
                             "Stable Audio Open) in float32 and bfloat16")
    parser.add_argument("--one-real-size", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.real_sizes:
        return real_sizes(args)
    if args.one_real_size:
        import json

        import torch

        torch.manual_seed(0)
        row = real_size_stable_audio(2, args.dtype) if args.one_real_size == "stable-audio-open" else \
            real_size_musicgen(args.one_real_size, args.duration, args.dtype)
        print(json.dumps(row))
        return
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
