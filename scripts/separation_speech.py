"""The speech a default separation model may learn from: permissively licensed recordings of
../shared/data plus the Piper joe voice's output, listed in one manifest for ``malsori separate train``.

    python scripts/separation_speech.py OUT_DIR [--piper 40]
    malsori separate train OUT_DIR/manifest.tsv -o my-sep --licence "CC BY 4.0 (FLEURS), public domain (LJSpeech, LibriVox)"

Real voices (each FLEURS utterance counted as its own speaker, as the corpus gives no ids):
LJSpeech (public domain), the LibriVox reader and the "cards" speaker of the pocketsphinx test data
(LibriVox: public domain; BSD-2-Clause package), FLEURS English and Spanish (CC BY 4.0). Left
out on purpose: LibriSpeech and the speechbrain Harvard sentences, which benchmarks/separation_bench.py
mixes to test on speakers the model never heard; FSDD (CC BY-SA); the emotiontts packs
(CC BY-NC-SA, research only). Synthetic: Piper's joe voice reading the English side of
tatoeba_en-ko.tsv, one speaker against the real ones, so real voices stay the majority of draws
(a mixture picks speakers uniformly). The manifest's ``licence`` and ``origin`` columns say where each file came from.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from common import require_data  # noqa: E402

REAL = {  # folder under speech/ -> licence
    "en/ljspeech": "public domain (LJSpeech 1.1)",
    "en/pocketsphinx": "public domain (LibriVox) / BSD-2-Clause (pocketsphinx test data)",
    "en/fleurs": "CC BY 4.0 (FLEURS)",
    "es/fleurs": "CC BY 4.0 (FLEURS)",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--piper", type=int, default=40, help="sentences spoken by the Piper joe voice")
    args = parser.parse_args()
    data = require_data()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(data / "speech" / "transcripts.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            folder = "/".join(r["path"].split("/")[1:3])
            if folder in REAL:
                rows.append({"path": str(data / r["path"]), "speaker": r["speaker"], "licence": REAL[folder],
                             "origin": "real"})
    if args.piper:
        from malsori.audio import save_audio
        from malsori.engines.tts.piper import PiperSynthesizer

        piper = PiperSynthesizer()
        folder = args.out / "piper-joe"
        folder.mkdir(exist_ok=True)
        with open(data / "text" / "tatoeba_en-ko.tsv", encoding="utf-8") as fh:
            sentences = [line.split("\t")[0] for line in fh if "\t" in line][:args.piper]
        for n, text in enumerate(sentences):
            path = folder / f"{n:03d}.wav"
            if not path.is_file():
                save_audio(path, piper.synthesize(text, "eng"))
            rows.append({"path": str(path), "speaker": "piper-joe", "licence": "CC0-1.0 (Piper joe voice, as the catalog "
                         "card says)", "origin": "synthetic"})
    with open(args.out / "manifest.tsv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["path", "speaker", "licence", "origin"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    real = {r["speaker"] for r in rows if r["origin"] == "real"}
    print(f"{len(rows)} files, {len(real)} real speakers + {len(rows) and len({r['speaker'] for r in rows}) - len(real)} "
          f"synthetic -> {args.out / 'manifest.tsv'}")


if __name__ == "__main__":
    main()
