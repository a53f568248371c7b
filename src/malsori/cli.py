"""The `malsori` command line. Heavy modules are imported inside commands so --help stays fast."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="malsori: offline speech translation and speech AI on a CPU.")
models_app = typer.Typer(no_args_is_help=True, help="The model catalog: list, inspect, import, verify.")
app.add_typer(models_app, name="models")
voice_app = typer.Typer(no_args_is_help=True, help="Voice and prosody: analyse a recording, carry its delivery over.")
app.add_typer(voice_app, name="voice")


def _fail(exc) -> None:
    """One line on stderr and the error's exit code: what users see for every known failure."""
    typer.echo(f"malsori: error: {exc}", err=True)
    raise typer.Exit(getattr(exc, "exit_code", 1))


@contextlib.contextmanager
def _stderr_bar(description: str, total: int | None = None, show: bool = True):
    """A transient progress bar on stderr, as ``(bar, task)`` (``(None, None)`` when not shown),
    stopped however the block ends, so an error's one line is not drawn over."""
    if not show:
        yield None, None
        return
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task(description, total=total)
    bar.start()
    try:
        yield bar, task
    finally:
        bar.stop()


def _progress_bar(quiet: bool):
    if quiet:
        return None, None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), transient=True, console=__import__("rich.console").console.Console(stderr=True))
    task_id = {}

    def on_start(total: int):
        bar.start()
        task_id["id"] = bar.add_task("translating", total=total)

    def update(done: int, total: int):
        bar.update(task_id["id"], completed=done, total=total)

    return bar, on_start, update


@app.command()
def translate(
    input: str = typer.Argument(..., help="Audio file (wav, flac, ogg, opus, mp3, m4a) or, for t2*, the text"),
    task: str = typer.Option("s2st", "--task", "-t", help="s2st, s2tt, t2st, t2tt or asr"),
    tgt: str = typer.Option(..., "--tgt", help="target language (ISO 639-3 like Seamless, or 639-1)"),
    src: Optional[str] = typer.Option(None, "--src", help="source language; omitted: detected"),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="OUT.wav for speech, a text file or - for text"),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="read the input text from a file"),
    fmt: str = typer.Option("txt", "--format", "-f", help="text output format: txt, srt, vtt, json"),
    model: Optional[str] = typer.Option(None, "--model", help="speech model id, e.g. whisper-base, vosk-ko, seamless-m4t-v2"),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="load --model from this directory"),
    mt_model: Optional[str] = typer.Option(None, "--mt-model", help="text translation model id, e.g. nllb-200"),
    resume: bool = typer.Option(True, "--resume/--restart", help="reuse windows finished by an interrupted run"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
    expressive: bool = typer.Option(False, "--expressive", help="s2st: speak with the source's pace, pauses, "
                                    "pitch, loudness, whisper and voice scale"),
    duration_factor: float = typer.Option(1.0, "--duration-factor", min=0.5, max=2.0,
                                          help="--expressive: scale the output's duration"),
    fit_duration: bool = typer.Option(False, "--fit-duration", help="--expressive: each output segment lasts as "
                                      "long as its source segment (dubbing)"),
    diarize: bool = typer.Option(False, "--diarize", help="speech input: label each segment with its speaker"),
    num_speakers: Optional[int] = typer.Option(None, "--num-speakers", help="--diarize: exact number, when known"),
):
    """Translate speech or text, like Seamless's m4t_predict."""
    from malsori.errors import MalsoriError

    try:
        from malsori.pipelines.formats import FORMATS
        from malsori.pipelines.job import run_job

        if fmt not in FORMATS:
            raise MalsoriError(f"unknown --format {fmt!r}: choose one of {', '.join(FORMATS)}")
        if text_file is not None:
            from malsori.text.source import read_text

            input = read_text(text_file)
        translator = _translator(model, model_dir, mt_model)
        bar, on_start, update = _progress_bar(quiet)
        try:
            options = None
            if expressive:
                from malsori.pipelines.expressive import ExpressiveOptions

                options = ExpressiveOptions(duration_factor=duration_factor, fit_duration=fit_duration)
            elif duration_factor != 1.0 or fit_duration:
                raise MalsoriError("--duration-factor and --fit-duration shape --expressive output: add --expressive")
            speakers = None
            if diarize:
                from malsori.pipelines.diarize import DiarizationOptions, SpeakerDiarization

                # Subtitles name one speaker per cue: exclusive turns.
                exclusive = SpeakerDiarization(options=DiarizationOptions(exclusive=True))
                speakers = lambda audio: exclusive.apply(audio, num_speakers=num_speakers)  # noqa: E731
            job = run_job(translator, input, task, tgt, src, output, fmt, resume, update, on_start, options, speakers)
        finally:
            if bar is not None:
                bar.stop()
    except MalsoriError as exc:
        _fail(exc)
    result = job.result
    if output in (None, "-") and job.audio_path is None:
        from malsori.pipelines.formats import render

        sys.stdout.write(render(result, fmt))
    if not quiet:
        err = lambda line: typer.echo(line, err=True)  # noqa: E731 - the summary goes to stderr
        err(f"languages: {result.src_lang} -> {result.tgt_lang}  route: {_route_line(result.route)}")
        if result.source_text and result.task != "asr":
            err(f"source: {result.source_text}")
        if job.audio_path is not None or job.text_path is not None:
            err(f"{'transcript' if result.task == 'asr' else 'translation'}: {result.text}")
        for path in (job.audio_path, job.sidecar_path, job.text_path):
            if path is not None:
                err(f"wrote {path}")


