"""ASR accuracy and speed: malsori's pipeline (VAD windows) against the same model called bare.

    python benchmarks/asr_bench.py            # English tiny.en + Korean whisper-base and Vosk
    python benchmarks/asr_bench.py english    # one part only

Prints WER/CER (Whisper normalisation; Korean digits read as Sino-Korean numerals before CER)
and real-time factors, each beside the bare engine's figure on the same files.
"""

from __future__ import annotations

import json
import sys
import time

from common import require_data, utterances

from malsori.audio import load_audio
from malsori.eval.metrics import error_rate


def bare_whisper(model_id: str, rows, language: str | None):
    from faster_whisper import WhisperModel

    from malsori.models import resolve

    model = WhisperModel(str(resolve(model_id)), device="cpu", compute_type="int8")
    hyps, compute = [], 0.0
    for r in rows:
        t0 = time.perf_counter()
        segments, _ = model.transcribe(r["file"], language=language)  # defaults: beam 5, no VAD
        hyps.append(" ".join(s.text.strip() for s in segments))
        compute += time.perf_counter() - t0
    return hyps, compute


def bare_vosk(rows):
    import numpy as np
    import vosk

    from malsori.models import resolve

    vosk.SetLogLevel(-1)
    model = vosk.Model(str(resolve("vosk-ko")))
    hyps, compute = [], 0.0
    for r in rows:
        audio = load_audio(r["file"], sample_rate=16000)
        t0 = time.perf_counter()
        rec = vosk.KaldiRecognizer(model, 16000)
        rec.AcceptWaveform((np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes())
        hyps.append(json.loads(rec.FinalResult())["text"])
        compute += time.perf_counter() - t0
    return hyps, compute


def ours(recognizer, rows, lang: str):
    from malsori import Translator

    translator = Translator([recognizer])
    hyps, compute = [], 0.0
    for r in rows:
        audio = load_audio(r["file"])
        t0 = time.perf_counter()
        hyps.append(translator.predict(audio, task="asr", tgt_lang=lang, src_lang=lang).text)
        compute += time.perf_counter() - t0
    return hyps, compute


def report(name, rows, lang, bare, mine):
    refs = [r["text"] for r in rows]
    seconds = sum(load_audio(r["file"]).duration for r in rows)
    unit = "CER" if lang == "kor" else "WER"
    b, m = error_rate(refs, bare[0], lang), error_rate(refs, mine[0], lang)
    print(f"{name:34} n={len(rows):3}  {unit} bare {100*b:5.1f}%  malsori {100*m:5.1f}%   "
          f"RTF bare {bare[1]/seconds:.3f}  malsori {mine[1]/seconds:.3f}")
    return m, b


def english():
    from malsori.engines.asr.whisper import WhisperRecognizer

    rec = WhisperRecognizer("whisper-tiny.en")
    for subset in ("speech/en/pocketsphinx/librivox", "speech/en/librispeech", "speech/en/ljspeech",
                   "speech/en/fleurs", "speech/en/speechbrain"):
        rows = utterances(subset)
        if rows:
            report(f"tiny.en {subset.split('/', 2)[2]}", rows, "eng", bare_whisper("whisper-tiny.en", rows, None),
                   ours(rec, rows, "eng"))


def korean(limit: int = 0):
    from malsori.engines.asr.vosk import VoskRecognizer
    from malsori.engines.asr.whisper import WhisperRecognizer

    rows = utterances("speech/ko/")[: limit or None]
    report("whisper-base ko/emotiontts", rows, "kor", bare_whisper("whisper-base", rows, "ko"),
           ours(WhisperRecognizer("whisper-base"), rows, "kor"))
    report("vosk-ko ko/emotiontts", rows, "kor", bare_vosk(rows), ours(VoskRecognizer(), rows, "kor"))


if __name__ == "__main__":
    require_data()
    parts = sys.argv[1:] or ["english", "korean"]
    if "english" in parts:
        english()
    if "korean" in parts:
        korean()
