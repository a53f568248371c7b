"""NllbTranslator on a tiny random M2M100 (NLLB's architecture) converted to CTranslate2 the way a
real NLLB is. Its output is gibberish, so these tests check shapes, language codes and errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach a hub
pytest.importorskip("ctranslate2")
pytest.importorskip("sentencepiece")
pytest.importorskip("torch")  # only to build the tiny model; the translator itself needs neither
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tiny_models sits beside the tests

from tiny_models import NLLB_LANGS, build_tiny_nllb  # noqa: E402

from malsori.engines.mt.nllb import NLLB_CODES, NllbTranslator, flores_code  # noqa: E402
from malsori.errors import LanguageError, ModelError  # noqa: E402
from malsori.protocols import TextTranslator  # noqa: E402

TEXTS = ["Hello, how are you today?", "", "I would like a cup of coffee.", "커피 한 잔 주세요."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_nllb(tmp_path_factory.mktemp("nllb"))


@pytest.fixture(scope="module")
def nllb(model_dir) -> NllbTranslator:
    return NllbTranslator(model_dir=model_dir, beam_size=2, max_decoding_length=12)


def assert_one_line(exc: pytest.ExceptionInfo) -> None:
    message = str(exc.value)
    assert message and "\n" not in message


def test_converted_layout_is_what_the_catalog_expects(model_dir):
    from malsori.models.catalog import detect_kind

    assert (model_dir / "model.bin").is_file() and (model_dir / "sentencepiece.bpe.model").is_file()
    assert detect_kind(model_dir) == "nllb-200"


def test_flores_codes():
    assert len(NLLB_CODES) == 202 and set(NLLB_LANGS) <= NLLB_CODES
    assert flores_code("kor") == "kor_Hang" and flores_code("ko") == "kor_Hang"
    assert flores_code("cmn") == "zho_Hans"  # NLLB files Mandarin under zho
    assert flores_code("zho_Hant") == "zho_Hant"  # FLORES codes pass through, script and all
    assert flores_code("ar") == "arb_Arab" and flores_code("fa") == "pes_Arab"
    assert flores_code("yid") == "ydd_Hebr"
    assert flores_code("fuv") == "fuv_Latn"  # not in malsori's table, unambiguous in NLLB's
    for code in ("eng", "spa", "kor", "fra", "deu", "jpn", "zsm", "swh", "uzn", "khk"):
        assert flores_code(code) in NLLB_CODES


def test_supports(tmp_path):
    translator = NllbTranslator(model_dir=tmp_path / "not-there")  # no model needed to answer
    assert isinstance(translator, TextTranslator)
    assert translator.supports("eng", "kor") and translator.supports("cmn", "yue")
    assert not translator.supports("eng", "haw")  # Hawaiian is not among NLLB's 200
    assert not translator.supports("xx", "eng")


def test_translate_batch(nllb):
    out = nllb.translate(TEXTS, "eng", "spa")
    assert isinstance(out, list) and len(out) == len(TEXTS)
    assert all(isinstance(t, str) for t in out)
    assert out[1] == ""  # blank in, blank out
    assert any(out)  # the random model does write something for the real sentences
    for text in out:
        assert "spa_Latn" not in text and "⁇" not in text and "</s>" not in text
    assert nllb.translate([], "eng", "spa") == []
    assert len(nllb.translate(TEXTS, "kor", "eng")) == len(TEXTS)


def test_language_tokens_never_reach_the_text(tmp_path):
    # A decoder rigged to emit the target code at every step: all of it must be stripped.
    rigged = NllbTranslator(model_dir=build_tiny_nllb(tmp_path, favour_token="spa_Latn"),
                            beam_size=1, max_decoding_length=6)
    assert rigged.translate(["Hello, how are you today?", "Quiero una taza de cafe."], "eng", "spa") == ["", ""]


def test_language_errors(nllb):
    with pytest.raises(LanguageError) as exc:
        nllb.translate(["Hello"], "eng", "haw")
    assert_one_line(exc)
    with pytest.raises(LanguageError):
        nllb.translate(["Hello"], "xx", "eng")
    # An NLLB language whose code the model on disk lacks (the tiny one knows three).
    with pytest.raises(LanguageError) as exc:
        nllb.translate(["Hello"], "eng", "fra")
    assert_one_line(exc)
    assert "fra_Latn" in str(exc.value)


def test_missing_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as exc:
        NllbTranslator(model_dir=tmp_path / "not-there").translate(["Hello"], "eng", "spa")
    assert_one_line(exc)


def test_directory_without_sentencepiece_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as exc:
        NllbTranslator(model_dir=tmp_path).translate(["Hello"], "eng", "spa")
    assert_one_line(exc)
    assert "sentencepiece.bpe.model" in str(exc.value)


def test_corrupt_model_is_a_model_error(model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in model_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError) as exc:
        NllbTranslator(model_dir=broken).translate(["Hello"], "eng", "spa")
    assert_one_line(exc)


def test_cli_uses_an_imported_nllb_for_pairs_apertium_lacks(model_dir, tmp_path):
    """`models import` a converted NLLB, then `--mt-model nllb-200` serves eng -> kor text."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MALSORI_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "malsori.cli"]
    proc = subprocess.run(cli + ["models", "import", str(model_dir)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "nllb-200" in proc.stdout, proc.stderr
    proc = subprocess.run(cli + ["translate", "Hello there. How are you?", "--task", "t2tt", "--src", "eng",
                                 "--tgt", "kor", "--mt-model", "nllb-200", "--format", "json", "-q"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout)
    assert result["route"]["mt"] == ["nllb-200"] and len(result["segments"]) == 2
    # Without the flag the default pool still finds the imported model.
    proc = subprocess.run(cli + ["translate", "Hello", "--task", "t2tt", "--src", "eng", "--tgt", "kor",
                                 "--format", "json", "-q"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["route"]["mt"] == ["nllb-200"], proc.stderr
