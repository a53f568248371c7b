import pytest

from malsori.errors import LanguageError
from malsori.languages import LANGUAGES, normalize_language, whisper_code


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
    assert len(LANGUAGES) == 100
    assert whisper_code("kor") == "ko" and whisper_code("jav") == "jw" and whisper_code("yue") == "yue"
