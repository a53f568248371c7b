"""Voices from a folder or file on disk: a voice trained by ``malsori tts train``, a Piper voice
(``.onnx`` + ``.onnx.json``, any language), or Facebook MMS-TTS (VITS in transformers format, e.g.
``mms-tts-kor``). Nothing is downloaded: what is on disk is what speaks."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError, ModelError
from malsori.languages import normalize_language


def local_voice(path: Path, speaker: str | None = None, emotion: str | None = None, style_ref: Audio | None = None,
                vocoder: str | None = None):
    """The engine for a voice on disk, by what the path holds."""
    from malsori.engines.tts.trained.voice import TrainedVoice, is_voice_dir

    path = Path(path)
    if is_voice_dir(path):
        return TrainedVoice(path, speaker=speaker, emotion=emotion, style_ref=style_ref, vocoder=vocoder or "auto")
    if style_ref is not None or emotion or speaker or vocoder:
        raise ModelError(f"{path}: --style-ref, --emotion, --speaker and --vocoder need a voice trained by malsori")
    piper = piper_voice_file(path)
    if piper is not None:
        from malsori.engines.tts.piper import PiperSynthesizer

        return PiperSynthesizer(model_id=f"piper:{piper.stem}", voice_path=piper, language=piper_language(piper))
    if (path / "config.json").is_file() and _model_type(path) == "vits":
        return MmsSynthesizer(path)
    raise ModelError(f"{path}: not a voice (a malsori voice folder, a Piper .onnx voice with its .onnx.json, "
                     "or an MMS-TTS model folder)")


def piper_voice_file(path: Path) -> Path | None:
    if path.is_file() and path.suffix == ".onnx":
        return path
    if path.is_dir():
        found = sorted(p for p in path.glob("*.onnx") if p.with_suffix(".onnx.json").is_file())
        return found[0] if found else None
    return None


def piper_language(onnx: Path) -> str:
    """ISO 639-3 of a Piper voice, from its config (``language.code`` such as ``ko_KR``, else the
    eSpeak voice)."""
    config_path = onnx.with_suffix(".onnx.json")
    if not config_path.is_file():
        raise ModelError(f"{onnx}: no {config_path.name} beside it (Piper voices come as .onnx + .onnx.json)")
    config = json.loads(config_path.read_text())
    code = (config.get("language") or {}).get("code") or (config.get("espeak") or {}).get("voice") or ""
    language = normalize_language(code.replace("_", "-").split("-")[0]) if code else None
    if not language:
        raise ModelError(f"{config_path}: no language in the voice's config")
    return language


def _model_type(path: Path) -> str:
    try:
        return json.loads((path / "config.json").read_text()).get("model_type", "")
    except (OSError, json.JSONDecodeError):
        return ""


class MmsSynthesizer:
    """Massively Multilingual Speech TTS (VITS, one model per language) through transformers'
    ``VitsModel``, from a local folder. The language comes from the tokenizer's config or the folder
    name (``mms-tts-kor``); models trained on romanised text get ``uroman`` applied by the tokenizer."""

    supports_speed = True

    def __init__(self, model_dir: str | Path, language: str | None = None, seed: int = 0):
        self.model_dir = Path(model_dir)
        self.name = f"mms:{self.model_dir.name}"
        language = language or _mms_language(self.model_dir)
        if not language:
            raise ModelError(f"{model_dir}: which language? (no 'language' in tokenizer_config.json and the folder "
                             "is not named mms-tts-XXX)")
        self._language = normalize_language(language)
        self.seed = seed
        self._loaded = None
        self._lock = threading.Lock()

    def voice_languages(self) -> set[str]:
        return {self._language}

    def _load(self):
        with self._lock:
            if self._loaded is None:
                from transformers import AutoTokenizer, VitsModel

                try:
                    model = VitsModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
                    tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
                except Exception as exc:
                    raise ModelError(f"{self.model_dir}: cannot load the MMS-TTS model: {str(exc).splitlines()[0]}") from None
                self._loaded = (model, tokenizer)
            return self._loaded

    @property
    def sample_rate(self) -> int:
        return int(self._load()[0].config.sampling_rate)

    def synthesize(self, text: str, language: str | None = None, voice: str | None = None, speed: float = 1.0) -> Audio:
        import torch

        if language is not None and normalize_language(language) != self._language:
            raise LanguageError(f"{self.name} speaks only {self._language}")
        model, tokenizer = self._load()
        inputs = tokenizer(text, return_tensors="pt")
        if inputs["input_ids"].shape[1] == 0:
            raise LanguageError(f"{self.name}: nothing in {text!r} that the model's alphabet can spell")
        model.speaking_rate = float(speed)
        torch.manual_seed(self.seed)  # VITS samples its durations and latents: fixed seed, same speech
        with torch.inference_mode():
            waveform = model(**inputs).waveform[0].numpy().astype(np.float32)
        return Audio(waveform, self.sample_rate)


def _mms_language(model_dir: Path) -> str | None:
    config = model_dir / "tokenizer_config.json"
    if config.is_file():
        try:
            language = json.loads(config.read_text()).get("language")
        except json.JSONDecodeError:
            language = None
        if language:
            return language
    name = model_dir.name.lower()
    if name.startswith("mms-tts-"):
        return name[len("mms-tts-"):].split("-")[0]
    return None
