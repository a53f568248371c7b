"""Separation quality: scale-invariant signal-to-noise ratio (SI-SNR, Le Roux et al. 2019,
"SDR - half-baked or well done?") and its improvement over the unprocessed mixture.

SI-SNR = 10 log10(|s_t|^2 / |e - s_t|^2) with s_t = (<e, s> / |s|^2) s, on zero-mean estimate e
and reference s: the estimate's gain does not matter, only what is not the reference in it.
"""

from __future__ import annotations

import numpy as np

from malsori.audio import Audio

EPS = 1e-12  # keeps a perfect estimate finite (very large) instead of dividing by zero


def _signal(x: Audio | np.ndarray, rate: int | None) -> np.ndarray:
    if isinstance(x, Audio):
        x = x.to_mono()
        if rate is not None:
            x = x.resample(rate)
        x = x.samples
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"SI-SNR needs mono signals, got shape {x.shape}")
    return x


def si_snr(estimate: Audio | np.ndarray, reference: Audio | np.ndarray) -> float:
    """SI-SNR in dB. Audio values are mixed to mono and the estimate resampled to the reference's
    rate; both are cut to the shorter length (a sample or two of resampling slack)."""
    rate = reference.sample_rate if isinstance(reference, Audio) else None
    ref = _signal(reference, None)
    est = _signal(estimate, rate)
    n = min(len(ref), len(est))
    if n == 0:
        raise ValueError("SI-SNR of an empty signal")
    ref = ref[:n] - ref[:n].mean()
    est = est[:n] - est[:n].mean()
    ref_energy = float(np.dot(ref, ref))
    if ref_energy <= EPS:
        raise ValueError("SI-SNR against a silent reference is undefined")
    target = np.dot(est, ref) / ref_energy * ref
    noise = est - target
    return float(10 * np.log10((np.dot(target, target) + EPS) / (np.dot(noise, noise) + EPS)))


def si_snr_improvement(estimate: Audio | np.ndarray, mixture: Audio | np.ndarray,
                       reference: Audio | np.ndarray) -> float:
    """SI-SNRi in dB: how much closer to the reference the estimate is than the mixture was."""
    return si_snr(estimate, reference) - si_snr(mixture, reference)
