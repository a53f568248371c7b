"""Hanja read in Hangul with 두음법칙 (examples made here; the benchmark's words are held out)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from malsori.text.ko import hanja
from malsori.text.ko.hanja import initial_sound_rule, read_hanja, readings

ROOT = Path(__file__).resolve().parents[1]
COMPAT_NAK = "\uf914"  # 樂 as 낙 (KS X 1001 lists it once for each reading)
COMPAT_RAK = "\uf95c"  # 樂 as 락
COMPAT_YO = "\uf9bf"  # 樂 as 요
COMPAT_I = "\uf9e1"  # 李 as 이
COMPAT_MO = "\ufa30"  # 侮, no reading of its own: read as the unified 侮
UNKNOWN = "\U0002a6a5"  # 𪚥, extension B, no kHangul in Unihan


def mecab_installed() -> bool:
    return hanja._load_mecab() is not None


needs_mecab = pytest.mark.skipif(not mecab_installed(), reason="python-mecab-ko not installed")


@pytest.fixture
def without_mecab(monkeypatch):
    """python-mecab-ko as if it were not installed: its import fails."""
    hanja._load_mecab.cache_clear()
    monkeypatch.setitem(sys.modules, "mecab", None)
    yield
    hanja._load_mecab.cache_clear()


# Read the same with and without the dictionary: the table and the spelling rules decide.
BOTH_WAYS = [
    # 두음법칙 at the start of a word
    ("李", "이"), ("女子", "여자"), ("來日", "내일"), ("樂園", "낙원"), ("勞動", "노동"), ("良心", "양심"),
    ("歷史", "역사"), ("泥田", "이전"), ("年末", "연말"), ("論理", "논리"), ("旅行", "여행"),
    # not inside one
    ("男女", "남녀"), ("善良", "선량"), ("長老", "장로"), ("恐龍", "공룡"), ("快樂", "쾌락"),
    # 렬/률 after a vowel or ㄴ, and after other codas
    ("比率", "비율"), ("規律", "규율"), ("羅列", "나열"), ("先烈", "선열"), ("陳列", "진열"), ("百分率", "백분율"),
    ("能率", "능률"), ("法律", "법률"), ("一列", "일렬"),
    # 不 before ㄷ and ㅈ
    ("不足", "부족"), ("不動産", "부동산"), ("不法", "불법"),
    ("大韓民國", "대한민국"), ("自動車", "자동차"), ("黃金", "황금"), ("金曜日", "금요일"),
    # 金 as a surname is not told from the metal: no dictionary entry for the name.
    ("金九", "금구"),
    ("李舜臣 장군은 韓國 사람이다", "이순신 장군은 한국 사람이다"),
    ("이순신(李舜臣)은 朝鮮의 武臣이다.", "이순신(이순신)은 조선의 무신이다."),
    ("「勞動」과 ‘女子’", "「노동」과 ‘여자’"),
    ("IT勞動者", "IT노동자"),  # Latin letters end a word
    # right after Hangul: the same word (no 두음법칙; the Hangul coda decides 열/율)
    ("대韓民國", "대한민국"), ("남女", "남녀"), ("비率", "비율"), ("법律", "법률"),
    ("3年 前", "3년 전"),  # a digit before: a counter, not a word start
    # compatibility ideographs keep their own reading, or read as the unified one
    (COMPAT_NAK + "園", "낙원"), ("快" + COMPAT_RAK, "쾌락"), (COMPAT_YO + "山", "요산"),
    ("行" + COMPAT_I, "행이"), ("行李", "행리"), (COMPAT_MO + "辱", "모욕"),
    # unknown ideographs stay; the syllable after one is not a word start
    (UNKNOWN, UNKNOWN), (UNKNOWN + "韓", UNKNOWN + "한"), (UNKNOWN + "李", UNKNOWN + "리"),
    (UNKNOWN + "比率", UNKNOWN + "비율"),
]


@pytest.mark.parametrize("written, read", BOTH_WAYS)
@needs_mecab
def test_read_with_mecab(written, read):
    assert read_hanja(written) == read


@pytest.mark.parametrize("written, read", BOTH_WAYS)
def test_read_with_the_table_alone(written, read):
    assert read_hanja(written, morphology=False) == read


@pytest.mark.parametrize("written, read", [("韓國", "한국"), ("音樂", "음락"), ("國際聯合", "국제련합"), ("女子", "여자")])
def test_without_mecab_installed_the_table_reads(without_mecab, written, read):
    assert hanja._load_mecab() is None
    assert read_hanja(written) == read


@needs_mecab
@pytest.mark.parametrize("written, with_mecab, table_alone", [
    ("音樂", "음악", "음락"),  # the dictionary picks 樂's reading by word
    ("金浦", "김포", "금포"),
    ("變更", "변경", "변갱"),
    ("國際聯合", "국제연합", "국제련합"),  # a dictionary word inside a run starts a word
    ("新女性", "신여성", "신녀성"),
    ("民主勞動黨", "민주노동당", "민주로동당"),
])
def test_the_dictionary_chooses_readings_and_finds_words(written, with_mecab, table_alone):
    assert read_hanja(written) == with_mecab
    assert read_hanja(written, morphology=False) == table_alone


def test_a_failing_analyser_falls_back_to_the_table(monkeypatch):
    class Broken:
        def parse(self, text):
            raise RuntimeError("dictionary missing")

    monkeypatch.setattr(hanja, "_load_mecab", lambda: Broken())
    assert read_hanja("音樂 女子") == "음락 여자"


@pytest.mark.parametrize("text", ["", "한국 사람이다", "Hello, world! 123", "ㄱㄴ 가나다 ~!@#", "ではない: かな"])
def test_text_without_hanja_comes_back_unchanged(text):
    assert read_hanja(text) is text


def test_only_hanja_change_in_mixed_text():
    text = "2024年 3月, 서울市 人口는 9,400,000名 (約 940萬)."
    assert read_hanja(text, morphology=False) == "2024년 3월, 서울시 인구는 9,400,000명 (약 940만)."


@pytest.mark.parametrize("syllable, spelled", [
    ("녀", "여"), ("뇨", "요"), ("뉴", "유"), ("니", "이"), ("닉", "익"),
    ("랴", "야"), ("려", "여"), ("례", "예"), ("료", "요"), ("류", "유"), ("리", "이"), ("력", "역"), ("룡", "용"),
    ("라", "나"), ("래", "내"), ("로", "노"), ("뢰", "뇌"), ("루", "누"), ("르", "느"), ("락", "낙"), ("릉", "능"),
    ("나", "나"), ("노", "노"), ("한", "한"), ("여", "여"),
])
def test_initial_sound_rule(syllable, spelled):
    assert initial_sound_rule(syllable) == spelled


def test_table_readings_original_first():
    assert readings("李") == ("리", "이")
    assert readings("女")[0] == "녀" and readings("樂")[0] == "락" and readings("金")[0] == "금"
    assert readings("諾")[0] == "낙"  # its educational reading, though 락 would be the 두음법칙 source
    assert readings(COMPAT_NAK) == ("낙",) and readings(COMPAT_MO) == readings("侮") == ("모",)
    assert readings(UNKNOWN) == () and readings("a") == ()
    assert len(hanja._table()) > 8000


def test_table_is_shipped_with_its_licence():
    data = ROOT / "src" / "malsori" / "text" / "ko" / "data"
    header = (data / "hanja.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert "Unihan" in header and "kHangul" in header
    licence = (data / "HANJA_LICENSE.txt").read_text(encoding="utf-8")
    assert "UNICODE LICENSE V3" in licence and "15.0.0" in licence
    assert (data / "hanja.tsv").stat().st_size < 300_000


def _build_script():
    spec = importlib.util.spec_from_file_location("build_hanja_table", ROOT / "scripts" / "build_hanja_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_script_parses_and_ranks_unihan(tmp_path):
    build = _build_script()
    unihan = tmp_path / "Unihan_Readings.txt"
    unihan.write_text(
        "# Unicode version: 15.0.0\n"
        "U+674E\tkHangul\t리:0E 이:0\n"
        "U+674E\tkKorean\tLI\n"
        "U+6A02\tkHangul\t낙:0 락:0E 악:0N 요:0N\n"
        "U+8AFE\tkHangul\t낙:0E 락:0\n"
        "U+51CC\tkHangul\t능:0 릉:0N\n"
        "U+8ECA\tkHangul\t거:0E 차:0N\n"
        "U+4E00\tkMandarin\tyī\n", encoding="utf-8")
    text = build.read_unihan_readings(unihan)
    table = build.parse_khangul(text)
    assert set(table) == {"李", "樂", "諾", "凌", "車"}
    out = tmp_path / "hanja.tsv"
    build.write_table(table, build.unicode_version(text), out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert "Unihan 15.0.0" in lines[0]
    rows = dict(line.split("\t") for line in lines if not line.startswith("#"))
    assert rows == {"李": "리 이", "樂": "락 악 요 낙", "諾": "낙 락", "凌": "릉 능", "車": "차 거"}
