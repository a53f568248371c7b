"""eSpeak NG's MBROLA voices: eSpeak NG's reading renamed into a database's phones, phrases
reshaped in pitch, and (with the Spanish databases installed; make test installs them) speech
Whisper reads back, from databases outside /usr/share/mbrola."""

from __future__ import annotations

import numpy as np
import pytest

from malsori.engines.tts.espeak_mbrola import (EspeakMbrola, Phone, find_voices, mbrola_language, parse_pho,
                                               reshape_pitch, trim_silence, VoiceName)
from malsori.errors import ModelError
from malsori.protocols import Phrase

needs_spanish = pytest.mark.skipif(
    not {"es1", "mx2"} <= set(find_voices().databases),
    reason="MBROLA es1/mx2 are not installed (make test runs scripts/install_mbrola_voices.sh)")


def test_pho_is_parsed_with_its_pitch_targets():
    phones = parse_pho("; comment\n_ 50\nd 65\ne/ 40 0 108 80 104\n\n")
    assert [p.name for p in phones] == ["_", "d", "e/"]
    assert phones[2].ms == 40 and phones[2].pitch == ((0, 108), (80, 104))
    assert phones[2].line() == "e/ 40 0 108 80 104"
    assert [p.name for p in trim_silence(parse_pho("_ 10\n_ 5\na 50\n_ 300\n"))] == ["a"]


def test_pitch_is_moved_to_the_register_and_its_spread_scaled():
    phones = [Phone("a", 80, ((0, 100.0), (100, 120.0))), Phone("s", 90, ()), Phone("o", 80, ((50, 90.0),))]
    same = reshape_pitch(phones, None, 1.0)
    assert [hz for p in same for _, hz in p.pitch] == pytest.approx([100, 120, 90])
    moved = reshape_pitch(phones, 200.0, 2.0)
    hz = np.log([h for p in moved for _, h in p.pitch])
    assert np.exp(np.median(hz)) == pytest.approx(200, rel=1e-6)
    assert np.std(hz) == pytest.approx(2 * np.std(np.log([100, 120, 90])), rel=1e-6)
    assert [p.ms for p in moved] == [80, 90, 80]


def test_phones_a_database_lacks_are_renamed_to_what_it_has(monkeypatch):
    engine = EspeakMbrola()
    has = {"_", "e", "jj", "L", "r"}
    monkeypatch.setattr(engine, "knows", lambda database, phone: phone in has)
    rename = engine._rename
    assert rename("es1", Phone("e/", 40, ((0, 100),))) == Phone("e", 40, ((0, 100),))  # stress mark dropped
    assert rename("es1", Phone("l^", 60, ())).name == "jj"  # ll: the nearest stand-in first
    assert rename("es1", Phone("R2", 30, ())).name == "r"
    assert rename("es1", Phone("Q", 30, ())).name == "Q"  # nothing near: MBROLA bridges it


def test_a_missing_voice_says_how_to_install_it(tmp_path):
    engine = EspeakMbrola(model_dir=tmp_path)
    assert engine.voices("spa") == [] and not engine.speaks("mb-es1")
    with pytest.raises(ModelError, match="install_mbrola_voices.sh es1"):
        engine.speak("mb-es1", "hola", 120, 50, 1)
    assert mbrola_language("mb-mx2") == "spa" and mbrola_language("mb-xx9") == ""
    assert VoiceName.parse("mb-es1+0.93") == VoiceName("es1", "es1", 0.93)
    assert VoiceName.parse("mb-it3-es") == VoiceName("it3", "es1", 1.0)  # it3 reading Spanish as es1 does
    assert mbrola_language("mb-it3-es+0.9") == "spa" and mbrola_language("mb-it3") == ""
    for other in ("es-419+m3", "mb-es1+m3", "mb-it3-xx", "mb-es1+2.5"):
        assert VoiceName.parse(other) is None


