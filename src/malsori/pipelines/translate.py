"""The translation pipeline: S2ST, S2TT, T2ST, T2TT and ASR, as SeamlessM4T names them.

Speech input is cut by VAD into windows of at most ~28 s at pauses; each window is recognised,
its segments translated as one batch and spoken one by one. Windows are produced lazily
(``iter_windows``) so long files run in bounded memory and a caller can checkpoint each one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np

from malsori.audio import Audio, load_audio
from malsori.audio.io import validate
from malsori.errors import AudioError, LanguageError, MalsoriError
from malsori.languages import normalize_language
from malsori.pipelines.engines import EngineSet, Route
from malsori.pipelines.expressive import ExpressiveOptions, ExpressiveRenderer, follow_delivery
from malsori.prosody.align import normalize, words_of
from malsori.protocols import Recognizer, Segment, Synthesizer, TextTranslator, VoiceActivityDetector, Word
from malsori.text.segment import split_sentences

TASKS = ("s2st", "s2tt", "t2st", "t2tt", "asr")
ASR_RATE = 16_000
SILENCE_PEAK = 1e-4  # below this the whole input is digital silence
GAP_BETWEEN_OUTPUTS_S = 0.15
SEGMENT_WIDEN_S = 0.2


@dataclass
class SegmentResult:
    index: int
    source_text: str
    target_text: str
    start: float | None = None  # seconds in the input speech
    end: float | None = None
    out_start: float | None = None  # seconds in the output speech
    out_end: float | None = None
    audio: Audio | None = field(default=None, repr=False)
    audio_file: str | None = field(default=None, repr=False)  # where a checkpoint keeps ``audio``
    expressive: dict | None = None  # what expressive rendering did (pauses carried, warnings)
    speaker: str | None = None  # who said it, when the input was diarized
    line: int | None = None  # text input: the line it came from (one output line per input line)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("audio")
        data.pop("audio_file")
        for optional in ("expressive", "speaker", "line"):
            if data[optional] is None:
                data.pop(optional)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in data.items()}


class Unit(NamedTuple):
    """A unit of work: a window of speech input, or a sentence of text input."""

    start: float | None
    end: float | None
    text: str | None = None
    line: int | None = None


@dataclass
class WindowResult:
    """One VAD window of speech input (or one sentence of text input) and what it became."""

    index: int
    start: float | None
    end: float | None
    segments: list[SegmentResult]
    error: str | None = None


@dataclass
class TranslationResult:
    task: str
    src_lang: str
    tgt_lang: str
    segments: list[SegmentResult]
    audio: Audio | None = None
    route: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    line_count: int | None = None  # text input: how many lines it had

    @property
    def text(self) -> str:
        """The output text: the translation, or the transcript for ASR."""
        return " ".join(s.target_text for s in self.segments if s.target_text)

    @property
    def source_text(self) -> str:
        return " ".join(s.source_text for s in self.segments if s.source_text)

    def to_dict(self) -> dict:
        return {
            "task": self.task, "src_lang": self.src_lang, "tgt_lang": self.tgt_lang,
            "source_text": self.source_text, "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
            "audio_duration": round(self.audio.duration, 3) if self.audio is not None else None,
            "route": self.route, "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "errors": self.errors,
            **({"line_count": self.line_count} if self.line_count is not None else {}),
        }


@dataclass
class Request:
    """A validated request: task and languages resolved, input loaded."""

    task: str
    src: str | None
    tgt: str
    audio: Audio | None = None
    text: str | None = None
    speech_regions: list | None = None  # VAD output, computed once
    expressive: ExpressiveOptions | None = None  # speak the output with the source's delivery
    diarization: object | None = None  # who spoke when: segments are cut at speaker changes

    @property
    def line_count(self) -> int | None:
        return len(self.text.split("\n")) if self.text is not None else None


def check_task(task: str) -> str:
    task = task.lower()
    if task not in TASKS:
        raise MalsoriError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    return task


class Translator:
    """Seamless-style translation on CPU from the embedded models, or from injected engines.

    >>> result = Translator().predict("talk.wav", task="s2st", tgt_lang="spa")
    >>> result.text, result.audio.duration
    """

    def __init__(self, recognizers: Sequence[Recognizer] | None = None,
                 translators: Sequence[TextTranslator] | None = None,
                 synthesizers: Sequence[Synthesizer] | None = None,
                 vad: VoiceActivityDetector | None = None,
                 compute_type: str = "int8", max_window_s: float = 28.0, speaker_encoder=None):
        self.engines = EngineSet(recognizers, translators, synthesizers, {"compute_type": compute_type})
        self._vad = vad
        self.max_window_s = max_window_s
        self.speaker_encoder = speaker_encoder
        self._renderers: dict = {}

    @property
    def vad(self) -> VoiceActivityDetector:
        if self._vad is None:
            from malsori.engines.vad.silero import SileroVAD

            self._vad = SileroVAD(max_region_s=self.max_window_s)
        return self._vad

    # --- requests ----------------------------------------------------------------------------
    def prepare(self, input, task: str, tgt_lang: str, src_lang: str | None = None,
                expressive: bool | ExpressiveOptions | None = None) -> Request:
        task = check_task(task)
        expressive = ExpressiveOptions() if expressive is True else (expressive or None)
        if expressive is not None and task != "s2st":
            raise MalsoriError(f"expressive output follows a speaker's delivery: it needs task s2st, not {task}")
        tgt = normalize_language(tgt_lang)
        src = normalize_language(src_lang) if src_lang else None
        if task == "asr":
            src = src or tgt
        if task.startswith("t2"):
            if src is None:
                raise LanguageError("text input needs --src (the language of the text)")
            text = input if isinstance(input, str) and not _looks_like_path(input) else None
            if text is None:
                raise MalsoriError(f"task {task} takes text; pass the text itself or --text-file")
            if not text.strip():
                raise MalsoriError("the input text is empty")
            return Request(task, src, tgt, text=text)
        audio = input if isinstance(input, Audio) else load_audio(input)
        validate(audio)
        audio = audio.to_mono().resample(ASR_RATE)
        if audio.peak() < SILENCE_PEAK:
            raise AudioError("the input audio is silent (no signal above -80 dBFS)")
        return Request(task, src, tgt, audio=audio, expressive=expressive)

    def plan(self, request: Request) -> Route:
        if request.src is None:  # detect the spoken language on the first speech
            lid = self.engines.language_identifier()
            regions = self.speech_regions(request)
            first = request.audio.slice(regions[0].start, regions[0].start + 30) if regions else request.audio
            request.src, _ = lid.detect_language(first)
        route = self.engines.route(request.task, request.src, request.tgt)
        if (request.expressive is not None or request.diarization is not None) and route.recognizer is not None:
            # Pauses are carried through word alignment, and speaker changes fall between words:
            # the recogniser must time its words.
            twin = getattr(route.recognizer, "with_word_timestamps", None)
            route.recognizer = twin() if twin else route.recognizer
        return route

    def speech_regions(self, request: Request) -> list:
        if request.speech_regions is None:
            request.speech_regions = self.vad.regions(request.audio)
        return request.speech_regions

    def units(self, request: Request) -> list[Unit]:
        """The units of work: speech windows of at most ``max_window_s`` cut at pauses found by
        the VAD, or the sentences of text input, each with its line."""
        from malsori.engines.vad.silero import merge_regions

        if request.text is not None:
            return [Unit(None, None, sentence, number) for number, line in enumerate(request.text.split("\n"))
                    for sentence in split_sentences(line)]
        regions = self.speech_regions(request)
        if not regions:
            raise AudioError("no speech found in the input audio")
        duration = request.audio.duration
        if duration <= self.max_window_s:  # one window, exactly what the bare recogniser would see
            return [Unit(0.0, duration)]
        windows = merge_regions(regions, self.max_window_s, max_gap=3.0)
        return [Unit(a, b) for a, b in widen_into_pauses(windows, duration)]

    # --- the work ----------------------------------------------------------------------------
    def iter_windows(self, request: Request, route: Route, units: list | None = None,
                     skip: Callable[[int], bool] = lambda i: False,
                     timings: dict | None = None) -> Iterator[WindowResult]:
        """Yield each unit's result in order. A unit that fails yields its error and the rest go
        on; ``skip(i)`` lets a caller resume past units it already has."""
        timings = timings if timings is not None else {}
        units = self.units(request) if units is None else units
        for index, (start, end, text, line) in enumerate(units):
            if skip(index):
                continue
            try:
                segments = self._process_unit(request, route, start, end, text, timings)
                for seg in segments:
                    seg.line = line
                yield WindowResult(index, start, end, segments)
            except MalsoriError as exc:
                yield WindowResult(index, start, end, [], error=str(exc))
            except Exception as exc:  # one bad window must not lose the others
                yield WindowResult(index, start, end, [], error=f"{type(exc).__name__}: {exc}")

    def _timed(self, timings: dict, stage: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0

    def _process_unit(self, request: Request, route: Route, start, end, text, timings) -> list[SegmentResult]:
        src, tgt = request.src, request.tgt
        if route.end_to_end is not None:
            clip = request.audio.slice(start, end)
            transcript, speech = self._timed(timings, "s2st", route.end_to_end.speech_to_speech, clip, tgt, src)
            seg = SegmentResult(0, "", transcript.text, start, end, audio=speech)
            if request.expressive is not None and speech.duration > 0:
                seg.audio, report = self._timed(timings, "expressive", follow_delivery, clip, speech,
                                                request.expressive)
                seg.expressive = report.to_dict()
            return [seg]
        if text is not None:
            pieces = [Segment(0.0, 0.0, text)]
            source_texts, speakers = [text], [None]
        else:
            clip = request.audio.slice(start, end)
            transcript = self._timed(timings, "asr", route.recognizer.transcribe, clip, src,
                                     translate_to=route.asr_target)
            pieces = [s for s in transcript.segments if s.text.strip()]
            speakers = [None] * len(pieces)
            if request.diarization is not None:
                from malsori.pipelines.diarize import join_unfinished, split_by_speaker

                cut = join_unfinished([part for piece in pieces
                                       for part in split_by_speaker(piece, request.diarization, start, src)], src)
                pieces, speakers = [p for p, _ in cut], [who for _, who in cut]
            source_texts = [s.text.strip() for s in pieces]
        if not pieces:
            return []
        targets = self._timed(timings, "mt", route.translate_texts, source_texts, src, tgt) \
            if route.translators else source_texts
        renderer = lexicon = None
        if request.expressive is not None and route.synthesizer is not None:
            renderer = self._renderer(route.synthesizer, request.expressive)
            if request.expressive.pauses and route.translators and not route.asr_target:
                words = [w.text for p in pieces for w in p.words]
                lexicon = self._timed(timings, "mt", lexicon_from_translator, route, words, src, tgt)
        results = []
        for piece, source_text, target_text, speaker in zip(pieces, source_texts, targets, speakers):
            # When the recogniser translated by itself there is no source-language text.
            seg = SegmentResult(0, "" if route.asr_target else source_text, target_text, speaker=speaker)
            if text is None:
                seg.start, seg.end = snap_to_speech(start + piece.start, start + piece.end,
                                                    request.speech_regions or [])
            if renderer is not None and target_text.strip():
                seg.audio, report = self._timed(timings, "expressive", self._render_expressive, renderer, request,
                                                start, end, piece, target_text, lexicon)
                seg.expressive = report.to_dict()
            elif route.synthesizer is not None and target_text.strip():
                seg.audio = self._timed(timings, "tts", route.synthesizer.synthesize, target_text, tgt)
            results.append(seg)
        return results

    def _renderer(self, synthesizer: Synthesizer, options: ExpressiveOptions) -> ExpressiveRenderer:
        """One renderer per voice and options, kept: it caches the voices' speaker embeddings."""
        key = (id(synthesizer), options)
        if key not in self._renderers:
            self._renderers[key] = ExpressiveRenderer(synthesizer, options, self.speaker_encoder)
        return self._renderers[key]

    def _render_expressive(self, renderer: ExpressiveRenderer, request: Request, start: float, end: float,
                           piece: Segment, target_text: str, lexicon: dict | None):
        """The segment's source speech (widened a little into the window: recognisers clip word
        edges) re-spoken in the target language."""
        a = max(start, start + piece.start - SEGMENT_WIDEN_S)
        b = min(end, start + piece.end + SEGMENT_WIDEN_S)
        words = [Word(w.start + start - a, w.end + start - a, w.text) for w in piece.words]
        return renderer.render(request.audio.slice(a, b), words, target_text, request.tgt, request.src, lexicon)

    def predict(self, input, task: str = "s2st", tgt_lang: str = "eng", src_lang: str | None = None,
                progress: Callable[[int, int], None] | None = None,
                expressive: bool | ExpressiveOptions | None = None) -> TranslationResult:
        """Run one request to the end and return text, timed segments and (for s2st/t2st) audio.
        ``expressive`` (True or ``ExpressiveOptions``) speaks the translation with the source's
        pace, pauses, pitch, loudness, whisper and voice scale."""
        t0 = time.perf_counter()
        request = self.prepare(input, task, tgt_lang, src_lang, expressive)
        route = self.plan(request)
        timings: dict = {}
        timeline = Timeline()
        segments, errors = [], []
        units = self.units(request)
        for window in self.iter_windows(request, route, units, timings=timings):
            if window.error:
                errors.append(f"window {window.index}: {window.error}")
            for seg in window.segments:
                seg.index = len(segments)
                timeline.place(seg)
                segments.append(seg)
            if progress:
                progress(window.index + 1, len(units))
        if errors and not segments:
            raise MalsoriError(errors[0])
        timings["total"] = time.perf_counter() - t0
        audio = timeline.audio() if request.task in ("s2st", "t2st") else None
        return TranslationResult(request.task, request.src, request.tgt, segments, audio,
                                 route.describe(), timings, errors, request.line_count)


