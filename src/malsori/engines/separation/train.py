"""The separation recipe: a Conv-TasNet trained on mixtures made on the fly from clean speech,
with permutation-invariant SI-SNR (blind separation) or SI-SNR of the enrolled voice (extraction),
checkpoints every few hundred steps, ``--resume``, and an ONNX export with its card.

    malsori separate train SPEECH... -o MODEL_DIR [--task extraction] [--steps N] [--resume]

MODEL_DIR then holds ``separator.onnx`` and ``separator.json`` (the card: task, sample rate, the
training speech, the mixing recipe, time, sha256), which ``malsori speakers separate --model-dir``
and ``malsori models import`` take, and ``training/`` (feature cache, checkpoint, log).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from malsori.engines.separation.convtasnet import ConvTasNet, SeparatorConfig, parameter_count, pit_si_snr, si_snr
from malsori.engines.separation.mixing import (MixingError, MixRecipe, SpeechCorpus, draw_mixture, enrolment_embedding,
                                              load_corpus)
from malsori.models.catalog import sha256_file
from malsori.training import Counters, RunFiles, Schedule, inverse_sqrt, load_trained, restore, run, to_onnx

TASKS = ("separation", "extraction")
LOSSES = ("total", "si_snr", "si_snri")
CARD = "separator.json"
GRAPH = "separator.onnx"
WEIGHTS = "weights.pt"  # a shipped model's PyTorch weights (no optimiser state), for fine-tuning
EMBEDDING_DIM = 192  # CAM++


@dataclass
class SeparationRecipe:
    task: str = "separation"
    sample_rate: int = 8000
    filters: int = 128
    kernel: int = 32  # 4 ms filters, 2 ms hop: half the frames of 16, so a CPU affords more context
    bottleneck: int = 64
    hidden: int = 128
    blocks: int = 8
    repeats: int = 3  # receptive field 3 x 2 x 255 frames = 3 s: a voice is followed across pauses
    steps: int = 20000
    batch: int = 4
    learning_rate: float = 1e-3
    warmup: int = 300
    checkpoint_every: int = 250
    log_every: int = 25
    seed: int = 0
    mix: MixRecipe = field(default_factory=MixRecipe)

    @classmethod
    def from_dict(cls, data: dict) -> "SeparationRecipe":
        mix = data.get("mix") or {}
        mix = MixRecipe(**{k: tuple(v) if isinstance(v, list) else v for k, v in mix.items()})
        return cls(**{**data, "mix": mix})

    def model_config(self) -> SeparatorConfig:
        extraction = self.task == "extraction"
        return SeparatorConfig(self.sample_rate, 1 if extraction else 2, self.filters, self.kernel, self.bottleneck,
                               self.hidden, self.blocks, self.repeats, EMBEDDING_DIM if extraction else 0)


RECIPES = {
    "small": SeparationRecipe(),
    "tiny": SeparationRecipe(filters=16, bottleneck=8, hidden=16, blocks=2, repeats=1, steps=40, batch=2,
                             learning_rate=3e-3, warmup=5, checkpoint_every=20, log_every=5,
                             mix=MixRecipe(segment_s=0.5)),
}


def train_separator(sources: Sequence[str | Path], model_dir: str | Path, recipe: SeparationRecipe | str = "small",
                    task: str | None = None, steps: int | None = None, resume: bool = False,
                    progress: Callable[[int, int, dict], None] | None = None, encoder=None,
                    licence: str | None = None, export: bool = True,
                    init_from: str | Path | None = None) -> tuple[int, float, dict]:
    """Train (or continue) a separator on mixtures of ``sources``; returns (steps, wall seconds, last losses).
    ``encoder``: the speaker encoder for extraction (CAM++ by default). ``init_from``: a model folder
    whose trained weights a fresh run starts from (same architecture), to fine-tune on more speech."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    if task is not None:
        if task not in TASKS:
            raise MixingError(f"task: {' or '.join(TASKS)}, not {task!r}")
        recipe = replace(recipe, task=task)
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    model_dir = Path(model_dir)
    work = model_dir / "training"
    files = RunFiles(work / "checkpoint.pt", work / "log.tsv")
    saved = files.open(resume, model_dir)
    if saved is not None:
        recipe = replace(SeparationRecipe.from_dict(saved["recipe"]), steps=steps or saved["recipe"]["steps"])
        sources, licence = saved["sources"], licence or saved.get("licence")
    sources = [str(Path(s).resolve()) for s in sources]
    corpus = load_corpus(sources, recipe.sample_rate, work)
    embeddings = corpus_embeddings(corpus, work, encoder) if recipe.task == "extraction" else None
    torch.manual_seed(recipe.seed)
    config = recipe.model_config()
    model = ConvTasNet(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, inverse_sqrt(recipe.warmup))
    counters = restore(saved, model, optimizer, scheduler) if saved is not None else Counters()
    origin = saved.get("initialised_from") if saved is not None else None
    if saved is None and init_from is not None:
        origin = _initialise(model, Path(init_from))

    def step_losses(step: int):
        batch = mixtures(corpus, recipe, step, embeddings)
        estimates = model(batch["mixture"], batch.get("speaker"))
        if recipe.task == "extraction":
            score = si_snr(estimates[:, 0], batch["sources"][:, 0])
            baseline = si_snr(batch["mixture"], batch["sources"][:, 0])
        else:
            score, _ = pit_si_snr(estimates, batch["sources"])
            baseline = si_snr(batch["mixture"].unsqueeze(1).expand_as(batch["sources"]), batch["sources"]).mean(-1)
        return {"total": -score.mean(), "si_snr": score.mean(), "si_snri": (score - baseline).mean()}, recipe.batch

    def record() -> dict:
        return {"recipe": asdict(recipe), "model_config": config.to_dict(), "sources": sources,
                "corpus": corpus.summary(), "licence": licence, "initialised_from": origin}

    schedule = Schedule(recipe.steps, recipe.log_every, recipe.checkpoint_every)
    losses = run(files, model, optimizer, scheduler, schedule, counters, step_losses, LOSSES, record, progress,
                 f"malsori separate train {' '.join(sources)} -o {model_dir}")
    if export:
        export_separator(model_dir)
    return counters.step, counters.wall_s, losses


