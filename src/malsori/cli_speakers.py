"""`malsori speakers …` and `malsori diarize`: the speaker suite on the command line."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import List, Optional

import typer

speakers_app = typer.Typer(no_args_is_help=True, help="Speakers: embed, verify, enrol and identify, separate, profile.")

DB_OPTION = typer.Option(None, "--db", help="speaker database (default: $MALSORI_HOME/speakers.db)")
PLOT_SUFFIXES = (".png",)  # plot_timeline draws PNG
ENCODER_OPTION = typer.Option(None, "--encoder-dir", help="a speaker encoder you bring: ONNX (WeSpeaker, "
                              "3D-Speaker) with an optional encoder.json; default: the embedded CAM++")
ENCODER_NAME = typer.Option(None, "--encoder", help="embedded speaker encoder: campplus (default where "
                            "installed) or ge2e")


@contextlib.contextmanager
def _one_line_errors():
    """A MalsoriError inside becomes the CLI's one error line and exit code."""
    from malsori.errors import MalsoriError

    try:
        yield
    except MalsoriError as exc:
        from malsori.cli import _fail

        _fail(exc)


def _verifier(encoder_dir: Optional[Path], threshold: Optional[float] = None, name: Optional[str] = None,
              **options):
    """The Verifier for the chosen encoder; another encoder's scores need their own threshold."""
    from malsori.errors import MalsoriError
    from malsori.pipelines.verify import Verifier

    if encoder_dir is None:
        return Verifier(name, threshold=threshold, **options)
    if name is not None:
        raise MalsoriError("give --encoder or --encoder-dir, not both")
    from malsori.engines.speaker.onnx_encoder import OnnxSpeakerEncoder

    encoder = OnnxSpeakerEncoder(encoder_dir)
    threshold = threshold if threshold is not None else encoder.threshold
    if threshold is None and options.get("cohort") is None:
        raise MalsoriError(f"{encoder_dir}: give --threshold (or \"threshold\" in encoder.json): "
                           "the default is calibrated for GE2E")
    return Verifier(encoder=encoder, threshold=threshold, **options)


def _load(path: Path):
    from malsori.audio import load_audio

    return load_audio(path)


def _check_output(path: Optional[Path], suffixes: Optional[tuple] = None) -> None:
    from malsori.files import check_output

    if path is not None:
        check_output(path, suffixes)


def _emit(data: dict, output: Optional[Path]) -> None:
    from malsori.files import write_json

    if output is not None:
        write_json(output, data)
    else:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@speakers_app.command("embed")
def embed(
    audio: Path = typer.Argument(..., help="recording"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help=".npy (vectors only) or .json; default: JSON on stdout"),
    segments: bool = typer.Option(False, "--segments", help="one vector per speech segment (VAD) instead of per file"),
    encoder: Optional[str] = ENCODER_NAME,
):
    """Speaker embedding of a recording (CAM++: 192 numbers of unit length; GE2E: 256)."""
    import numpy as np

    from malsori.errors import MalsoriError
    from malsori.pipelines.verify import Verifier

    with _one_line_errors():
        _check_output(output, (".npy", ".json"))
        verifier = Verifier(encoder)
        recording = _load(audio)
        if segments:
            from malsori.engines.vad.silero import SileroVAD

            regions = [r for r in SileroVAD().regions(recording) if r.end - r.start >= 0.5]
            if not regions:
                raise MalsoriError(f"{audio}: no speech segment of 0.5 s or more")
            vectors = verifier.encoder.embed_spans(recording, [(r.start, r.end) for r in regions]) \
                if hasattr(verifier.encoder, "embed_spans") else \
                np.stack([verifier.encoder.embed(recording.slice(r.start, r.end)) for r in regions])
            spans = [(r.start, r.end) for r in regions]
        else:
            vectors, spans = verifier.embed(recording, str(audio))[None, :], [(0.0, recording.duration)]
        if output is not None and output.suffix == ".npy":
            from malsori.files import atomic_path

            with atomic_path(output) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, vectors.astype(np.float32) if segments else vectors[0].astype(np.float32))
            return
        data = {"file": str(audio), "encoder": verifier.encoder.name,
                "segments": [{"start": round(a, 3), "end": round(b, 3), "embedding": [round(float(x), 6) for x in v]}
                             for (a, b), v in zip(spans, vectors)]}
        _emit(data, output)


