"""Reading and writing audio files, with one-line errors for every kind of bad input."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from malsori.audio.core import MAX_RATE, MIN_RATE, Audio
from malsori.errors import AudioError, OutputError
from malsori.files import atomic_path

# Formats soundfile writes; anything else is refused rather than silently written as WAV.
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
AUDIO_OUTPUT_SUFFIXES = tuple(_WRITE_FORMATS)


class AudioWarning(UserWarning):
    """The audio was read, but not all of it: a truncated or partly corrupt file."""


def _read_soundfile(source) -> Audio | None:
    import soundfile as sf

    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except Exception:  # libsndfile cannot read it: try the FFmpeg decoder next
        return None
    return Audio(data[:, 0] if data.shape[1] == 1 else data, int(rate))


def wav_declared_frames(head: bytes) -> tuple[int, int] | None:
    """(frames, rate) a RIFF/WAVE header promises, from its fmt and data chunks; None when the
    header does not say (not a WAV, or a streamed WAV whose sizes were never filled in)."""
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    order = "little" if head[:4] == b"RIFF" else "big"
    pos, block_align, rate = 12, None, None
    while pos + 8 <= len(head):
        tag, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], order)
        if tag == b"fmt " and pos + 20 <= len(head):
            rate = int.from_bytes(head[pos + 12:pos + 16], order)
            block_align = int.from_bytes(head[pos + 20:pos + 22], order)
        elif tag == b"data":
            if not block_align or not rate or size in (0, 0xFFFFFFFF):
                return None
            return size // block_align, rate
        pos += 8 + size + (size & 1)
    return None


def _check_complete(audio: Audio, name: str, declared_s: float | None, reason: str | None = None) -> None:
    """Warn when less audio was read than the file declares (or decoding stopped on bad data)."""
    if declared_s and audio.duration < declared_s - max(0.05, 0.01 * declared_s):
        warnings.warn(f"{name}: truncated file: its header promises {declared_s:.2f} s but only "
                      f"{audio.duration:.2f} s could be read; using {audio.duration:.2f} s", AudioWarning, stacklevel=3)
    elif reason:
        warnings.warn(f"{name}: {reason}; using the {audio.duration:.2f} s read before it", AudioWarning, stacklevel=3)


def _read_pyav(source, name: str) -> Audio | None:
    """Decode compressed formats (mp3, m4a/aac, opus in webm/mp4) through FFmpeg's libraries.
    Decoding that fails part way keeps what came before, with a warning."""
    import av

    chunks, failure = [], None
    try:
        with av.open(source, metadata_errors="ignore") as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                return None
            stream = streams[0]
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels or 1
            width = 2 if channels > 1 else 1
            declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
            resampler = av.AudioResampler(format="flt", layout="stereo" if channels > 1 else "mono", rate=rate)
            try:
                for frame in container.decode(stream):
                    chunks += [out.to_ndarray().reshape(-1, width) for out in resampler.resample(frame)]
            except Exception as exc:  # corrupt or missing data part way through
                failure = f"decoding stopped on bad data ({type(exc).__name__})"
            chunks += [out.to_ndarray().reshape(-1, width) for out in resampler.resample(None)]
    except Exception:
        return None
    if not chunks or not rate:
        return None
    data = np.concatenate(chunks)
    audio = Audio(data[:, 0] if data.shape[1] == 1 else data, int(rate))
    _check_complete(audio, name, declared, failure)
    return audio


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
    audio = _read_soundfile(opener())
    if audio is not None and audio.frames == 0:  # nothing decoded: FFmpeg's decoder may do better
        audio = _read_pyav(opener(), name) or audio
    elif audio is not None:
        # libsndfile reads a truncated WAV without a word: compare with what its header promises.
        if isinstance(source, (bytes, bytearray)):
            head = bytes(source[:1 << 16])
        else:
            with open(path, "rb") as fh:
                head = fh.read(1 << 16)
        declared = wav_declared_frames(head)
        if declared:
            _check_complete(audio, name, declared[0] / declared[1])
    else:
        audio = _read_pyav(opener(), name)
    if audio is None:
        raise AudioError(f"{name}: not a readable audio file (corrupt, truncated or unsupported format)")
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
