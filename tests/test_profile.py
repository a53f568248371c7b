"""Voice profiles on voices whose make-up is known: eSpeak NG's male and female variants and its
pitch setting, the bundled Piper voice (a low male voice), tones and pulse trains with exact or
jittered periods, and speakers pooled from a hand-made diarization."""

import json

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.errors import AudioError
from malsori.pipelines.profile import estimate_gender, profile_speakers, profile_voice
from malsori.prosody.transfer import whisperize
from malsori.protocols import Diarization, SpeakerTurn

TEXT = "The quick brown fox jumps over the lazy dog. I would like a cup of coffee."
RATE = 16000


def padded(samples: np.ndarray, rate: int = RATE, pad_s: float = 0.5) -> Audio:
    """Silence either side: the speech detector wants quiet to set its floor."""
    pad = np.zeros(int(pad_s * rate), np.float32)
    return Audio(np.concatenate([pad, samples.astype(np.float32), pad]), rate)


def pulse_train(periods) -> np.ndarray:
    """One cycle of a five-harmonic wave per period: the periods are exactly the ones given."""
    cycles = []
    for period in periods:
        t = np.arange(int(round(period * RATE))) / round(period * RATE)
        cycles.append(sum(np.sin(2 * np.pi * k * t) / k for k in range(1, 6)))
    return 0.3 * np.concatenate(cycles)


def p_female(profile) -> float:
    return profile.gender_confidence if profile.gender == "female" else 1 - profile.gender_confidence


@pytest.fixture(scope="module")
def piper_profile(english_speech):
    return profile_voice(english_speech)


@pytest.fixture(scope="module")
def espeak():
    from malsori.engines.tts.espeak import EspeakSynthesizer

    return EspeakSynthesizer()


@pytest.mark.espeak
def test_pitch_and_gender_follow_the_voice(espeak):
    from malsori.engines.tts.espeak import EspeakSynthesizer

    male = profile_voice(espeak.synthesize(TEXT, "eng", voice="en-us"))
    female = profile_voice(espeak.synthesize(TEXT, "eng", voice="en-us+f3"))
    assert male.gender == "male" and male.gender_confidence > 0.95
    assert female.gender == "female" and female.gender_confidence > 0.9
    assert female.f0_mean_hz > 1.6 * male.f0_mean_hz and female.f0_median_hz > 1.6 * male.f0_median_hz
    assert male.f0_p5_hz < male.f0_median_hz < male.f0_p95_hz
    assert 2 < male.f0_range_semitones < 12  # read sentence intonation, not an octave error
    # eSpeak's pitch setting moves the same voice up the scale, and the gender answer with it
    low = profile_voice(EspeakSynthesizer(pitch=20).synthesize("I would like a cup of coffee.", "eng", voice="en-us"))
    high = profile_voice(EspeakSynthesizer(pitch=99).synthesize("I would like a cup of coffee.", "eng", voice="en-us"))
    assert high.f0_median_hz > 1.3 * low.f0_median_hz
    assert p_female(high) > p_female(low) and low.gender == "male"


def test_piper_voice_is_male_and_profile_is_complete(english_speech, piper_profile):
    profile = piper_profile
    assert profile.gender == "male" and profile.gender_confidence > 0.95
    assert 70 < profile.f0_median_hz < 140
    assert 2.5 < profile.articulation_rate < 7.0 and profile.speaking_rate <= profile.articulation_rate
    assert 0 <= profile.pause_ratio < 0.4 and 2.5 < profile.speech_seconds <= english_speech.duration
    assert -40 < profile.loudness_lufs < -5 and not profile.whispered
    out = json.loads(json.dumps(profile.to_dict()))  # plain JSON, rounded
    assert out["gender"] == "male" and out["f0_median_hz"] == round(profile.f0_median_hz, 1)
    assert set(out) >= {"f0_mean_hz", "f0_p5_hz", "f0_p95_hz", "f0_range_semitones", "speaking_rate",
                        "articulation_rate", "pause_ratio", "loudness_lufs", "jitter_percent",
                        "shimmer_percent", "hnr_db", "gender_confidence", "speech_seconds"}


def test_jitter_shimmer_hnr_measure_periodicity(english_speech):
    t = np.arange(3 * RATE) / RATE
    tone = profile_voice(padded(0.3 * np.sin(2 * np.pi * 150 * t)))
    assert tone.jitter_percent < 0.05 and tone.shimmer_percent < 0.05 and tone.hnr_db > 40
    assert tone.f0_median_hz == pytest.approx(150, rel=0.01)
    # Periods drawn uniformly within +-3%: the mean difference of neighbours is 2% of a period.
    periods = (1 / 125) * (1 + np.random.default_rng(0).uniform(-0.03, 0.03, 375))
    jittered = profile_voice(padded(pulse_train(periods)))
    assert jittered.jitter_percent == pytest.approx(2.0, abs=0.4)
    assert profile_voice(padded(pulse_train([1 / 125] * 375))).jitter_percent < 0.05
    rng = np.random.default_rng(1)
    rms = np.sqrt(np.mean(english_speech.samples**2))
    noisy = profile_voice(Audio(english_speech.samples + rng.normal(0, 0.1 * rms, english_speech.frames),
                                english_speech.sample_rate))
    assert noisy.jitter_percent > 20 * tone.jitter_percent and noisy.jitter_percent > 0.5
    assert noisy.hnr_db < tone.hnr_db - 20


