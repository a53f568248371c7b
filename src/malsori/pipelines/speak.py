"""Speak a document: sentence by sentence, with pauses between sentences and longer ones between
paragraphs, written to the output as it is made (constant memory for any length of text).

Korean text goes through malsori's normaliser first (numbers by their counters, units, dates,
acronyms), which eSpeak NG cannot do. The pronunciation respelling (G2P) is not fed to eSpeak:
eSpeak applies its own spelling rules on top, and it measured worse (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from malsori.errors import LanguageError, MalsoriError, OutputError
from malsori.files import atomic_path, check_output
from malsori.languages import normalize_language
from malsori.protocols import Synthesizer
from malsori.text.segment import split_sentences

SPEECH_SUFFIXES = (".wav", ".flac")
SENTENCE_PAUSE_S = 0.35
PARAGRAPH_PAUSE_S = 0.8
MAX_MINUTES = 600.0  # a runaway input (a wrong file, a loop feeding stdin) stops here


@dataclass
class SpokenSentence:
    paragraph: int
    text: str  # as written
    spoken: str  # what the synthesizer was given
    start: float
    end: float


def paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """Paragraphs from lines of text: blank lines separate them; read lazily."""
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            yield " ".join(current)
            current = []
    if current:
        yield " ".join(current)


def front_end(language: str) -> Callable[[str], str]:
    if language == "kor":
        from malsori.text.ko.normalize import normalize

        return normalize
    return lambda text: text


@dataclass
class SpeechChunk:
    """One sentence's speech, with the silence that goes before it."""

    paragraph: int
    text: str  # as written
    spoken: str  # what the synthesizer was given
    pause_s: float
    samples: np.ndarray  # mono, within [-1, 1], at ``sample_rate`` (the first sentence's rate)
    sample_rate: int

    def with_pause(self, rate: int | None = None) -> np.ndarray:
        """The pause, then the speech, at ``rate`` (default its own)."""
        samples = np.concatenate([np.zeros(int(round(self.pause_s * self.sample_rate)), np.float32), self.samples])
        if rate is not None and rate != self.sample_rate:
            from malsori.audio import Audio

            samples = np.clip(Audio(samples, self.sample_rate).resample(rate).samples, -1.0, 1.0)
        return samples

    def pcm16(self, rate: int | None = None) -> bytes:
        """``with_pause`` as 16-bit little-endian PCM: what network protocols carry."""
        return (self.with_pause(rate) * 32767).astype("<i2").tobytes()


def iter_speech(lines: Iterable[str], language: str, synthesizer: Synthesizer | None = None,
                voice: str | None = None, speed: float = 1.0) -> Iterator[SpeechChunk]:
    """Speak ``lines`` sentence by sentence, lazily: what a file or a network stream is made of."""
    language = normalize_language(language)
    if synthesizer is None:
        synthesizer, voice = synthesizer_for(language, voice)
    options = {}
    if speed != 1.0:
        if not getattr(synthesizer, "supports_speed", False):
            raise MalsoriError(f"{synthesizer.name} cannot change its speed")
        options["speed"] = speed
    if hasattr(synthesizer, "begin_document"):
        synthesizer.begin_document()  # a voice that keeps one register across the document starts afresh
    prepare = front_end(language)
    rate = None
    for number, paragraph in enumerate(paragraphs(lines)):
        for k, sentence in enumerate(split_sentences(paragraph)):
            text = prepare(sentence)
            if not re.search(r"\w", text):
                continue  # punctuation only: nothing to say
            audio = synthesizer.synthesize(text, language, voice, **options).to_mono()
            pause = 0.0 if rate is None else PARAGRAPH_PAUSE_S if k == 0 else SENTENCE_PAUSE_S
            rate = rate or audio.sample_rate
            yield SpeechChunk(number, sentence, text, pause, np.clip(audio.resample(rate).samples, -1.0, 1.0), rate)


