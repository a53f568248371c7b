"""Separators trained elsewhere, made into malsori model folders: a SpeechBrain SepFormer (or any
SpeechBrain encoder/masknet/decoder separator) or an Asteroid model (Conv-TasNet, DPRNN...) from a
local directory or file, exported once to ONNX so that inference needs neither package.

    malsori separate import ~/models/sepformer-wsj02mix -o sepformer-8k     # hyperparams.yaml + *.ckpt
    malsori separate import ~/models/ConvTasNet_Libri2Mix.pth -o convtasnet  # Asteroid's serialize() file

Converting needs the source's package (``pip install speechbrain`` with a torchaudio matching
torch, or ``pip install asteroid``); running the result does not. The export is checked against
the original network on random audio of two lengths before the folder is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from malsori.errors import ModelError

SPEECHBRAIN_MODULES = ("encoder", "masknet", "decoder")
TOLERANCE = 1e-3  # largest |ONNX - PyTorch| accepted, relative to the output's peak


def import_separator(source: str | Path, model_dir: str | Path, licence: str | None = None) -> Path:
    """Convert ``source`` (a SpeechBrain folder or an Asteroid file/folder) into ``model_dir``."""
    source = Path(source).expanduser()
    if not source.exists():
        raise ModelError(f"{source}: no such file or folder")
    if source.is_dir() and (source / "hyperparams.yaml").is_file():
        network, info = speechbrain_separator(source)
    else:
        network, info = asteroid_separator(_asteroid_file(source))
    return write_model(network, info, source, Path(model_dir), licence)


class _SpeechBrainGraph(torch.nn.Module):
    """What SpeechBrain's ``separate_batch`` computes: masks on the encoder's output, one decoded
    waveform per source (for a length the filterbank tiles: the caller pads, then cuts)."""

    def __init__(self, encoder, masknet, decoder, sources: int):
        super().__init__()
        self.encoder, self.masknet, self.decoder, self.sources = encoder, masknet, decoder, sources

    def forward(self, mixture):
        basis = self.encoder(mixture)
        masks = self.masknet(basis)
        masked = torch.stack([basis] * self.sources) * masks
        return torch.stack([self.decoder(masked[i]) for i in range(self.sources)], 1)


def speechbrain_separator(folder: Path) -> tuple[torch.nn.Module, dict]:
    """The network of a SpeechBrain separation folder: ``hyperparams.yaml`` (with ``modules`` or
    ``Encoder``/``MaskNet``/``Decoder``, ``num_spks``, ``sample_rate``) and ``encoder.ckpt``,
    ``masknet.ckpt``, ``decoder.ckpt`` (state dicts)."""
    try:
        from hyperpyyaml import load_hyperpyyaml
    except ImportError:
        raise ModelError("converting a SpeechBrain model needs speechbrain: pip install speechbrain") from None
    try:
        with open(folder / "hyperparams.yaml", encoding="utf-8") as fh:
            hparams = load_hyperpyyaml(fh)
    except (ImportError, OSError) as exc:  # speechbrain imports torchaudio, which must match torch
        raise ModelError(f"cannot load SpeechBrain (pip install speechbrain with a torchaudio matching torch "
                         f"{torch.__version__}): {str(exc).splitlines()[0]}") from None
    except Exception as exc:
        raise ModelError(f"{folder / 'hyperparams.yaml'}: {str(exc).splitlines()[0]}") from None
    modules = hparams.get("modules") or {}
    parts = {name: modules.get(name) or hparams.get(alias) for name, alias in
             zip(SPEECHBRAIN_MODULES, ("Encoder", "MaskNet", "Decoder"))}
    missing = [name for name, module in parts.items() if module is None]
    if missing:
        raise ModelError(f"{folder / 'hyperparams.yaml'} defines no {', '.join(missing)} module "
                         "(a separation model needs encoder, masknet and decoder)")
    for name, module in parts.items():
        checkpoint = folder / f"{name}.ckpt"
        if not checkpoint.is_file():
            raise ModelError(f"{folder}: {checkpoint.name} is missing")
        try:
            module.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
        except Exception as exc:
            raise ModelError(f"{checkpoint}: does not fit the model of hyperparams.yaml "
                             f"({str(exc).splitlines()[0]})") from None
    sources = int(hparams.get("num_spks") or 2)
    rate = int(hparams.get("sample_rate") or 8000)
    network = _SpeechBrainGraph(parts["encoder"], parts["masknet"], parts["decoder"], sources).eval()
    conv = parts["encoder"].conv1d  # SpeechBrain's encoders hop half a filter
    kind = f"{type(parts['masknet']).__name__} (SpeechBrain)"
    return network, {"sample_rate": rate, "sources": sources, "kind": kind, "min_samples": int(conv.kernel_size[0]),
                     "pad_multiple": int(conv.stride[0])}


def _asteroid_file(source: Path) -> Path:
    """The checkpoint of an Asteroid model: the file itself, or the one model file in a folder."""
    if source.is_file():
        return source
    found = [p for p in source.iterdir() if p.suffix in {".pth", ".bin", ".pt", ".ckpt"}]
    if len(found) != 1:
        raise ModelError(f"{source}: neither a SpeechBrain folder (hyperparams.yaml) nor an Asteroid folder "
                         f"with one model file (.pth/.bin), found {len(found)}")
    return found[0]


def asteroid_separator(path: Path) -> tuple[torch.nn.Module, dict]:
    """An Asteroid model saved by its ``serialize()`` (keys model_name, state_dict, model_args)."""
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a PyTorch checkpoint ({str(exc).splitlines()[0]})") from None
    if not isinstance(package, dict) or not {"model_name", "state_dict", "model_args"} <= set(package):
        raise ModelError(f"{path}: not an Asteroid model file (it needs model_name, state_dict and model_args, "
                         "as Asteroid's serialize() writes)")
    try:
        from asteroid.models import BaseModel
    except ImportError:
        raise ModelError("converting an Asteroid model needs asteroid: pip install asteroid") from None
    try:
        model = BaseModel.from_pretrained(str(path)).eval()
    except Exception as exc:
        raise ModelError(f"{path}: Asteroid cannot build {package['model_name']} "
                         f"({str(exc).splitlines()[0]})") from None
    args = package["model_args"]
    rate = int(round(float(args.get("sample_rate") or 8000)))
    kernel = int(args.get("kernel_size") or 16)
    return model, {"sample_rate": rate, "sources": int(args.get("n_src") or 2),
                   "kind": f"{package['model_name']} (Asteroid)", "min_samples": kernel,
                   "pad_multiple": int(args.get("stride") or kernel // 2)}


def write_model(network: torch.nn.Module, info: dict, source: Path, model_dir: Path, licence: str | None) -> Path:
    """Export, check against PyTorch, then write ``separator.onnx`` and its card into ``model_dir``."""
    from malsori.models.catalog import sha256_file
    from malsori.training import to_onnx

    if info["sample_rate"] not in (8000, 16000):
        raise ModelError(f"{source}: its sample rate {info['sample_rate']} is not 8000 or 16000")
    model_dir.mkdir(parents=True, exist_ok=True)
    graph = model_dir / "separator.onnx"
    example = torch.randn(1, info["min_samples"] + 100 * info["pad_multiple"])
    try:
        to_onnx(network, (example,), graph, ["mixture"], ["sources"], {"mixture": {1: "samples"}, "sources": {2: "samples"}})
    except Exception as exc:
        raise ModelError(f"{source}: the ONNX export failed ({str(exc).splitlines()[0]})") from None
    _check_export(network, graph, info["min_samples"], info["pad_multiple"])
    card = {"format": "malsori-separator", "name": model_dir.name, "task": "separation",
            "sample_rate": info["sample_rate"], "sources": info["sources"], "pad_multiple": info["pad_multiple"],
            "min_samples": info["min_samples"], "model": {"kind": info["kind"],
                                                          "parameters": sum(p.numel() for p in network.parameters())},
            "converted_from": str(source.resolve()),
            "licence": licence or "that of the source model (see its model card)",
            "sha256": {graph.name: sha256_file(graph)}}
    tmp = model_dir / "separator.json.tmp"
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False))
    tmp.replace(model_dir / "separator.json")
    return model_dir


def _check_export(network: torch.nn.Module, graph: Path, min_samples: int, pad_multiple: int) -> None:
    """The ONNX graph must give what the network gives, also at lengths it was not traced at
    (lengths the filterbank tiles, as the separator pads to)."""
    from onnxruntime import InferenceSession

    session = InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    for length in (min_samples + 37 * pad_multiple, min_samples + 1001 * pad_multiple):
        mixture = torch.randn(1, length, generator=generator) * 0.1
        with torch.no_grad():
            expected = network(mixture).numpy()
        got = session.run(None, {session.get_inputs()[0].name: mixture.numpy()})[0]
        error = float(np.abs(got - expected).max()) / max(float(np.abs(expected).max()), 1e-9) \
            if got.shape == expected.shape else np.inf
        if error > TOLERANCE:
            graph.unlink(missing_ok=True)
            raise ModelError(f"the ONNX export differs from the PyTorch model at {length} samples "
                             f"(shape {got.shape} vs {expected.shape}, relative error {error:.2g}); not written")
