"""Text to audio: "a man speaks while typing on a keyboard" -> that sound, from a model on disk.

``TextToAudio(model).generate(prompt, duration_s)`` yields one ``GeneratedAudio`` per output as
it is made (a lazy generator, so a long batch can be written as it goes and a failure keeps what
finished); ``write_generated`` writes each atomically with a JSON sidecar. ``generate`` is the
one-call form the package exports. The model is a catalog id imported with ``malsori models
import`` (audiogen, stable-audio-open, audioldm2, musicgen) or a folder; with none given, the
first one imported is used, and with none imported the error says which to import and how.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from malsori.audio import Audio
from malsori.engines.generation import AudioGenerator, GenerationSettings, generator_family, load_generator
from malsori.errors import MalsoriError, ModelError

GENERATION_MODELS = ("audiogen", "stable-audio-open", "audioldm2", "musicgen")
MAX_PROMPT_CHARS = 2_000
MAX_OUTPUTS = 16
MAX_STEPS = 1_000
OUTPUT_SUFFIXES = (".wav", ".flac", ".ogg")
ProgressHook = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class GeneratedAudio:
    audio: Audio
    prompt: str
    model: str
    seed: int
    index: int
    duration_s: float
    steps: int | None = None
    negative: str | None = None
    guidance: float | None = None
    dtype: str = "float32"
    timings: dict[str, float] = field(default_factory=dict)

    def sidecar(self) -> dict:
        """What reproduces this output: the same model, prompt, seed and settings."""
        return {"prompt": self.prompt, "negative": self.negative, "model": self.model, "seed": self.seed,
                "index": self.index, "duration_s": self.duration_s, "steps": self.steps, "guidance": self.guidance,
                "dtype": self.dtype,
                "sample_rate": self.audio.sample_rate, "channels": self.audio.channels,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()}}


def generation_model_dir(model: str | Path | None) -> Path:
    """The folder of ``model``: a catalog id, a folder, or None for the first imported model."""
    from malsori.models.catalog import CATALOG, imported_dir, resolve

    if model is None:
        for model_id in GENERATION_MODELS:
            if imported_dir(model_id).is_dir():
                return _checked(imported_dir(model_id))
        hints = "; ".join(f"{m}: {CATALOG[m].install_hint}" for m in GENERATION_MODELS)
        raise ModelError(f"no text-to-audio model is installed (none ships with malsori). Import one: {hints}")
    if str(model) in GENERATION_MODELS:
        return _checked(resolve(str(model)))
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(f"{model}: neither a text-to-audio model id ({', '.join(GENERATION_MODELS)}) nor a folder")
    return _checked(path)


def _checked(path: Path) -> Path:
    """A folder ``malsori models import`` made has a manifest: every file must still match it."""
    from malsori.models.catalog import sha256_file

    manifest = path / "malsori-manifest.json"
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text())["files"]
        except (OSError, ValueError, KeyError):
            raise ModelError(f"{manifest}: unreadable manifest; import the model again") from None
        for rel, sha in files.items():
            if not (path / rel).is_file():
                raise ModelError(f"{path}: {rel} is missing; import the model again")
            if sha256_file(path / rel) != sha:
                raise ModelError(f"{path}: {rel} does not match its sha256 (corrupt or replaced); import the model again")
    if generator_family(path) is None:
        raise ModelError(f"{path}: not a text-to-audio model (MusicGen in transformers format, or a diffusers "
                         "audio pipeline: Stable Audio Open, AudioLDM 2)")
    return path


class TextToAudio:
    """``generate(prompt, duration_s, ...) -> Iterator[GeneratedAudio]``. The model loads on first use;
    tests inject a ``generator``."""

    def __init__(self, model: str | Path | None = None, generator: AudioGenerator | None = None, dtype: str = "float32"):
        self._model = model
        self._generator = generator
        self.dtype = dtype

    @property
    def generator(self) -> AudioGenerator:
        if self._generator is None:
            self._generator = load_generator(generation_model_dir(self._model), self.dtype)
        return self._generator

    def check(self, prompt: str, duration_s: float, count: int = 1, steps: int | None = None) -> str:
        """The prompt as it will be used, or a one-line error for a request that cannot be met;
        called before any work."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise MalsoriError("the prompt is empty: say what the audio should sound like")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise MalsoriError(f"the prompt is {len(prompt):,} characters; at most {MAX_PROMPT_CHARS:,}")
        if not duration_s > 0:
            raise MalsoriError(f"the duration must be above 0 s (got {duration_s:g})")
        if not 1 <= count <= MAX_OUTPUTS:
            raise MalsoriError(f"the number of outputs must be 1 to {MAX_OUTPUTS} (got {count})")
        if steps is not None and not 1 <= steps <= MAX_STEPS:
            raise MalsoriError(f"the number of steps must be 1 to {MAX_STEPS} (got {steps})")
        generator = self.generator
        if duration_s > generator.max_duration_s + 1e-6:
            raise MalsoriError(f"{generator.family} makes at most {generator.max_duration_s:.1f} s in one pass "
                               f"(asked {duration_s:g} s)")
        return prompt

    def generate(self, prompt: str, duration_s: float = 5.0, *, count: int = 1, seed: int | None = None,
                 steps: int | None = None, negative: str | None = None, guidance: float | None = None,
                 hook: ProgressHook | None = None) -> Iterator[GeneratedAudio]:
        """Output ``i`` uses seed ``seed + i`` (a random seed when none is given, kept in the
        result), so any one output can be made again alone."""
        prompt = self.check(prompt, duration_s, count, steps)
        negative = (negative or "").strip() or None
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        generator = self.generator
        for index in range(count):
            used_steps = (steps or generator.default_steps) if generator.default_steps is not None else None
            settings = GenerationSettings(duration_s, seed + index, used_steps, negative, guidance)

            def on_step(done: int, total: int, index=index) -> None:
                if hook is not None:
                    hook(f"output {index + 1}/{count}", done, total)

            started = time.perf_counter()
            audio = generator.generate(prompt, settings, on_step)
            yield GeneratedAudio(audio, prompt, generator.name, settings.seed, index, duration_s, settings.steps,
                                 negative, guidance, getattr(generator, "dtype", "float32"),
                                 {"generate": time.perf_counter() - started})


