import numpy as np
import pytest
import soundfile as sf

from malsori.audio import Audio, load_audio, save_audio
from malsori.errors import AudioError, OutputError


def tone(seconds=1.0, rate=16000, freq=440.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_round_trip_through_written_formats(tmp_path, suffix):
    path = save_audio(tmp_path / f"a{suffix}", Audio(tone(0.5, 22050), 22050))
    audio = load_audio(path)
    assert audio.sample_rate == 22050
    assert abs(audio.duration - 0.5) < 0.02
    assert 0.2 < audio.peak() < 0.4


@pytest.mark.parametrize("codec,suffix", [("mp3", ".mp3"), ("aac", ".m4a"), ("libopus", ".opus")])
def test_compressed_formats_decode_through_ffmpeg(tmp_path, codec, suffix):
    av = pytest.importorskip("av")
    path = tmp_path / f"a{suffix}"
    rate = 48000
    samples = tone(1.0, rate)
    with av.open(str(path), "w") as container:
        try:
            stream = container.add_stream(codec, rate=rate)
        except Exception:
            pytest.skip(f"this FFmpeg build has no {codec} encoder")
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    audio = load_audio(path, sample_rate=16000)
    assert audio.sample_rate == 16000
    assert 0.9 < audio.duration < 1.2
    assert audio.peak() > 0.1


def test_stereo_is_mixed_to_mono_and_resampled(tmp_path):
    sf.write(tmp_path / "s.wav", tone(1.0, 44100, channels=2), 44100)
    audio = load_audio(tmp_path / "s.wav", sample_rate=16000)
    assert audio.channels == 1 and audio.sample_rate == 16000
    assert abs(audio.frames - 16000) <= 2
    stereo = load_audio(tmp_path / "s.wav", mono=False)
    assert stereo.channels == 2


def test_bytes_input(tmp_path):
    sf.write(tmp_path / "b.wav", tone(0.25), 16000)
    assert load_audio((tmp_path / "b.wav").read_bytes()).frames == 4000


@pytest.mark.parametrize("case", ["missing", "empty", "text", "corrupt", "directory"])
def test_unreadable_input_is_one_line_error(tmp_path, case):
    path = tmp_path / "x.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, I am not audio\n" * 50)
    elif case == "corrupt":
        sf.write(path, tone(1.0), 16000)
        data = bytearray(path.read_bytes())
        path.write_bytes(b"RIFX" + bytes(data[4:40]) + bytes(reversed(data[40:200])))
    elif case == "directory":
        path.mkdir()
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert "\n" not in str(err.value) and "x.wav" in str(err.value)


def test_non_finite_samples_rejected(tmp_path):
    samples = tone(0.5)
    samples[100] = np.nan
    sf.write(tmp_path / "nan.wav", samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


def test_zero_length_and_absurd_rate_rejected(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "zero.wav")
    sf.write(tmp_path / "slow.wav", tone(0.1, 8000), 200)
    with pytest.raises(AudioError, match="sample rate"):
        load_audio(tmp_path / "slow.wav")


def test_save_is_atomic_and_refuses_unknown_suffix(tmp_path):
    with pytest.raises(OutputError):
        save_audio(tmp_path / "out.xyz", Audio(tone(0.1), 16000))
    with pytest.raises(OutputError):
        save_audio(tmp_path / "missing-dir" / "out.wav", Audio(tone(0.1), 16000))
    assert list(tmp_path.iterdir()) == []
