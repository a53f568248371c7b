"""Prosody analysis and transfer on speech the bundled voice makes (and Praat then changes into
a different 'speaker' whose pitch, pace, formants and loudness are known)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.prosody import analyze, loudness_lufs, transfer
from malsori.prosody.transfer import TEMPO_LIMITS, change_voice, whisperize


def tone(amplitude, rate, seconds=5.0, freq=997.0):
    t = np.arange(int(rate * seconds)) / rate
    return Audio((amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def test_loudness_follows_bs1770():
    # BS.1770's reference: a 997 Hz sine at -20 dBFS reads -23.0 LUFS (0 dBFS: -3.01).
    assert loudness_lufs(tone(0.1, 48000)) == pytest.approx(-23.01, abs=0.05)
    assert loudness_lufs(tone(0.01, 48000)) - loudness_lufs(tone(0.1, 48000)) == pytest.approx(-20, abs=0.05)
    # the relative gate ignores a long silence after the tone
    padded = Audio(np.concatenate([tone(0.1, 48000).samples, np.zeros(48000 * 10, np.float32)]), 48000)
    assert loudness_lufs(padded) == pytest.approx(-23.01, abs=0.2)  # blocks straddling the end
    assert np.isnan(loudness_lufs(tone(0.1, 16000, seconds=0.2)))


@pytest.fixture(scope="module")
def sentences(piper):
    target = piper.synthesize("I would like a cup of coffee, please.", "eng")
    spoken = piper.synthesize("The weather is lovely today, and we are going to the park.", "eng")
    # Another 'speaker': an octave-ish higher, wider range, larger formant scale, faster, quieter.
    # A formant scale of 1.2: at 1.12 the measured ratio came out between 1.026 and 1.118 from run
    # to run (Piper synthesises at random), at 1.2 between 1.13 and 1.14.
    other = change_voice(spoken, analyze(spoken), 1.2, 190.0, 1.5, 0.65)
    return target, spoken, Audio(other.samples * 0.3, other.sample_rate)


def test_analysis_finds_pauses_voicing_and_whisper(sentences):
    target, spoken, _ = sentences
    gap = np.zeros(int(0.6 * spoken.sample_rate), np.float32)
    with_pause = Audio(np.concatenate([spoken.samples, gap, spoken.samples]), spoken.sample_rate)
    prosody = analyze(with_pause)
    assert any(abs(a - spoken.duration) < 0.4 and b - a > 0.5 for a, b in prosody.pauses)
    assert not prosody.whispered and prosody.voiced_fraction > 0.3
    assert 2.5 < prosody.rate < 7.0  # syllables a second of read English
    assert 70 < prosody.summary()["f0_median_hz"] < 140  # the bundled voice is a low male voice
    whispered = analyze(whisperize(spoken))
    assert whispered.whispered and whispered.voiced_fraction < 0.25


def test_transfer_carries_pitch_pace_loudness_and_formants(sentences):
    target, spoken, other = sentences
    src = analyze(other)
    out, report = transfer(other, target)
    got = analyze(out)
    assert set(report.applied) >= {"rate", "pitch", "voice", "loudness"} and not report.warnings
    assert np.nanmedian(got.f0) == pytest.approx(np.nanmedian(src.f0), rel=0.06)
    assert np.nanmedian(analyze(target).f0) < 0.7 * np.nanmedian(got.f0)
    # The pace follows the measured rates (Piper's synthesis is random: the two sentences' rates,
    # and so the factor, vary from run to run).
    tempo = np.clip(analyze(target).rate / src.rate, *TEMPO_LIMITS)
    assert report.duration_factor == pytest.approx(tempo, rel=0.02)
    assert out.duration == pytest.approx(target.duration * report.duration_factor, rel=0.05)
    assert got.loudness_lufs == pytest.approx(src.loudness_lufs, abs=1.0)
    assert report.formant_ratio > 1.03


def test_whisper_fit_duration_and_degenerate_sources(sentences):
    target, spoken, _ = sentences
    out, report = transfer(whisperize(spoken), target)
    assert report.whispered and analyze(out).whispered
    out, report = transfer(spoken, target, duration=3.0)
    assert out.duration == pytest.approx(3.0, abs=0.05) and "duration" in report.applied
    blip = Audio(spoken.samples[: spoken.sample_rate // 10], spoken.sample_rate)
    out, report = transfer(blip, target)
    assert report.warnings and out.peak() > 0.05 and out.duration == pytest.approx(target.duration, abs=0.01)
    silent = Audio(np.zeros(target.frames, np.float32), target.sample_rate)
    out, report = transfer(target, silent)
    assert report.warnings and out is silent


def test_voice_transfer_cli(sentences, tmp_path):
    from malsori.audio import save_audio

    target, _, other = sentences
    save_audio(tmp_path / "source.wav", other)
    save_audio(tmp_path / "target.wav", target)
    cmd = [sys.executable, "-m", "malsori.cli", "voice", "transfer", str(tmp_path / "source.wav"),
           str(tmp_path / "target.wav"), "-o", str(tmp_path / "out.wav"), "--fit-duration"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "duration" in report["applied"] and report["pitch_median_hz"] > 150
    from malsori.audio import load_audio

    assert load_audio(tmp_path / "out.wav").duration == pytest.approx(other.duration, abs=0.05)
    cmd[5] = str(tmp_path / "missing.wav")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1
