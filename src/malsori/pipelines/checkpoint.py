"""Per-window checkpoints beside an output file, so an interrupted long job resumes where it was.

``OUT.parts/`` holds one JSON file per finished window and one WAV per synthesised segment. The
folder is keyed by the request (input file identity, task, languages): a different request
starts afresh instead of mixing results.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from malsori.audio import load_audio, save_audio
from malsori.errors import OutputError
from malsori.files import write_json
from malsori.pipelines.translate import SegmentResult, WindowResult


def request_key(input_path: str | None, text: str | None, task: str, src: str | None, tgt: str, route: dict) -> str:
    ident = {"task": task, "src": src, "tgt": tgt, "route": route}
    if input_path is not None:
        st = os.stat(input_path)
        ident["input"] = [os.path.abspath(input_path), st.st_size, int(st.st_mtime)]
    if text is not None:
        ident["text"] = hashlib.sha256(text.encode()).hexdigest()
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


class Checkpoint:
    def __init__(self, output: str | os.PathLike, key: str):
        self.dir = Path(str(output) + ".parts")
        self.key = key

    def load(self) -> dict[int, WindowResult]:
        """Windows finished by an earlier run of the same request (none if it differed)."""
        meta = self.dir / "request.json"
        if not meta.is_file():
            return {}
        if json.loads(meta.read_text()).get("key") != self.key:
            shutil.rmtree(self.dir, ignore_errors=True)
            return {}
        done = {}
        for path in sorted(self.dir.glob("window_*.json")):
            data = json.loads(path.read_text())
            segments = [SegmentResult(**seg) for seg in data["segments"]]
            done[data["index"]] = WindowResult(data["index"], data["start"], data["end"], segments)
        return done

    def save(self, window: WindowResult) -> None:
        """Store a finished window; its segment audio moves to disk and out of memory."""
        try:
            self.dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write checkpoints to {self.dir}: {exc.strerror}") from None
        write_json(self.dir / "request.json", {"key": self.key})
        segments = []
        for j, seg in enumerate(window.segments):
            raw = seg.to_dict()
            if seg.audio is not None:
                name = f"window_{window.index:05d}_{j:03d}.wav"
                save_audio(self.dir / name, seg.audio)
                raw["audio_file"] = name
                seg.audio = None
                seg.audio_file = name
            segments.append(raw)
        write_json(self.dir / f"window_{window.index:05d}.json",
                   {"index": window.index, "start": window.start, "end": window.end, "segments": segments})

    def audio_of(self, seg: SegmentResult):
        return load_audio(self.dir / seg.audio_file) if seg.audio_file else None

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
