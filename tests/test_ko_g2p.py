"""Korean G2P: one or more words per Standard Pronunciation article, made here (the rulebook's own
examples are for the benchmark), with and without morphology."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from malsori.text.ko.g2p import compound_parts, morphology_available, pronounce
from malsori.text.ko.hangul import join, split, to_jamo

ROOT = Path(__file__).resolve().parents[1]

SURFACE = [  # rules that need no morphology
    ("음악", "으막", "13"), ("옷을", "오슬", "13"), ("닭을", "달글", "14"), ("값이", "갑씨", "14"),
    ("학교", "학꾜", "23"), ("국밥", "국빱", "23"), ("국민", "궁민", "18"), ("입니다", "임니다", "18"),
    ("신라", "실라", "20"), ("설날", "설랄", "20"), ("좋다", "조타", "12"), ("놓고", "노코", "12"),
    ("많이", "마니", "12"), ("축하", "추카", "12"), ("같이", "가치", "17"), ("굳이", "구지", "17"),
    ("종로", "종노", "19"), ("대통령", "대통녕", "19"), ("닭", "닥", "11"), ("없다", "업따", "10"),
    ("밟다", "밥따", "10"), ("넓다", "널따", "25"), ("희망", "히망", "5.3"), ("결단력", "결딴녁", "20"),
    ("안녕하세요", "안녕하세요", None), ("십육", "심뉵", "29"), ("만육천", "만뉵천", "29"),
]
MORPHOLOGICAL = [  # need the analysers: verb stems, modifiers, compounds
    ("갈색", "갈쌕", "26"), ("글자", "글짜", "26"), ("꽃잎", "꼰닙", "29"), ("알다", "알다", None), ("할 것", "할 껃", "27"),
    ("신발을 신고", "신바를 신꼬", "24"), ("더 힘든 법", "더 힘든 법", None),
    # one-syllable Sino-Korean suffixes are not compound boundaries: no 사잇소리, no ㄴ-insertion
    ("박물관", "방물관", "18"), ("외국인", "외구긴", "13"), ("일요일", "이료일", "13"), ("물고기", "물꼬기", "28"), ("한여름", "한녀름", "29"),
    # tensing only the lexicon knows: Sino-Korean 件, 權, 點, 科 and tense suffixes after a noun
    ("사건이", "사꺼니", "lexicon"), ("여권", "여꿘", "lexicon"), ("차이점", "차이쩜", "lexicon"),
    ("성형외과", "성형외꽈", "lexicon"), ("가능성", "가능썽", "lexicon"), ("선거권", "선거꿘", "lexicon"),
    ("심장병", "심장뼝", "lexicon"), ("방법", "방법", None), ("물건", "물건", None),
    # compounds of material, manner or coordinate parts take no 사잇소리; others still do
    ("금반지", "금반지", None), ("볶음밥", "보끔밥", "13"), ("팔다리", "팔다리", None), ("불고기", "불고기", None),
    ("비빔밥", "비빔빱", "28"),
    # ㄴ-insertion crosses a space after a modifier, not after a noun
    ("할 일", "할 릴", "29"), ("사람 있는데", "사람 인는데", "18"), ("제국 육군", "제국 육꾼", "23"), ("일층 입국장", "일층 입꾹짱", "23"),
    ("6일", "유길", "15"), ("16일", "심뉴길", "15"),  # a counter after a numeral links: no ㄴ-insertion
    # ... and comes before substantive suffixes, reduplicated halves and after the prefixes 설-, 덧-
    ("가정용", "가정뇽", "29"), ("부산역", "부산녁", "29"), ("야들야들", "야들랴들", "29"),
    ("설익은", "설리근", "29"), ("덧입었다", "던니벋따", "29"),
    # a listed word at the start of a longer noun keeps its tensing
    ("조건부", "조껀부", "lexicon"),
    # a lone verb in its dictionary form is the verb (art. 24), not a noun or another stem
    ("감다", "감따", "24"), ("참다", "참따", "24"), ("바다", "바다", None),
]


def test_syllables_split_and_join():
    assert split("꽃") == ("ㄲ", "ㅗ", "ㅊ") and join("ㄲ", "ㅗ", "ㅊ") == "꽃" and join("ㅇ", "ㅏ") == "아"
    assert split("가") == ("ㄱ", "ㅏ", "") and split("힣") == ("ㅎ", "ㅣ", "ㅎ")  # the table's two ends
    assert to_jamo("값 a") == "ㄱㅏㅄ a"


@pytest.mark.parametrize("word, spoken, rule", SURFACE)
def test_surface_rules(word, spoken, rule):
    for morphology in (False, None):
        result = pronounce(word, morphology=morphology, learned=False)
        assert result.text == spoken
        assert rule is None and not result.changes or rule in {c.rule for c in result.changes}


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy is not installed (make test installs it)")
@pytest.mark.parametrize("word, spoken, rule", MORPHOLOGICAL)
def test_rules_that_need_morphology(word, spoken, rule):
    result = pronounce(word, learned=False)
    assert result.text == spoken
    assert rule is None and not result.changes or rule in {c.rule for c in result.changes}


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy is not installed")
def test_palatalisation_through_a_contracted_i():
    # 붙이+어요 and 닫히+어요: 이/히 + 어 contract to 여/혀, and ㅌ/ㄷ still palatalise (쳐 said 처)
    for word, spoken in (("붙여요", "부처요"), ("닫혀요", "다처요"), ("굳혀", "구처"), ("붙였다", "부첟따")):
        result = pronounce(word)
        assert result.text == spoken and "17" in {c.rule for c in result.changes}
    assert pronounce("걷어").text == "거더" and pronounce("같아").text == "가타"  # no 이: plain linking
    assert pronounce("맏형").text == "마텽"  # a noun: no 히 to contract


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy is not installed")
def test_morphology_separates_homographs():
    # The verb stem 알- before -다 is not tensed; the noun 글자 is. 책을 is a particle, not the -을 modifier.
    assert pronounce("책을 보다").text == "채글 보다"
    assert pronounce("먹을 것").text == "머글 껃"
    assert compound_parts("물고기") == (1, 2) and compound_parts("웃음") == (2,)


def test_liquids_assimilate_inside_words_only():
    assert pronounce("오늘 날씨").text == "오늘 날씨"
    assert pronounce("칼날").text == "칼랄"


def test_normalisation_comes_first_and_other_text_passes_through():
    assert pronounce("사과 3개").text == "사과 세개"
    assert pronounce("3개", normalise=False).text == "3개"
    assert pronounce("Hello, 국민!").text == "헬로, 궁민!"
    assert pronounce("").text == "" and pronounce("😀").text == "😀"


def test_cli_g2p_explains_and_streams(tmp_path):
    run = lambda *a, **k: subprocess.run([sys.executable, "-m", "malsori.cli", "g2p", *a],  # noqa: E731
                                         capture_output=True, text=True, timeout=60, **k)
    proc = run("국물이", "--explain")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "궁무리" and "art. 18: 국무 -> 궁무" in proc.stdout
    assert run("꽃", "--format", "jamo").stdout == "ㄲㅗㄷ\n"
    proc = run("--text-file", "-", input="학교\n\n좋다\n")
    assert proc.stdout == "학꾜\n\n조타\n"
    assert run("같이", "--format", "ipa").stdout == "katɕʰi\n"
    assert run("같이 가요", "--format", "phones").stdout == "k a tɕʰ i | k a j o\n"
    assert run("계시다", "--descriptive").stdout == "게시다\n"
    assert run("결혼식", "--explain").stdout.splitlines()[1].startswith("  learned layer (")
    assert run("결혼식", "--rules-only").stdout == "결혼씩\n"
    assert run("사과", "--long-vowels").stdout in ("사과\n", "사ː과\n")
    proc = run("x", "--format", "arpabet")
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1


# ---------------------------------------------------------------- the learned layer


def synthetic_lexicon() -> list[tuple[str, str]]:
    """Words no rule tenses the way this lexicon does: 도 is tense after ㄴ and 지 is not; words
    in 가 have a long first vowel."""
    firsts = list("간난단만반산안잔찬한곤논돈몬본손온존")
    pairs = []
    for first in firsts:
        pairs.append((first + "도", first + "또"))
        pairs.append((first + "지", first + "지"))
        pairs.append(("가" + first, "가ː" + first))
        pairs.append(("나" + first, "나" + first))
    return pairs


def test_the_learned_layer_trains_in_seconds_and_overrules_the_rules(tmp_path):
    from malsori.errors import MalsoriError
    from malsori.text.ko.learned import read_model
    from malsori.text.ko.train_learned import lexicon_part, main, train

    model = train(synthetic_lexicon(), log=lambda line: None)
    assert model.decides("tense") and not model.decides("n_insertion")  # no ㄴ-insertion seen: rules
    # Unseen words: the model learned what follows 도 and 지.
    assert pronounce("친도", learned=False).text == "친도"
    result = pronounce("친도", learned=model)
    assert result.text == "친또"
    [change] = [c for c in result.changes if c.rule == "learned"]
    assert change.confidence > 0.5 and change.rules_said is None and change.after == "친또"
    assert pronounce("친지", learned=model).text == "친지"
    assert pronounce("가친", learned=model, long_vowels=True).text == "가ː친"
    assert pronounce("나친", learned=model, long_vowels=True).text == "나친"
    assert pronounce("가친", learned=model).text == "가친"  # marks only on request

    # The recipe: a TSV in, a model file out (atomically), the check part left out.
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("spelling\tpronunciation\n" + "".join(f"{w}\t{p}\n" for w, p in synthetic_lexicon()))
    main(["--lexicon", str(lexicon), "-o", str(tmp_path / "model.json.gz")])
    saved = read_model(tmp_path / "model.json.gz")
    assert saved.info["words"] == sum(lexicon_part(w) != "check" for w, _ in synthetic_lexicon())
    assert pronounce("친도", learned=saved).text == "친또"
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(MalsoriError, match="not a Korean G2P model"):
        read_model(tmp_path / "bad.json.gz")


def test_the_shipped_layer_fixes_dictionary_tensing():
    from malsori.text.ko.learned import shipped_model

    assert shipped_model() is not None
    # 사잇소리 the compound rule wrongly gives where mecab-ko-dic splits Sino-Korean words
    assert pronounce("결혼식", learned=False).text == "결혼씩" and pronounce("결혼식").text == "결혼식"
    assert pronounce("냉장고", learned=False).text == "냉장꼬" and pronounce("냉장고").text == "냉장고"


def test_hanja_origin_marks_native_and_sino_syllables(tmp_path):
    """libhangul's dictionary keeps native syllables in Hangul (눈瞳子): the build script turns
    that into H/N patterns, and the learned layer reads the boundary's pair off the longest word."""
    import gzip
    import importlib.util

    from malsori.text.ko.learned import arbitration_group, origin_features

    spec = importlib.util.spec_from_file_location("build_hanja_origin", ROOT / "scripts" / "build_hanja_origin.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    source = tmp_path / "hanja.txt"
    source.write_text("# comment\n눈동자:눈瞳子:pupil\n문고리:門故吏:\n문고리:門고리:\n고기:古記:\n"
                      "가:家:house\nㄱ자집:ㄱ字집:\n바람:風:wrong length\n", encoding="utf-8")
    build.main([str(source), "-o", str(tmp_path / "origin.tsv.gz")])
    with gzip.open(tmp_path / "origin.tsv.gz", "rt", encoding="utf-8") as fh:
        table = dict(line.rstrip("\n").split("\t") for line in fh)
    # One-syllable words, non-syllable keys and entries whose lengths differ are left out.
    assert table == {"고기": "HH", "눈동자": "NHH", "문고리": "HHH,HNN"}

    # The shipped table: native then Sino at 눈|동, both readings of 문고리, a native part the
    # dictionary lacks (바람) and a single syllable (결) either side of 바람|결.
    assert origin_features("눈동자", 0, 1) == ("origin=NH", "origin_len=3")
    assert origin_features("문고리", 0, 1)[0] == "origin=HH/HN"
    assert origin_features("바람결", 1, 2) == ("origin=none", "origin_sides=-|1")
    assert origin_features("결혼식을", 1, 2)[0] == "origin=HH"  # a particle after the word
    assert arbitration_group(["rule=28", "origin=HH"]) == "28|sino"
    assert arbitration_group(["origin=NH", "rule=28"]) == "28"
    assert arbitration_group(["origin=none"]) == "-"


def test_compound_parts_are_read_by_kiwi_on_their_own():
    from malsori.text.ko.learned import part_tags

    # mecab-ko-dic calls every part a noun; an adnominal first part takes no 사잇소리.
    assert part_tags("노란") == "VA+ETM" and part_tags("지난") == "VV+ETM"
    assert part_tags("바람").startswith("NN")


def test_sino_korean_adverbs_tense_after_rieul_by_the_hanja_dictionary():
    """Art. 26 (ㄹ + ㄷ/ㅅ/ㅈ inside a Sino-Korean word) for adverbs, which kiwi does not tag as
    nouns: the dictionary's Hanja say they are Sino-Korean; a repeated syllable stays lax."""
    if not morphology_available():
        pytest.skip("kiwipiepy is not installed")
    result = pronounce("절대", learned=False)
    assert result.text == "절때" and [c.rule for c in result.changes] == ["26"]
    assert pronounce("별도로", learned=False).text == "별또로"
    assert pronounce("절절히", learned=False).text == "절절히"


def test_sino_korean_words_split_as_compounds_tense_by_article_26_not_28():
    """mecab-ko-dic splits some Sino-Korean words like compounds (불 + 세출, 不世出): art. 26
    tenses them, and the learned layer is not told it is a 사잇소리 place; a native compound
    keeps art. 28's reading (물장난 [물장난], not tensed by art. 26)."""
    if not morphology_available():
        pytest.skip("kiwipiepy is not installed")
    assert compound_parts("불세출") == (1, 2)
    result = pronounce("불세출", learned=False)
    assert result.text == "불쎄출" and [c.rule for c in result.changes] == ["26"]
    assert pronounce("불세출").text == "불쎄출"
    for native in ("물장난", "불장난"):  # 불장 is a Hanja word, 불장난 is not
        assert "26" not in [c.rule for c in pronounce(native, learned=False).changes]


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy is not installed")
def test_clearing_the_memory_of_words_changes_no_answer():
    """Benchmarks clear what the G2P remembers of words to time text read for the first time;
    the answers must not depend on it."""
    from malsori.text.ko.g2p import clear_caches
    from malsori.text.ko.learned import origin_features

    first = pronounce("문고리를 잡았다").text
    assert compound_parts.cache_info().currsize > 0
    assert origin_features.cache_info().currsize > 0
    clear_caches()
    assert compound_parts.cache_info().currsize == 0
    assert origin_features.cache_info().currsize == 0
    assert pronounce("문고리를 잡았다").text == first


@pytest.mark.skipif(not morphology_available(), reason="kiwipiepy is not installed")
def test_threads_reading_compounds_at_once_get_the_answers_of_one_thread():
    """mecab-ko-dic's lattice is reused per thread: G2P called from a server's or a batch's
    threads must give each text its own analysis."""
    from concurrent.futures import ThreadPoolExecutor

    from malsori.text.ko.g2p import clear_caches

    texts = ["문고리", "강줄기", "등불", "물고기", "비빔밥", "불세출", "금반지", "팔다리"] * 25
    expected = [compound_parts(t) for t in texts]
    assert (1, 2) in expected and (1, 1) in expected  # real compounds, not one part each
    clear_caches()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two calls into mecab
    try:
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda t: (compound_parts.__wrapped__(t), pronounce(t).text), texts))
    finally:
        sys.setswitchinterval(interval)
    assert [parts for parts, _ in got] == expected
    assert [text for _, text in got] == [pronounce(t).text for t in texts]
