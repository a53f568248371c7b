"""Build src/malsori/text/ko/data/hanja_origin.tsv.gz (which syllables of a word are Sino-Korean)
from libhangul's Hanja dictionary.

    .venv/bin/python scripts/build_hanja_origin.py [HANJA_TXT]

HANJA_TXT is libhangul's ``data/hanja/hanja.txt`` (BSD-3-Clause), as Debian's ``libhangul-data``
package ships it in /usr/share/libhangul/hanja/ (``apt-get download libhangul-data`` and
``dpkg -x`` fetch it without installing). Its lines are ``hangul:written form:gloss``; the
written form keeps native syllables in Hangul (눈동자 -> 눈瞳子, 문고리 -> 門고리), so every
entry says, syllable by syllable, which are Hanja (H) and which are native (N).

The table keeps words of 2-6 syllables whose written form has one Hanja or Hangul syllable per
syllable: ``word TAB patterns``, the patterns (H/N strings) separated by commas (homographs may
differ: 고리 is 高利 and also native), sorted. The G2P's learned layer reads it (``hanja_origin``
features); the dictionary's copyright notice travels with it in HANJA_ORIGIN_LICENSE.txt.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from malsori.text.ko.hangul import is_syllable  # noqa: E402

DEFAULT_SOURCE = Path("/usr/share/libhangul/hanja/hanja.txt")
TABLE = ROOT / "src" / "malsori" / "text" / "ko" / "data" / "hanja_origin.tsv.gz"


def is_hanja(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FA1F


def origin_patterns(lines) -> dict[str, set[str]]:
    """word -> the H/N patterns its dictionary entries give."""
    out: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        if line.startswith("#"):
            continue
        fields = line.rstrip("\n").split(":")
        if len(fields) < 2:
            continue
        word, written = fields[0], fields[1]
        if not 2 <= len(word) <= 6 or len(written) != len(word) or not all(map(is_syllable, word)):
            continue
        pattern = []
        for said, ch in zip(word, written):
            if is_hanja(ch):
                pattern.append("H")
            elif ch == said:
                pattern.append("N")
            else:
                break
        if len(pattern) == len(word) and "H" in pattern:
            out[word].add("".join(pattern))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("-o", "--output", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: not found (apt-get download libhangul-data; dpkg -x it)")
    with open(args.source, encoding="utf-8") as fh:
        table = origin_patterns(fh)
    text = "".join(f"{word}\t{','.join(sorted(p))}\n" for word, p in sorted(table.items()))
    tmp = args.output.with_suffix(".tmp")
    # No name or time in the gzip header: the same dictionary gives the same bytes.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(text.encode("utf-8"))
    tmp.replace(args.output)
    mixed = sum("N" in ",".join(p) for p in table.values())
    print(f"{args.output}: {len(table):,} words, {mixed:,} with native syllables, "
          f"{args.output.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
