"""What the servers (HTTP, OpenAI-compatible, Wyoming) share: recognisers loaded once per model
and shared by all connections, the voices a client can name, and a guess at a text's language."""

from __future__ import annotations

import re
import threading

from malsori.errors import MalsoriError

RECOGNISER_BACKENDS = ("faster-whisper", "vosk")  # whole-file recognisers a client can ask for by name


class UnknownModel(MalsoriError):
    """A client asked for a model this server does not have (the message starts with its name)."""


class Recognizers:
    """The recognisers behind model names, each loaded on first use. ``aliases`` (a protocol's own
    names, OpenAI's ``whisper-1``) and None mean the default."""

    def __init__(self, aliases: tuple[str, ...] = ()):
        self.aliases = aliases
        self._engines: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, model: str | None):
        from malsori.models.catalog import CATALOG, is_available

        model_id = default_recognizer_id() if model is None or model in self.aliases else model
        if not _is_recogniser(CATALOG.get(model_id)):
            raise UnknownModel(f"`{model}` does not exist or is not a speech recogniser (the list: "
                               f"{', '.join([*self.aliases, *installed_recognisers()])})")
        if not is_available(model_id):
            raise UnknownModel(f"`{model}` is not installed here (malsori models import)")
        with self._lock:
            if model_id not in self._engines:
                from malsori.pipelines.engines import build_engine

                self._engines[model_id] = build_engine(model_id)
            return self._engines[model_id]


def default_recognizer_id() -> str:
    from malsori.models.catalog import is_available

    return next((m for m in ("whisper-base", "whisper-tiny.en") if is_available(m)), "whisper-base")


def installed_recognisers() -> list[str]:
    from malsori.models.catalog import CATALOG, is_available

    return [m for m, card in CATALOG.items() if _is_recogniser(card) and is_available(m)]


def installed_voices() -> list[str]:
    """Voices imported with ``malsori models import`` (trained, Piper, MMS-TTS), by name."""
    from malsori.models.catalog import voices_dir

    return sorted(p.name for p in voices_dir().iterdir() if p.is_dir()) if voices_dir().is_dir() else []


def _is_recogniser(card) -> bool:
    return card is not None and "asr" in card.tasks and card.backend in RECOGNISER_BACKENDS


def guess_language(text: str) -> str:
    """Korean when most letters are Hangul, otherwise English (clients can say otherwise)."""
    letters = [c for c in text if c.isalpha()]
    hangul = sum(1 for c in letters if "\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e")
    return "kor" if letters and hangul >= 0.5 * len(letters) else "eng"


def check_voice_name(name: str | None) -> str | None:
    """A voice a client names: installed voices and engines' voices have names; a path on the
    server is refused."""
    if name is not None and (re.fullmatch(r"[\w.+-]+", name) is None or name.startswith(".")):
        raise MalsoriError("voice: give an installed voice's name, not a path (paths on the server are refused)")
    return name
