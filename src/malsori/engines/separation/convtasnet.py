"""Conv-TasNet (Luo & Mesgarani 2019), written from the paper: a learned 1-D convolutional
filterbank, a temporal convolutional network that estimates one mask per source over it, and the
transposed filterbank back to waveforms. Small enough to train and run on a CPU.

With ``speaker_dim`` > 0 the same network extracts one voice: a speaker embedding of an enrolment
recording (CAM++) scales and shifts the bottleneck features at the start of every repeat (FiLM, the
"muladd" adaptation of SpeakerBeam, Delcroix et al. 2020), and the network estimates that voice alone.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-8


@dataclass
class SeparatorConfig:
    sample_rate: int = 8000
    sources: int = 2  # 1 for target-speaker extraction
    filters: int = 128  # N: filterbank size
    kernel: int = 32  # L: filter length in samples (stride L/2)
    bottleneck: int = 64  # B
    hidden: int = 128  # H
    blocks: int = 8  # X: dilations 1..2^(X-1) in each repeat
    repeats: int = 3  # R
    speaker_dim: int = 0  # > 0: conditioned on a speaker embedding of this size (extraction)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def stride(self) -> int:
        return self.kernel // 2


class GlobalLayerNorm(nn.Module):
    """Normalised over channels and time together (gLN), with a gain and bias per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(1, 2), keepdim=True)
        return self.gain * (x - mean) / torch.sqrt(var + EPS) + self.bias


class TemporalBlock(nn.Module):
    """1x1 conv up, depthwise dilated conv, 1x1 convs back to a residual and a skip path."""

    def __init__(self, bottleneck: int, hidden: int, dilation: int):
        super().__init__()
        self.up = nn.Conv1d(bottleneck, hidden, 1)
        self.act1, self.norm1 = nn.PReLU(), GlobalLayerNorm(hidden)
        self.depthwise = nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation, groups=hidden)
        self.act2, self.norm2 = nn.PReLU(), GlobalLayerNorm(hidden)
        self.residual = nn.Conv1d(hidden, bottleneck, 1)
        self.skip = nn.Conv1d(hidden, bottleneck, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.norm1(self.act1(self.up(x)))
        y = self.norm2(self.act2(self.depthwise(y)))
        return x + self.residual(y), self.skip(y)


class ConvTasNet(nn.Module):
    def __init__(self, config: SeparatorConfig):
        super().__init__()
        self.config = c = config
        self.encoder = nn.Conv1d(1, c.filters, c.kernel, stride=c.stride, bias=False)
        self.decoder = nn.ConvTranspose1d(c.filters, 1, c.kernel, stride=c.stride, bias=False)
        self.norm = GlobalLayerNorm(c.filters)
        self.into = nn.Conv1d(c.filters, c.bottleneck, 1)
        self.blocks = nn.ModuleList(TemporalBlock(c.bottleneck, c.hidden, 2 ** b)
                                    for _ in range(c.repeats) for b in range(c.blocks))
        self.film = nn.ModuleList(nn.Linear(c.speaker_dim, 2 * c.bottleneck) for _ in range(c.repeats)) \
            if c.speaker_dim else None
        self.mask = nn.Sequential(nn.PReLU(), nn.Conv1d(c.bottleneck, c.sources * c.filters, 1))

    def forward(self, mixture: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """Mixtures (B, T) [and speaker embeddings (B, D)] -> sources (B, S, T)."""
        length = mixture.shape[-1]
        return self.core(F.pad(mixture, (0, padding(length, self.config))), speaker)[..., :length]

    def core(self, mixture: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """``forward`` for a length the filterbank tiles exactly (``padding`` gives 0): no shape
        arithmetic, so the ONNX graph takes any such length."""
        c = self.config
        basis = F.relu(self.encoder(mixture.unsqueeze(1)))  # (B, N, frames)
        y = self.into(self.norm(basis))
        skips = torch.zeros_like(y)
        for k, block in enumerate(self.blocks):
            if self.film is not None and k % c.blocks == 0:
                scale, shift = self.film[k // c.blocks](speaker).unsqueeze(-1).chunk(2, dim=1)
                y = y * (1 + scale) + shift
            y, skip = block(y)
            skips = skips + skip
        masks = torch.sigmoid(self.mask(skips)).unflatten(1, (c.sources, c.filters))
        masked = (basis.unsqueeze(1) * masks).flatten(0, 1)
        return self.decoder(masked).unflatten(0, (mixture.shape[0], c.sources)).squeeze(2)


def padding(length: int, config: SeparatorConfig) -> int:
    """Zeros to add so that the filterbank's frames tile ``length`` exactly."""
    if length <= config.kernel:
        return config.kernel - length
    return -(length - config.kernel) % config.stride


def si_snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Scale-invariant SNR in dB over the last axis (zero-mean signals, the target rescaled)."""
    estimate = estimate - estimate.mean(-1, keepdim=True)
    target = target - target.mean(-1, keepdim=True)
    scale = (estimate * target).sum(-1, keepdim=True) / ((target ** 2).sum(-1, keepdim=True) + EPS)
    projected = scale * target
    noise = estimate - projected
    return 10 * torch.log10(((projected ** 2).sum(-1) + EPS) / ((noise ** 2).sum(-1) + EPS))


def pit_si_snr(estimates: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Utterance-level permutation-invariant SI-SNR: (B,) the best mean over sources, and (B, S)
    the order of the estimates that gives it."""
    sources = targets.shape[1]
    orders = list(itertools.permutations(range(sources)))
    scores = torch.stack([si_snr(estimates[:, list(order)], targets).mean(-1) for order in orders], dim=1)
    best, index = scores.max(dim=1)
    return best, torch.tensor(orders)[index]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