@speakers_app.command("verify")
def verify(
    enrolment: Path = typer.Argument(..., help="recording of the claimed speaker"),
    test: Path = typer.Argument(..., help="recording to check"),
    passphrase: Optional[str] = typer.Option(None, "--passphrase", help="text-dependent: the test must also say this"),
    language: Optional[str] = typer.Option(None, "--lang", help="language of the passphrase (default: detected)"),
    cohort: Optional[Path] = typer.Option(None, "--cohort", help="folder of other voices or .npy of their embeddings: "
                                          "adaptive score normalisation"),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="accept at or above this score (CAM++: "
                                              "this log-likelihood ratio; default 0, even odds)"),
    encoder_dir: Optional[Path] = ENCODER_OPTION,
    encoder: Optional[str] = ENCODER_NAME,
):
    """Same speaker or not: a score, the threshold and the decision (JSON). With CAM++ the score
    is also calibrated: a log-likelihood ratio and a probability that mean the same for a short
    telephone clip and a long studio recording."""
    from malsori.languages import normalize_language
    from malsori.pipelines.verify import load_cohort

    with _one_line_errors():
        verifier = _verifier(encoder_dir, threshold, encoder)
        if cohort:
            verifier = _verifier(encoder_dir, threshold, encoder, cohort=load_cohort(cohort, verifier.encoder))
        lang = normalize_language(language) if language else None
        result = verifier.verify(_load(enrolment), _load(test), passphrase=passphrase, language=lang)
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    typer.echo("same speaker" if result.accepted else "rejected", err=True)


@speakers_app.command("enroll")
def enroll(
    name: str = typer.Argument(..., help="speaker name"),
    files: List[Path] = typer.Argument(..., help="one or more recordings of them (pooled)"),
    db: Optional[Path] = DB_OPTION,
    encoder_dir: Optional[Path] = ENCODER_OPTION,
    encoder: Optional[str] = ENCODER_NAME,
):
    """Add a speaker (or more recordings of one) to the database (with the encoder it was built
    with, unless one is named)."""
    from malsori.pipelines.speaker_store import SpeakerStore

    with _one_line_errors():
        chosen = _verifier(encoder_dir, 0.0 if encoder_dir else None, encoder) if encoder_dir or encoder else None
        store = SpeakerStore(db, verifier=chosen, threshold=0.0)
        count = store.enroll(name, [_load(f) for f in files], [str(f) for f in files])
    typer.echo(f"{name}: {count} recording(s) enrolled")


@speakers_app.command("identify")
def identify(
    audio: Path = typer.Argument(..., help="recording of someone"),
    top: int = typer.Option(1, "--top", help="also list the k best candidates"),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="below this the answer is 'unknown'"),
    db: Optional[Path] = DB_OPTION,
    encoder_dir: Optional[Path] = ENCODER_OPTION,
    encoder: Optional[str] = ENCODER_NAME,
):
    """Who among the enrolled speakers this is, or "unknown"."""
    from malsori.pipelines.speaker_store import SpeakerStore

    with _one_line_errors():
        chosen = None
        if encoder_dir or encoder:
            chosen = _verifier(encoder_dir, threshold, encoder)
            threshold = chosen.threshold
        result = SpeakerStore(db, verifier=chosen, threshold=threshold).identify(_load(audio), top=top)
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))