def mixtures(corpus: SpeechCorpus, recipe: SeparationRecipe, step: int, embeddings: np.ndarray | None = None) -> dict:
    """The batch of ``step``: a pure function of (seed, step), as the resume needs. For extraction,
    the first voice is the target and ``speaker`` is the embedding of another utterance of it."""
    rng = np.random.default_rng([recipe.seed, step, 4])
    mixes, sources, speakers = [], [], []
    for _ in range(recipe.batch):
        mixture, voices, picks = draw_mixture(corpus, recipe.mix, rng)
        mixes.append(mixture)
        sources.append(voices)
        if embeddings is not None:
            same = [k for k in corpus.by_speaker[corpus.speakers[picks[0]]] if k != picks[0]] or [picks[0]]
            speakers.append(embeddings[int(rng.choice(same))])
    batch = {"mixture": torch.from_numpy(np.stack(mixes)), "sources": torch.from_numpy(np.stack(sources))}
    if embeddings is not None:
        batch["speaker"] = torch.from_numpy(np.stack(speakers).astype(np.float32))
    return batch


def _initialise(model: ConvTasNet, source: Path) -> dict:
    """Load ``source``'s trained weights (a run's folder, or a shipped or imported separator by
    folder or name) into ``model``; what the card records about them."""
    from malsori.pipelines.separate import _find

    source = _find(source)
    trained, saved = load_separator(source)
    if trained.config != model.config:
        raise MixingError(f"{source}: its model ({trained.config.to_dict()}) differs from this recipe's "
                          f"({model.config.to_dict()}); fine-tuning needs the same architecture")
    model.load_state_dict(trained.state_dict())
    return {"model": str(source), "steps": saved["step"], "wall_s": round(saved["wall_s"], 1),
            "speech": saved["sources"], "initialised_from": saved.get("initialised_from")}


