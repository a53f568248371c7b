"""Pronunciations no surface rule predicts: tensing in Sino-Korean words, and compounds that do
not take 사잇소리 although their shape invites it.

Tensing inside Sino-Korean words depends on the character, not the sound: 價 is tense in 물가
[물까] where 家 is not in 화가, 點 in 장점 [장쩜] where 店 is not in 상점, 件 in 조건 [조껀]
where it is not in 물건. Hangul does not show the character, so the words are listed
(표준국어대사전's pronunciations of common vocabulary). A few one-syllable suffixes are tense
after any noun of enough syllables (가능성 [가능썽], 선거권 [선거꿘], 당뇨병 [당뇨뼝]); their
exceptions are listed too.

Compound nouns take 사잇소리 unless the first part is the material (금반지, 쌀밥), a state or a
manner (찬밥, 볶음밥), or the two parts are coordinate (팔다리, 손발): listed as heads and
pairs, since the relation between the parts is not in the spelling.
"""

from __future__ import annotations

# noun -> positions (0-based syllables) whose lax onset is said tense: the last, in these
TENSED_WORDS: dict[str, tuple[int, ...]] = {
    w: (len(w) - 1,) for w in (
        # 件, 權/券, 法, 格, 科, 字, 點, 價, 數, 氣, 症/證, 狀, 句, 果 in their tense words
        "조건", "사건", "안건", "요건", "용건", "여건",
        "인권", "여권", "주권", "채권", "정권", "특권", "물권", "판권", "저작권",
        "문법", "헌법", "민법", "형법", "사법", "용법", "어법", "수법", "비법", "편법", "불법", "위법", "요법", "화법",
        "성격", "인격", "품격",
        "내과", "외과", "치과", "안과", "학과", "소아과", "피부과", "정신과", "산부인과", "이비인후과",
        "문자", "한자", "활자", "정자", "오자", "적자", "흑자",
        "장점", "단점", "만점", "초점", "요점", "관점", "시점", "중점", "허점", "논점", "쟁점", "문제점",
        "공통점", "차이점", "출발점", "기준점", "교차점",
        "물가", "평가", "원가", "정가", "주가", "대가", "시가", "고가", "단가", "유가", "특가", "염가", "지가",
        "점수", "개수", "배수", "정수", "홀수", "함수", "변수", "인원수", "총수",
        "인기",
        "통증", "염증", "자격증", "신분증", "학생증", "면허증", "우울증", "불면증", "합병증",
        "초대장", "청첩장", "연하장", "표창장", "상장", "졸업장", "임명장", "위임장", "소개장",
        "어구", "효과", "공권",
        # native compounds on 가 'edge', which no compound split shows: 강가 [강까]
        "강가", "길가", "창가", "문가", "우물가",
    )
}
TENSED_WORDS.update({"물건": (), "방법": ()})  # 物件, 方法: not tense, unlike 件 and 法 elsewhere

# One-syllable suffixes said tense after a noun of at least this many syllables.
TENSED_SUFFIXES = {"성": 2, "권": 1, "병": 2, "증": 2, "법": 1}

# 사잇소리 does not join these compounds.
MATERIAL_FIRST = {"금", "은", "쌀", "콩", "팥", "흙", "솜", "털", "옥", "철", "밀", "고무", "비단", "유리"}
MANNER_FIRST = {"찬", "볶음", "튀김", "부침", "구이", "찜", "무침"}
# Coordinate pairs, and a few whose relation the lists above do not catch (fire is how 불고기 is
# cooked, where water is where 물고기 lives).
NO_SAI_PAIRS = {("불", "고기"), ("팔", "다리"), ("손", "발"), ("논", "밭"), ("마", "소"), ("앞", "뒤"), ("위", "아래"), ("눈", "비"),
              ("밤", "낮"), ("물", "불"), ("봄", "가을"), ("여름", "겨울"), ("산", "들"), ("강", "산"), ("길", "바닥")}
# Native heads that keep their lax onset after a sonorant in most compounds.
UNTENSED_HEADS = {"감기", "장난", "국수", "기계"}


def tensed_syllables(noun: str) -> tuple[int, ...]:
    """Positions in ``noun`` whose onset is tense by the lexicon or a tense suffix."""
    if noun in TENSED_WORDS:
        return TENSED_WORDS[noun]
    # A listed word at the end of a longer noun (성형외과, 국제물가), or at its start (공권력, 조건부).
    for start in range(1, len(noun) - 1):
        tail = noun[start:]
        if len(tail) >= 2 and tail in TENSED_WORDS:
            return tuple(start + p for p in TENSED_WORDS[tail])
    for end in range(len(noun) - 1, 1, -1):
        if noun[:end] in TENSED_WORDS:
            return TENSED_WORDS[noun[:end]]
    if len(noun) >= 2 and TENSED_SUFFIXES.get(noun[-1], 99) <= len(noun) - 1 and noun[:-1] not in MATERIAL_FIRST:
        return (len(noun) - 1,)
    return ()


def listed(noun: str) -> bool:
    """Whether the lexicon gives the whole noun's tensing (no compound rule should add to it)."""
    return noun in TENSED_WORDS


def takes_sai(first: str, second: str) -> bool:
    """Whether the compound ``first`` + ``second`` takes 사잇소리 (given that its shape allows it)."""
    if first in MATERIAL_FIRST or first in MANNER_FIRST or (first, second) in NO_SAI_PAIRS:
        return False
    if first.endswith("음") and len(first) >= 2:  # a nominalised verb: the manner (볶음밥, 졸음운전 …)
        return False
    return second not in UNTENSED_HEADS


# Words the Standard Pronunciation itself names as taking no ㄴ-insertion (art. 29, 다만): they link.
NO_N_INSERTION = ("육이오", "삼일절", "송별연", "등용문")
# ...and names the article gives as the rule where a suffix would suggest its exception (art. 20).
LATERAL_WORDS = ("대관령",)
