"""Korean readings of numbers: Sino-Korean (일, 이, 삼 … 만, 억) and native Korean (하나, 둘 …
아흔아홉), with the prenominal forms used before counters (한, 두, 세, 네, 스무)."""

from __future__ import annotations

DIGITS = "영일이삼사오육칠팔구"
SMALL_UNITS = ["", "십", "백", "천"]
BIG_UNITS = ["", "만", "억", "조", "경"]
NATIVE_ONES = ["", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉"]
NATIVE_TENS = ["", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"]
# Before a counter the first four ones and twenty shorten: 한 개, 두 명, 스무 살.
PRENOMINAL = {"하나": "한", "둘": "두", "셋": "세", "넷": "네", "스물": "스무"}


def sino(n: int) -> str:
    """Sino-Korean reading: 16000 -> 만육천, 2016 -> 이천십육, 0 -> 영. A leading 일 is dropped
    before 십, 백, 천 and before 만 when nothing bigger precedes it (만, not 일만)."""
    if n < 0:
        return "마이너스" + sino(-n)
    if n == 0:
        return "영"
    if n >= 10 ** 20:
        return digits(str(n))  # beyond 경: read digit by digit
    groups = []
    index = 0
    while n:
        n, group = divmod(n, 10_000)
        if group:
            groups.append(_group(group, index))
        index += 1
    return "".join(reversed(groups))


def _group(value: int, index: int) -> str:
    text = ""
    for position in range(3, -1, -1):
        digit = value // 10 ** position % 10
        if digit:
            text += ("" if digit == 1 and position > 0 else DIGITS[digit]) + SMALL_UNITS[position]
    if index == 1 and text == "일":
        text = ""  # 10,000 is 만
    return text + BIG_UNITS[index]


def native(n: int, prenominal: bool = False) -> str:
    """Native Korean reading for 1-99 (열일곱, 스물다섯); with ``prenominal`` the form before a
    counter (열일곱 -> 열일곱, 둘 -> 두, 스물 -> 스무, 스물하나 -> 스물한). Other numbers fall
    back to Sino-Korean."""
    if not 1 <= n <= 99:
        return sino(n)
    tens, ones = divmod(n, 10)
    head, tail = NATIVE_TENS[tens], NATIVE_ONES[ones]
    if prenominal:
        if tail:
            tail = PRENOMINAL.get(tail, tail)
        else:
            head = PRENOMINAL.get(head, head)
    return head + tail


def digits(text: str, zero: str = "공") -> str:
    """Digit by digit, as phone numbers and codes are read: 119 -> 일일구, 010 -> 공일공."""
    return "".join(zero if d == "0" else DIGITS[int(d)] for d in text if d.isdigit())


def decimal(text: str) -> str:
    """64.5 -> 육십사쩜오: the integer part as a number, the fraction digit by digit."""
    whole, _, fraction = text.partition(".")
    head = sino(int(whole)) if whole else "영"
    return head + ("쩜" + digits(fraction, zero="영") if fraction else "")
