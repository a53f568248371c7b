"""Voice profile: how someone speaks, in numbers a person can read (``malsori profile AUDIO``).

Pitch (F0 level and range), pace (speaking and articulation rate, share of pauses), loudness
(LUFS), voice quality (Praat's jitter, shimmer and harmonics-to-noise ratio) and an estimated
gender with a confidence, for a whole recording or per speaker of a diarization. The prosody
measures come from ``malsori.prosody.analysis.analyze`` (pitch track, speech stretches, syllable
nuclei, loudness, whisper decision); this module adds the voice-quality measures and the gender
estimate, and pools a speaker's turns.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from malsori.audio import Audio
from malsori.audio.io import validate
from malsori.errors import AudioError
from malsori.prosody.analysis import HOP_S, analyze, speech_mask, to_praat

# Below this much detected speech nothing is measured (a profile of None values). A spoken digit
# (FSDD) has 0.12-0.46 s of speech; loudness is None under 0.4 s of audio (one BS.1770 block).
MIN_SPEECH_S = 0.15
# F0 statistics and the gender estimate need this many seconds of voiced frames (15 pitch frames;
# the digits have 16-52).
MIN_VOICED_S = 0.15
# Peak below -80 dBFS: digital silence or a dead channel, not a quiet talker.
SILENT_PEAK = 1e-4
# Silence put between a speaker's turns when they are pooled: longer than the pause threshold
# (0.2 s) and every Praat window, so no pitch period, pulse or syllable bridges two turns.
JOIN_GAP_S = 0.4

# Praat's standard settings for voice analysis (the Voice report and the commands' dialogs):
# pulses between 75 and 600 Hz; jitter and shimmer from periods of 0.1-20 ms whose neighbours
# differ by at most a factor 1.3 (amplitudes 1.6); harmonicity by cross-correlation, 10 ms steps,
# 75 Hz floor, silence threshold 0.1, one period per window.
PULSE_FLOOR_HZ, PULSE_CEILING_HZ = 75.0, 600.0
PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR, MAX_AMPLITUDE_FACTOR = 0.0001, 0.02, 1.3, 1.6
HNR_TIME_STEP_S, HNR_FLOOR_HZ, HNR_SILENCE_THRESHOLD, HNR_PERIODS_PER_WINDOW = 0.01, 75.0, 0.1, 1.0

# Gender from median speaking F0, in semitones (pitch is heard, and varies, on a log scale).
# Two Gaussian classes with equal spread give a logistic posterior: its midpoint is the mean of
# the class means and its slope (distance between them) / variance. Typical adult speaking F0 is
# about 120 Hz for men and 210 Hz for women (9.7 semitones apart); 3 semitones of spread covers
# both the spread between people of one sex and the error of one recording's median. Midpoint
# 159 Hz (the usual 160-165 Hz boundary), slope 1.08 per semitone: 142 or 178 Hz (2 semitones
# off) gives 0.90, 127 or 200 Hz gives 0.99. A formant (vocal-tract length) cue was left out:
# formants depend on the vowels said and on the channel (8 kHz telephone speech cuts F3-F4),
# and nothing here to tune its weight on.
MALE_F0_HZ, FEMALE_F0_HZ, SPREAD_SEMITONES = 120.0, 210.0, 3.0


@dataclass
class VoiceProfile:
    """Measures of one voice; None where there was too little (voiced) speech to measure."""

    speech_seconds: float  # detected speech, pauses excluded
    f0_mean_hz: float | None = None
    f0_median_hz: float | None = None
    f0_p5_hz: float | None = None  # the range: 5th and 95th percentiles of voiced frames
    f0_p95_hz: float | None = None
    f0_range_semitones: float | None = None  # p95 over p5
    speaking_rate: float | None = None  # syllables per second, pauses included
    articulation_rate: float | None = None  # syllables per second of speech, pauses excluded
    pause_ratio: float | None = None  # pause time / (speech + pause time)
    loudness_lufs: float | None = None  # ITU-R BS.1770 integrated loudness
    jitter_percent: float | None = None  # Praat jitter (local)
    shimmer_percent: float | None = None  # Praat shimmer (local)
    hnr_db: float | None = None  # mean harmonics-to-noise ratio over voiced frames
    whispered: bool = False
    gender: str | None = None  # "female", "male", None when unvoiced or too little voicing
    gender_confidence: float | None = None  # posterior of the answer, 0.5..1

    def to_dict(self) -> dict:
        digits = {"speech_seconds": 2, "f0_mean_hz": 1, "f0_median_hz": 1, "f0_p5_hz": 1, "f0_p95_hz": 1,
                  "f0_range_semitones": 2, "speaking_rate": 2, "articulation_rate": 2, "pause_ratio": 3,
                  "loudness_lufs": 1, "jitter_percent": 3, "shimmer_percent": 2, "hnr_db": 1,
                  "gender_confidence": 2}
        return {key: round(value, digits[key]) if key in digits and value is not None else value
                for key, value in asdict(self).items()}


def profile_voice(audio: Audio) -> VoiceProfile:
    """Profile the voice in ``audio`` (mixed to mono).

    Raises AudioError for empty, non-finite or silent audio (peak below -80 dBFS, or no stretch
    of speech found): there is no voice to describe. Audio with under ``MIN_SPEECH_S`` of speech
    gives a profile whose measures are None; whispered or barely voiced speech gives None for F0,
    jitter, shimmer and gender."""
    validate(audio)
    mono = audio.to_mono()
    if mono.peak() < SILENT_PEAK:
        raise AudioError("audio is silent: no voice to profile")
    profile = _measure(mono, joins=[])
    if profile.speech_seconds == 0:
        raise AudioError("no speech found in the audio: no voice to profile")
    return profile


def profile_speakers(audio: Audio, diarization) -> dict[str, VoiceProfile]:
    """One profile per speaker of ``diarization`` (a ``malsori.protocols.Diarization``), most
    talkative first, each measured on that speaker's turns minus any time another speaker talks
    over them. A speaker with too little such speech gets a profile of None values (and
    ``speech_seconds`` 0 when the solo turns are shorter than ``MIN_SPEECH_S``); silent audio
    gives such profiles too rather than an error, since the other speakers may still be heard."""
    validate(audio)
    mono = audio.to_mono()
    gap = np.zeros(int(round(JOIN_GAP_S * mono.sample_rate)), np.float32)
    profiles = {}
    for speaker in diarization.speakers:
        own = _union([(t.start, t.end) for t in diarization.turns if t.speaker == speaker])
        others = _union([(t.start, t.end) for t in diarization.turns if t.speaker != speaker])
        parts = [mono.slice(a, b).samples for a, b in _subtract(own, others)]
        parts = [p for p in parts if len(p)]
        if sum(len(p) for p in parts) < MIN_SPEECH_S * mono.sample_rate:
            profiles[speaker] = VoiceProfile(speech_seconds=0.0)
            continue
        # Turns are pooled with silence between them; a pause around a join is not the speaker's.
        pieces, joins, at = [], [], 0
        for i, part in enumerate(parts):
            if i:
                pieces.append(gap)
                joins.append((at + len(gap) / 2) / mono.sample_rate)
                at += len(gap)
            pieces.append(part)
            at += len(part)
        profiles[speaker] = _measure(Audio(np.concatenate(pieces), mono.sample_rate), joins)
    return profiles


def _measure(mono: Audio, joins: list[float]) -> VoiceProfile:
    prosody = analyze(mono)
    speech = prosody.speech_time
    if speech < MIN_SPEECH_S:
        return VoiceProfile(speech_seconds=float(speech))
    pause = sum(b - a for a, b in prosody.pauses if not any(a <= j <= b for j in joins))
    profile = VoiceProfile(
        speech_seconds=float(speech),
        speaking_rate=prosody.syllables / (speech + pause),
        articulation_rate=prosody.rate,
        pause_ratio=pause / (speech + pause),
        loudness_lufs=_finite(prosody.loudness_lufs),
        whispered=prosody.whispered,
    )
    f0 = prosody.f0[speech_mask(prosody.times, prosody.speech) & np.isfinite(prosody.f0)]
    # A whisper's pitch track is the tracker catching noise: no F0, no pulses, no gender.
    if prosody.whispered or len(f0) * HOP_S < MIN_VOICED_S:
        profile.hnr_db = _hnr(mono)
        return profile
    p5, p95 = np.percentile(f0, [5, 95])
    profile.f0_mean_hz = float(f0.mean())
    profile.f0_median_hz = float(np.median(f0))
    profile.f0_p5_hz, profile.f0_p95_hz = float(p5), float(p95)
    profile.f0_range_semitones = float(12 * np.log2(p95 / p5))
    profile.jitter_percent, profile.shimmer_percent = _perturbation(mono)
    profile.hnr_db = _hnr(mono)
    profile.gender, profile.gender_confidence = estimate_gender(profile.f0_median_hz)
    return profile


def estimate_gender(median_f0_hz: float) -> tuple[str, float]:
    """("female" or "male", the posterior of that answer) from median speaking F0 (see above)."""
    male, female = _semitones(MALE_F0_HZ), _semitones(FEMALE_F0_HZ)
    slope = (female - male) / SPREAD_SEMITONES**2
    log_odds = slope * (_semitones(median_f0_hz) - (male + female) / 2)
    p_female = 1 / (1 + math.exp(-log_odds))
    return ("female", p_female) if p_female >= 0.5 else ("male", 1 - p_female)


def _semitones(hz: float) -> float:
    return 12 * math.log2(hz / 100.0)


def _perturbation(mono: Audio) -> tuple[float | None, float | None]:
    """Local jitter and shimmer, in percent, over the glottal pulses Praat finds."""
    from parselmouth.praat import call

    sound = to_praat(mono)
    pulses = call(sound, "To PointProcess (periodic, cc)", PULSE_FLOOR_HZ, PULSE_CEILING_HZ)
    jitter = call(pulses, "Get jitter (local)", 0, 0, PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR)
    shimmer = call([sound, pulses], "Get shimmer (local)", 0, 0, PERIOD_FLOOR_S, PERIOD_CEILING_S,
                   MAX_PERIOD_FACTOR, MAX_AMPLITUDE_FACTOR)
    return _finite(100 * jitter), _finite(100 * shimmer)


def _hnr(mono: Audio) -> float | None:
    """Mean HNR over voiced frames with Praat's standard settings (``analyze`` measures its own
    with a 60 Hz floor for the whisper decision; this is the figure voice reports quote)."""
    from parselmouth.praat import call

    harmonicity = call(to_praat(mono), "To Harmonicity (cc)", HNR_TIME_STEP_S, HNR_FLOOR_HZ,
                       HNR_SILENCE_THRESHOLD, HNR_PERIODS_PER_WINDOW)
    return _finite(call(harmonicity, "Get mean", 0, 0))  # Praat skips silent frames itself


def _finite(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted((a, b) for a, b in intervals if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _subtract(keep: list[tuple[float, float]], remove: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Parts of the ``keep`` intervals outside every ``remove`` interval (both sorted, disjoint)."""
    out = []
    for a, b in keep:
        start = a
        for c, d in remove:
            if d <= start or c >= b:
                continue
            if c > start:
                out.append((start, c))
            start = max(start, d)
        if start < b:
            out.append((start, b))
    return out


__all__ = ["VoiceProfile", "profile_voice", "profile_speakers", "estimate_gender"]
