"""Carry one recording's delivery over to other speech: pace, pitch register and range,
loudness, whisper, and the voice's formant scale (a signal-processing approximation of voice
identity). Each step that cannot be measured on the inputs is skipped with a warning, never
failing and never returning silence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from malsori.audio import Audio
from malsori.prosody.analysis import Prosody, analyze, loudness_lufs, to_praat

# Limits that keep the result natural: tempo and formant changes beyond these sound processed.
TEMPO_LIMITS = (0.7, 1.45)
RANGE_LIMITS = (0.5, 2.0)
FORMANT_LIMITS = (0.85, 1.2)
MIN_SPEECH_S = 0.3


@dataclass
class TransferReport:
    applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration_factor: float = 1.0
    pitch_median_hz: float | None = None  # the output's new median F0
    pitch_range_factor: float = 1.0
    formant_ratio: float = 1.0
    loudness_gain_db: float = 0.0
    whispered: bool = False

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def transfer(source: Audio, target: Audio, *, rate: bool = True, pitch: bool = True, loudness: bool = True,
             whisper: bool = True, voice: bool = True, duration: float | None = None,
             source_prosody: Prosody | None = None,
             formant_ratio: float | None = None) -> tuple[Audio, TransferReport]:
    """``target`` re-spoken with ``source``'s delivery. ``duration`` (seconds) fits the output to
    that length instead of following the source's pace; ``formant_ratio`` skips measuring the
    voice (a caller transferring phrase by phrase measures it once on the whole). Returns the
    audio and what was done."""
    report = TransferReport()
    src = source_prosody or analyze(source)
    tgt = analyze(target)
    if tgt.speech_time < MIN_SPEECH_S:
        report.warnings.append("the target has too little speech to change: returned as it is")
        return target, report
    if src.speech_time < MIN_SPEECH_S:
        report.warnings.append("the source has too little speech to analyse: only the duration was fitted")
        rate = pitch = loudness = whisper = voice = False

    factor = 1.0
    if duration is not None:
        factor = duration / target.duration
        report.applied.append("duration")
    elif rate and src.whispered:
        report.warnings.append("syllable rate is not measured on whispered speech: pace left as it is")
    elif rate and src.rate > 0 and tgt.rate > 0:
        factor = float(np.clip(tgt.rate / src.rate, *TEMPO_LIMITS))
        report.applied.append("rate")
    report.duration_factor = factor

    src_f0, tgt_f0 = src.log_f0_stats(), tgt.log_f0_stats()
    median, range_factor = 0.0, 1.0  # 0: Praat keeps the pitch as it is
    whispered = whisper and src.whispered
    if pitch and not whispered:
        if src_f0 and tgt_f0:
            median = float(np.nanmedian(src.f0))
            range_factor = float(np.clip(src_f0[1] / tgt_f0[1], *RANGE_LIMITS)) if tgt_f0[1] > 0 else 1.0
            report.pitch_median_hz, report.pitch_range_factor = median, range_factor
            report.applied.append("pitch")
        else:
            report.warnings.append("no voiced frames to measure pitch on: pitch left as it is")
    ratio = 1.0
    if voice and whispered:
        report.warnings.append("formants are not measured on whispered speech: voice left as it is")
    elif voice:
        ratio = formant_ratio if formant_ratio is not None else measure_formant_ratio(source, target, src, tgt)
        if ratio is None:
            report.warnings.append("formants could not be measured: voice left as it is")
            ratio = 1.0
        else:
            report.formant_ratio = ratio
            report.applied.append("voice")

    out = target
    if factor != 1.0 or median or range_factor != 1.0 or ratio != 1.0:
        out = change_voice(target, tgt, ratio, median, range_factor, factor)
        reached = float(np.nanmedian(analyze(out).f0)) if median else 0.0
        if median and np.isfinite(reached) and abs(np.log(reached / median)) > 0.02:
            # The formant and range changes move Praat's median a little: aim again, once.
            out = change_voice(target, tgt, ratio, median * median / reached, range_factor, factor)
    if whispered:
        out = whisperize(out)
        report.whispered = True
        report.applied.append("whisper")
    if loudness and np.isfinite(src.loudness_lufs):
        out, gain = match_loudness(out, src.loudness_lufs)
        if gain is not None:
            report.loudness_gain_db = gain
            report.applied.append("loudness")
    return out, report


def match_loudness(audio: Audio, lufs: float) -> tuple[Audio, float | None]:
    """``audio`` brought to ``lufs`` integrated loudness, never clipping (it gives up the last
    dBs instead). The gain is None when the audio is too short to measure."""
    level = loudness_lufs(audio)
    if not np.isfinite(level):
        return audio, None
    gain = float(np.clip(lufs - level, -30, 30))
    peak = audio.peak() * 10 ** (gain / 20)
    if peak > 0.99:
        gain -= 20 * np.log10(peak / 0.99)
    return Audio(audio.samples * np.float32(10 ** (gain / 20)), audio.sample_rate), gain


def change_voice(target: Audio, tgt: Prosody, formant_ratio: float, median_hz: float, range_factor: float,
                  duration_factor: float) -> Audio:
    """Praat's "Change gender": PSOLA for pitch and duration, resampling for the formant scale."""
    from parselmouth.praat import call

    sound = to_praat(target)
    floor = max(60.0, float(np.nanpercentile(tgt.f0, 2)) * 0.7) if np.isfinite(tgt.f0).any() else 75.0
    out = call(sound, "Change gender", floor, 600, formant_ratio, median_hz, range_factor, duration_factor)
    return Audio(out.values[0].astype(np.float32), int(out.sampling_frequency))


