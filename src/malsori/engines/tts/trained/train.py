"""The training recipe: ``malsori tts train DATA_DIR -o VOICE_DIR``.

Everything needed to go on lives in ``VOICE_DIR/training/``: the feature cache, ``checkpoint.pt``
(model, optimiser, schedule, random state) written atomically every few hundred steps and on
Ctrl-C, and ``log.tsv`` (one line per logged step; ``--plot`` draws it). Batches are a pure
function of (seed, step), so a resumed run continues exactly as the uninterrupted one would have.
At the end (or with ``--export-only``) the voice is exported to ONNX beside it (``export``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from malsori.engines.tts.trained.data import Batcher, Corpus, Curriculum, DataError, prepare
from malsori.training import TrainingInterrupted  # noqa: F401 (the CLI catches it from here)
from malsori.training import Counters, RunFiles, Schedule, inverse_sqrt, restore, run
from malsori.training import read_log as read_run_log
from malsori.engines.tts.trained.model import AcousticModel, ModelConfig, parameter_count

LOSSES = ("total", "mel", "duration", "pitch", "energy", "align", "binarize", "one_frame")


@dataclass
class Recipe:
    channels: int = 160
    encoder_layers: int = 4
    decoder_layers: int = 6
    decoder_block: str = "convnext"
    style_dim: int = 32
    steps: int = 8000
    batch_frames: int = 6000  # mel frames a batch (~70 s of speech at 22.05 kHz, hop 256)
    learning_rate: float = 1e-3
    warmup: int = 1000
    binarize_from: float = 0.2  # fraction of training after which the alignment is pushed to be hard,
    binarize_ramp: float = 0.1  # its weight growing to 1 over this fraction
    checkpoint_every: int = 500
    snapshot_every: int = 2000  # weights alone kept aside (training/snapshots/), for quality against training time
    log_every: int = 25
    seed: int = 0
    curriculum: Curriculum = field(default_factory=Curriculum)


RECIPES = {
    # 2.9 M parameters, a ConvNeXt decoder: on the emotiontts pack (44 min) 8,000 steps took 95 min
    # on 2 cores and gave 19.6% CER on unseen sentences (docs/benchmarks.md)
    "small": Recipe(),
    # the previous recipe, plain convolutions in the decoder (2.2 M): 12,000 steps, 102 min, 25.4%
    "small-conv": Recipe(decoder_block="conv", decoder_layers=5, steps=12000),
    # seconds of training, for tests and for checking a data folder end to end
    "tiny": Recipe(channels=32, encoder_layers=2, decoder_layers=2, style_dim=8, steps=200, batch_frames=2000,
                   learning_rate=3e-3, warmup=20, checkpoint_every=50, snapshot_every=0, log_every=5),
}


@dataclass
class TrainResult:
    voice_dir: Path
    step: int
    wall_s: float  # training time, all sessions of this run together
    losses: dict
    parameters: int
    utterances_per_s: float


def training_dir(voice_dir: Path) -> Path:
    return Path(voice_dir) / "training"


def model_for(corpus: Corpus, recipe: Recipe) -> AcousticModel:
    config = ModelConfig(n_symbols=len(corpus.phone_set.symbols), n_speakers=len(corpus.speakers),
                         n_mels=corpus.features.n_mels, channels=recipe.channels,
                         encoder_layers=recipe.encoder_layers, decoder_layers=recipe.decoder_layers,
                         decoder_block=recipe.decoder_block, style_dim=recipe.style_dim)
    return AcousticModel(config)


def train(data_dir: str | Path, voice_dir: str | Path, recipe: Recipe | str = "small", steps: int | None = None,
          resume: bool = False, language: str = "kor", sample_rate: int | None = None,
          progress: Callable[[int, int, dict], None] | None = None, export: bool = True,
          seed: int | None = None) -> TrainResult:
    """Train (or with ``resume`` continue) a voice from ``data_dir`` into ``voice_dir``. ``seed``
    (the recipe's by default) sets the initial weights and the batches: runs that differ only in
    it show how much a recipe's result owes to chance."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    if seed is not None:
        recipe = replace(recipe, seed=seed)
    voice_dir = Path(voice_dir)
    work = training_dir(voice_dir)
    files = RunFiles(work / "checkpoint.pt", work / "log.tsv", work / "snapshots")
    saved = files.open(resume, voice_dir)
    if saved is not None:
        # runs saved before the decoder had a choice used plain convolutions
        recipe = replace(Recipe(**{"decoder_block": "conv", **saved["recipe"],
                                   "curriculum": Curriculum(**saved["recipe"]["curriculum"])}),
                         steps=recipe.steps if steps is not None else saved["recipe"]["steps"])
        language, sample_rate = saved["language"], saved["sample_rate"]
        if seed is not None and seed != recipe.seed:
            raise DataError(f"{voice_dir}: the saved run has seed {recipe.seed}; a resumed run keeps it")

    corpus = prepare(data_dir, work, language, sample_rate)
    torch.manual_seed(recipe.seed)
    model = model_for(corpus, recipe)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=(0.9, 0.98), weight_decay=1e-6)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, inverse_sqrt(recipe.warmup))
    counters = Counters()
    if saved is not None:
        if saved["symbols"] != corpus.phone_set.symbols or saved["speakers"] != corpus.speakers:
            raise DataError(f"{data_dir}: not the data this run was started on (other speakers or symbols)")
        counters = restore(saved, model, optimizer, scheduler)

    batcher = Batcher(corpus, recipe.batch_frames, recipe.seed, recipe.curriculum)
    def step_losses(step: int):
        batch = batcher.batch(step, recipe.steps)
        return model(batch, binarize=binarize_weight(recipe, step)), len(batch["speaker"])

    def record() -> dict:
        return {"recipe": asdict(recipe), "language": language, "sample_rate": corpus.features.sample_rate,
                "symbols": corpus.phone_set.symbols, "speakers": corpus.speakers,
                "model_config": model.config.to_dict(), "data_dir": str(Path(data_dir).resolve())}

    schedule = Schedule(recipe.steps, recipe.log_every, recipe.checkpoint_every, recipe.snapshot_every)
    losses = run(files, model, optimizer, scheduler, schedule, counters, step_losses, LOSSES, record, progress,
                 f"malsori tts train {data_dir} -o {voice_dir}")
    if export:
        from malsori.engines.tts.trained.export import export_voice

        export_voice(voice_dir, corpus=corpus)
    return TrainResult(voice_dir, counters.step, counters.wall_s, losses, parameter_count(model),
                       counters.items / max(counters.wall_s, 1e-9))


