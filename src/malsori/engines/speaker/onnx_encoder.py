"""Speaker encoders you bring as ONNX files: WeSpeaker (ResNet34, ECAPA-TDNN, CAM++) and
3D-Speaker exports take 80 Kaldi log-mel filterbanks of 16 kHz audio, mean-normalised over the
utterance, as input ``feats`` [batch, frames, 80] and return an embedding [batch, dim].

A model directory holds ``model.onnx`` (or ``*.onnx``) and optionally ``encoder.json``:
``{"name": ..., "sample_rate": 16000, "num_mel_bins": 80, "wave_scale": 32768, "threshold": 0.5}``.
WeSpeaker computes its features on 16-bit sample values, hence ``wave_scale``; set it to 1 for
models trained on [-1, 1] audio. ``threshold`` is the cosine at which verification accepts (the
shipped default is calibrated for GE2E only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker import unit
from malsori.errors import AudioError, ModelError

FRAME_S, HOP_S = 0.025, 0.010


FBANK_BLOCK = 6000  # frames (60 s) computed at a time


@dataclass(frozen=True)
class FbankOptions:
    sample_rate: int = 16000
    num_mel_bins: int = 80
    low_hz: float = 20.0
    preemphasis: float = 0.97
    wave_scale: float = 32768.0


def kaldi_fbank(samples: np.ndarray, options: FbankOptions = FbankOptions()) -> np.ndarray:
    """(frames, num_mel_bins) log mel energies as Kaldi's ``compute-fbank-feats`` makes them with
    dither 0: 25 ms frames every 10 ms with no edge padding, DC removed, pre-emphasis, Povey
    window, power spectrum, triangular filters on the 1127·ln(1 + f/700) mel scale."""
    rate = options.sample_rate
    length, hop = int(round(FRAME_S * rate)), int(round(HOP_S * rate))
    wav = np.ascontiguousarray(samples)
    if len(wav) < length:
        raise AudioError(f"too little audio for speaker features ({len(wav) / rate:.3f} s; need 0.025 s)")
    count = 1 + (len(wav) - length) // hop
    n_fft = 1 << (length - 1).bit_length()
    banks = _mel_banks(options.num_mel_bins, n_fft, rate, options.low_hz).T
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / (length - 1))) ** 0.85
    out = np.empty((count, options.num_mel_bins), np.float32)
    # A block of frames at a time: an hour's spectra at once would take gigabytes.
    for first in range(0, count, FBANK_BLOCK):
        n = min(FBANK_BLOCK, count - first)
        part = wav[first * hop:]
        frames = np.lib.stride_tricks.as_strided(part, (n, length), (part.strides[0] * hop, part.strides[0]))
        frames = frames.astype(np.float64) * options.wave_scale
        frames -= frames.mean(axis=1, keepdims=True)
        frames[:, 1:] -= options.preemphasis * frames[:, :-1]
        frames[:, 0] *= 1 - options.preemphasis
        frames *= window
        power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
        out[first:first + n] = np.log(np.maximum(power @ banks, np.finfo(np.float32).eps))
    return out


def _mel_banks(bins: int, n_fft: int, rate: int, low_hz: float) -> np.ndarray:
    mel = lambda f: 1127.0 * np.log(1.0 + np.asarray(f, float) / 700.0)  # noqa: E731
    edges = np.linspace(mel(low_hz), mel(rate / 2), bins + 2)
    freqs = mel(np.arange(n_fft // 2 + 1) * rate / n_fft)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - left) / (centre - left)
    down = (right - freqs[None, :]) / (right - centre)
    return np.maximum(0.0, np.minimum(up, down))


class OnnxSpeakerEncoder:
    """``embed(audio)`` with a WeSpeaker / 3D-Speaker style ONNX model from a local directory."""

    dimension = 0  # known once the model is loaded

    def __init__(self, model_dir: str | Path):
        path = Path(model_dir)
        if not path.exists():
            raise ModelError(f"{path}: no such speaker model")
        onnx = path if path.suffix == ".onnx" else (path / "model.onnx" if (path / "model.onnx").is_file()
                                                    else next(iter(sorted(path.glob("*.onnx"))), None))
        if onnx is None or not onnx.is_file():
            raise ModelError(f"{path}: no .onnx speaker model inside")
        config_file = (onnx.parent / "encoder.json")
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        self.options = FbankOptions(**{k: config[k] for k in ("sample_rate", "num_mel_bins", "wave_scale") if k in config})
        self.name = config.get("name") or f"onnx:{onnx.parent.name}/{onnx.stem}"
        self.threshold = config.get("threshold")
        self.path = onnx
        self._session = None

    def _load(self):
        if self._session is None:
            import onnxruntime as ort

            try:
                self._session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                raise ModelError(f"{self.path}: cannot load the speaker model ({str(exc).splitlines()[0]})") from None
            output = self._session.get_outputs()[0]
            self.dimension = int(output.shape[-1]) if isinstance(output.shape[-1], int) else 0
        return self._session

    def features(self, audio: Audio) -> np.ndarray:
        feats = kaldi_fbank(audio.to_mono().resample(self.options.sample_rate).samples, self.options)
        return feats - feats.mean(axis=0, keepdims=True)

    def embed(self, audio: Audio) -> np.ndarray:
        return self._run(self.features(audio))

    def embed_spans(self, audio: Audio, spans: list[tuple[float, float]]) -> np.ndarray:
        """One vector per (start, end) span, from filterbanks computed once for the recording."""
        feats = kaldi_fbank(audio.to_mono().resample(self.options.sample_rate).samples, self.options)
        rows = []
        for start, end in spans:
            part = feats[int(start / HOP_S):max(int(start / HOP_S) + 1, int(end / HOP_S))]
            rows.append(self._run(part - part.mean(axis=0, keepdims=True)))
        return np.stack(rows) if rows else np.zeros((0, self.dimension), np.float32)

    def _run(self, feats: np.ndarray) -> np.ndarray:
        session = self._load()
        vector = np.asarray(session.run(None, {session.get_inputs()[0].name: feats[None]})[0], np.float32).reshape(-1)
        self.dimension = len(vector)
        return unit(vector).astype(np.float32)