@needs_spanish
def test_the_voices_are_offered_and_know_their_phones():
    from malsori.engines.tts.espeak import EspeakSynthesizer

    tts = EspeakSynthesizer()
    assert {"mb-es1", "mb-mx2"} <= set(tts.voices("spa")) and "mb-es1" not in tts.voices("eng")
    engine = tts.mbrola
    assert engine.knows("es1", "e") and not engine.knows("es1", "e/")
    names = {p.name for p in engine.phones("mb-mx2", "Las llaves de la calle.", 120, 50, 1)}
    assert names <= {p for p in names if engine.knows("mx2", p)}  # nothing left for MBROLA to bridge
    assert "l^" not in names and not any("/" in n for n in names)


@needs_spanish
@pytest.mark.slow
def test_whisper_reads_the_voices_back():
    from fakes import heard_back

    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.eval.metrics import chrf, normalize

    tts = EspeakSynthesizer()
    sentences = ["¿Dónde has dejado las llaves del coche?", "Los niños juegan en el parque después de la escuela."]
    for voice in ("mb-es1", "mb-mx2"):
        heard = heard_back(tts, sentences, "spa", voice)
        # Unrenamed, eSpeak NG's stressed vowels come out as silence: chrF about 45.
        assert chrf([normalize(s, "spa") for s in sentences], [normalize(h, "spa") for h in heard]) > 75, heard


@needs_spanish
def test_phrases_carry_their_register_spread_pace_level_and_pause():
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.prosody.analysis import analyze
    from malsori.protocols import PhraseSynthesizer

    tts = EspeakSynthesizer()
    assert isinstance(tts, PhraseSynthesizer)
    first, second = "mi hermana trabaja en el hospital", "cerca del puerto de la ciudad"
    plain = tts.synthesize_phrases([Phrase(first), Phrase(second)], "spa", voice="mb-es1")
    shaped = tts.synthesize_phrases([Phrase(first, pitch_hz=150, pitch_spread=0.25, volume_db=-8, pause_after=0.6),
                                     Phrase(second, pitch_hz=150, speed=0.7)], "spa", voice="mb-es1")
    before, after = analyze(plain), analyze(shaped)
    assert np.nanmedian(before.f0) < 125 and np.nanmedian(after.f0) == pytest.approx(150, rel=0.12)
    assert after.log_f0_stats()[1] > 1.3 * before.log_f0_stats()[1]
    assert shaped.duration > plain.duration + 0.8  # the pause, and the slower second phrase
    assert any(b - a >= 0.5 for a, b in after.pauses)
    cut = int(1.2 * shaped.sample_rate)  # inside the first, quieter phrase
    assert np.abs(shaped.samples[:cut]).max() < 0.6 * np.abs(shaped.samples[-2 * cut:]).max()


@needs_spanish
def test_a_scaled_voice_has_its_formants_moved_and_keeps_its_timing():
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.prosody.analysis import analyze
    from malsori.prosody.transfer import measure_formant_ratio

    tts = EspeakSynthesizer()
    text = "la casa de mi madre está cerca del río"
    plain, higher = (tts.synthesize(text, "spa", voice=v) for v in ("mb-es1", "mb-es1+1.1"))
    assert measure_formant_ratio(higher, plain, analyze(higher), analyze(plain)) > 1.04
    assert higher.duration == pytest.approx(plain.duration, rel=0.02)
    assert not tts.mbrola.speaks("mb-es1+2.5")  # beyond what a vocal tract does


@needs_spanish
@pytest.mark.skipif("it3" not in find_voices().databases, reason="MBROLA it3 is not installed")
def test_another_languages_voice_speaks_spanish_phones():
    from malsori.engines.tts.espeak import EspeakSynthesizer

    tts = EspeakSynthesizer()
    assert "mb-it3-es" in tts.voices("spa")
    phones = tts.mbrola.phones("mb-it3-es", "El tren llega tarde todos los días.", 120, 50, 1)
    names = [p.name for p in phones]
    assert "x" not in names and all(tts.mbrola.knows("it3", n) for n in names)  # the jota is it3's nearest
    spoken = tts.synthesize("El tren llega tarde todos los días.", "spa", voice="mb-it3-es")
    assert spoken.duration > 1.0 and np.abs(spoken.samples).max() > 0.05