def snap_to_speech(start: float, end: float, regions) -> tuple[float, float]:
    """A segment's times moved off the silence around it: Whisper lets a first word absorb the
    pause before it, so a subtitle would show before anyone speaks. Edges in a pause move to the
    nearest speech inside the segment."""
    inside = [r for r in regions if r.end > start and r.start < end]
    if not inside:
        return start, end
    return max(start, inside[0].start), min(end, inside[-1].end)


def widen_into_pauses(windows, duration: float, most: float = 1.0) -> list[tuple[float, float]]:
    """Move each window's edges into the neighbouring pauses (half way, at most ``most`` s) so
    word onsets and releases the VAD trimmed are heard by the recogniser."""
    out = []
    for i, w in enumerate(windows):
        before = windows[i - 1].end if i else 0.0
        after = windows[i + 1].start if i + 1 < len(windows) else duration
        out.append((max(before + (w.start - before) / 2, w.start - most),
                    min(w.end + (after - w.end) / 2, w.end + most)))
    return out


class Timeline:
    """Places each segment's speech at its source time when it can (so dubbing stays in sync),
    otherwise right after the previous output. Writes to memory or to an open sound file."""

    def __init__(self, sample_rate: int | None = None, sink=None):
        self.sample_rate = sample_rate
        self.sink = sink  # soundfile.SoundFile opened for writing, or None to keep in memory
        self.parts: list[np.ndarray] = []
        self.position = 0.0  # seconds written so far

    def place(self, seg: SegmentResult) -> None:
        if seg.audio is None or seg.audio.frames == 0:
            return
        if self.sample_rate is None:
            self.sample_rate = seg.audio.sample_rate
        speech = seg.audio.to_mono().resample(self.sample_rate).samples
        start = self.position + (GAP_BETWEEN_OUTPUTS_S if self.position > 0 else 0.0)
        if seg.start is not None:
            start = max(start, seg.start)
        self._write(np.zeros(int(round((start - self.position) * self.sample_rate)), np.float32))
        seg.out_start = self.position
        self._write(speech)
        seg.out_end = self.position

    def _write(self, samples: np.ndarray) -> None:
        if samples.size == 0:
            return
        if self.sink is not None:
            self.sink.write(samples)
        else:
            self.parts.append(samples)
        self.position += samples.size / self.sample_rate

    def audio(self) -> Audio:
        rate = self.sample_rate or 16_000
        return Audio(np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32), rate)


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and len(text) < 4096 and Path(text).suffix.lower() in (
        ".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm", ".aac") and Path(text).exists()


def lexicon_from_translator(route: Route, words: list[str], src: str, tgt: str) -> dict[str, list[str]]:
    """Each distinct source word translated on its own, in one batch: the word alignment's lexicon."""
    unique = sorted({normalize(w) for w in words} - {""})
    if not unique:
        return {}
    return {w: words_of(t) for w, t in zip(unique, route.translate_texts(unique, src, tgt))}
