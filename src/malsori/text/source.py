"""Text input from files or stdin: UTF-8 text only. Binary data or another encoding is refused in
one line, since read leniently it becomes hours of noise or pages of garbage downstream."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Iterator

from malsori.errors import MalsoriError

# C0 control characters that never occur in text (tab, newlines, form feed and escape aside).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


class TextInputError(MalsoriError):
    """The input text is not readable UTF-8 text."""

    exit_code = 2


def text_lines(path: str | Path) -> Iterator[str]:
    """The lines of a UTF-8 text file (``-``: stdin), streamed, without their line ends."""
    name = "<stdin>" if str(path) == "-" else str(path)
    if str(path) != "-" and not Path(path).is_file():
        raise TextInputError(f"{name}: no such file")
    stream = sys.stdin.buffer if str(path) == "-" else open(path, "rb")
    try:
        for number, raw in enumerate(stream, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TextInputError(f"{name}: not UTF-8 text (line {number}, byte {exc.start + 1}); "
                                     "convert it first, e.g. with iconv") from None
            bad = _CONTROL.search(line)
            if bad:
                raise TextInputError(f"{name}: binary data, not text (control character "
                                     f"U+{ord(bad.group()):04X} on line {number})")
            yield (line.lstrip("\ufeff") if number == 1 else line).rstrip("\r\n")
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_text(path: str | Path) -> str:
    """A whole UTF-8 text file (``-``: stdin), lines joined with ``\\n``."""
    return "\n".join(text_lines(path))
