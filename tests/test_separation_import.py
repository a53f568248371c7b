"""Separators trained with SpeechBrain or Asteroid, converted into malsori model folders: tiny
randomly initialised models of their real classes must give, through our ONNX runtime, what their
own packages give."""

import importlib.machinery
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from malsori.errors import ModelError  # noqa: E402

TINY_SEPFORMER = """\
sample_rate: 8000
num_spks: 2
Encoder: !new:speechbrain.lobes.models.dual_path.Encoder
    kernel_size: 16
    out_channels: 32
SBtfintra: !new:speechbrain.lobes.models.dual_path.SBTransformerBlock
    {num_layers: 1, d_model: 32, nhead: 4, d_ffn: 64, dropout: 0, use_positional_encoding: True, norm_before: True}
SBtfinter: !new:speechbrain.lobes.models.dual_path.SBTransformerBlock
    {num_layers: 1, d_model: 32, nhead: 4, d_ffn: 64, dropout: 0, use_positional_encoding: True, norm_before: True}
MaskNet: !new:speechbrain.lobes.models.dual_path.Dual_Path_Model
    num_spks: !ref <num_spks>
    in_channels: 32
    out_channels: 32
    num_layers: 1
    K: 50
    intra_model: !ref <SBtfintra>
    inter_model: !ref <SBtfinter>
    norm: ln
    linear_layer_after_inter_intra: False
    skip_around_intra: True
Decoder: !new:speechbrain.lobes.models.dual_path.Decoder
    {in_channels: 32, out_channels: 1, kernel_size: 16, stride: 8, bias: False}
modules:
    encoder: !ref <Encoder>
    decoder: !ref <Decoder>
    masknet: !ref <MaskNet>
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables: {masknet: !ref <MaskNet>, encoder: !ref <Encoder>, decoder: !ref <Decoder>}
"""


@pytest.fixture
def speechbrain(monkeypatch):
    """SpeechBrain imports torchaudio at start-up (for file I/O these tests do not use); where no
    torchaudio build matches the installed torch, an empty module stands in for it."""
    pytest.importorskip("hyperpyyaml")
    try:
        import torchaudio  # noqa: F401
    except (ImportError, OSError):
        stand_in = types.ModuleType("torchaudio")
        stand_in.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        stand_in.__version__ = "0.0"
        stand_in.list_audio_backends = lambda: ["soundfile"]
        monkeypatch.setitem(sys.modules, "torchaudio", stand_in)
    return pytest.importorskip("speechbrain")


def _tiny_sepformer(folder):
    from hyperpyyaml import load_hyperpyyaml

    folder.mkdir()
    (folder / "hyperparams.yaml").write_text(TINY_SEPFORMER)
    torch.manual_seed(0)
    modules = load_hyperpyyaml(TINY_SEPFORMER)["modules"]
    for name, module in modules.items():
        torch.save(module.state_dict(), folder / f"{name}.ckpt")
    return folder


def _difference(ours: np.ndarray, theirs: np.ndarray, tail: int = 0) -> float:
    """Largest difference relative to the peak, leaving out the last ``tail`` samples."""
    end = ours.shape[1] - tail
    return float(np.abs(ours[:, :end] - theirs[:, :end]).max() / np.abs(theirs).max())


def _compare(separator, network) -> None:
    """Same output on a length the filterbank tiles (16 + 8k samples). On any other length we pad
    the last frame with zeros where the packages drop it: its last 16 samples differ, and
    statistics taken over the whole input (global norms, attention) move slightly."""
    generator = torch.Generator().manual_seed(1)
    for length, tail, tolerance in ((9000, 0, 1e-4), (9003, 16, 2e-2)):
        mixture = torch.randn(1, length, generator=generator) * 0.1
        with torch.no_grad():
            theirs = network(mixture)
        ours = separator._once(mixture[0].numpy(), None)
        assert ours.shape == theirs.shape == (2, length)
        assert _difference(ours, theirs, tail) < tolerance, length


def test_sepformer_from_a_local_folder_gives_what_speechbrain_gives(tmp_path, speechbrain):
    from speechbrain.inference.separation import SepformerSeparation

    from malsori.engines.separation.convert import import_separator
    from malsori.pipelines.separate import BlindSeparator

    source = _tiny_sepformer(tmp_path / "sepformer")
    reference = SepformerSeparation.from_hparams(source=str(source), savedir=str(tmp_path / "sb"))
    separator = BlindSeparator(import_separator(source, tmp_path / "converted"))
    assert (separator.sample_rate, separator.task) == (8000, "separation")
    _compare(separator, lambda mixture: reference.separate_batch(mixture)[0].T.numpy())  # (sources, samples)


def test_asteroid_convtasnet_file_gives_what_asteroid_gives(tmp_path):
    from asteroid.models import ConvTasNet

    from malsori.engines.separation.convert import import_separator
    from malsori.pipelines.separate import BlindSeparator

    torch.manual_seed(0)
    model = ConvTasNet(n_src=2, n_blocks=2, n_repeats=1, bn_chan=16, hid_chan=16, skip_chan=16, n_filters=32,
                       kernel_size=16, stride=8, sample_rate=8000).eval()
    # What Asteroid's serialize() writes (less its version block, which needs Lightning).
    torch.save({"model_name": "ConvTasNet", "state_dict": model.get_state_dict(), "model_args": model.get_model_args()},
               tmp_path / "convtasnet.pth")
    separator = BlindSeparator(import_separator(tmp_path / "convtasnet.pth", tmp_path / "converted"))
    _compare(separator, lambda mixture: model(mixture)[0].numpy())
    card = (tmp_path / "converted" / "separator.json").read_text()
    assert "ConvTasNet (Asteroid)" in card and "convtasnet.pth" in card


def test_what_cannot_be_converted_is_said_in_one_line(tmp_path, speechbrain):
    from malsori.engines.separation.convert import import_separator

    with pytest.raises(ModelError, match="no such file"):
        import_separator(tmp_path / "nothing", tmp_path / "out")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match="not an Asteroid model file"):
        import_separator(tmp_path / "other.pth", tmp_path / "out")
    source = _tiny_sepformer(tmp_path / "sepformer")
    (source / "masknet.ckpt").unlink()
    with pytest.raises(ModelError, match="masknet.ckpt is missing"):
        import_separator(source, tmp_path / "out")
    assert not (tmp_path / "out" / "separator.json").exists()