def corpus_embeddings(corpus: SpeechCorpus, work: Path, encoder=None) -> np.ndarray:
    """One embedding per utterance of the corpus (cached beside the speech)."""
    from malsori.audio import Audio

    key = hashlib.sha256("\n".join(corpus.paths).encode()).hexdigest()[:16]
    cache = work / f"embeddings-{key}-{corpus.sample_rate}.npy"
    if cache.is_file():
        return np.load(cache)
    if encoder is None:
        from malsori.engines.speaker.campplus import CamPlusPlusEncoder

        encoder = CamPlusPlusEncoder()
    vectors = np.stack([enrolment_embedding(Audio(w.astype(np.float32) / 32768, corpus.sample_rate), corpus.sample_rate,
                                            encoder) for w in corpus.waves])
    if vectors.shape[1] != EMBEDDING_DIM:
        raise MixingError(f"the speaker encoder gives {vectors.shape[1]}-d vectors; extraction is built for {EMBEDDING_DIM}")
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(cache)
    return vectors


class _Graph(torch.nn.Module):
    """What the ONNX file computes: the network on a length its filterbank tiles (the caller pads)."""

    def __init__(self, model: ConvTasNet):
        super().__init__()
        self.model = model

    def forward(self, mixture, speaker=None):
        return self.model.core(mixture, speaker)


def load_separator(model_dir: Path) -> tuple[ConvTasNet, dict]:
    """(network, record) from a run's checkpoint, or from the ``weights.pt`` a shipped model keeps."""
    model_dir = Path(model_dir)
    path = model_dir / "training" / "checkpoint.pt"
    if not path.is_file() and (model_dir / WEIGHTS).is_file():
        path = model_dir / WEIGHTS
    return load_trained(path, lambda c: ConvTasNet(SeparatorConfig(**c)), str(model_dir))


def shippable_weights(model_dir: Path, out: Path) -> Path:
    """The checkpoint's network and record without optimiser and random states (a third of its size)."""
    saved = torch.load(Path(model_dir) / "training" / "checkpoint.pt", weights_only=False)
    keep = {k: saved[k] for k in ("model", "model_config", "recipe", "step", "wall_s", "utterances", "corpus")}
    keep["sources"] = []  # paths on the training machine; the card lists the speech
    keep["initialised_from"] = None
    tmp = out.with_name(out.name + ".tmp")
    torch.save(keep, tmp)
    tmp.replace(out)
    return out


def export_separator(model_dir: str | Path) -> Path:
    """``separator.onnx`` and its card from the latest checkpoint (both written atomically)."""
    model_dir = Path(model_dir)
    model, saved = load_separator(model_dir)
    config = model.config
    example = [torch.randn(1, config.kernel + 40 * config.stride)]
    inputs, axes = ["mixture"], {"mixture": {1: "samples"}, "sources": {2: "samples"}}
    if config.speaker_dim:
        example.append(torch.randn(1, config.speaker_dim))
        inputs.append("speaker")
    to_onnx(_Graph(model), tuple(example), model_dir / GRAPH, inputs, ["sources"], axes)
    recipe = saved["recipe"]
    card = {
        "format": "malsori-separator",
        "name": model_dir.name,
        "task": recipe["task"],
        "sample_rate": config.sample_rate,
        "sources": config.sources,
        "pad_multiple": config.stride,
        "min_samples": config.kernel,
        "speaker_encoder": "campplus" if config.speaker_dim else None,
        "model": {"kind": "Conv-TasNet", **config.to_dict(), "parameters": parameter_count(model)},
        "training": {"steps": saved["step"], "wall_s": round(saved["wall_s"], 1), "mixtures": saved["utterances"],
                     "speech": saved["sources"], **saved["corpus"], "mixing": recipe["mix"]},
        "initialised_from": saved.get("initialised_from"),
        "licence": saved.get("licence") or "the terms of the training speech (see training.speech)",
        "sha256": {GRAPH: sha256_file(model_dir / GRAPH)},
    }
    tmp = model_dir / (CARD + ".tmp")
    tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2))
    tmp.replace(model_dir / CARD)
    return model_dir / GRAPH

