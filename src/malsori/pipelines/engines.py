"""Choosing engines for a request: which recogniser, translator and voice serve a language pair.

The defaults are the embedded models (OFFLINE_MODELS); users and tests inject their own. Every
refusal names the model that would make the request possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from malsori.errors import LanguageError
from malsori.languages import LANGUAGES
from malsori.models.catalog import is_available
from malsori.protocols import Recognizer, SpeechToSpeech, Synthesizer, TextTranslator


def _name(code: str) -> str:
    lang = LANGUAGES.get(code)
    return f"{lang.name} ({code})" if lang else code


def default_recognizers(model_dir=None, compute_type: str = "int8") -> list[Recognizer]:
    from malsori.engines.asr.whisper import WhisperRecognizer

    engines: list[Recognizer] = []
    # tiny.en first: for English it is faster than base and at least as accurate.
    if is_available("whisper-tiny.en"):
        engines.append(WhisperRecognizer("whisper-tiny.en", compute_type=compute_type))
    if is_available("whisper-base"):
        engines.append(WhisperRecognizer("whisper-base", compute_type=compute_type))
    return engines


def default_translators() -> list[TextTranslator]:
    from malsori.engines.mt.apertium import ApertiumTranslator

    engines: list[TextTranslator] = [ApertiumTranslator()]
    if is_available("nllb-200"):
        from malsori.engines.mt.nllb import NllbTranslator

        engines.append(NllbTranslator())
    return engines


def default_synthesizers() -> list[Synthesizer]:
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.engines.tts.piper import PiperSynthesizer

    engines: list[Synthesizer] = []
    if is_available("piper-en-joe"):
        engines.append(PiperSynthesizer())
    if is_available("mbrola-hn1"):
        # Before eSpeak NG: Whisper reads its Korean back at a fraction of the error.
        from malsori.engines.tts.mbrola import MbrolaKoreanSynthesizer

        engines.append(MbrolaKoreanSynthesizer())
    engines.append(EspeakSynthesizer())
    return engines


def build_engine(model_id: str, model_dir=None, compute_type: str = "int8"):
    """An engine for a catalog id (the CLI's --model)."""
    if model_id.startswith("whisper"):
        from malsori.engines.asr.whisper import WhisperRecognizer

        return WhisperRecognizer(model_id, model_dir=model_dir, compute_type=compute_type)
    if model_id == "vosk-ko":
        from malsori.engines.asr.vosk import VoskRecognizer

        return VoskRecognizer(model_dir=model_dir)
    if model_id == "seamless-m4t-v2":
        from malsori.engines.seamless import SeamlessEngine

        return SeamlessEngine(model_dir=model_dir)
    if model_id == "nllb-200":
        from malsori.engines.mt.nllb import NllbTranslator

        return NllbTranslator(model_dir=model_dir)
    raise LanguageError(f"model {model_id!r} cannot be used for translation; `malsori models list` shows the catalog")


@dataclass
class Route:
    """The engines that serve one request. ``asr_target`` is set when the recogniser itself
    translates (Whisper into English); ``pivot`` when text goes through English on its way."""

    recognizer: Recognizer | None = None
    asr_target: str | None = None
    translators: list[TextTranslator] = field(default_factory=list)
    pivot: str | None = None
    synthesizer: Synthesizer | None = None
    end_to_end: SpeechToSpeech | None = None

    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Run texts through the translator chain (one step, or two through the pivot). ``src`` is
        the language the recogniser wrote, which is ``asr_target`` when it translated itself."""
        lang = self.asr_target or src
        for step, engine in enumerate(self.translators):
            out = tgt if step == len(self.translators) - 1 else self.pivot
            texts, lang = engine.translate(texts, lang, out), out
        return texts

    def describe(self) -> dict:
        return {
            "asr": getattr(self.recognizer, "name", None),
            "asr_translates_to": self.asr_target,
            "mt": [t.name for t in self.translators],
            "pivot": self.pivot,
            "tts": getattr(self.synthesizer, "name", None),
            "end_to_end": getattr(self.end_to_end, "name", None),
        }


class EngineSet:
    """Lazily built pools of engines plus the routing rules over them."""

    def __init__(self, recognizers: Sequence[Recognizer] | None = None,
                 translators: Sequence[TextTranslator] | None = None,
                 synthesizers: Sequence[Synthesizer] | None = None,
                 factory_args: dict | None = None):
        self._given = {"asr": recognizers, "mt": translators, "tts": synthesizers}
        self._pools: dict[str, list] = {}
        self._factories: dict[str, Callable[[], list]] = {
            "asr": lambda: default_recognizers(**(factory_args or {})),
            "mt": default_translators,
            "tts": default_synthesizers,
        }

    def pool(self, kind: str) -> list:
        if kind not in self._pools:
            given = self._given[kind]
            self._pools[kind] = list(given) if given is not None else self._factories[kind]()
        return self._pools[kind]

    # --- recognition -------------------------------------------------------------------------
    def language_identifier(self) -> Recognizer:
        for engine in self.pool("asr"):
            if engine.languages() is None and hasattr(engine, "detect_language"):
                return engine
        raise LanguageError("cannot detect the spoken language with the installed models; pass --src "
                            "(whisper-base enables language id)")

    def recognizer(self, src: str) -> Recognizer:
        for engine in self.pool("asr"):
            langs = engine.languages()
            if langs is None or src in langs:
                return engine
        raise LanguageError(f"no installed speech recogniser for {_name(src)}; whisper-base covers 99 languages")

    def speech_translator(self, src: str, tgt: str) -> Recognizer | None:
        """A recogniser that goes straight from ``src`` speech to ``tgt`` text, if any."""
        for engine in self.pool("asr"):
            langs = engine.languages()
            targets = engine.translation_targets()
            if (langs is None or src in langs) and (targets is None or tgt in targets):
                return engine
        return None

    # --- text translation --------------------------------------------------------------------
    def text_translators(self, src: str, tgt: str) -> tuple[list[TextTranslator], str | None]:
        if src == tgt:
            return [], None
        for engine in self.pool("mt"):
            if engine.supports(src, tgt):
                return [engine], None
        if "eng" not in (src, tgt):
            first = next((e for e in self.pool("mt") if e.supports(src, "eng")), None)
            second = next((e for e in self.pool("mt") if e.supports("eng", tgt)), None)
            if first and second:
                return [first, second], "eng"
        raise LanguageError(f"no installed text translator for {_name(src)} -> {_name(tgt)}; "
                            "NLLB-200 (malsori models import) covers 200 languages")

    # --- synthesis ---------------------------------------------------------------------------
    def synthesizer(self, tgt: str) -> Synthesizer:
        for engine in self.pool("tts"):
            if tgt in engine.voice_languages():
                return engine
        raise LanguageError(f"no installed voice speaks {_name(tgt)}; espeak-ng (apt-get install espeak-ng) "
                            "covers about 100 languages")

    # --- whole routes ------------------------------------------------------------------------
    def route(self, task: str, src: str, tgt: str) -> Route:
        route = Route()
        speech_in = task in ("asr", "s2tt", "s2st")
        if task == "s2st":
            for engine in self.pool("asr"):
                if isinstance(engine, SpeechToSpeech) and tgt in engine.voice_languages():
                    route.end_to_end = engine
                    return route
        if task == "asr" or (speech_in and src == tgt):
            route.recognizer = self.recognizer(src)
        elif speech_in:
            direct = self.speech_translator(src, tgt)
            if direct is not None:
                route.recognizer, route.asr_target = direct, tgt
            else:
                try:
                    route.translators, route.pivot = self.text_translators(src, tgt)
                    route.recognizer = self.recognizer(src)
                except LanguageError:
                    # No text path from src: the recogniser translates speech to English, then text.
                    to_english = self.speech_translator(src, "eng")
                    if to_english is None:
                        raise
                    route.translators, _ = self.text_translators("eng", tgt)
                    route.recognizer, route.asr_target, route.pivot = to_english, "eng", "eng"
        else:
            route.translators, route.pivot = self.text_translators(src, tgt)
        if task in ("s2st", "t2st"):
            route.synthesizer = self.synthesizer(tgt)
        return route