def speak_document(lines: Iterable[str], language: str, output: str | Path, synthesizer: Synthesizer | None = None,
                   voice: str | None = None, progress: Callable[[int], None] | None = None,
                   max_minutes: float = MAX_MINUTES, speed: float = 1.0) -> list[SpokenSentence]:
    """Speak every sentence of ``lines`` into the WAV/FLAC file ``output``; returns where each
    sentence is in it. ``progress`` is called with the number of characters done so far. Speech
    longer than ``max_minutes`` stops the run and nothing is written."""
    import soundfile as sf

    target = Path(output)
    check_output(target, SPEECH_SUFFIXES, "speech")
    spoken: list[SpokenSentence] = []
    done_chars = 0
    clock = 0.0
    writer = None
    with atomic_path(target) as tmp:
        try:
            for chunk in iter_speech(lines, language, synthesizer, voice, speed):
                rate = chunk.sample_rate
                if writer is None:
                    writer = sf.SoundFile(str(tmp), "w", samplerate=rate, channels=1,
                                          subtype="PCM_16", format="WAV" if target.suffix.lower() == ".wav" else "FLAC")
                writer.write(np.zeros(int(round(chunk.pause_s * rate)), np.float32))
                clock += chunk.pause_s
                writer.write(chunk.samples)
                seconds = len(chunk.samples) / rate
                spoken.append(SpokenSentence(chunk.paragraph, chunk.text, chunk.spoken, clock, clock + seconds))
                clock += seconds
                if clock > max_minutes * 60:
                    raise OutputError(f"the speech would last over {max_minutes:g} minutes: stopped, nothing "
                                      "written (raise --max-minutes for a longer document)")
                done_chars += len(chunk.text)
                if progress:
                    progress(done_chars)
        finally:
            if writer is not None:
                writer.close()
        if not spoken:
            raise MalsoriError("nothing to speak: the text is empty")
    return spoken


def synthesizer_for(language: str, voice: str | None = None, **options) -> tuple[Synthesizer, str | None]:
    """The engine for ``voice`` and what to pass it as its voice. ``voice`` may be a folder or
    file on disk (a voice trained by ``malsori tts train``, a Piper ``.onnx`` voice, an MMS-TTS
    model folder; ``options``: speaker, emotion, style_ref for a trained voice) or a voice name;
    without one, the first installed engine that speaks ``language``."""
    from pathlib import Path

    from malsori.models.catalog import voices_dir

    on_disk = None
    if voice is not None:
        imported = voices_dir() / voice
        on_disk = Path(voice).expanduser() if Path(voice).expanduser().exists() else imported if (
            "/" not in voice and imported.is_dir()) else None
    if on_disk is not None:
        from malsori.engines.tts.local import local_voice

        engine = local_voice(on_disk, **options)
        if language not in engine.voice_languages():
            raise LanguageError(f"{voice} speaks {', '.join(sorted(engine.voice_languages()))}, not {language}")
        return engine, None
    if any(value is not None for value in options.values()):
        raise MalsoriError("--style-ref, --emotion, --speaker and --vocoder need a trained voice: --voice VOICE_DIR")
    return _synthesizer_for(language, voice), voice


def _synthesizer_for(language: str, voice: str | None = None) -> Synthesizer:
    """The first installed engine that speaks ``language`` (with ``voice``, when one is named)."""
    from malsori.pipelines.engines import default_synthesizers

    engines = [e for e in default_synthesizers() if language in e.voice_languages()]
    if voice is not None:
        # An engine that lists the voice, else eSpeak NG, which takes any of its variants by name.
        listed = [e for e in engines if voice in getattr(e, "voices", lambda _: [])(language)]
        if not listed and language == "kor":
            from malsori.engines.tts.mbrola import VOICES, find_voice

            if voice in VOICES:
                find_voice()  # an MBROLA voice that is not installed: the error says how to get it
        engines = listed or [e for e in engines if e.name == "espeak-ng"] or engines
    if not engines:
        raise LanguageError(f"no voice for {language!r}")
    return engines[0]
