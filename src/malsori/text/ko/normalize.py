"""Written Korean -> spoken Korean: numbers read by their counter, dates and times, money,
units and symbols, brackets that are not read dropped; English words and acronyms read in Hangul
with the particle after them fixed (John가 -> 존이, MP3를 -> 엠피쓰리를: ``english.py``); Hanja
read in Hangul with the initial-sound rule (李 -> 이: ``hanja.py``).

Which reading a number takes depends on what follows it:
- native Korean before counters of things, people and hours (3개 -> 세 개, 20명 -> 스무 명,
  5시 -> 다섯 시), up to 99;
- Sino-Korean before counters of dates, minutes, floors, money, ranks and units (3층 -> 삼 층,
  7월 -> 칠월, 30분 -> 삼십분, 15kg -> 십오킬로그램), and for bare numbers;
- digit by digit for service numbers (119 -> 일일구), numbers with a leading zero and phone
  numbers (010-1234-5678 -> 공일공 일이삼사 오육칠팔).
A number against a noun that is not a known counter is read as a quantity (100가구 -> 백가구);
names such as 63빌딩 (육삼빌딩) are therefore missed: a lexicon of them is left for later.
Spacing follows the input; the number and its counter are written together.
"""

from __future__ import annotations

import re

from malsori.text.ko.english import read_english
from malsori.text.ko.hanja import read_hanja
from malsori.text.ko.numbers import decimal, digits, native, sino

# Counters read with native numbers (up to 99). Longer entries first where they share a start.
NATIVE_COUNTERS = sorted([
    "개", "명", "살", "시간", "시", "마리", "권", "잔", "병", "장", "대", "건", "척", "가지", "벌", "켤레",
    "그루", "송이", "채", "곳", "군데", "통", "번째", "사람", "달", "주먹", "봉지", "상자", "줄", "쌍",
    "가구", "그릇", "알", "방", "골", "판", "경기", "게임", "문제", "팀", "편", "곡", "세트", "가족", "자루",
    "포기", "모금", "조각", "걸음", "끼", "마디", "바퀴",
], key=len, reverse=True)
# Counters and words read with Sino-Korean numbers. The longest counter a number is followed by
# decides (개월 and 개국 are not 개); 시즌, 대회 and the like are not counters at all.
SINO_COUNTERS = sorted([
    "년", "월", "일", "분", "초", "층", "원", "인분", "개국", "개월", "세", "위", "차", "호", "등", "회",
    "학년", "도", "번", "점", "쪽", "페이지", "주", "주년", "박", "라운드", "이닝", "배", "퍼센트", "프로",
    "달러", "엔", "유로", "파운드", "킬로", "미터", "리터", "그램", "톤", "평", "인", "명분", "호선", "번지", "동",
    "단계", "부", "학기", "교시", "기", "연승", "연패", "승", "패", "무", "대회", "주기",
    "천", "백", "만", "억", "조",
], key=len, reverse=True)
UNITS = {
    "%": "퍼센트", "km/h": "킬로미터 퍼 아워", "km": "킬로미터", "cm": "센티미터", "mm": "밀리미터",
    "kg": "킬로그램", "mg": "밀리그램", "g": "그램", "ml": "밀리리터", "mL": "밀리리터", "L": "리터",
    "l": "리터", "m": "미터", "M": "미터", "℃": "도", "°C": "도", "°": "도",
    "GB": "기가바이트", "MB": "메가바이트", "KB": "킬로바이트", "TB": "테라바이트", "Hz": "헤르츠",
    "kHz": "킬로헤르츠", "MHz": "메가헤르츠", "GHz": "기가헤르츠", "W": "와트", "kW": "킬로와트", "V": "볼트",
}
MONTHS = {6: "유월", 10: "시월"}
# Service numbers are said digit by digit (119 -> 일일구), not as quantities.
SERVICE_NUMBERS = {"112", "113", "114", "119", "120", "125", "129", "131", "182", "1330", "1339"}
# Words that begin like a native counter but are not one: 2채널 is 이 채널, not 두 채널.
NOT_COUNTERS = ("시즌", "시리즈", "시청", "대회", "대학", "대표", "장관", "장면", "개국", "명예", "달성", "채널", "방향",
                "방송", "방법", "편의점", "통화", "통신", "골목", "판결", "판매", "알림", "곳곳", "줄기", "쌍방",
                "문제집", "팀장", "곡선", "벌금", "병원", "권리", "잔액", "건물", "건강", "척도")
