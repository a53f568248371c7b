"""Voice profiles on voices whose make-up is known: eSpeak NG's male and female variants and its
pitch setting, the bundled Piper voice (a low male voice) and that voice re-pitched with its
formants kept (a man raising his voice), tones and pulse trains with exact or jittered periods,
and speakers pooled from a hand-made diarization."""

import json

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.errors import AudioError
from malsori.pipelines.profile import (DECIDE_AT, FEMALE_SPACING_HZ, MALE_SPACING_HZ, estimate_gender,
                                       gender_log_odds, profile_speakers, profile_voice)
from malsori.prosody.analysis import analyze
from malsori.prosody.transfer import change_voice, whisperize
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
    return 1 / (1 + np.exp(-gender_log_odds(profile.f0_median_hz, profile.formant_spacing_hz)))


def repitch(audio: Audio, median_hz: float) -> Audio:
    """PSOLA to a new median F0 with the formants kept: the same vocal tract, a higher voice."""
    return change_voice(audio, analyze(audio), 1.0, median_hz, 1.0, 1.0)


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
    assert female.formant_spacing_hz > 1.1 * male.formant_spacing_hz  # f3's formants are scaled up
    assert male.f0_p5_hz < male.f0_median_hz < male.f0_p95_hz
    assert 2 < male.f0_range_semitones < 12  # read sentence intonation, not an octave error
    # eSpeak's pitch setting moves the same voice up the scale, and the gender answer with it
    low = profile_voice(EspeakSynthesizer(pitch=20).synthesize("I would like a cup of coffee.", "eng", voice="en-us"))
    high = profile_voice(EspeakSynthesizer(pitch=99).synthesize("I would like a cup of coffee.", "eng", voice="en-us"))
    assert high.f0_median_hz > 1.3 * low.f0_median_hz
    assert p_female(high) > p_female(low) and low.gender == "male"
    assert high.gender != "female"  # a man's formants: higher pitch alone does not make a woman


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
                        "shimmer_percent", "hnr_db", "gender_confidence", "speech_seconds",
                        "formant_spacing_hz"}
    assert 900 < profile.formant_spacing_hz < 1075  # a man's vocal tract


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
    gap = np.zeros(int(3.0 * english_speech.sample_rate), np.float32)
    twice = profile_voice(Audio(np.concatenate([english_speech.samples, gap, english_speech.samples]),
                                english_speech.sample_rate))
    assert twice.pause_ratio > once.pause_ratio + 0.15
    # One syllable of the sentence's 16 is 6%, and Praat's voicing of weak frames depends on the
    # whole recording (up to 3 syllables apart over 30 Piper renderings), hence 15% ...
    assert twice.articulation_rate == pytest.approx(once.articulation_rate, rel=0.15)
    # ... while a 3 s pause takes a quarter off the speaking rate.
    assert twice.speaking_rate < 0.85 * once.speaking_rate


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


def test_raised_male_voice_is_not_called_female(english_speech, piper_profile):
    # The failure this estimate fixes: a man speaking at 230 Hz (JFK's inaugural address measures
    # 237 Hz) was "female" with confidence 1.0 from F0 alone. His formants say otherwise.
    raised = profile_voice(repitch(english_speech, 230.0))
    assert raised.f0_median_hz > 200 and raised.f0_median_hz > 2 * piper_profile.f0_median_hz
    assert raised.formant_spacing_hz == pytest.approx(piper_profile.formant_spacing_hz, rel=0.03)
    assert raised.gender in ("male", "unknown")
    assert p_female(raised) < 0.5


def test_too_little_voicing_or_narrow_band_leaves_gender_unknown(english_speech, piper_profile):
    # 0.3 s of voicing: F0 is measured, but formants over so few frames would be one vowel's.
    short = profile_voice(padded(pulse_train([1 / 220] * 66)))
    assert short.f0_median_hz == pytest.approx(220, rel=0.02) and short.formant_spacing_hz is None
    assert short.gender == "unknown" and short.gender_confidence is None
    # Telephone band (8 kHz): no F4, no formant cue. A low voice is still a man's; a high one may
    # be a man raising his voice, so it is not called female on F0 alone.
    low = profile_voice(english_speech.resample(8000))
    high = profile_voice(repitch(english_speech, 230.0).resample(8000))
    assert low.formant_spacing_hz is None and high.formant_spacing_hz is None
    assert low.gender == "male" and high.gender == "unknown" and high.gender_confidence is None


def test_estimate_gender_is_a_calibrated_logistic():
    boundary = np.sqrt(120.0 * 210.0)  # where F0 alone says nothing
    assert gender_log_odds(boundary) == pytest.approx(0.0, abs=1e-9)
    assert estimate_gender(100.0) == ("male", pytest.approx(0.99, abs=0.005))  # one cue: at most 0.99
    assert estimate_gender(250.0) == ("unknown", None)  # high F0 alone: maybe a man's raised voice
    assert estimate_gender(boundary, MALE_SPACING_HZ)[0] == "male"
    # formants decide between equal F0s, and a man's formants overrule a raised voice
    assert estimate_gender(250.0, 1200.0)[0] == "female" and estimate_gender(250.0, 1200.0)[1] > 0.98
    assert estimate_gender(237.0, MALE_SPACING_HZ)[0] == "male"
    # symmetric in log spacing about the midpoint, more sure the further from it
    middle = np.sqrt(MALE_SPACING_HZ * FEMALE_SPACING_HZ)
    up, down = gender_log_odds(boundary, middle * 1.03), gender_log_odds(boundary, middle / 1.03)
    assert up == pytest.approx(-down) and 0 < up < gender_log_odds(boundary, middle * 1.05)
    # the confidence is the posterior of the answer given, never under DECIDE_AT
    for f0 in (90.0, 140.0, 160.0, 200.0, 260.0):
        for spacing in (None, 950.0, 1050.0, 1075.0, 1100.0, 1200.0):
            answer, confidence = estimate_gender(f0, spacing)
            posterior = 1 / (1 + np.exp(-abs(gender_log_odds(f0, spacing))))
            if answer == "unknown":
                assert confidence is None and posterior < DECIDE_AT
            else:
                assert confidence == pytest.approx(posterior) and DECIDE_AT <= confidence <= 1
                assert (answer == "female") == (gender_log_odds(f0, spacing) > 0)


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
