"""Intelligibility of Korean speech from eSpeak NG with and without malsori's front-end.

The written script of each Korean dev utterance is spoken by eSpeak NG three ways: as written,
after normalisation (numbers, symbols read out), and after normalisation and G2P (eSpeak reads
the pronunciation spelled in Hangul). Whisper base and Vosk's small Korean model transcribe each
back; CER is against the spoken-form transcript.

    python benchmarks/ko_speak_bench.py [--limit 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data, utterances  # noqa: E402

from malsori.engines.asr.vosk import VoskRecognizer  # noqa: E402
from malsori.engines.asr.whisper import WhisperRecognizer  # noqa: E402
from malsori.engines.tts.espeak import EspeakSynthesizer  # noqa: E402
from malsori.eval.metrics import cer  # noqa: E402
from malsori.text.ko.g2p import g2p  # noqa: E402
from malsori.text.ko.normalize import normalize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    data = require_data()
    import csv

    with open(data / "speech" / "ko" / "emotiontts" / "emotions.tsv", newline="", encoding="utf-8") as fh:
        scripts = {r["path"]: r["script"] for r in csv.DictReader(fh, delimiter="\t")}
    rows = [r for r in utterances("speech/ko/") if r["path"] in scripts]
    # Distinct scripts only (the emotional speakers read the same sentences in four emotions).
    seen, chosen = set(), []
    for r in rows:
        if scripts[r["path"]] not in seen:
            seen.add(scripts[r["path"]])
            chosen.append(r)
    chosen = chosen[:args.limit]
    tts = EspeakSynthesizer()
    recognizers = {"whisper-base": WhisperRecognizer("whisper-base"), "vosk-ko": VoskRecognizer("vosk-ko")}
    variants = {"as written": lambda t: t, "normalised": normalize, "normalised + G2P": g2p}
    hyps = {(asr, name): [] for asr in recognizers for name in variants}
    refs = [r["text"] for r in chosen]
    with_numbers = [i for i, r in enumerate(chosen) if any(ch.isdigit() for ch in scripts[r["path"]])]
    for r in chosen:
        for name, front in variants.items():
            speech = tts.synthesize(front(scripts[r["path"]]), "kor").resample(16000)
            for asr_name, asr in recognizers.items():
                hyps[asr_name, name].append(asr.transcribe(speech, language="kor").text)
    print(f"{len(chosen)} sentences ({len(with_numbers)} with digits), eSpeak NG Korean")
    for (asr_name, name), hyp in hyps.items():
        subset = cer([refs[i] for i in with_numbers], [hyp[i] for i in with_numbers]) if with_numbers else float("nan")
        print(f"  {asr_name:12} {name:18} CER {cer(refs, hyp):.1%}   (sentences with digits: {subset:.1%})")


if __name__ == "__main__":
    main()
