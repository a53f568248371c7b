import pytest

from malsori.errors import LanguageError
from malsori.languages import LANGUAGES, WHISPER_LANGUAGES, normalize_language, whisper_code


@pytest.mark.parametrize("given,expected", [("eng", "eng"), ("en", "eng"), ("EN", "eng"), ("es", "spa"),
                                            ("kor", "kor"), ("ko", "kor"), ("kor_Hang", "kor"),
                                            ("zh", "cmn"), ("ara", "arb"), ("Korean", "kor")])
def test_codes_normalise_to_iso_639_3(given, expected):
    assert normalize_language(given) == expected


@pytest.mark.parametrize("bad", ["", "xx", "klingon", "e"])
def test_unknown_codes_raise_one_line(bad):
    with pytest.raises(LanguageError) as err:
        normalize_language(bad)
    assert "\n" not in str(err.value)


def test_every_whisper_language_has_a_code():
    assert len(WHISPER_LANGUAGES) == 100 and WHISPER_LANGUAGES <= set(LANGUAGES)
    assert whisper_code("epo") is None and whisper_code("gle") is None  # eSpeak NG speaks them; Whisper does not
    assert whisper_code("kor") == "ko" and whisper_code("jav") == "jw" and whisper_code("yue") == "yue"


# What eSpeak NG 1.51 prints, cut down, plus a Galician voice as newer releases have.
VOICE_LIST = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  gl              --/M      Galician           roa/gl
 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)
"""


def test_voices_are_found_by_the_languages_eSpeak_NG_lists_for_them(monkeypatch):
    from malsori.engines.tts import espeak

    voices = espeak.parse_voice_list(VOICE_LIST)
    assert voices["fr"] == "fr-fr" and voices["en"] == "en-gb" and voices["zh"] == "cmn" and voices["gl"] == "gl"
    monkeypatch.setattr(espeak, "installed_voices", lambda: voices)
    assert espeak.espeak_voice("fra") == "fr-fr" and espeak.espeak_voice("glg") == "gl"
    assert espeak.espeak_voice("eng") == "en-us" and espeak.espeak_voice("cmn") == "cmn"
    assert espeak.espeak_voice("deu") is None
    assert {"fra", "glg", "eng", "cmn"} == espeak.EspeakSynthesizer().voice_languages()


@pytest.mark.espeak
def test_the_language_matrix_offers_every_language_the_installed_eSpeak_NG_speaks():
    from malsori.engines.tts.espeak import installed_voices
    from malsori.pipelines.support import support_matrix

    rows = {row["code"]: row for row in support_matrix()}
    assert "espeak-ng" in rows["fra"]["tts"] and "espeak-ng" in rows["kor"]["tts"]
    if "eo" in installed_voices():
        assert "espeak-ng" in rows["epo"]["tts"] and rows["epo"]["asr"] == "-" and rows["epo"]["s2tt_eng"] == "-"


@pytest.mark.espeak
@pytest.mark.parametrize("text,lang", [("Bonjour, comment allez-vous ?", "fra"), ("Dia duit.", "gle")])
def test_speak_says_french_and_other_eSpeak_NG_languages(tmp_path, text, lang):
    import subprocess
    import sys

    from malsori.audio import load_audio
    from malsori.engines.tts.espeak import espeak_voice

    if espeak_voice(lang) is None:
        pytest.skip(f"this eSpeak NG has no voice for {lang}")
    out = tmp_path / "x.wav"
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "speak", text, "--lang", lang, "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert load_audio(out).duration > 0.5
