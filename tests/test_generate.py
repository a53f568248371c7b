"""Text to audio on tiny randomly initialised models saved in the real on-disk layouts (MusicGen
in transformers format, Stable Audio Open and AudioLDM 2 as diffusers pipelines), imported with `malsori models
import` and run through the CLI, the Python API and the HTTP server. They sound like nothing:
these tests check the plumbing, reproducibility and refusals, not quality."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from malsori.audio import Audio, load_audio  # noqa: E402
from malsori.errors import MalsoriError, ModelError  # noqa: E402
from malsori.pipelines.generate import TextToAudio, generate, write_generated  # noqa: E402
from tiny_models import build_tiny_audioldm2, build_tiny_musicgen, build_tiny_stable_audio  # noqa: E402

FAMILIES = {"musicgen": build_tiny_musicgen, "stable-audio-open": build_tiny_stable_audio,
            "audioldm2": build_tiny_audioldm2}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A MALSORI_HOME with both tiny models imported the way a user imports real ones."""
    from malsori.models.catalog import import_model

    root = tmp_path_factory.mktemp("generation")
    home = root / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("MALSORI_HOME", str(home))
    for family, build in FAMILIES.items():
        model_id, _ = import_model(build(root / f"tiny-{family}"))
        assert model_id == family
    yield home
    mp.undo()


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, MALSORI_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "malsori.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_generates_from_the_cli_reproducibly(home, tmp_path, family):
    out = tmp_path / "clip.wav"
    args = ["generate", "a dog barks in the rain", "-d", "1.5", "-o", str(out), "--model", family, "--seed", "7",
            "--steps", "4", "-q"]
    first = run_cli(home, *args)
    assert first.returncode == 0, first.stderr
    audio = load_audio(out)
    assert abs(audio.duration - 1.5) < 0.01 and np.abs(audio.samples).max() > 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["prompt"] == "a dog barks in the rain" and sidecar["seed"] == 7 and sidecar["audio"] == "clip.wav"
    assert sidecar["model"].startswith(f"{family}:") and sidecar["timings_s"]["generate"] > 0
    again = tmp_path / "again.wav"
    assert run_cli(home, *args[:5], str(again), *args[6:]).returncode == 0
    assert np.array_equal(load_audio(again).samples, audio.samples)  # same seed, same audio
    other = tmp_path / "other.wav"
    assert run_cli(home, *args[:5], str(other), *args[6:9], "8", *args[10:]).returncode == 0
    assert not np.array_equal(load_audio(other).samples, audio.samples)


def test_the_api_makes_several_outputs_each_reproducible_alone(home, tmp_path):
    seen = []
    results = generate("waves crash on the beach", 1.0, tmp_path / "waves.wav", model="stable-audio-open", count=3,
                       seed=100, steps=3, negative="music", hook=lambda what, done, total: seen.append((what, done, total)))
    assert [r.seed for r in results] == [100, 101, 102] and [r.index for r in results] == [0, 1, 2]
    assert [p.name for p in sorted(tmp_path.glob("waves-*.wav"))] == ["waves-1.wav", "waves-2.wav", "waves-3.wav"]
    assert json.loads((tmp_path / "waves-2.json").read_text())["negative"] == "music"
    # The progress hook sees every denoising step of every output.
    assert seen.count(("output 2/3", 3, 3)) == 1 and len(seen) == 9
    [alone] = generate("waves crash on the beach", 1.0, model="stable-audio-open", seed=101, steps=3, negative="music")
    assert np.array_equal(alone.audio.samples, results[1].audio.samples)
    assert results[0].audio.channels == 2  # Stable Audio is stereo
    import malsori

    [top] = malsori.generate("a man speaks while typing on a keyboard", 0.5, model="musicgen", seed=1)
    assert top.audio.sample_rate == 16000 and top.audio.frames == 8000 and top.steps is None  # tokens, not steps
    # Unless given, the diffusion models take their pipeline's own number of steps.
    assert TextToAudio("stable-audio-open").generator.default_steps == 100
    assert TextToAudio("audioldm2").generator.default_steps == 200
    [ldm] = malsori.generate("rain on a tin roof", 1.0, model="audioldm2", seed=2, steps=2)
    assert ldm.audio.sample_rate == 16000 and ldm.audio.frames == 16000 and ldm.steps == 2


