"""SeamlessM4T v2 through transformers: recognition, speech and text translation, and speech output.

One object serves all five tasks (ASR, S2TT, T2TT, T2ST, S2ST) so that the 9 GB model loads once.
It reads only a local directory (``malsori models import``); nothing is fetched from a hub.
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.errors import AudioError, LanguageError, MalsoriError, ModelError
from malsori.languages import LANGUAGES, normalize_language
from malsori.models import resolve
from malsori.protocols import Segment, Transcript

SAMPLE_RATE = 16_000
INSTALL_HINT = "pip install 'malsori[seamless]'"

# The 98 codes SeamlessM4T v2 large reads and writes as text: the ``__xxx__`` tokens
# of its tokenizer and the keys of generation_config.text_decoder_lang_to_code_id.
TEXT_CODES = frozenset("""
    afr amh arb ary arz asm azj bel ben bos bul cat ceb ces ckb cmn cmn_Hant cym dan deu ell eng est
    eus fin fra fuv gaz gle glg guj heb hin hrv hun hye ibo ind isl ita jav jpn kan kat kaz khk khm kir
    kor lao lit lug luo lvs mai mal mar mkd mlt mni mya nld nno nob npi nya ory pan pbt pes pol por ron
    rus sat slk slv sna snd som spa srp swe swh tam tel tgk tgl tha tur ukr urd uzn vie yor yue zlm zul
""".split())

# The 36 it can speak: the keys of generation_config.vocoder_lang_code_to_id.
SPEECH_CODES = frozenset("""
    arb ben cat ces cmn cym dan deu eng est fin fra hin ind ita jpn kor mlt nld pes pol por ron rus slk
    spa swe swh tel tgl tha tur ukr urd uzn vie
""".split())

# malsori's canonical code -> Seamless's, where they differ. Seamless has one Malay and calls it zlm.
_TO_SEAMLESS = {"zsm": "zlm"}
_FROM_SEAMLESS = {seamless: ours for ours, seamless in _TO_SEAMLESS.items()}

# generate() needs all of these on the generation config; from_pretrained silently drops them when
# the config was saved as derived from the model config, so check rather than fail deep in torch.
_GENERATION_TABLES = ("text_decoder_lang_to_code_id", "t2u_lang_code_to_id", "vocoder_lang_code_to_id",
                      "id_to_text", "char_to_id")


def _describe(code: str) -> str:
    lang = LANGUAGES.get(code)
    return f"{lang.name} ({code})" if lang else code


def to_malsori(seamless_code: str) -> str:
    return _FROM_SEAMLESS.get(seamless_code, seamless_code)


def canonical(code: str) -> str:
    """malsori's code for ``code``; Seamless's own codes that malsori does not list (``ckb``,
    ``cmn_Hant``) pass through so that all of its languages stay reachable."""
    raw = code.strip() if isinstance(code, str) else code
    if raw in TEXT_CODES:
        return to_malsori(raw)
    return normalize_language(code)


def seamless_code(code: str, allowed: frozenset[str], what: str) -> str:
    """Seamless's code for ``code``, or LanguageError when ``allowed`` lacks it."""
    ours = canonical(code)
    mapped = _TO_SEAMLESS.get(ours, ours)
    if mapped not in allowed:
        raise LanguageError(f"seamless-m4t-v2 cannot {what} {_describe(ours)}")
    return mapped


def _text_code(code: str) -> str:
    return seamless_code(code, TEXT_CODES, "read or write text in")


def _speech_code(code: str) -> str:
    return seamless_code(code, SPEECH_CODES, "speak")


def _speaker_id(voice: str | int | None, speakers: int) -> int:
    if voice is None or voice == "":
        return 0
    try:
        speaker = int(voice)
    except (TypeError, ValueError):
        speaker = -1
    if not 0 <= speaker < speakers:
        raise MalsoriError(f"seamless-m4t-v2 voices are speaker numbers 0..{speakers - 1}, not {voice!r}")
    return speaker


