"""The training recipe: ``malsori tts train DATA_DIR -o VOICE_DIR``.

Everything needed to go on lives in ``VOICE_DIR/training/``: the feature cache, ``checkpoint.pt``
(model, optimiser, schedule, random state) written atomically every few hundred steps and on
Ctrl-C, and ``log.tsv`` (one line per logged step; ``--plot`` draws it). Batches are a pure
function of (seed, step), so a resumed run continues exactly as the uninterrupted one would have.
At the end (or with ``--export-only``) the voice is exported to ONNX beside it (``export``)."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from malsori.engines.tts.trained.data import Batcher, Corpus, Curriculum, DataError, prepare
from malsori.engines.tts.trained.model import AcousticModel, ModelConfig, parameter_count

LOSSES = ("total", "mel", "duration", "pitch", "energy", "align", "binarize")


@dataclass
class Recipe:
    channels: int = 160
    encoder_layers: int = 4
    decoder_layers: int = 5
    style_dim: int = 32
    steps: int = 20000
    batch_frames: int = 6000  # mel frames a batch (~70 s of speech at 22.05 kHz, hop 256)
    learning_rate: float = 1e-3
    warmup: int = 1000
    binarize_from: float = 0.1  # fraction of training after which the alignment is pushed to be hard
    checkpoint_every: int = 500
    snapshot_every: int = 2000  # weights alone kept aside (training/snapshots/), for quality against training time
    log_every: int = 25
    seed: int = 0
    curriculum: Curriculum = field(default_factory=Curriculum)


RECIPES = {
    # a few million parameters: readable speech from ~1 h of one speaker in a couple of CPU hours
    "small": Recipe(),
    # seconds of training, for tests and for checking a data folder end to end
    "tiny": Recipe(channels=32, encoder_layers=2, decoder_layers=2, style_dim=8, steps=200, batch_frames=2000,
                   learning_rate=3e-3, warmup=20, checkpoint_every=50, snapshot_every=0, log_every=5),
}


class TrainingInterrupted(Exception):
    """Ctrl-C during training: the checkpoint was saved; ``--resume`` goes on from it."""


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
                         style_dim=recipe.style_dim)
    return AcousticModel(config)


def _schedule(recipe: Recipe):
    def factor(step: int) -> float:  # linear warm-up, then inverse square root
        step = step + 1
        return min(step / recipe.warmup, math.sqrt(recipe.warmup / step))
    return factor


def train(data_dir: str | Path, voice_dir: str | Path, recipe: Recipe | str = "small", steps: int | None = None,
          resume: bool = False, language: str = "kor", sample_rate: int | None = None,
          progress: Callable[[int, int, dict], None] | None = None, export: bool = True) -> TrainResult:
    """Train (or with ``resume`` continue) a voice from ``data_dir`` into ``voice_dir``."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    voice_dir = Path(voice_dir)
    work = training_dir(voice_dir)
    checkpoint_path = work / "checkpoint.pt"
    if checkpoint_path.exists() and not resume:
        raise DataError(f"{voice_dir} already holds a training run: --resume to go on with it, or another folder")
    if resume and not checkpoint_path.exists():
        raise DataError(f"{voice_dir}: no training run to resume (no {checkpoint_path.relative_to(voice_dir)})")
    saved = torch.load(checkpoint_path, weights_only=False) if resume else None
    if saved is not None:
        recipe = replace(Recipe(**{**saved["recipe"], "curriculum": Curriculum(**saved["recipe"]["curriculum"])}),
                         steps=recipe.steps if steps is not None else saved["recipe"]["steps"])
        language, sample_rate = saved["language"], saved["sample_rate"]

    corpus = prepare(data_dir, work, language, sample_rate)
    torch.manual_seed(recipe.seed)
    model = model_for(corpus, recipe)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, betas=(0.9, 0.98), weight_decay=1e-6)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(recipe))
    step, wall, utterances = 0, 0.0, 0
    if saved is not None:
        if saved["symbols"] != corpus.phone_set.symbols or saved["speakers"] != corpus.speakers:
            raise DataError(f"{data_dir}: not the data this run was started on (other speakers or symbols)")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        random.setstate(saved["python_rng"])
        step, wall, utterances = saved["step"], saved["wall_s"], saved["utterances"]

    batcher = Batcher(corpus, recipe.batch_frames, recipe.seed, recipe.curriculum)
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "log.tsv"
    if not resume or not log_path.exists():
        log_path.write_text("step\twall_s\tutterances\t" + "\t".join(LOSSES) + "\n")
    _truncate_log(log_path, step)

    def save() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "step": step, "wall_s": wall,
                 "utterances": utterances, "recipe": asdict(recipe), "language": language,
                 "sample_rate": corpus.features.sample_rate,
                 "symbols": corpus.phone_set.symbols, "speakers": corpus.speakers,
                 "model_config": model.config.to_dict(),
                 "data_dir": str(Path(data_dir).resolve())}
        tmp = checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(checkpoint_path)

    def snapshot(at: int) -> None:
        folder = work / "snapshots"
        folder.mkdir(exist_ok=True)
        tmp = folder / f"step-{at}.tmp"
        torch.save({"model": model.state_dict(), "model_config": model.config.to_dict(), "step": at, "wall_s": wall}, tmp)
        tmp.replace(folder / f"step-{at}.pt")

    model.train()
    started, losses = time.perf_counter(), {}
    binarize_step = int(recipe.binarize_from * recipe.steps)
    try:
        with log_path.open("a") as log:
            while step < recipe.steps:
                batch = batcher.batch(step, recipe.steps)
                out = model(batch, binarize=1.0 if step >= binarize_step else 0.0)
                optimizer.zero_grad(set_to_none=True)
                out["total"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                utterances += len(batch["speaker"])
                losses = {k: out[k].item() for k in LOSSES if k in out}
                if not all(math.isfinite(v) for v in losses.values()):
                    raise DataError(f"step {step}: the loss is not finite ({losses}); lower the learning rate")
                now = time.perf_counter()
                wall += now - started
                started = now
                if step % recipe.log_every == 0 or step == recipe.steps:
                    values = "\t".join(f"{losses.get(k, 0.0):.4f}" for k in LOSSES)
                    log.write(f"{step}\t{wall:.1f}\t{utterances}\t{values}\n")
                    log.flush()
                if step % recipe.checkpoint_every == 0:
                    save()
                if recipe.snapshot_every and step % recipe.snapshot_every == 0:
                    snapshot(step)
                if progress:
                    progress(step, recipe.steps, losses)
    except KeyboardInterrupt:
        save()
        raise TrainingInterrupted(f"stopped at step {step}; saved: `malsori tts train {data_dir} -o {voice_dir} "
                                  "--resume` goes on from here") from None
    save()
    if export:
        from malsori.engines.tts.trained.export import export_voice

        export_voice(voice_dir, corpus=corpus)
    return TrainResult(voice_dir, step, wall, losses, parameter_count(model), utterances / max(wall, 1e-9))


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the checkpoint a resumed run starts from)."""
    lines = path.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split("\t", 1)[0]) <= step]
    if len(kept) != len(lines):
        path.write_text("".join(kept))


def read_log(voice_dir: Path) -> dict[str, np.ndarray]:
    path = training_dir(voice_dir) / "log.tsv"
    if not path.is_file():
        raise DataError(f"{voice_dir}: no training log")
    rows = [ln.split("\t") for ln in path.read_text().splitlines()]
    header, body = rows[0], rows[1:]
    return {name: np.array([float(r[i]) for r in body]) for i, name in enumerate(header)}


def plot_log(voice_dir: Path, output: Path | None = None) -> Path:
    """The losses against training time, as a PNG beside the log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(Path(voice_dir))
    output = output or training_dir(voice_dir) / "log.png"
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    for ax, name in zip(axes.flat, ("total", "mel", "duration", "pitch", "energy", "align")):
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
