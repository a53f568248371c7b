"""S2ST English -> Spanish: malsori's pipeline against the same engines chained by hand.

    python benchmarks/s2st_bench.py [--subset speech/en/fleurs] [--subset speech/en/librispeech]

Each variant runs in its own process (cold start and peak memory are its own) and writes its
Spanish speech; Whisper base then re-transcribes every output (language es) and the round-trip
chrF compares that with the variant's own translation text. Prints RTF, peak RSS and chrF for
both, and malsori's overhead relative to the bare chain.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import peak_rss_mb, require_data, run_variant, utterances


def bare_chain(files: list[str], outdir: Path) -> dict:
    """tiny.en (defaults) -> apertium eng-spa -> espeak-ng default Spanish voice, by hand."""
    import soundfile as sf
    from faster_whisper import WhisperModel

    from malsori.models import resolve

    t_load = time.perf_counter()
    model = WhisperModel(str(resolve("whisper-tiny.en")), device="cpu", compute_type="int8")
    load = time.perf_counter() - t_load
    texts, compute, seconds = [], 0.0, 0.0
    for i, f in enumerate(files):
        seconds += sf.info(f).duration
        t0 = time.perf_counter()
        segments, _ = model.transcribe(f)
        english = " ".join(s.text.strip() for s in segments)
        spanish = subprocess.run(["apertium", "-u", "eng-spa"], input=english, capture_output=True,
                                 text=True).stdout.strip()
        wav = subprocess.run(["espeak-ng", "-v", "es", "--stdout", spanish], capture_output=True).stdout
        (outdir / f"{i:03d}.wav").write_bytes(wav)
        compute += time.perf_counter() - t0
        texts.append(spanish)
    return {"texts": texts, "compute_s": compute, "load_s": load, "audio_s": seconds, "peak_rss_mb": peak_rss_mb()}


def malsori_pipeline(files: list[str], outdir: Path) -> dict:
    import soundfile as sf

    from malsori import Translator, save_audio

    translator = Translator()
    texts, compute, seconds, first, stages = [], 0.0, 0.0, None, {}
    for i, f in enumerate(files):
        seconds += sf.info(f).duration
        t0 = time.perf_counter()
        result = translator.predict(f, task="s2st", tgt_lang="spa", src_lang="eng")
        save_audio(outdir / f"{i:03d}.wav", result.audio)
        elapsed = time.perf_counter() - t0
        first = elapsed if first is None else first  # includes loading the models
        compute += elapsed if i else 0.0
        texts.append(result.text)
        for stage, sec in result.timings.items():
            stages[stage] = stages.get(stage, 0.0) + (sec if i else 0.0)
    # The first file pays model loading; report steady-state RTF on the rest, like the bare chain.
    steady_seconds = seconds - sf.info(files[0]).duration
    return {"texts": texts, "compute_s": compute, "audio_s": steady_seconds, "first_file_s": first, "stages": stages,
            "peak_rss_mb": peak_rss_mb()}


def round_trip(outdir: Path, n: int, texts: list[str]) -> tuple[float, float]:
    """chrF of the re-transcription against the MT text: raw, and after Whisper's basic
    normalisation (case and punctuation, which speech cannot carry)."""
    from malsori.audio import load_audio
    from malsori.engines.asr.whisper import WhisperRecognizer
    from malsori.eval.metrics import chrf, normalize

    asr = WhisperRecognizer("whisper-base")
    heard = [asr.transcribe(load_audio(outdir / f"{i:03d}.wav"), "spa").text for i in range(n)]
    return chrf(texts, heard), chrf([normalize(t, "spa") for t in texts], [normalize(h, "spa") for h in heard])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subset", action="append")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:  # child process
        fn = {"bare": bare_chain, "malsori": malsori_pipeline}[args.variant]
        print(json.dumps(fn(json.loads(args.files), Path(args.outdir))))
        return
    require_data()
    for subset in args.subset or ["speech/en/fleurs", "speech/en/librispeech"]:
        files = [r["file"] for r in utterances(subset)]
        rows = {}
        with tempfile.TemporaryDirectory() as tmp:
            for variant in ("bare", "malsori"):
                outdir = Path(tmp) / variant
                outdir.mkdir()
                res = run_variant(__file__, "--variant", variant, "--outdir", str(outdir), "--files", json.dumps(files))
                res["rtf"] = res["compute_s"] / res["audio_s"]
                res["chrf"] = round_trip(outdir, len(files), res["texts"])
                rows[variant] = res
        b, m = rows["bare"], rows["malsori"]
        print(f"{subset} ({len(files)} files)")
        print(f"  RTF            bare {b['rtf']:.3f}   malsori {m['rtf']:.3f}   ratio {m['rtf'] / b['rtf']:.2f}")
        print(f"  peak RSS MB    bare {b['peak_rss_mb']:.0f}   malsori {m['peak_rss_mb']:.0f}")
        print(f"  round-trip chrF (whisper-base re-transcribes the Spanish speech vs the MT text)"
              f"   bare {b['chrf'][0]:.1f}   malsori {m['chrf'][0]:.1f};  normalised: bare {b['chrf'][1]:.1f}"
              f"   malsori {m['chrf'][1]:.1f}")
        print(f"  malsori first file incl. model load {m['first_file_s']:.2f} s; stage RTFs "
              + ", ".join(f"{k} {v / m['audio_s']:.3f}" for k, v in m["stages"].items()))


if __name__ == "__main__":
    main()
