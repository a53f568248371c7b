"""A small neural vocoder that runs at frame rate (in the manner of Vocos, Siuzdak 2023): from a
log-mel frame and the speaker, a stack of ConvNeXt blocks predicts each STFT frame's magnitude
and phase, and one inverse STFT makes the waveform. No upsampling network and no autoregression,
so it trains and runs on a CPU. Trained here with spectral losses only (no adversary), which keeps
training cheap; Griffin-Lim (``features.griffin_lim``) remains the training-free choice.

    malsori tts train-vocoder DATA_DIR -o VOICE_DIR     # after (or before) the acoustic model
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from malsori.engines.tts.trained.data import Corpus, DataError, prepare, read_metadata
from malsori.engines.tts.trained.features import FeatureConfig, mel_basis
from malsori.training import Counters, RunFiles, Schedule, inverse_sqrt, load_trained, restore, run

LOSSES = ("total", "stft", "mel")


@dataclass
class VocoderConfig:
    n_mels: int = 80
    n_fft: int = 1024
    hop: int = 256
    channels: int = 192
    layers: int = 6
    n_speakers: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class VocoderRecipe:
    channels: int = 192
    layers: int = 6
    steps: int = 20000
    batch: int = 16
    frames: int = 48  # mel frames a clip (~0.56 s at 22.05 kHz, hop 256)
    learning_rate: float = 1e-3
    warmup: int = 500
    checkpoint_every: int = 500
    log_every: int = 25
    seed: int = 0


VOCODER_RECIPES = {
    "small": VocoderRecipe(),
    "tiny": VocoderRecipe(channels=16, layers=1, steps=60, batch=4, frames=16, learning_rate=3e-3, warmup=10,
                          checkpoint_every=20, log_every=5),
}


class ConvNeXtBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.up = nn.Linear(channels, 3 * channels)
        self.down = nn.Linear(3 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.depthwise(x).transpose(1, 2))
        return x + self.down(F.gelu(self.up(y))).transpose(1, 2)


class Vocoder(nn.Module):
    def __init__(self, config: VocoderConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.inp = nn.Conv1d(config.n_mels, c, 7, padding=3)
        self.speaker = nn.Embedding(max(config.n_speakers, 1), c)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(c) for _ in range(config.layers)))
        self.norm = nn.LayerNorm(c)
        self.out = nn.Conv1d(c, config.n_fft + 2, 1)

    def forward(self, mel: torch.Tensor, speaker: torch.Tensor):
        """Normalised log-mel (B, T, n_mels) -> log-magnitude and phase, each (B, bins, T)."""
        x = self.inp(mel.transpose(1, 2)) + self.speaker(speaker).unsqueeze(-1)
        x = self.norm(self.blocks(x).transpose(1, 2)).transpose(1, 2)
        log_magnitude, phase = self.out(x).chunk(2, dim=1)
        return torch.clamp(log_magnitude, max=8.0), phase

    def waveform(self, mel: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        log_magnitude, phase = self(mel, speaker)
        spectrum = torch.polar(torch.exp(log_magnitude), phase)
        window = torch.hann_window(self.config.n_fft)
        return torch.istft(spectrum, self.config.n_fft, self.config.hop, window=window, center=True,
                           length=(mel.shape[1] - 1) * self.config.hop)


def spectral_loss(predicted: torch.Tensor, target: torch.Tensor, config: FeatureConfig) -> dict:
    """Multi-resolution STFT loss (spectral convergence + log-magnitude L1) and log-mel L1."""
    stft_loss = predicted.new_zeros(())
    for n_fft, hop in ((512, 128), (1024, 256), (2048, 512)):
        window = torch.hann_window(n_fft)
        p = torch.stft(predicted, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        t = torch.stft(target, n_fft, hop, window=window, return_complex=True).abs().clamp(min=1e-7)
        stft_loss = stft_loss + torch.linalg.norm(t - p) / torch.linalg.norm(t) + (p.log() - t.log()).abs().mean()
    basis = torch.from_numpy(mel_basis(config))
    window = torch.hann_window(config.n_fft)
    pm = basis @ torch.stft(predicted, config.n_fft, config.hop, window=window, return_complex=True).abs()
    tm = basis @ torch.stft(target, config.n_fft, config.hop, window=window, return_complex=True).abs()
    mel_loss = (pm.clamp(min=1e-5).log() - tm.clamp(min=1e-5).log()).abs().mean()
    return {"stft": stft_loss / 3, "mel": mel_loss, "total": stft_loss / 3 + mel_loss}


def _waveforms(data_dir: Path, corpus: Corpus, cache: Path) -> list[np.ndarray]:
    """The training audio at the voice's rate, int16, cached beside the features."""
    from malsori.audio import load_audio

    if cache.is_file():
        return torch.load(cache, weights_only=False)
    rate = corpus.features.sample_rate
    waves = [np.clip(load_audio(u.path).to_mono().resample(rate).samples * 32767, -32768, 32767).astype(np.int16)
             for u in read_metadata(Path(data_dir))]
    tmp = cache.with_suffix(".tmp")
    torch.save(waves, tmp)
    tmp.replace(cache)
    return waves