def measure_formant_ratio(source: Audio, target: Audio, src: Prosody, tgt: Prosody) -> float | None:
    """Geometric mean over F1-F3 of source / target formant frequencies in voiced frames. The
    analysis ceiling follows each speaker's pitch (5 kHz for low voices, 5.5 kHz otherwise):
    a fixed 5.5 kHz overshoots on low male voices."""
    src_f, tgt_f = _mean_formants(source, src), _mean_formants(target, tgt)
    if src_f is None or tgt_f is None:
        return None
    return float(np.clip(np.exp(np.mean(np.log(src_f / tgt_f))), *FORMANT_LIMITS))


def _mean_formants(audio: Audio, prosody: Prosody) -> np.ndarray | None:
    stats = prosody.log_f0_stats()
    if stats is None:
        return None
    ceiling = 5000.0 if np.exp(stats[0]) < 160 else 5500.0
    formant = to_praat(audio).to_formant_burg(time_step=0.01, max_number_of_formants=5,
                                               maximum_formant=ceiling)
    voiced_times = prosody.times[np.isfinite(prosody.f0)]
    values = np.array([[formant.get_value_at_time(n, t) for n in (1, 2, 3)] for t in voiced_times])
    values = values[np.all(np.isfinite(values), axis=1)]
    if len(values) < 5:
        return None
    return np.exp(np.log(values).mean(axis=0))


def whisperize(audio: Audio, order: int = 16) -> Audio:
    """Whispered speech from normal speech: the spectral envelope (LPC) excited by noise instead
    of the glottal pulses, so no frame stays voiced."""
    from parselmouth.praat import call

    sound = to_praat(audio)
    rate = min(16000.0, sound.sampling_frequency)
    resampled = call(sound, "Resample", rate, 50) if rate != sound.sampling_frequency else sound
    lpc = call(resampled, "To LPC (burg)", order, 0.025, 0.005, 50.0)
    noise = call("Create Sound from formula", "noise", 1, 0, resampled.duration, rate, "randomGauss(0, 0.1)")
    filtered = call([lpc, noise], "Filter", "no")
    samples = filtered.values[0].astype(np.float32)
    samples *= np.float32(0.5 / max(1e-9, float(np.max(np.abs(samples)))))
    return Audio(samples, int(rate))


TIMBRE_BANDS = 40
TIMBRE_LIMIT_DB = 9.0


def match_timbre(audio: Audio, source: Audio, limit_db: float = TIMBRE_LIMIT_DB) -> Audio:
    """Equalise ``audio`` so its long-term spectrum over speech follows ``source``'s shape (the
    spectral tilt and the broad resonances a speaker and their microphone give every sound).
    Overall level is left alone (loudness is matched separately); band gains are limited to
    +-``limit_db`` and smoothed so no narrow resonance is copied."""
    rate = audio.sample_rate
    top = min(rate, source.sample_rate) / 2 * 0.95
    edges = _mel_edges(80.0, top, TIMBRE_BANDS)
    src_db, out_db = _band_levels(source, edges), _band_levels(audio, edges)
    if src_db is None or out_db is None:
        return audio
    gain = np.clip((src_db - src_db.mean()) - (out_db - out_db.mean()), -limit_db, limit_db)
    gain = np.convolve(np.pad(gain, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    centres = np.sqrt(edges[:-1] * edges[1:])
    mono = audio.to_mono()
    spectrum = np.fft.rfft(mono.samples.astype(np.float64))
    freqs = np.fft.rfftfreq(mono.frames, 1 / rate)
    gain_db = np.interp(np.log(np.maximum(freqs, 1.0)), np.log(centres), gain)
    out = np.fft.irfft(spectrum * 10 ** (gain_db / 20), n=mono.frames).astype(np.float32)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:
        out *= np.float32(0.99 / peak)
    return Audio(out, rate)


def _mel_edges(low: float, high: float, bands: int) -> np.ndarray:
    mel = np.linspace(2595 * np.log10(1 + low / 700), 2595 * np.log10(1 + high / 700), bands + 1)
    return 700 * (10 ** (mel / 2595) - 1)


def _band_levels(audio: Audio, edges: np.ndarray, frame_s: float = 0.032) -> np.ndarray | None:
    """Mean power in dB per band over the loudest (speech) frames."""
    mono = audio.to_mono()
    n = int(frame_s * mono.sample_rate)
    if mono.frames < 4 * n:
        return None
    frames = mono.samples[: mono.frames - mono.frames % n].reshape(-1, n).astype(np.float64)
    energy = (frames ** 2).mean(axis=1)
    speech = frames[energy > energy.max() * 10 ** (-30 / 10)]
    power = (np.abs(np.fft.rfft(speech * np.hanning(n), axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(n, 1 / mono.sample_rate)
    levels = []
    for a, b in zip(edges[:-1], edges[1:]):
        sel = (freqs >= a) & (freqs < b)
        if not sel.any():
            sel = np.abs(freqs - (a + b) / 2) == np.min(np.abs(freqs - (a + b) / 2))
        levels.append(10 * np.log10(power[sel].mean() + 1e-12))
    return np.array(levels)
