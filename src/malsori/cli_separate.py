"""`malsori separate ...`: train a separation (or target-speaker extraction) model of your own."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from malsori.cli_tts import training_with_progress

separate_app = typer.Typer(no_args_is_help=True, help="train separation and extraction models of your own")


@separate_app.command("train")
def train(
    speech: List[Path] = typer.Argument(..., help="clean speech: folders (one subfolder per speaker, or one speaker), "
                                        "audio files, or TSV manifests with path and speaker columns"),
    output: Path = typer.Option(..., "-o", "--output", help="the model folder to write"),
    task: str = typer.Option("separation", "--task", help="separation (one track per voice) or extraction "
                             "(the voice of an enrolment)"),
    recipe: str = typer.Option("small", "--recipe", help="small or tiny (a smoke test)"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1),
    resume: bool = typer.Option(False, "--resume", help="go on with the run saved in the model folder"),
    licence: Optional[str] = typer.Option(None, "--licence", help="the licence the card states (that of the speech)"),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="a trained model folder to start from "
                                             "(same recipe): fine-tune it on your speech"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Train a Conv-TasNet on mixtures made on the fly from clean speech (no labels needed)."""
    from malsori.cli import _fail
    from malsori.engines.separation.train import RECIPES, train_separator

    if recipe not in RECIPES:
        _fail(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    done, wall, losses = training_with_progress(
        lambda progress: train_separator(speech, output, recipe, task, steps, resume, progress, licence=licence,
                                         init_from=init_from),
        threads, quiet)
    typer.echo(f"{done} steps, {wall / 60:.1f} min, SI-SNRi {losses.get('si_snri', float('nan')):.1f} dB "
               f"(last batch) -> {output}", err=True)


@separate_app.command("export")
def export(model_dir: Path = typer.Argument(..., help="a model folder with a training checkpoint")):
    """Export (again) the model's ONNX graph and card from its latest checkpoint."""
    from malsori.cli import _fail
    from malsori.engines.separation.train import export_separator
    from malsori.errors import MalsoriError

    try:
        typer.echo(str(export_separator(model_dir)))
    except MalsoriError as exc:
        _fail(exc)


@separate_app.command("import")
def import_(
    source: Path = typer.Argument(..., help="a SpeechBrain separator folder (hyperparams.yaml, encoder/masknet/"
                                  "decoder.ckpt) or an Asteroid model file (.pth from serialize())"),
    output: Path = typer.Option(..., "-o", "--output", help="the malsori model folder to write"),
    licence: Optional[str] = typer.Option(None, "--licence", help="the licence the card states (the source's)"),
):
    """Convert a SepFormer (SpeechBrain) or Conv-TasNet/DPRNN (Asteroid) checkpoint into a model
    folder that `malsori speakers separate --model-dir` runs with ONNX Runtime alone."""
    from malsori.cli import _fail
    from malsori.engines.separation.convert import import_separator
    from malsori.errors import MalsoriError

    try:
        typer.echo(str(import_separator(source, output, licence)))
    except MalsoriError as exc:
        _fail(exc)
