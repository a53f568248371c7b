"""Prosody analysis with Praat (through parselmouth): pitch by autocorrelation (it keeps voicing
on synthetic voices where WORLD's harvest loses it), intensity, harmonicity, pauses, a syllable
rate from intensity peaks, loudness by ITU-R BS.1770, and a whisper decision."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from malsori.audio import Audio

HOP_S = 0.01
PITCH_FLOOR, PITCH_CEILING = 60.0, 500.0
# Praat's intensity window is 3.2 periods of this pitch: 32 ms keeps fast syllables apart.
INTENSITY_PITCH_FLOOR = 100.0
MIN_ANALYSIS_S = 0.15
# Whispered speech has almost no voiced frames and little harmonic energy (measured on dev
# speech: one threshold on either separates whispered from normal).
WHISPER_VOICED_FRACTION, WHISPER_HNR_DB = 0.2, 5.0


@dataclass
class Prosody:
    duration: float  # seconds
    times: np.ndarray = field(repr=False)  # frame centres, s
    f0: np.ndarray = field(repr=False)  # Hz, NaN where unvoiced
    intensity: np.ndarray = field(repr=False)  # dB, same frames
    speech: list[tuple[float, float]]  # stretches of speech; the gaps between them are pauses
    voiced_fraction: float  # voiced frames / speech frames
    hnr_db: float  # mean harmonics-to-noise ratio over voiced frames (nan when none)
    loudness_lufs: float
    syllables: int  # intensity peaks in voiced speech (syllable nuclei)

    @property
    def speech_time(self) -> float:
        return sum(b - a for a, b in self.speech)

    @property
    def pauses(self) -> list[tuple[float, float]]:
        return [(a[1], b[0]) for a, b in zip(self.speech, self.speech[1:])]

    @property
    def rate(self) -> float:
        """Syllables per second of speech (pauses excluded)."""
        return self.syllables / self.speech_time if self.speech_time > 0 else 0.0

    @property
    def whispered(self) -> bool:
        return bool(self.voiced_fraction < WHISPER_VOICED_FRACTION
                    or (np.isfinite(self.hnr_db) and self.hnr_db < WHISPER_HNR_DB))

    def log_f0_stats(self) -> tuple[float, float] | None:
        """Mean and standard deviation of log F0 over voiced frames (register and range)."""
        voiced = self.f0[np.isfinite(self.f0)]
        if len(voiced) < 5:
            return None
        logs = np.log(voiced)
        return float(logs.mean()), float(logs.std())

    def summary(self) -> dict:
        stats = self.log_f0_stats()
        return {
            "duration_s": round(self.duration, 3),
            "speech_s": round(float(self.speech_time), 3),
            "pauses": len(self.pauses),
            "f0_median_hz": round(float(np.nanmedian(self.f0)), 1) if stats else None,
            "f0_range_semitones": round(float(12 * 2 * stats[1] / np.log(2)), 2) if stats else None,  # +-1 sd
            "syllables_per_s": round(float(self.rate), 2),
            "loudness_lufs": round(self.loudness_lufs, 1) if np.isfinite(self.loudness_lufs) else None,
            "voiced_fraction": round(self.voiced_fraction, 3),
            "hnr_db": round(self.hnr_db, 1) if np.isfinite(self.hnr_db) else None,
            "whispered": self.whispered,
        }


def to_praat(audio: Audio):
    import parselmouth

    mono = audio.to_mono()
    return parselmouth.Sound(mono.samples.astype(np.float64), sampling_frequency=mono.sample_rate)


def analyze(audio: Audio, min_pause_s: float = 0.2) -> Prosody:
    from parselmouth.praat import call

    duration = audio.duration
    if duration < MIN_ANALYSIS_S:  # Praat needs a few pitch periods; silence adds no speech
        mono = audio.to_mono()
        pad = np.zeros(int(MIN_ANALYSIS_S * mono.sample_rate) - mono.frames + 1, np.float32)
        audio = Audio(np.concatenate([mono.samples, pad]), mono.sample_rate)
    sound = to_praat(audio)
    pitch = sound.to_pitch_ac(time_step=HOP_S, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING)
    times = pitch.xs()
    f0 = pitch.selected_array["frequency"].astype(float)
    f0[f0 <= 0] = np.nan
    intensity_obj = sound.to_intensity(minimum_pitch=INTENSITY_PITCH_FLOOR, time_step=HOP_S)
    intensity = np.interp(times, intensity_obj.xs(), intensity_obj.values[0]) if len(times) else np.zeros(0)
    speech = _speech_stretches(times, intensity, min_pause_s)
    in_speech = speech_mask(times, speech)
    voiced_fraction = float(np.isfinite(f0[in_speech]).mean()) if in_speech.any() else 0.0
    harmonicity = sound.to_harmonicity_cc(time_step=HOP_S, minimum_pitch=PITCH_FLOOR)
    hnr = harmonicity.values[0]
    hnr = hnr[hnr > -199]  # Praat marks silent frames -200
    hnr_db = float(call(harmonicity, "Get mean", 0, 0)) if len(hnr) else float("nan")
    return Prosody(duration, times, f0, intensity, speech, voiced_fraction, hnr_db,
                   loudness_lufs(audio), _syllable_nuclei(times, intensity, f0, in_speech))


def speech_mask(times: np.ndarray, speech: list[tuple[float, float]]) -> np.ndarray:
    """Which frames fall inside the stretches of speech."""
    mask = np.zeros(len(times), bool)
    for a, b in speech:
        mask |= (times >= a) & (times <= b)
    return mask


def _speech_stretches(times, intensity, min_pause_s: float) -> list[tuple[float, float]]:
    """Frames within 25 dB of the loudest (95th percentile) are speech; shorter gaps than
    ``min_pause_s`` are not pauses, and blips under 50 ms are not speech."""
    if not len(times):
        return []
    top = np.percentile(intensity, 95)
    loud = intensity > max(top - 25.0, np.percentile(intensity, 5) + 6.0)
    stretches, start = [], None
    for t, flag in zip(times, np.append(loud[:-1], False) if len(loud) else []):
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            stretches.append([start, t])
            start = None
    merged: list[list[float]] = []
    for a, b in stretches:
        if merged and a - merged[-1][1] < min_pause_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(round(float(a), 3), round(float(b), 3)) for a, b in merged if b - a >= 0.05]


def _syllable_nuclei(times, intensity, f0, in_speech, dip_db: float = 2.0) -> int:
    """Peaks of intensity in voiced speech that stand ``dip_db`` above the dip before them, after
    de Jong & Wempe (2009); whispered speech counts its unvoiced peaks instead."""
    if len(intensity) < 3 or not in_speech.any():
        return 0
    voiced = np.isfinite(f0)
    usable = in_speech & voiced if voiced[in_speech].mean() > WHISPER_VOICED_FRACTION else in_speech
    smooth = np.convolve(intensity, np.ones(3) / 3, mode="same")
    threshold = np.median(smooth[in_speech]) - 6.0
    count, dip = 0, np.inf
    for i in range(1, len(smooth) - 1):
        dip = min(dip, smooth[i])
        if smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1] and usable[i] and smooth[i] > threshold:
            if smooth[i] - dip >= dip_db:
                count += 1
                dip = smooth[i]
    return count


def loudness_lufs(audio: Audio) -> float:
    """Integrated loudness (ITU-R BS.1770-4): K-weighting, 400 ms blocks with 75% overlap, an
    absolute gate at -70 LUFS and a relative gate 10 LU below the ungated mean. The K filter is
    applied in the frequency domain (its magnitude response is what power depends on)."""
    mono = audio.to_mono()
    x, rate = mono.samples.astype(np.float64), mono.sample_rate
    if len(x) < int(0.4 * rate):
        return float("nan")
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    weighted = np.fft.irfft(spectrum * _k_weighting(freqs, rate), n=len(x))
    block, step = int(0.4 * rate), int(0.1 * rate)
    power = np.array([np.mean(weighted[i:i + block] ** 2) for i in range(0, len(x) - block + 1, step)])
    with np.errstate(divide="ignore"):
        level = -0.691 + 10 * np.log10(power)
    gated = power[level > -70]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    final = power[(level > -70) & (level > relative)]
    return float(-0.691 + 10 * np.log10(final.mean()))


def _k_weighting(freqs: np.ndarray, rate: int) -> np.ndarray:
    """|H(f)| of BS.1770's two stages (high shelf, then high pass), from their analogue
    prototypes through the bilinear transform, as pyloudnorm and libebur128 derive them."""
    def biquad(b, a):
        z = np.exp(-2j * np.pi * freqs / rate)
        return np.abs((b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2))

    # stage 1: high shelf (+4 dB above ~1.5 kHz)
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = biquad([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0],
                   [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    # stage 2: high pass at ~38 Hz
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = biquad([1, -2, 1], [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return shelf * highpass
