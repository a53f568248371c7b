"""MusicGen and AudioGen through transformers' ``MusicgenForConditionalGeneration``.

Both are the same kind of model (Copet et al. 2023; Kreuk et al. 2022): a T5 encoder reads the
prompt, a transformer decoder writes EnCodec tokens (4 codebooks, one step apart), EnCodec
decodes them, and classifier-free guidance mixes the prompt's logits with the empty prompt's.
A step is one EnCodec frame (50 a second), so the duration sets the number of steps.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.engines.generation import GenerationSettings, StepHook, first_line, read_json
from malsori.errors import MalsoriError, ModelError


class MusicGenGenerator:
    default_steps = None

    def __init__(self, model_dir: str | Path, family: str = "musicgen", dtype: str = "float32"):
        self.model_dir = Path(model_dir)
        self.family = family
        self.dtype = dtype
        self.name = f"{family}:{self.model_dir.name}"
        self._model = self._processor = None
        config = read_json(self.model_dir / "config.json", required=True)
        audio = config.get("audio_encoder", {})
        decoder = config.get("decoder", {})
        try:
            hop = int(np.prod(audio.get("upsampling_ratios", [8, 5, 4, 2])))
            self.sample_rate = int(audio["sampling_rate"])
            self.frame_rate = self.sample_rate / hop
            self.num_codebooks = int(decoder.get("num_codebooks", 4))
            positions = int(decoder.get("max_position_embeddings", 2048))
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{self.model_dir}: config.json is not a MusicGen configuration") from None
        # The decoder's position table bounds one pass; the codebook delays take a few steps of it.
        self.max_duration_s = (positions - self.num_codebooks - 1) / self.frame_rate

    def _load(self):
        if self._model is None:
            try:
                from transformers import AutoProcessor, MusicgenForConditionalGeneration
            except ImportError:
                raise ModelError("MusicGen needs transformers and torch: pip install 'malsori[generate]'") from None
            from transformers.utils import logging

            logging.disable_progress_bar()  # malsori shows its own
            import torch

            try:
                self._model = MusicgenForConditionalGeneration.from_pretrained(
                    self.model_dir, dtype=getattr(torch, self.dtype)).eval()
                self._processor = AutoProcessor.from_pretrained(self.model_dir)
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise ModelError(f"{self.model_dir}: cannot load MusicGen ({first_line(exc)})") from None
        return self._model, self._processor

    def generate(self, prompt: str, settings: GenerationSettings, on_step: StepHook | None = None) -> Audio:
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        if settings.negative:
            raise MalsoriError(f"{self.family} takes no negative prompt (its guidance is against the empty prompt)")
        model, processor = self._load()
        frames = max(1, math.ceil(settings.duration_s * self.frame_rate))
        total = frames + self.num_codebooks - 1  # the last codebook starts this many steps late

        class Progress(LogitsProcessor):
            def __init__(self):
                self.done = 0

            def __call__(self, input_ids, scores):
                self.done += 1
                if on_step is not None:
                    on_step(min(self.done, total), total)
                return scores

        torch.manual_seed(settings.seed)
        inputs = processor(text=[prompt], padding=True, return_tensors="pt")
        options = {"do_sample": True, "max_new_tokens": total, "logits_processor": LogitsProcessorList([Progress()])}
        if settings.guidance is not None:
            options["guidance_scale"] = settings.guidance
        with torch.inference_mode():
            values = model.generate(**inputs, **options)
        samples = values[0].float().numpy()  # (channels, samples)
        wanted = int(round(settings.duration_s * self.sample_rate))
        samples = samples[:, :wanted]
        if samples.shape[1] < wanted:
            samples = np.pad(samples, ((0, 0), (0, wanted - samples.shape[1])))
        return Audio(samples[0] if samples.shape[0] == 1 else samples.T, self.sample_rate)