class SeamlessEngine:
    """Recognizer, TextTranslator, Synthesizer and SpeechToSpeech over SeamlessM4T v2.

    The model loads on first use. ``max_new_tokens`` bounds the text generated per call (the
    model's own default is 256).
    """

    def __init__(self, model_id: str = "seamless-m4t-v2", model_dir: str | os.PathLike | None = None,
                 device: str = "cpu", max_new_tokens: int = 256, batch_size: int = 8):
        self.model_id = model_id
        self.name = model_id
        self._model_dir = model_dir
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self._model = None
        self._processor = None
        self._path = None
        self._load_lock = threading.Lock()
        # generate() switches the shared model between its speech and text encoders and the
        # tokenizer keeps the source language as state, so two calls must not overlap.
        self._run_lock = threading.RLock()

    # --- what it covers ----------------------------------------------------------------------
    def languages(self) -> set[str]:
        """Recognizer: the languages whose text its decoder writes (so routing never sends it others)."""
        return self.text_languages()

    def translation_targets(self) -> set[str]:
        return self.text_languages()

    def text_languages(self) -> set[str]:
        return {to_malsori(code) for code in TEXT_CODES}

    def voice_languages(self) -> set[str]:
        """Synthesizer and SpeechToSpeech: the 36 languages it speaks."""
        return {to_malsori(code) for code in SPEECH_CODES}

    def supports(self, src: str, tgt: str) -> bool:
        try:
            _text_code(src)
            _text_code(tgt)
        except LanguageError:
            return False
        return True

    # --- loading -----------------------------------------------------------------------------
    def _loaded(self):
        with self._load_lock:
            if self._model is None:
                self._load()
            return self._model, self._processor

    def _load(self) -> None:
        path = resolve(self.model_id, self._model_dir)
        try:
            import torch  # noqa: F401  (transformers imports it lazily; fail here with the hint)
            from transformers import AutoProcessor, SeamlessM4Tv2Model
        except ImportError:
            raise ModelError(f"{self.model_id} needs PyTorch and transformers: {INSTALL_HINT}") from None
        try:
            processor = AutoProcessor.from_pretrained(str(path), local_files_only=True)
            model = SeamlessM4Tv2Model.from_pretrained(str(path), local_files_only=True)
            model = model.to(self.device).eval()
        except Exception as exc:  # transformers reports missing or corrupt files in many shapes
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"{self.model_id}: cannot load SeamlessM4T v2 from {path}: {first}") from None
        for table in _GENERATION_TABLES:
            if not getattr(model.generation_config, table, None):
                raise ModelError(f"{self.model_id}: {path / 'generation_config.json'} lacks {table}; "
                                 "copy it from facebook/seamless-m4t-v2-large")
        self._model, self._processor, self._path = model, processor, path

    def _require(self, model, table: str, code: str, what: str) -> None:
        """The files on disk are the final word: a language in our lists but not in the model's."""
        if code not in getattr(model.generation_config, table):
            raise LanguageError(f"{self.model_id}: the model in {self._path} cannot {what} "
                                f"{_describe(to_malsori(code))}")

    # --- inputs and outputs ------------------------------------------------------------------
    def _speech_inputs(self, processor, audio: Audio) -> dict:
        samples = audio.to_mono().resample(SAMPLE_RATE).samples
        if samples.size == 0:
            raise AudioError("the audio is empty")
        inputs = processor(audio=samples, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        return {key: value.to(self.device) for key, value in inputs.items()}

    def _text_inputs(self, processor, texts: list[str], src: str) -> dict:
        token = f"__{src}__"
        if processor.tokenizer.convert_tokens_to_ids(token) == processor.tokenizer.unk_token_id:
            raise LanguageError(f"{self.model_id}: the tokenizer in {self._path} has no {token} token")
        inputs = processor(text=texts, src_lang=src, padding=True, return_tensors="pt")
        return {key: value.to(self.device) for key, value in inputs.items()}

    def _generate_text(self, model, processor, inputs: dict, tgt: str) -> list[str]:
        self._require(model, "text_decoder_lang_to_code_id", tgt, "write text in")
        output = model.generate(**inputs, tgt_lang=tgt, generate_speech=False, max_new_tokens=self.max_new_tokens)
        return [text.strip() for text in processor.batch_decode(output.sequences, skip_special_tokens=True)]

    def _generate_speech(self, model, processor, inputs: dict, tgt: str, speaker: int) -> tuple[str, Audio]:
        for table in ("text_decoder_lang_to_code_id", "t2u_lang_code_to_id", "vocoder_lang_code_to_id"):
            self._require(model, table, tgt, "speak")
        output = model.generate(**inputs, tgt_lang=tgt, speaker_id=speaker, return_intermediate_token_ids=True,
                                max_new_tokens=self.max_new_tokens)
        length = int(output.waveform_lengths.reshape(-1)[0])
        samples = output.waveform[0, :length].detach().float().cpu().numpy()
        text = processor.batch_decode(output.sequences, skip_special_tokens=True)[0].strip()
        rate = int(getattr(model.config, "sampling_rate", SAMPLE_RATE))
        return text, Audio(np.clip(samples, -1.0, 1.0), rate)

    # --- Recognizer --------------------------------------------------------------------------
    def transcribe(self, audio: Audio, language: str | None = None, translate_to: str | None = None) -> Transcript:
        """ASR when ``translate_to`` is None or the spoken language, else speech-to-text translation.

        ``Transcript.language`` is the spoken language when it is known, else the text's.
        """
        spoken = canonical(language) if language is not None else None
        target = canonical(translate_to) if translate_to is not None else None
        task = "translate" if target is not None and target != spoken else "transcribe"
        if task == "transcribe":
            if spoken is None:
                raise LanguageError(f"{self.model_id} cannot identify the spoken language; pass --src")
            tgt = _text_code(language)
        else:
            tgt = _text_code(translate_to)
        model, processor = self._loaded()
        with self._run_lock:
            text = self._generate_text(model, processor, self._speech_inputs(processor, audio), tgt)[0]
        segment = Segment(0.0, audio.duration, text)
        return Transcript(spoken or to_malsori(tgt), [segment], None, task)

    def detect_language(self, audio: Audio) -> tuple[str, float]:
        # SeamlessM4T has no language-id head; guessing from decoder scores over 100 languages
        # would cost 100 decodes and still not be calibrated.
        raise LanguageError(f"{self.model_id} cannot identify the spoken language; pass --src "
                            "(whisper-base identifies 99 languages)")

    # --- TextTranslator ----------------------------------------------------------------------
    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        src_code, tgt_code = _text_code(src), _text_code(tgt)
        results = ["" for _ in texts]
        # Blank inputs stay blank instead of becoming whatever the decoder invents.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return results
        if src_code == tgt_code:
            return [text.strip() for text in texts]
        model, processor = self._loaded()
        with self._run_lock:
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start:start + self.batch_size]
                inputs = self._text_inputs(processor, [" ".join(texts[i].split()) for i in batch], src_code)
                for i, out in zip(batch, self._generate_text(model, processor, inputs, tgt_code)):
                    results[i] = out
        return results

    # --- Synthesizer -------------------------------------------------------------------------
    def synthesize(self, text: str, language: str, voice: str | None = None) -> Audio:
        """Text to speech in ``language`` (T2ST with the same source and target)."""
        code = _speech_code(language)
        if not text.strip():
            return Audio(np.zeros(0, np.float32), SAMPLE_RATE)
        model, processor = self._loaded()
        speaker = _speaker_id(voice, int(model.config.vocoder_num_spkrs))
        with self._run_lock:
            inputs = self._text_inputs(processor, [" ".join(text.split())], code)
            _, speech = self._generate_speech(model, processor, inputs, code, speaker)
        return speech

    # --- SpeechToSpeech ----------------------------------------------------------------------
    def speech_to_speech(self, audio: Audio, tgt: str, src: str | None = None,
                         voice: str | None = None) -> tuple[Transcript, Audio]:
        """Speech in any language to ``tgt`` speech, end to end; the transcript is the target text.

        ``src`` is only checked: the speech encoder does not need to be told the language.
        """
        if src is not None:
            canonical(src)
        code = _speech_code(tgt)
        model, processor = self._loaded()
        speaker = _speaker_id(voice, int(model.config.vocoder_num_spkrs))
        with self._run_lock:
            inputs = self._speech_inputs(processor, audio)
            text, speech = self._generate_speech(model, processor, inputs, code, speaker)
        transcript = Transcript(to_malsori(code), [Segment(0.0, audio.duration, text)], None, "translate")
        return transcript, speech
