"""`malsori tts ...`: train a voice of your own from transcribed speech, export and inspect it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

tts_app = typer.Typer(no_args_is_help=True, help="train and export voices of your own")


def _fail(exc) -> None:
    from malsori.cli import _fail as fail

    fail(exc)


@tts_app.command("train")
def train(
    data_dir: Path = typer.Argument(..., help="audio files plus metadata.tsv (path, speaker, text[, emotion])"),
    output: Path = typer.Option(..., "-o", "--output", help="the voice folder to write"),
    recipe: str = typer.Option("small", "--recipe", help="small (2.9 M parameters, 8,000 steps: about 1.5 h on "
                               "2 cores), small-conv (the previous recipe) or tiny (a smoke test)"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="training steps (default: the recipe's)"),
    resume: bool = typer.Option(False, "--resume", help="go on with the run saved in the voice folder"),
    language: str = typer.Option("kor", "--lang", help="language of the transcripts (kor: malsori's Korean front-end)"),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate", help="resample all audio to this rate "
                                              "(needed when the files' rates differ)"),
    plot: bool = typer.Option(False, "--plot", help="draw the training log (losses against time) when done"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads (default: torch's)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="initial weights and batch order (default: the "
                                       "recipe's, 0); another seed shows how much a result owes to chance"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Train a voice: a FastSpeech-style model that learns its own alignment (no duration labels)."""
    from malsori.engines.tts.trained.train import RECIPES, plot_log, train as run
    from malsori.languages import normalize_language

    if recipe not in RECIPES:
        _fail(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    result = training_with_progress(
        lambda progress: run(data_dir, output, recipe, steps, resume, normalize_language(language), sample_rate, progress,
                             seed=seed),
        threads, quiet)
    if plot:
        typer.echo(f"log plotted -> {plot_log(output)}", err=True)
    typer.echo(f"{result.step} steps, {result.wall_s / 60:.1f} min, {result.parameters / 1e6:.1f} M parameters, "
               f"{result.utterances_per_s:.1f} utterances/s -> {output}", err=True)


@tts_app.command("train-vocoder")
def train_vocoder(
    data_dir: Path = typer.Argument(..., help="the recordings the voice was trained on (or more of the same speakers)"),
    output: Path = typer.Option(..., "-o", "--output", help="the voice folder (its vocoder.onnx is written there)"),
    recipe: str = typer.Option("small", "--recipe", help="small or tiny (a smoke test)"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1),
    resume: bool = typer.Option(False, "--resume"),
    language: str = typer.Option("kor", "--lang"),
    sample_rate: Optional[int] = typer.Option(None, "--sample-rate"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Train the voice's neural vocoder (frame-rate STFT prediction); Griffin-Lim until then."""
    from malsori.engines.tts.trained.vocoder import VOCODER_RECIPES, train_vocoder as run
    from malsori.languages import normalize_language

    if recipe not in VOCODER_RECIPES:
        _fail(f"unknown recipe {recipe!r}; choose from {', '.join(VOCODER_RECIPES)}")
    done, wall, _ = training_with_progress(
        lambda progress: run(data_dir, output, recipe, steps, resume, normalize_language(language), sample_rate, progress),
        threads, quiet)
    typer.echo(f"vocoder: {done} steps, {wall / 60:.1f} min -> {output / 'vocoder.onnx'}", err=True)


def training_with_progress(start, threads: Optional[int], quiet: bool):
    """Run ``start(progress)`` under a progress bar (loss in it); Ctrl-C ends with the resume hint."""
    from malsori.training import TrainingInterrupted
    from malsori.errors import MalsoriError

    if threads:
        import torch

        torch.set_num_threads(threads)
    bar, task = None, None
    if not quiet:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TextColumn("{task.fields[loss]}"), TimeRemainingColumn(), console=Console(stderr=True))

    def progress(step: int, total: int, losses: dict) -> None:
        nonlocal task
        if bar is None:
            return
        if task is None:
            bar.start()
            task = bar.add_task("training", total=total, completed=step, loss="")
        bar.update(task, completed=step, loss="  ".join(f"{k} {v:.3f}" for k, v in losses.items() if k != "total"))

    try:
        return start(progress)
    except TrainingInterrupted as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(130)
    except MalsoriError as exc:
        _fail(exc)
    finally:
        if bar is not None:
            bar.stop()


@tts_app.command("export")
def export(voice_dir: Path = typer.Argument(..., help="a voice folder with a training checkpoint")):
    """Export (again) the voice's ONNX graphs and card from its latest checkpoint."""
    from malsori.engines.tts.trained.export import export_voice
    from malsori.errors import MalsoriError

    try:
        export_voice(voice_dir)
    except MalsoriError as exc:
        _fail(exc)
    typer.echo(f"exported -> {voice_dir}", err=True)


@tts_app.command("plot")
def plot(voice_dir: Path = typer.Argument(...), output: Optional[Path] = typer.Option(None, "-o", "--output")):
    """Draw a voice's training log: each loss against training minutes."""
    from malsori.engines.tts.trained.train import plot_log
    from malsori.errors import MalsoriError

    try:
        typer.echo(str(plot_log(voice_dir, output)))
    except MalsoriError as exc:
        _fail(exc)
