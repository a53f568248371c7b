"""AudioGen's audiocraft checkpoints converted into transformers' MusicGen classes, checked against
audiocraft's own classes on tiny random models saved in audiocraft's layout: the same logits for
the same tokens and prompt encoding, the same waveform for the same codes."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from malsori.errors import ModelError  # noqa: E402
from tiny_models import _tiny_t5_tokenizer  # noqa: E402

LM_CONFIG = {"transformer_lm": {"dim": 16, "num_heads": 2, "num_layers": 2, "hidden_scale": 2, "n_q": 4, "card": 64,
                                "norm": "layer_norm", "norm_first": True, "bias_proj": False, "bias_ff": False,
                                "bias_attn": False, "positional_embedding": "sin", "activation": "gelu"},
             "codebooks_pattern": {"modeling": "delay", "delay": {"delays": [0, 1, 2, 3]}},
             "classifier_free_guidance": {"inference_coef": 3.0}}
SEANET = {"dimension": 16, "channels": 1, "n_filters": 4, "n_residual_layers": 1, "ratios": [8, 5, 4, 2],
          "activation": "ELU", "norm": "weight_norm", "kernel_size": 7, "last_kernel_size": 7, "residual_kernel_size": 3,
          "dilation_base": 2, "causal": False, "pad_mode": "constant", "true_skip": True, "compress": 2, "lstm": 2}
COMPRESSION_CONFIG = {"sample_rate": 16000, "channels": 1, "seanet": SEANET, "rvq": {"n_q": 4, "bins": 64}}


def _stand_in(monkeypatch, name: str, **attributes) -> None:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


@pytest.fixture
def audiocraft(monkeypatch):
    """audiocraft's model classes. Its package imports torchaudio (mel losses) and spacy (text
    normalisers) at start-up, which these classes never use: where they cannot be imported, empty
    modules stand in for them."""
    pytest.importorskip("omegaconf")
    try:
        import torchaudio.transforms  # noqa: F401
    except (ImportError, OSError):
        _stand_in(monkeypatch, "torchaudio", __version__="0.0")
        _stand_in(monkeypatch, "torchaudio.transforms", MelSpectrogram=object)
        _stand_in(monkeypatch, "torchaudio.functional")
    try:
        import spacy  # noqa: F401
    except ImportError:
        _stand_in(monkeypatch, "spacy")
    return pytest.importorskip("audiocraft.models.lm")


def _tiny_audiocraft(folder, t5_dim: int = 12):
    """A tiny AudioGen in audiocraft's layout: state_dict.bin and compression_state_dict.bin."""
    from audiocraft.models.encodec import EncodecModel
    from audiocraft.models.lm import LMModel
    from audiocraft.modules.codebooks_patterns import DelayedPatternProvider
    from audiocraft.modules.conditioners import BaseConditioner, ConditionFuser, ConditioningProvider
    from audiocraft.modules.seanet import SEANetDecoder, SEANetEncoder
    from audiocraft.quantization.vq import ResidualVectorQuantizer
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    lm_kwargs = dict(LM_CONFIG["transformer_lm"])
    provider = ConditioningProvider({"description": BaseConditioner(dim=t5_dim, output_dim=16)})
    fuser = ConditionFuser(fuse2cond={"cross": ["description"], "prepend": [], "sum": [], "input_interpolate": []})
    lm = LMModel(DelayedPatternProvider(n_q=4), provider, fuser, cross_attention=True, causal=True, past_context=None,
                 **lm_kwargs).eval()
    seanet = {k: v for k, v in SEANET.items()}
    codec = EncodecModel(SEANetEncoder(**seanet), SEANetDecoder(**seanet),
                         ResidualVectorQuantizer(dimension=16, n_q=4, bins=64), frame_rate=50, sample_rate=16000,
                         channels=1, causal=False, renormalize=False).eval()
    with torch.no_grad():  # codebooks start as zeros until trained
        for layer in codec.quantizer.vq.layers:
            layer._codebook.embed.normal_()
            layer._codebook.inited.fill_(1)
    folder.mkdir()
    torch.save({"xp.cfg": OmegaConf.create(LM_CONFIG), "best_state": lm.state_dict()}, folder / "state_dict.bin")
    torch.save({"xp.cfg": OmegaConf.create(COMPRESSION_CONFIG), "best_state": codec.state_dict()},
               folder / "compression_state_dict.bin")
    return lm, codec


