"""Korean IPA and phones from the G2P's Hangul pronunciation, and the descriptive variants."""

from __future__ import annotations

import pytest

from malsori.text.ko.g2p import morphology_available, pronounce
from malsori.text.ko.phonetic import descriptive, phones, to_ipa, to_phone_string


@pytest.mark.parametrize("spoken, ipa", [
    ("바보", "pabo"),  # lax stops voiced between vowels, voiceless at the start of a word
    ("가구", "kaɡu"), ("다도", "tado"), ("자주", "tɕadʑu"),
    ("감기", "kamɡi"),  # and after a sonorant coda
    ("국빱", "kuk̚p͈ap̚"),  # tense and unreleased
    ("카타파차", "kʰatʰapʰatɕʰa"),
    ("달라", "talla"), ("나라", "naɾa"), ("말", "mal"),  # flap before a vowel, lateral elsewhere
    ("시싸샤져", "ɕis͈aɕadʑʌ"),  # ㅅ palatal before i and j only
    ("감사함니다", "kamsaɦamnida"),  # voiced h between voiced sounds
    ("의사 희망", "ɰisa himaŋ"), ("희망", "himaŋ"), ("왜 위", "wɛ wi"), ("강", "kaŋ"),
])
def test_ipa(spoken, ipa):
    assert to_ipa(spoken) == ipa


def test_voicing_does_not_cross_words():
    assert to_ipa("바 보") == "pa po"


def test_phones_are_segments_grouped_by_word():
    assert phones("가치 가요") == [["k", "a", "tɕʰ", "i"], ["k", "a", "j", "o"]]
    assert to_phone_string("궁무리") == "k u ŋ m u ɾ i"
    assert phones("Hello, 123 !") == [] and to_ipa("") == ""


def test_unneutralised_codas_are_read_as_their_representative():
    # Only the seven codas survive G2P; the transcription still reads raw spelling sensibly.
    assert to_ipa("닭") == "tak̚" and to_ipa("꽃") == "k͈ot̚"


def test_descriptive_variants():
    assert descriptive("계시다") == "게시다"
    assert descriptive("례") == "례" and descriptive("예") == "예"  # ㅖ stays after ㄹ and alone
    assert descriptive("의사") == "의사"  # ㅢ stays at the start of a word
    assert descriptive("주의") == "주이"
    assert descriptive("우리의", frozenset({2})) == "우리에"
    assert descriptive("우리의") == "우리이"


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy not installed")
def test_descriptive_pronunciation_finds_the_possessive_particle():
    result = pronounce("나의 희망", descriptive=True)
    assert result.text == "나에 히망"
    assert pronounce("나의 희망").text == "나의 히망"
    assert pronounce("의사", descriptive=True).text == "의사"
