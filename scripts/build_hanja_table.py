"""Build src/malsori/text/ko/data/hanja.tsv (Hanja -> Hangul readings) from Unicode's Unihan.

    .venv/bin/python scripts/build_hanja_table.py [UNIHAN]

UNIHAN is Unihan.zip as published by Unicode, or Unihan_Readings.txt (plain or .bz2), which is
how Debian's ``unicode-data`` package ships it (``apt-get install unicode-data``). Without an
argument the Debian paths are tried.

Only the kHangul field is kept: one line per ideograph that has one, ``char TAB readings``,
readings separated by spaces, the source tags dropped. Unihan lists the readings in Hangul
order, so they are reordered most usual first (see ``rank_readings``); hanja.py reads the first
one when no dictionary word covers the character.
"""

from __future__ import annotations

import argparse
import bz2
import io
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from malsori.text.ko.hanja import initial_sound_rule  # noqa: E402

DEFAULT_SOURCES = [Path("/usr/share/unicode/Unihan.zip"), Path("/usr/share/unicode/Unihan_Readings.txt.bz2")]
TABLE = ROOT / "src" / "malsori" / "text" / "ko" / "data" / "hanja.tsv"
READINGS_FILE = "Unihan_Readings.txt"
# Where the basic-Hanja list gives a character two readings, Unihan tags only one of them E.
# 車 is tagged 거 (자전거), but 차 is by far the more frequent (자동차, 기차, 차량, 주차).
USUAL_READINGS = {"車": "차"}


def read_unihan_readings(source: Path) -> str:
    """The text of Unihan_Readings.txt from a zip, a .bz2 or the plain file."""
    if source.suffix == ".zip":
        with zipfile.ZipFile(source) as archive:
            return archive.read(READINGS_FILE).decode("utf-8")
    if source.suffix == ".bz2":
        return bz2.decompress(source.read_bytes()).decode("utf-8")
    return source.read_text(encoding="utf-8")


def unicode_version(text: str) -> str:
    match = re.search(r"^# Unicode version: (\S+)", text, re.MULTILINE)
    return match[1] if match else "unknown"


def parse_khangul(text: str) -> dict[str, list[tuple[str, str]]]:
    """{char: [(reading, source tags), ...]} in Unihan's order, e.g. 李 -> [(리, 0E), (이, 0)]."""
    table: dict[str, list[tuple[str, str]]] = {}
    for line in io.StringIO(text):
        if line.startswith("#") or "\tkHangul\t" not in line:
            continue
        code, _, value = line.rstrip("\n").split("\t")
        readings = [tuple(entry.split(":", 1)) if ":" in entry else (entry, "") for entry in value.split()]
        table[chr(int(code[2:], 16))] = readings
    return table


def ordered_readings(char: str, readings: list[tuple[str, str]]) -> list[str]:
    """The readings of ``char`` most usual first, without repeats."""
    ordered = list(dict.fromkeys(rank_readings(readings)))
    usual = USUAL_READINGS.get(char)
    if usual in ordered:
        ordered.remove(usual)
        ordered.insert(0, usual)
    return ordered


def rank_readings(readings: list[tuple[str, str]]) -> list[str]:
    """Most usual reading first. The tags say where a reading comes from (TR38 kHangul): E is the
    reading of the 1,800 basic Hanja for education, N one for personal names, 0 and 1 KS X 1001
    and 1002. KS X 1001 also lists initial-sound forms (李 as 이 beside 리); those go after the
    original, since hanja.py derives them itself at the start of a word and must not use them
    inside one (行李 is 행리)."""
    syllables = [syllable for syllable, _ in readings]

    def is_initial_sound_form(syllable: str) -> bool:
        return any(other != syllable and initial_sound_rule(other) == syllable for other in syllables)

    def key(item: tuple[int, tuple[str, str]]) -> tuple:
        index, (syllable, tags) = item
        # E first even over the original form: 諾 is 낙 (승낙), its 락 is a custom reading (허락).
        return ("E" not in tags, is_initial_sound_form(syllable), "N" not in tags, "0" not in tags, index)

    return [syllable for _, (syllable, _) in sorted(enumerate(readings), key=key)]


def write_table(table: dict[str, list[tuple[str, str]]], version: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        # The Unicode licence asks that a modified data file say so (see HANJA_LICENSE.txt).
        fh.write(f"# Derived from the Unicode Character Database, Unihan {version}, Unihan_Readings.txt, "
                 "field kHangul.\n")
        fh.write("# Modified: source tags dropped, readings reordered most usual first. "
                 "Built by scripts/build_hanja_table.py.\n")
        fh.write("# Copyright (c) Unicode, Inc. Unicode License: see HANJA_LICENSE.txt.\n")
        for char in sorted(table):
            fh.write(f"{char}\t{' '.join(ordered_readings(char, table[char]))}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("unihan", nargs="?", type=Path, help="Unihan.zip or Unihan_Readings.txt[.bz2]")
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args()
    source = args.unihan or next((p for p in DEFAULT_SOURCES if p.exists()), None)
    if source is None:
        sys.exit("no Unihan data: apt-get install unicode-data, or pass the path to Unihan.zip")
    text = read_unihan_readings(source)
    table = parse_khangul(text)
    version = unicode_version(text)
    write_table(table, version, args.out)
    print(f"{source}: Unihan {version}, {len(table)} characters -> {args.out} "
          f"({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