def _tiny_t5(folder, dim: int = 12):
    from transformers import T5Config, T5EncoderModel

    tokenizer = _tiny_t5_tokenizer(folder)
    T5EncoderModel(T5Config(vocab_size=36, d_model=dim, d_kv=6, d_ff=24, num_layers=1, num_heads=2)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def test_an_audiogen_checkpoint_becomes_a_musicgen_folder_that_computes_the_same(audiocraft, tmp_path, monkeypatch):
    from transformers import MusicgenForConditionalGeneration

    from malsori.engines.generation.audiocraft import convert_audiocraft
    from malsori.pipelines.generate import TextToAudio

    lm, codec = _tiny_audiocraft(tmp_path / "audiogen")
    _tiny_t5(tmp_path / "t5")
    out = convert_audiocraft(tmp_path / "audiogen", tmp_path / "t5", tmp_path / "converted")
    model = MusicgenForConditionalGeneration.from_pretrained(out).eval()

    # The language model: logits for the same tokens and the same T5 encoding of a prompt.
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 64, (2, 4, 9), generator=generator)
    encoding = torch.randn(2, 5, 12, generator=generator)
    mask = torch.ones(2, 5)
    with torch.no_grad():
        condition = lm.condition_provider.conditioners["description"].output_proj(encoding)
        theirs = lm(tokens, conditions=[], condition_tensors={"description": (condition, mask)})  # (B, K, S, card)
        ours = model.decoder(input_ids=tokens.reshape(8, 9), encoder_hidden_states=model.enc_to_dec_proj(encoding),
                             encoder_attention_mask=mask).logits.reshape(2, 4, 9, 64)
    assert torch.allclose(theirs, ours, atol=1e-4), (theirs - ours).abs().max()

    # EnCodec: the same waveform from the same codes.
    codes = torch.randint(0, 64, (1, 4, 25), generator=generator)
    with torch.no_grad():
        theirs = codec.decode(codes)
        ours = model.audio_encoder.decode(codes[None], [None]).audio_values
    assert theirs.shape == ours.shape and torch.allclose(theirs, ours, atol=1e-4), (theirs - ours).abs().max()
    assert model.generation_config.guidance_scale == 3.0 and model.generation_config.top_k == 250

    # It imports as AudioGen (the 16 kHz one) and generates like any MusicGen folder.
    from malsori.models.catalog import import_model

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    assert import_model(out)[0] == "audiogen"
    [clip] = TextToAudio("audiogen").generate("a dog barks", 0.5, seed=3)
    assert clip.audio.sample_rate == 16000 and clip.audio.frames == 8000 and np.abs(clip.audio.samples).max() > 0
    assert clip.model.startswith("audiogen:")
    # Through the command line and the server too.
    env = {**os.environ, "MALSORI_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "malsori.cli", "generate", "rain", "-d", "0.5", "--model", "audiogen",
                             "--seed", "3", "-q", "-o", str(tmp_path / "rain.wav")], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    from malsori.audio import load_audio

    again = next(TextToAudio("audiogen").generate("rain", 0.5, seed=3)).audio.samples
    assert np.abs(load_audio(tmp_path / "rain.wav").samples - again).max() < 1e-4  # the same, as 16-bit PCM
    from fastapi.testclient import TestClient

    from malsori.serve.app import create_app

    reply = TestClient(create_app(translator=object())).post("/v1/generate", data={"prompt": "rain", "duration": "0.5",
                                                                                  "model": "audiogen"})
    assert reply.status_code == 200 and reply.headers["content-type"] == "audio/wav"


def test_audiocraft_conversion_refuses_what_it_cannot_map(audiocraft, tmp_path):
    from malsori.engines.generation.audiocraft import convert_audiocraft

    _tiny_audiocraft(tmp_path / "audiogen")
    _tiny_t5(tmp_path / "t5")
    with pytest.raises(ModelError, match="already exists"):
        convert_audiocraft(tmp_path / "audiogen", tmp_path / "t5", tmp_path / "t5")
    with pytest.raises(ModelError, match="not a T5 folder"):
        convert_audiocraft(tmp_path / "audiogen", tmp_path / "audiogen", tmp_path / "out")
    (tmp_path / "audiogen" / "compression_state_dict.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not an audiocraft checkpoint"):
        convert_audiocraft(tmp_path / "audiogen", tmp_path / "t5", tmp_path / "out")
    (tmp_path / "audiogen" / "compression_state_dict.bin").unlink()
    with pytest.raises(ModelError, match="compression_state_dict.bin is missing"):
        convert_audiocraft(tmp_path / "audiogen", tmp_path / "t5", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.converting").exists()
    result = subprocess.run([sys.executable, "-m", "malsori.cli", "models", "convert-audiocraft", str(tmp_path / "audiogen"),
                             "--text-encoder", str(tmp_path / "t5"), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "compression_state_dict.bin is missing" in result.stderr
