"""Acoustic features the voice learns (log-mel spectrogram, log-F0, energy) and Griffin-Lim, the
training-free way back from a mel spectrogram to a waveform. NumPy only: inference needs no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from malsori.audio import Audio

LOG_FLOOR = 1e-5


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    f0_min: float = 60.0
    f0_max: float = 600.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @property
    def frame_s(self) -> float:
        return self.hop / self.sample_rate


def _hz_to_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default too)."""
    hz = np.asarray(hz, np.float64)
    linear = hz / (200.0 / 3)
    return np.where(hz >= 1000.0, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), linear)


def _mel_to_hz(mel):
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@lru_cache(maxsize=4)
def mel_basis(config: FeatureConfig) -> np.ndarray:
    """(n_mels, bins) triangular filters, area-normalised (Slaney)."""
    bins = np.linspace(0, config.sample_rate / 2, config.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(config.fmin), _hz_to_mel(config.fmax), config.n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - lower) / (centre - lower)
    falling = (upper - bins[None]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (upper - lower))
    return filters.astype(np.float32)


@lru_cache(maxsize=4)
def _mel_inverse(config: FeatureConfig) -> np.ndarray:
    return np.linalg.pinv(mel_basis(config)).astype(np.float32)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


try:  # SciPy's FFT keeps float32 and is several times faster than NumPy's here (Griffin-Lim's cost)
    from scipy.fft import irfft as _irfft_impl, rfft as _rfft_impl
except ImportError:
    from numpy.fft import irfft as _irfft_impl, rfft as _rfft_impl


def _rfft(frames: np.ndarray) -> np.ndarray:
    return _rfft_impl(frames, axis=1)


def stft(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Complex STFT, frames centred on multiples of the hop (reflect padding): (frames, bins)."""
    pad = config.n_fft // 2
    x = np.pad(samples.astype(np.float32), pad, mode="reflect" if len(samples) > pad else "constant")
    count = 1 + (len(x) - config.n_fft) // config.hop
    frames = np.lib.stride_tricks.as_strided(x, (count, config.n_fft), (x.strides[0] * config.hop, x.strides[0]))
    return _rfft(frames * _window(config.n_fft))


def istft(spectrum: np.ndarray, config: FeatureConfig, length: int) -> np.ndarray:
    frames = _irfft_impl(spectrum, n=config.n_fft, axis=1).astype(np.float32, copy=False) * _window(config.n_fft)
    out = _overlap_add(frames, config.hop)
    out /= np.maximum(_window_sum(len(frames), config.n_fft, config.hop), 1e-8)
    pad = config.n_fft // 2
    return out[pad:pad + length]


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Sum of frames placed ``hop`` apart, as n_fft/hop shifted adds rather than a loop over frames."""
    count, n_fft = frames.shape
    parts = n_fft // hop
    out = np.zeros((count + parts - 1, hop), np.float32)
    pieces = frames.reshape(count, parts, hop)
    for j in range(parts):
        out[j:j + count] += pieces[:, j]
    return out.reshape(-1)


@lru_cache(maxsize=8)
def _window_sum(count: int, n_fft: int, hop: int) -> np.ndarray:
    return _overlap_add(np.tile(_window(n_fft) ** 2, (count, 1)), hop)


def log_mel(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(frames, n_mels) natural-log mel magnitudes."""
    magnitude = np.abs(stft(samples, config)).astype(np.float32)
    return np.log(np.maximum(magnitude @ mel_basis(config).T, LOG_FLOOR))


def energy(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log frame energy (L2 norm of the magnitude spectrum), one value per mel frame."""
    magnitude = np.abs(stft(samples, config))
    return np.log(np.maximum(np.linalg.norm(magnitude, axis=1), LOG_FLOOR)).astype(np.float32)


def loud_frames(level: np.ndarray, below_db: float = 40.0) -> np.ndarray:
    """Frames of a natural-log level track within ``below_db`` of its loudest: the speech, as
    against a recording's lead-in and tail silence."""
    return level > level.max() - below_db / 20 * np.log(10)


def loud_span(level: np.ndarray, keep: int, below_db: float = 40.0) -> tuple[int, int]:
    """(start, end) frames from the first loud frame to the last, widened by ``keep`` each side."""
    loud = np.flatnonzero(loud_frames(level, below_db))
    return max(int(loud[0]) - keep, 0), min(int(loud[-1]) + 1 + keep, len(level))


def log_f0(samples: np.ndarray, config: FeatureConfig, frames: int) -> np.ndarray:
    """Log-F0 per mel frame (Praat's autocorrelation pitch), 0 where unvoiced."""
    import parselmouth

    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=config.sample_rate)
    pitch = sound.to_pitch_ac(time_step=config.frame_s, pitch_floor=config.f0_min, pitch_ceiling=config.f0_max)
    values = pitch.selected_array["frequency"]
    times = pitch.xs()
    centres = np.arange(frames) * config.frame_s
    nearest = np.clip(np.searchsorted(times, centres), 0, max(len(times) - 1, 0))
    f0 = values[nearest] if len(values) else np.zeros(frames)
    return np.where(f0 > 0, np.log(np.maximum(f0, 1.0)), 0.0).astype(np.float32)


@dataclass
class Features:
    mel: np.ndarray  # (frames, n_mels)
    f0: np.ndarray  # (frames,) log Hz, 0 unvoiced
    energy: np.ndarray  # (frames,)


def extract(audio: Audio, config: FeatureConfig) -> Features:
    samples = audio.to_mono().resample(config.sample_rate).samples
    mel = log_mel(samples, config)
    return Features(mel, log_f0(samples, config, len(mel)), energy(samples, config)[:len(mel)])


def griffin_lim(mel: np.ndarray, config: FeatureConfig, iterations: int = 32, power: float = 1.3,
                seed: int = 0) -> np.ndarray:
    """Waveform from a (frames, n_mels) log-mel: magnitudes through the mel filters' pseudo-inverse
    (sharpened by ``power``), then Griffin-Lim's phase estimate with momentum (Perraudin et al. 2013)."""
    magnitude = (np.maximum(np.exp(mel) @ _mel_inverse(config).T, 0.0) ** power).astype(np.float32)
    length = (len(mel) - 1) * config.hop
    rng = np.random.default_rng(seed)
    angles = np.exp(2j * np.pi * rng.random(magnitude.shape, dtype=np.float32)).astype(np.complex64)
    previous = np.zeros_like(angles)
    momentum = np.float32(0.99 / 1.99)
    for _ in range(iterations):
        rebuilt = stft(istft(magnitude * angles, config, length), config)[:len(magnitude)]
        angles = rebuilt - momentum * previous
        previous = rebuilt
        angles /= np.abs(angles) + np.float32(1e-8)
    return _unclipped(istft(magnitude * angles, config, length))


def spectrum_to_waveform(log_magnitude: np.ndarray, phase: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The inverse STFT of a vocoder's (bins, frames) log-magnitudes and phases."""
    spectrum = (np.exp(log_magnitude) * np.exp(1j * phase)).T
    return _unclipped(istft(spectrum, config, (log_magnitude.shape[1] - 1) * config.hop))


def _unclipped(samples: np.ndarray) -> np.ndarray:
    """The level is the model's (an angry voice is louder): only a clipping peak is scaled down."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return (samples * (0.99 / peak) if peak > 0.99 else samples).astype(np.float32)
