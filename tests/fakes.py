"""Small deterministic engines for pipeline tests: they obey the protocols and do simple, checkable
things (upper-casing as "translation", tones as "speech") so the pipeline logic is what is tested."""

from __future__ import annotations

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError
from malsori.protocols import Segment, SpeechRegion, Transcript


class ToneVAD:
    """Speech wherever the signal is louder than a threshold, in 10 ms frames."""

    name = "tone-vad"

    def regions(self, audio: Audio):
        x = audio.to_mono().samples
        hop = audio.sample_rate // 100
        loud = [np.abs(x[i:i + hop]).max() > 0.05 for i in range(0, len(x), hop)]
        regions, start = [], None
        for i, flag in enumerate(loud + [False]):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                regions.append(SpeechRegion(start / 100, i / 100))
                start = None
        return regions


class CountingRecognizer:
    """Transcribes each window as 'word<N>' where N counts calls; can fail on chosen calls."""

    name = "counting-asr"

    def __init__(self, langs=("eng",), fail_on=(), targets=()):
        self.langs, self.fail_on, self.targets, self.calls = set(langs), set(fail_on), set(targets), 0

    def languages(self):
        return self.langs

    def translation_targets(self):
        return self.targets

    def transcribe(self, audio, language=None, translate_to=None):
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"decoder crashed on call {self.calls}")
        text = f"word{self.calls}" if not translate_to else f"{translate_to}:word{self.calls}"
        return Transcript(language or "eng", [Segment(0.0, audio.duration, text)],
                          task="translate" if translate_to else "transcribe")

    def detect_language(self, audio):
        return next(iter(self.langs)), 0.9


class UpperTranslator:
    name = "upper-mt"

    def __init__(self, pairs=(("eng", "spa"),)):
        self.pairs = set(pairs)

    def supports(self, src, tgt):
        return (src, tgt) in self.pairs

    def translate(self, texts, src, tgt):
        if (src, tgt) not in self.pairs:
            raise LanguageError(f"no {src}-{tgt}")
        return [f"{t.upper()}@{tgt}" for t in texts]


class BeepSynthesizer:
    """0.1 s of tone per character, at 8 kHz."""

    name = "beep-tts"

    def __init__(self, langs=("spa", "eng")):
        self.langs = set(langs)

    def voice_languages(self):
        return self.langs

    def synthesize(self, text, language, voice=None):
        n = int(0.02 * 8000 * len(text))
        return Audio(0.2 * np.sin(np.arange(n) * 0.3).astype(np.float32), 8000)


def bursts(spans, total=6.0, rate=16000):
    """Audio with tone bursts at the given (start, end) seconds and silence elsewhere."""
    x = np.zeros(int(total * rate), np.float32)
    t = np.arange(len(x)) / rate
    for a, b in spans:
        mask = (t >= a) & (t < b)
        x[mask] = 0.3 * np.sin(2 * np.pi * 220 * t[mask])
    return Audio(x, rate)


def heard_back(tts, sentences, language, voice=None) -> list[str]:
    """What Whisper base hears when ``tts`` speaks each sentence (round-trip intelligibility)."""
    from malsori.engines.asr.whisper import WhisperRecognizer

    recognizer = WhisperRecognizer("whisper-base")
    return [recognizer.transcribe(tts.synthesize(s, language, voice=voice).resample(16000), language=language).text
            for s in sentences]
