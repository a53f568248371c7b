"""Latent-diffusion text-to-audio through diffusers: Stable Audio Open (a DiT over an Oobleck
autoencoder's latents, 44.1 kHz stereo), AudioLDM 2 (a UNet over mel-spectrogram latents, a
HiFi-GAN vocoder, 16 kHz), AudioLDM and MusicLDM. Their pipelines share one calling convention:
a prompt, a negative prompt, a number of denoising steps, a guidance scale and a torch generator.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.engines.generation import GenerationSettings, StepHook, first_line, read_json
from malsori.errors import ModelError

# One pass of a model that has no hard limit (AudioLDM's UNet is convolutional) is still bounded:
# its memory grows with the length, and it was trained on 10 s clips.
UNBOUNDED_MAX_S = 60.0


class DiffusersAudioGenerator:
    def __init__(self, model_dir: str | Path, family: str, dtype: str = "float32"):
        self.model_dir = Path(model_dir)
        self.family = family
        self.dtype = dtype
        self.name = f"{family}:{self.model_dir.name}"
        self._pipe = None
        self.default_steps = _default_steps(self.model_dir)
        self.max_duration_s = UNBOUNDED_MAX_S
        if family == "stable-audio-open":
            # The transformer's positions cover this many latent frames of the autoencoder.
            transformer = read_json(self.model_dir / "transformer" / "config.json", required=True)
            vae = read_json(self.model_dir / "vae" / "config.json", required=True)
            try:
                hop = int(np.prod(vae.get("downsampling_ratios", [2, 4, 4, 8, 8])))
                self.max_duration_s = int(transformer["sample_size"]) * hop / int(vae.get("sampling_rate", 44100))
            except (KeyError, TypeError, ValueError):
                raise ModelError(f"{self.model_dir}: transformer/config.json is not Stable Audio's") from None

    def _load(self):
        if self._pipe is None:
            try:
                from diffusers import DiffusionPipeline
            except ImportError:
                raise ModelError(f"{self.family} needs diffusers and torch: pip install 'malsori[generate]'") from None
            from diffusers.utils import logging
            from transformers.utils import logging as transformers_logging

            logging.disable_progress_bar()  # malsori shows its own
            transformers_logging.disable_progress_bar()
            import torch

            try:
                self._pipe = DiffusionPipeline.from_pretrained(self.model_dir, local_files_only=True,
                                                               torch_dtype=getattr(torch, self.dtype))
            except (OSError, ValueError, RuntimeError, KeyError, ImportError, AttributeError) as exc:
                raise ModelError(f"{self.model_dir}: cannot load the {self.family} pipeline ({first_line(exc)})") from None
            self._pipe.set_progress_bar_config(disable=True)
        return self._pipe

    @property
    def sample_rate(self) -> int:
        pipe = self._load()
        if hasattr(pipe, "vocoder"):
            return int(pipe.vocoder.config.sampling_rate)
        return int(pipe.vae.sampling_rate)

    def generate(self, prompt: str, settings: GenerationSettings, on_step: StepHook | None = None) -> Audio:
        import torch

        pipe = self._load()
        accepts = inspect.signature(pipe.__call__).parameters
        options = {"negative_prompt": settings.negative, "generator": torch.Generator().manual_seed(settings.seed),
                   "output_type": "np"}
        if "audio_end_in_s" in accepts:
            options["audio_end_in_s"] = settings.duration_s
        else:
            options["audio_length_in_s"] = settings.duration_s
        steps = settings.steps or self.default_steps
        options["num_inference_steps"] = steps
        if settings.guidance is not None:
            options["guidance_scale"] = settings.guidance
        if on_step is not None and "callback" in accepts:
            options["callback"] = lambda step, timestep, latents: on_step(step + 1, steps)
            options["callback_steps"] = 1
        with torch.inference_mode():
            audios = pipe(prompt, **options).audios
        samples = np.asarray(audios[0]).astype(np.float32)  # (samples,) or (channels, samples)
        rate = self.sample_rate
        wanted = int(round(settings.duration_s * rate))
        if samples.ndim == 2:
            samples = samples[:, :wanted].T
            return Audio(samples[:, 0] if samples.shape[1] == 1 else samples, rate)
        return Audio(samples[:wanted], rate)


def _default_steps(path: Path) -> int | None:
    """The pipeline class's own default number of denoising steps (100 for Stable Audio Open, 200
    for AudioLDM 2), read off its signature without loading the weights."""
    try:
        import diffusers

        name = read_json(path / "model_index.json", required=True)["_class_name"]
        return int(inspect.signature(getattr(diffusers, name).__call__).parameters["num_inference_steps"].default)
    except (ImportError, AttributeError, KeyError, TypeError, ValueError, ModelError):
        return None