def test_the_server_generates_and_refuses_paths(home):
    from fastapi.testclient import TestClient

    from malsori.serve.app import create_app

    client = TestClient(create_app(translator=object()))
    reply = client.post("/v1/generate", data={"prompt": "birds sing at dawn", "duration": "1.0", "model": "musicgen",
                                              "seed": "5"})
    assert reply.status_code == 200 and reply.headers["content-type"] == "audio/wav"
    sidecar = json.loads(reply.headers["x-malsori-generation"])
    assert sidecar["seed"] == 5 and sidecar["prompt"] == "birds sing at dawn"
    import io

    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(reply.content))
    assert rate == 16000 and len(samples) == 16000
    for family in ("stable-audio-open", "audioldm2"):
        reply = client.post("/v1/generate", data={"prompt": "rain", "duration": "1.0", "model": family, "steps": "2",
                                                  "negative": "music"})
        assert reply.status_code == 200 and json.loads(reply.headers["x-malsori-generation"])["steps"] == 2
    refused = client.post("/v1/generate", data={"prompt": "birds", "model": "/etc"})
    assert refused.status_code == 400 and "unknown text-to-audio model" in refused.json()["error"]
    empty = client.post("/v1/generate", data={"prompt": "   ", "model": "musicgen"})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


@pytest.mark.parametrize("prompt, duration, count, message", [
    ("", 1.0, 1, "the prompt is empty"),
    ("x" * 10_000, 1.0, 1, "at most 2,000"),
    ("rain", 0.0, 1, "above 0 s"),
    ("rain", 600.0, 1, "at most"),
    ("rain", 1.0, 0, "1 to 16"),
])
def test_bad_requests_get_one_line_and_no_output(home, tmp_path, prompt, duration, count, message):
    out = tmp_path / "never.wav"
    result = run_cli(home, "generate", prompt, "-d", str(duration), "-n", str(count), "-o", str(out),
                     "--model", "musicgen", "-q")
    assert result.returncode != 0
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bfloat16_halves_the_weights_and_still_generates(home, tmp_path):
    [clip] = generate("rain", 0.5, tmp_path / "rain.wav", model="musicgen", seed=1, dtype="bfloat16")
    assert clip.audio.samples.dtype == np.float32 and np.isfinite(clip.audio.samples).all()
    assert json.loads((tmp_path / "rain.json").read_text())["dtype"] == "bfloat16"
    with pytest.raises(MalsoriError, match="unknown dtype"):
        generate("rain", 0.5, model="musicgen", dtype="int4")


def test_musicgen_refuses_a_negative_prompt(home):
    with pytest.raises(MalsoriError, match="no negative prompt"):
        next(TextToAudio("musicgen").generate("rain", 0.5, negative="music"))


def test_tampered_missing_and_wrong_models_are_refused(home, tmp_path):
    import shutil

    from malsori.models.catalog import import_model

    with pytest.raises(ModelError, match="not a text-to-audio model"):
        TextToAudio(tmp_path).generator
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelError, match="not a text-to-audio model"):
        TextToAudio(tmp_path).generator
    (tmp_path / "state_dict.bin").write_bytes(b"0")
    (tmp_path / "compression_state_dict.bin").write_bytes(b"0")
    with pytest.raises(ModelError, match="audiocraft checkpoint"):
        TextToAudio(tmp_path).generator

    # A copy of the imported MusicGen, one byte of its weights changed, then a file gone.
    copy = tmp_path / "copy"
    shutil.copytree(home / "models" / "musicgen", copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="model.safetensors does not match its sha256"):
        TextToAudio(copy).generator
    weights.unlink()
    with pytest.raises(ModelError, match="model.safetensors is missing"):
        TextToAudio(copy).generator
    # A folder without its manifest: its own loader's error, in one line.
    (copy / "malsori-manifest.json").unlink()
    with pytest.raises(ModelError, match="cannot load MusicGen"):
        next(TextToAudio(copy).generate("rain", 0.5, seed=0))
    with pytest.raises(ModelError, match="audiocraft checkpoint"):
        import_model(tmp_path)


def test_with_no_model_installed_it_says_which_to_import(tmp_path, monkeypatch):
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path))
    result = run_cli(tmp_path, "generate", "rain", "-o", str(tmp_path / "x.wav"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "no text-to-audio model is installed" in result.stderr and "stable-audio-open" in result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_a_failure_mid_batch_keeps_the_outputs_that_finished(tmp_path):
    class FailsOnSecond:
        name, family, max_duration_s, default_steps = "fake:x", "fake", 10.0, None

        def __init__(self):
            self.calls = 0

        def generate(self, prompt, settings, on_step=None):
            self.calls += 1
            if self.calls == 2:
                raise MalsoriError("out of memory")
            return Audio(np.full(800, 0.1 * settings.seed, np.float32), 8000)

    paths = [tmp_path / f"c-{i}.wav" for i in (1, 2, 3)]
    with pytest.raises(MalsoriError, match="out of memory"):
        for result in TextToAudio(generator=FailsOnSecond()).generate("rain", 0.1, count=3, seed=1):
            write_generated(result, paths[result.index])
    assert paths[0].is_file() and paths[0].with_suffix(".json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-1.json", "c-1.wav"]  # nothing half written
