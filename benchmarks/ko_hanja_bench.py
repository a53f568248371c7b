"""Hanja -> Hangul: exact match on common Sino-Korean words, with mecab-ko-dic and with the table alone.

    .venv/bin/python benchmarks/ko_hanja_bench.py

The words are held out: they were written down with their standard spelling before the reader
was measured on them, and none of them is used in tests/test_hanja.py or was used to develop
hanja.py. They mix plain words, 두음법칙 at the start of a word (留學 유학, 尿素 요소), 열/율 (效率
효율 but 確率 확률) and characters with several readings (惡 악/오, 北 북/배, 便 편/변, 降 강/항).
"""

from __future__ import annotations

import time

from malsori.text.ko.hanja import _load_mecab, read_hanja

WORDS = [
    ("學校", "학교"), ("先生", "선생"), ("經濟", "경제"), ("政治", "정치"), ("文化", "문화"),
    ("自由", "자유"), ("社會", "사회"), ("家族", "가족"), ("病院", "병원"), ("圖書館", "도서관"),
    ("大統領", "대통령"), ("新聞", "신문"), ("世界", "세계"), ("失敗", "실패"), ("數學", "수학"),
    # 두음법칙
    ("歷代", "역대"), ("留學", "유학"), ("努力", "노력"), ("冷凍", "냉동"), ("利用", "이용"), ("理由", "이유"),
    ("禮節", "예절"), ("料金", "요금"), ("流行", "유행"), ("陸軍", "육군"), ("倫理", "윤리"), ("年齡", "연령"),
    ("尿素", "요소"), ("匿名", "익명"), ("樂觀", "낙관"), ("來年", "내년"), ("浪費", "낭비"), ("論文", "논문"),
    # 렬/률 and 열/율
    ("確率", "확률"), ("效率", "효율"), ("分裂", "분열"), ("行列", "행렬"), ("旋律", "선율"),
    # several readings
    ("茶道", "다도"), ("惡魔", "악마"), ("憎惡", "증오"), ("北極", "북극"), ("敗北", "패배"), ("便紙", "편지"),
    ("便所", "변소"), ("降雨", "강우"), ("投降", "투항"), ("宅配", "택배"), ("復活", "부활"), ("洞察", "통찰"),
]


def measure(morphology: bool) -> tuple[int, list[tuple[str, str, str]], float]:
    t0 = time.perf_counter()
    outputs = [read_hanja(written, morphology=morphology) for written, _ in WORDS]
    elapsed = time.perf_counter() - t0
    misses = [(written, expected, got) for (written, expected), got in zip(WORDS, outputs) if got != expected]
    return len(WORDS) - len(misses), misses, elapsed


def report(label: str, morphology: bool) -> None:
    correct, misses, elapsed = measure(morphology)
    print(f"{label}: {correct}/{len(WORDS)} = {correct / len(WORDS):.1%} exact "
          f"({len(WORDS) / elapsed:.0f} words/s)")
    for written, expected, got in misses:
        print(f"  {written}: expected {expected}, got {got}")


def main() -> None:
    read_hanja("韓國")  # load the table (and mecab) before timing
    if _load_mecab() is None:
        print("with mecab: python-mecab-ko is not installed (pip install 'malsori[ko]')")
    else:
        report("with mecab-ko-dic", morphology=True)
    report("table alone", morphology=False)


if __name__ == "__main__":
    main()
