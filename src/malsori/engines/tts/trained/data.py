"""A training folder (audio files + ``metadata.tsv``) checked line by line, turned into features
once (cached beside the voice), and drawn into batches.

``metadata.tsv`` has a header naming its columns: ``path``, ``speaker`` and ``text`` are needed,
``emotion`` is optional (a file without a header is read as path, speaker, text[, emotion])."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from malsori.engines.tts.trained.align import beta_binomial_prior
from malsori.engines.tts.trained.features import FeatureConfig, Features, extract, loud_span
from malsori.engines.tts.trained.symbols import PhoneSet
from malsori.errors import DataError  # noqa: F401 (raised here, and imported from here by callers)

NEUTRAL = "neutral"
MAX_FRAMES_PER_PHONE = 60  # ~0.7 s a phone on average: the transcript is not this audio's
CACHE_VERSION = 2  # 2: edge silence trimmed
EDGE_SILENCE_DB = 40.0  # frames this far below the loudest, before the speech or after it, are cut
EDGE_KEEP_FRAMES = 3


@dataclass
class Utterance:
    path: Path
    speaker: str
    text: str
    emotion: str = NEUTRAL
    line: int = 0


@dataclass
class Item:
    name: str
    speaker: int
    emotion: str
    phones: np.ndarray  # int64 ids
    mel: np.ndarray  # (frames, n_mels) log-mel
    f0: np.ndarray  # (frames,) log Hz, 0 unvoiced
    energy: np.ndarray  # (frames,)

    @property
    def frames(self) -> int:
        return len(self.mel)


@dataclass
class Corpus:
    items: list[Item]
    speakers: list[str]
    phone_set: PhoneSet
    features: FeatureConfig
    stats: dict = field(default_factory=dict)  # normalisation: mel mean/std, per-speaker F0, energy
    minutes: float = 0.0

    @property
    def emotions(self) -> list[str]:
        return sorted({i.emotion for i in self.items})


def read_metadata(data_dir: Path) -> list[Utterance]:
    table = data_dir / "metadata.tsv"
    if not table.is_file():
        raise DataError(f"{data_dir}: no metadata.tsv (one line per utterance: path, speaker, text[, emotion])")
    with table.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise DataError(f"{table}: empty")
    header = [c.strip().lower() for c in rows[0]]
    if {"path", "text"} <= set(header):
        columns, body, first = header, rows[1:], 2
    else:
        columns, body, first = ["path", "speaker", "text", "emotion"][:max(len(rows[0]), 3)], rows, 1
    utterances = []
    for number, row in enumerate(body, first):
        if not any(c.strip() for c in row):
            continue
        values = dict(zip(columns, (c.strip() for c in row)))
        if not values.get("path"):
            raise DataError(f"{table}:{number}: no audio path")
        if not values.get("text"):
            raise DataError(f"{table}:{number}: empty transcript for {values['path']}")
        path = (data_dir / values["path"]).resolve()
        if not path.is_file():
            raise DataError(f"{table}:{number}: {values['path']}: no such audio file")
        utterances.append(Utterance(path, values.get("speaker") or "speaker", values["text"],
                                    values.get("emotion") or NEUTRAL, number))
    if len(utterances) < 2:
        raise DataError(f"{table}: {len(utterances)} utterance(s); a voice needs at least 2 (minutes of speech to be any good)")
    return utterances


def _sample_rates(utterances: list[Utterance]) -> dict[int, Utterance]:
    import soundfile as sf

    rates: dict[int, Utterance] = {}
    for u in utterances:
        try:
            rates.setdefault(sf.info(str(u.path)).samplerate, u)
        except Exception:
            raise DataError(f"metadata.tsv:{u.line}: {u.path.name}: unreadable audio") from None
    return rates


def prepare(data_dir: str | Path, cache_dir: Path, language: str = "kor", sample_rate: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Check the folder and compute (or load cached) features for every utterance. Mixed sample
    rates stop here unless ``sample_rate`` says what to resample them all to."""
    from malsori.audio import load_audio

    data_dir = Path(data_dir)
    utterances = read_metadata(data_dir)
    rates = _sample_rates(utterances)
    if sample_rate is None:
        if len(rates) > 1:
            (r1, u1), (r2, u2) = list(rates.items())[:2]
            raise DataError(f"mixed sample rates ({r1} Hz in {u1.path.name}, {r2} Hz in {u2.path.name}): "
                            "pass --sample-rate to resample them all")
        sample_rate = next(iter(rates))
    config = FeatureConfig(sample_rate=sample_rate, fmax=min(8000.0, sample_rate / 2))
    phone_set = PhoneSet.for_language(language, [u.text for u in utterances])
    speakers = sorted({u.speaker for u in utterances})
    key = _cache_key(utterances, config, phone_set)
    cache = cache_dir / f"features-{key}.pt"
    if cache.is_file():
        items = [Item(**d) for d in torch.load(cache, weights_only=False)]
    else:
        items = []
        for n, u in enumerate(utterances):
            items.append(_item(u, config, phone_set, speakers, load_audio))
            if progress:
                progress(n + 1, len(utterances))
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save([vars(i) for i in items], tmp)
        tmp.replace(cache)
    corpus = Corpus(items, speakers, phone_set, config)
    corpus.stats = statistics(items, len(speakers))
    corpus.minutes = sum(i.frames for i in items) * config.frame_s / 60
    return corpus


