"""Shared fixtures. Tests make their own speech with the bundled voices: no recordings, no network."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ENGLISH_SENTENCE = "The quick brown fox jumps over the lazy dog. I would like a cup of coffee."


def pytest_collection_modifyitems(config, items):
    need = {"espeak": shutil.which("espeak-ng"), "apertium": shutil.which("apertium")}
    for item in items:
        for prog, found in need.items():
            if prog in item.keywords and not found:
                item.add_marker(pytest.mark.skip(reason=f"{prog} is not installed (make test installs it)"))


def pytest_configure(config):
    config.addinivalue_line("markers", "espeak: needs the espeak-ng program")
    config.addinivalue_line("markers", "apertium: needs apertium with the eng-spa pair")


@pytest.fixture(scope="session")
def piper():
    from malsori.engines.tts.piper import PiperSynthesizer

    return PiperSynthesizer()


@pytest.fixture(scope="session")
def english_speech(piper):
    """About 5 s of English read by the bundled Piper voice, 22.05 kHz."""
    return piper.synthesize(ENGLISH_SENTENCE, "eng")


@pytest.fixture(scope="session")
def english_wav(tmp_path_factory, english_speech):
    from malsori.audio import save_audio

    path = tmp_path_factory.mktemp("speech") / "english.wav"
    save_audio(path, english_speech)
    return path


@pytest.fixture(scope="session")
def translator():
    from malsori import Translator

    return Translator()
