"""`malsori eval` on a manifest of generated speech, and missing system programs."""

import json
import shutil

import pytest

from conftest import ENGLISH_SENTENCE
from malsori.errors import MalsoriError, ModelError


@pytest.mark.slow
def test_eval_asr_and_s2st_manifest(tmp_path, english_wav, translator):
    from malsori.eval.run import evaluate_manifest

    shutil.copy(english_wav, tmp_path / "a.wav")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\tlang\ttext\ttranslation\n"
                        f"a.wav\ten\t{ENGLISH_SENTENCE}\tEl zorro marrón rápido salta sobre el perro perezoso. "
                        "Quisiera una taza de café.\n")
    report = evaluate_manifest(manifest, "asr", None, translator, output=tmp_path / "r.json")
    assert report["summary"]["utterances"] == 1 and report["summary"]["wer_eng"] <= 15
    assert 0 < report["summary"]["rtf"] < 5
    assert json.loads((tmp_path / "r.json").read_text())["items"][0]["hyp"]
    if shutil.which("apertium") and shutil.which("espeak-ng"):
        report = evaluate_manifest(manifest, "s2st", "spa", translator)
        summary = report["summary"]
        assert 0 < summary["bleu"] <= 100 and summary["chrf"] > 30
        assert summary["round_trip_chrf"] > 40 and "asr_bleu" in summary


def test_eval_rejects_bad_manifests(tmp_path, translator):
    from malsori.eval.run import evaluate_manifest

    bad = tmp_path / "bad.tsv"
    bad.write_text("file\tsentence\nx.wav\thello\n")
    with pytest.raises(MalsoriError, match="header"):
        evaluate_manifest(bad, "asr", None, translator)
    with pytest.raises(MalsoriError, match="no such manifest"):
        evaluate_manifest(tmp_path / "none.tsv", "asr", None, translator)


def test_missing_system_programs_name_the_package(monkeypatch):
    from malsori.engines.mt import apertium
    from malsori.engines.tts import espeak

    monkeypatch.setattr(shutil, "which", lambda name: None)
    apertium.installed_pairs.cache_clear()
    espeak.installed_voices.cache_clear()
    try:
        with pytest.raises(ModelError, match="apt-get install apertium"):
            apertium.ApertiumTranslator().translate(["hello"], "eng", "spa")
        with pytest.raises(ModelError, match="apt-get install espeak-ng"):
            espeak.EspeakSynthesizer().synthesize("hola", "spa")
        assert espeak.EspeakSynthesizer().voice_languages() == set()
    finally:
        monkeypatch.undo()
        apertium.installed_pairs.cache_clear()
        espeak.installed_voices.cache_clear()


def test_apertium_post_edits_fix_the_courtesy_please_only():
    from malsori.engines.mt.apertium import post_edit

    assert post_edit("Dos entradas al museo, complacer.", "eng", "spa") == "Dos entradas al museo, por favor."
    assert post_edit("Complacer, sienta.", "eng", "spa") == "Por favor, sienta."
    assert post_edit("Quieren complacer sus padres.", "eng", "spa") == "Quieren complacer sus padres."
    assert post_edit("Hola. Complacer abrir la ventana.", "eng", "spa") == "Hola. Por favor, abrir la ventana."
    assert post_edit("Complacer a todos es difícil.", "eng", "spa") == "Complacer a todos es difícil."
    assert post_edit("museo, complacer.", "spa", "eng") == "museo, complacer."  # other pairs untouched
