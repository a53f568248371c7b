"""Simultaneous translation: audio arrives in chunks, captions and speech leave while the speaker
is still talking.

Policy (the reference ideas are Whisper-Streaming's LocalAgreement with a trimmed audio buffer,
and SeamlessStreaming's chunked input): a VAD follows the stream frame by frame; while someone
speaks, an audio window is re-recognised every ``update_s`` seconds (more seldom when decoding
would not keep up), with a time for each word and the words already committed before the window
as the decoder's prompt. Of the words past the committed ones, those on which the last two
hypotheses agree are committed (LocalAgreement-2), except a word still being heard at the
window's end. Committed words are never said again: a new hypothesis is split from them by word
times (and their last words as anchors), and Whisper's loops and words invented in silence are
cut. Once the window is long it is cut after a committed sentence (at ``max_utterance_s``, after
any committed word), so an utterance can run on without a blind cut. Committed words are
translated once, in clause-sized units (at punctuation) so nothing already said is translated
again, and each translated unit is spoken. When the VAD hears ``endpoint_s`` of silence, a final
pass with the full beam commits the rest and a new utterance starts.
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
ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr prof mt vs etc".split())  # a full stop that ends no sentence
UNIT_GAP_S, SENTENCE_GAP_S = 0.1, 0.3  # silence kept after a spoken unit
TRIM_S = 10.0  # the window is cut after a committed sentence once it is this long (s)
HOLD_S = 0.1  # a word ending this close to the window's end is not committed yet (s)
FINAL_SILENCE_S = 0.3  # trailing silence kept for an utterance's final pass (s)
CONTINUE_S = 1.0  # a hypothesis that stops this long before the speech does is continued (s)
CONTINUATIONS = 2  # at most this many more decodes a hypothesis
WORD_JITTER_S = 0.12  # how far a word boundary moves between decodes of the same audio (s)
MIN_SPEECH_S = 0.15  # an utterance with less speech than this (a click, a breath) is not decoded (s)
PAUSE_HEARD_S = 0.4  # audio after a hypothesis' last word that makes its punctuation more than a guess (s)
PROMPT_WORDS = 40  # committed words given to the decoder as previous text
CARRY_CONTEXT = True  # an utterance's decoder prompt continues the previous utterance's words
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


def _same_word(committed: str, heard: str) -> bool:
    """``heard`` is the committed word again, perhaps completed: a word committed while it was
    still being spoken ("consider") can come back whole ("considered")."""
    a, b = _key(committed), _key(heard)
    return a == b or (len(a) >= 4 and b.startswith(a))


def _repeated_overlap(committed: list[str], words: list[str], most: int = 5) -> int:
    """How many leading ``words`` say the committed words' last ones again (the longest such
    overlap, up to ``most``)."""
    for k in range(min(most, len(committed), len(words)), 0, -1):
        if all(_key(x) == _key(y) for x, y in zip(committed[-k:], words[:k])):
            return k
    return 0


def _untimed(text) -> list[Word]:
    """Words without times, from a recogniser that gives only text."""
    words = text.split() if isinstance(text, str) else list(text)
    return [Word(float("nan"), float("nan"), w) for w in words]


def cut_loop(words: list, least: int = 3) -> list:
    """``words`` up to where Whisper starts looping: ``least`` or more words said again at once
    ("the art of the art of"), or, at the end, a sentence started again ("the scenery is
    delightful. Captain Freer says that the scenery is delightful. Captain Freer says that the"),
    two or more words that start the sentence before again ("Thank you for flying with us today.
    Thank you.": Whisper's favourite words for a closing silence) or the last sentence said again
    whole ("세일한 가격입니다. 세일한 가격입니다.")."""
    text = [w if isinstance(w, str) else w.text for w in words]
    keys = [_key(w) for w in text]
    starts = [i for i in range(len(keys)) if i == 0 or _SENTENCE_END.search(text[i - 1])]
    for i in range(1, len(keys)):
        for k in range(least, min(i, len(keys) - i) + 1):
            if keys[i:i + k] == keys[i - k:i]:
                return words[:i]
        if i in starts:
            before = [j for j in starts if j < i]
            tail = len(keys) - i
            if keys[i:] == keys[before[-1]:i] or (tail >= least and any(
                    keys[i:] == keys[j:j + tail] for j in before)) or (
                    tail >= 2 and keys[i:] == keys[before[-1]:before[-1] + tail]):
                return words[:i]
    return words


def resume_point(committed: list[str], final: list[str], expected: int | None = None) -> int:
    """Where ``final``, a new hypothesis of audio whose first words were already committed,
    continues past them. Committed words cannot be unsaid; when the new hypothesis revised their
    tail (a word inserted, merged or completed), the committed words' end is found by their last
    words (three, two, then one, the last possibly completed: "consider" -> "considered"), as
    near as possible to where it was expected (by default after as many words as were
    committed); a single word is trusted only within three words of there. Without an anchor the
    count is trusted, and words that only repeat the committed tail are skipped."""
    n = len(committed)
    expected = n if expected is None else expected
    if not committed:
        return 0
    if agreed_prefix(committed, final) == n:
        return n
    for k, reach in ((3, 8), (2, 6), (1, 3)):
        if k > n:
            continue
        last = committed[-k:]
        spots = [q for q in range(k, len(final) + 1)
                 if abs(q - expected) <= reach
                 and all(_key(x) == _key(y) for x, y in zip(last[:-1], final[q - k:q - 1]))
                 and _same_word(last[-1], final[q - 1])]
        if spots:
            return min(spots, key=lambda q: (abs(q - expected), q))
    p = min(expected, len(final))
    return p + _repeated_overlap(committed, final[p:])


def split_committed(tail: list[Word], hypothesis: list[Word]) -> int:
    """How many leading words of ``hypothesis`` (a new decode of the audio window, word times in
    seconds from its start) cover ``tail``, the committed words still inside that window. With
    word times, the split is where the committed words end in time, moved to a text anchor when
    the last committed words are heard within a few words of it (times drift by a word or so
    from one decode to the next); without times it is ``resume_point``."""
    if not tail:
        return 0
    texts, heard = [w.text for w in tail], [w.text for w in hypothesis]
    if not all(np.isfinite([w.start for w in tail + hypothesis] + [w.end for w in tail + hypothesis])):
        return resume_point(texts, heard)
    end = tail[-1].end
    # A word that began before the committed words ended is one of them (perhaps completed:
    # "cab" -> "cabbage"); boundaries move by a few hundredths from one decode to the next.
    by_time = sum(1 for w in hypothesis if w.start < end - WORD_JITTER_S or (w.start + w.end) / 2 < end)
    if agreed_prefix(texts, heard) == len(texts) and abs(by_time - len(texts)) <= 3:
        return len(texts)
    # resume_point anchors near the time split, and skips the committed tail said again.
    return resume_point(texts, heard, expected=by_time)


class StreamingTranslator:
    """One live stream. ``push(samples)`` takes 16 kHz mono float32 and returns new events;
    ``close()`` flushes the last utterance."""

    def __init__(self, translator: Translator, task: str, tgt: str, src: str | None = None,
                 update_s: float = 0.32, endpoint_s: float = 0.5, max_utterance_s: float = 15.0,
                 unit_words: int | None = None, speech_threshold: float = 0.5, max_speed: float = 2.0,
                 catch_up_s: float = 1.0, speed: float = 1.25, expressive: ExpressiveOptions | None = None,
                 trim_s: float | None = None, hold_s: float | None = None):
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
        # The audio window that is re-decoded: once it is longer than ``trim_s`` it is cut after
        # its last committed sentence, and at ``max_utterance_s`` after its last committed word
        # (recognisers without word times end the utterance there instead). Words committed
        # while still being heard at the window's end (within ``hold_s``) wait for the next draft.
        self.trim_s = TRIM_S if trim_s is None else trim_s
        self.hold_s = HOLD_S if hold_s is None else hold_s
        self.context: list[str] = []  # committed words before the window: the decoder's prompt
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
        self.buffer: list[np.ndarray] = []  # the audio window being decoded
        self.buffered = 0
        self.in_speech = False
        self.silence_frames = 0
        self.speech_s = 0.0  # what the VAD heard as speech in this utterance
        self.since_decode = 0
        self.committed: list[str] = []
        self.tail: list[Word] = []  # committed words inside the window (times from its start)
        self.pending: list[Word] = []  # the last draft's words past the committed ones
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
            self.speech_s += speech_frames * 512 / RATE
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
            if not ended and self.buffered / RATE >= self.max_utterance_s and not self._trim(force=True):
                ended = True  # nothing committed to cut after (or no word times): the old cut
            if ended:
                events += self._finish_utterance()
            elif self._native is not None or self.since_decode / RATE >= self.update_interval:
                events += self._update()
        return events

    def warm_up(self) -> None:
        """Load every model before the first chunk arrives, as a server does at start-up."""
        probe = Audio(np.zeros(RATE // 2, np.float32), RATE)
        self.route.recognizer.transcribe(probe, self.src, translate_to=self.route.asr_target)
        if hasattr(self.route.recognizer, "draft_words"):
            self.route.recognizer.draft_words(probe, self.src, translate_to=self.route.asr_target, prompt="Hello.")
        elif hasattr(self.route.recognizer, "draft"):
            self.route.recognizer.draft(probe, self.src, translate_to=self.route.asr_target)
        if self.route.translators or self.route.synthesizer is not None:
            self._translate("hello")
            self.playback_end, self.sentence_open = 0.0, False
        self.vad.push(np.zeros(1024, np.float32))

    def close(self) -> list[StreamEvent]:
        return self._finish_utterance() if self.in_speech else []

    def _recognise(self, final: bool = True) -> list[Word]:
        """A hypothesis of the window: words with times from its start where the recogniser gives
        them (NaN where not). Interim hypotheses are only compared for agreement: a quick greedy
        draft is enough where the recogniser offers one; the utterance's final pass uses the
        recogniser's full beam."""
        self.since_decode = 0
        if self._native is not None:
            return _untimed(self._native.final() if final else self._native.hypothesis())
        if final and self.speech_s < MIN_SPEECH_S:
            # The VAD fired on a blip too short for a word; Whisper would fill it ("Thank you.").
            return []
        samples = np.concatenate(self.buffer)
        speech_end = (len(samples) - self.silence_frames * 512) / RATE
        t0 = time.perf_counter()
        words = self._decode(samples, final, self._prompt())
        # Whisper may end its text at a full stop with speech still to come; like its own
        # long-form loop, decode again from where the text stopped.
        for _ in range(CONTINUATIONS):
            if not words or not np.isfinite(words[-1].end) or speech_end - words[-1].end < CONTINUE_S:
                break
            start = words[-1].end
            prompt = " ".join((self.context + [w.text for w in words])[-PROMPT_WORDS:])
            more = [replace(w, start=w.start + start, end=w.end + start)
                    for w in self._decode(samples[int(start * RATE):], final, prompt)]
            if not more:
                break
            words = cut_loop(words + more[_repeated_overlap([w.text for w in words], [w.text for w in more]):])
        # Words that start after the speech has ended were invented in the silence ("Thank you.").
        while words and np.isfinite(words[-1].start) and words[-1].start >= speech_end:
            words = words[:-1]
        if not final:
            self.draft_cost = 0.7 * self.draft_cost + 0.3 * (time.perf_counter() - t0)
        return words

    def _decode(self, samples: np.ndarray, final: bool, prompt: str) -> list[Word]:
        recognizer, target, audio = self.route.recognizer, self.route.asr_target, Audio(samples, RATE)
        if hasattr(recognizer, "draft_words"):
            words = recognizer.draft_words(audio, self.src, translate_to=target, prompt=prompt, final=final)
        elif not final and hasattr(recognizer, "draft"):
            words = _untimed(recognizer.draft(audio, self.src, translate_to=target))
        else:
            transcript = recognizer.transcribe(audio, self.src, translate_to=target)
            words = [w for seg in transcript.segments for w in seg.words]
            if not words or not all(seg.words for seg in transcript.segments if seg.text.strip()):
                words = _untimed(transcript.text)
        return cut_loop(words)

    def _prompt(self) -> str:
        return " ".join(self.context[-PROMPT_WORDS:])

    def _update(self) -> list[StreamEvent]:
        """LocalAgreement-2 over the words past the committed ones: commit what the last two
        drafts agree on, except words still being heard at the window's end."""
        words = self._recognise(final=False)
        new = words[split_committed(self.tail, words):]
        agreed = agreed_prefix([w.text for w in self.pending], [w.text for w in new])
        # A word may still be being spoken if it reaches the window's end, unless the VAD already
        # hears silence there.
        silence = self.silence_frames * 512 / RATE
        heard_until = self.buffered / RATE - self.hold_s
        while (agreed and self.hold_s and silence < min(self.hold_s, 0.1) and np.isfinite(new[agreed - 1].end)
               and new[agreed - 1].end > heard_until):
            agreed -= 1
        events = []
        if agreed:
            fixed = new[:agreed]
            last = fixed[-1]
            if agreed == len(new) and not self.buffered / RATE - last.end >= PAUSE_HEARD_S:
                # Whisper ends a hypothesis that stops mid-sentence with a full stop; punctuation
                # after the last word heard so far is a guess, so it is not committed (unless
                # the pause after the word was heard).
                fixed[-1] = replace(last, text=_TRAILING_PUNCTUATION.sub("", last.text) or last.text)
            self.tail += fixed
            events += self._commit([w.text for w in fixed], final=False)
        self.pending = new[agreed:]
        if self.pending:
            events.append(self._event("partial", " ".join(w.text for w in self.pending)))
        if self.buffered / RATE >= self.trim_s:
            self._trim()
        return events

    def _trim(self, force: bool = False) -> bool:
        """Cut the window after its last committed sentence (with ``force``: failing that, after
        its last committed clause or word), so that drafts stay short and the words cut away
        become the decoder's prompt. Returns whether it cut."""
        tail = self.tail
        if self._native is not None or not tail or not np.isfinite([w.end for w in tail]).all():
            return False
        ends = [i for i, w in enumerate(tail) if _SENTENCE_END.search(w.text) and _key(w.text) not in ABBREVIATIONS]
        if not ends and force:
            ends = [i for i, w in enumerate(tail) if _CLAUSE_END.search(w.text)] or [len(tail) - 1]
        if not ends:
            return False
        i = ends[-1]
        cut = tail[i].end
        following = tail[i + 1:] + self.pending
        if following and np.isfinite(following[0].start):
            cut = max(tail[i].start, min(cut, following[0].start))
        samples = int(cut * RATE)
        if samples <= 0:
            return False
        audio = np.concatenate(self.buffer)[samples:]
        self.buffer, self.buffered = [audio], len(audio)
        self.unit_mark = max(0, self.unit_mark - samples)
        self.context = (self.context + [w.text for w in tail[:i + 1]])[-PROMPT_WORDS:]
        shift = lambda w: replace(w, start=max(0.0, w.start - cut), end=max(0.0, w.end - cut))  # noqa: E731
        self.tail, self.pending = [shift(w) for w in tail[i + 1:]], [shift(w) for w in self.pending]
        return True

    def _finish_utterance(self) -> list[StreamEvent]:
        new, words = [], []
        if self.buffer:
            # The silence that ended the utterance is left out (Whisper invents words in silence),
            # all but FINAL_SILENCE_S of it.
            silence = self.silence_frames * 512 - int(FINAL_SILENCE_S * RATE)
            if 0 < silence < self.buffered:
                audio = np.concatenate(self.buffer)
                self.buffer, self.buffered = [audio[:len(audio) - silence]], len(audio) - silence
                self.silence_frames = int(FINAL_SILENCE_S * RATE) // 512
            words = self._recognise()
            new = words[split_committed(self.tail, words):]
        events = self._commit([w.text for w in new], final=True)
        events.append(self._event("endpoint", ""))
        self.spans[self.utterance] = (self.utterance_start or 0.0, self.now)
        self.utterance += 1
        # The next utterance's prompt: this one as the final pass read it, with its punctuation
        # (committed words may have lost a full stop, and Whisper would go on with the sentence).
        said = [w.text for w in words] or [w.text for w in self.tail]
        self.context = (self.context + said)[-PROMPT_WORDS:] if CARRY_CONTEXT else []
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
