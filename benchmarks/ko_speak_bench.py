"""Intelligibility of Korean speech with and without malsori's front-end.

The written script of each distinct Korean dev utterance is spoken
- by eSpeak NG three ways: as written (eSpeak's own Korean rules), after normalisation (numbers,
  symbols, English and Hanja read out), and after normalisation and G2P (eSpeak reads the
  pronunciation respelled in Hangul, so assimilation, tensing and linking are ours);
- by MBROLA hn1 (when installed: scripts/install_korean_voice.sh) two ways: the syllables as
  spelled, and through the whole front-end (normalisation, G2P, allophones, our intonation).
Whisper base and Vosk's small Korean model transcribe each back; CER is against the spoken-form
transcript. ``--set numbers`` speaks the written side of the normalisation pairs instead (news
sentences full of numbers, dates, percentages and units), where the front-end has most to do.

Whisper decodes greedily at temperature 0 only (its default falls back to sampling on unclear
audio, which made repeated runs differ by several points), without conditioning on earlier text.
On audio it cannot read it sometimes loops, which puts corpus CER far above 100%: the per-sentence
CER capped at 100% and averaged is printed beside it as the robust figure.

    python benchmarks/ko_speak_bench.py [--limit 40] [--recognizers whisper-base,vosk-ko] [--set numbers]
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



def systems() -> dict[str, object]:
    """name -> function from written text to 16 kHz speech."""
    espeak = EspeakSynthesizer()
    out = {
        "eSpeak NG, as written": lambda t: espeak.synthesize(t, "kor"),
        "eSpeak NG, normalised": lambda t: espeak.synthesize(normalize(t), "kor"),
        "eSpeak NG, normalised + G2P": lambda t: espeak.synthesize(g2p(t), "kor"),
    }
    from malsori.models.catalog import is_available

    if is_available("mbrola-hn1"):
        from malsori.engines.tts.mbrola import MbrolaKoreanSynthesizer

        spelled, full = MbrolaKoreanSynthesizer(front_end=False), MbrolaKoreanSynthesizer()
        out["MBROLA hn1, as spelled"] = lambda t: spelled.synthesize(t, "kor")
        out["MBROLA hn1, front-end"] = lambda t: full.synthesize(t, "kor")
    else:
        print("MBROLA hn1 is not installed (scripts/install_korean_voice.sh): eSpeak NG only")
    return out


def whisper_listener():
    from malsori.engines.asr.whisper import WhisperRecognizer

    model = WhisperRecognizer("whisper-base").model

    def listen(audio) -> str:
        segments, _ = model.transcribe(audio.to_mono().samples, language="ko", beam_size=5, temperature=0.0,
                                       condition_on_previous_text=False, vad_filter=False,
                                       max_new_tokens=96)  # a looping decode stops early
        return " ".join(s.text.strip() for s in segments)
    return listen


def vosk_listener():
    from malsori.engines.asr.vosk import VoskRecognizer

    recognizer = VoskRecognizer("vosk-ko")
    return lambda audio: recognizer.transcribe(audio, language="kor").text


LISTENERS = {"whisper-base": whisper_listener, "vosk-ko": vosk_listener}


def distinct_scripts(data: Path, limit: int, which: str = "emotiontts") -> list[dict]:
    """Rows with the text to speak ("script") and the spoken-form reference ("text")."""
    if which == "numbers":
        path, script, text = data / "text" / "ko_normalization_pairs.tsv", "script_written_form", "transcript_spoken_form"
    else:
        path, script, text = data / "speech" / "ko" / "emotiontts" / "emotions.tsv", "script", "text"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [{"script": r[script], "text": r[text]} for r in csv.DictReader(fh, delimiter="\t")]
    seen, chosen = set(), []
    for r in rows:  # several speakers read the same sentences
        if r["script"] not in seen:
            seen.add(r["script"])
            chosen.append(r)
    return chosen[:limit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--recognizers", default="whisper-base,vosk-ko")
    parser.add_argument("--set", default="emotiontts", choices=["emotiontts", "numbers"])
    args = parser.parse_args()
    chosen = distinct_scripts(require_data(), args.limit, args.set)
    refs = [r["text"] for r in chosen]
    speech = {name: [speak(r["script"]).resample(16000) for r in chosen] for name, speak in systems().items()}
    with_digits = [i for i, r in enumerate(chosen) if any(ch.isdigit() for ch in r["script"])]
    print(f"{len(chosen)} distinct sentences ({len(with_digits)} with digits)")
    print(f"  {'recogniser':12} {'speech':30} {'CER':>7} {'capped mean':>12}")
    for asr_name in args.recognizers.split(","):
        listen = LISTENERS[asr_name]()
        for name, audio in speech.items():
            hyps = [listen(a) for a in audio]
            capped = np.mean([min(1.0, cer([r], [h])) for r, h in zip(refs, hyps)])
            print(f"  {asr_name:12} {name:30} {cer(refs, hyps):7.1%} {capped:12.1%}", flush=True)


if __name__ == "__main__":
    main()