@app.command()
def stream(
    input: str = typer.Argument(..., help="audio file (played at real time unless --as-fast-as-possible), "
                                          "'mic' for the microphone, or '-' for raw 16-bit PCM on stdin"),
    task: str = typer.Option("s2tt", "--task", "-t", help="asr, s2tt or s2st"),
    tgt: str = typer.Option(..., "--tgt", help="target language"),
    src: Optional[str] = typer.Option(None, "--src", help="spoken language (needed to start at once)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="write the translated speech (s2st)"),
    log: Optional[Path] = typer.Option(None, "--log", help="latency log: units with emission times + summary"),
    fast: bool = typer.Option(False, "--as-fast-as-possible", help="no real-time pacing (for evaluation)"),
    chunk_ms: int = typer.Option(320, "--chunk-ms", help="input chunk size, as SeamlessStreaming"),
    update_ms: int = typer.Option(320, "--update-ms", help="least time between interim decodes (longer: "
                                                        "fewer premature commits, more latency)"),
    unit_words: Optional[int] = typer.Option(None, "--unit-words",
                                             help="latency/quality knob: words per translated unit "
                                                  "(default 5, 3 for s2st)"),
    speed: float = typer.Option(1.25, "--speed", help="speaking rate of the translated speech (1.0: the voice's)"),
    expressive: bool = typer.Option(False, "--expressive", help="s2st: speak each unit with the source's pace, "
                                                              "pitch, loudness, whisper and nearest voice"),
    rate: int = typer.Option(16000, "--rate", help="sample rate of raw PCM on stdin ('-') or from the microphone"),
    mic_command: Optional[str] = typer.Option(None, "--mic-command",
                                              help="recorder writing raw s16le mono PCM at --rate to stdout"),
    model: Optional[str] = typer.Option(None, "--model"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Simultaneous translation of a stream: captions and speech while the speaker talks.
    Ctrl-C stops a live stream; its last utterance is finished and the outputs are written."""
    import contextlib
    import sys

    from malsori.errors import Interrupted, MalsoriError

    try:
        from malsori.audio import live, load_audio
        from malsori.pipelines.expressive import ExpressiveOptions
        from malsori.pipelines.stream import StreamingTranslator, check_stream_outputs, run_stream, write_outputs

        check_stream_outputs(task, output, log)  # before a live recording that could not be kept
        session = StreamingTranslator(_translator(model, None, None), task, tgt, src, unit_words=unit_words,
                                      speed=speed, update_s=update_ms / 1000,
                                      expressive=ExpressiveOptions() if expressive else None)
        if input == "mic":
            source = live.microphone(mic_command, rate, chunk_ms / 1000)
        elif input == "-":
            source = contextlib.nullcontext(live.pcm_chunks(sys.stdin.buffer, rate, chunk_ms / 1000))
        else:
            source = contextlib.nullcontext(load_audio(input))

        def show(ev):
            if quiet or ev.kind in ("audio", "endpoint"):
                return
            style = {"partial": "[dim]", "commit": "[bold]", "translation": "[green]"}[ev.kind]
            console.print(f"{ev.source_time:7.2f}s {ev.kind:11} {style}{ev.text}", highlight=False)

        from rich.console import Console

        console = Console(stderr=True)
        with source as chunks:
            if input in ("mic", "-") and not quiet:
                console.print("listening (Ctrl-C stops)", style="dim")
            run = run_stream(session, chunks, chunk_s=chunk_ms / 1000, realtime=not fast, on_event=show)
        write_outputs(run, output, log)
        if run.interrupted and input not in ("mic", "-"):
            raise Interrupted("stopped: the stream up to Ctrl-C was translated and written")
    except MalsoriError as exc:
        _fail(exc)
    if not quiet:
        typer.echo("latency (s, median over utterances): " + ", ".join(
            f"{k} {v}" for k, v in run.summary.items() if v is not None), err=True)


def _route_line(route: dict) -> str:
    parts = [route.get("end_to_end")] if route.get("end_to_end") else []
    if route.get("asr"):
        parts.append(route["asr"] + (f" (-> {route['asr_translates_to']})" if route.get("asr_translates_to") else ""))
    parts += route.get("mt") or []
    if route.get("tts"):
        parts.append(route["tts"])
    return " -> ".join(parts)


def _translator(model: str | None, model_dir: Path | None, mt_model: str | None):
    from malsori.pipelines.engines import build_engine
    from malsori.pipelines.translate import Translator

    recognizers = translators = synthesizers = None
    if model is not None:
        engine = build_engine(model, model_dir)
        recognizers = [engine]
        if hasattr(engine, "voice_languages"):  # one model for every stage (SeamlessM4T v2)
            synthesizers = [engine]
            translators = [engine]
    elif model_dir is not None:
        from malsori.errors import MalsoriError

        raise MalsoriError("--model-dir needs --model to say which kind of model it holds")
    if mt_model is not None:
        translators = [build_engine(mt_model)] + list(translators or [])
    return Translator(recognizers, translators, synthesizers)


@app.command()
def languages():
    """The task x language matrix that the installed models support."""
    from malsori.pipelines.support import support_matrix

    from rich.console import Console
    from rich.table import Table

    rows = support_matrix()
    table = Table(title="What the installed models can do (ISO 639-3)")
    for col in ("language", "code", "asr", "s2tt -> eng", "t2tt", "speech out"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["name"], row["code"], row["asr"], row["s2tt_eng"], row["t2tt"], row["tts"])
    Console().print(table)


@models_app.command("list")
def models_list():
    """Every catalog model and whether it is available here."""
    from malsori.models.catalog import CATALOG, is_available

    for card in CATALOG.values():
        mark = "available" if is_available(card.id) else "missing  "
        typer.echo(f"{card.id:18} {mark} {','.join(card.tasks):22} {card.description}")


@models_app.command("info")
def models_info(model_id: str):
    """A model's card: tasks, languages, source, licence, files and where they are."""
    from malsori.errors import MalsoriError
    from malsori.models.catalog import get_card, resolve

    try:
        card = get_card(model_id)
    except MalsoriError as exc:
        _fail(exc)
    typer.echo(f"id:          {card.id}\ntasks:       {', '.join(card.tasks)}\nbackend:     {card.backend}")
    langs = "any the model knows" if card.languages is None else ", ".join(sorted(card.languages))
    typer.echo(f"languages:   {langs}\nsource:      {card.source}\nlicence:     {card.licence}")
    typer.echo(f"description: {card.description}")
    try:
        typer.echo(f"location:    {resolve(card.id)}")
    except MalsoriError as exc:
        typer.echo(f"location:    not available ({exc})")
    for rel, sha in card.files.items():
        typer.echo(f"file:        {rel}  sha256 {sha}")


@models_app.command("import")
def models_import(path: Path, model_id: Optional[str] = typer.Option(None, "--id"),
                  link: bool = typer.Option(False, "--link", help="symlink the files instead of copying")):
    """Bring a local model directory (SeamlessM4T v2, Whisper, NLLB, a text-to-audio model), or a voice from `malsori tts
    train` (then spoken by its name: `malsori speak --voice NAME`), into MALSORI_HOME."""
    from malsori.errors import MalsoriError
    from malsori.models.catalog import import_model

    try:
        mid, dest = import_model(path, model_id, link)
    except MalsoriError as exc:
        _fail(exc)
    typer.echo(f"imported {mid} into {dest}")


@models_app.command("convert-audiocraft")
def models_convert_audiocraft(
    source: Path = typer.Argument(..., help="an audiocraft model folder: state_dict.bin + compression_state_dict.bin "
                                  "(AudioGen, e.g. facebook/audiogen-medium)"),
    text_encoder: Path = typer.Option(..., "--text-encoder", help="the T5 it was trained with, a local transformers "
                                      "folder (t5-large for AudioGen)"),
    output: Path = typer.Option(..., "-o", "--output", help="a new folder: transformers' MusicGen format"),
):
    """Convert an audiocraft checkpoint (AudioGen) into transformers' MusicGen classes, then
    `malsori models import` it. The checkpoints are pickles: convert only ones you trust."""
    from malsori.errors import MalsoriError

    try:
        from malsori.engines.generation.audiocraft import convert_audiocraft

        out = convert_audiocraft(source, text_encoder, output)
    except MalsoriError as exc:
        _fail(exc)
    typer.echo(f"converted into {out}; next: malsori models import {out}")


@models_app.command("verify")
def models_verify(model_id: Optional[str] = typer.Argument(None)):
    """Check the sha256 of every available model's files (or one model's)."""
    from malsori.errors import MalsoriError
    from malsori.models.catalog import CATALOG, is_available, verify

    ids = [model_id] if model_id else [m for m in CATALOG if is_available(m)]
    problems = []
    for mid in ids:
        try:
            found = verify(mid)
        except MalsoriError as exc:
            found = [str(exc)]
        problems += found
        typer.echo(f"{mid:18} {'ok' if not found else 'FAILED'}")
    for line in problems:
        typer.echo(f"malsori: error: {line}", err=True)
    if problems:
        raise typer.Exit(5)


@voice_app.command("analyze")
def voice_analyze(audio: Path = typer.Argument(..., help="speech recording")):
    """Pitch, pace, pauses, loudness, voice quality of a recording, as JSON."""
    from malsori.errors import MalsoriError

    try:
        from malsori.audio import load_audio
        from malsori.prosody import analyze

        typer.echo(json.dumps(analyze(load_audio(audio)).summary(), indent=2))
    except MalsoriError as exc:
        _fail(exc)


@voice_app.command("transfer")
def voice_transfer(
    source: Path = typer.Argument(..., help="the recording whose delivery and voice to keep"),
    target: Path = typer.Argument(..., help="the speech to re-speak (any language)"),
    output: Path = typer.Option(..., "-o", "--output"),
    duration: Optional[float] = typer.Option(None, "--duration", help="fit the output to this many seconds"),
    fit_duration: bool = typer.Option(False, "--fit-duration", help="make the output last as long as SOURCE"),
    rate: bool = typer.Option(True, "--rate/--no-rate", help="follow the source's pace"),
    pitch: bool = typer.Option(True, "--pitch/--no-pitch", help="the source's pitch register and range"),
    loudness: bool = typer.Option(True, "--loudness/--no-loudness"),
    whisper: bool = typer.Option(True, "--whisper/--no-whisper", help="whispered source -> whispered output"),
    voice: bool = typer.Option(True, "--voice/--no-voice", help="scale formants toward the source speaker"),
):
    """Apply SOURCE's pace, pitch, loudness, whisper and formant scale to TARGET's speech."""
    from malsori.errors import MalsoriError

    try:
        from malsori.audio import load_audio, save_audio
        from malsori.audio.io import AUDIO_OUTPUT_SUFFIXES
        from malsori.files import check_output
        from malsori.prosody import transfer

        check_output(output, AUDIO_OUTPUT_SUFFIXES, "speech")
        src, tgt = load_audio(source), load_audio(target)
        out, report = transfer(src, tgt, rate=rate, pitch=pitch, loudness=loudness, whisper=whisper, voice=voice,
                               duration=src.duration if fit_duration else duration)
        save_audio(output, out)
    except MalsoriError as exc:
        _fail(exc)
    for warning in report.warnings:
        typer.echo(f"malsori: warning: {warning}", err=True)
    typer.echo(json.dumps(report.to_dict()))


@app.command("eval")
def evaluate(
    manifest: Optional[Path] = typer.Argument(None, help="TSV with columns path, lang, text (and translation)"),
    latency: Optional[Path] = typer.Option(None, "--latency", help="score a `malsori stream --log` file instead"),
    task: str = typer.Option("asr", "--task", help="asr, s2tt or s2st"),
    tgt: Optional[str] = typer.Option(None, "--tgt", help="target language for s2tt/s2st"),
    model: Optional[str] = typer.Option(None, "--model"),
    limit: int = typer.Option(0, "--limit", help="score only the first N rows"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="write per-utterance results as JSON"),
    expressive: bool = typer.Option(False, "--expressive", help="the manifest pairs source and output speech "
                                    "(columns source, output, src_lang, tgt_lang): score how much delivery was kept"),
    verification: Optional[Path] = typer.Option(None, "--verification", help="speaker trials (label enrol test per "
                                                "line): EER and minDCF"),
    diarization: Optional[Path] = typer.Option(None, "--diarization", help="reference RTTM; the argument is the "
                                               "system RTTM: DER (miss, false alarm, confusion) and JER"),
    uem: Optional[Path] = typer.Option(None, "--uem", help="with --diarization: scored spans"),
    collar: float = typer.Option(0.25, "--collar", help="with --diarization: seconds forgiven around reference "
                                 "boundaries, half each side (pyannote.metrics' convention)"),
):
    """Score a manifest: WER/CER for ASR; BLEU, chrF and ASR-BLEU for translation; expressivity of
    speech pairs (--expressive); or a latency log."""
    from malsori.errors import MalsoriError
    from malsori.files import check_output

    try:
        if output is not None:
            check_output(output)
    except MalsoriError as exc:
        _fail(exc)
    if verification is not None or diarization is not None:
        from malsori.eval import speaker

        try:
            if verification is not None:
                report = speaker.evaluate_trials(verification, output=output)
            elif manifest is None:
                raise MalsoriError("give the system RTTM after --diarization REF.rttm")
            else:
                report = speaker.evaluate_rttm(diarization, manifest, uem=uem, collar=collar)
                if output is not None:
                    from malsori.files import write_json

                    write_json(output, report)
                report = {k: v for k, v in report.items() if k != "per_file"}
        except MalsoriError as exc:
            _fail(exc)
        for key, value in report.items():
            typer.echo(f"{key:>16}: {value}")
        return
    if expressive and manifest is not None:
        from malsori.eval.run import evaluate_expressive

        try:
            report = evaluate_expressive(manifest, limit=limit, output=output)
        except MalsoriError as exc:
            _fail(exc)
        for key, value in report["summary"].items():
            typer.echo(f"{key:>20}: {value}")
        return

    if latency is not None:
        import json

        from malsori.eval.latency import score_log

        try:
            summary = score_log(json.loads(latency.read_text()))
        except (OSError, ValueError, KeyError) as exc:
            _fail(MalsoriError(f"{latency}: not a malsori latency log ({exc})"))
        for key, value in summary.items():
            typer.echo(f"{key:>16}: {value}")
        return
    if manifest is None:
        _fail(MalsoriError("give a manifest, or --latency LOG"))
    try:
        from malsori.eval.run import evaluate_manifest

        report = evaluate_manifest(manifest, task, tgt, _translator(model, None, None), limit=limit, output=output)
    except MalsoriError as exc:
        _fail(exc)
    for key, value in report["summary"].items():
        typer.echo(f"{key:>16}: {value}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="loopback by default"),
    port: int = typer.Option(8000, "--port"),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="required to bind to a non-loopback address"),
    log_dir: Optional[Path] = typer.Option(None, "--log-dir", help="keep a JSON-lines log of each stream here"),
    max_upload_mb: float = typer.Option(100.0, "--max-upload-mb", help="larger uploads get HTTP 413"),
    max_streams: int = typer.Option(4, "--max-streams", help="live WebSocket streams at once; more are refused (1013)"),
    idle_timeout: float = typer.Option(30.0, "--idle-timeout", help="seconds without audio before a stream is closed"),
):
    """HTTP + WebSocket API and the web page (microphone in the browser)."""
    from malsori.errors import MalsoriError

    if host not in ("127.0.0.1", "localhost", "::1") and not allow_remote:
        _fail(MalsoriError(f"refusing to listen on {host}: add --allow-remote to serve beyond this machine"))
    try:
        import uvicorn

        from malsori.serve.app import create_app
        from malsori.serve.guards import ensure_can_listen
    except ImportError:
        _fail(MalsoriError("the server needs its extra: pip install 'malsori[serve]'"))
    try:
        application = create_app(log_dir=log_dir, max_upload_mb=max_upload_mb, max_streams=max_streams,
                                 idle_timeout_s=idle_timeout)
        ensure_can_listen(host, port)
    except MalsoriError as exc:
        _fail(exc)
    typer.echo(f"malsori: serving on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    except SystemExit as exc:  # uvicorn's startup failure (3) would read as malsori's "audio unusable"
        if exc.code:
            _fail(MalsoriError(f"the server stopped at start-up (uvicorn exit status {exc.code})"))
        raise


@app.command()
def batch(
    manifest: Path = typer.Argument(..., help="TSV (path[, id, src, tgt]) or JSONL manifest, or a folder of audio"),
    task: str = typer.Option(..., "--task", help="asr, s2tt, s2st or diarize"),
    output: Path = typer.Option(..., "-o", "--output", help="folder for the outputs and results.jsonl"),
    tgt: Optional[str] = typer.Option(None, "--tgt", help="target language (s2tt, s2st), unless the manifest says"),
    src: Optional[str] = typer.Option(None, "--src", help="spoken language (asr needs it), unless the manifest says"),
    fmt: str = typer.Option("txt", "-f", "--format", help="text output of asr/s2tt: txt, srt, vtt, json"),
    ray: Optional[str] = typer.Option(None, "--ray", help="run on Ray: 'local' starts a cluster here, or a cluster's address"),
    workers: Optional[int] = typer.Option(None, "--workers", help="Ray workers (default: the cluster's CPUs)"),
    quiet: bool = typer.Option(False, "-q", "--quiet"),
):
    """Many recordings through one pipeline; a rerun skips what is done, failures are recorded."""
    from malsori.errors import MalsoriError
    from malsori.pipelines.batch import BatchOptions, run_batch
    from malsori.pipelines.formats import FORMATS

    if fmt not in FORMATS:
        _fail(MalsoriError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}"))

    def report(row, done: int, total: int):
        if not quiet:
            state = "ok" if row.status == "ok" else f"error: {row.error}"
            typer.echo(f"[{done}/{total}] {row.id}: {state} ({row.seconds:.1f} s)", err=True)

    try:
        summary = run_batch(manifest, BatchOptions(task, tgt, src, fmt), output, ray, workers, report)
    except MalsoriError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        _fail(MalsoriError(f"interrupted: finished items are in {output / 'results.jsonl'}; run again to go on"))
    rtf = f", RTF {summary.rtf:.3f}" if summary.rtf else ""
    typer.echo(f"{summary.ok} done, {summary.failed} failed, {summary.skipped} done before "
               f"({summary.total} items) in {summary.wall_s:.1f} s{rtf} -> {summary.results}", err=True)
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def wyoming(
    uri: str = typer.Option("tcp://127.0.0.1:10300", "--uri", help="tcp://HOST:PORT, unix://PATH or stdio://"),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="required to bind to a non-loopback address"),
):
    """Wyoming server (Home Assistant's speech protocol): speech recognition and synthesis."""
    import asyncio
    from urllib.parse import urlparse

    from malsori.errors import MalsoriError

    parsed = urlparse(uri)
    if parsed.scheme not in ("tcp", "unix", "stdio"):
        _fail(MalsoriError(f"--uri {uri!r}: use tcp://HOST:PORT, unix://PATH or stdio://"))
    if parsed.scheme == "tcp":
        if parsed.hostname is None or parsed.port is None:
            _fail(MalsoriError(f"--uri {uri!r}: a tcp:// address needs a host and a port"))
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1") and not allow_remote:
            _fail(MalsoriError(f"refusing to listen on {parsed.hostname}: add --allow-remote to serve beyond this machine"))
    try:
        from malsori.serve.wyoming import serve as serve_wyoming

        if parsed.scheme == "tcp":
            from malsori.serve.guards import ensure_can_listen

            ensure_can_listen(parsed.hostname, parsed.port)
        if parsed.scheme != "stdio":  # on stdio, stdout is the protocol
            typer.echo(f"malsori: Wyoming server on {uri} (Ctrl-C stops)", err=True)
        asyncio.run(serve_wyoming(uri))
    except MalsoriError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


@app.command()
def demo(output: Path = typer.Option(Path("out/demo_es.wav"), "-o", "--output")):
    """Speak an English sentence with the bundled voice, then translate it into Spanish speech."""
    from malsori.errors import MalsoriError

    try:
        from malsori.demo import run_demo

        run_demo(output)
    except MalsoriError as exc:
        _fail(exc)


KOREAN_TEXT = typer.Argument(None, help="the text (or use --text-file)")
KOREAN_LANG = typer.Option("kor", "--lang", help="language of the text (Korean for now)")
TEXT_LINES = typer.Option(None, "--text-file", help="one input per line, '-' for stdin; one output per line, in order")


@app.command()
def normalize(text: Optional[str] = KOREAN_TEXT, lang: str = KOREAN_LANG, text_file: Optional[Path] = TEXT_LINES):
    """Written form -> spoken form: numbers by their counters, dates, times, money, units, acronyms."""
    from malsori.errors import MalsoriError

    try:
        _require_korean(lang, "normalize")
        from malsori.text.ko.normalize import normalize as spoken

        # Line by line, so a large file streams through in constant memory.
        for line in _input_lines(text, text_file):
            sys.stdout.write(spoken(line) + "\n")
    except MalsoriError as exc:
        _fail(exc)


def _change_source(change) -> str:
    """Where a G2P change came from: an article, the lexicon, or the learned layer (with its
    confidence and what the rules alone said)."""
    if change.rule == "learned":
        rules = f"art. {change.rules_said}" if change.rules_said else "no change"
        return f"learned layer ({change.confidence:.2f}; rules: {rules})"
    return f"art. {change.rule}" if change.rule[0].isdigit() else change.rule


@app.command()
def g2p(
    text: Optional[str] = KOREAN_TEXT,
    lang: str = KOREAN_LANG,
    text_file: Optional[Path] = TEXT_LINES,
    fmt: str = typer.Option("hangul", "--format", help="hangul (pronunciation spelled in Hangul), jamo, ipa, "
                                                        "or phones (separated by spaces, words by |)"),
    explain: bool = typer.Option(False, "--explain", help="also list each rule that fired (article of 표준 발음법)"),
    descriptive: bool = typer.Option(False, "--descriptive", help="the everyday variants the standard allows "
                                                                 "(계 -> 게, 회 -> 훼, 주의 -> 주이, possessive 의 -> "
                                                                 "에, 햇빛 -> 해삗)"),
    long_vowels: bool = typer.Option(False, "--long-vowels", help="mark long first vowels with ː (사ː과 'apology'; "
                                     "the learned layer's guess)"),
    rules_only: bool = typer.Option(False, "--rules-only", help="without the learned layer (tensing and "
                                    "ㄴ-insertion by the rules alone)"),
):
    """Pronunciation from spelling by the Standard Pronunciation rules (표준 발음법)."""
    from malsori.errors import MalsoriError

    try:
        _require_korean(lang, "g2p")
        from malsori.text.ko.g2p import pronounce
        from malsori.text.ko.hangul import to_jamo
        from malsori.text.ko.phonetic import to_ipa, to_phone_string

        formats = {"hangul": str, "jamo": to_jamo, "ipa": to_ipa, "phones": to_phone_string}
        if fmt not in formats:
            raise MalsoriError(f"unknown --format {fmt!r}: choose one of {', '.join(formats)}")

        def emit(line: str) -> None:
            result = pronounce(line, descriptive=descriptive, learned=not rules_only, long_vowels=long_vowels)
            sys.stdout.write(formats[fmt](result.text) + "\n")
            if explain:
                for change in result.changes:
                    sys.stdout.write(f"  {_change_source(change)}: {change.before} -> {change.after}\n")

        for line in _input_lines(text, text_file):
            emit(line)
    except MalsoriError as exc:
        _fail(exc)


@app.command()
def speak(
    text: Optional[str] = typer.Argument(None, help="the text (or use --text-file)"),
    lang: str = typer.Option(..., "--lang", help="language of the text: eng (Piper), kor, spa, ... (eSpeak NG)"),
    output: Path = typer.Option(..., "-o", "--output", help="OUT.wav or OUT.flac"),
    text_file: Optional[Path] = typer.Option(None, "--text-file", help="a document ('-': stdin); blank lines "
                                             "separate paragraphs"),
    voice: Optional[str] = typer.Option(None, "--voice", help="hn1 (the Korean MBROLA voice), an eSpeak NG voice "
                                        "such as ko+f3, or a voice on disk: a folder from `malsori tts train`, a "
                                        "Piper .onnx voice, an MMS-TTS model folder"),
    speaker: Optional[str] = typer.Option(None, "--speaker", help="trained voice: which of its speakers"),
    emotion: Optional[str] = typer.Option(None, "--emotion", help="trained voice: a stored style (neutral, happy...)"),
    style_ref: Optional[Path] = typer.Option(None, "--style-ref", help="trained voice: speak the way this "
                                             "recording is spoken"),
    vocoder: Optional[str] = typer.Option(None, "--vocoder", help="trained voice: auto (its own vocoder "
                                          "where it measured better than Griffin-Lim), neural or griffin-lim"),
    max_minutes: float = typer.Option(600.0, "--max-minutes", min=0.01, help="stop (writing nothing) if the "
                                      "speech would last longer"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Speak text or a whole document, sentence by sentence, streamed to the output."""
    from malsori.errors import MalsoriError

    try:
        from malsori.files import check_output
        from malsori.languages import normalize_language
        from malsori.pipelines.speak import SPEECH_SUFFIXES, speak_document, synthesizer_for

        check_output(output, SPEECH_SUFFIXES, "speech")
        reference = None
        if style_ref is not None:
            from malsori.audio import load_audio

            reference = load_audio(style_ref)
        synthesizer, voice = synthesizer_for(normalize_language(lang), voice, speaker=speaker, emotion=emotion,
                                             style_ref=reference, vocoder=vocoder)
        import itertools

        lines = _input_lines(text, text_file)
        first = next(lines, None)  # a file that is not text fails before the progress bar shows
        lines = itertools.chain([] if first is None else [first], lines)
        readable = text_file is not None and str(text_file) != "-" and text_file.is_file()
        # A file's size in bytes over 3 approximates its characters (Hangul is 3 bytes in UTF-8).
        total = len(text) if text is not None else (text_file.stat().st_size // 3 if readable else 0)
        with _stderr_bar("speaking", total, show=not quiet and bool(total)) as (bar, task):
            progress = None if bar is None else lambda done: bar.update(task, completed=min(done, total))
            spoken = speak_document(lines, lang, output, synthesizer, voice=voice, progress=progress,
                                    max_minutes=max_minutes)
    except MalsoriError as exc:
        _fail(exc)
    if not quiet:
        typer.echo(f"{len(spoken)} sentence(s), {spoken[-1].end:.1f} s -> {output}", err=True)


@app.command()
def generate(
    prompt: str = typer.Argument(..., help='what it should sound like: "a man speaks while typing on a keyboard"'),
    duration: float = typer.Option(5.0, "-d", "--duration", help="seconds of audio"),
    output: Path = typer.Option(Path("generated.wav"), "-o", "--output", help="OUT.wav, .flac or .ogg (with -n: "
                                "OUT-1.wav ...), each with a JSON sidecar (OUT.json) that reproduces it"),
    model: Optional[str] = typer.Option(None, "--model", help="an imported model (audiogen, stable-audio-open, "
                                        "audioldm2, musicgen) or a model folder; default: the first one imported"),
    steps: Optional[int] = typer.Option(None, "--steps", help="diffusion steps (diffusion models; default: the "
                                        "model's own)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="output i uses seed + i (default: a random seed, "
                                       "written to the sidecar)"),
    negative: Optional[str] = typer.Option(None, "--negative", help="what it should not sound like (diffusion "
                                           "models)"),
    guidance: Optional[float] = typer.Option(None, "--guidance", help="classifier-free guidance scale (default: "
                                             "the model's)"),
    count: int = typer.Option(1, "-n", "--count", help="how many clips"),
    dtype: str = typer.Option("float32", "--dtype", help="float32, or bfloat16: half the memory, and 2-3x faster on "
                              "CPUs with bfloat16 instructions (AVX512-BF16, AMX), slower on others"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Text to audio (sound effects, music) from a model on disk: AudioGen, Stable Audio Open, AudioLDM 2, MusicGen."""
    from malsori.errors import MalsoriError

    try:
        from malsori.files import check_output
        from malsori.pipelines.generate import OUTPUT_SUFFIXES, TextToAudio, output_paths, write_generated

        paths = output_paths(output, max(count, 1))
        for path in paths:
            check_output(path, OUTPUT_SUFFIXES, "audio")
        pipeline = TextToAudio(model, dtype=dtype)
        pipeline.check(prompt, duration, count, steps)  # bad requests fail before the model loads in full
        with _stderr_bar("generating", show=not quiet) as (bar, task):
            def hook(what: str, done: int, total: int) -> None:
                if bar is not None:
                    bar.update(task, description=f"generating {what}", completed=done, total=total)

            for result in pipeline.generate(prompt, duration, count=count, seed=seed, steps=steps, negative=negative,
                                            guidance=guidance, hook=hook):
                path = write_generated(result, paths[result.index])
                if not quiet:
                    typer.echo(f"{path} ({result.audio.duration:.1f} s, seed {result.seed}, "
                               f"{result.timings['generate']:.1f} s)", err=True)
    except MalsoriError as exc:
        _fail(exc)


def _require_korean(lang: str, command: str) -> None:
    from malsori.errors import LanguageError
    from malsori.languages import normalize_language

    if normalize_language(lang) != "kor":
        raise LanguageError(f"{command} speaks Korean only for now, not {lang!r}")


def _input_lines(text: Optional[str], text_file: Optional[Path]):
    """The lines of the text given, or of a file ('-': stdin), streamed."""
    from malsori.errors import MalsoriError

    if text_file is None:
        if text is None:
            raise MalsoriError("give the text, or --text-file FILE")
        yield from text.splitlines() or [""]
        return
    if text is not None:
        raise MalsoriError("give the text or --text-file, not both")
    from malsori.text.source import text_lines

    yield from text_lines(text_file)


from malsori.cli_speakers import diarize as _diarize, speakers_app  # noqa: E402

app.add_typer(speakers_app, name="speakers")
from malsori.cli_tts import tts_app  # noqa: E402

app.add_typer(tts_app, name="tts")
from malsori.cli_separate import separate_app  # noqa: E402

app.add_typer(separate_app, name="separate")
app.command("diarize")(_diarize)


def main():
    """The console entry point. Output to a full disk or a closed pipe ends in one line, not a
    traceback: the error may come from a write inside a command or from the final flush."""
    import errno
    import warnings

    show = warnings.showwarning

    def one_line(message, category, *args, **kwargs):
        if category.__name__ == "AudioWarning":  # by name: importing audio here would slow --help
            typer.echo(f"malsori: warning: {message}", err=True)
        else:
            show(message, category, *args, **kwargs)

    warnings.showwarning = one_line
    try:
        try:
            app()
        finally:
            sys.stdout.flush()
    except OSError as exc:
        if exc.errno not in (errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        # Python flushes stdout again at exit: point it at /dev/null so that cannot fail too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if exc.errno == errno.EPIPE:  # the reader stopped (| head): not an error of ours
            sys.exit(1)
        typer.echo(f"malsori: error: cannot write to standard output: {exc.strerror}", err=True)
        sys.exit(6)


if __name__ == "__main__":
    main()
