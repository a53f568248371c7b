"""Separation models trained here (engines/separation): mixtures made on the fly from speech the
test makes with eSpeak NG; a tiny Conv-TasNet trained for seconds gets better at it, resumes
exactly, exports to ONNX that matches PyTorch, and runs through the CLI in chunks; extraction is
conditioned on an enrolment; bad speech folders and damaged models stop with one line. Nothing
here says anything about quality (see benchmarks/separation_bench.py)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from malsori.audio import Audio, load_audio, save_audio
from malsori.errors import DataError, ModelError

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Seven green ships sailed across the sea.",
         "I would like a cup of coffee, please.", "The river runs slowly past the old mill."]
VOICES = {"low": "en-us", "high": "en-us+f3", "mid": "en-gb"}


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    """speech/<speaker>/<n>.wav: four sentences from each of three eSpeak NG voices."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make test installs it)")
    from malsori.engines.tts.espeak import EspeakSynthesizer

    espeak = EspeakSynthesizer()
    root = tmp_path_factory.mktemp("sep") / "speech"
    for speaker, voice in VOICES.items():
        (root / speaker).mkdir(parents=True)
        for n, text in enumerate(TEXTS):
            save_audio(root / speaker / f"{n}.wav", espeak.synthesize(text, "eng", voice).to_mono())
    return root


def _recipe(steps, **changes):
    from malsori.engines.separation.train import RECIPES

    return replace(RECIPES["tiny"], steps=steps, **changes)


class SpectrumEncoder:
    """A stand-in 192-d speaker encoder for the tests (CAM++ in use): the long-term spectrum."""

    name = "spectrum"

    def embed(self, audio: Audio) -> np.ndarray:
        power = np.abs(np.fft.rfft(audio.to_mono().resample(8000).samples, 382)) ** 2
        return np.log(power + 1e-6).astype(np.float32)


@pytest.fixture(scope="module")
def trained(speech_dir, tmp_path_factory):
    from malsori.engines.separation.train import train_separator

    model_dir = tmp_path_factory.mktemp("model") / "sep"
    steps, wall, losses = train_separator([speech_dir], model_dir, _recipe(150), licence="test speech")
    return model_dir, losses


def _log(model_dir):
    from malsori.training import read_log

    return read_log(model_dir / "training" / "log.tsv")


# ------------------------------------------------------------------------------ the mixtures

def test_mixtures_are_two_different_speakers_and_repeat_for_the_same_step(speech_dir, tmp_path):
    from malsori.engines.separation.mixing import load_corpus
    from malsori.engines.separation.train import mixtures

    corpus = load_corpus([speech_dir], 8000, tmp_path)
    assert corpus.names == ["speech/high", "speech/low", "speech/mid"] and len(corpus.waves) == 12
    assert list(tmp_path.glob("speech-*.pt"))  # cached for the next run
    recipe = _recipe(1, batch=6)
    first, again, other = mixtures(corpus, recipe, 7), mixtures(corpus, recipe, 7), mixtures(corpus, recipe, 8)
    np.testing.assert_array_equal(first["mixture"].numpy(), again["mixture"].numpy())
    assert not np.allclose(first["mixture"].numpy(), other["mixture"].numpy())
    mix, sources = first["mixture"].numpy(), first["sources"].numpy()
    assert sources.shape == (6, 2, int(recipe.mix.segment_s * 8000))
    # without noise the mixture is the sum of its sources; with it, the sources stay clean
    residual = mix - sources.sum(1)
    assert any(np.abs(r).max() < 1e-5 for r in residual) or recipe.mix.noise_probability == 1
    assert np.abs(mix).max() <= 0.95 + 1e-6


# ------------------------------------------------------------------------------- training