def test_louder_copy_is_six_db_up(english_speech):
    quiet = Audio(english_speech.samples * (0.4 / english_speech.peak()), english_speech.sample_rate)
    loud = Audio(quiet.samples * 2, quiet.sample_rate)
    a, b = profile_voice(quiet), profile_voice(loud)
    assert b.loudness_lufs - a.loudness_lufs == pytest.approx(20 * np.log10(2), abs=0.05)
    assert b.f0_median_hz == pytest.approx(a.f0_median_hz, rel=0.01) and b.gender == a.gender


def test_pauses_lower_speaking_rate_not_articulation_rate(english_speech, piper_profile):
    once = piper_profile
    gap = np.zeros(int(1.0 * english_speech.sample_rate), np.float32)
    twice = profile_voice(Audio(np.concatenate([english_speech.samples, gap, english_speech.samples]),
                                english_speech.sample_rate))
    assert twice.pause_ratio > once.pause_ratio + 0.05
    assert twice.articulation_rate == pytest.approx(once.articulation_rate, rel=0.1)
    assert twice.speaking_rate < once.speaking_rate


@pytest.mark.espeak
def test_whispered_speech_has_no_pitch_or_gender(espeak, piper):
    # eSpeak's own whisper (noise-excited) and Piper speech whispered by LPC resynthesis
    for audio in (espeak.synthesize(TEXT, "eng", voice=espeak.whisper_voice("eng")),
                  whisperize(piper.synthesize("The weather is lovely today, and we are going to the park.", "eng"))):
        profile = profile_voice(audio)
        assert profile.whispered and profile.speech_seconds > 1
        assert profile.gender is None and profile.gender_confidence is None
        assert profile.f0_median_hz is None and profile.jitter_percent is None
        assert profile.articulation_rate > 1  # pace is still measured


def test_estimate_gender_is_a_calibrated_logistic():
    assert estimate_gender(100.0) == ("male", pytest.approx(1.0, abs=0.01))
    assert estimate_gender(250.0) == ("female", pytest.approx(1.0, abs=0.01))
    boundary = np.sqrt(120.0 * 210.0)
    assert estimate_gender(boundary)[1] == pytest.approx(0.5, abs=0.01)
    # symmetric in semitones, and more sure the further from the boundary
    up, down = estimate_gender(boundary * 2 ** (2 / 12)), estimate_gender(boundary * 2 ** (-2 / 12))
    assert up[0] == "female" and down[0] == "male" and up[1] == pytest.approx(down[1])
    assert 0.5 < up[1] < estimate_gender(boundary * 2 ** (4 / 12))[1] < 1


def test_silent_empty_and_broken_audio_are_refused():
    with pytest.raises(AudioError, match="silent"):
        profile_voice(Audio(np.zeros(RATE), RATE))
    with pytest.raises(AudioError, match="empty"):
        profile_voice(Audio(np.zeros(0), RATE))
    with pytest.raises(AudioError, match="NaN"):
        profile_voice(Audio(np.full(RATE, np.nan), RATE))
    # A blip is not silence, but too little speech to measure: a profile of None values.
    t = np.arange(int(0.08 * RATE)) / RATE
    blip = profile_voice(padded(0.3 * np.sin(2 * np.pi * 200 * t), pad_s=1.0))
    assert blip.speech_seconds < 0.15 and blip.f0_median_hz is None and blip.gender is None
    assert blip.loudness_lufs is None and blip.to_dict()["jitter_percent"] is None


@pytest.mark.slow
@pytest.mark.espeak
def test_per_speaker_profiles_use_solo_turns(english_speech, piper_profile, espeak):
    rate = english_speech.sample_rate
    male = english_speech.samples
    female = espeak.synthesize(TEXT, "eng", voice="en-us+f3").resample(rate).samples
    gap = np.zeros(int(0.3 * rate), np.float32)
    audio = Audio(np.concatenate([male, gap, female, gap, male]), rate)
    m, f, g = len(male) / rate, len(female) / rate, len(gap) / rate
    b_start, b_end = m + g, m + g + f

    # Two turns of the man around the woman's: his pooled profile matches his voice alone.
    turns = [SpeakerTurn(0, m, "A"), SpeakerTurn(b_start, b_end, "B"), SpeakerTurn(b_end + g, audio.duration, "A")]
    profiles = profile_speakers(audio, Diarization("call", audio.duration, turns))
    alone = piper_profile
    assert list(profiles) == ["A", "B"]  # most talkative first
    assert profiles["A"].gender == "male" and profiles["B"].gender == "female"
    assert profiles["A"].speech_seconds == pytest.approx(2 * alone.speech_seconds, rel=0.1)
    # the silence between his turns is not his pausing
    assert profiles["A"].pause_ratio == pytest.approx(alone.pause_ratio, abs=0.05)
    assert profiles["A"].f0_median_hz == pytest.approx(alone.f0_median_hz, rel=0.05)

    # Her turn drawn over the second half of his: that stretch counts for nobody. C only ever
    # talks over A, so has no solo speech: None values, not an error.
    turns = [SpeakerTurn(0, m, "A"), SpeakerTurn(m / 2, b_end, "B"), SpeakerTurn(0.2, 0.6, "C")]
    profiles = profile_speakers(audio, Diarization("call", audio.duration, turns))
    assert profiles["B"].gender == "female" and profiles["B"].f0_p5_hz > 130  # none of his ~90 Hz
    assert profiles["A"].gender == "male" and profiles["A"].speech_seconds < 0.7 * alone.speech_seconds
    assert profiles["C"].speech_seconds == 0 and profiles["C"].gender is None and profiles["C"].f0_mean_hz is None
    silent = profile_speakers(Audio(np.zeros(rate * 2, np.float32), rate),
                              Diarization("quiet", 2.0, [SpeakerTurn(0, 2, "A")]))
    assert silent["A"].gender is None and silent["A"].loudness_lufs is None
