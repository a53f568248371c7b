"""One protocol per task. Backends implement them; pipelines compose them.

Every engine declares which languages it handles so that the pipelines can pick a route and
refuse an unsupported request with a one-line error naming the model that would enable it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence, runtime_checkable

from malsori.audio import Audio

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass
class Segment:
    """A stretch of recognised speech; times are seconds in the input audio."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float | None = None


@dataclass
class Transcript:
    language: str  # ISO 639-3
    segments: list[Segment]
    language_probability: float | None = None
    task: str = "transcribe"  # or "translate" when the recogniser translated to English itself

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@dataclass(frozen=True)
class SpeechRegion:
    start: float
    end: float


@runtime_checkable
class Recognizer(Protocol):
    """Speech to text, optionally straight into another language (Whisper: English only)."""

    name: str

    def languages(self) -> set[str] | None:
        """ISO 639-3 codes it transcribes; None means any (the model decides)."""

    def translation_targets(self) -> set[str] | None:
        """Languages it can translate speech into directly; empty set: none, None: any."""

    def transcribe(self, audio: Audio, language: str | None = None, translate_to: str | None = None) -> Transcript:
        """Recognise ``audio`` (spoken in ``language``, detected when None). With ``translate_to``
        the segments' text is in that language instead (``Transcript.task == "translate"``)."""

    def detect_language(self, audio: Audio) -> tuple[str, float]:
        """Spoken language id: (ISO 639-3 code, probability)."""


@runtime_checkable
class TextTranslator(Protocol):
    name: str

    def supports(self, src: str, tgt: str) -> bool: ...

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """Translate a batch of texts (one output per input, same order)."""


@runtime_checkable
class Synthesizer(Protocol):
    name: str

    def voice_languages(self) -> set[str]:
        """Languages it speaks (named apart from Recognizer.languages: one engine may be both)."""

    def synthesize(self, text: str, language: str, voice: str | None = None) -> Audio:
        """Engines with ``supports_speed = True`` also take ``speed=`` (1.0 normal, 1.5 faster)."""


@dataclass(frozen=True)
class Phrase:
    """A stretch of text spoken with its own delivery (expressive synthesis)."""

    text: str
    pitch_hz: float | None = None  # median F0 wanted; None keeps the voice's own
    pitch_spread: float | None = None  # standard deviation of log F0 wanted; None keeps the voice's
    speed: float = 1.0  # relative to the voice's normal pace
    volume_db: float = 0.0  # relative to the rest of the utterance
    pause_after: float = 0.0  # seconds of silence after it


@runtime_checkable
class PhraseSynthesizer(Protocol):
    """A synthesiser that speaks a list of phrases in one go, each with its own pitch, pace and
    volume and with given pauses between them. One utterance keeps the intonation running across
    phrases, which re-pitching separately spoken phrases does not (and costs intelligibility)."""

    def synthesize_phrases(self, phrases: Sequence[Phrase], language: str, voice: str | None = None) -> Audio: ...


@runtime_checkable
class VoiceActivityDetector(Protocol):
    name: str

    def regions(self, audio: Audio) -> list[SpeechRegion]: ...


@runtime_checkable
class SpeechToSpeech(Protocol):
    """End-to-end speech translation (SeamlessM4T v2): target text segments and target speech."""

    name: str

    def speech_to_speech(self, audio: Audio, tgt: str, src: str | None = None) -> tuple[Transcript, Audio]: ...


def segments_text(segments: Iterable[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments if s.text.strip())

@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Diarization:
    """Speaker turns of one recording; turns of different speakers may overlap."""

    uri: str
    duration: float
    turns: list[SpeakerTurn] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        """Labels, the most talkative first."""
        talk: dict[str, float] = {}
        for turn in self.turns:
            talk[turn.speaker] = talk.get(turn.speaker, 0.0) + turn.duration
        return sorted(talk, key=lambda s: -talk[s])

    def of(self, speaker: str) -> list[SpeakerTurn]:
        return [t for t in self.turns if t.speaker == speaker]

    def speaker_at(self, start: float, end: float) -> str | None:
        """The speaker who talks most between ``start`` and ``end`` (None when nobody does)."""
        overlap: dict[str, float] = {}
        for turn in self.turns:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        return max(overlap, key=overlap.get) if overlap else None

    def speaker_near(self, start: float, end: float) -> str | None:
        """``speaker_at``, or, for a span in a gap between turns, whoever's turn is nearest."""
        who = self.speaker_at(start, end)
        if who is None and self.turns:
            middle = (start + end) / 2
            who = min(self.turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker
        return who

    def to_rttm(self) -> str:
        return "".join(f"SPEAKER {self.uri} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                       for t in sorted(self.turns, key=lambda t: (t.start, t.speaker)))

    def to_dict(self) -> dict:
        return {"uri": self.uri, "duration": round(self.duration, 3), "speakers": self.speakers,
                "turns": [{"start": round(t.start, 3), "end": round(t.end, 3), "speaker": t.speaker}
                          for t in sorted(self.turns, key=lambda t: (t.start, t.speaker))]}


@runtime_checkable
class SpeakerEncoder(Protocol):
    """Maps speech to a fixed-size vector; the same voice gives near vectors (cosine)."""

    name: str
    dimension: int

    def embed(self, audio: Audio) -> np.ndarray: ...
