"""Korean IPA and phones from the G2P's Hangul pronunciation, and the descriptive variants."""

from __future__ import annotations

import pytest

from malsori.text.ko.g2p import morphology_available, pronounce
from malsori.text.ko.phonetic import descriptive, phones, same_pronunciation, to_ipa, to_phone_string, variant_key


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
    assert descriptive("회의") == "훼이"  # ㅚ as ㅞ
    assert descriptive("핻삗", sai_siot=frozenset({0})) == "해삗"  # 사이시옷 not said
    assert descriptive("옫또", sai_siot=frozenset()) == "옫또"
    assert pronounce("햇빛", descriptive=True).text == "해삗" and pronounce("햇빛").text == "핻삗"


@pytest.mark.parametrize("spelling, a, b, same", [
    ("계획", "게훽", "계획", True),  # ㅖ/ㅔ and ㅚ/ㅞ
    ("회의", "훼이", "회의", True),  # ㅢ/ㅣ outside the first syllable
    ("우리의", "우리에", "우리의", True),
    ("숫자", "수짜", "숟짜", True),  # 사이시옷 said [ㄷ] or not
    ("되어", "되여", "되어", True),  # art. 22
    ("의사", "이사", "의사", False),  # a first-syllable 의 stays
    ("례", "레", "례", False),  # ㅖ after ㄹ stays
    ("결혼식", "결혼씩", "결혼식", False),  # tensing is never a variant
    ("받다", "바따", "받따", False),  # only a spelled ㅅ may go unsaid
])
def test_the_scorer_accepts_the_allowed_variants_only(spelling, a, b, same):
    assert same_pronunciation(spelling, a, b) is same


def test_variant_key_leaves_other_lengths_alone():
    assert variant_key("계", "게ː") == "게ː"


def test_long_vowels_keep_their_mark_in_ipa():
    assert to_ipa("사ː과") == "saːɡwa"


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy not installed")
def test_descriptive_pronunciation_finds_the_possessive_particle():
    result = pronounce("나의 희망", descriptive=True)
    assert result.text == "나에 히망"
    assert pronounce("나의 희망").text == "나의 히망"
    assert pronounce("의사", descriptive=True).text == "의사"
