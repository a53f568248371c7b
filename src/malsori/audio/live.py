"""Live audio: 16-bit PCM arriving in pieces (a pipe, a microphone, a WebSocket) turned into
16 kHz float32 chunks for the streaming pipeline."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
from typing import BinaryIO, Iterator

import numpy as np

from malsori.audio.core import MAX_RATE, MIN_RATE
from malsori.errors import AudioError

RATE = 16_000

# Recorders tried in order for `malsori stream mic`; each writes raw s16le mono at {rate} to stdout.
RECORDERS = (
    "arecord -q -t raw -f S16_LE -c 1 -r {rate}",
    "parec --raw --format=s16le --channels=1 --rate={rate}",
    "rec -q -t raw -e signed -b 16 -c 1 -r {rate} -",
    "ffmpeg -loglevel error -f pulse -i default -ac 1 -ar {rate} -f s16le -",
)


class PcmDecoder:
    """s16le bytes at any rate in, 16 kHz float32 out. The resampler keeps its state across
    pieces, so piece boundaries leave no clicks (resampling each piece alone would)."""

    def __init__(self, sample_rate: int):
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise AudioError(f"sample rate {sample_rate} Hz is outside {MIN_RATE}..{MAX_RATE}")
        self.sample_rate = sample_rate
        self._stream = None
        if sample_rate != RATE:
            import soxr

            self._stream = soxr.ResampleStream(sample_rate, RATE, 1, dtype="float32", quality="HQ")

    def feed(self, data: bytes, last: bool = False) -> np.ndarray:
        samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=last)


def pcm_chunks(stream: BinaryIO, sample_rate: int = RATE, chunk_s: float = 0.32) -> Iterator[np.ndarray]:
    """Read raw s16le mono PCM from ``stream`` until it ends, ``chunk_s`` of audio at a time."""
    decoder = PcmDecoder(sample_rate)
    size = 2 * max(1, int(sample_rate * chunk_s))
    pending = b""
    while True:
        data = stream.read(size - len(pending))
        if not data:
            break
        pending += data
        if len(pending) >= size:
            yield decoder.feed(pending)
            pending = b""
    tail = decoder.feed(pending[: len(pending) // 2 * 2], last=True)
    if len(tail):
        yield tail


def recorder_command(command: str | None = None, sample_rate: int = RATE) -> list[str]:
    """The microphone recorder to run: ``command`` when given, else the first one installed."""
    if command:
        return shlex.split(command)
    for template in RECORDERS:
        argv = shlex.split(template.format(rate=sample_rate))
        if shutil.which(argv[0]):
            return argv
    raise AudioError("no microphone recorder found: install alsa-utils (arecord), pulseaudio-utils (parec) or "
                     "sox, or pass --mic-command")


@contextlib.contextmanager
def microphone(command: str | None = None, sample_rate: int = RATE, chunk_s: float = 0.32):
    """Yield live 16 kHz chunks from a recorder process; the recorder stops when the block ends."""
    argv = recorder_command(command, sample_rate)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise AudioError(f"cannot start the recorder {argv[0]}: {exc.strerror or exc}") from None
    try:
        yield _recorded(proc, sample_rate, chunk_s)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _recorded(proc: subprocess.Popen, sample_rate: int, chunk_s: float) -> Iterator[np.ndarray]:
    received = 0
    for chunk in pcm_chunks(proc.stdout, sample_rate, chunk_s):
        received += len(chunk)
        yield chunk
    if proc.wait() != 0 and received == 0:
        message = (proc.stderr.read() or b"").decode(errors="replace").strip().splitlines()
        raise AudioError(f"the recorder {proc.args[0]} failed: {message[-1] if message else f'exit {proc.returncode}'}")
