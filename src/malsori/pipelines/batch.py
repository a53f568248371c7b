"""Many recordings through one pipeline: ``malsori batch MANIFEST --task asr -o OUT_DIR [--ray]``.

The manifest is a TSV with a header (``path``, and optionally ``id``, ``src``, ``tgt``), a JSONL
file of such rows, or a folder (every audio file in it, sorted). Each item's outputs are written
atomically into OUT_DIR under its id, and one JSON line per item goes to ``OUT_DIR/results.jsonl``
as soon as it is done (status ok or error, with the error's one line; a failing item never stops
the run). Running the same command again skips the items already done, so a crash or a Ctrl-C
loses at most the items in flight.

Without ``--ray`` the items run in this process, one after another, with the models loaded once.
With ``--ray`` they run on Ray Data: a local cluster started for the run, or an existing one by
address, with one set of models per worker (the worker is a class Ray keeps alive)."""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from malsori.errors import MalsoriError

TASKS = ("asr", "s2tt", "s2st", "diarize")
RESULTS = "results.jsonl"
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm", ".aac", ".aiff", ".aif"}


@dataclass
class BatchItem:
    id: str
    path: str
    src: str | None = None
    tgt: str | None = None


@dataclass
class BatchRow:
    id: str
    path: str
    task: str
    status: str  # "ok" or "error"
    error: str | None = None
    outputs: dict = field(default_factory=dict)  # kind -> file name inside OUT_DIR
    text: str | None = None
    audio_s: float | None = None
    seconds: float = 0.0  # processing time of this item
    worker: str = ""

    @property
    def rtf(self) -> float | None:
        return self.seconds / self.audio_s if self.audio_s else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rtf"] = round(self.rtf, 4) if self.rtf is not None else None
        return data


def read_manifest(source: str | Path) -> list[BatchItem]:
    """Items from a TSV or JSONL manifest (paths relative to its folder) or a folder of audio."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise MalsoriError(f"{source}: no audio files in this folder")
        return _unique([BatchItem(_id_of(p, source), str(p)) for p in files])
    if not source.is_file():
        raise MalsoriError(f"{source}: no such manifest or folder")
    rows: list[dict] = []
    if source.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise MalsoriError(f"{source.name}:{number}: not a JSON object") from None
                if not isinstance(row, dict):
                    raise MalsoriError(f"{source.name}:{number}: not a JSON object")
                rows.append({**row, "_line": number})
    else:
        with open(source, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            if "path" not in (reader.fieldnames or []):
                raise MalsoriError(f"{source.name}: the first line must name the columns, with a 'path' column")
            rows = [{**row, "_line": number} for number, row in enumerate(reader, 2)]
    items = []
    for row in rows:
        path = row.get("path")
        if not isinstance(path, str) or not path.strip():
            raise MalsoriError(f"{source.name}:{row['_line']}: no path")
        full = Path(path) if Path(path).is_absolute() else source.parent / path
        item_id = str(row.get("id") or "").strip() or _id_of(full, source.parent)
        items.append(BatchItem(item_id, str(full), row.get("src") or None, row.get("tgt") or None))
    if not items:
        raise MalsoriError(f"{source.name}: the manifest lists nothing")
    return _unique(items)


def _id_of(path: Path, root: Path) -> str:
    try:
        relative = path.relative_to(root)
    except ValueError:
        relative = Path(path.name)
    return str(relative.with_suffix("")).replace(os.sep, "__")


def _unique(items: list[BatchItem]) -> list[BatchItem]:
    seen: dict[str, str] = {}
    for item in items:
        if item.id in seen:
            raise MalsoriError(f"id {item.id!r} is used twice ({seen[item.id]} and {item.path}): give an id column")
        if any(c in item.id for c in "/\\") or item.id.startswith("."):
            raise MalsoriError(f"id {item.id!r}: ids name output files, so no slashes and no leading dot")
        seen[item.id] = item.path
    return items


def finished_ids(out_dir: Path) -> set[str]:
    """Items already done (status ok) in an earlier run; a last line cut by a crash is ignored."""
    done: dict[str, str] = {}
    path = Path(out_dir) / RESULTS
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[row["id"]] = row["status"]
    return {i for i, status in done.items() if status == "ok"}


@dataclass
class BatchOptions:
    task: str
    tgt: str | None = None
    src: str | None = None
    fmt: str = "txt"  # text output of asr/s2tt: txt, srt, vtt, json


class BatchWorker:
    """Runs items one at a time with models loaded once (what Ray keeps alive per worker)."""

    def __init__(self, options: BatchOptions, out_dir: str | Path):
        self.options, self.out_dir = options, Path(out_dir)
        self.name = f"{os.uname().nodename}:{os.getpid()}"
        self._translator = None
        self._diarizer = None

    def __call__(self, row: dict) -> dict:
        """Ray Data's per-row call: an item as a dict in, its result row as a dict out."""
        return self.run(BatchItem(**{k: row.get(k) for k in ("id", "path", "src", "tgt")})).to_dict()

    def run(self, item: BatchItem) -> BatchRow:
        started = time.perf_counter()
        row = BatchRow(item.id, item.path, self.options.task, "ok", worker=self.name)
        try:
            self._process(item, row)
        except MalsoriError as exc:
            row.status, row.error = "error", str(exc).splitlines()[0]
        except Exception as exc:  # one bad item must not stop thousands: recorded, then the next
            row.status, row.error = "error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        row.seconds = round(time.perf_counter() - started, 3)
        return row

    def _process(self, item: BatchItem, row: BatchRow) -> None:
        from malsori.audio import load_audio

        audio = load_audio(item.path)
        row.audio_s = round(audio.duration, 3)
        task = self.options.task
        if task == "diarize":
            from malsori.files import write_json, write_text

            result = self.diarizer.apply(audio, uri=item.id)
            write_text(self.out_dir / f"{item.id}.rttm", result.to_rttm())
            write_json(self.out_dir / f"{item.id}.json", result.to_dict())
            row.outputs = {"rttm": f"{item.id}.rttm", "json": f"{item.id}.json"}
            row.text = f"{len(result.speakers)} speakers, {len(result.turns)} turns"
            return
        from malsori.pipelines.job import run_job

        src = item.src or self.options.src
        tgt = item.tgt or self.options.tgt or (src if task == "asr" else None)
        if tgt is None:
            raise MalsoriError("task asr needs the spoken language (--src, or a src column)" if task == "asr" else
                               f"task {task} needs a target language (--tgt, or a tgt column)")
        suffix = ".wav" if task == "s2st" else f".{self.options.fmt}"
        output = self.out_dir / f"{item.id}{suffix}"
        job = run_job(self.translator, audio, task, tgt, src, str(output), fmt=self.options.fmt, resume=False)
        row.text = job.result.text
        row.outputs = {k: p.name for k, p in (("audio", job.audio_path), ("json", job.sidecar_path),
                                             ("text", job.text_path)) if p is not None}

    @property
    def translator(self):
        if self._translator is None:
            from malsori.pipelines.translate import Translator

            self._translator = Translator()
        return self._translator

    @property
    def diarizer(self):
        if self._diarizer is None:
            from malsori.pipelines.diarize import SpeakerDiarization

            self._diarizer = SpeakerDiarization()
        return self._diarizer


