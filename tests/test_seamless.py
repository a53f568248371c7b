"""SeamlessEngine on a tiny random SeamlessM4T v2 saved to disk and loaded back the way users load
the real one. A random model writes gibberish, so these tests check types, shapes, rates,
language handling and errors, never the words."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach a hub
pytest.importorskip("torch")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_models sits beside the tests

from tiny_models import SEAMLESS_SPEAKERS, build_tiny_seamless  # noqa: E402

from malsori.audio import Audio  # noqa: E402
from malsori.engines.seamless import SPEECH_CODES, TEXT_CODES, SeamlessEngine  # noqa: E402
from malsori.errors import LanguageError, MalsoriError, ModelError  # noqa: E402
from malsori.protocols import Recognizer, SpeechToSpeech, Synthesizer, TextTranslator, Transcript  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_seamless(tmp_path_factory.mktemp("seamless"))


@pytest.fixture(scope="module")
def engine(model_dir) -> SeamlessEngine:
    return SeamlessEngine(model_dir=model_dir, max_new_tokens=8)


@pytest.fixture(scope="module")
def speech() -> Audio:
    """1.5 s of a 44.1 kHz stereo tone: the engine must downmix and resample it to 16 kHz."""
    t = np.arange(int(1.5 * 44_100)) / 44_100
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return Audio(np.stack([tone, 0.5 * tone], axis=1).astype(np.float32), 44_100)


def assert_speech(audio: Audio) -> None:
    assert isinstance(audio, Audio)
    assert audio.sample_rate == 16_000
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.frames > 0
    assert np.all(np.isfinite(audio.samples))


def assert_one_line(exc: pytest.ExceptionInfo) -> None:
    message = str(exc.value)
    assert message and "\n" not in message


def test_implements_all_four_protocols(engine):
    for protocol in (Recognizer, TextTranslator, Synthesizer, SpeechToSpeech):
        assert isinstance(engine, protocol)
    assert engine.name == "seamless-m4t-v2"


def test_language_sets_need_no_model(tmp_path):
    engine = SeamlessEngine(model_dir=tmp_path / "not-there")  # nothing loads until first use
    assert engine.languages() == engine.text_languages() == engine.translation_targets()
    assert "kor" in engine.languages() and "haw" not in engine.languages()
    voices = engine.voice_languages()
    assert len(voices) == 36 and {"kor", "eng", "cmn", "spa"} <= voices
    assert voices <= engine.text_languages()
    assert "amh" in engine.text_languages() and "amh" not in voices
    assert "zsm" in engine.text_languages() and "zlm" not in engine.text_languages()
    assert len(TEXT_CODES) == 98 and SPEECH_CODES <= TEXT_CODES


def test_supports_maps_codes(tmp_path):
    engine = SeamlessEngine(model_dir=tmp_path / "not-there")
    assert engine.supports("eng", "kor")
    assert engine.supports("en", "ko")  # ISO 639-1 spellings
    assert engine.supports("zsm", "eng")  # malsori's Malay is Seamless's zlm
    assert engine.supports("ckb", "eng")  # a Seamless code malsori does not list
    assert not engine.supports("eng", "haw")  # Hawaiian: not a Seamless language
    assert not engine.supports("eng", "xx")


def test_transcribe_recognises_in_the_spoken_language(engine, speech):
    transcript = engine.transcribe(speech, "eng")
    assert isinstance(transcript, Transcript)
    assert transcript.language == "eng" and transcript.task == "transcribe"
    assert len(transcript.segments) == 1
    segment = transcript.segments[0]
    assert segment.start == 0.0 and segment.end == pytest.approx(speech.duration)
    assert isinstance(segment.text, str) and isinstance(transcript.text, str)
    same = engine.transcribe(speech, "en", translate_to="eng")  # target = spoken: still ASR
    assert same.task == "transcribe" and same.language == "eng"


def test_transcribe_translates_speech_to_text(engine, speech):
    transcript = engine.transcribe(speech, "eng", translate_to="kor")
    assert transcript.task == "translate"
    assert transcript.language == "eng"  # the spoken language, as Whisper reports it
    assert len(transcript.segments) == 1 and transcript.segments[0].end == pytest.approx(speech.duration)
    unknown_source = engine.transcribe(speech, None, translate_to="spa")  # S2TT needs no source
    assert unknown_source.task == "translate" and unknown_source.language == "spa"


def test_transcribe_language_errors(engine, speech):
    with pytest.raises(LanguageError) as exc:
        engine.transcribe(speech)  # ASR has to be told the language
    assert_one_line(exc)
    with pytest.raises(LanguageError) as exc:
        engine.transcribe(speech, "haw")
    assert_one_line(exc)
    assert "Hawaiian" in str(exc.value)
    with pytest.raises(LanguageError):
        engine.transcribe(speech, "eng", translate_to="haw")
    with pytest.raises(LanguageError) as exc:
        engine.detect_language(speech)
    assert_one_line(exc)
    assert "--src" in str(exc.value)


def test_translate_batch(engine):
    texts = ["Hello, how are you?", "", "It is a fine day.", "   "]
    out = engine.translate(texts, "eng", "kor")
    assert isinstance(out, list) and len(out) == len(texts)
    assert all(isinstance(t, str) for t in out)
    assert out[1] == "" and out[3] == ""  # blank in, blank out
    assert engine.translate([], "eng", "spa") == []
    # zsm reaches the model as zlm: the tiny model has only __zlm__, so a missing mapping fails here.
    assert len(engine.translate(["Good morning"], "eng", "zsm")) == 1
    assert len(engine.translate(["Good morning"], "zsm", "eng")) == 1


def test_translate_language_errors(engine):
    with pytest.raises(LanguageError) as exc:
        engine.translate(["Hello"], "eng", "haw")
    assert_one_line(exc)
    with pytest.raises(LanguageError):
        engine.translate(["Hello"], "xx", "eng")
    # In Seamless's list, missing from the files on disk: the model's own tables are the final word.
    with pytest.raises(LanguageError) as exc:
        engine.translate(["Hello"], "eng", "deu")
    assert_one_line(exc)
    with pytest.raises(LanguageError):
        engine.translate(["Hello"], "deu", "eng")


def test_synthesize(engine):
    audio = engine.synthesize("Hello there", "kor")
    assert_speech(audio)
    assert_speech(engine.synthesize("Hello there", "en", voice=str(SEAMLESS_SPEAKERS - 1)))
    silent = engine.synthesize("  ", "eng")
    assert silent.frames == 0 and silent.sample_rate == 16_000


def test_synthesize_errors(engine):
    with pytest.raises(LanguageError) as exc:
        engine.synthesize("Hello", "amh")  # Seamless writes Amharic but cannot speak it
    assert_one_line(exc)
    with pytest.raises(LanguageError):
        engine.synthesize("Hello", "deu")  # a Seamless voice, absent from the tiny model
    for voice in (str(SEAMLESS_SPEAKERS), "-1", "narrator"):
        with pytest.raises(MalsoriError) as exc:
            engine.synthesize("Hello", "eng", voice=voice)
        assert_one_line(exc)


def test_speech_to_speech(engine, speech):
    transcript, audio = engine.speech_to_speech(speech, "spa", "eng")
    assert isinstance(transcript, Transcript)
    assert transcript.language == "spa" and transcript.task == "translate"
    assert len(transcript.segments) == 1
    assert transcript.segments[0].start == 0.0
    assert transcript.segments[0].end == pytest.approx(speech.duration)
    assert_speech(audio)
    _, unknown_source = engine.speech_to_speech(speech, "kor")
    assert_speech(unknown_source)


def test_speech_to_speech_errors(engine, speech):
    with pytest.raises(LanguageError) as exc:
        engine.speech_to_speech(speech, "amh", "eng")
    assert_one_line(exc)
    with pytest.raises(LanguageError):
        engine.speech_to_speech(speech, "spa", "xx")


def test_missing_directory_is_a_model_error(tmp_path, speech):
    engine = SeamlessEngine(model_dir=tmp_path / "not-there")
    with pytest.raises(ModelError) as exc:
        engine.transcribe(speech, "eng")
    assert_one_line(exc)
    with pytest.raises(ModelError):
        engine.translate(["Hello"], "eng", "spa")


def test_empty_directory_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as exc:
        SeamlessEngine(model_dir=tmp_path).translate(["Hello"], "eng", "spa")
    assert_one_line(exc)


def test_generation_config_without_language_tables(model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "generation_config.json").unlink()  # transformers then derives one with no tables
    with pytest.raises(ModelError) as exc:
        SeamlessEngine(model_dir=broken).translate(["Hello"], "eng", "spa")
    assert_one_line(exc)
    assert "generation_config.json" in str(exc.value)


def test_missing_transformers_names_the_extra(model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(ModelError) as exc:
        SeamlessEngine(model_dir=model_dir).translate(["Hello"], "eng", "spa")
    assert "malsori[seamless]" in str(exc.value)
    assert_one_line(exc)


def test_cli_runs_every_task_through_the_imported_model(model_dir, english_wav, tmp_path):
    """The user's path: `models import` a local SeamlessM4T v2 copy, then translate with it."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "MALSORI_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "malsori.cli"]
    proc = subprocess.run(cli + ["models", "import", str(model_dir), "--link"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "seamless-m4t-v2" in proc.stdout, proc.stderr
    out = tmp_path / "out.wav"
    proc = subprocess.run(cli + ["translate", str(english_wav), "--task", "s2st", "--src", "eng", "--tgt", "spa",
                                 "--model", "seamless-m4t-v2", "-o", str(out), "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["route"]["end_to_end"] == "seamless-m4t-v2" and sidecar["audio_duration"] > 0
    for task, extra in (("s2tt", [str(english_wav), "--src", "eng"]), ("asr", [str(english_wav), "--src", "eng"]),
                        ("t2tt", ["hello there", "--src", "eng"])):
        proc = subprocess.run(cli + ["translate", *extra, "--task", task, "--tgt", "spa" if task != "asr" else "eng",
                                     "--model", "seamless-m4t-v2", "-q"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, (task, proc.stderr)
    proc = subprocess.run(cli + ["translate", "hello there", "--task", "t2st", "--src", "eng", "--tgt", "kor",
                                 "--model", "seamless-m4t-v2", "-o", str(tmp_path / "ko.wav"), "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and (tmp_path / "ko.wav").stat().st_size > 44, proc.stderr
    proc = subprocess.run(cli + ["translate", str(english_wav), "--task", "s2tt", "--tgt", "spa",
                                 "--model", "seamless-m4t-v2", "-q"], capture_output=True, text=True, env=env)
    assert proc.returncode == 4 and "--src" in proc.stderr
