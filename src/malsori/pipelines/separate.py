"""Speaker separation: one track per voice, three ways, chosen by what the user has.

* ``extract_speaker``: one known voice (an enrolment recording) out of a mixture: a network
  trained for extraction (``ConditionedExtractor``), blind separation then the source nearest the
  enrolment (``PickExtractor``, the default, on the bundled separator; weak, see
  ``_default_extractor``), or VoiceFilter-Lite.
* ``separate_by_diarization``: no model at all; each speaker's turns kept, the rest muted. Cheap
  and artefact-free, but overlapped speech stays mixed (it goes to every speaker talking then).
* ``separate_blind``: a separation network from a model directory, such as one trained by
  ``malsori separate train`` (``malsori.engines.separation``) or converted from SpeechBrain or
  Asteroid by ``malsori separate import``; by default the Conv-TasNet shipped in
  ``malsori/models/separators`` (trained here on permissively licensed speech).

Model directory contract (an ONNX or TorchScript export of any separator)::

    separator.json   {"sample_rate": 8000 or 16000, "name": ..., "task": "separation" or "extraction",
                      "pad_multiple": n, "min_samples": n, "sha256": {file: digest}}  (all but the rate optional)
    separator.onnx   or  separator.pt (TorchScript)
                     input: mixture float32 [1, T] at sample_rate (padded so that T - min_samples is a
                     multiple of pad_multiple) [, speaker float32 [1, 192] for extraction];
                     output: sources [1, S, T']

This keeps asteroid/SpeechBrain (torchaudio, Lightning and ~20 other packages) out of the install:
their Conv-TasNet or SepFormer export to it with ``torch.onnx.export``.
Separators trained on SI-SNR give each source an arbitrary gain and sign, so every source is
rescaled by its least-squares projection onto the mixture (its share of the mixture).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from malsori.audio import Audio, save_audio
from malsori.engines.speaker.voicefilter import fit_length
from malsori.errors import AudioError, ModelError, OutputError
from malsori.protocols import Diarization

CHUNK_S = 8.0  # seconds a separation network sees at once (memory bound for long recordings)
FADE_S = 0.015  # long enough to avoid clicks at a cut, short enough not to leak the neighbour's syllable
BLIND_RATES = {8000, 16000}
CONFIG = "separator.json"


@dataclass
class SeparationResult:
    """Tracks by label (speaker, ``target`` or ``source1``...) and the method that made them."""

    tracks: dict[str, Audio] = field(default_factory=dict)
    method: str = ""

    def save(self, directory: str | Path, stem: str, suffix: str = ".wav") -> list[Path]:
        """Write ``<stem>.<label><suffix>`` per track (atomically); returns the paths."""
        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write into {out}: {exc.strerror or exc}") from None
        return [save_audio(out / f"{stem}.{_safe(label)}{suffix}", audio) for label, audio in self.tracks.items()]


def extract_speaker(mixture: Audio, enrollment: Audio, extractor=None) -> Audio:
    """The enrolled voice from ``mixture`` (same rate and length)."""
    if extractor is None:
        extractor = _default_extractor()
    return extractor.extract(mixture, enrollment)


@lru_cache(maxsize=1)
def _default_extractor():
    """The bundled separator with a CAM++ pick. Measured on held-out speakers (docs/benchmarks.md)
    it is weak either way: +0.9 dB on English mixtures at 0 dB but -2.3 dB on Korean ones, where
    VoiceFilter-Lite's shipped mask model leaves the mixture almost as it is (and its self-check
    refuses it as untrained). Kept so that extraction runs after ``make demo``; a stronger
    separator (``--model-dir``) is what makes it useful."""
    return PickExtractor(BlindSeparator())


def separate_by_diarization(mixture: Audio, diarization: Diarization, fade: float = FADE_S) -> dict[str, Audio]:
    """One track per speaker (most talkative first), as long as the mixture: the speaker's turns at
    full level, everything else silent, with ``fade``-second ramps just outside each turn."""
    if mixture.frames == 0:
        raise AudioError("the mixture is empty")
    times = np.arange(mixture.frames) / mixture.sample_rate
    tracks = {}
    for speaker in diarization.speakers:
        gain = turn_gain(times, [(t.start, t.end) for t in diarization.of(speaker)], fade)
        samples = mixture.samples * (gain if mixture.samples.ndim == 1 else gain[:, None])
        tracks[speaker] = Audio(samples, mixture.sample_rate)
    return tracks


def turn_gain(times: np.ndarray, spans: list[tuple[float, float]], fade: float) -> np.ndarray:
    """1 inside the spans, 0 away from them, linear ramps of ``fade`` s on their outer edges."""
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, a), b) for a, b in spans if b > a):
        # Spans closer than two ramps are joined, so the knots below stay in increasing order.
        if merged and start <= merged[-1][1] + 2 * fade:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return np.zeros(len(times), np.float32)
    knots_x, knots_y = [], []
    for start, end in merged:
        knots_x += [start - fade, start, end, end + fade]
        knots_y += [0.0, 1.0, 1.0, 0.0]
    return np.interp(times, knots_x, knots_y, left=0.0, right=0.0).astype(np.float32)


class BlindSeparator:
    """A separation network from a checkpoint directory (see the module docstring). Long
    recordings go through in overlapping chunks of ``chunk_s`` seconds, each chunk's sources put
    in the order that best continues the previous chunk's, so memory stays bounded."""

    def __init__(self, model_dir: str | Path | None = None, chunk_s: float | None = None):
        """``model_dir``: a folder, the name of an imported or bundled separator, or None for the
        default. ``chunk_s``: seconds per chunk; by default the card's ``chunk_s`` (a model does
        best near the length it trained on) or 8."""
        self.model_dir = _find(model_dir)
        config_path = self.model_dir / CONFIG
        if not config_path.is_file():
            raise ModelError(f"{self.model_dir} has no {CONFIG} (it gives the model's sample_rate)")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            self.sample_rate = int(config["sample_rate"])
            self.pad_multiple = int(config.get("pad_multiple") or 1)
            self.min_samples = int(config.get("min_samples") or 1)
            chunk_s = float(chunk_s or config.get("chunk_s") or CHUNK_S)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ModelError(f"{config_path}: not JSON with an integer sample_rate (and numbers for "
                             "pad_multiple, min_samples, chunk_s)") from None
        if self.sample_rate not in BLIND_RATES:
            raise ModelError(f"{config_path}: sample_rate {self.sample_rate} is not 8000 or 16000")
        self.name = str(config.get("name") or self.model_dir.name)
        self.task = str(config.get("task") or "separation")
        found = [self.model_dir / f for f in ("separator.onnx", "separator.pt") if (self.model_dir / f).is_file()]
        if not found:
            raise ModelError(f"{self.model_dir} has neither separator.onnx nor separator.pt")
        self.path = found[0]
        _check_sha256(self.model_dir, config.get("sha256") or {})
        self.chunk = max(int(chunk_s * self.sample_rate) // 2 * 2, 2 * self.min_samples)
        self._run = None

    def _load(self):
        if self._run is None:
            self._run = _load_onnx(self.path) if self.path.suffix == ".onnx" else _load_torchscript(self.path)
        return self._run

    def separate(self, mixture: Audio, speaker: np.ndarray | None = None, progress=None) -> list[Audio]:
        """Sources at the mixture's rate and length, each scaled to its share of the mixture.
        ``speaker``: the enrolment embedding an extraction model is conditioned on.
        ``progress(done, total)`` is called after each chunk."""
        if mixture.frames == 0:
            raise AudioError("the mixture is empty")
        if (speaker is None) != (self.task != "extraction"):
            raise ModelError(f"{self.name} is a {self.task} model: "
                             + ("it needs an enrolment" if speaker is None else "it takes no enrolment"))
        mono = mixture.to_mono().resample(self.sample_rate).samples.astype(np.float32)
        if not np.any(mono):
            raise AudioError("the mixture is silent")
        sources = self._chunked(mono, speaker, progress)
        out = []
        for source in sources:
            source = source.astype(np.float64)
            energy = float(np.dot(source, source))
            scale = float(np.dot(source, mono)) / energy if energy > 0 else 0.0
            back = Audio((source * scale).astype(np.float32), self.sample_rate).resample(mixture.sample_rate)
            out.append(Audio(fit_length(back.samples, mixture.frames), mixture.sample_rate))
        return out

    def _once(self, samples: np.ndarray, speaker: np.ndarray | None) -> np.ndarray:
        """(sources, len(samples)) from one run of the network, padded to a length it tiles."""
        length = len(samples)
        target = max(length, self.min_samples)
        target += -(target - self.min_samples) % self.pad_multiple
        padded = np.pad(samples, (0, target - length))[None, :]
        inputs = (padded,) if speaker is None else (padded, speaker[None, :].astype(np.float32))
        sources = np.asarray(self._load()(*inputs), dtype=np.float32)
        if sources.ndim == 3 and sources.shape[0] == 1:
            sources = sources[0]
        if sources.ndim != 2 or sources.shape[0] < 1:
            raise ModelError(f"{self.path} returned shape {sources.shape}, not [1, sources, samples]")
        return np.stack([fit_length(s, length) for s in sources])

    def _chunked(self, samples: np.ndarray, speaker: np.ndarray | None, progress) -> np.ndarray:
        """Half-overlapping Hann-windowed chunks, added back; each chunk's sources reordered to
        agree best (correlation over the shared half) with the previous chunk's."""
        if len(samples) <= self.chunk:
            out = self._once(samples, speaker)
            if progress:
                progress(1, 1)
            return out
        hop = self.chunk // 2
        padded = np.pad(samples, (hop, hop + (-len(samples) % hop)))
        starts = range(0, len(padded) - self.chunk + 1, hop)
        window = np.hanning(self.chunk + 1)[:-1].astype(np.float32)  # periodic: halves sum to 1
        total, previous = None, None
        for done, start in enumerate(starts, 1):
            sources = self._once(padded[start:start + self.chunk], speaker)
            if previous is not None:
                sources = sources[best_order(previous[:, hop:], sources[:, :hop])]
            if total is None:
                total = np.zeros((len(sources), len(padded)), np.float32)
            total[:, start:start + self.chunk] += sources * window
            previous = sources
            if progress:
                progress(done, len(starts))
        return total[:, hop:hop + len(samples)]


def _find(model_dir: str | Path | None) -> Path:
    """A folder, the name of a separator imported with ``malsori models import`` or shipped with
    malsori, or (None) the default one."""
    from malsori.models.catalog import bundled_separators_dir, default_separator_dir, separators_dir

    if model_dir is None or str(model_dir) == "":
        return default_separator_dir()
    path = Path(model_dir)
    if path.is_dir():
        return path
    for home in (separators_dir(), bundled_separators_dir()):
        if path.name == str(model_dir) and (home / path.name).is_dir():
            return home / path.name
    raise ModelError(f"separation model directory not found: {path} (nor an imported separator of that name)")


def best_order(before: np.ndarray, after: np.ndarray) -> list[int]:
    """The order of ``after``'s rows that correlates best, row by row, with ``before``'s."""
    import itertools

    def unit(x):
        x = x - x.mean(1, keepdims=True)
        return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)

    similarity = unit(before) @ unit(after).T
    orders = itertools.permutations(range(len(after)))
    return list(max(orders, key=lambda order: sum(similarity[i, j] for i, j in enumerate(order))))