def _item(u: Utterance, config: FeatureConfig, phone_set: PhoneSet, speakers: list[str], load) -> Item:
    try:
        audio = load(u.path)
    except Exception as exc:
        raise DataError(f"metadata.tsv:{u.line}: {u.path.name}: unreadable audio ({str(exc).splitlines()[0]})") from None
    phones = np.asarray(phone_set.ids(u.text), np.int64)
    if len(phones) == 0:
        raise DataError(f"metadata.tsv:{u.line}: {u.path.name}: the transcript has nothing to say")
    f = _trim_edges(extract(audio, config))
    if len(f.mel) < len(phones):
        raise DataError(f"metadata.tsv:{u.line}: {u.path.name}: {len(phones)} phones in {audio.duration:.2f} s: "
                        "the transcript is longer than its audio (wrong file?)")
    if len(f.mel) > MAX_FRAMES_PER_PHONE * len(phones):
        raise DataError(f"metadata.tsv:{u.line}: {u.path.name}: {len(phones)} phones in {audio.duration:.2f} s: "
                        "the transcript is far shorter than its audio (wrong file?)")
    return Item(u.path.name, speakers.index(u.speaker), u.emotion, phones, f.mel, f.f0, f.energy)


def _trim_edges(f: Features) -> Features:
    """Cut the lead-in and trailing silence: no phone stands for it, so the aligner would have to
    give it to the first and last phones (which then learn to last a second)."""
    start, end = loud_span(f.energy[:len(f.mel)], EDGE_KEEP_FRAMES, EDGE_SILENCE_DB)
    return Features(f.mel[start:end], f.f0[start:end], f.energy[start:end])


def _cache_key(utterances: list[Utterance], config: FeatureConfig, phone_set: PhoneSet) -> str:
    h = hashlib.sha256(json.dumps([CACHE_VERSION, config.to_dict(), phone_set.symbols]).encode())
    for u in utterances:
        st = u.path.stat()
        h.update(f"{u.path}\t{st.st_size}\t{st.st_mtime_ns}\t{u.speaker}\t{u.emotion}\t{u.text}\n".encode())
    return h.hexdigest()[:16]


def statistics(items: list[Item], n_speakers: int) -> dict:
    mel = np.concatenate([i.mel for i in items])
    energy = np.concatenate([i.energy for i in items])
    f0_mean, f0_std = np.zeros(n_speakers, np.float32), np.ones(n_speakers, np.float32)
    for s in range(n_speakers):
        voiced = np.concatenate([i.f0[i.f0 > 0] for i in items if i.speaker == s] or [np.zeros(0)])
        if len(voiced) > 1:
            f0_mean[s], f0_std[s] = voiced.mean(), max(voiced.std(), 1e-3)
    return {"mel_mean": mel.mean(0).astype(np.float32), "mel_std": np.maximum(mel.std(0), 1e-3).astype(np.float32),
            "f0_mean": f0_mean, "f0_std": f0_std,
            "energy_mean": np.float32(energy.mean()), "energy_std": np.float32(max(energy.std(), 1e-3))}


# --- batches ----------------------------------------------------------------------------------

@dataclass
class Curriculum:
    """Short utterances first, then all of them, then runs of consecutive utterances of one speaker
    joined into long items (document-length practice)."""

    short_until: float = 0.2  # fraction of training
    long_from: float = 0.6
    long_share: float = 0.3  # of batches, once long items are in
    max_joined: int = 3

    def stage(self, progress: float) -> str:
        return "short" if progress < self.short_until else "all" if progress < self.long_from else "long"