def output_paths(output: str | Path, count: int) -> list[Path]:
    """``out.wav`` for one output; ``out-1.wav`` .. ``out-N.wav`` for several."""
    output = Path(output)
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{i + 1}{output.suffix}") for i in range(count)]


def write_generated(result: GeneratedAudio, path: str | Path) -> Path:
    """The audio and its sidecar (``out.json`` beside ``out.wav``), each written atomically."""
    from malsori.audio import save_audio
    from malsori.files import write_json

    path = Path(path)
    started = time.perf_counter()
    save_audio(path, result.audio)
    result.timings["write"] = time.perf_counter() - started
    write_json(path.with_suffix(".json"), {"audio": path.name, **result.sidecar()})
    return path


def generate(prompt: str, duration_s: float = 5.0, output: str | Path | None = None, *, model: str | Path | None = None,
             count: int = 1, seed: int | None = None, steps: int | None = None, negative: str | None = None,
             guidance: float | None = None, dtype: str = "float32", hook: ProgressHook | None = None) -> list[GeneratedAudio]:
    """Generate ``count`` clips; with ``output`` (.wav, .flac or .ogg) each is written as it is made."""
    from malsori.files import check_output

    paths = output_paths(output, count) if output is not None else []
    for path in paths:
        check_output(path, OUTPUT_SUFFIXES, "audio")
    results = []
    for result in TextToAudio(model, dtype=dtype).generate(prompt, duration_s, count=count, seed=seed, steps=steps,
                                              negative=negative, guidance=guidance, hook=hook):
        if paths:
            write_generated(result, paths[result.index])
        results.append(result)
    return results
