"""Intelligibility of Korean speech from eSpeak NG with and without malsori's front-end.

The written script of each distinct Korean dev utterance is spoken by eSpeak NG three ways: as
written (eSpeak's own Korean rules), after normalisation (numbers, symbols, English and Hanja
read out), and after normalisation and G2P (eSpeak reads the pronunciation respelled in Hangul,
so assimilation, tensing and linking are ours). Whisper base and Vosk's small Korean model
transcribe each back; CER is against the spoken-form transcript.

Whisper decodes greedily at temperature 0 only (its default falls back to sampling on unclear
audio, which made repeated runs differ by several points), without conditioning on earlier text.
On audio it cannot read it sometimes loops, which puts corpus CER far above 100%: the per-sentence
CER capped at 100% and averaged is printed beside it as the robust figure.

    python benchmarks/ko_speak_bench.py [--limit 40] [--recognizers whisper-base,vosk-ko]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data  # noqa: E402

from malsori.engines.tts.espeak import EspeakSynthesizer  # noqa: E402
from malsori.eval.metrics import cer  # noqa: E402
from malsori.text.ko.g2p import g2p  # noqa: E402
from malsori.text.ko.normalize import normalize  # noqa: E402

VARIANTS = {"as written": lambda t: t, "normalised": normalize, "normalised + G2P": g2p}


def whisper_listener():
    from malsori.engines.asr.whisper import WhisperRecognizer

    model = WhisperRecognizer("whisper-base").model

    def listen(audio) -> str:
        segments, _ = model.transcribe(audio.to_mono().samples, language="ko", beam_size=5, temperature=0.0,
                                       condition_on_previous_text=False, vad_filter=False)
        return " ".join(s.text.strip() for s in segments)
    return listen


def vosk_listener():
    from malsori.engines.asr.vosk import VoskRecognizer

    recognizer = VoskRecognizer("vosk-ko")
    return lambda audio: recognizer.transcribe(audio, language="kor").text


LISTENERS = {"whisper-base": whisper_listener, "vosk-ko": vosk_listener}


def distinct_scripts(data: Path, limit: int) -> list[dict]:
    with open(data / "speech" / "ko" / "emotiontts" / "emotions.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    seen, chosen = set(), []
    for r in rows:  # the emotional speakers read the same sentences in four emotions
        if r["script"] not in seen:
            seen.add(r["script"])
            chosen.append(r)
    return chosen[:limit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--recognizers", default="whisper-base,vosk-ko")
    args = parser.parse_args()
    chosen = distinct_scripts(require_data(), args.limit)
    refs = [r["text"] for r in chosen]
    tts = EspeakSynthesizer()
    speech = {name: [tts.synthesize(front(r["script"]), "kor").resample(16000) for r in chosen]
              for name, front in VARIANTS.items()}
    with_digits = [i for i, r in enumerate(chosen) if any(ch.isdigit() for ch in r["script"])]
    print(f"{len(chosen)} distinct sentences ({len(with_digits)} with digits), eSpeak NG Korean")
    print(f"  {'recogniser':12} {'front-end':18} {'CER':>7} {'capped mean':>12}")
    for asr_name in args.recognizers.split(","):
        listen = LISTENERS[asr_name]()
        for name in VARIANTS:
            hyps = [listen(audio) for audio in speech[name]]
            capped = np.mean([min(1.0, cer([r], [h])) for r, h in zip(refs, hyps)])
            print(f"  {asr_name:12} {name:18} {cer(refs, hyps):7.1%} {capped:12.1%}", flush=True)


if __name__ == "__main__":
    main()
