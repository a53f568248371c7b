"""Voices trained by ``malsori tts train``, measured against the Korean voices we had.

    python benchmarks/tts_bench.py prepare /work/tts/data        # the training folder, lmy's held-back files aside
    malsori tts train /work/tts/data -o VOICE --steps 20000       # (the figures in docs/benchmarks.md: see there)
    python benchmarks/tts_bench.py eval VOICE [--limit 200] [--snapshots]

``prepare`` lists the emotiontts TTS pack (../shared/data/speech/ko/tts, 12 speakers, 53 min) for
training, minus every 13th utterance of lmy (25 files), which are kept back: the speaker-similarity
reference. ``eval`` measures, each beside its baselines run in the same process:
- intelligibility: the Korean side of tatoeba_en-ko (200 sentences no training script contains),
  spoken by the voice (speaker lmy), MBROLA hn1 (when installed) and eSpeak NG, read back by Whisper
  base; CER (corpus) and per-sentence CER capped at 100%, averaged. ``--snapshots`` adds the curve of
  CER against training time over the weights kept during training (on the first 50 sentences).
- speaker: CAM++ cosine similarity of 20 outputs to lmy's held-back recordings (mean over pairs),
  against the same for MBROLA hn1 and eSpeak NG, and lmy's held-back files among themselves (ceiling).
- style: for emb/emf/emg (in training) and ema/nea (never seen), each emotion's recordings used as
  --style-ref for 5 tatoeba sentences: median F0 and mean energy of the output against the
  reference's, and whether the four emotions are told apart by (F0, energy) as well as the
  references are (leave-one-out nearest centroid).
- speed: real-time factor of synthesis (ONNX + Griffin-Lim, and ONNX + the neural vocoder) on this
  machine's CPU threads.
Once the voice has a neural vocoder (``malsori tts train-vocoder``), intelligibility, speaker and
speed are measured with both it and Griffin-Lim, in the same run.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data  # noqa: E402

HOLD_BACK_EVERY = 13
SPEAKER = "lmy"


def prepare(out: Path) -> None:
    data = require_data() / "speech" / "ko" / "tts"
    out.mkdir(parents=True, exist_ok=True)
    with open(data / "metadata.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    lmy = [r for r in rows if r["speaker"] == SPEAKER]
    held = {r["path"] for r in lmy[HOLD_BACK_EVERY - 1::HOLD_BACK_EVERY]}
    for name, chosen in (("metadata.tsv", [r for r in rows if r["path"] not in held]),
                         ("heldout.tsv", [r for r in rows if r["path"] in held])):
        with open(out / name, "w", encoding="utf-8") as fh:
            fh.write("path\tspeaker\temotion\ttext\n")
            for r in chosen:
                fh.write(f"{data / r['path']}\t{r['speaker']}\t{r['emotion']}\t{r['text']}\n")
    shutil.copy(data / "LICENSE", out / "LICENSE")
    print(f"{len(rows) - len(held)} utterances to train on, {len(held)} of {SPEAKER} held back -> {out}")




def tatoeba_korean() -> list[str]:
    with open(require_data() / "text" / "tatoeba_en-ko.tsv", encoding="utf-8") as fh:
        return [line.rstrip("\n").split("\t")[1] for line in fh if "\t" in line]


def baselines() -> dict:
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.models.catalog import is_available
    from malsori.text.ko.normalize import normalize

    espeak = EspeakSynthesizer()
    out = {}
    if is_available("mbrola-hn1"):
        from malsori.engines.tts.mbrola import MbrolaKoreanSynthesizer

        hn1 = MbrolaKoreanSynthesizer()
        out["MBROLA hn1"] = lambda t: hn1.synthesize(t, "kor")
    else:
        print("MBROLA hn1 is not installed (scripts/install_korean_voice.sh): eSpeak NG alone as baseline")
    out["eSpeak NG"] = lambda t: espeak.synthesize(normalize(t), "kor")
    return out


def intelligibility(systems: dict, sentences: list[str], listen) -> dict:
    from malsori.eval.metrics import cer

    results = {}
    for name, speak in systems.items():
        hyps = [listen(speak(t).resample(16000)) for t in sentences]
        capped = float(np.mean([min(1.0, cer([r], [h])) for r, h in zip(sentences, hyps)]))
        results[name] = (cer(sentences, hyps), capped)
        print(f"  {name:28} CER {results[name][0]:7.1%}   capped mean {capped:7.1%}", flush=True)
    return results


def speaker_similarity(systems: dict, sentences: list[str], heldout: list[Path]) -> None:
    from malsori.audio import load_audio
    from malsori.engines.speaker.campplus import CamPlusPlusEncoder

    encoder = CamPlusPlusEncoder()

    def unit(audio):
        v = encoder.embed(audio.resample(16000))
        return v / np.linalg.norm(v)

    refs = np.stack([unit(load_audio(p)) for p in heldout])
    ceiling = refs @ refs.T
    print(f"  {'lmy held-back, among themselves':34} {ceiling[np.triu_indices(len(refs), 1)].mean():.3f}")
    for name, speak in systems.items():
        outs = np.stack([unit(speak(t)) for t in sentences])
        print(f"  {name:34} {(outs @ refs.T).mean():.3f}", flush=True)


def f0_energy(audio) -> tuple[float, float]:
    """Median F0 (Hz) of voiced frames, and RMS of the frames within 35 dB of the loudest."""
    import parselmouth

    samples = audio.to_mono().samples.astype(np.float64)
    pitch = parselmouth.Sound(samples, sampling_frequency=audio.sample_rate).to_pitch_ac(pitch_floor=60, pitch_ceiling=600)
    f0 = pitch.selected_array["frequency"]
    hop = audio.sample_rate // 100
    frames = samples[:len(samples) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames ** 2).mean(1) + 1e-12)
    loud = rms[20 * np.log10(rms) > 20 * np.log10(rms.max()) - 35]
    return float(np.median(f0[f0 > 0])) if (f0 > 0).any() else float("nan"), float(np.sqrt((loud ** 2).mean()))


def separability(features: dict[str, list[tuple[float, float]]]) -> float:
    """Leave-one-out nearest-centroid accuracy of the emotions on (log F0, log energy), z-scored."""
    labels = [e for e, fs in features.items() for _ in fs]
    x = np.log(np.array([f for fs in features.values() for f in fs]))
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    right = 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        centres = {e: x[keep][np.array(labels)[keep] == e].mean(0) for e in features}
        right += min(centres, key=lambda e: ((x[i] - centres[e]) ** 2).sum()) == labels[i]
    return right / len(x)


def style(voice_dir: Path, sentences: list[str], speakers: tuple[str, ...] = ("emb", "emf", "emg", "ema", "nea")) -> None:
    for match in (False, True):
        print("  learned style + the reference's pitch and loudness matched (the default)" if match else
              "  learned style alone (match_reference=False)")
        style_table(voice_dir, sentences, speakers, match)


def style_table(voice_dir: Path, sentences: list[str], speakers: tuple[str, ...], match: bool) -> None:
    from malsori.audio import load_audio
    from malsori.engines.tts.trained.voice import TrainedVoice

    data = require_data() / "speech" / "ko"
    rows = []
    for table in (data / "tts" / "metadata.tsv", data / "emotiontts" / "emotions.tsv"):
        with open(table, newline="", encoding="utf-8") as fh:
            rows += [(table.parent, r) for r in csv.DictReader(fh, delimiter="\t")]
    card_voice = TrainedVoice(voice_dir)
    f0_means = dict(zip(card_voice.speakers, np.exp(card_voice._stats["f0_mean"])))
    emotions = ("neutral", "happy", "angry", "sad")
    print(f"  {'speaker':8} {'emotion':8} {'ref F0':>7} {'out F0':>7} {'ratio':>6} {'ref E':>7} {'out E':>7} {'ratio':>6}")
    for who in speakers:
        refs = {e: [load_audio(require_data() / r["path"] if base.name == "emotiontts" else base / r["path"])
                    for base, r in rows if r["speaker"] == who and r["emotion"] == e] for e in emotions}
        ref_feats = {e: [f0_energy(a) for a in audios] for e, audios in refs.items()}
        ref_f0 = np.nanmedian([f[0] for fs in ref_feats.values() for f in fs])
        # a speaker the voice knows speaks as itself; one it never heard, as the trained speaker nearest in pitch
        speaker = who if who in f0_means else min(f0_means, key=lambda s: abs(np.log(f0_means[s] / ref_f0)))
        out_feats = {}
        for e, audios in refs.items():
            outs = []
            for audio, text in zip(audios, sentences):
                voice = TrainedVoice(voice_dir, speaker=speaker, style_ref=audio, keep_register=False,
                                     match_reference=match)
                outs.append(f0_energy(voice.synthesize(text, "kor")))
            out_feats[e] = outs
        for e in emotions:
            rf = np.nanmedian([f[0] for f in ref_feats[e]]), np.mean([f[1] for f in ref_feats[e]])
            of = np.nanmedian([f[0] for f in out_feats[e]]), np.mean([f[1] for f in out_feats[e]])
            print(f"  {who:8} {e:8} {rf[0]:7.1f} {of[0]:7.1f} {of[0] / rf[0]:6.2f} "
                  f"{rf[1]:7.4f} {of[1]:7.4f} {of[1] / rf[1]:6.2f}")
        # relative to each side's own neutral: does the output rise and fall with the reference?
        rel = {e: (np.nanmedian([f[0] for f in out_feats[e]]) / np.nanmedian([f[0] for f in out_feats["neutral"]]),
                   np.nanmedian([f[0] for f in ref_feats[e]]) / np.nanmedian([f[0] for f in ref_feats["neutral"]]))
               for e in emotions[1:]}
        print(f"  {who} (as {speaker}): F0 vs neutral out/ref " + "  ".join(f"{e} {o:.2f}/{r:.2f}" for e, (o, r) in rel.items())
              + f"; emotions told apart: refs {separability(ref_feats):.0%}, outputs {separability(out_feats):.0%}",
              flush=True)


def vocoders(voice_dir: Path) -> list[str]:
    """Griffin-Lim always; the voice's neural vocoder too once ``malsori tts train-vocoder`` made one."""
    from malsori.engines.tts.trained.voice import TrainedVoice

    return ["griffin-lim"] + (["neural"] if TrainedVoice(voice_dir).vocoder == "neural" else [])