UNIT_PATTERN = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
NUMBER_RE = re.compile(rf"(?P<num>{NUMBER})(?P<unit>{UNIT_PATTERN})?(?![A-Za-z])")
RANGE_RE = re.compile(rf"(?P<a>{NUMBER})\s*~\s*(?P<b>{NUMBER})(?P<after>[가-힣]+|{UNIT_PATTERN})")
EVENT_DATE_RE = re.compile(r"(?<![\d·])(?P<m>1[0-2]|[1-9])·(?P<d>[1-3]?\d)(?![\d·])")
DATE_RE = re.compile(r"(?<![\d.-])(?P<y>\d{4})[-./](?P<m>0?[1-9]|1[0-2])[-./](?P<d>0?[1-9]|[12]\d|3[01])\.?(?![\d.-])")
# Hangul counts as a word character, so digits are bounded with lookarounds rather than \b.
TIME_RE = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?![\d:])")
PHONE_RE = re.compile(r"(?<![\d-])(?P<p>\d{2,4}(?:-\d{3,4}){1,2}-\d{4})(?![\d-])")
CURRENCY_FIRST = {"$": "달러", "€": "유로", "£": "파운드", "¥": "엔", "₩": "원"}
CURRENCY_RE = re.compile(rf"(?P<sign>[$€£¥₩])\s?(?P<num>{NUMBER})")
NEGATIVE_RE = re.compile(rf"(?<![\w)\]])-(?=(?:{NUMBER})(?P<celsius>℃|°C)?)")
BRACKETS_RE = re.compile(r"[《》〈〉「」『』<>【】]")
DASH_RE = re.compile(r"\s[-–—]\s")
TITLE_COLON_RE = re.compile(r"(?<=[가-힣A-Za-z]):(?=\s)")


def normalize(text: str) -> str:
    """Spoken form of Korean text (see the module docstring). Text without numbers, symbols or
    Latin letters comes back as it was."""
    text = read_hanja(text)  # first: 3年 must be 3년 before numbers meet their counter
    text = BRACKETS_RE.sub("", text)
    text = DASH_RE.sub(" ", text)
    text = TITLE_COLON_RE.sub("", text)
    # Dates of historical events are read digit by digit: 6·25 -> 육이오, 3·1절 -> 삼일절.
    text = EVENT_DATE_RE.sub(lambda m: digits(m["m"], zero="영") + digits(m["d"], zero="영"), text)
    text = DATE_RE.sub(lambda m: f"{int(m['y'])}년 {int(m['m'])}월 {int(m['d'])}일", text)
    text = PHONE_RE.sub(lambda m: " ".join(digits(part) for part in m["p"].split("-")), text)
    text = TIME_RE.sub(_time, text)
    text = RANGE_RE.sub(_range, text)
    # English after units are known (5km stays for NUMBER_RE) and before numbers (mp3 -> 엠피쓰리).
    text = read_english(text)
    text = CURRENCY_RE.sub(lambda m: m["num"] + CURRENCY_FIRST[m["sign"]], text)  # $20 is said 20달러
    text = NEGATIVE_RE.sub(lambda m: "영하 " if m["celsius"] else "마이너스 ", text)
    text = NUMBER_RE.sub(_number, text)
    return re.sub(r"[ \t]{2,}", " ", text)


def _time(m: re.Match) -> str:
    hour, minute = int(m["h"]), int(m["m"])
    spoken = native(hour % 12 or 12, prenominal=True) + "시"  # 14:00 is said 두 시
    return spoken + (" " + sino(minute) + "분" if minute else "")


def _range(m: re.Match) -> str:
    after = m["after"]
    counter = _counter(after) or (after if after in UNITS else "")
    first = f"{m['a']}{counter}"
    return f"{first}에서 {m['b']}{after}"


ALL_COUNTERS = frozenset(SINO_COUNTERS) | frozenset(NATIVE_COUNTERS)
LONGEST_COUNTER = max(map(len, ALL_COUNTERS))


def _counter(following: str) -> str | None:
    """The longest counter ``following`` starts with (번째 rather than 번, 개월 rather than 개)."""
    for length in range(min(LONGEST_COUNTER, len(following)), 0, -1):
        if following[:length] in ALL_COUNTERS:
            return following[:length]
    return None


def _number(m: re.Match) -> str:
    raw = m["num"].replace(",", "")
    if m["unit"]:
        return (decimal(raw) if "." in raw else sino(int(raw))) + UNITS[m["unit"]]
    if "." in raw:
        return decimal(raw)
    value = int(raw)
    following = m.string[m.end():]
    counter = _counter(following)
    if counter == "월" and value in MONTHS:
        return MONTHS[value][:-1]  # the counter that follows supplies 월
    if counter in NATIVE_COUNTERS and counter not in SINO_COUNTERS and not _not_a_counter(following):
        return native(value, prenominal=True)
    if raw in SERVICE_NUMBERS and counter is None:
        return digits(raw)
    if raw.startswith("0") and len(raw) > 1:
        return digits(raw)
    return sino(value)


def _not_a_counter(following: str) -> bool:
    return following.startswith(NOT_COUNTERS)
