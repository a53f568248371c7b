import pytest

from malsori.eval.metrics import bleu, cer, chrf, error_rate, normalize, wer


def test_wer_counts_substitutions_insertions_deletions():
    assert wer(["the cat sat on the mat"], ["the cat sat on the mat"]) == 0
    assert wer(["the cat sat on the mat"], ["the bat sat on mat"]) == pytest.approx(2 / 6)
    assert wer(["a b"], ["a b c d"]) == pytest.approx(1.0)


def test_english_normalisation_ignores_case_punctuation_and_number_style():
    assert wer(["It's twenty five dollars."], ["it is $25"]) == 0


def test_korean_uses_characters_and_reads_digits():
    assert normalize("3층", "kor") == "삼층"
    assert normalize("2024년", "kor") == "이천이십사년"
    assert cer(["삼 층에 있어요"], ["3층에 있어요."]) == 0
    assert error_rate(["안녕하세요"], ["안녕하십시오"], "kor") == pytest.approx(3 / 5)


def test_korean_digit_strings_of_any_length_are_read():
    # Whisper can hallucinate a long digit run on unclear audio: scoring must not fail on it.
    assert normalize("10000", "kor") == "만"
    assert normalize("9" * 25, "kor") == "구" * 25
    assert normalize("1" + "0" * 5000, "kor") == "일" + "영" * 5000


def test_bleu_and_chrf_range():
    refs = ["el gato está en la casa"]
    assert bleu(refs, refs, "spa") == pytest.approx(100)
    assert chrf(refs, refs) == pytest.approx(100)
    assert chrf(refs, ["un perro come pan"]) < 30
