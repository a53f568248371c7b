"""A trained checkpoint -> a voice folder that onnxruntime speaks on a CPU, with its card.

    VOICE_DIR/voice.json     the card: language, sample rate, speakers, emotions, training, licence
    VOICE_DIR/style.onnx     reference log-mel -> style sequence
    VOICE_DIR/encoder.onnx   phones, speaker, style -> phone encodings, log durations, pitch, energy
    VOICE_DIR/decoder.onnx   encodings, durations, pitch, energy, speaker -> log-mel
    VOICE_DIR/styles.npz     the "no style" vector and one stored style per speaker and emotion
    VOICE_DIR/stats.npz      feature normalisation

Three graphs rather than one, so that the synthesizer can change durations and pitch between
prediction and decoding (speaking rate, a document's steady register)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from malsori.engines.tts.trained.data import Corpus, prepare
from malsori.engines.tts.trained.model import AcousticModel
from malsori.engines.tts.trained.train import card_training, load_checkpoint, training_dir
from malsori.training import to_onnx

FORMAT = "malsori-voice"
VERSION = 1
GRAPHS = ("style.onnx", "encoder.onnx", "decoder.onnx")


class _Style(torch.nn.Module):
    def __init__(self, model: AcousticModel):
        super().__init__()
        self.model = model

    def forward(self, mel):
        return self.model.style(mel)


class _Encoder(_Style):
    def forward(self, phones, speaker, style):
        return self.model.encode(phones, speaker, style)


class _Decoder(_Style):
    def forward(self, h, durations, pitch, energy, speaker):
        return self.model.decode(h, durations, pitch, energy, speaker, durations.sum())


def _examples(model: AcousticModel):
    c = model.config
    phones = torch.tensor([[5, 6, 7, 8, 9, 10, 2]], dtype=torch.long) % c.n_symbols
    phones[phones == 0] = 1
    speaker = torch.zeros(1, dtype=torch.long)
    style = torch.randn(1, 3, c.style_dim)
    h, log_dur, pitch, energy = model.encode(phones, speaker, style)
    durations = torch.tensor([[3, 2, 4, 1, 2, 5, 3]], dtype=torch.long)
    return {
        "style.onnx": (_Style(model), (torch.randn(1, 64, c.n_mels),), ["mel"], ["style"],
                       {"mel": {1: "frames"}, "style": {1: "styles"}}),
        "encoder.onnx": (_Encoder(model), (phones, speaker, style), ["phones", "speaker", "style"],
                         ["encodings", "log_durations", "pitch", "energy"],
                         {"phones": {1: "phones"}, "style": {1: "styles"}, "encodings": {2: "phones"},
                          "log_durations": {1: "phones"}, "pitch": {1: "phones"}, "energy": {1: "phones"}}),
        "decoder.onnx": (_Decoder(model), (h.detach(), durations, pitch.detach(), energy.detach(), speaker),
                         ["encodings", "durations", "pitch", "energy", "speaker"], ["mel"],
                         {"encodings": {2: "phones"}, "durations": {1: "phones"}, "pitch": {1: "phones"},
                          "energy": {1: "phones"}, "mel": {1: "frames"}}),
    }


def export_graphs(model: AcousticModel, folder: Path) -> None:
    model.eval()
    for name, (module, args, inputs, outputs, axes) in _examples(model).items():
        to_onnx(module, args, folder / name, inputs, outputs, axes)


def stored_styles(model: AcousticModel, corpus: Corpus) -> dict[str, np.ndarray]:
    """One style sequence per speaker and emotion: that of the group's most typical utterance
    (the one whose mean style vector is nearest the group's mean)."""
    styles = {"no_style": model.no_style.detach().numpy()}
    stats = corpus.stats
    groups: dict[str, list] = {}
    for item in corpus.items:
        groups.setdefault(f"{corpus.speakers[item.speaker]}/{item.emotion}", []).append(item)
    with torch.no_grad():
        for key, items in sorted(groups.items()):
            sequences = [model.style(torch.from_numpy((i.mel - stats["mel_mean"]) / stats["mel_std"]).unsqueeze(0)).numpy()
                         for i in items[:50]]
            means = np.stack([s[0].mean(0) for s in sequences])
            centre = means.mean(0)
            styles[key] = sequences[int(np.argmin(((means - centre) ** 2).sum(1)))]
    return styles


def export_voice(voice_dir: str | Path, corpus: Corpus | None = None, licence: str | None = None,
                 snapshot: int | None = None, to: str | Path | None = None) -> Path:
    """Write the voice folder's inference files from its training checkpoint (or the weights kept
    at step ``snapshot``), into the voice folder or the folder ``to``; atomically: a failed export
    leaves the previous voice as it was."""
    voice_dir = Path(voice_dir)
    model, saved = load_checkpoint(voice_dir, snapshot)
    if corpus is None:
        corpus = prepare(saved["data_dir"], training_dir(voice_dir), saved["language"], saved["sample_rate"])
    target = Path(to) if to is not None else voice_dir
    target.mkdir(parents=True, exist_ok=True)
    staging = target / ".export"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    export_graphs(model, staging)
    np.savez(staging / "styles.npz", **stored_styles(model, corpus))
    np.savez(staging / "stats.npz", **{k: np.asarray(v) for k, v in corpus.stats.items()})
    card = {
        "format": FORMAT, "version": VERSION, "language": saved["language"],
        "sample_rate": corpus.features.sample_rate, "features": corpus.features.to_dict(),
        "symbols": corpus.phone_set.symbols, "speakers": corpus.speakers, "emotions": corpus.emotions,
        "model": saved["model_config"], "training": card_training(saved, corpus),
        "licence": licence or _data_licence(Path(saved["data_dir"])),
    }
    previous = target / "voice.json"
    if previous.is_file() and (target / "vocoder.onnx").is_file():  # a vocoder trained before stays in use
        card["vocoder"] = json.loads(previous.read_text()).get("vocoder")
        if card["vocoder"] is None:
            del card["vocoder"]
    (staging / "voice.json").write_text(json.dumps(card, ensure_ascii=False, indent=2))
    for path in staging.iterdir():
        path.replace(target / path.name)
    staging.rmdir()
    return target


def _data_licence(data_dir: Path) -> str:
    """The training data's licence, which the weights inherit: the first line of its LICENSE."""
    for name in ("LICENSE", "LICENSE.txt", "LICENCE", "COPYING"):
        path = data_dir / name
        if path.is_file():
            first = next((ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()), "")
            return f"{first} (inherited from the training data)"
    return "unknown: the training data's licence applies"
