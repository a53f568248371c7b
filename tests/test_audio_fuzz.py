"""Bad audio files, made on purpose: truncated, with damaged headers, or random bytes, in every
format malsori reads. Loading each either gives valid audio or fails with one AudioError: never
another exception, and never a truncated file read without a warning."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import soundfile as sf

from malsori.audio import load_audio
from malsori.audio.io import AudioWarning, wav_declared_frames
from malsori.errors import AudioError

RATE = 16_000
SOUNDFILE_FORMATS = {  # suffix: (format, subtype)
    "pcm16.wav": ("WAV", "PCM_16"), "float.wav": ("WAV", "FLOAT"), "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"), "opus.ogg": ("OGG", "OPUS"), "mp3": ("MP3", "MPEG_LAYER_III"),
}
FFMPEG_FORMATS = {"m4a": "aac", "webm": "libopus"}
BUDGET_S = 25.0  # the whole fuzz run, all formats


def speechlike(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)


def encode(tmp_path, name: str) -> bytes:
    path = tmp_path / f"clean.{name}"
    if name in SOUNDFILE_FORMATS:
        fmt, subtype = SOUNDFILE_FORMATS[name]
        try:
            sf.write(str(path), speechlike(), RATE if subtype != "OPUS" else 48_000, format=fmt, subtype=subtype)
        except Exception:
            pytest.skip(f"this libsndfile cannot write {name}")
        return path.read_bytes()
    av = pytest.importorskip("av")
    rate = 48_000
    with av.open(str(path), "w") as container:
        try:
            stream = container.add_stream(FFMPEG_FORMATS[name], rate=rate)
        except Exception:
            pytest.skip(f"this FFmpeg build has no {FFMPEG_FORMATS[name]} encoder")
        stream.layout = "mono"
        samples = np.repeat(speechlike(), 3)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path.read_bytes()


def mutations(data: bytes, rng: np.random.Generator):
    """(label, bytes): truncations, damaged headers, damaged bodies, pure noise."""
    n = len(data)
    for cut in (1, 4, 12, 44, 100, n // 3, n // 2, n - 1):
        yield f"cut at {cut}", data[:cut]
    for k in range(6):
        head = bytearray(data)
        for pos in rng.integers(0, min(n, 64), size=3):
            head[pos] = int(rng.integers(0, 256))
        yield f"header {k}", bytes(head)
    for k in range(4):
        body = bytearray(data)
        for pos in rng.integers(0, n, size=20):
            body[pos] = int(rng.integers(0, 256))
        yield f"body {k}", bytes(body)
    yield "noise", rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
    yield "header + noise", data[:64] + rng.integers(0, 256, size=4000, dtype=np.uint8).tobytes()


@pytest.mark.parametrize("name", [*SOUNDFILE_FORMATS, *FFMPEG_FORMATS])
def test_damaged_files_load_or_fail_with_one_audio_error(tmp_path, name):
    clean = encode(tmp_path, name)
    rng = np.random.default_rng(sum(map(ord, name)))
    deadline = time.monotonic() + BUDGET_S / (len(SOUNDFILE_FORMATS) + len(FFMPEG_FORMATS))
    tried = 0
    for label, data in mutations(clean, rng):
        if time.monotonic() > deadline and tried >= 8:
            break
        path = tmp_path / f"bad.{name}"
        path.write_bytes(data)
        for source in (path, data):  # files on disk and bytes (what the server receives)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AudioWarning)
                    audio = load_audio(source)
            except AudioError as exc:
                assert "\n" not in str(exc), (label, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - any other exception is the bug this test hunts
                pytest.fail(f"{name}, {label}: {type(exc).__name__}: {exc}")
            assert audio.frames > 0 and np.all(np.isfinite(audio.samples)), label
        tried += 1
    assert tried >= 8


@pytest.mark.parametrize("name", ["pcm16.wav", "flac"])
def test_a_truncated_file_is_read_with_a_warning_saying_how_much(tmp_path, name):
    clean = encode(tmp_path, name)
    path = tmp_path / f"cut.{name}"
    path.write_bytes(clean[:len(clean) // 3])
    with pytest.warns(AudioWarning, match=r"truncated file: its header promises 2\.00 s but only 0\.\d+ s"):
        audio = load_audio(path)
    assert 0.3 < audio.duration < 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        assert abs(load_audio(tmp_path / f"clean.{name}").duration - 2.0) < 0.01  # whole files: no warning


def test_wav_header_sizes_are_read_from_the_chunks(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(str(path), np.zeros((RATE, 2), np.float32), RATE, subtype="PCM_24")
    assert wav_declared_frames(path.read_bytes()[:4096]) == (RATE, RATE)
    assert wav_declared_frames(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert wav_declared_frames(b"fLaC" + bytes(40)) is None


def test_the_cli_warns_in_one_line_about_a_truncated_wav(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "cut.wav"
    path.write_bytes(encode(tmp_path, "pcm16.wav")[:30000])
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "voice", "analyze", str(path)],
                          capture_output=True, text=True, timeout=120)
    warning = [line for line in proc.stderr.splitlines() if "truncated" in line]
    assert warning == [f"malsori: warning: {path}: truncated file: its header promises 2.00 s but only 0.94 s "
                       "could be read; using 0.94 s"], proc.stderr
