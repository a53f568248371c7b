"""Simultaneous translation: audio arrives in chunks, captions and speech leave while the speaker
is still talking.

Policy (the reference ideas are Whisper-Streaming's LocalAgreement and SeamlessStreaming's chunked
input): a VAD follows the stream frame by frame; while someone speaks, the current utterance is
re-recognised every ``update_s`` seconds (more seldom when decoding would not keep up) and only
the words on which the last two hypotheses agree are committed (LocalAgreement-2). Committed words are translated once, in clause-sized
units (at punctuation) so nothing already said is translated again, and each translated unit is
spoken. When the VAD hears ``endpoint_s`` of silence, or the utterance reaches
``max_utterance_s``, everything left is committed and a new utterance starts.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError
from malsori.languages import normalize_language
from malsori.pipelines.expressive import ExpressiveOptions, ExpressiveRenderer
from malsori.pipelines.translate import Translator, check_task
from malsori.protocols import Word

RATE = 16_000
DRAFT_LOAD = 0.6  # the share of real time that interim decodes may take (the rest: VAD, MT, TTS)
_CLAUSE_END = re.compile(r"[.!?;:,。！？]$")
_TRAILING_PUNCTUATION = re.compile(r"[.!?,;:…。！？、]+$")
_SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*$")
UNIT_GAP_S, SENTENCE_GAP_S = 0.1, 0.3  # silence kept after a spoken unit
EXPRESSIVE_CONTEXT_S = 1.5  # least source audio an expressive unit's delivery is measured on
# Per source language: words that a translation unit should not end on (articles, possessives,
# prepositions, conjunctions, auxiliaries, infinitive "to").
LEANING_WORDS = {
    "eng": frozenset("""a an the my your his her its our their this that these those some any no every
        of to in on at by for with from into onto about over under between through after before
        and or but nor so if than as because while when where who which whose whom
        is are was were be been am do does did have has had will would shall should can could may
        might must not very more most""".split()),
}


@dataclass
class StreamEvent:
    """kind: partial (unstable source text), commit (source words fixed), translation (target
    text, never revised), audio (target speech), endpoint (an utterance ended)."""

    kind: str
    text: str = ""
    utterance: int = 0
    source_time: float = 0.0  # seconds of input received when emitted
    audio: Audio | None = field(default=None, repr=False)
    clock: float | None = None  # computation-aware emission time, set by the driver

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "utterance": self.utterance, "text": self.text,
                "source_time": round(self.source_time, 3)}
        if self.clock is not None:
            data["clock"] = round(self.clock, 3)
        if self.audio is not None:
            data["audio_duration"] = round(self.audio.duration, 3)
        return data


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _capitalised_midsentence(text: str) -> bool:
    """A unit that starts with a capital inside a sentence starts with a name (English "I" aside)."""
    first = (text.split() or [""])[0]
    return first[:1].isupper() and first not in ("I", "I'm", "I'll", "I've", "I'd")


def agreed_prefix(a: list[str], b: list[str]) -> int:
    """Number of leading words two hypotheses share (ignoring case and punctuation)."""
    n = 0
    for x, y in zip(a, b):
        if _key(x) != _key(y):
            break
        n += 1
    return n


def resume_point(committed: list[str], final: list[str]) -> int:
    """Where the final hypothesis continues past the committed words. Committed words cannot be
    unsaid; when the final hypothesis revised their tail (so its word count differs), the last
    committed word is looked up near the expected place instead of trusting the count."""
    n = len(committed)
    if not committed or agreed_prefix(committed, final) == n:
        return n
    last = _key(committed[-1])
    for pos in sorted(range(max(0, n - 3), min(len(final), n + 3)), key=lambda p: abs(p - (n - 1))):
        if _key(final[pos]) == last:
            return pos + 1
    return n


class StreamingTranslator:
    """One live stream. ``push(samples)`` takes 16 kHz mono float32 and returns new events;
    ``close()`` flushes the last utterance."""

    def __init__(self, translator: Translator, task: str, tgt: str, src: str | None = None,
                 update_s: float = 0.32, endpoint_s: float = 0.5, max_utterance_s: float = 15.0,
                 unit_words: int | None = None, speech_threshold: float = 0.5, max_speed: float = 2.0,
                 catch_up_s: float = 1.0, speed: float = 1.25, expressive: ExpressiveOptions | None = None):
        task = check_task(task)
        if task not in ("asr", "s2tt", "s2st"):
            raise LanguageError(f"streaming takes speech input: use one of asr, s2tt, s2st (not {task})")
        self.task = task
        self.tgt = normalize_language(tgt)
        self.src = normalize_language(src) if src else (self.tgt if task == "asr" else None)
        if self.src is None:
            raise LanguageError("streaming needs --src (the spoken language) so it can start at once")
        self.route = translator.engines.route(task, self.src, self.tgt)
        if self.route.recognizer is None:
            raise LanguageError("streaming needs a cascade route (recogniser, translator, voice)")
        self.update_s, self.endpoint_s, self.max_utterance_s = update_s, endpoint_s, max_utterance_s
        # Interim decodes never take more than DRAFT_LOAD of the time: each waits at least
        # update_s and at least cost / DRAFT_LOAD (cost: a running mean of the last drafts).
        self.draft_cost = 0.0
        self.threshold = speech_threshold
        # The latency/quality knob: committed words are translated once this many wait (or at a
        # clause boundary). Fewer words: earlier output, less context for the translator.
        # Speech output waits for its units, so s2st takes shorter ones by default.
        self.unit_words = unit_words or (3 if task == "s2st" else 5)
        # Translated speech is spoken at ``speed`` (1.0: the voice's own rate) and, when it falls
        # behind the speaker, faster, up to ``max_speed``: speed * (1 + backlog / catch_up_s),
        # where backlog is the queued speech not yet played. The defaults keep the speech within
        # 2 s of the speaker (eSpeak NG's Spanish at 1.0 ran 1.23x as long as English sources);
        # benchmarks/stream_bench.py prints what they cost in intelligibility.
        self.speed, self.max_speed, self.catch_up_s = speed, max(max_speed, speed), catch_up_s
        self.playback_end = 0.0
        # Expressive output: each unit is spoken with the delivery of the source audio heard
        # since the previous unit (at least EXPRESSIVE_CONTEXT_S of it), in one voice per stream.
        self.expressive = expressive if task == "s2st" else None
        if expressive is not None and task != "s2st":
            raise LanguageError(f"expressive output follows a speaker's delivery: it needs task s2st, not {task}")
        self.renderer = (ExpressiveRenderer(self.route.synthesizer, expressive, translator.speaker_encoder,
                                            keep_voice=True) if self.expressive else None)
        self.reports: list[dict] = []
        from malsori.engines.vad.streaming import StreamingVAD

        self.vad = StreamingVAD()
        self.received = 0  # samples
        self.utterance = 0
        self.spans: dict[int, tuple[float, float]] = {}  # utterance -> (speech start, endpoint) in s
        self._preroll = np.zeros(0, np.float32)
        self._reset_utterance()

    # --- state -------------------------------------------------------------------------------
    def _reset_utterance(self):
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.in_speech = False
        self.silence_frames = 0
        self.since_decode = 0
        self.previous: list[str] = []
        self.committed: list[str] = []
        self.untranslated: list[str] = []
        self.sentence_open = False  # the last translated unit left its sentence unfinished
        self.utterance_start: float | None = None
        self.unit_mark = 0  # samples of this utterance's buffer already spoken for
        self._native = None  # an incremental decoder for this utterance, when the recogniser has one

    @property
    def update_interval(self) -> float:
        return max(self.update_s, self.draft_cost / DRAFT_LOAD)

    @property
    def now(self) -> float:
        return self.received / RATE

    # --- the loop ----------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> list[StreamEvent]:
        samples = np.asarray(samples, np.float32).reshape(-1)
        events: list[StreamEvent] = []
        probs = self.vad.push(samples)
        self.received += len(samples)
        speech_frames = int((probs > self.threshold).sum())
        if speech_frames and not self.in_speech:
            self.in_speech = True
            # The VAD fires a few frames into a word: the chunk before it is kept as pre-roll.
            self.buffer, self.buffered = [self._preroll], len(self._preroll)
            if hasattr(self.route.recognizer, "open_stream"):  # decodes incrementally (Vosk)
                self._native = self.route.recognizer.open_stream(self.src)
                self._native.accept(self._preroll)
            self.utterance_start = max(0.0, self.now - (len(samples) + len(self._preroll)) / RATE)
        self._preroll = samples
        if self.in_speech:
            if self._native is not None:
                self._native.accept(samples)
            self.buffer.append(samples)
            self.buffered += len(samples)
            self.since_decode += len(samples)
            trailing = 0
            for p in probs[::-1]:
                if p > self.threshold:
                    break
                trailing += 1
            self.silence_frames = self.silence_frames + trailing if speech_frames == 0 else trailing
            ended = self.silence_frames * 512 / RATE >= self.endpoint_s
            too_long = self.buffered / RATE >= self.max_utterance_s
            if ended or too_long:
                events += self._finish_utterance()
            elif self._native is not None or self.since_decode / RATE >= self.update_interval:
                events += self._update()
        return events

    def warm_up(self) -> None:
        """Load every model before the first chunk arrives, as a server does at start-up."""
        probe = Audio(np.zeros(RATE // 2, np.float32), RATE)
        self.route.recognizer.transcribe(probe, self.src, translate_to=self.route.asr_target)
        if hasattr(self.route.recognizer, "draft"):
            self.route.recognizer.draft(probe, self.src, translate_to=self.route.asr_target)
        if self.route.translators or self.route.synthesizer is not None:
            self._translate("hello")
            self.playback_end, self.sentence_open = 0.0, False
        self.vad.push(np.zeros(1024, np.float32))

    def close(self) -> list[StreamEvent]:
        return self._finish_utterance() if self.in_speech else []

    def _recognise(self, final: bool = True) -> list[str]:
        self.since_decode = 0
        if self._native is not None:
            return self._native.final() if final else self._native.hypothesis()
        audio = Audio(np.concatenate(self.buffer), RATE)
        recognizer = self.route.recognizer
        # Interim hypotheses are only compared for agreement: a quick draft decode is enough
        # where the recogniser offers one; the utterance's final pass is the full decode.
        if not final:
            t0 = time.perf_counter()
            if hasattr(recognizer, "draft"):
                text = recognizer.draft(audio, self.src, translate_to=self.route.asr_target)
            else:
                text = recognizer.transcribe(audio, self.src, translate_to=self.route.asr_target).text
            self.draft_cost = 0.7 * self.draft_cost + 0.3 * (time.perf_counter() - t0)
            return text.split()
        transcript = recognizer.transcribe(audio, self.src, translate_to=self.route.asr_target)
        return transcript.text.split()

    def _update(self) -> list[StreamEvent]:
        words = self._recognise(final=False)
        events = []
        agreed = agreed_prefix(self.previous, words)
        self.previous = words
        if agreed > len(self.committed):
            new = words[len(self.committed):agreed]
            if agreed == len(words):
                # Whisper ends a hypothesis that stops mid-sentence with a full stop; punctuation
                # after the last word heard so far is a guess, so it is not committed.
                new[-1] = _TRAILING_PUNCTUATION.sub("", new[-1]) or new[-1]
            events += self._commit(new, final=False)
        if len(words) > len(self.committed):
            events.append(self._event("partial", " ".join(words[len(self.committed):])))
        return events

    def _finish_utterance(self) -> list[StreamEvent]:
        words = self._recognise() if self.buffer else []
        events = self._commit(words[resume_point(self.committed, words):], final=True)
        events.append(self._event("endpoint", ""))
        self.spans[self.utterance] = (self.utterance_start or 0.0, self.now)
        self.utterance += 1
        self._reset_utterance()
        return events

    def _commit(self, words: list[str], final: bool) -> list[StreamEvent]:
        events = []
        if words:
            self.committed += words
            self.untranslated += words
            events.append(self._event("commit", " ".join(words)))
        # Translate up to the last clause boundary, or everything at the end of the utterance.
        cut = len(self.untranslated) if final else max(
            (i + 1 for i, w in enumerate(self.untranslated) if _CLAUSE_END.search(w)), default=0)
        if not final and len(self.untranslated) - cut >= self.unit_words:
            cut = len(self.untranslated)
            # Not after a word that leans on the next one ("the", "of", "to"): translated alone
            # it loses its head, and the translator cannot reorder around it.
            leaning = LEANING_WORDS.get(self.route.asr_target or self.src, ())
            while cut > 1 and _key(self.untranslated[cut - 1]) in leaning and not _CLAUSE_END.search(
                    self.untranslated[cut - 1]):
                cut -= 1
        if cut:
            unit, self.untranslated = " ".join(self.untranslated[:cut]), self.untranslated[cut:]
            events += self._translate(unit)
        return events

    def _translate(self, text: str) -> list[StreamEvent]:
        target = self.route.translate_texts([text], self.src, self.tgt)
        if self.sentence_open and target[0][:1].isupper() and not _capitalised_midsentence(text):
            # Translators capitalise each input as a sentence; this unit continues one.
            target[0] = target[0][0].lower() + target[0][1:]
        self.sentence_open = not _SENTENCE_END.search(text)
        events = [self._event("translation", target[0])]
        if self.route.synthesizer is not None and target[0].strip():
            synth = self.route.synthesizer
            backlog = max(0.0, self.playback_end - self.now)
            speed = min(self.max_speed, self.speed * (1.0 + backlog / self.catch_up_s))
            if self.renderer is not None and self.buffered:
                speech = self._speak_expressively(text, target[0], speed)
            elif getattr(synth, "supports_speed", False) and speed != 1.0:
                speech = synth.synthesize(target[0], self.tgt, speed=speed)
            else:
                speech = synth.synthesize(target[0], self.tgt)
            # Voices end each text with a sentence pause (eSpeak NG: 0.6 s), but a unit is often
            # mid-sentence: keep a short gap, a longer one where the unit ends a sentence.
            speech = speech.trim(keep_end=SENTENCE_GAP_S if _SENTENCE_END.search(target[0]) else UNIT_GAP_S)
            self.playback_end = max(self.playback_end, self.now) + speech.duration
            events.append(self._event("audio", target[0], audio=speech))
        return events

    def _speak_expressively(self, source_text: str, target_text: str, speed: float) -> Audio:
        """The unit spoken like the source audio heard since the last unit. Its words are spread
        evenly over that audio (a stream has no word times): enough for pace, register, range,
        loudness, whisper and voice, not for pauses inside the unit."""
        audio = np.concatenate(self.buffer)
        start = min(self.unit_mark, max(0, len(audio) - int(EXPRESSIVE_CONTEXT_S * RATE)))
        self.unit_mark = len(audio)
        source = Audio(audio[start:], RATE).trim(0.02, 0.02)
        words = source_text.split()
        step = source.duration / max(1, len(words))
        timed = [Word(i * step, (i + 1) * step, w) for i, w in enumerate(words)]
        self.renderer.options = replace(self.expressive, duration_factor=self.expressive.duration_factor / speed,
                                        fit_duration=False, pauses=False)
        speech, report = self.renderer.render(source, timed, target_text, self.tgt, self.route.asr_target or self.src)
        self.reports.append({"utterance": self.utterance, "text": target_text, **report.to_dict()})
        return speech

    def _event(self, kind: str, text: str, audio: Audio | None = None) -> StreamEvent:
        return StreamEvent(kind, text, self.utterance, self.now, audio)


@dataclass
class StreamRun:
    task: str
    events: list[StreamEvent]
    utterances: list[dict]  # per utterance: span and latency, both computation-aware and not
    summary: dict
    source_duration: float
    compute_seconds: float
    interrupted: bool = False  # stopped by Ctrl-C; everything up to then was finished
    expressive: list[dict] = field(default_factory=list)  # per spoken unit: what expressive rendering did


def run_stream(session: StreamingTranslator, source, chunk_s: float = 0.32, realtime: bool = False,
               on_event=None) -> StreamRun:
    """Drive a session with ``source``: an ``Audio`` cut into ``chunk_s`` chunks, or live 16 kHz
    chunks (an iterable, such as ``audio.live.microphone``) that arrive at their own pace.

    Computation-aware times follow SimulEval: a chunk arrives when the audio up to its end has
    been received; the system starts on it once it has finished the previous one, so
    clock = max(clock, arrival) + compute time. ``realtime`` paces a file as a microphone would.
    Ctrl-C ends the stream as its end would: the last utterance is finished and the run returned,
    marked ``interrupted``.
    """
    from malsori.eval.latency import summarize

    if isinstance(source, Audio):
        source = file_chunks(source, chunk_s, realtime)
    session.warm_up()
    events, clock, compute, received = [], 0.0, 0.0, 0
    interrupted = False

    def step(work, arrival):
        nonlocal clock, compute
        t0 = time.perf_counter()
        new = work()
        spent = time.perf_counter() - t0
        compute += spent
        clock = max(clock, arrival) + spent
        for ev in new:
            ev.clock = clock
            if on_event:
                on_event(ev)
        events.extend(new)

    try:
        for chunk in source:
            if len(chunk):
                received += len(chunk)
                step(lambda: session.push(chunk), received / RATE)
    except KeyboardInterrupt:
        interrupted = True
    step(session.close, received / RATE)
    utterances = per_utterance_latency(events, session)
    return StreamRun(session.task, events, utterances, summarize(utterances), received / RATE, compute,
                     interrupted, session.reports)


def file_chunks(audio: Audio, chunk_s: float = 0.32, realtime: bool = False):
    """16 kHz chunks of a recording; with ``realtime``, each no sooner than a microphone would
    have delivered it."""
    samples = audio.to_mono().resample(RATE).samples
    step = max(1, int(chunk_s * RATE))
    t_start = time.perf_counter()
    for k in range(0, len(samples), step):
        chunk = samples[k:k + step]
        if realtime:
            delay = (k + len(chunk)) / RATE - (time.perf_counter() - t_start)
            if delay > 0:
                time.sleep(delay)
        yield chunk


def per_utterance_latency(events: list[StreamEvent], session: StreamingTranslator) -> list[dict]:
    """Latency per utterance. Delays count from the utterance's first speech (VAD onset); the
    source length is the span up to its endpoint, so each utterance is one SimulEval instance."""
    from malsori.eval.latency import instance_metrics

    out = []
    for utt, (start, end) in sorted(session.spans.items()):
        start, end = round(start, 3), round(end, 3)  # exactly what the log keeps, so it rescores alike
        units = [e.to_dict() for e in events if e.utterance == utt and e.kind in ("commit", "translation", "audio")]
        metrics = instance_metrics(units, start, end, session.task)
        if metrics["AL"] is None:
            continue
        out.append({"utterance": utt, "start": start, "end": end, **metrics, "units": units})
    return out


def check_stream_outputs(task: str, audio_path=None, log_path=None) -> None:
    """Refuse unwritable outputs before the stream starts: a live recording cannot be replayed."""
    from malsori.audio.io import AUDIO_OUTPUT_SUFFIXES
    from malsori.errors import MalsoriError
    from malsori.files import check_output

    if audio_path is not None:
        if check_task(task) != "s2st":
            raise MalsoriError(f"-o writes translated speech: it needs --task s2st (not {task})")
        check_output(audio_path, AUDIO_OUTPUT_SUFFIXES, "the translated speech")
    if log_path is not None:
        check_output(log_path)
        check_output(Path(str(log_path)).with_suffix(".instances.log"))


def write_outputs(run: StreamRun, audio_path=None, log_path=None) -> None:
    """The translated speech as one file (chunks back to back, each no earlier than it was
    emitted) and the latency log: per-utterance units and metrics, then a summary object."""
    from malsori.files import write_json, write_text

    if audio_path is not None:
        from malsori.audio import save_audio
        from malsori.pipelines.translate import SegmentResult, Timeline

        chunks = [e for e in run.events if e.kind == "audio"]
        if not chunks:
            from malsori.errors import MalsoriError

            raise MalsoriError("no speech was produced: nothing to write (is the task s2st?)")
        timeline = Timeline()
        for ev in chunks:
            timeline.place(SegmentResult(0, "", ev.text, start=ev.source_time, audio=ev.audio))
        save_audio(audio_path, timeline.audio())
    if log_path is not None:
        from malsori.eval.latency import simuleval_instances

        log = {
            "task": run.task,
            "utterances": run.utterances,
            "source_duration": round(run.source_duration, 3),
            "rtf": round(run.compute_seconds / run.source_duration, 3) if run.source_duration else None,
            "summary": run.summary,
        }
        if run.expressive:
            log["expressive"] = run.expressive
        write_json(log_path, log)
        # SimulEval's own format beside it, so its scorers can check ours.
        instances = Path(str(log_path)).with_suffix(".instances.log")
        write_text(instances, "".join(json.dumps(x) + "\n" for x in simuleval_instances(log)))