def binarize_weight(recipe: Recipe, step: int) -> float:
    """0 until the soft alignment has settled, then rising linearly to 1."""
    start, ramp = recipe.binarize_from * recipe.steps, max(recipe.binarize_ramp * recipe.steps, 1.0)
    return float(np.clip((step - start) / ramp, 0.0, 1.0))


def read_log(voice_dir: Path) -> dict[str, np.ndarray]:
    return read_run_log(training_dir(voice_dir) / "log.tsv")


def plot_log(voice_dir: Path, output: Path | None = None) -> Path:
    """The losses against training time, as a PNG beside the log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(Path(voice_dir))
    output = output or training_dir(voice_dir) / "log.png"
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    for ax, name in zip(axes.flat, ("mel", "duration", "pitch", "energy", "align", "one_frame")):
        ax.plot(log["wall_s"] / 60, log[name])
        ax.set_title(name)
    for ax in axes[1]:
        ax.set_xlabel("training minutes")
    fig.tight_layout()
    fig.savefig(output)
    plt.close(fig)
    return output


def load_checkpoint(voice_dir: Path, snapshot: int | None = None) -> tuple[AcousticModel, dict]:
    """The latest checkpoint's model (or the weights kept aside at step ``snapshot``) and its record."""
    path = training_dir(voice_dir) / "checkpoint.pt"
    if not path.is_file():
        raise DataError(f"{voice_dir}: no checkpoint ({path})")
    saved = torch.load(path, weights_only=False)
    if snapshot is not None:
        kept = training_dir(voice_dir) / "snapshots" / f"step-{snapshot}.pt"
        if not kept.is_file():
            raise DataError(f"{voice_dir}: no weights kept at step {snapshot}")
        saved = {**saved, **torch.load(kept, weights_only=False)}
    model = AcousticModel(ModelConfig.from_dict(saved["model_config"]))
    model.load_state_dict(saved["model"])
    model.eval()
    return model, saved


def card_training(saved: dict, corpus: Corpus) -> dict:
    return {"data": saved["data_dir"], "utterances": len(corpus.items), "minutes": round(corpus.minutes, 1),
            "speakers": len(corpus.speakers), "steps": saved["step"], "wall_s": round(saved["wall_s"], 1),
            "recipe": json.loads(json.dumps(saved["recipe"]))}