def clips(corpus: Corpus, waves: list[np.ndarray], recipe: VocoderRecipe, step: int) -> dict:
    """``recipe.batch`` random clips of ``recipe.frames`` mel frames and their audio: a pure
    function of (seed, step), as the resume needs."""
    rng = np.random.default_rng([recipe.seed, step, 2])
    stats, hop = corpus.stats, corpus.features.hop
    mels, audio, speakers = [], [], []
    for _ in range(recipe.batch):
        k = int(rng.integers(len(corpus.items)))
        item, wave = corpus.items[k], waves[k]
        frames = min(recipe.frames, item.frames, len(wave) // hop)
        start = int(rng.integers(max(item.frames - frames, 0) + 1))
        mel = (item.mel[start:start + frames] - stats["mel_mean"]) / stats["mel_std"]
        mels.append(np.pad(mel, ((0, recipe.frames - frames), (0, 0)), constant_values=float(mel.min())))
        segment = wave[start * hop:(start + recipe.frames - 1) * hop].astype(np.float32) / 32768
        audio.append(np.pad(segment, (0, (recipe.frames - 1) * hop - len(segment))))
        speakers.append(item.speaker)
    return {"mel": torch.from_numpy(np.stack(mels).astype(np.float32)), "audio": torch.from_numpy(np.stack(audio)),
            "speaker": torch.tensor(speakers)}


def vocoder_dir(voice_dir: Path) -> Path:
    return Path(voice_dir) / "training" / "vocoder"


def train_vocoder(data_dir: str | Path, voice_dir: str | Path, recipe: VocoderRecipe | str = "small",
                  steps: int | None = None, resume: bool = False, language: str = "kor",
                  sample_rate: int | None = None, progress: Callable[[int, int, dict], None] | None = None,
                  export: bool = True) -> tuple[int, float, dict]:
    """Train (or continue) the voice's vocoder on ``data_dir``; returns (steps, wall seconds, losses)."""
    recipe = VOCODER_RECIPES[recipe] if isinstance(recipe, str) else recipe
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    voice_dir = Path(voice_dir)
    work = vocoder_dir(voice_dir)
    files = RunFiles(work / "checkpoint.pt", work / "log.tsv")
    saved = files.open(resume, voice_dir / "training" / "vocoder")
    if saved is not None:
        recipe = replace(VocoderRecipe(**saved["recipe"]), steps=recipe.steps if steps is not None else saved["recipe"]["steps"])
        language, sample_rate = saved["language"], saved["sample_rate"]
    corpus = prepare(data_dir, voice_dir / "training", language, sample_rate)
    waves = _waveforms(Path(data_dir), corpus, voice_dir / "training" / f"waves-{corpus.features.sample_rate}.pt")
    torch.manual_seed(recipe.seed)
    config = VocoderConfig(corpus.features.n_mels, corpus.features.n_fft, corpus.features.hop, recipe.channels,
                           recipe.layers, len(corpus.speakers))
    model = Vocoder(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=(0.8, 0.99))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, inverse_sqrt(recipe.warmup))
    counters = restore(saved, model, optimizer, scheduler) if saved is not None else Counters()

    def step_losses(step: int):
        batch = clips(corpus, waves, recipe, step)
        return spectral_loss(model.waveform(batch["mel"], batch["speaker"]), batch["audio"], corpus.features), recipe.batch

    def record() -> dict:
        return {"recipe": asdict(recipe), "language": language, "sample_rate": corpus.features.sample_rate,
                "speakers": corpus.speakers, "model_config": config.to_dict()}

    schedule = Schedule(recipe.steps, recipe.log_every, recipe.checkpoint_every)
    losses = run(files, model, optimizer, scheduler, schedule, counters, step_losses, LOSSES, record, progress,
                 f"malsori tts train-vocoder {data_dir} -o {voice_dir}")
    quality = compare_with_griffin_lim(model.eval(), corpus, waves)
    (work / "quality.json").write_text(json.dumps(quality))
    if export:
        export_vocoder(voice_dir)
    return counters.step, counters.wall_s, losses


