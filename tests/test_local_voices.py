"""Neural voices a user already has on disk: Piper (.onnx + .onnx.json, any language) and MMS-TTS
(VITS in transformers format), tested on the bundled Piper voice and a tiny random VitsModel."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from malsori.errors import LanguageError, ModelError


def test_an_mms_tts_folder_speaks_its_language(tmp_path):
    from tiny_models import build_tiny_mms

    from malsori.engines.tts.local import MmsSynthesizer, local_voice

    folder = build_tiny_mms(tmp_path / "mms-tts-kor")
    engine = local_voice(folder)
    assert isinstance(engine, MmsSynthesizer) and engine.voice_languages() == {"kor"}
    model, tokenizer = engine._load()
    assert len(tokenizer("안녕하세요 여러분")["input_ids"]) > 10  # Hangul romanised (uroman), not dropped
    audio = engine.synthesize("안녕하세요 여러분", "kor")
    again = engine.synthesize("안녕하세요 여러분", "kor")
    assert audio.sample_rate == 16000 and audio.duration > 0 and np.isfinite(audio.samples).all()
    assert np.array_equal(audio.samples, again.samples)  # VITS samples: the seed makes it repeatable
    with pytest.raises(LanguageError, match="speaks only kor"):
        engine.synthesize("hello", "eng")
    renamed = tmp_path / "some-voice"
    shutil.copytree(folder, renamed)
    config = json.loads((renamed / "tokenizer_config.json").read_text())
    config.pop("language")
    (renamed / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="which language"):
        local_voice(renamed)


def test_a_piper_voice_file_speaks_by_its_config(tmp_path):
    from malsori.engines.tts.local import local_voice
    from malsori.models import resolve

    source = next(resolve("piper-en-joe").glob("*.onnx"))
    voice = tmp_path / "voices" / source.name
    voice.parent.mkdir()
    shutil.copy(source, voice)
    shutil.copy(source.with_suffix(".onnx.json"), voice.with_suffix(".onnx.json"))
    for path in (voice, voice.parent):
        engine = local_voice(path)
        assert engine.voice_languages() == {"eng"}
    assert engine.synthesize("Hello there.", "eng").duration > 0.3
    voice.with_suffix(".onnx.json").unlink()
    with pytest.raises(ModelError, match="not a voice"):
        local_voice(voice.parent)


def test_speak_takes_a_voice_folder(tmp_path):
    from tiny_models import build_tiny_mms

    from malsori.audio import load_audio
    from malsori.pipelines.speak import speak_document, synthesizer_for

    folder = build_tiny_mms(tmp_path / "mms-tts-kor")
    engine, voice = synthesizer_for("kor", str(folder))
    assert voice is None
    spoken = speak_document(["첫 문장입니다. 두 번째 문장."], "kor", tmp_path / "out.wav", engine)
    assert len(spoken) == 2 and load_audio(tmp_path / "out.wav").sample_rate == 16000
    with pytest.raises(LanguageError, match="speaks kor, not spa"):
        synthesizer_for("spa", str(folder))
