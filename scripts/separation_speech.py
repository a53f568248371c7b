"""The speech a default separation model may learn from: permissively licensed recordings of
../shared/data plus the Piper joe voice's output, listed in one manifest for ``malsori separate train``.

    python scripts/separation_speech.py OUT_DIR [--piper 40] [--variants 8] [--research]
    malsori separate train OUT_DIR/manifest.tsv -o my-sep --licence "CC BY 4.0 (FLEURS), public domain (LJSpeech, LibriVox)"

Real voices (each FLEURS utterance counted as its own speaker, as the corpus gives no ids):
LJSpeech (public domain), the LibriVox reader and the "cards" speaker of the pocketsphinx test data
(LibriVox: public domain; BSD-2-Clause package), FLEURS English and Spanish (CC BY 4.0). Left
out on purpose: LibriSpeech and the speechbrain Harvard sentences, which benchmarks/separation_bench.py
mixes to test on speakers the model never heard; FSDD (CC BY-SA); the emotiontts packs
(CC BY-NC-SA, research only). Synthetic: Piper's joe voice reading the English side of
tatoeba_en-ko.tsv, one speaker against the real ones, so real voices stay the majority of draws
(a mixture picks speakers uniformly). The manifest's ``licence`` and ``origin`` columns say where each file came from.

``--variants K`` turns each real speaker into K more voices (Praat's "Change gender": a new pitch
median and range and a formant shift, fixed per voice and applied to all its recordings): with
only 13 real speakers a separator learns those voices rather than separation, so the real speech is
reused as more speakers, still real articulation. ``--research`` adds the Korean TTS pack and the
emotiontts sample (CC BY-NC-SA: a model trained with them is research-only, never committed).
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
RESEARCH = {"ko/tts": "CC BY-NC-SA 4.0 (emotiontts_open_db), research only",
            "ko/emotiontts": "CC BY-NC-SA 4.0 (emotiontts_open_db), research only"}
FORMANT_RATIO = (0.85, 1.2)
PITCH_MEDIAN_HZ = (85.0, 260.0)
PITCH_RANGE = (0.6, 1.5)


def transformed_voices(rows: list[dict], out: Path, variants: int, seed: int = 0) -> list[dict]:
    """``variants`` new voices per real speaker: each a (formant ratio, pitch median, range factor)
    drawn once and applied to every recording of that speaker with Praat's Change gender."""
    import numpy as np
    import parselmouth
    from parselmouth.praat import call

    from malsori.audio import Audio, load_audio, save_audio

    rng = np.random.default_rng(seed)
    made = []
    for speaker in sorted({r["speaker"] for r in rows}):
        for k in range(variants):
            formants = float(rng.uniform(*FORMANT_RATIO))
            median = float(np.exp(rng.uniform(*np.log(PITCH_MEDIAN_HZ))))
            spread = float(rng.uniform(*PITCH_RANGE))
            voice = f"{speaker}~{k}"
            folder = out / "variants" / voice.replace("/", "_")
            folder.mkdir(parents=True, exist_ok=True)
            for n, row in enumerate(r for r in rows if r["speaker"] == speaker):
                path = folder / f"{n:03d}.wav"
                if not path.is_file():
                    audio = load_audio(row["path"], sample_rate=16000).to_mono()
                    sound = parselmouth.Sound(audio.samples.astype(np.float64), audio.sample_rate)
                    changed = call(sound, "Change gender", 75, 600, formants, median, spread, 1.0)
                    save_audio(path, Audio(changed.values[0].astype(np.float32), audio.sample_rate))
                made.append({**row, "path": str(path), "speaker": voice,
                             "origin": f"real, transformed (formants x{formants:.2f}, pitch {median:.0f} Hz, "
                                       f"range x{spread:.2f})"})
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--piper", type=int, default=40, help="sentences spoken by the Piper joe voice")
    parser.add_argument("--variants", type=int, default=0, help="transformed voices made from each real speaker")
    parser.add_argument("--research", action="store_true", help="add the NC-licensed Korean packs (research only)")
    args = parser.parse_args()
    data = require_data()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(data / "speech" / "transcripts.tsv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            folder = "/".join(r["path"].split("/")[1:3])
            licences = {**REAL, **(RESEARCH if args.research else {})}
            if folder in licences:
                rows.append({"path": str(data / r["path"]), "speaker": r["speaker"], "licence": licences[folder],
                             "origin": "real"})
    if args.research:
        rows += korean_pack(data / "speech" / "ko" / "tts", {r["path"] for r in rows})
    if args.variants:
        rows += transformed_voices(rows, args.out, args.variants)
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
    def speakers(origin: str) -> int:
        return len({r["speaker"] for r in rows if r["origin"].startswith(origin)})

    print(f"{len(rows)} files: {speakers('real') - speakers('real, transformed')} real speakers, "
          f"{speakers('real, transformed')} transformed from them, {speakers('synthetic')} synthetic "
          f"-> {args.out / 'manifest.tsv'}")

def korean_pack(folder: Path, listed: set[str]) -> list[dict]:
    """The Korean TTS pack's utterances (its metadata.tsv), those transcripts.tsv does not list."""
    with open(folder / "metadata.tsv", newline="", encoding="utf-8") as fh:
        return [{"path": str(folder / r["path"]), "speaker": f"ko-tts/{r['speaker']}", "licence": RESEARCH["ko/tts"],
                 "origin": "real"} for r in csv.DictReader(fh, delimiter="\t") if str(folder / r["path"]) not in listed]


if __name__ == "__main__":
    main()
