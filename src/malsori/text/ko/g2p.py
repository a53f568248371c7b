"""Korean pronunciation from spelling by the Standard Pronunciation rules (표준 발음법).

Text is first normalised (numbers, symbols, acronyms: ``normalize.py``). Then each rule is a pass
over the syllables or over the boundaries between neighbours, in the order the rules feed each
other: vowels (art. 5), ㅎ (12), palatalisation (17), linking and ㄴ-insertion across words (13-16,
29), coda neutralisation (9-11), tensing (23-27), then the assimilations (18-20). Every change is
recorded with its article, so ``explain`` can say which rule made which sound.

What the surface cannot tell is handled conservatively: tensing after a ㄴ/ㅁ verb stem (art. 24)
and ㄴ-insertion inside compounds (29) need morphology and are applied only where the spelling is
unambiguous (ㄵ, ㄻ stems; 사이시옷 before 잎, 잇, 윷). Sino-Korean ㄹ + ㄷ/ㅅ/ㅈ tensing (26) is
applied inside words except before verb endings (알다, 살자) and in repetitions (절절하다).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from malsori.text.ko.hangul import FIRST, LAST, SYLLABLES, is_syllable, split
from malsori.text.ko.learned import (LearnedModel, arbitration_group, boundary_features, long_vowel_features,
                                     shipped_model, sino_korean_pair, sino_korean_word)
from malsori.text.ko.lexicon import LATERAL_WORDS, NO_N_INSERTION, listed, takes_sai, tensed_syllables

ASPIRATED = {"ㄱ": "ㅋ", "ㄷ": "ㅌ", "ㅂ": "ㅍ", "ㅈ": "ㅊ"}
TENSE = {"ㄱ": "ㄲ", "ㄷ": "ㄸ", "ㅂ": "ㅃ", "ㅅ": "ㅆ", "ㅈ": "ㅉ"}
PART_ONSETS = frozenset(TENSE) | {"ㅇ"}  # where a compound boundary changes what the rules do
# Art. 9-11: the seven coda sounds.
NEUTRAL = {"ㄲ": "ㄱ", "ㅋ": "ㄱ", "ㄳ": "ㄱ", "ㄺ": "ㄱ", "ㅅ": "ㄷ", "ㅆ": "ㄷ", "ㅈ": "ㄷ", "ㅊ": "ㄷ", "ㅌ": "ㄷ",
           "ㅎ": "ㄷ", "ㅍ": "ㅂ", "ㄿ": "ㅂ", "ㅄ": "ㅂ", "ㄵ": "ㄴ", "ㄶ": "ㄴ", "ㄻ": "ㅁ", "ㄼ": "ㄹ", "ㄽ": "ㄹ",
           "ㄾ": "ㄹ", "ㅀ": "ㄹ"}
# A cluster's first and second consonants (the second moves on before a vowel).
CLUSTERS = {"ㄳ": ("ㄱ", "ㅅ"), "ㄵ": ("ㄴ", "ㅈ"), "ㄶ": ("ㄴ", "ㅎ"), "ㄺ": ("ㄹ", "ㄱ"), "ㄻ": ("ㄹ", "ㅁ"),
            "ㄼ": ("ㄹ", "ㅂ"), "ㄽ": ("ㄹ", "ㅅ"), "ㄾ": ("ㄹ", "ㅌ"), "ㄿ": ("ㄹ", "ㅍ"), "ㅀ": ("ㄹ", "ㅎ"),
            "ㅄ": ("ㅂ", "ㅅ")}
NASAL_OF = {"ㄱ": "ㅇ", "ㄷ": "ㄴ", "ㅂ": "ㅁ"}
NASAL_OR_LIQUID = ("ㄹ", "ㄴ", "ㅁ")  # onsets that assimilate or are assimilated to (art. 18-20)
H_CODAS = ("ㅎ", "ㄶ", "ㅀ")
OBSTRUENT_CODAS = set("ㄱㄲㅋㄳㄺㄷㅅㅆㅈㅊㅌㅂㅍㄿㅄ")
Y_VOWELS = set("ㅣㅑㅕㅛㅠ")
# Verb endings after a ㄹ stem, which are not tensed by art. 26 (알다, 살자, 멀지).
VERB_ENDINGS = ("다", "지", "자", "던", "더라", "든", "다가", "도록", "더니")
# Endings after which a ㄺ stem keeps ㄹ (맑게 -> 말께; the noun 흙과 -> 흑꽈 keeps ㄱ).
RG_ENDINGS = ("게", "고", "거", "기", "겠")
# Art. 27: endings after the -ㄹ modifier that are tensed (할수록 -> 할쑤록).
MODIFIER_ENDINGS = ("수록", "지라도", "지언정", "진대", "걸", "밖에", "세라", "거야", "거예요", "건데", "지도")
# Common -ㄹ modifiers before a separate noun (할 것, 갈 데): art. 27 across a space.
MODIFIERS = {"할", "갈", "볼", "올", "될", "쓸", "살", "알", "놀", "줄", "만날", "먹을", "있을", "없을", "같을", "좋을",
             "받을", "읽을", "잡을", "찾을", "입을", "앉을", "웃을", "죽을", "잘"}
# Art. 20 exception: Sino-Korean suffixes after a ㄴ-final word keep ㄴ + ㄴ (결단력 -> 결딴녁).
NN_SUFFIXES = ("력", "론", "료", "량", "란", "례", "령", "류", "로")
# Vowel-initial words that link after neutralising (art. 15) even inside a compound.
LEXICAL_VOWEL_STARTS = ("옷", "웃", "아래", "앞", "위", "없", "있", "어른", "어치", "어미")
LETTER_NAMES = {"디귿": "ㄷ", "지읒": "ㅈ", "치읓": "ㅊ", "키읔": "ㅋ", "티읕": "ㅌ", "피읖": "ㅍ", "히읗": "ㅎ"}
# Art. 16: a letter name's final consonant before a vowel.
LETTER_LINK = {"ㄷ": "ㅅ", "ㅈ": "ㅅ", "ㅊ": "ㅅ", "ㅋ": "ㄱ", "ㅌ": "ㅅ", "ㅍ": "ㅂ", "ㅎ": "ㅅ"}
# Parts after which mecab-ko-dic's compound boundary is not a word boundary for the compound rules:
# derivational suffixes (웃음 = 웃 + 음, 땀받이 = 땀 + 받이) and one-syllable Sino-Korean suffixes
# that take neither 사잇소리 nor ㄴ-insertion (박물관 -> 방물관, 외국인 -> 외구긴, 일요일 -> 이료일).
DERIVATIONAL_PARTS = {"음", "이", "기", "개", "질", "받이", "닫이", "걸이", "잡이", "붙이", "살이", "쟁이", "장이", "꾼",
                      "관", "장", "실", "소", "서", "원", "회", "인", "국", "자", "적", "화", "성", "청", "요일"}
NUMERAL_UNITS = set("십백천만억조")
FIRST_SYLLABLE, LAST_SYLLABLE = chr(FIRST), chr(LAST)
NUMERAL_TENS = ("스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔", "열")


@dataclass
class Change:
    rule: str  # an article of 표준 발음법 ("23", "5 (allowed)"), "lexicon", or "learned"
    before: str
    after: str
    # "learned" only: the model's confidence in its answer, and what the rules alone would have said
    confidence: float | None = None
    rules_said: str | None = None


@dataclass
class Pronunciation:
    text: str
    changes: list[Change] = field(default_factory=list)


class _Syl:
    __slots__ = ("o", "v", "c", "word", "pos", "index", "tense_next", "coda_tag", "coda_token", "onset_tag",
                 "onset_token", "starts_token", "linked", "compound_start", "no_sai", "lexically_tense", "long",
                 "parts")

    def __init__(self, ch: str, word: int, pos: int, index: int):
        self.o, self.v, self.c = split(ch)
        self.word, self.pos, self.index = word, pos, index
        self.tense_next = ""  # the article that tenses the next onset, when the coda does
        self.linked = False  # its onset came from the previous coda (not tensed again: 앉아 -> 안자)
        # Morphology (kiwipiepy) where available: the morpheme its coda belongs to, the one its
        # onset begins, and whether a morpheme starts here.
        self.coda_tag = self.onset_tag = None
        self.coda_token = self.onset_token = None
        self.starts_token = False
        self.compound_start = False  # the second (or later) part of a compound noun starts here
        self.no_sai = False  # ... of a compound that takes no 사잇소리 (금반지, 팔다리: lexicon.takes_sai)
        self.lexically_tense = False  # its onset is tense by the lexicon (조건 -> 조껀, 가능성 -> 가능썽)
        self.long = False  # a long vowel (marked only on request)
        self.parts: tuple[str, str] | None = None  # a compound's parts either side, where one starts here

    def text(self) -> str:
        return SYLLABLES[self.o, self.v, self.c]


def pronounce(text: str, normalise: bool = True, morphology: bool | None = None,
              descriptive: bool = False, learned: bool | LearnedModel = True,
              long_vowels: bool = False) -> Pronunciation:
    """Pronunciation of ``text`` in Hangul, with the rules that changed it. Morphology (kiwipiepy,
    and mecab-ko-dic for compounds) is used when installed unless ``morphology`` is False.
    ``learned``: the learned layer decides tensing, ㄴ-insertion and long vowels (``learned.py``;
    True: the shipped model where present, or a ``LearnedModel``; False: the rules alone).
    ``descriptive`` gives the everyday variants the standard allows (``phonetic.descriptive``);
    ``long_vowels`` marks long first vowels with ː (the learned layer's guess)."""
    return _pronounce(text, normalise, morphology, descriptive, learned, long_vowels)


def _pronounce(text: str, normalise: bool = True, morphology: bool | None = None, descriptive: bool = False,
               learned: bool | LearnedModel = True, long_vowels: bool = False, observer=None) -> Pronunciation:
    if normalise:
        from malsori.text.ko.normalize import normalize

        text = normalize(text)
    model = (shipped_model() if learned is True else learned or None) if observer is None else None
    items, words = _tokens(text)
    changes: list[Change] = []
    syllables = [s for s in items if isinstance(s, _Syl)]
    # the written ㅅ codas, before the rules move them (for the variants after 사이시옷)
    sai_siot = frozenset(s.index for s in syllables if s.c == "ㅅ") if descriptive else frozenset()
    if syllables:
        use = morphology_available() if morphology is None else morphology and morphology_available()
        morphology = _annotate(text, items) if use else False
        _Rules(items, words, changes, morphology, model, observer).run()
    if long_vowels and model is not None:
        _mark_long_vowels(items, words, model, changes)
    spoken = "".join((s.text() + "ː" if s.long else s.text()) if s.__class__ is _Syl else s for s in items)
    if descriptive:
        from malsori.text.ko.phonetic import descriptive as everyday

        possessives = frozenset(s.index for s in syllables if s.onset_tag == "JKG" and s.starts_token)
        before, spoken = spoken, everyday(spoken, possessives, sai_siot)
        if spoken != before:
            changes.append(Change("5 (allowed)", before, spoken))
    return Pronunciation(spoken, changes)


def _mark_long_vowels(items: list, words: list[str], model: LearnedModel, changes: list[Change]) -> None:
    """Art. 6: a long vowel is kept in a word's first syllable only; the model says which."""
    for s in items:
        if isinstance(s, _Syl) and s.pos == 0:
            p = model.probability("long_vowel", long_vowel_features(words[s.word]))
            if p >= 0.5:
                s.long = True
                changes.append(Change("learned", s.text(), s.text() + "ː", confidence=p, rules_said="6"))


def clear_caches() -> None:
    """Forget the words seen so far (compound parts, the parts' tags, syllable origins):
    benchmarks measure text read for the first time."""
    from malsori.text.ko.learned import origin_features, part_tags

    compound_parts.cache_clear()
    part_tags.cache_clear()
    origin_features.cache_clear()


def g2p(text: str) -> str:
    """``pronounce(text).text``: the pronunciation spelled in Hangul."""
    return pronounce(text).text


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


@lru_cache(maxsize=1)
def morphology_available() -> bool:
    try:
        _kiwi()
    except Exception:  # not installed, or its model missing: the surface rules still work
        return False
    return True


@lru_cache(maxsize=65536)
def compound_parts(noun: str) -> tuple[int, ...]:
    """Lengths of a compound noun's parts from mecab-ko-dic (문고리 -> (1, 2)); (len,) when it is
    not a compound or mecab is not installed."""
    try:
        features = _mecab()(noun)
    except Exception:  # python-mecab-ko missing: no compound boundaries
        return (len(noun),)
    # one morpheme: pos,semantic,has_coda,reading,type,start_pos,end_pos,expression
    fields = features[0].split(",") if len(features) == 1 else ()
    if len(fields) != 8 or fields[4] != "Compound" or fields[7] in ("", "*"):
        return (len(noun),)
    forms = [p.split("/")[0] for p in fields[7].split("+")]
    # mecab-ko-dic also splits derived nouns (웃음 = 웃 + 음, 땀받이 = 땀 + 받이); those suffixes
    # are not words of their own, and the compound rules do not apply before them.
    lengths: list[int] = []
    for form in forms:
        if lengths and form in DERIVATIONAL_PARTS:
            lengths[-1] += len(form)
        else:
            lengths.append(len(form))
    return tuple(lengths) if sum(lengths) == len(noun) else (len(noun),)


@lru_cache(maxsize=1)
def _mecab():
    """A function giving the feature strings of mecab-ko-dic's analysis of a text: the tagger
    called directly on a lattice kept per thread, its output read as one string (building a
    named tuple per field, or a Python object per node, took most of the compound lookups' time)."""
    import threading

    import mecab

    from malsori.text.ko.hanja import _load_mecab

    analyser = _load_mecab()  # one analyser (and one dictionary in memory) for Hanja and compounds
    if analyser is None:
        raise ImportError("python-mecab-ko is not installed")
    tagger = getattr(analyser, "_tagger", None)
    if tagger is None:  # another python-mecab-ko: its public API, slower
        return lambda text: [str(morpheme.feature) for morpheme in analyser.parse(text)]
    import _mecab

    local = threading.local()

    def features(text: str) -> list[str]:
        lattice = getattr(local, "lattice", None)
        if lattice is None:
            lattice = local.lattice = _mecab.Lattice()
            lattice.add_request_type(_mecab.MECAB_ALLOCATE_SENTENCE)
        lattice.set_sentence(text)
        if not tagger.parse(lattice):
            raise mecab.MeCabError(tagger.what())
        # "surface\tfeature" lines, then EOS
        return [line.partition("\t")[2] for line in lattice.to_string().split("\n")[:-2]]

    return features


def _annotate(text: str, items: list) -> bool:
    """Attach kiwipiepy's morphemes to the syllables of ``items`` (one item per character of
    ``text``: kiwipiepy's offsets index both), and mecab-ko-dic's compound boundaries inside nouns."""
    previous_noun, previous_end = "", -1
    for number, token in enumerate(_morphemes(text)):
        # kiwipiepy's token fields are computed on each access: read each once
        start, length, tag, form = token.start, token.len, token.tag, token.form
        covered = [s for s in items[start:start + max(length, 1)] if s.__class__ is _Syl]
        if not covered:
            continue
        whole = len(covered) == len(form)
        if tag in ("NNG", "NNP") and len(form) > 1 and whole:
            offset = 0
            # A compound's parts matter only before an onset the rules may tense or link to (a
            # quarter of the G2P's time outside kiwipiepy went to mecab-ko-dic): 대통령 needs no parts.
            parts = compound_parts(form) if any(s.o in PART_ONSETS for s in covered[1:]) else (len(form),)
            for k, part in enumerate(parts[:-1]):
                first = form[offset:offset + part]
                offset += part
                second = form[offset:offset + parts[k + 1]]
                covered[offset].compound_start = True
                covered[offset].parts = (first, second)
                covered[offset].no_sai = listed(form) or not takes_sai(first, second)
            for position in tensed_syllables(form):
                covered[position].lexically_tense = True
        elif tag == "XSN" and whole and previous_noun and start == previous_end:
            # A tense suffix after a noun kiwi split off (가능+성, 선거+권).
            if tensed_syllables(previous_noun + form)[-1:] == (len(previous_noun),):
                covered[0].lexically_tense = True
        previous_noun = form if tag in ("NNG", "NNP") else ""
        previous_end = start + length
        first = covered[0]
        # A morpheme fused into a syllable another one began (힘들+ᆫ -> 든) owns its coda only.
        if first.onset_token is None:
            first.onset_tag, first.onset_token = tag, number
            first.starts_token = first.index == start
        coda_token = (number, form)
        for syl in covered:
            syl.coda_tag, syl.coda_token = tag, coda_token
            if syl.onset_token is None:
                syl.onset_tag, syl.onset_token = tag, number
    return True


def _morphemes(text: str) -> list:
    """kiwipiepy's analysis; a lone verb in its dictionary form (숨다, 감다, 신다) is taken as that
    verb, where the best analysis of one word out of context is often a noun or another stem."""
    kiwi = _kiwi()
    if text.endswith("다") and len(text) >= 2 and all(is_syllable(ch) for ch in text):
        for tokens, _ in kiwi.analyze(text, top_n=4):
            if len(tokens) == 2 and tokens[0].tag in ("VV", "VA") and tokens[1].form == "다" \
                    and tokens[0].form + "다" == text:
                return tokens
    return kiwi.tokenize(text)


def _tokens(text: str):
    """Syllables and other characters in order, and each word's text (a run of syllables)."""
    items: list = []
    words: list[str] = []
    start = -1  # where the current word began in ``text``; -1 between words
    for index, ch in enumerate(text):
        if FIRST_SYLLABLE <= ch <= LAST_SYLLABLE:
            if start < 0:
                start = index
                words.append("")
            items.append(_Syl(ch, len(words) - 1, index - start, index))
        else:
            if start >= 0:
                words[-1] = text[start:index]
            items.append(ch)
            start = -1
    if start >= 0:
        words[-1] = text[start:]
    return items, words


# Tensing the morphology settles (a verb stem's ㄴ/ㅁ before an ending, the -ㄹ modifier): the learned
# layer, which decides lexical tensing, leaves these to the rules.
GRAMMATICAL_TENSING = ("24", "27")
LEXICAL = ("NN", "NR", "NP", "VV", "VA", "VX", "XR", "MM", "MAG", "SN", "XPN")
# Sino-Korean suffixes that are substantive enough for ㄴ-insertion after a consonant.
N_SUFFIXES = {"용", "역", "염", "유", "약"}
# Verb prefixes before which a y-vowel stem takes ㄴ-insertion: 설익다 -> 설릭따, 덧입다 -> 던닙따.
VERB_PREFIXES = {"설", "덧"}


def _verb(tag: str | None) -> bool:
    return bool(tag) and tag.startswith(("VV", "VA"))


def _lexical(tag: str | None) -> bool:
    return bool(tag) and tag.startswith(LEXICAL)


class _Rules:
    def __init__(self, items, words, changes, morphology: bool = False, model: LearnedModel | None = None,
                 observer=None):
        self.items, self.words, self.changes = items, words, changes
        self.morphology = morphology
        self.model = model
        # Training (train_learned): called with (decision, a, b, features, rules' answer) at each
        # place the learned layer decides.
        self.observer = observer

    def decide(self, decision: str, a: _Syl, b: _Syl, rule: str | None) -> tuple[str | None, float | None]:
        """The learned layer's answer at a boundary inside a word where the rules said ``rule``
        (an article, or None for no change), and its confidence when it overrules them: the
        article when both agree, "learned" to make the change the rules did not, None for no
        change (an undone change is noted here)."""
        deciding = self.model is not None and self.model.decides(decision)
        if not deciding and self.observer is None:
            return rule, None
        left = a.coda_token[1] if a.coda_token else ""
        right = b.coda_token[1] if b.coda_token else ""
        features = boundary_features(self.words[a.word], a.pos, b.pos, a.c, b.o, rule or "",
                                     (a.coda_tag, b.onset_tag), (left, right), b.starts_token, b.parts)
        if self.observer is not None:
            self.observer(decision, a, b, features, rule is not None)
        if not deciding:
            return rule, None
        p = self.model.probability(decision, features)
        if (p >= 0.5) == (rule is not None) or abs(p - 0.5) <= self.model.margin(decision, arbitration_group(features)):
            return rule, None  # agreed, or not sure enough to overrule
        if p < 0.5:
            text = a.text() + b.text()
            self.changes.append(Change("learned", text, text, confidence=1 - p, rules_said=rule))
            return None, None
        return "learned", p

    def pairs(self):
        """(a, b, across_space) for neighbouring syllables, in one word or across one space."""
        out = []
        for i, item in enumerate(self.items[:-1]):
            if not isinstance(item, _Syl):
                continue
            nxt = self.items[i + 1]
            if isinstance(nxt, _Syl):
                out.append((item, nxt, False))
            elif nxt == " " and i + 2 < len(self.items) and isinstance(self.items[i + 2], _Syl):
                out.append((item, self.items[i + 2], True))
        return out

    def note(self, rule: str, *syls: _Syl, before: str, confidence: float | None = None) -> None:
        self.changes.append(Change(rule, before, "".join(s.text() for s in syls), confidence=confidence))

    def run(self) -> None:
        self.vowels()
        self.letter_names()
        pairs = self.pairs()  # the rules change syllables, never which ones neighbour
        # Each pass tests inline the condition its rule starts with: most pairs meet none, and a
        # method call per pair and pass was a fifth of the G2P's time.
        for a, b, space in pairs:
            if b.o == "ㅎ" or a.c in H_CODAS:
                self.h_rules(a, b, space)
        for a, b, space in pairs:
            if b.o == "ㅇ" and not space:
                self.palatalise(a, b, space)
        for a, b, space in pairs:
            if b.o == "ㅇ" and a.c:
                self.link(a, b, space)
        self.neutralise()
        for a, b, space in pairs:
            if b.o in TENSE and not b.linked:
                self.tense(a, b, space)
        for a, b, space in pairs:
            if b.o in NASAL_OR_LIQUID:
                self.assimilate(a, b, space)

    def vowels(self) -> None:
        for s in self.items:
            if not isinstance(s, _Syl):
                continue
            if s.v == "ㅕ" and s.o in "ㅈㅉㅊ":
                before, s.v = s.text(), "ㅓ"
                self.note("5.1", s, before=before)
            elif s.v == "ㅢ" and s.o != "ㅇ":
                before, s.v = s.text(), "ㅣ"
                self.note("5.3", s, before=before)

    def letter_names(self) -> None:
        for i in range(len(self.items) - 2):
            first, last, nxt = self.items[i:i + 3]
            if not isinstance(nxt, _Syl) or nxt.o != "ㅇ" or not isinstance(first, _Syl) \
                    or not isinstance(last, _Syl) or last.c not in LETTER_LINK:
                continue
            if LETTER_NAMES.get(first.text() + last.text()) == last.c:
                before = last.text() + nxt.text()
                nxt.o, last.c = LETTER_LINK[last.c], ""
                self.note("16", last, nxt, before=before)

    def h_rules(self, a: _Syl, b: _Syl, space: bool) -> None:
        if a.c not in H_CODAS and b.o != "ㅎ":
            return  # most pairs: nothing to do, and no need to spell them
        before = a.text() + b.text()
        if a.c in H_CODAS and not space:
            rest = {"ㅎ": "", "ㄶ": "ㄴ", "ㅀ": "ㄹ"}[a.c]
            if b.o in ASPIRATED:
                a.c, b.o = rest, ASPIRATED[b.o]
            elif b.o == "ㅅ":
                a.c, b.o = rest, "ㅆ"
            elif b.o == "ㄴ":
                a.c = rest or "ㄴ"
            elif b.o == "ㅇ":
                a.c = rest
            else:
                return
            self.note("12", a, b, before=before)
        elif b.o == "ㅎ" and a.c:
            first, last = CLUSTERS.get(a.c, ("", a.c))
            if last in ("ㅈ",) and not space:
                stop = "ㅈ"
            else:
                stop = NEUTRAL.get(last, last)
            if stop not in ASPIRATED:
                return
            if stop == "ㄷ" and not space and (b.v == "ㅣ" or b.v == "ㅕ" and (
                    not self.morphology or _verb(a.coda_tag))):  # 맏형 [마텽] is a noun
                # 굳히다 -> 구치다 (art. 17), and through 히 + 어 contracted: 닫혀 -> 다처 (art. 5: 쳐 is [처])
                a.c, b.o, b.v = first, "ㅊ", "ㅣ" if b.v == "ㅣ" else "ㅓ"
                self.note("17", a, b, before=before)
                return
            a.c, b.o = first, ASPIRATED[stop]
            self.note("12", a, b, before=before)

    def palatalise(self, a: _Syl, b: _Syl, space: bool) -> None:
        # Only before a grammatical 이 (굳이, 밭이); a compound's part keeps its ㄴ-insertion (홑이불).
        # A verb's 이 + 어 contracted to 여 palatalises too: 붙여 -> 부처 (져, 쳐 are said 저, 처).
        contracted = b.v == "ㅕ" and (not self.morphology or _verb(a.coda_tag))
        if space or b.o != "ㅇ" or (b.v != "ㅣ" and not contracted) or a.c not in ("ㄷ", "ㅌ", "ㄾ") \
                or b.compound_start:
            return
        before = a.text() + b.text()
        if a.c == "ㄾ":
            a.c, b.o = "ㄹ", "ㅊ"
        else:
            a.c, b.o = "", "ㅈ" if a.c == "ㄷ" else "ㅊ"
        if contracted:
            b.v = "ㅓ"
        self.note("17", a, b, before=before)

    def new_word_starts(self, a: _Syl, b: _Syl, space: bool) -> bool:
        """Whether ``b`` begins a lexical morpheme after a lexical one (a word or compound
        boundary), where art. 15 and 29 apply rather than plain linking."""
        if not space and (b.compound_start or b.pos > 0 and self.words[b.word][b.pos:].startswith(LEXICAL_VOWEL_STARTS)):
            return True  # a vowel-initial part of a compound: 겉옷, 값있다
        if self.morphology:
            if not b.starts_token or not _lexical(b.onset_tag) or {a.coda_tag, b.onset_tag} <= {"NR", "SN"}:
                return False  # numerals read digit by digit (6·25 -> 육이오) only link
            return _lexical(a.coda_tag) or a.coda_tag == "ETM"
        if space:
            return len(self.words[a.word]) == 1 or a.c in OBSTRUENT_CODAS
        return False

    def said_as_one(self, a: _Syl, b: _Syl) -> bool:
        """Whether two words are said as one, so ㄴ-insertion crosses the space between them: after
        a modifier, an adverb or a numeral (한 일, 할 일, 잘 입다, 스물 여섯) and before 입다 (옷 입다),
        but not after a noun before other verbs (사람 있는데 is not 사람 닌는데)."""
        if not self.morphology:
            return True
        return a.coda_tag in ("ETM", "MM", "MAG", "NR", "SN") or (self.words[b.word].startswith("입")
                                                                  and _verb(b.onset_tag))

    def inserts_n(self, a: _Syl, b: _Syl, space: bool) -> bool:
        """Art. 29: whether ㄴ is inserted before ``b`` (이/야/여/요/유 starting a word, a compound's
        part, a substantive suffix, a reduplicated half or after a verb prefix)."""
        word = self.words[b.word]
        if word.startswith(NO_N_INSERTION):
            return False  # the article's own exceptions: 6·25 [유기오], 송별연 [송벼련], 등용문
        if not space and b.compound_start:
            return True  # 솜이불 -> 솜니불, 물약 -> 물략
        if a.coda_tag in ("NR", "SN") and b.onset_tag == "NNB":
            return False  # a counter after a numeral links: 6일 -> 유길, 16일 -> 심뉴길
        if self.new_word_starts(a, b, space):
            compound = not space and b.pos > 0 and word[b.pos:].startswith(LEXICAL_VOWEL_STARTS)
            return not compound and (not space or self.said_as_one(a, b))  # 한 일 -> 한 닐
        if space:
            return False
        if b.onset_tag == "XSN" and b.starts_token and b.text() in N_SUFFIXES:
            return True  # 영업용 -> 영엄뇽, 서울역 -> 서울력
        if b.pos >= 2 and word[b.pos:].startswith(word[:b.pos]):
            return True  # a reduplicated mimetic word: 유들유들 -> 유들류들, 이죽이죽 -> 이중니죽
        return b.pos == 1 and word[0] in VERB_PREFIXES and (not self.morphology or _verb(b.coda_tag))

    def link(self, a: _Syl, b: _Syl, space: bool) -> None:
        if b.o != "ㅇ" or not a.c:
            return
        if b.v in Y_VOWELS:
            rule, confidence = "29" if self.inserts_n(a, b, space) else None, None
            if not space:
                rule, confidence = self.decide("n_insertion", a, b, rule)
            if rule:
                before = a.text() + b.text()
                b.o = "ㄹ" if a.c == "ㄹ" else "ㄴ"
                self.note(rule, a, b, before=before, confidence=confidence)
                return
        if a.c == "ㅇ":
            return
        before = a.text() + b.text()
        word = self.words[b.word]
        rest_of_word = word[b.pos:]
        if self.new_word_starts(a, b, space):
            if space and (a.c not in OBSTRUENT_CODAS or b.v in Y_VOWELS):
                # 는 음식: words stay apart unless the coda changes by linking; before 이/야/여/요/유
                # they stay apart unless said as one, with ㄴ-insertion (제국 육군, not 제구 귝꾼)
                return
            # Art. 15: the coda is neutralised, then links (겉옷 -> 거돋, 밭 아래 -> 바 다래).
            a.c, b.o = "", NEUTRAL.get(a.c, a.c)
            self.note("15", a, b, before=before)
            return
        if space:
            return
        if a.c == "ㅅ" and b.v in Y_VOWELS and rest_of_word.startswith(("잎", "잇", "윷", "열", "엿")):
            b.o = "ㄴ"  # 사이시옷 before a noun of its own (나뭇잎, 베갯잇): art. 30
            self.note("30", a, b, before=before)
            return
        if b.text() == "육" and word[a.pos] in NUMERAL_UNITS:
            b.o = "ㄹ" if a.c == "ㄹ" else "ㄴ"  # 六 keeps its old ㄹ after a numeral: 십육 -> 심뉵, 만육천 -> 만뉵천
            self.note("29", a, b, before=before)
            return
        if b.v in Y_VOWELS and word[:b.pos].endswith(NUMERAL_TENS) and rest_of_word.startswith(("여섯", "여덟")):
            b.o = "ㄹ" if a.c == "ㄹ" else "ㄴ"  # 스물여섯 -> 스물려섣
            self.note("29", a, b, before=before)
            return
        b.linked = True
        if a.c in CLUSTERS:
            first, last = CLUSTERS[a.c]
            a.c, b.o = first, ("ㅆ" if last == "ㅅ" else last)
            self.note("14", a, b, before=before)
        else:
            a.c, b.o = "", a.c
            self.note("13", a, b, before=before)

    def neutralise(self) -> None:
        for i, s in enumerate(self.items):
            if not isinstance(s, _Syl) or not s.c:
                continue
            nxt = self.items[i + 1] if i + 1 < len(self.items) else None
            following = nxt if isinstance(nxt, _Syl) else None
            word = self.words[s.word]
            before = s.text()
            original = s.c
            if original in OBSTRUENT_CODAS:
                s.tense_next = "23"
            elif s.c in ("ㄵ", "ㄻ", "ㄼ", "ㄾ") and following is not None:
                s.tense_next = "24" if s.c in ("ㄵ", "ㄻ") else "25"  # stems: 앉고 -> 안꼬, 넓게 -> 널께
            if s.c == "ㄺ" and following is not None and word[following.pos:].startswith(RG_ENDINGS) \
                    and following.word == s.word:
                s.c = "ㄹ"  # 맑게 -> 말께 (art. 11)
            elif s.c == "ㄼ" and (word.startswith("밟") and s.pos == 0 or word.startswith(("넓죽", "넓둥"))):
                s.c = "ㅂ"  # 밟다 -> 밥따, 넓죽하다 -> 넙쭉하다 (art. 10)
            elif s.c in NEUTRAL:
                s.c = NEUTRAL[s.c]
            else:
                continue
            if s.text() != before:
                rule = "9" if original in "ㄲㅋㅅㅆㅈㅊㅌㅎㅍ" else "11" if original in ("ㄺ", "ㄻ", "ㄿ") else "10"
                self.note(rule, s, before=before)

    def tense(self, a: _Syl, b: _Syl, space: bool) -> None:
        if b.o not in TENSE or b.linked:
            return
        word = self.words[a.word]
        rule, confidence = None, None
        if not space and a.tense_next:
            if not (a.tense_next == "24" and (b.o == "ㅂ" or word[b.pos:].startswith("기"))):
                # Art. 24 covers ㄱ, ㄷ, ㅅ, ㅈ only, and not the passive/causative 기 (옮기다).
                rule = a.tense_next
        elif not space and b.lexically_tense:
            rule = "lexicon"  # tensing no rule predicts (Sino-Korean 件, 點, 價 …): 조건 -> 조껀
        elif not space and b.compound_start and a.c == "ㄹ" and b.o in "ㄷㅅㅈ" and sino_korean_word("".join(b.parts)):
            rule = "26"  # mecab-ko-dic splits Sino-Korean words too (불+세출 不世出 -> 불쎄출): no 사잇소리
        elif not space and b.compound_start and not b.no_sai and a.c in ("ㄴ", "ㄹ", "ㅁ", "ㅇ"):
            rule = "28"  # 사잇소리 between the parts of a compound: 문고리 -> 문꼬리, 산새 -> 산쌔
        elif self.morphology:
            rule = self._tense_by_morphology(a, b, space, word)
        elif a.c == "ㄹ" and not space and word[b.pos:].startswith(MODIFIER_ENDINGS):
            rule = "27"
        elif a.c == "ㄹ" and space and word in MODIFIERS:
            rule = "27"
        elif a.c == "ㄹ" and not space and b.o in "ㄷㅅㅈ" and not word[b.pos:].startswith(VERB_ENDINGS) \
                and word[a.pos] != word[b.pos]:
            rule = "26"
        if not space and not a.tense_next and rule not in GRAMMATICAL_TENSING:
            rule, confidence = self.decide("tense", a, b, rule)  # after a vowel or a sonorant: lexical
        if rule:
            before = a.text() + b.text()
            b.o = TENSE[b.o]
            self.note(rule, a, b, before=before, confidence=confidence)

    def _tense_by_morphology(self, a: _Syl, b: _Syl, space: bool, word: str) -> str | None:
        form = a.coda_token[1] if a.coda_token else ""
        if a.c == "ㄹ" and (a.coda_tag == "ETM" or form.startswith("ᆯ")) and (space or b.onset_token == a.coda_token[0]
                                                                             or b.starts_token):
            return "27"  # after the -ㄹ modifier: 할 것 -> 할 껏, 할수록 -> 할쑤록
        if space:
            return None
        if a.c in ("ㄴ", "ㅁ") and b.o in "ㄱㄷㅅㅈ" and (a.coda_tag or "").startswith(("VV", "VA")) \
                and (b.onset_tag or "").startswith("E"):
            return "24"  # a verb stem's ㄴ/ㅁ before an ending: 신고 (wearing) -> 신꼬, 삼고 -> 삼꼬
        nominal = ("NN", "NR", "XR")
        if a.c == "ㄹ" and b.o in "ㄷㅅㅈ" and (a.coda_tag or "").startswith(nominal) and not b.compound_start \
                and (b.onset_tag or "").startswith(nominal + ("XSN",)) and word[a.pos] != word[b.pos]:
            # inside a (Sino-Korean) noun: 갈등 -> 갈뜽, 글자 -> 글짜; not 절절하다, and not between the
            # parts of a compound, where 사잇소리 decides (물장난, 팔다리)
            return "26"
        if a.c == "ㄹ" and b.o in "ㄷㅅㅈ" and a.coda_tag == b.onset_tag == "MAG" and word[a.pos] != word[b.pos] \
                and sino_korean_pair(word, a.pos, b.pos):
            return "26"  # a Sino-Korean adverb, by the Hanja dictionary: 절대 (絶對) -> 절때, 별도 -> 별또
        return None

    def assimilate(self, a: _Syl, b: _Syl, space: bool) -> None:
        if b.o not in NASAL_OR_LIQUID:
            return
        before = a.text() + b.text()
        if space and (b.o == "ㄹ" or a.c == "ㄹ"):
            return  # ㄹ assimilates inside words only: 오늘 날씨 stays 오늘 날씨
        if b.o == "ㄹ" and a.c in ("ㅁ", "ㅇ", "ㄱ", "ㅂ"):
            b.o = "ㄴ"
            self.note("19", a, b, before=before)
        if b.o in ("ㄴ", "ㅁ") and a.c in NASAL_OF:
            before = a.text() + b.text()
            a.c = NASAL_OF[a.c]
            self.note("18", a, b, before=before)
        elif a.c == "ㄴ" and b.o == "ㄹ":
            word = self.words[b.word]
            if not space and b.pos >= 2 and word[b.pos:].startswith(NN_SUFFIXES) and not word.startswith(LATERAL_WORDS):
                b.o = "ㄴ"  # 결단력 -> 결딴녁: a suffix after a two-syllable word
            else:
                a.c = "ㄹ"
            self.note("20", a, b, before=before)
        elif a.c == "ㄹ" and b.o == "ㄴ":
            b.o = "ㄹ"
            self.note("20", a, b, before=before)