def test_a_tiny_separator_learns_to_separate(speech_dir, trained, tmp_path):
    """On 16 mixtures it never trained on, the trained network beats its own initial weights."""
    import torch

    from malsori.engines.separation.convtasnet import ConvTasNet, pit_si_snr
    from malsori.engines.separation.mixing import load_corpus
    from malsori.engines.separation.train import load_separator, mixtures

    model_dir, losses = trained
    model, saved = load_separator(model_dir)
    torch.manual_seed(saved["recipe"]["seed"])
    initial = ConvTasNet(model.config).eval()  # the weights training started from
    batch = mixtures(load_corpus([speech_dir], 8000, tmp_path), _recipe(1, batch=16, seed=99), 0)
    with torch.no_grad():
        before, _ = pit_si_snr(initial(batch["mixture"]), batch["sources"])
        after, _ = pit_si_snr(model(batch["mixture"]), batch["sources"])
    assert after.mean() > before.mean() + 3.0, (before.mean(), after.mean())
    assert set(_log(model_dir)) >= {"step", "si_snr", "si_snri"}
    card = json.loads((model_dir / "separator.json").read_text())
    assert card["format"] == "malsori-separator" and card["task"] == "separation" and card["sources"] == 2
    assert card["training"]["steps"] == 150 and card["training"]["speakers"] == 3
    assert card["licence"] == "test speech"


def test_a_checkpoint_resumes_bit_for_bit(speech_dir, tmp_path):
    import torch

    from malsori.engines.separation.train import train_separator

    train_separator([speech_dir], tmp_path / "straight", _recipe(30), export=False)
    train_separator([speech_dir], tmp_path / "resumed", _recipe(20), export=False)
    train_separator([], tmp_path / "resumed", steps=30, resume=True, export=False)  # sources come from the checkpoint
    a = torch.load(tmp_path / "straight" / "training" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "resumed" / "training" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(DataError, match="already holds a training run"):
        train_separator([speech_dir], tmp_path / "straight", _recipe(30))
    with pytest.raises(DataError, match="no training run to resume"):
        train_separator([speech_dir], tmp_path / "nothing", _recipe(30), resume=True)


def test_fine_tuning_starts_from_the_trained_weights(speech_dir, trained, tmp_path):
    import json

    import torch

    from malsori.engines.separation.mixing import MixingError, load_corpus
    from malsori.engines.separation.train import WEIGHTS, load_separator, mixtures, shippable_weights, train_separator

    model_dir, _ = trained
    train_separator([speech_dir], tmp_path / "tuned", _recipe(1, learning_rate=1e-12), init_from=model_dir)
    start, _ = load_separator(model_dir)
    tuned, _ = load_separator(tmp_path / "tuned")
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(start.state_dict().values(), tuned.state_dict().values()))
    fresh = train_separator([speech_dir], tmp_path / "fresh", _recipe(1, learning_rate=1e-12), export=False)
    batch = mixtures(load_corpus([speech_dir], 8000), _recipe(1), 0)
    with torch.no_grad():
        assert not torch.allclose(tuned(batch["mixture"]), load_separator(tmp_path / "fresh")[0](batch["mixture"]))
    assert fresh[0] == 1
    card = json.loads((tmp_path / "tuned" / "separator.json").read_text())
    assert card["initialised_from"]["model"] == str(model_dir) and card["initialised_from"]["steps"] == 150
    with pytest.raises(MixingError, match="same architecture"):
        train_separator([speech_dir], tmp_path / "wider", _recipe(1, hidden=24), init_from=model_dir)
    # A shipped model keeps only the network (weights.pt), and fine-tunes the same way.
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shippable_weights(model_dir, shipped / WEIGHTS)
    again, _ = load_separator(shipped)
    assert all(torch.equal(a, b) for a, b in zip(start.state_dict().values(), again.state_dict().values()))
    train_separator([speech_dir], tmp_path / "from-shipped", _recipe(1, learning_rate=1e-12), init_from=shipped,
                    export=False)


def test_the_onnx_export_matches_pytorch(trained):
    import torch

    from malsori.engines.separation.train import load_separator
    from malsori.pipelines.separate import BlindSeparator

    model_dir, _ = trained
    model, _ = load_separator(model_dir)
    separator = BlindSeparator(model_dir)
    for length in (8, 5000, 12347):  # under the filter length, and lengths the filterbank does not tile
        mixture = np.random.default_rng(length).standard_normal(length).astype(np.float32) * 0.1
        with torch.no_grad():
            expected = model(torch.from_numpy(mixture)[None])[0].numpy()
        np.testing.assert_allclose(separator._once(mixture, None), expected, atol=1e-4)


