"""Reading and writing audio files, with one-line errors for every kind of bad input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from malsori.audio.core import MAX_RATE, MIN_RATE, Audio
from malsori.errors import AudioError, OutputError
from malsori.files import atomic_path

# Formats soundfile writes; anything else is refused rather than silently written as WAV.
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
AUDIO_OUTPUT_SUFFIXES = tuple(_WRITE_FORMATS)


def _read_soundfile(source) -> Audio | None:
    import soundfile as sf

    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except Exception:  # libsndfile cannot read it: try the FFmpeg decoder next
        return None
    return Audio(data[:, 0] if data.shape[1] == 1 else data, int(rate))


def _read_pyav(source) -> Audio | None:
    """Decode compressed formats (mp3, m4a/aac, opus in webm/mp4) through FFmpeg's libraries."""
    import av

    try:
        with av.open(source, metadata_errors="ignore") as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                return None
            stream = streams[0]
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels or 1
            resampler = av.AudioResampler(format="flt", layout="stereo" if channels > 1 else "mono", rate=rate)
            chunks = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1, 2 if channels > 1 else 1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, 2 if channels > 1 else 1))
    except Exception:
        return None
    if not chunks or not rate:
        return Audio(np.zeros(0, np.float32), int(rate or 16000))
    data = np.concatenate(chunks)
    return Audio(data[:, 0] if data.shape[1] == 1 else data, int(rate))


def load_audio(source: str | os.PathLike | bytes, sample_rate: int | None = None, mono: bool = True) -> Audio:
    """Load any common audio file (wav, flac, ogg/opus, mp3, m4a) or its bytes.

    Returns validated float32 audio, mixed to mono and resampled when asked. Raises AudioError with
    a one-line reason for missing, unreadable, empty, non-finite or absurd-rate input.
    """
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    if isinstance(source, (bytes, bytearray)):
        opener = lambda: io.BytesIO(source)  # noqa: E731 - each decoder needs a fresh stream
    else:
        path = Path(source)
        if not path.exists():
            raise AudioError(f"{name}: no such file")
        if path.is_dir():
            raise AudioError(f"{name}: is a directory, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(f"{name}: empty file")
        opener = lambda: str(path)  # noqa: E731
    audio = _read_soundfile(opener()) or _read_pyav(opener())
    if audio is None:
        raise AudioError(f"{name}: not a readable audio file (corrupt or unsupported format)")
    validate(audio, name)
    if mono:
        audio = audio.to_mono()
    if sample_rate:
        audio = audio.resample(sample_rate)
    return audio


def validate(audio: Audio, name: str = "audio") -> None:
    if audio.samples.ndim == 2 and audio.samples.shape[1] == 0:
        raise AudioError(f"{name}: audio has no channels")
    if not MIN_RATE <= audio.sample_rate <= MAX_RATE:
        raise AudioError(f"{name}: sample rate {audio.sample_rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz")
    if audio.frames == 0:
        raise AudioError(f"{name}: audio is empty (0 samples)")
    if not np.all(np.isfinite(audio.samples)):
        raise AudioError(f"{name}: audio contains NaN or infinite samples")


def save_audio(path: str | os.PathLike, audio: Audio) -> Path:
    """Write audio atomically; the format follows the suffix (.wav, .flac, .ogg)."""
    import soundfile as sf

    target = Path(path)
    fmt = _WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise OutputError(f"cannot write {target}: use a .wav, .flac or .ogg file name")
    with atomic_path(target) as tmp:
        samples = np.clip(audio.samples, -1.0, 1.0)
        subtype = "PCM_16" if fmt != "OGG" else "VORBIS"
        sf.write(str(tmp), samples, audio.sample_rate, format=fmt, subtype=subtype)
    return target
