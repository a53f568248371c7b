"""The alignment the acoustic model learns for itself (Badlani et al. 2022, "One TTS alignment to
rule them all"): a soft text-to-frame attention trained with the forward-sum (CTC) loss, the most
likely monotonic path through it (monotonic alignment search, as in Glow-TTS) for hard phone
durations, and a binarisation loss pulling the soft attention toward that path."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit
from scipy.special import betaln

BLANK_LOGIT = -1.0


def beta_binomial_prior(phones: int, frames: int, scaling: float = 1.0) -> np.ndarray:
    """log P(phone | frame), (frames, phones): a beta-binomial prior that keeps the early attention
    near the diagonal."""
    from scipy.special import gammaln

    k = np.arange(phones)[None, :]
    t = np.arange(1, frames + 1)[:, None]
    a, b = scaling * t, scaling * (frames + 1 - t)
    n = phones - 1
    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return (log_choose + betaln(k + a, n - k + b) - betaln(a, b)).astype(np.float32)


def forward_sum_loss(log_attention: torch.Tensor, phone_lengths: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
    """CTC over the phones in order: every frame must be explained by a monotonic walk through all
    of them. ``log_attention``: (batch, frames, phones) unnormalised scores, padding at -inf."""
    batch, frames, phones = log_attention.shape
    scores = F.pad(log_attention, (1, 0), value=BLANK_LOGIT)
    log_probs = scores.log_softmax(-1).transpose(0, 1)  # (frames, batch, 1 + phones)
    targets = torch.arange(1, phones + 1, device=log_attention.device).expand(batch, phones)
    return F.ctc_loss(log_probs, targets, frame_lengths, phone_lengths, blank=0, reduction="mean", zero_infinity=True)


def binarization_loss(hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """-mean log of the soft attention on the hard path."""
    on_path = torch.clamp(soft[hard == 1], min=1e-12)
    return -torch.log(on_path).mean()


@njit(cache=True)
def _search(log_p: np.ndarray) -> np.ndarray:
    frames, phones = log_p.shape
    value = np.full((frames, phones), -np.inf)
    value[0, 0] = log_p[0, 0]
    for t in range(1, frames):
        low = max(0, phones - (frames - t))
        for n in range(low, min(phones, t + 1)):
            stay = value[t - 1, n]
            step = value[t - 1, n - 1] if n > 0 else -np.inf
            value[t, n] = log_p[t, n] + max(stay, step)
    path = np.zeros((frames, phones), np.float32)
    n = phones - 1
    for t in range(frames - 1, -1, -1):
        path[t, n] = 1.0
        if t > 0 and n > 0 and (n == t or value[t - 1, n - 1] > value[t - 1, n]):
            n -= 1
    return path


def monotonic_search(log_attention: torch.Tensor, phone_lengths: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
    """Hard (batch, frames, phones) 0/1 alignment: each frame to one phone, phones in order, each
    phone at least one frame."""
    scores = log_attention.detach().float().cpu().numpy()
    hard = np.zeros_like(scores)
    for b, (n, t) in enumerate(zip(phone_lengths.tolist(), frame_lengths.tolist())):
        hard[b, :t, :n] = _search(scores[b, :t, :n].astype(np.float64))
    return torch.from_numpy(hard).to(log_attention.device)
