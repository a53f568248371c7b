"""Voice profile: how someone speaks, in numbers a person can read (``malsori profile AUDIO``).

Pitch (F0 level and range), pace (speaking and articulation rate, share of pauses), loudness
(LUFS), voice quality (Praat's jitter, shimmer and harmonics-to-noise ratio), formant spacing (a
vocal-tract length cue) and an estimated gender with a confidence, for a whole recording or per
speaker of a diarization. The prosody measures come from ``malsori.prosody.analysis.analyze``
(pitch track, speech stretches, syllable nuclei, loudness, whisper decision); this module adds the
voice-quality and formant measures and the gender estimate, and pools a speaker's turns.
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
# the digits have 16-52); the formant cue needs more (MIN_FORMANT_VOICED_S below).
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

# Gender from two cues. Each gives log-odds (female over male) from two Gaussian classes with
# equal spread: a logistic whose midpoint is the mean of the class means and whose slope is their
# distance over the variance. The two are added, and the answer is "unknown" below DECIDE_AT.
# No single cue counts for more than a posterior of 0.99 (MAX_LOG_ODDS_PER_CUE).
#
# 1. Median speaking F0, in semitones (pitch is heard, and varies, on a log scale). Typical adult
#    speaking F0 is about 120 Hz for men and 210 Hz for women, 3 semitones of spread: midpoint
#    159 Hz, 1.08 per semitone. Low pitch is evidence of a man, but high pitch is none of a woman:
#    a man raising his voice (outdoors, to a crowd, shouting) speaks at 230 Hz and more with his
#    own vocal tract: a recording of JFK's inaugural address has a median of 237 Hz, and F0 alone
#    called it "female" with confidence 1.0. So F0 only ever counts towards "male"; "female" rests
#    on the formants.
MALE_F0_HZ, FEMALE_F0_HZ, SPREAD_SEMITONES = 120.0, 210.0, 3.0
MAX_LOG_ODDS_PER_CUE = 4.6
# 2. Formant spacing, which follows vocal-tract length rather than pitch. F1-F4 of a uniform tube
#    closed at the glottis lie at (i - 1/2) times c / 2L, so the least-squares spacing of the
#    median F1-F4 over voiced frames estimates the tract length (Reby & McComb 2003); women's are
#    shorter. One Praat setting is used for every voice (Burg, 5 formants under 5.5 kHz, which
#    fits both sexes' F1-F5): a ceiling chosen by pitch would move a raised male voice's formants.
#    Audio sampled under 11 kHz (telephone) has no F4 and so no formant cue. The class means (of
#    log spacing, each speaker weighted alike) and their pooled spread are fitted by
#    ``benchmarks/gender_bench.py --fit`` on permissively licensed speech only: LibriSpeech
#    dev-clean 1988, 2412 (women) and 3752 (a man), LJSpeech (a woman), and the men of the bundled
#    Piper voice and of the 13 MBROLA voices malsori uses. Midpoint 1075 Hz, 0.88 log-odds per 1%
#    of spacing. Korean and FSDD speech is kept for checking it (docs/benchmarks.md).
MALE_SPACING_HZ, FEMALE_SPACING_HZ, SPACING_SPREAD = 1028.0, 1125.0, 0.032  # spread: of log spacing
FORMANT_CEILING_HZ, FORMANT_COUNT, FORMANT_WINDOW_S, PRE_EMPHASIS_HZ = 5500.0, 5, 0.025, 50.0
# No formant cue from less voiced speech than this: the medians would be one or two vowels' values
# (a spoken digit has 0.16-0.52 s). The estimate then rests on F0, which can say "male" only.
MIN_FORMANT_VOICED_S = 0.5
# Answer "female" or "male" at this posterior or above, otherwise "unknown".
DECIDE_AT = 0.8


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
    formant_spacing_hz: float | None = None  # from F1-F4; None sampled under 11 kHz or too little voicing
    gender: str | None = None  # "female", "male", "unknown"; None when unvoiced (no F0)
    gender_confidence: float | None = None  # posterior of the answer, DECIDE_AT..1; None when "unknown"

    def to_dict(self) -> dict:
        digits = {"speech_seconds": 2, "f0_mean_hz": 1, "f0_median_hz": 1, "f0_p5_hz": 1, "f0_p95_hz": 1,
                  "f0_range_semitones": 2, "speaking_rate": 2, "articulation_rate": 2, "pause_ratio": 3,
                  "loudness_lufs": 1, "jitter_percent": 3, "shimmer_percent": 2, "hnr_db": 1,
                  "formant_spacing_hz": 0, "gender_confidence": 2}
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
    voiced = speech_mask(prosody.times, prosody.speech) & np.isfinite(prosody.f0)
    f0 = prosody.f0[voiced]
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
    if len(f0) * HOP_S >= MIN_FORMANT_VOICED_S:
        profile.formant_spacing_hz = _formant_spacing(mono, prosody.times[voiced])
    profile.gender, profile.gender_confidence = estimate_gender(profile.f0_median_hz, profile.formant_spacing_hz)
    return profile


def gender_log_odds(median_f0_hz: float, formant_spacing_hz: float | None = None) -> float:
    """Log-odds of "female" over "male" from median speaking F0 and, when measured, formant
    spacing (see the constants above)."""
    f0 = _logistic_term(_semitones(median_f0_hz), _semitones(MALE_F0_HZ), _semitones(FEMALE_F0_HZ),
                        SPREAD_SEMITONES)
    log_odds = min(f0, 0.0)  # high pitch is no evidence of a woman (see above)
    if formant_spacing_hz is not None:
        log_odds += _logistic_term(math.log(formant_spacing_hz), math.log(MALE_SPACING_HZ),
                                   math.log(FEMALE_SPACING_HZ), SPACING_SPREAD)
    return log_odds


def estimate_gender(median_f0_hz: float, formant_spacing_hz: float | None = None) -> tuple[str, float | None]:
    """("female" or "male", the posterior of that answer, at least DECIDE_AT), or ("unknown",
    None) when neither reaches it."""
    log_odds = gender_log_odds(median_f0_hz, formant_spacing_hz)
    confidence = 1 / (1 + math.exp(-abs(log_odds)))
    if confidence < DECIDE_AT:
        return "unknown", None
    return ("female" if log_odds > 0 else "male"), confidence


def _logistic_term(x: float, male: float, female: float, spread: float) -> float:
    """One cue's log-odds from two equal-spread Gaussian classes, capped at MAX_LOG_ODDS_PER_CUE."""
    log_odds = (female - male) / spread**2 * (x - (male + female) / 2)
    return min(max(log_odds, -MAX_LOG_ODDS_PER_CUE), MAX_LOG_ODDS_PER_CUE)


