"""A translation job on files: checkpointed windows, streamed output audio, atomic outputs.

This is what ``malsori translate`` runs. Interrupting it (Ctrl-C) or a failing window keeps every
finished window in ``OUT.parts/``; running the same command again resumes from there.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from malsori.errors import Interrupted, MalsoriError, OutputError
from malsori.files import atomic_path, check_output, write_json, write_text
from malsori.pipelines.checkpoint import Checkpoint, request_key
from malsori.pipelines.formats import render
from malsori.pipelines.translate import Timeline, TranslationResult, Translator, check_task

SPEECH_OUT = ("s2st", "t2st")


@dataclass
class JobOutput:
    result: TranslationResult
    audio_path: Path | None
    sidecar_path: Path | None
    text_path: Path | None
    resumed_windows: int


class PartialFailure(MalsoriError):
    """Some windows failed; the others were kept and the command can be re-run to retry them."""


def output_paths(task: str, output: str | None) -> tuple[Path | None, Path | None, Path | None]:
    """(audio, sidecar json, text) paths for a task's ``-o`` argument."""
    if task in SPEECH_OUT:
        if not output or output == "-":
            raise OutputError(f"task {task} writes speech: give a file name with -o OUT.wav")
        audio = check_output(output if Path(output).suffix else output + ".wav", (".wav",), f"task {task}'s speech")
        return audio, check_output(audio.with_suffix(".json")), None
    if not output or output == "-":
        return None, None, None
    return None, None, check_output(output)


def run_job(translator: Translator, input, task: str, tgt: str, src: str | None, output: str | None,
            fmt: str = "txt", resume: bool = True,
            progress: Callable[[int, int], None] | None = None,
            on_start: Callable[[int], None] | None = None, expressive=None,
            diarize: Callable | None = None) -> JobOutput:
    """Run a request to its output files. With ``diarize`` (audio -> Diarization, e.g. a
    SpeakerDiarization's ``apply``), every segment of speech input says who spoke it."""
    t0 = time.perf_counter()
    # Outputs are checked before any work: a job must not run for an hour and then fail to write.
    audio_path, sidecar_path, text_path = output_paths(check_task(task), output)
    request = translator.prepare(input, task, tgt, src, expressive)
    if diarize is not None:
        if request.audio is None:
            raise MalsoriError("--diarize needs speech input")
        # First, so each window's segments can be cut where the speaker changes.
        request.diarization = diarize(request.audio)
    route = translator.plan(request)
    units = translator.units(request)
    if on_start:
        on_start(len(units))
    anchor = audio_path or text_path
    checkpoint = None
    done: dict = {}
    if anchor is not None:
        key = request_key(input if request.text is None and not hasattr(input, "samples") else None,
                          request.text, request.task, request.src, request.tgt,
                          {**route.describe(), "expressive": asdict(request.expressive) if request.expressive else None,
                           "diarized": request.diarization is not None})
        checkpoint = Checkpoint(anchor, key)
        done = checkpoint.load() if resume else {}
        if not resume:
            checkpoint.clear()
    resumed = len(done)
    timings: dict = {}
    errors = []
    try:
        for window in translator.iter_windows(request, route, units, skip=done.__contains__, timings=timings):
            if window.error:
                errors.append(f"window {window.index} ({_span(window)}): {window.error}")
            else:
                if checkpoint is not None:
                    checkpoint.save(window)
                done[window.index] = window
            if progress:
                progress(len(done) + len(errors), len(units))
    except KeyboardInterrupt:
        if checkpoint is not None and done:
            raise Interrupted(f"interrupted: {len(done)} of {len(units)} windows kept in {checkpoint.dir}; "
                               "run the same command again to resume") from None
        raise
    windows = [done[i] for i in sorted(done)]
    segments = [seg for w in windows for seg in w.segments]
    for i, seg in enumerate(segments):
        seg.index = i
    if request.diarization is not None:  # segments restored from an older checkpoint may lack it
        from malsori.pipelines.diarize import label_segments

        label_segments([s for s in segments if s.speaker is None], request.diarization)
    result = TranslationResult(request.task, request.src, request.tgt, segments, None, route.describe(), timings, errors,
                               request.line_count)
    duration = _write_audio(audio_path, segments, checkpoint) if audio_path is not None else None
    timings["total"] = time.perf_counter() - t0
    if sidecar_path is not None:
        write_json(sidecar_path, {**result.to_dict(), "audio_duration": round(duration, 3), "audio": audio_path.name})
    if text_path is not None:
        write_text(text_path, render(result, fmt))
    if errors:
        kept = f"; finished windows are kept in {checkpoint.dir}, re-run to retry" if checkpoint else ""
        raise PartialFailure(f"{len(errors)} of {len(units)} windows failed (first: {errors[0]}){kept}")
    if checkpoint is not None:
        checkpoint.clear()
    return JobOutput(result, audio_path, sidecar_path, text_path, resumed)


def _span(window) -> str:
    if window.start is None:
        return "text"
    return f"{window.start:.1f}-{window.end:.1f} s"


def _write_audio(path: Path, segments, checkpoint: Checkpoint | None) -> float:
    """Stream segment audio (from memory or the checkpoint folder) into one WAV, atomically."""
    import soundfile as sf

    if path.suffix.lower() != ".wav":
        raise OutputError(f"cannot write {path}: speech output is written as .wav")
    first = next((s for s in segments if s.audio is not None or s.audio_file), None)
    if first is None:
        raise MalsoriError("nothing to speak: the translation is empty")
    rate = (first.audio or checkpoint.audio_of(first)).sample_rate
    with atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", samplerate=rate, channels=1, subtype="PCM_16", format="WAV") as sink:
            timeline = Timeline(rate, sink)
            for seg in segments:
                if seg.audio is None and seg.audio_file and checkpoint is not None:
                    seg.audio = checkpoint.audio_of(seg)
                timeline.place(seg)
                seg.audio = None  # bounded memory: one segment's audio at a time
    return timeline.position
