"""The long-running Apertium pipeline gives what the one-shot `apertium` command gives."""

import subprocess

import pytest

pytestmark = pytest.mark.apertium


def one_shot(text: str) -> str:
    out = subprocess.run(["apertium", "-u", "eng-spa"], input=text, capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_pipe_matches_the_apertium_command_including_format_characters():
    from malsori.engines.mt.apertium import ApertiumTranslator

    texts = ["The two stray kittens gradually make themselves at home.", "Good morning",
             "It costs $5, or 5% of 100/200 [roughly] ^ <more> @home {x} \\ done."]
    got = ApertiumTranslator().translate(texts + [""], "eng", "spa")
    assert got[:3] == [one_shot(t) for t in texts]
    assert got[3] == ""
    assert all(ch in got[2] for ch in "$%/[]^<>@{}\\")


def test_pipe_restarts_after_its_process_dies():
    from malsori.engines.mt import apertium

    translator = apertium.ApertiumTranslator()
    first = translator.translate(["Good morning"], "eng", "spa")
    pipe = apertium._PIPES[("eng", "spa", False)]
    pipe.proc.kill()
    pipe.proc.wait()
    assert translator.translate(["Good morning"], "eng", "spa") == first
