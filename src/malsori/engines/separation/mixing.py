"""Clean speech in, training mixtures out, made on the fly: separation needs no labels, only
voices to add together, so every step sees mixtures it never saw before.

A corpus is read once from folders or manifests and cached as 16-bit audio at the model's rate.
Each batch is a pure function of (seed, step), so a resumed run sees exactly the batches it would
have seen: two different speakers, random segments with speech in them, each slightly sped up or
slowed down, the second at a random level relative to the first, optional noise (generated: white, pink or brown) and optional reverberation (a synthetic
exponentially decaying room response, the same room for both voices).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from malsori.errors import AudioError, DataError

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a"}
MIN_UTTERANCE_S = 0.5
CACHE_VERSION = 1


class MixingError(DataError):
    """The speech given cannot make training mixtures (the message says why)."""


@dataclass
class MixRecipe:
    """How training mixtures are drawn."""
    segment_s: float = 3.0
    relative_db: float = 5.0  # the second voice between -x and +x dB against the first
    noise_probability: float = 0.3
    noise_snr_db: tuple[float, float] = (10.0, 30.0)
    reverb_probability: float = 0.2
    rt60_s: tuple[float, float] = (0.15, 0.6)
    level_dbfs: tuple[float, float] = (-33.0, -18.0)  # RMS of the mixture
    speed: tuple[float, float] = (0.9, 1.1)  # each voice resampled by a factor in this range: pitch,
    # formants and tempo move together, so few real speakers stand for more (speed perturbation)


@dataclass
class SpeechCorpus:
    sample_rate: int
    waves: list[np.ndarray]  # int16
    speakers: list[int]  # index into ``names``, per wave
    names: list[str]
    paths: list[str]
    by_speaker: list[list[int]] = field(default_factory=list)

    def __post_init__(self):
        self.by_speaker = [[k for k, s in enumerate(self.speakers) if s == who] for who in range(len(self.names))]

    @property
    def minutes(self) -> float:
        return sum(len(w) for w in self.waves) / self.sample_rate / 60

    def summary(self) -> dict:
        return {"utterances": len(self.waves), "speakers": len(self.names), "minutes": round(self.minutes, 1)}


def list_speech(sources: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """(file, speaker) pairs. A source is a folder (speaker: the first folder under it, or the
    folder's own name for files directly inside) or a TSV manifest with a header naming ``path``
    and ``speaker`` (paths relative to the manifest's folder, or to its parent folders)."""
    found: list[tuple[Path, str]] = []
    for source in map(Path, sources):
        if source.is_dir():
            for path in sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
                parts = path.relative_to(source).parts
                found.append((path, f"{source.name}/{parts[0]}" if len(parts) > 1 else source.name))
        elif source.is_file() and source.suffix.lower() in {".tsv", ".csv"}:
            found += _manifest(source)
        elif source.is_file() and source.suffix.lower() in AUDIO_SUFFIXES:
            found.append((source, source.parent.name))
        else:
            raise MixingError(f"{source}: not a folder, an audio file or a TSV manifest")
    if not found:
        raise MixingError(f"no audio found in {', '.join(map(str, sources))}")
    return found


def _manifest(path: Path) -> list[tuple[Path, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    if not rows or "path" not in rows[0] or "speaker" not in rows[0]:
        raise MixingError(f"{path}: a manifest needs a header with path and speaker columns")
    out = []
    for line, row in enumerate(rows, 2):
        file = next((base / row["path"] for base in (path.parent, *path.parent.parents) if (base / row["path"]).is_file()), None)
        if file is None:
            raise MixingError(f"{path}:{line}: {row['path']} not found")
        out.append((file, row["speaker"]))
    return out


def load_corpus(sources: Sequence[str | Path], sample_rate: int, cache_dir: Path | None = None) -> SpeechCorpus:
    """The speech of ``sources`` at ``sample_rate`` (cached in ``cache_dir`` by file list and rate)."""
    import torch

    from malsori.audio import load_audio

    files = list_speech(sources)
    key = hashlib.sha256(repr((CACHE_VERSION, sample_rate, [(str(p.resolve()), s) for p, s in files])).encode()).hexdigest()[:16]
    cache = cache_dir / f"speech-{key}.pt" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        return SpeechCorpus(**torch.load(cache, weights_only=False))
    names = sorted({s for _, s in files})
    waves, speakers, paths = [], [], []
    for path, speaker in files:
        try:
            samples = load_audio(path, sample_rate=sample_rate).samples
        except AudioError as exc:
            raise MixingError(f"{path}: {exc}") from None
        if len(samples) < MIN_UTTERANCE_S * sample_rate:
            continue
        peak = float(np.abs(samples).max())
        if peak < 1e-4:
            continue
        waves.append(np.clip(samples / peak * 32000, -32768, 32767).astype(np.int16))
        speakers.append(names.index(speaker))
        paths.append(str(path))
    used = sorted(set(speakers))
    if len(used) < 2:
        raise MixingError(f"mixtures need at least two speakers; found {len(used)} with usable speech "
                          f"(at least {MIN_UTTERANCE_S} s, not silent)")
    names_used = [names[i] for i in used]
    corpus = SpeechCorpus(sample_rate, waves, [used.index(s) for s in speakers], names_used, paths)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({"sample_rate": sample_rate, "waves": waves, "speakers": corpus.speakers, "names": names_used,
                    "paths": paths}, tmp)
        tmp.replace(cache)
    return corpus


def segment(wave: np.ndarray, length: int, rng: np.random.Generator, tries: int = 8) -> np.ndarray:
    """``length`` samples from a random place with speech in it (a shorter utterance is placed at a
    random offset in silence): a crop of a pause would make a target of nothing but noise floor."""
    wave = wave.astype(np.float32) / 32768
    if len(wave) < length:
        out = np.zeros(length, np.float32)
        start = int(rng.integers(length - len(wave) + 1))
        out[start:start + len(wave)] = wave
        return out
    enough = 0.3 * rms(wave)
    best = None
    for _ in range(tries):
        start = int(rng.integers(len(wave) - length + 1))
        crop = wave[start:start + length]
        if rms(crop) >= enough:
            return crop
        best = crop if best is None or rms(crop) > rms(best) else best
    return best


def perturbed(wave: np.ndarray, length: int, factor: float, rng: np.random.Generator) -> np.ndarray:
    """A segment played ``factor`` times faster (linear interpolation): ``length`` samples out."""
    if abs(factor - 1.0) < 1e-3:
        return segment(wave, length, rng)
    taken = segment(wave, int(round(length * factor)), rng)
    return np.interp(np.arange(length) * factor, np.arange(len(taken)), taken).astype(np.float32)


def noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise (a 1/f^a spectrum, a in 0, 1, 2), unit RMS."""
    colour = int(rng.integers(3))
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.maximum(np.arange(len(spectrum)), 1.0)
    shaped = np.fft.irfft(spectrum / frequencies ** (colour / 2), length)
    return (shaped / (np.sqrt(np.mean(shaped ** 2)) + 1e-9)).astype(np.float32)


def room_response(sample_rate: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: a direct path, then decaying noise (60 dB down at ``rt60_s``)."""
    length = int(rt60_s * sample_rate)
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s)
    delay = int(0.002 * sample_rate)
    tail[:delay] = 0.0
    tail[0] = 1.0 / 0.3  # direct path louder than the reverberant field
    return (tail / np.sqrt(np.sum(tail ** 2))).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)


def draw_mixture(corpus: SpeechCorpus, recipe: MixRecipe, rng: np.random.Generator, voices: int = 2):
    """(mixture, sources (voices, T), the utterance index of each voice): distinct speakers."""
    from scipy.signal import fftconvolve

    length = int(recipe.segment_s * corpus.sample_rate)
    who = rng.choice(len(corpus.names), size=voices, replace=False)
    picks = [int(rng.choice(corpus.by_speaker[s])) for s in who]
    sources = [perturbed(corpus.waves[k], length, rng.uniform(*recipe.speed), rng) for k in picks]
    sources = [s / rms(s) for s in sources]
    for i in range(1, voices):
        sources[i] *= 10 ** (rng.uniform(-recipe.relative_db, recipe.relative_db) / 20)
    if rng.random() < recipe.reverb_probability:
        room = room_response(corpus.sample_rate, rng.uniform(*recipe.rt60_s), rng)
        sources = [fftconvolve(s, room)[:length].astype(np.float32) for s in sources]
    stacked = np.stack(sources)
    mixture = stacked.sum(0)
    if rng.random() < recipe.noise_probability:
        mixture = mixture + noise(length, rng) * rms(mixture) * 10 ** (-rng.uniform(*recipe.noise_snr_db) / 20)
    gain = 10 ** (rng.uniform(*recipe.level_dbfs) / 20) / rms(mixture)
    gain = min(gain, 0.95 / max(float(np.abs(mixture).max()), 1e-9))
    return (mixture * gain).astype(np.float32), (stacked * gain).astype(np.float32), picks


def enrolment_embedding(audio, sample_rate: int, encoder) -> np.ndarray:
    """The unit-length speaker embedding of an enrolment heard at the model's rate, as in training
    (an 8 kHz model is conditioned on what CAM++ makes of 8 kHz speech)."""
    vector = np.asarray(encoder.embed(audio.to_mono().resample(sample_rate)), np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