@dataclass
class BatchSummary:
    total: int
    skipped: int  # done in an earlier run
    ok: int
    failed: int
    wall_s: float
    audio_s: float
    results: Path

    @property
    def rtf(self) -> float | None:
        return self.wall_s / self.audio_s if self.audio_s else None


def run_batch(manifest: str | Path, options: BatchOptions, out_dir: str | Path, ray: str | None = None,
              workers: int | None = None, progress: Callable[[BatchRow, int, int], None] | None = None) -> BatchSummary:
    """Run every item not yet done; ``ray``: None (in this process), "local" (a cluster started
    here) or a cluster address. ``progress(row, done, total)`` after each item."""
    if options.task not in TASKS:
        raise MalsoriError(f"unknown batch task {options.task!r}: choose one of {', '.join(TASKS)}")
    items = read_manifest(manifest)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = finished_ids(out_dir)
    todo = [i for i in items if i.id not in done]
    started = time.perf_counter()
    rows = _run_in_process(todo, options, out_dir) if ray is None else _run_on_ray(todo, options, out_dir, ray, workers)
    ok = failed = 0
    audio_s = 0.0
    with open(out_dir / RESULTS, "a", encoding="utf-8") as log:
        for n, row in enumerate(rows, 1):
            # one whole line per item, on disk before the next: a crash loses only what was in flight
            log.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
            log.flush()
            os.fsync(log.fileno())
            ok += row.status == "ok"
            failed += row.status != "ok"
            audio_s += row.audio_s or 0.0
            if progress:
                progress(row, n, len(todo))
    return BatchSummary(len(items), len(items) - len(todo), ok, failed, time.perf_counter() - started, audio_s,
                        out_dir / RESULTS)


def _run_in_process(items: list[BatchItem], options: BatchOptions, out_dir: Path) -> Iterator[BatchRow]:
    worker = BatchWorker(options, out_dir)
    for item in items:
        yield worker.run(item)


def _run_on_ray(items: list[BatchItem], options: BatchOptions, out_dir: Path, address: str,
                workers: int | None) -> Iterable[BatchRow]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MalsoriError("--ray needs Ray Data: pip install 'malsori[ray]'") from None
    if not items:
        return
    started_here = not ray.is_initialized()
    if started_here:
        # A local cluster sized to this machine, or the one at ``address``; the workers import
        # malsori from the same environment, so nothing is shipped.
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address == "local":
            ray.init(num_cpus=workers or os.cpu_count(), **kwargs)
        else:
            ray.init(address=address, **kwargs)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        dataset = ray.data.from_items([asdict(i) for i in items], override_num_blocks=len(items))
        results = dataset.map(BatchWorker, fn_constructor_args=(options, str(out_dir)), concurrency=size, num_cpus=1)
        for row in results.iter_rows():
            yield BatchRow(**{k: v for k, v in row.items() if k != "rtf"})
    finally:
        if started_here:
            ray.shutdown()