class Batcher:
    """Batch ``step`` is a pure function of (seed, step): resuming draws the same batches."""

    def __init__(self, corpus: Corpus, batch_frames: int, seed: int = 0, curriculum: Curriculum | None = None,
                 reference_frames: int = 400, no_reference: float = 0.2):
        self.corpus, self.batch_frames, self.seed = corpus, batch_frames, seed
        self.curriculum = curriculum or Curriculum()
        self.reference_frames, self.no_reference = reference_frames, no_reference
        items = corpus.items
        singles = [(i,) for i in range(len(items))]
        self.singles = sorted(singles, key=self._frames)
        median = np.median([i.frames for i in items])
        self.short = [u for u in self.singles if self._frames(u) <= median]
        joined = []
        for size in range(2, self.curriculum.max_joined + 1):
            for start in range(len(items) - size + 1):
                run = tuple(range(start, start + size))
                if len({items[i].speaker for i in run}) == 1:
                    joined.append(run)
        self.joined = sorted(joined, key=self._frames)
        self.groups: dict[tuple[int, str], list[int]] = {}
        for n, it in enumerate(items):
            self.groups.setdefault((it.speaker, it.emotion), []).append(n)

    def _frames(self, unit: tuple[int, ...]) -> int:
        return sum(self.corpus.items[i].frames for i in unit)

    def units(self, step: int, total: int) -> list[tuple[int, ...]]:
        rng = np.random.default_rng([self.seed, step])
        stage = self.curriculum.stage(step / max(total, 1))
        pool = self.short if stage == "short" else self.singles
        if stage == "long" and self.joined and rng.random() < self.curriculum.long_share:
            pool = self.joined
        anchor = int(rng.integers(len(pool)))
        longest = self._frames(pool[anchor])
        count = max(1, self.batch_frames // max(longest, 1))
        return pool[max(0, anchor - count + 1):anchor + 1]  # the anchor and shorter neighbours

    def batch(self, step: int, total: int) -> dict:
        rng = np.random.default_rng([self.seed, step, 1])
        return collate(self.corpus, self.units(step, total), rng, self.groups, self.reference_frames, self.no_reference)


def collate(corpus: Corpus, units: list[tuple[int, ...]], rng: np.random.Generator,
            groups: dict | None = None, reference_frames: int = 400, no_reference: float = 0.0) -> dict:
    """Padded, normalised tensors for the model (``AcousticModel.forward``)."""
    stats, items = corpus.stats, corpus.items
    joined = [_join([items[i] for i in unit]) for unit in units]
    b = len(joined)
    n_max = max(len(j.phones) for j in joined)
    t_max = max(j.frames for j in joined)
    n_mels = joined[0].mel.shape[1]
    phones = np.zeros((b, n_max), np.int64)
    mel = np.zeros((b, t_max, n_mels), np.float32)
    f0 = np.zeros((b, t_max), np.float32)
    voiced = np.zeros((b, t_max), np.float32)
    energy = np.zeros((b, t_max), np.float32)
    prior = np.zeros((b, t_max, n_max), np.float32)
    references, reference_lengths, missing = [], [], []
    for k, j in enumerate(joined):
        n, t = len(j.phones), j.frames
        phones[k, :n] = j.phones
        mel[k, :t] = (j.mel - stats["mel_mean"]) / stats["mel_std"]
        is_voiced = j.f0 > 0
        f0[k, :t] = np.where(is_voiced, (j.f0 - stats["f0_mean"][j.speaker]) / stats["f0_std"][j.speaker], 0.0)
        voiced[k, :t] = is_voiced
        energy[k, :t] = (j.energy - stats["energy_mean"]) / stats["energy_std"]
        prior[k, :t, :n] = beta_binomial_prior(n, t)
        # the style comes from *another* utterance of the same speaker and emotion, so that it can
        # carry how they speak but not what this one says
        group = (groups or {}).get((j.speaker, j.emotion), [])
        others = [g for g in group if g not in units[k]] or list(units[k])
        ref = items[others[int(rng.integers(len(others)))]].mel
        if len(ref) > reference_frames:
            start = int(rng.integers(len(ref) - reference_frames + 1))
            ref = ref[start:start + reference_frames]
        references.append((ref - stats["mel_mean"]) / stats["mel_std"])
        reference_lengths.append(len(ref))
        missing.append(bool(rng.random() < no_reference))
    reference = np.zeros((b, max(reference_lengths), n_mels), np.float32)
    for k, r in enumerate(references):
        reference[k, :len(r)] = r
    return {"phones": torch.from_numpy(phones), "mel": torch.from_numpy(mel), "f0": torch.from_numpy(f0),
            "voiced": torch.from_numpy(voiced), "energy": torch.from_numpy(energy), "prior": torch.from_numpy(prior),
            "phone_lengths": torch.tensor([len(j.phones) for j in joined]),
            "frame_lengths": torch.tensor([j.frames for j in joined]),
            "speaker": torch.tensor([j.speaker for j in joined]),
            "reference": torch.from_numpy(reference), "reference_lengths": torch.tensor(reference_lengths),
            "no_reference": torch.tensor(missing)}


def _join(parts: list[Item]) -> Item:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return Item("+".join(p.name for p in parts), first.speaker, first.emotion,
                np.concatenate([p.phones for p in parts]), np.concatenate([p.mel for p in parts]),
                np.concatenate([p.f0 for p in parts]), np.concatenate([p.energy for p in parts]))
