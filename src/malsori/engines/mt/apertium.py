"""Apertium rule-based text translation (Debian packages), batched into one process call."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from typing import Sequence

from malsori.errors import LanguageError, ModelError

# Known literal renderings fixed after translation, per pair. Apertium always reads the courtesy
# word "please" as the verb "complacer"; as an interjection (sentence edge, beside a comma) it is
# "por favor".
_POST_EDITS = {
    ("eng", "spa"): [
        (re.compile(r"(,\s*|\s)complacer(?=\s*[.!?]|$)"), r"\1por favor"),
        (re.compile(r"^Complacer(?=,)|(?<=[.!?]\s)Complacer(?=,)"), "Por favor"),
    ],
}

# A line that apertium passes through untouched: it marks batch boundaries reliably, whereas
# plain newlines are sometimes merged with neighbouring sentences.
_SEPARATOR = "\n\u2063MALSORISEP\u2063\n"
_SEPARATOR_TOKEN = "MALSORISEP"


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
        cleaned = [" ".join(t.split()) for t in texts]
        args = ["apertium", "-f", "txt"] + ([] if self.mark_unknown else ["-u"]) + [f"{src}-{tgt}"]
        try:
            proc = subprocess.run(args, input=_SEPARATOR.join(cleaned), capture_output=True, text=True,
                                  timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ModelError(f"apertium {src}-{tgt} did not answer within {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            raise ModelError(f"apertium {src}-{tgt} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
        parts = [" ".join(p.replace("\u2063", " ").split()) for p in proc.stdout.split(_SEPARATOR_TOKEN)]
        if len(parts) != len(cleaned):  # the separator was altered: fall back to one call per text
            return [self.translate([t], src, tgt)[0] for t in cleaned] if len(cleaned) > 1 else [" ".join(parts)]
        return [post_edit(p, src, tgt) for p in parts]


def post_edit(text: str, src: str, tgt: str) -> str:
    for pattern, replacement in _POST_EDITS.get((src, tgt), []):
        text = pattern.sub(replacement, text)
    return text