def speed(voice_dir: Path, sentences: list[str], vocoder: str) -> None:
    import malsori.engines.tts.trained.voice as voice_module

    voice = voice_module.TrainedVoice(voice_dir, speaker=SPEAKER, keep_register=False, vocoder=vocoder)
    voice.synthesize(sentences[0], "kor")  # sessions loaded, G2P warm
    vocoder_s = 0.0

    def timed(function):
        def run(*args, **kwargs):
            nonlocal vocoder_s
            t0 = time.perf_counter()
            out = function(*args, **kwargs)
            vocoder_s += time.perf_counter() - t0
            return out
        return run

    # the waveform stage: Griffin-Lim, or the vocoder graph's inverse STFT (its ONNX run counts as the model's)
    originals = voice_module.griffin_lim, voice_module.spectrum_to_waveform
    voice_module.griffin_lim, voice_module.spectrum_to_waveform = map(timed, originals)
    t0 = time.perf_counter()
    seconds = sum(voice.synthesize(t, "kor").duration for t in sentences)
    total = time.perf_counter() - t0
    voice_module.griffin_lim, voice_module.spectrum_to_waveform = originals
    stage = "Griffin-Lim" if vocoder == "griffin-lim" else "inverse STFT"
    print(f"  {vocoder:12} {len(sentences)} sentences, {seconds:.1f} s of speech: RTF {total / seconds:.3f} "
          f"({stage} {vocoder_s / seconds:.3f}, text front-end + ONNX {(total - vocoder_s) / seconds:.3f})")


