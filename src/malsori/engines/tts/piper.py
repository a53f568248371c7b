"""Piper (VITS, ONNX) voices: the embedded English voice, or any Piper .onnx voice file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError, ModelError
from malsori.languages import normalize_language
from malsori.models import resolve

_SENTENCE_GAP_S = 0.25


class PiperSynthesizer:
    """Synthesizer protocol over a Piper voice. ``length_scale`` > 1 speaks slower."""

    supports_speed = True

    def __init__(self, model_id: str = "piper-en-joe", voice_path: str | os.PathLike | None = None,
                 language: str = "eng", length_scale: float | None = None):
        self.model_id = model_id
        self.name = model_id
        self._voice_path = voice_path
        self._language = normalize_language(language)
        self.length_scale = length_scale
        self._voice = None
        self._lock = threading.Lock()

    def voice_languages(self) -> set[str]:
        return {self._language}

    @property
    def voice(self):
        with self._lock:
            if self._voice is None:
                from piper import PiperVoice

                if self._voice_path is not None:
                    path = Path(self._voice_path)
                else:
                    path = next(resolve(self.model_id).glob("*.onnx"), None)
                if path is None or not path.is_file():
                    raise ModelError(f"{self.model_id}: no Piper .onnx voice found")
                try:
                    self._voice = PiperVoice.load(str(path))
                except Exception as exc:
                    raise ModelError(f"{self.model_id}: cannot load Piper voice {path}: {exc}") from None
            return self._voice

    @property
    def sample_rate(self) -> int:
        return int(self.voice.config.sample_rate)

    def synthesize(self, text: str, language: str = "eng", voice: str | None = None, speed: float = 1.0) -> Audio:
        if normalize_language(language) != self._language:
            raise LanguageError(f"{self.model_id} speaks only {self._language}")
        from piper import SynthesisConfig

        scale = (self.length_scale or self.voice.config.length_scale) / speed
        config = SynthesisConfig(length_scale=scale)
        gap = np.zeros(int(_SENTENCE_GAP_S * self.sample_rate), np.float32)
        pieces = []
        for chunk in self.voice.synthesize(text, syn_config=config):
            if pieces:
                pieces.append(gap)
            pieces.append(chunk.audio_float_array.astype(np.float32))
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return Audio(samples, self.sample_rate)
