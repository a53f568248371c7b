"""English loanwords in Hangul: exact match against the standard spelling (외래어 표기법 and the
Standard Korean Dictionary), on 40 common loanwords held out from development.

    python benchmarks/ko_english_bench.py [--dev]

``--dev`` scores the development list instead (benchmarks/data/ko_loanwords_dev.tsv, 210 words the
rules were tuned on; none of them held out or in the exception lexicon).

The list was written down before the rules were, and none of its words is in the exception
lexicon of ``malsori.text.ko.english`` (the script checks): it measures the rules and the
dictionary, not memorised answers. Needs no dev data.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from malsori.text.ko.english import EXCEPTIONS, transliterate

HELD_OUT = [
    ("bus", "버스"), ("taxi", "택시"), ("coffee", "커피"), ("hotel", "호텔"), ("piano", "피아노"),
    ("camera", "카메라"), ("television", "텔레비전"), ("radio", "라디오"), ("chocolate", "초콜릿"),
    ("sandwich", "샌드위치"), ("hamburger", "햄버거"), ("juice", "주스"), ("cake", "케이크"), ("game", "게임"),
    ("music", "뮤직"), ("team", "팀"), ("club", "클럽"), ("golf", "골프"), ("tennis", "테니스"),
    ("jacket", "재킷"), ("ticket", "티켓"), ("service", "서비스"), ("program", "프로그램"), ("system", "시스템"),
    ("energy", "에너지"), ("center", "센터"), ("battery", "배터리"), ("window", "윈도"), ("print", "프린트"),
    ("marketing", "마케팅"), ("design", "디자인"), ("style", "스타일"), ("brand", "브랜드"), ("image", "이미지"),
    ("news", "뉴스"), ("online", "온라인"), ("message", "메시지"), ("report", "리포트"), ("salad", "샐러드"),
    ("lemon", "레몬"),
]


def main() -> None:
    leaked = [word for word, _ in HELD_OUT if word in EXCEPTIONS]
    if leaked:
        sys.exit(f"held-out words found in the exception lexicon: {leaked}")
    words = HELD_OUT
    if "--dev" in sys.argv[1:]:
        with open(Path(__file__).resolve().parent / "data" / "ko_loanwords_dev.tsv", encoding="utf-8") as fh:
            words = [tuple(line.rstrip("\n").split("\t")) for line in fh][1:]
    t0 = time.perf_counter()
    results = [(word, expected, transliterate(word)) for word, expected in words]
    elapsed = time.perf_counter() - t0
    hits = sum(got == expected for _, expected, got in results)
    print(f"exact match: {hits}/{len(words)} = {hits / len(words):.1%} "
          f"({elapsed:.2f} s, CMUdict load included)")
    misses = [(w, e, g) for w, e, g in results if g != e]
    for word, expected, got in misses:
        print(f"  miss: {word:12} expected {expected:8} got {got}")


if __name__ == "__main__":
    main()
