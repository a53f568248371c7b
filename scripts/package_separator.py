"""Make a trained separator the one malsori ships: its graph and card copied into
``src/malsori/models/separators/NAME/``, with the training speech listed file by file
(``training_speech.tsv``: path relative to ../shared/data or the speech folder, speaker, licence,
origin) so the provenance travels with the weights, and ``weights.pt`` (the network alone) so
``malsori separate train --init-from NAME`` can fine-tune it. Refuses speech that is not
permissively licensed.

    python scripts/package_separator.py ~/.cache/malsori/runs/sep-permissive-v2 [--name convtasnet-8k]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from malsori.engines.separation.train import WEIGHTS, shippable_weights
from malsori.models.catalog import sha256_file

ROOT = Path(__file__).resolve().parent.parent
RESEARCH_ONLY = ("NC", "research only")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, help="a model folder of malsori separate train (exported)")
    parser.add_argument("--name", default="convtasnet-8k")
    parser.add_argument("--chunk-s", type=float, help="seconds per chunk at inference (measured best)")
    args = parser.parse_args()
    card = json.loads((args.run / "separator.json").read_text())
    rows = []
    for manifest in card["training"]["speech"]:
        with open(manifest, newline="", encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh, delimiter="\t"))
    barred = sorted({r["licence"] for r in rows if any(word in r.get("licence", "") for word in RESEARCH_ONLY)})
    if barred:
        raise SystemExit(f"not shipped: the model learned from research-only speech ({'; '.join(barred)})")
    out = ROOT / "src" / "malsori" / "models" / "separators" / args.name
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.run / "separator.onnx", out / "separator.onnx")
    shippable_weights(args.run, out / WEIGHTS)  # so that --init-from can fine-tune the shipped model
    card["sha256"][WEIGHTS] = sha256_file(out / WEIGHTS)
    with open(out / "training_speech.tsv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["path", "speaker", "licence", "origin"], delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "path": _relative(r["path"])})
    card["name"] = args.name
    if args.chunk_s:
        card["chunk_s"] = args.chunk_s
    card["training"]["speech"] = ["training_speech.tsv (made by scripts/separation_speech.py "
                                  "OUT --piper 40 --variants 8)"]
    if card.get("initialised_from"):
        card["initialised_from"] = _strip_paths(card["initialised_from"])
    (out / "separator.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n")
    print(f"{out}: {len(rows)} training files, sha256 {card['sha256']}")


def _relative(path: str) -> str:
    """``speech/...`` under ../shared/data, or the path below the speech folder the script made."""
    parts = Path(path).parts
    for anchor in ("speech", "variants", "piper-joe"):
        if anchor in parts:
            return str(Path(*parts[parts.index(anchor):]))
    return Path(path).name


def _strip_paths(origin: dict) -> dict:
    """The earlier run's record, its paths reduced to names (they pointed into one machine)."""
    return {**origin, "model": Path(origin["model"]).name, "speech": [Path(s).name for s in origin.get("speech", [])],
            "initialised_from": _strip_paths(origin["initialised_from"]) if origin.get("initialised_from") else None}


if __name__ == "__main__":
    main()