def curve(voice_dir: Path, sentences: list[str], listen) -> None:
    import tempfile

    from malsori.engines.tts.trained.export import export_voice
    from malsori.engines.tts.trained.voice import TrainedVoice
    from malsori.eval.metrics import cer

    kept = sorted((voice_dir / "training" / "snapshots").glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    import torch

    for path in kept:
        step = int(path.stem.split("-")[1])
        wall = torch.load(path, weights_only=False)["wall_s"]
        with tempfile.TemporaryDirectory() as tmp:
            export_voice(voice_dir, snapshot=step, to=tmp)
            voice = TrainedVoice(tmp, speaker=SPEAKER, keep_register=False)
            hyps = [listen(voice.synthesize(t, "kor").resample(16000)) for t in sentences]
        print(f"  step {step:6d}  {wall / 60:6.1f} training min  CER {cer(sentences, hyps):7.1%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out", type=Path)
    e = sub.add_parser("eval")
    e.add_argument("voice", type=Path)
    e.add_argument("--limit", type=int, default=200)
    e.add_argument("--snapshots", action="store_true")
    e.add_argument("--parts", default="intelligibility,speaker,style,speed")
    e.add_argument("--style-speakers", default="emb,emf,emg,ema,nea")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.out)
        return
    import json

    from ko_speak_bench import whisper_listener

    from malsori.engines.tts.trained.voice import TrainedVoice

    card = json.loads((args.voice / "voice.json").read_text())
    t = card["training"]
    print(f"voice {args.voice.name}: {card['model']['channels']} channels, {t['steps']} steps, "
          f"{t['wall_s'] / 60:.0f} training min, {t['utterances']} utterances ({t['minutes']} min, {t['speakers']} speakers)")
    sentences = tatoeba_korean()[:args.limit]
    ours = {}
    for vocoder in vocoders(args.voice):
        voice = TrainedVoice(args.voice, speaker=SPEAKER, keep_register=False, vocoder=vocoder)
        ours[f"malsori voice ({SPEAKER}, {vocoder})"] = voice.synthesize
    parts = args.parts.split(",")
    if "intelligibility" in parts:
        listen = whisper_listener()
        print(f"intelligibility: {len(sentences)} tatoeba sentences, Whisper base")
        intelligibility({**ours, **baselines()}, sentences, listen)
        if args.snapshots:
            print("CER against training time (first 50 sentences)")
            curve(args.voice, sentences[:50], listen)
    if "speaker" in parts:
        heldout_table = require_data() / "speech" / "ko" / "tts" / "metadata.tsv"
        with open(heldout_table, newline="", encoding="utf-8") as fh:
            lmy = [r["path"] for r in csv.DictReader(fh, delimiter="\t") if r["speaker"] == SPEAKER]
        heldout = [heldout_table.parent / p for p in lmy[HOLD_BACK_EVERY - 1::HOLD_BACK_EVERY]]
        print(f"speaker: CAM++ cosine to {len(heldout)} held-back {SPEAKER} recordings (20 outputs each)")
        speaker_similarity({**ours, **baselines()}, sentences[:20], heldout)
    if "style" in parts:
        print("style: each emotion's recordings as --style-ref, one tatoeba sentence each")
        style(args.voice, sentences[20:25], tuple(args.style_speakers.split(",")))
    if "speed" in parts:
        print("speed")
        for vocoder in vocoders(args.voice):
            speed(args.voice, sentences[:20], vocoder)


if __name__ == "__main__":
    main()