def _semitones(hz: float) -> float:
    return 12 * math.log2(hz / 100.0)


def _formant_spacing(mono: Audio, times: np.ndarray) -> float | None:
    """Least-squares spacing of the median F1-F4 over the frames at ``times`` (voiced speech):
    the ΔF that best fits F_i = (i - 1/2) ΔF. None when the audio is sampled too low for the
    ceiling, or when a formant is missing in most frames."""
    from parselmouth.praat import call

    if mono.sample_rate < 2 * FORMANT_CEILING_HZ or len(times) == 0:
        return None
    formant = call(to_praat(mono), "To Formant (burg)", HOP_S, FORMANT_COUNT, FORMANT_CEILING_HZ,
                   FORMANT_WINDOW_S, PRE_EMPHASIS_HZ)
    frames = np.clip(np.round((times - formant.x1) / formant.dx).astype(int), 0, formant.nx - 1)
    medians = []
    for n in range(1, 5):
        track = call(formant, "To Matrix", n).values[0][frames]
        track = track[track > 0]  # Praat writes 0 where a frame found fewer formants
        if len(track) < len(frames) / 2:
            return None
        medians.append(float(np.median(track)))
    positions = np.arange(1, 5) - 0.5
    return float(np.dot(medians, positions) / np.dot(positions, positions))


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


__all__ = ["VoiceProfile", "profile_voice", "profile_speakers", "estimate_gender", "gender_log_odds"]
