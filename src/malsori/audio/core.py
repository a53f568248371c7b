"""The Audio value: float32 samples in [-1, 1], a sample rate, and a channel count."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_RATE = 1_000
MAX_RATE = 768_000


@dataclass(frozen=True)
class Audio:
    """Samples are (frames,) for mono or (frames, channels); always float32."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self):
        samples = np.asarray(self.samples, dtype=np.float32)
        object.__setattr__(self, "samples", samples)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / float(self.sample_rate)

    def to_mono(self) -> "Audio":
        if self.samples.ndim == 1:
            return self
        return Audio(self.samples.mean(axis=1), self.sample_rate)

    def resample(self, sample_rate: int) -> "Audio":
        if sample_rate == self.sample_rate:
            return self
        import soxr

        return Audio(soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ"), sample_rate)

    def slice(self, start: float, end: float) -> "Audio":
        a = max(0, int(round(start * self.sample_rate)))
        b = min(self.frames, int(round(end * self.sample_rate)))
        return Audio(self.samples[a:max(a, b)], self.sample_rate)

    def trim(self, keep_start: float = 0.0, keep_end: float = 0.0, floor_db: float = -40.0) -> "Audio":
        """Drop leading and trailing stretches quieter than ``floor_db`` below the peak, keeping
        ``keep_start`` / ``keep_end`` seconds of them. All-quiet audio comes back empty."""
        level = np.abs(self.to_mono().samples)
        loud = np.flatnonzero(level > self.peak() * 10 ** (floor_db / 20)) if self.frames else []
        if not len(loud):
            return Audio(self.samples[:0], self.sample_rate)
        a = max(0, loud[0] - int(keep_start * self.sample_rate))
        b = min(self.frames, loud[-1] + 1 + int(keep_end * self.sample_rate))
        return Audio(self.samples[a:b], self.sample_rate)

    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if self.frames else 0.0


def silence(seconds: float, sample_rate: int) -> Audio:
    return Audio(np.zeros(max(0, int(round(seconds * sample_rate))), np.float32), sample_rate)


def concatenate(parts: list[Audio], sample_rate: int) -> Audio:
    if not parts:
        return silence(0, sample_rate)
    return Audio(np.concatenate([p.resample(sample_rate).to_mono().samples for p in parts]), sample_rate)