def _check_sha256(model_dir: Path, expected: dict) -> None:
    """Refuse files whose sha256 differs from the card's (a tampered or half-copied model)."""
    from malsori.models.catalog import sha256_file

    for name, digest in expected.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"{model_dir}: {name} is missing")
        if sha256_file(path) != digest:
            raise ModelError(f"{path}: sha256 differs from {CONFIG}'s (a damaged or altered file)")


def _load_onnx(path: Path):
    from onnxruntime import InferenceSession

    try:
        session = InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load {path}: {str(exc).splitlines()[0]}") from None
    names = [i.name for i in session.get_inputs()]
    return lambda *inputs: session.run(None, dict(zip(names, inputs)))[0]


def _load_torchscript(path: Path):
    try:
        import torch
    except ImportError:
        raise ModelError("a TorchScript separator needs torch (pip install 'malsori[speaker]')") from None
    try:
        module = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:
        raise ModelError(f"cannot load {path} as TorchScript: {str(exc).splitlines()[0]}") from None

    def run(*inputs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(*map(torch.from_numpy, inputs)).float().numpy()

    return run


class ConditionedExtractor:
    """Target-speaker extraction by a network trained for it (``malsori separate train --task
    extraction``): the enrolment's CAM++ embedding, heard at the model's rate, conditions it."""

    def __init__(self, model_dir: "str | Path | BlindSeparator", encoder=None):
        self.separator = model_dir if isinstance(model_dir, BlindSeparator) else BlindSeparator(model_dir)
        if self.separator.task != "extraction":
            raise ModelError(f"{self.separator.name} is a {self.separator.task} model, not an extraction model")
        if encoder is None:
            from malsori.engines.speaker.campplus import CamPlusPlusEncoder

            encoder = CamPlusPlusEncoder()
        self.encoder = encoder
        self.name = f"{self.separator.name}+campplus"

    def extract(self, mixture: Audio, enrollment: Audio, progress=None) -> Audio:
        from malsori.engines.separation.mixing import enrolment_embedding

        vector = enrolment_embedding(enrollment, self.separator.sample_rate, self.encoder)
        return self.separator.separate(mixture, speaker=vector, progress=progress)[0]


def extractor_for(model_dir: str | Path | None = None):
    """The extractor a model folder (None: the default separator) makes: its own conditioned
    network, or blind separation followed by picking the source nearest the enrolment."""
    separator = BlindSeparator(model_dir)  # loaded (and its sha256 checked) once
    return ConditionedExtractor(separator) if separator.task == "extraction" else PickExtractor(separator)


class PickExtractor:
    """Target-speaker extraction from a blind separator: separate, then keep the source whose
    voice embedding is nearest the enrolment's (CAM++ by default)."""

    def __init__(self, model_dir: "str | Path | BlindSeparator", encoder=None):
        self.separator = model_dir if isinstance(model_dir, BlindSeparator) else BlindSeparator(model_dir)
        if encoder is None:
            from malsori.engines.speaker.campplus import CamPlusPlusEncoder

            encoder = CamPlusPlusEncoder()
        self.encoder = encoder
        self.name = f"{self.separator.name}+{getattr(encoder, 'name', type(encoder).__name__)}"

    def choose(self, sources: list[Audio], enrollment: Audio) -> int:
        """The index of the source whose voice is nearest the enrolment's."""
        wanted = np.asarray(self.encoder.embed(enrollment), np.float64)
        scores = []
        for source in sources:
            try:
                vector = np.asarray(self.encoder.embed(source), np.float64)
            except AudioError:  # a silent or near-empty source is nobody's voice
                scores.append(-np.inf)
                continue
            scores.append(float(vector @ wanted / max(np.linalg.norm(vector) * np.linalg.norm(wanted), 1e-12)))
        return int(np.argmax(scores))

    def extract(self, mixture: Audio, enrollment: Audio, progress=None) -> Audio:
        sources = self.separator.separate(mixture, progress=progress)
        return sources[self.choose(sources, enrollment)]


@lru_cache(maxsize=2)
def _blind(model_dir: str) -> BlindSeparator:
    return BlindSeparator(model_dir)


def separate_blind(mixture: Audio, model_dir: str | Path | None = None, progress=None) -> SeparationResult:
    """Blind separation with the model in ``model_dir`` (None: the default separator): tracks
    ``source1``, ``source2``..."""
    separator = _blind(str(_find(model_dir).resolve()))
    sources = separator.separate(mixture, progress=progress)
    return SeparationResult({f"source{i}": s for i, s in enumerate(sources, 1)}, separator.name)


def separate(mixture: Audio, *, enrollment: Audio | None = None, diarization: Diarization | None = None,
             model_dir: str | Path | None = None, extractor=None) -> SeparationResult:
    """The method the inputs allow, in this order: enrolled voice, diarization, blind model."""
    if enrollment is not None:
        extractor = extractor or _default_extractor()
        return SeparationResult({"target": extract_speaker(mixture, enrollment, extractor)},
                                getattr(extractor, "name", type(extractor).__name__))
    if diarization is not None:
        return SeparationResult(separate_by_diarization(mixture, diarization), "diarization")
    return separate_blind(mixture, model_dir)


def _safe(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label).strip("._") or "track"