def test_long_recordings_go_through_in_chunks_with_each_voice_kept_on_its_track(trained, monkeypatch):
    """A network that swaps its outputs on every other chunk still gives each voice one track."""
    from malsori.eval.separation import si_snr
    from malsori.pipelines.separate import BlindSeparator, best_order

    model_dir, _ = trained
    rate, seconds = 8000, 9.0
    t = np.arange(int(rate * seconds)) / rate
    low, high = 0.3 * np.sin(2 * np.pi * 200 * t), 0.2 * np.sin(2 * np.pi * 2500 * t)
    separator = BlindSeparator(model_dir, chunk_s=1.0)
    calls = []

    def swapping(mixture, *rest):
        spectrum, freqs = np.fft.rfft(mixture[0]), np.fft.rfftfreq(mixture.shape[1], 1 / rate)
        parts = [np.fft.irfft(spectrum * (freqs < 1000), mixture.shape[1]),
                 np.fft.irfft(spectrum * (freqs >= 1000), mixture.shape[1])]
        calls.append(len(calls))
        return np.stack(parts[::-1] if len(calls) % 2 else parts)[None].astype(np.float32)

    monkeypatch.setattr(separator, "_load", lambda: swapping)
    done = []
    first, second = separator.separate(Audio((low + high).astype(np.float32), rate), progress=lambda d, n: done.append((d, n)))
    assert len(calls) > 10 and done[-1] == (len(calls), len(calls))
    inner = slice(rate // 10, -rate // 10)
    tracks = sorted([first.samples, second.samples], key=lambda s: -abs(np.dot(s, low)))
    assert si_snr(tracks[0][inner], low[inner]) > 20 and si_snr(tracks[1][inner], high[inner]) > 20
    assert best_order(np.stack([low, high]), np.stack([high, low])) == [1, 0]


def test_an_extractor_is_conditioned_on_the_enrolment(speech_dir, tmp_path):
    from malsori.engines.separation.train import train_separator
    from malsori.pipelines.separate import BlindSeparator, ConditionedExtractor, extractor_for

    model_dir = tmp_path / "ext"
    train_separator([speech_dir], model_dir, _recipe(20), task="extraction", encoder=SpectrumEncoder())
    card = json.loads((model_dir / "separator.json").read_text())
    assert card["task"] == "extraction" and card["sources"] == 1 and card["speaker_encoder"] == "campplus"
    extractor = ConditionedExtractor(model_dir, encoder=SpectrumEncoder())
    mixture = load_audio(speech_dir / "low" / "0.wav")
    enrolments = [load_audio(speech_dir / who / "1.wav") for who in ("low", "high")]
    outputs = [extractor.extract(mixture, e) for e in enrolments]
    assert all(o.frames == mixture.frames and o.sample_rate == mixture.sample_rate for o in outputs)
    assert not np.allclose(outputs[0].samples, outputs[1].samples)  # the enrolment changes what comes out
    with pytest.raises(ModelError, match="needs an enrolment"):
        BlindSeparator(model_dir).separate(mixture)
    assert type(extractor_for(model_dir)).__name__ == "ConditionedExtractor"


# ---------------------------------------------------------------------------- bad input

def test_unusable_speech_stops_with_one_line(speech_dir, tmp_path):
    from malsori.engines.separation.mixing import MixingError
    from malsori.engines.separation.train import train_separator

    with pytest.raises(MixingError, match="at least two speakers"):
        train_separator([speech_dir / "low"], tmp_path / "one", _recipe(5))
    silent = tmp_path / "silent"
    for who in ("a", "b"):
        (silent / who).mkdir(parents=True)
        save_audio(silent / who / "x.wav", Audio(np.zeros(16000, np.float32), 16000))
    with pytest.raises(MixingError, match="at least two speakers"):
        train_separator([silent], tmp_path / "quiet", _recipe(5))
    (tmp_path / "list.tsv").write_text("file\twho\nx.wav\ta\n")
    with pytest.raises(MixingError, match="path and speaker columns"):
        train_separator([tmp_path / "list.tsv"], tmp_path / "m", _recipe(5))
    (tmp_path / "list2.tsv").write_text("path\tspeaker\nmissing.wav\ta\n")
    with pytest.raises(MixingError, match="missing.wav not found"):
        train_separator([tmp_path / "list2.tsv"], tmp_path / "m", _recipe(5))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(MixingError, match="not a folder, an audio file or a TSV manifest"):
        train_separator([tmp_path / "notes.txt"], tmp_path / "m", _recipe(5))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a").mkdir()
    (tmp_path / "broken" / "a" / "bad.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(MixingError, match="bad.wav"):
        train_separator([tmp_path / "broken"], tmp_path / "m", _recipe(5))


def test_a_damaged_model_is_refused(trained, tmp_path):
    from malsori.pipelines.separate import BlindSeparator

    model_dir, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("training"))
    data = bytearray((copy / "separator.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "separator.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 differs"):
        BlindSeparator(copy)
    with pytest.raises(ModelError, match="takes no enrolment"):
        BlindSeparator(model_dir).separate(Audio(np.ones(800, np.float32) * 0.1, 8000), speaker=np.zeros(192))


# ------------------------------------------------------------------------------------ CLI

def test_the_cli_trains_separates_and_extracts(speech_dir, trained, tmp_path):
    from typer.testing import CliRunner

    from malsori.cli import app

    runner = CliRunner()
    model_dir, _ = trained
    a, b = load_audio(speech_dir / "low" / "2.wav"), load_audio(speech_dir / "high" / "3.wav")
    n = min(a.frames, b.frames)
    save_audio(tmp_path / "mix.wav", Audio(a.samples[:n] + b.samples[:n], a.sample_rate))
    out = runner.invoke(app, ["speakers", "separate", str(tmp_path / "mix.wav"), "--model-dir", str(model_dir),
                              "-o", str(tmp_path / "tracks"), "-q"])
    assert out.exit_code == 0, out.output
    tracks = sorted((tmp_path / "tracks").glob("mix.source*.wav"))
    assert len(tracks) == 2 and all(load_audio(t).frames == n for t in tracks)
    out = runner.invoke(app, ["speakers", "separate", str(tmp_path / "mix.wav"), "--model-dir", str(model_dir),
                              "--num-speakers", "3", "-o", str(tmp_path / "three"), "-q"])
    assert out.exit_code != 0 and "separates 2 voices, not 3" in out.output
    # extraction through a separation model: separate, then keep the source nearest the enrolment
    out = runner.invoke(app, ["speakers", "extract", str(tmp_path / "mix.wav"), "--enroll", str(speech_dir / "low" / "0.wav"),
                              "--model-dir", str(model_dir), "-o", str(tmp_path / "low.wav"), "-q"])
    assert out.exit_code == 0, out.output
    assert load_audio(tmp_path / "low.wav").frames == n
    out = runner.invoke(app, ["speakers", "extract", str(tmp_path / "mix.wav"), "-o", str(tmp_path / "x.wav")])
    assert out.exit_code != 0 and "--enroll RECORDING or --speaker NAME" in out.output
    # an enrolled speaker's kept recordings are the enrolment
    db = str(tmp_path / "speakers.db")
    out = runner.invoke(app, ["speakers", "enroll", "lo", str(speech_dir / "low" / "0.wav"), "--db", db])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["speakers", "extract", str(tmp_path / "mix.wav"), "--speaker", "lo", "--db", db,
                              "--model-dir", str(model_dir), "-o", str(tmp_path / "lo.wav"), "-q"])
    assert out.exit_code == 0, out.output
    np.testing.assert_allclose(load_audio(tmp_path / "lo.wav").samples, load_audio(tmp_path / "low.wav").samples, atol=2e-3)
    out = runner.invoke(app, ["speakers", "extract", str(tmp_path / "mix.wav"), "--speaker", "nobody", "--db", db,
                              "--model-dir", str(model_dir), "-o", str(tmp_path / "n.wav")])
    assert out.exit_code != 0 and "no kept recordings of 'nobody'" in out.output
    out = runner.invoke(app, ["separate", "train", str(speech_dir), "-o", str(tmp_path / "cli-model"),
                              "--recipe", "tiny", "--steps", "6", "-q"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "cli-model" / "separator.onnx").is_file()
    out = runner.invoke(app, ["separate", "train", str(speech_dir), "-o", str(tmp_path / "cli-model"), "--recipe", "tiny"])
    assert out.exit_code != 0 and "already holds a training run" in out.output


def test_an_imported_separator_is_found_by_name(trained, tmp_path, monkeypatch):
    from malsori.models.catalog import import_model
    from malsori.pipelines.separate import BlindSeparator

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    model_dir, _ = trained
    name, installed = import_model(model_dir, "my-separator")
    assert name == "my-separator" and not (installed / "training").exists()
    assert BlindSeparator("my-separator").model_dir == installed
    with pytest.raises(ModelError, match="nor an imported separator"):
        BlindSeparator("no-such-separator")
