"""Text-to-audio generators from local weights, one protocol over their libraries.

- ``musicgen.py``: MusicGen (transformers ``MusicgenForConditionalGeneration``: a T5 text
  encoder, a decoder over EnCodec codebooks, EnCodec).
- ``diffusion.py``: diffusers' audio pipelines (Stable Audio Open, AudioLDM 2, AudioLDM,
  MusicLDM), which share one calling convention.

``load_generator(folder)`` picks by what the folder holds. Nothing is downloaded.

AudioGen exists only as an audiocraft checkpoint, audiocraft pins a PyTorch older than ours, and
transformers has no AudioGen port; but its language model and EnCodec are MusicGen's classes, so
``audiocraft.py`` converts it into them (``malsori models convert-audiocraft``) and it then runs
here as a MusicGen folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from malsori.audio import Audio
from malsori.errors import ModelError

StepHook = Callable[[int, int], None]  # (steps done, total steps)
DIFFUSERS_PIPELINES = {"StableAudioPipeline": "stable-audio-open", "AudioLDM2Pipeline": "audioldm2",
                       "AudioLDMPipeline": "audioldm", "MusicLDMPipeline": "musicldm"}
MUSICGEN_TYPES = {"musicgen": "musicgen", "musicgen_melody": "musicgen"}
AUDIOCRAFT_UNSUPPORTED = ("{path}: an audiocraft checkpoint (AudioGen): convert it first with "
                          "malsori models convert-audiocraft {path} --text-encoder T5_FOLDER -o FOLDER")


@dataclass
class GenerationSettings:
    """What one generation call asks for. ``steps`` is the number of diffusion steps (diffusion
    models) and is ignored by token models, whose length follows the duration."""

    duration_s: float
    seed: int
    steps: int | None = None
    negative: str | None = None
    guidance: float | None = None


class AudioGenerator(Protocol):
    name: str
    family: str  # a catalog id: audiogen, musicgen, stable-audio-open, audioldm2...
    max_duration_s: float
    default_steps: int | None  # None: the model takes no steps (token models: the duration sets them)

    def generate(self, prompt: str, settings: GenerationSettings, on_step: StepHook | None = None) -> Audio: ...


def generator_family(path: Path) -> str | None:
    """The catalog id of the generator a folder holds, or None when it holds none."""
    path = Path(path)
    index = read_json(path / "model_index.json")
    if index is not None:
        return DIFFUSERS_PIPELINES.get(index.get("_class_name", ""))
    config = read_json(path / "config.json")
    if config is not None and config.get("model_type") in MUSICGEN_TYPES:
        # A folder converted from audiocraft by malsori says which model it was (AudioGen or MusicGen).
        return config.get("malsori_family") or MUSICGEN_TYPES[config["model_type"]]
    if (path / "state_dict.bin").is_file() and (path / "compression_state_dict.bin").is_file():
        return "audiocraft"
    return None


DTYPES = ("float32", "bfloat16")


def load_generator(path: str | Path, dtype: str = "float32") -> AudioGenerator:
    """``dtype`` bfloat16 halves the memory and, on CPUs with bfloat16 instructions (AVX512-BF16,
    AMX), runs MusicGen-sized models 2-3 times faster; elsewhere it is slower."""
    from malsori.errors import MalsoriError

    if dtype not in DTYPES:
        raise MalsoriError(f"unknown dtype {dtype!r}: choose {' or '.join(DTYPES)}")
    path = Path(path)
    family = generator_family(path)
    if family is None:
        raise ModelError(f"{path}: not a text-to-audio model (a transformers MusicGen folder with config.json, "
                         "or a diffusers pipeline folder with model_index.json)")
    if family == "audiocraft":
        raise ModelError(AUDIOCRAFT_UNSUPPORTED.format(path=path))
    if family in DIFFUSERS_PIPELINES.values():
        from malsori.engines.generation.diffusion import DiffusersAudioGenerator

        return DiffusersAudioGenerator(path, family, dtype)
    from malsori.engines.generation.musicgen import MusicGenGenerator

    return MusicGenGenerator(path, family, dtype)


def read_json(path: Path, required: bool = False) -> dict | None:
    """A model folder's JSON file as a dict; None when it is absent and not ``required``."""
    if not path.is_file():
        if required:
            raise ModelError(f"{path.parent}: {path.name} is missing")
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ModelError(f"{path}: not readable JSON") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a JSON object")
    return data


def first_line(exc: BaseException) -> str:
    """What a library's exception says, in one short line."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
