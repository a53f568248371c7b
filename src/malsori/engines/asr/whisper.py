"""Whisper through faster-whisper (CTranslate2): recognition, speech-to-English, language id."""

from __future__ import annotations

import copy
import os
import threading

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError, ModelError
from malsori.languages import LANGUAGES, from_whisper, whisper_code
from malsori.models import get_card, resolve
from malsori.protocols import Segment, Transcript, Word

SAMPLE_RATE = 16_000
DRAFT_TOKENS_PER_S = 15  # a bound for drafts; Korean runs to ~12 tokens a second
UNSPACED = {"zh", "ja", "th", "lo", "my", "yue"}  # Whisper's languages written without spaces
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PROMPT_TOKENS = 224  # previous text given to a streaming decode, at most (Whisper's own: 448 // 2)


class WhisperRecognizer:
    """Recognizer protocol over a CTranslate2 Whisper model (any size; embedded: tiny.en, base).

    The model loads on first use. ``beam_size`` 5 is Whisper's own default and what the accuracy
    benchmarks compare against.
    """

    def __init__(self, model_id: str = "whisper-base", model_dir: str | os.PathLike | None = None,
                 compute_type: str = "int8", cpu_threads: int = 0, beam_size: int = 5,
                 word_timestamps: bool = False, draft_min_s: float = 10.0, draft_pad_s: float = 4.0):
        self.model_id = model_id
        self.name = model_id
        self._model_dir = model_dir
        self.compute_type = compute_type
        # 0 keeps CTranslate2's own default (4 threads), measured 7% faster than 2 on 2 cores.
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.prompt: str | None = None
        self.temperature = 0.0
        # Streaming drafts (see ``draft``): encoder window >= audio + pad and >= min, in seconds.
        self.draft_min_s, self.draft_pad_s = draft_min_s, draft_pad_s
        self._model = None
        self._draft_tokenizers: dict = {}
        self._lock = threading.Lock()
        card = get_card(model_id)
        self._languages = set(card.languages) if card.languages else None

    def with_word_timestamps(self) -> "WhisperRecognizer":
        """A twin that times each word, sharing this one's loaded model."""
        return self if self.word_timestamps else self.with_options(word_timestamps=True)

    def with_options(self, word_timestamps: bool | None = None, prompt: str | None = None,
                     temperature: float | None = None) -> "WhisperRecognizer":
        """A twin sharing this one's loaded model that decodes differently: timed words, an
        initial prompt (spellings, names, style to follow), a sampling temperature (0: beam search)."""
        twin = copy.copy(self)
        if word_timestamps is not None:
            twin.word_timestamps = word_timestamps
        if prompt is not None:
            twin.prompt = prompt
        if temperature is not None:
            twin.temperature = temperature
        twin._model = self.model
        return twin

    @property
    def multilingual(self) -> bool:
        return self._languages is None

    def translation_targets(self) -> set[str]:
        return {"eng"} if self.multilingual else set()

    def languages(self) -> set[str] | None:
        return self._languages

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                path = resolve(self.model_id, self._model_dir)
                try:
                    self._model = WhisperModel(str(path), device="cpu", compute_type=self.compute_type,
                                               cpu_threads=self.cpu_threads, local_files_only=True)
                except Exception as exc:  # CTranslate2 reports corrupt files with long messages
                    raise ModelError(f"{self.model_id}: cannot load Whisper model from {path}: "
                                     f"{str(exc).splitlines()[0]}") from None
                self._languages = None if self._model.model.is_multilingual else {"eng"}
            return self._model

    def _samples(self, audio: Audio) -> np.ndarray:
        return audio.to_mono().resample(SAMPLE_RATE).samples

    def _check_language(self, language: str | None) -> str | None:
        if language is None:
            return None
        code = whisper_code(language)
        if code is None or (self._languages is not None and language not in self._languages):
            raise LanguageError(f"{self.model_id} cannot recognise {LANGUAGES[language].name} ({language}); "
                                "whisper-base covers 99 languages")
        return code

    def transcribe(self, audio: Audio, language: str | None = None, translate_to: str | None = None) -> Transcript:
        task = "transcribe"
        if translate_to is not None and translate_to != language:
            if translate_to not in self.translation_targets():
                raise LanguageError(f"{self.model_id} can translate speech only into English, not {translate_to}")
            task = "translate"
        code = self._check_language(language)
        segments, info = self.model.transcribe(
            self._samples(audio), language=code, task=task, beam_size=self.beam_size,
            word_timestamps=self.word_timestamps, vad_filter=False, initial_prompt=self.prompt,
            # 0 keeps faster-whisper's fallback ladder (beam search, then sampling when it loops)
            temperature=self.temperature or FALLBACK_TEMPERATURES,
        )
        out = []
        for seg in segments:
            words = [Word(w.start, w.end, w.word.strip(), w.probability) for w in (seg.words or [])]
            out.append(Segment(seg.start, seg.end, seg.text.strip(), words, float(np.exp(seg.avg_logprob))))
        return Transcript(from_whisper(info.language), out, info.language_probability, task)

    def draft(self, audio: Audio, language: str | None = None, translate_to: str | None = None) -> str:
        """A quick hypothesis for streaming: greedy, no timestamps, and an encoder window fitted
        to the audio instead of Whisper's fixed 30 s.

        Whisper's encoder costs the same for 1 s as for 30 s because faster-whisper pads every
        input to 30 s; CTranslate2 accepts shorter windows. Too little padding makes Whisper loop
        (it was trained on padded 30 s windows), so the window keeps ``draft_pad_s`` of silence and
        is never under ``draft_min_s``. On the English dev prefixes 10 s / 4 s was 3.3x faster, with
        4.1% of words differing from the 30 s decode (``python benchmarks/draft_bench.py``).
        """
        samples = self._samples(audio)
        if not len(samples):
            return ""
        tokenizer, tokens, _ = self._decode_fitted(samples, language, translate_to)
        return tokenizer.decode(tokens).strip()

    def draft_words(self, audio: Audio, language: str | None = None, translate_to: str | None = None,
                    prompt: str | None = None, final: bool = False) -> list[Word]:
        """A streaming hypothesis with a time for each word (seconds from the start of ``audio``),
        decoded like ``draft`` on a window fitted to the audio: greedy, or with the full beam when
        ``final`` (an utterance's last pass). ``prompt`` is the text said just before the audio
        (Whisper's previous-text context), so a stream that has cut its window continues the same
        sentence. Word times come from the cross-attention alignment faster-whisper uses for its
        own word timestamps: one more decoder pass, about a fifth of a greedy draft's time."""
        samples = self._samples(audio)
        if not len(samples):
            return []
        code = self._check_language(language)
        tokenizer, tokens, encoded = self._decode_fitted(samples, language, translate_to, prompt,
                                                         self.beam_size if final else 1)
        tokens = [t for t in tokens if t < tokenizer.eot]
        if not tokens:
            return []
        from faster_whisper.transcribe import merge_punctuations

        alignment = self.model.find_alignment(tokenizer, [tokens], encoded, len(samples) // 160)[0]
        merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")  # faster-whisper's defaults
        duration = len(samples) / SAMPLE_RATE
        words: list[Word] = []
        for piece in alignment:
            text, start, end, prob = piece["word"], piece["start"], piece["end"], piece["probability"]
            start, end = min(float(start), duration), min(float(end), duration)
            if not text.strip():
                continue
            if words and not text.startswith(" ") and code not in UNSPACED:
                # a piece of the same word ("cold" "-hearted"): one word, as the text has it
                last = words[-1]
                words[-1] = Word(last.start, max(last.end, end), last.text + text.strip(), last.probability)
            else:
                words.append(Word(start, end, text.strip(), float(prob)))
        return words

    def _decode_fitted(self, samples: np.ndarray, language: str | None, translate_to: str | None,
                       prompt: str | None = None, beam_size: int = 1):
        """Decode ``samples`` on an encoder window fitted to them: (tokenizer, token ids, encoder
        output)."""
        code = self._check_language(language)
        task = "translate" if translate_to is not None and translate_to != language else "transcribe"
        model = self.model
        seconds = min(30.0, max(self.draft_min_s, len(samples) / SAMPLE_RATE + self.draft_pad_s))
        padded = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
        padded[: min(len(samples), len(padded))] = samples[: len(padded)]
        frames = int(seconds * 100)
        features = model.feature_extractor(padded)[:, :frames]
        import ctranslate2

        tokenizer, suppressed = self._draft_tokenizer(task, code)
        encoded = model.model.encode(ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features[None], dtype=np.float32)), to_cpu=False)
        previous = []
        if prompt and prompt.strip():
            # Whisper's own limit for previous text: half its 448-token context.
            previous = [tokenizer.sot_prev] + tokenizer.encode(" " + prompt.strip())[-(PROMPT_TOKENS - 1):]
        # A bound on length stops a rare repetition loop from costing a whole second (the
        # previous text counts towards CTranslate2's max_length).
        limit = int(len(samples) / SAMPLE_RATE * DRAFT_TOKENS_PER_S) + 12 + len(previous)
        result = model.model.generate(encoded, [previous + tokenizer.sot_sequence + [tokenizer.no_timestamps]],
                                      beam_size=beam_size, suppress_blank=True, max_length=min(448, limit),
                                      suppress_tokens=suppressed)
        return tokenizer, result[0].sequences_ids[0], encoded

    def _draft_tokenizer(self, task: str, code: str | None):
        """The tokenizer and suppressed tokens for drafts, built once per task and language (a
        stream asks for a draft every 0.32 s)."""
        key = (task, code)
        if key not in self._draft_tokenizers:
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens

            model = self.model
            multilingual = model.model.is_multilingual
            tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task=task if multilingual else None,
                                  language=(code or "en") if multilingual else None)
            self._draft_tokenizers[key] = (tokenizer, get_suppressed_tokens(tokenizer, [-1]))
        return self._draft_tokenizers[key]

    def detect_language(self, audio: Audio) -> tuple[str, float]:
        if self.model is not None and not self.multilingual:
            return "eng", 1.0
        code, prob, _ = self.model.detect_language(self._samples(audio))
        return from_whisper(code), float(prob)
