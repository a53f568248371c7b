"""Vosk (Kaldi) recognition: the embedded small Korean model, usable for any Vosk model directory."""

from __future__ import annotations

import json
import os

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError, ModelError
from malsori.models import get_card, resolve
from malsori.protocols import Segment, Transcript, Word

SAMPLE_RATE = 16_000


class VoskRecognizer:
    """Recognizer protocol over a Vosk model (offline use; streaming feeds ``recognizer()`` itself)."""

    def __init__(self, model_id: str = "vosk-ko", model_dir: str | os.PathLike | None = None,
                 language: str = "kor"):
        self.model_id = model_id
        self.name = model_id
        self._model_dir = model_dir
        card = get_card(model_id)
        self._languages = set(card.languages or {language})
        self._model = None

    def languages(self) -> set[str]:
        return self._languages

    def translation_targets(self) -> set[str]:
        return set()

    @property
    def model(self):
        if self._model is None:
            try:
                import vosk
            except ImportError:
                raise ModelError("vosk is not installed: pip install vosk==0.3.45") from None
            vosk.SetLogLevel(-1)
            path = resolve(self.model_id, self._model_dir)
            try:
                self._model = vosk.Model(str(path))
            except Exception:
                raise ModelError(f"{self.model_id}: cannot load Vosk model from {path}") from None
        return self._model

    def open_stream(self, language: str | None = None) -> "VoskStream":
        """An incremental decoder for one utterance of 16 kHz audio."""
        return VoskStream(self.recognizer())

    def recognizer(self):
        import vosk

        rec = vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        rec.SetWords(True)
        return rec

    @staticmethod
    def _segment(result: dict, offset: float = 0.0) -> Segment | None:
        text = result.get("text", "").strip()
        if not text:
            return None
        words = [Word(w["start"] + offset, w["end"] + offset, w["word"], w.get("conf"))
                 for w in result.get("result", [])]
        start = words[0].start if words else offset
        end = words[-1].end if words else offset
        conf = float(np.mean([w.probability for w in words])) if words else None
        return Segment(start, end, text, words, conf)

    def transcribe(self, audio: Audio, language: str | None = None, translate_to: str | None = None) -> Transcript:
        if translate_to is not None and translate_to not in self._languages:
            raise LanguageError(f"{self.model_id} only transcribes; it cannot translate speech")
        if language is not None and language not in self._languages:
            raise LanguageError(f"{self.model_id} recognises only {', '.join(sorted(self._languages))}")
        pcm = (np.clip(audio.to_mono().resample(SAMPLE_RATE).samples, -1, 1) * 32767).astype("<i2").tobytes()
        rec = self.recognizer()
        segments = []
        # Whole windows at once, as the bare API is used: feeding small blocks lets Vosk's endpointer
        # split sentences, which cost 0.2 points of CER on the Korean dev set.
        block = int(30 * SAMPLE_RATE) * 2
        for i in range(0, len(pcm), block):
            if rec.AcceptWaveform(pcm[i:i + block]):
                seg = self._segment(json.loads(rec.Result()))
                if seg:
                    segments.append(seg)
        seg = self._segment(json.loads(rec.FinalResult()))
        if seg:
            segments.append(seg)
        return Transcript(next(iter(self._languages)), segments, None, "transcribe")

    def detect_language(self, audio: Audio) -> tuple[str, float]:
        return next(iter(self._languages)), 1.0


class VoskStream:
    """Vosk's own incremental decoding for one utterance: audio goes in once, hypotheses come out
    at no extra cost (the streaming pipeline uses this instead of re-decoding a buffer)."""

    def __init__(self, recognizer):
        self._rec = recognizer
        self._done: list[str] = []  # words of sub-utterances Vosk's endpointer already closed

    def accept(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        if self._rec.AcceptWaveform(pcm):
            self._done += json.loads(self._rec.Result()).get("text", "").split()

    def hypothesis(self) -> list[str]:
        return self._done + json.loads(self._rec.PartialResult()).get("partial", "").split()

    def final(self) -> list[str]:
        return self._done + json.loads(self._rec.FinalResult()).get("text", "").split()
