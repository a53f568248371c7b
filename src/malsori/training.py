"""The training loop every recipe shares (acoustic model, vocoder, separator): optimiser steps, a
log you can plot, atomic checkpoints with every random state, weights kept aside now and then,
Ctrl-C saving before it stops, and the ONNX export. Batches must be a pure function of the step
for a resume to be exact."""

from __future__ import annotations

import math
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from malsori.errors import DataError


class TrainingInterrupted(Exception):
    """Ctrl-C during training: the checkpoint was saved; ``--resume`` goes on from it."""


@dataclass
class RunFiles:
    """Where one run keeps its state: ``checkpoint``, ``log`` and (optionally) ``snapshots``."""

    checkpoint: Path
    log: Path
    snapshots: Path | None = None

    def open(self, resume: bool, owner: Path) -> dict | None:
        """The saved state to resume from (None for a fresh run); refuses to overwrite a run."""
        if self.checkpoint.exists() and not resume:
            raise DataError(f"{owner} already holds a training run: --resume to go on with it, or another folder")
        if resume and not self.checkpoint.exists():
            raise DataError(f"{owner}: no training run to resume (no {self.checkpoint.name})")
        return torch.load(self.checkpoint, weights_only=False) if resume else None


@dataclass
class Schedule:
    steps: int
    log_every: int
    checkpoint_every: int
    snapshot_every: int = 0


@dataclass
class Counters:
    step: int = 0
    wall_s: float = 0.0
    items: int = 0  # utterances (or clips) seen


def restore(saved: dict, model, optimizer, scheduler) -> Counters:
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    random.setstate(saved["python_rng"])
    return Counters(saved["step"], saved["wall_s"], saved["utterances"])


def run(files: RunFiles, model, optimizer, scheduler, schedule: Schedule, counters: Counters,
        step_losses: Callable[[int], tuple[dict, int]], columns: tuple[str, ...], record: Callable[[], dict],
        progress: Callable[[int, int, dict], None] | None, resume_hint: str) -> dict:
    """Train until ``schedule.steps``. ``step_losses(step)`` returns the losses of that step's batch
    (with "total" to minimise) and how many items it held; ``record()`` what the checkpoint must
    carry besides the states. Returns the last losses."""
    files.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if counters.step == 0 or not files.log.exists():
        files.log.write_text("step\twall_s\tutterances\t" + "\t".join(columns) + "\n")
    _truncate_log(files.log, counters.step)

    def save() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "step": counters.step,
                 "wall_s": counters.wall_s, "utterances": counters.items, **record()}
        _atomic_save(state, files.checkpoint)

    model.train()
    started, losses = time.perf_counter(), {}
    previous = _stop_on_sigterm()
    try:
        with files.log.open("a") as log:
            while counters.step < schedule.steps:
                out, items = step_losses(counters.step)
                optimizer.zero_grad(set_to_none=True)
                out["total"].backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                counters.step += 1
                counters.items += items
                losses = {k: out[k].item() for k in columns if k in out}
                if not all(math.isfinite(v) for v in losses.values()):
                    raise DataError(f"step {counters.step}: the loss is not finite ({losses}); lower the learning rate")
                now = time.perf_counter()
                counters.wall_s += now - started
                started = now
                step = counters.step
                if step % schedule.log_every == 0 or step == schedule.steps:
                    values = "\t".join(f"{losses.get(k, 0.0):.4f}" for k in columns)
                    log.write(f"{step}\t{counters.wall_s:.1f}\t{counters.items}\t{values}\n")
                    log.flush()
                if step % schedule.checkpoint_every == 0:
                    save()
                if files.snapshots is not None and schedule.snapshot_every and step % schedule.snapshot_every == 0:
                    files.snapshots.mkdir(exist_ok=True)
                    _atomic_save({"model": model.state_dict(), "step": step, "wall_s": counters.wall_s, **record()},
                                 files.snapshots / f"step-{step}.pt")
                if progress:
                    progress(step, schedule.steps, losses)
    except KeyboardInterrupt:
        save()
        raise TrainingInterrupted(f"stopped at step {counters.step}; saved: `{resume_hint} --resume` goes on from here") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    save()
    return losses


def _stop_on_sigterm():
    """``kill`` (and a job run in the background, where Ctrl-C's SIGINT is ignored) stops training
    the way Ctrl-C does: checkpoint first. Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _atomic_save(state: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the checkpoint a resumed run starts from)."""
    lines = path.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [ln for ln in lines[1:] if int(ln.split("\t", 1)[0]) <= step]
    if len(kept) != len(lines):
        path.write_text("".join(kept))


def load_trained(path: Path, build: Callable[[dict], torch.nn.Module], what: str):
    """(model in eval mode, the checkpoint's record) from a run's ``checkpoint.pt``; ``build`` makes
    the model from the record's ``model_config``."""
    if not path.is_file():
        raise DataError(f"{what}: no training run ({path})")
    saved = torch.load(path, weights_only=False)
    model = build(saved["model_config"])
    model.load_state_dict(saved["model"])
    return model.eval(), saved


def inverse_sqrt(warmup: int):
    """Learning-rate factor: linear warm-up, then inverse square root."""
    def factor(step: int) -> float:
        step = step + 1
        return min(step / warmup, math.sqrt(warmup / step))
    return factor


def read_log(path: Path) -> dict:
    import numpy as np

    if not path.is_file():
        raise DataError(f"no training log at {path}")
    rows = [ln.split("\t") for ln in path.read_text().splitlines()]
    header, body = rows[0], rows[1:]
    return {name: np.array([float(r[i]) for r in body]) for i, name in enumerate(header)}


OPSET = 17


def to_onnx(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], axes: dict) -> None:
    """One graph, written atomically. The TorchScript exporter: it handles the length regulator's
    data-dependent frame count, which the export of ``torch.export`` refuses."""
    import warnings

    tmp = path.with_name(path.name + ".tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants: expected
        warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter": chosen, see above
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    tmp.replace(path)