def compare_with_griffin_lim(model: Vocoder, corpus: Corpus, waves: list[np.ndarray], count: int = 8) -> dict:
    """Log-mel L1 against the recording of the vocoder's waveform and of Griffin-Lim's (32
    iterations), both from the recording's own mel, over ``count`` utterances: the voice uses its
    vocoder only where it measured better (a vocoder trained too briefly is worse)."""
    from malsori.engines.tts.trained.features import griffin_lim, log_mel

    config, stats = corpus.features, corpus.stats
    errors = {"mel_error": [], "griffin_lim_mel_error": []}
    for k in np.linspace(0, len(corpus.items) - 1, min(count, len(corpus.items))).astype(int):
        item, truth = corpus.items[k], waves[k].astype(np.float32) / 32768
        mel = log_mel(truth, config)
        with torch.no_grad():
            ours = model.waveform(torch.from_numpy(((mel - stats["mel_mean"]) / stats["mel_std"])[None].astype(np.float32)),
                                  torch.tensor([item.speaker]))[0].numpy()
        for key, audio in (("mel_error", ours), ("griffin_lim_mel_error", griffin_lim(mel, config))):
            heard = log_mel(audio, config)
            n = min(len(heard), len(mel))
            errors[key].append(float(np.abs(heard[:n] - mel[:n]).mean()))
    return {key: round(float(np.mean(v)), 4) for key, v in errors.items()}


def load_vocoder(voice_dir: Path) -> tuple[Vocoder, dict]:
    return load_trained(vocoder_dir(voice_dir) / "checkpoint.pt", lambda c: Vocoder(VocoderConfig(**c)),
                        f"{voice_dir} (vocoder)")


def export_vocoder(voice_dir: str | Path) -> Path:
    """``vocoder.onnx`` beside the voice's graphs, and the card says so with how it compared with
    Griffin-Lim (the voice uses it by default only where it measured better)."""
    voice_dir = Path(voice_dir)
    card_path = voice_dir / "voice.json"
    if not card_path.is_file():
        raise DataError(f"{voice_dir}: export the acoustic model first (no voice.json)")
    card = json.loads(card_path.read_text())
    model, saved = load_vocoder(voice_dir)
    if saved["speakers"] != card["speakers"] or saved["sample_rate"] != card["sample_rate"]:
        raise DataError(f"{voice_dir}: the vocoder was trained on other speakers or another sample rate than the voice")
    from malsori.training import to_onnx

    example = (torch.randn(1, 20, model.config.n_mels), torch.zeros(1, dtype=torch.long))
    to_onnx(model, example, voice_dir / "vocoder.onnx", ["mel", "speaker"], ["log_magnitude", "phase"],
            {"mel": {1: "frames"}, "log_magnitude": {2: "frames"}, "phase": {2: "frames"}})
    quality = vocoder_dir(voice_dir) / "quality.json"
    card["vocoder"] = {"kind": "frame-rate STFT (Vocos-like)", "steps": saved["step"], "wall_s": round(saved["wall_s"], 1),
                       "parameters": sum(p.numel() for p in model.parameters()),
                       **(json.loads(quality.read_text()) if quality.is_file() else {})}
    tmp_card = card_path.with_suffix(".tmp")
    tmp_card.write_text(json.dumps(card, ensure_ascii=False, indent=2))
    tmp_card.replace(card_path)
    return voice_dir / "vocoder.onnx"
