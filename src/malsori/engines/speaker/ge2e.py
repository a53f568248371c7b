"""GE2E speaker encoder (Wan et al. 2018, "Generalized end-to-end loss for speaker
verification"): 40 mel bands -> 3-layer LSTM (256) -> linear -> ReLU -> unit vector.

The weights are Resemblyzer's ``pretrained.pt`` (Apache-2.0), which ships inside the
``resemblyzer`` wheel; malsori installs that wheel without its dependencies (librosa, webrtcvad)
and computes the features itself, as the model was trained: mel power spectra (not log) of
25 ms Hann frames every 10 ms at 16 kHz, on audio raised to -30 dBFS with long silences removed.
An utterance's embedding is the normalised mean over 1.6 s partials taken 1.3 times a second.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import AudioError

RATE = 16_000
N_FFT, HOP, N_MELS = 400, 160, 40
PARTIAL_FRAMES = 160  # 1.6 s
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0


class Ge2eEncoder:
    """``embed(audio) -> (256,) float32`` unit vector; ``similarity(a, b)`` is their cosine."""

    name = "ge2e"
    dimension = 256

    def __init__(self, weights: str | Path | None = None):
        from malsori.models.catalog import resolve

        self.weights = Path(weights) if weights else resolve("ge2e") / "pretrained.pt"
        self._model = None
        self._mel = mel_filterbank(RATE, N_FFT, N_MELS)

    def _load(self):
        if self._model is None:
            import torch

            lstm = torch.nn.LSTM(N_MELS, 256, 3, batch_first=True)
            linear = torch.nn.Linear(256, self.dimension)
            state = torch.load(self.weights, map_location="cpu")["model_state"]
            lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
            linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
            self._model = (lstm.eval(), linear.eval())
        return self._model

    def features(self, audio: Audio) -> np.ndarray:
        """(frames, 40) mel power spectra of the prepared waveform."""
        return self._mel_power(prepare(audio))

    def _mel_power(self, wav: np.ndarray) -> np.ndarray:
        if len(wav) <= N_FFT // 2:
            wav = np.pad(wav, (0, N_FFT // 2 + 1 - len(wav)))
        padded = np.pad(wav, N_FFT // 2, mode="reflect")  # centred frames, as librosa's default
        count = 1 + (len(padded) - N_FFT) // HOP
        frames = np.lib.stride_tricks.as_strided(
            padded, (count, N_FFT), (padded.strides[0] * HOP, padded.strides[0]), writeable=False)
        window = np.hanning(N_FFT + 1)[:-1]  # periodic Hann
        out = np.empty((count, N_MELS), np.float32)
        for a in range(0, count, 8192):  # in blocks: an hour's spectra at once would take gigabytes
            power = np.abs(np.fft.rfft(frames[a:a + 8192] * window, axis=1)) ** 2
            out[a:a + 8192] = power @ self._mel.T
        return out

    def embed(self, audio: Audio) -> np.ndarray:
        import torch

        mels = self.features(audio)
        batch = np.stack([_pad_rows(mels[s:s + PARTIAL_FRAMES], PARTIAL_FRAMES) for s in partial_starts(len(mels))])
        lstm, linear = self._load()
        with torch.inference_mode():
            _, (hidden, _) = lstm(torch.from_numpy(batch))
            partials = torch.relu(linear(hidden[-1]))
            partials = partials / partials.norm(dim=1, keepdim=True).clamp_min(1e-9)
        mean = partials.mean(0).numpy()
        return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)

    def embed_spans(self, audio: Audio, spans: list[tuple[float, float]]) -> np.ndarray:
        """(len(spans), 256) unit vectors, one per (start, end) span in seconds, for diarization.

        Features are computed once for the whole recording (silences kept: the spans come from a
        VAD). Each span is scaled to -30 dBFS, which for mel power spectra is a gain on its rows.
        Spans of 1.6 s or less are one partial each; longer ones average their partials.
        """
        import torch

        if not spans:
            return np.zeros((0, self.dimension), np.float32)
        # float32 throughout: an hour of audio is then 230 MB per copy rather than 460.
        wav = audio.to_mono().resample(RATE).samples.astype(np.float32, copy=False)
        mels = self._mel_power(wav)
        hops = len(wav) // HOP
        framed = wav[:hops * HOP].reshape(hops, HOP)
        hop_energy = np.append(np.einsum("ij,ij->i", framed, framed, dtype=np.float64) / HOP, 0.0)
        rows, owners = [], []
        for i, (start, end) in enumerate(spans):
            a, b = int(start * RATE / HOP), max(int(start * RATE / HOP) + 1, int(end * RATE / HOP))
            span = mels[a:b]
            rms_dbfs = 10 * np.log10(max(float(hop_energy[a:b].mean()) if a < len(hop_energy) else 0.0, 1e-10))
            gain = 10 ** ((TARGET_DBFS - rms_dbfs) / 10)  # power domain
            for s in partial_starts(len(span)):
                rows.append((span[s:s + PARTIAL_FRAMES] * gain).astype(np.float32))
                owners.append(i)
        lstm, linear = self._load()
        partials = np.zeros((len(rows), self.dimension), np.float32)
        # Equal lengths go through the LSTM together; short spans are run at their own length.
        by_length: dict[int, list[int]] = {}
        for k, r in enumerate(rows):
            by_length.setdefault(len(r), []).append(k)
        with torch.inference_mode():
            for idx in by_length.values():
                _, (hidden, _) = lstm(torch.from_numpy(np.stack([rows[k] for k in idx])))
                out = torch.relu(linear(hidden[-1]))
                partials[idx] = (out / out.norm(dim=1, keepdim=True).clamp_min(1e-9)).numpy()
        sums = np.zeros((len(spans), self.dimension), np.float32)
        np.add.at(sums, np.array(owners), partials)
        return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)

    def similarity(self, a: Audio | np.ndarray, b: Audio | np.ndarray) -> float:
        ea = a if isinstance(a, np.ndarray) else self.embed(a)
        eb = b if isinstance(b, np.ndarray) else self.embed(b)
        return cosine(ea, eb)


@lru_cache(maxsize=1)
def shared_encoder() -> Ge2eEncoder:
    """One encoder per process (its model loads on first use), for pipelines that need one."""
    return Ge2eEncoder()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def prepare(audio: Audio) -> np.ndarray:
    """16 kHz mono, raised (never lowered) to -30 dBFS RMS, with silences over ~0.2 s removed."""
    wav = audio.to_mono().resample(RATE).samples.astype(np.float64)
    if len(wav) < HOP * 4 or not np.any(wav):
        raise AudioError("too little audio to embed a voice (need some speech)")
    rms_dbfs = 20 * np.log10(max(float(np.sqrt(np.mean(wav ** 2))), 1e-10))
    if rms_dbfs < TARGET_DBFS:
        wav = wav * 10 ** ((TARGET_DBFS - rms_dbfs) / 20)
    return trim_silences(wav)


def trim_silences(wav: np.ndarray, window: int = 480, floor_db: float = 35.0, smooth: int = 8,
                  keep: int = 6) -> np.ndarray:
    """Drop 30 ms windows more than ``floor_db`` below the loudest, after a moving average over
    ``smooth`` windows; silences up to ``keep`` windows around speech stay."""
    usable = len(wav) - len(wav) % window
    if usable < window * smooth:
        return wav
    energy = 10 * np.log10(np.mean(wav[:usable].reshape(-1, window) ** 2, axis=1) + 1e-12)
    voiced = (energy > energy.max() - floor_db).astype(float)
    voiced = np.round(_moving_sum(voiced, smooth) / smooth) > 0
    keep_mask = _moving_sum(voiced.astype(float), 2 * keep + 1) > 0
    kept = wav[:usable].reshape(-1, window)[keep_mask].ravel()
    return kept if len(kept) >= window * smooth else wav


def _moving_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving sum of the same length as ``values``, even when shorter than ``width``
    (numpy's ``mode="same"`` returns the longer of the two)."""
    start = (width - 1) // 2
    return np.convolve(values, np.ones(width), mode="full")[start:start + len(values)]


def partial_starts(n_frames: int) -> list[int]:
    step = int(round(RATE / PARTIALS_PER_S / HOP))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    coverage = (n_frames - starts[-1]) / PARTIAL_FRAMES
    if coverage < MIN_COVERAGE and len(starts) > 1:
        starts.pop()
    return starts


def _pad_rows(rows: np.ndarray, count: int) -> np.ndarray:
    return rows if len(rows) >= count else np.pad(rows, ((0, count - len(rows)), (0, 0)))


def mel_filterbank(rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular filters on Slaney's mel scale (linear below 1 kHz, logarithmic above), each
    normalised to unit area: the filterbank librosa builds by default."""
    fmax = fmax or rate / 2

    def hz_to_mel(f):
        f = np.asarray(f, float)
        return np.where(f < 1000, f * 3 / 200, 15 + 27 * np.log(np.maximum(f, 1e-9) / 1000) / np.log(6.4))

    def mel_to_hz(m):
        m = np.asarray(m, float)
        return np.where(m < 15, m * 200 / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    lower = (bins[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - bins[None, :]) / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]
