"""Apertium rule-based text translation (Debian packages) through a long-running pipeline."""

from __future__ import annotations

import atexit
import functools
import os
import re
import select
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Sequence

from malsori.errors import LanguageError, ModelError

# Known literal renderings fixed after translation, per pair. Apertium always reads the courtesy
# word "please" as the verb "complacer"; as an interjection (sentence edge, beside a comma, or
# opening a request before another infinitive: "Please open ..." -> "Complacer abrir ...") it is
# "por favor".
_POST_EDITS = {
    ("eng", "spa"): [
        (re.compile(r"(,\s*|\s)complacer(?=\s*[.!?]|$)"), r"\1por favor"),
        (re.compile(r"^Complacer(?=,)|(?<=[.!?]\s)Complacer(?=,)"), "Por favor"),
        (re.compile(r"(^|(?<=[.!?]\s))Complacer (?=\w+(?:ar|er|ir)(?:l[aoe]s?|me|nos|se|te)?\b)"), "Por favor, "),
    ],
}

@functools.lru_cache(maxsize=1)
def installed_pairs() -> frozenset[tuple[str, str]]:
    exe = shutil.which("apertium")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    pairs = set()
    for line in out.split():
        parts = line.strip().split("-")
        if len(parts) == 2 and len(parts[0]) == 3 and len(parts[1]) == 3:
            pairs.add((parts[0], parts[1]))
    return frozenset(pairs)


class ApertiumTranslator:
    """TextTranslator protocol over the ``apertium`` command (pairs found with ``apertium -l``)."""

    name = "apertium"

    def __init__(self, mark_unknown: bool = False, timeout: float = 120.0):
        self.mark_unknown = mark_unknown
        self.timeout = timeout

    def pairs(self) -> frozenset[tuple[str, str]]:
        return installed_pairs()

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in self.pairs()

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not texts:
            return []
        if not self.supports(src, tgt):
            if shutil.which("apertium") is None:
                raise ModelError("apertium is not installed: apt-get install apertium apertium-eng-spa")
            raise LanguageError(f"apertium has no {src}-{tgt} pair installed (apt-get install apertium-{src}-{tgt})")
        key = (src, tgt, self.mark_unknown)
        with _PIPES_LOCK:
            pipe = _PIPES.get(key)
            if pipe is None:
                pipe = _PIPES[key] = ApertiumPipe(src, tgt, self.mark_unknown)
        return [post_edit(pipe.translate(" ".join(t.split()), self.timeout), src, tgt) for t in texts]


_PIPES: dict[tuple, "ApertiumPipe"] = {}
_PIPES_LOCK = threading.Lock()
_SPECIAL = re.compile(r"([\\\[\]^$/<>@{}])")  # apertium stream-format characters
_ESCAPED = re.compile(r"\\(.)")


class ApertiumPipe:
    """One pair's pipeline kept running in null-flush mode: each text goes in ending in NUL and
    its translation comes back ending in NUL. Starting the ten programs of a pair costs ~0.14 s a
    call; a running pipe answers a sentence in a few milliseconds (what streaming needs)."""

    def __init__(self, src: str, tgt: str, mark_unknown: bool):
        self.name = f"{src}-{tgt}"
        self.lock = threading.Lock()
        self.generation = "-g" if mark_unknown else "-n"  # -n: unknown words without '*'
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        mode = _mode_file(self.name)
        script = subprocess.run(["apertium-wblank-mode", "-z", str(mode)], capture_output=True, text=True,
                                timeout=20).stdout
        if not script.strip():
            raise ModelError(f"apertium {self.name}: cannot build the pipeline from {mode}")
        proc = subprocess.Popen(["bash", "-c", script, "apertium", self.generation, ""], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        atexit.register(proc.kill)
        return proc

    def translate(self, text: str, timeout: float) -> str:
        if not text:
            return ""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            # The trailing newline lets the analyser finish the last word before the flush.
            try:
                self.proc.stdin.write(_SPECIAL.sub(r"\\\1", text).encode() + b"\n\0")
                self.proc.stdin.flush()
                out = self._read_unit(timeout)
            except (OSError, ModelError) as exc:
                self.proc.kill()
                self.proc = None
                raise ModelError(f"apertium {self.name} failed: {exc}") from None
        return " ".join(_ESCAPED.sub(r"\1", out.decode("utf-8", "replace")).split())

    def _read_unit(self, timeout: float) -> bytes:
        fd, buf, deadline = self.proc.stdout.fileno(), b"", time.monotonic() + timeout
        while not buf.endswith(b"\0"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ModelError(f"no answer within {timeout:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ModelError("the pipeline exited")
            buf += chunk
        return buf[:-1]


def _mode_file(pair: str) -> Path:
    for root in (os.environ.get("APERTIUM_DATADIR"), "/usr/share/apertium", "/usr/local/share/apertium"):
        if root and (Path(root) / "modes" / f"{pair}.mode").is_file():
            return Path(root) / "modes" / f"{pair}.mode"
    raise ModelError(f"apertium {pair}: mode file not found under /usr/share/apertium/modes")


def post_edit(text: str, src: str, tgt: str) -> str:
    for pattern, replacement in _POST_EDITS.get((src, tgt), []):
        text = pattern.sub(replacement, text)
    return text
