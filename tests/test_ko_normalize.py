"""Korean number readings and written -> spoken normalisation (examples made here, not dev data)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from malsori.text.ko.normalize import normalize
from malsori.text.ko.numbers import decimal, digits, native, sino


@pytest.mark.parametrize("n, spoken", [
    (0, "영"), (1, "일"), (10, "십"), (11, "십일"), (20, "이십"), (100, "백"), (101, "백일"), (1000, "천"),
    (2016, "이천십육"), (10_000, "만"), (16_000, "만육천"), (110_000, "십일만"), (1_000_000, "백만"),
    (100_000_000, "일억"), (120_000_305, "일억이천만삼백오"), (10 ** 12, "일조"),
])
def test_sino_korean_numbers(n, spoken):
    assert sino(n) == spoken


@pytest.mark.parametrize("n, plain, before_counter", [
    (1, "하나", "한"), (2, "둘", "두"), (3, "셋", "세"), (4, "넷", "네"), (5, "다섯", "다섯"), (10, "열", "열"),
    (11, "열하나", "열한"), (20, "스물", "스무"), (21, "스물하나", "스물한"), (34, "서른넷", "서른네"),
    (99, "아흔아홉", "아흔아홉"),
])
def test_native_korean_numbers(n, plain, before_counter):
    assert native(n) == plain and native(n, prenominal=True) == before_counter


def test_native_numbers_stop_at_99_and_digits_and_decimals():
    assert native(100) == "백" and native(0) == "영"
    assert digits("010") == "공일공" and digits("119", zero="영") == "일일구"
    assert decimal("3.14") == "삼쩜일사" and decimal("0.5") == "영쩜오" and decimal("10.05") == "십쩜영오"


@pytest.mark.parametrize("written, spoken", [
    # the counter decides the reading
    ("귤 3개", "귤 세개"), ("학생 25명", "학생 스물다섯명"), ("강아지 2마리", "강아지 두마리"), ("15살", "열다섯살"),
    ("3층", "삼층"), ("12개월", "십이개월"), ("4개국", "사개국"), ("30분", "삼십분"), ("3시간", "세시간"),
    ("2시 정각", "두시 정각"), ("제2차 회의", "제이차 회의"), ("첫 3번째", "첫 세번째"), ("학생 150명", "학생 백오십명"),
    # dates, months with their own forms, times, phone numbers, codes
    ("2023년 6월 10일", "이천이십삼년 유월 십일"), ("2023-01-31", "이천이십삼년 일월 삼십일일"),
    ("오전 9:05", "오전 아홉시 오분"), ("18:00", "여섯시"), ("02-123-4567", "공이 일이삼 사오육칠"),
    ("112에 신고", "일일이에 신고"), ("52번지", "오십이번지"),
    # money, units, symbols, ranges
    ("1,500원", "천오백원"), ("3만 원", "삼만 원"), ("2.5kg", "이쩜오킬로그램"), ("80%", "팔십퍼센트"),
    ("10km", "십킬로미터"), ("-3℃", "영하 삼도"), ("3~5명", "세명에서 다섯명"), ("$20", "이십달러"), ("€ 1.5", "일쩜오유로"),
    # acronyms and brackets
    ("KTX를 탔다", "케이티엑스를 탔다"), ("NASA 발표", "나사 발표"), ("A4 두 장", "에이포 두 장"),
    ("《어린 왕자》를 읽었다", "어린 왕자를 읽었다"),
    # nothing to do
    ("안녕하세요.", "안녕하세요."), ("", ""), ("😀 좋아요", "😀 좋아요"),
])
def test_written_to_spoken(written, spoken):
    assert normalize(written) == spoken


def test_numbers_keep_their_particles_and_unknown_nouns_get_quantities():
    assert normalize("정답은 228입니다") == "정답은 이백이십팔입니다"
    assert normalize("42번 버스") == "사십이번 버스"
    assert normalize("100가구") == "백가구" and normalize("2가구") == "두가구"
    assert normalize("300킬로칼로리") == "삼백킬로칼로리"


def test_huge_numbers_and_big_inputs_do_not_fail():
    assert normalize("1" * 30) == "일" * 30  # beyond 경: digit by digit
    big = "사과 3개와 배 20개, 2023년 6월. " * 20_000  # ~600 kB
    out = normalize(big)
    assert out.count("세개") == 20_000 and "3" not in out


def test_cli_normalizes_text_and_files_line_by_line(tmp_path):
    run = lambda *a, **k: subprocess.run([sys.executable, "-m", "malsori.cli", "normalize", *a],  # noqa: E731
                                         capture_output=True, text=True, timeout=60, **k)
    proc = run("사과 3개")
    assert proc.returncode == 0 and proc.stdout == "사과 세개\n"
    lines = tmp_path / "in.txt"
    lines.write_text("3층\n\n5월 5일\n", encoding="utf-8")
    proc = run("--text-file", str(lines))
    assert proc.stdout == "삼층\n\n오월 오일\n"
    proc = run("--text-file", "-", input="2개\n")
    assert proc.stdout == "두개\n"
    proc = run("hello", "--lang", "fra")
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "Korean" in proc.stderr
    assert run("--text-file", str(tmp_path / "missing.txt")).returncode != 0