@speakers_app.command("list")
def list_speakers(db: Optional[Path] = DB_OPTION):
    """Enrolled speakers: recordings, the encoders that have voiceprints of all of them, and
    whether their audio is kept (speakers enrolled before it was are scored with their old encoder
    until enrolled again)."""
    from malsori.pipelines.speaker_store import SpeakerStore

    with _one_line_errors():
        for speaker in SpeakerStore(db).speakers():
            note = "" if speaker.audio_kept == speaker.recordings else "\tno audio kept: enrol again to change encoder"
            typer.echo(f"{speaker.name}\t{speaker.recordings}\t{','.join(speaker.encoders)}{note}")


@speakers_app.command("remove")
def remove(name: str = typer.Argument(...), db: Optional[Path] = DB_OPTION):
    """Delete an enrolled speaker."""
    from malsori.pipelines.speaker_store import SpeakerStore

    with _one_line_errors():
        count = SpeakerStore(db).remove(name)
    typer.echo(f"{name}: removed with {count} recording(s)")


@speakers_app.command("separate")
def separate(
    mixture: Path = typer.Argument(..., help="recording with several voices"),
    output_dir: Path = typer.Option(Path("."), "-o", "--output-dir"),
    enroll: Optional[Path] = typer.Option(None, "--enroll", help="recording of the voice to extract"),
    by_diarization: bool = typer.Option(False, "--by-diarization", help="one track per diarized speaker, others muted"),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="a blind-separation model folder or name "
                                             "(default: the bundled Conv-TasNet)"),
    num_speakers: Optional[int] = typer.Option(None, "--num-speakers"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Split a mixture into one track per voice (a trained separation network by default) and say
    which method made them."""
    from malsori.errors import MalsoriError
    from malsori.pipelines import separate as sep

    from malsori.files import check_output_dir

    with _one_line_errors():
        check_output_dir(output_dir)
        audio = _load(mixture)
        if enroll is not None:
            extractor = sep.extractor_for(model_dir) if model_dir else None
            result = sep.separate(audio, enrollment=_load(enroll), extractor=extractor)
        elif by_diarization:
            from malsori.pipelines.diarize import SpeakerDiarization

            turns = SpeakerDiarization().apply(audio, uri=mixture.stem, num_speakers=num_speakers)
            result = sep.separate(audio, diarization=turns)
        else:
            with _chunk_progress("separating", quiet) as progress:
                result = sep.separate_blind(audio, model_dir, progress)
            if num_speakers is not None and num_speakers != len(result.tracks):
                raise MalsoriError(f"{result.method} separates {len(result.tracks)} voices, not {num_speakers}")
        if not result.tracks:
            raise MalsoriError(f"{mixture}: no speech to separate")
        paths = result.save(output_dir, mixture.stem)
    typer.echo(f"method: {result.method}", err=True)
    for path in paths:
        typer.echo(str(path))


@speakers_app.command("extract")
def extract(
    mixture: Path = typer.Argument(..., help="recording with several voices"),
    output: Path = typer.Option(..., "-o", "--output", help="the extracted voice (audio file)"),
    enroll: Optional[Path] = typer.Option(None, "--enroll", help="a recording of the voice to extract"),
    speaker: Optional[str] = typer.Option(None, "--speaker", help="an enrolled speaker (malsori speakers enroll)"),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="an extraction model (malsori separate train "
                                             "--task extraction) or a separation model (default: the bundled one)"),
    db: Optional[Path] = DB_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Pull one voice out of a mixture, given a recording of it or an enrolled speaker's name."""
    import numpy

    from malsori.audio import Audio, save_audio
    from malsori.errors import MalsoriError
    from malsori.pipelines import separate as sep

    with _one_line_errors():
        _check_output(output)
        if (enroll is None) == (speaker is None):
            raise MalsoriError("give the voice as --enroll RECORDING or --speaker NAME (one of them)")
        audio = _load(mixture)
        if enroll is not None:
            enrollment = _load(enroll)
        else:
            from malsori.pipelines.speaker_store import SpeakerStore

            kept = [a.resample(16000) for a in SpeakerStore(db).recordings(speaker)]
            enrollment = Audio(numpy.concatenate([a.samples for a in kept]), 16000)
        extractor = sep.extractor_for(model_dir)
        with _chunk_progress("extracting", quiet) as progress:
            voice = extractor.extract(audio, enrollment, progress=progress)
        save_audio(output, voice)
    typer.echo(f"method: {extractor.name}", err=True)
    typer.echo(str(output))


@contextlib.contextmanager
def _chunk_progress(label: str, quiet: bool):
    """A progress bar over the chunks a long recording is processed in (none when quiet)."""
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@speakers_app.command("profile")
def profile(
    audio: Path = typer.Argument(..., help="speech recording"),
    diarize_first: bool = typer.Option(False, "--diarize", help="one profile per speaker"),
    num_speakers: Optional[int] = typer.Option(None, "--num-speakers"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="write JSON here instead of stdout"),
):
    """Voice profile: F0, rate, pauses, loudness, jitter/shimmer/HNR, estimated gender."""
    from malsori.pipelines.profile import profile_speakers, profile_voice

    with _one_line_errors():
        _check_output(output)
        recording = _load(audio)
        if diarize_first:
            from malsori.pipelines.diarize import SpeakerDiarization

            turns = SpeakerDiarization().apply(recording, uri=audio.stem, num_speakers=num_speakers)
            data = {"file": str(audio), "speakers": {s: p.to_dict() for s, p in profile_speakers(recording, turns).items()}}
        else:
            data = {"file": str(audio), **profile_voice(recording).to_dict()}
        _emit(data, output)


def diarize(
    audio: Path = typer.Argument(..., help="recording"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="RTTM file (default: <audio stem>.rttm)"),
    num_speakers: Optional[int] = typer.Option(None, "--num-speakers", help="exact number, when known"),
    min_speakers: int = typer.Option(1, "--min-speakers"),
    max_speakers: int = typer.Option(8, "--max-speakers"),
    json_output: Optional[Path] = typer.Option(None, "--json", help="also write turns as JSON"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw a timeline (PNG)"),
    exclusive: bool = typer.Option(False, "--exclusive", help="one speaker at a time (overlap given to one)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    encoder_dir: Optional[Path] = ENCODER_OPTION,
):
    """Who spoke when: RTTM whose file id is the input's name without extension."""
    from malsori.files import write_json, write_text
    from malsori.pipelines.diarize import DiarizationOptions, SpeakerDiarization, plot_timeline, uri_of

    target = output or Path(f"{uri_of(audio)}.rttm")
    hook, bar = None, None
    if not quiet:
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(stderr=True), transient=True)
        tasks: dict[str, int] = {}

        def show(step: str, completed: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=completed, total=max(total, 1))
        hook = show
    with _one_line_errors():
        # Every output is checked before the work: none is written unless all can be.
        _check_output(target)
        _check_output(json_output)
        _check_output(plot, PLOT_SUFFIXES)
        recording = _load(audio)
        if bar:
            bar.start()
        try:
            encoder = _verifier(encoder_dir, threshold=0.0).encoder if encoder_dir else None
            pipeline = SpeakerDiarization(encoder=encoder, options=DiarizationOptions(exclusive=exclusive))
            result = pipeline.apply(recording, uri=uri_of(audio), num_speakers=num_speakers,
                                    min_speakers=min_speakers, max_speakers=max_speakers, hook=hook)
        finally:
            if bar:
                bar.stop()
        write_text(target, result.to_rttm())
        if json_output is not None:
            write_json(json_output, result.to_dict())
        if plot is not None:
            plot_timeline(result, plot)
    if pipeline.method == "local":
        method = f"local speakers ({pipeline.segmentation.name}, {pipeline.encoder.name}), overlap included"
    else:
        from malsori.models.catalog import get_card

        method = (f"GE2E windows, overlap from window scores only (for the segmentation model: "
                  f"{get_card('pyannote-segmentation-3.0').install_hint})")
    typer.echo(f"{len(result.speakers)} speaker(s), {len(result.turns)} turn(s) -> {target}; method: {method}",
               err=True)
