"""Train the Korean G2P's learned layer (``learned.py``) from a pronunciation lexicon.

    python -m malsori.text.ko.train_learned --lexicon ko_pron_lexicon.tsv -o ko_learned.json.gz

The lexicon is a TSV with a header and the columns ``spelling`` and ``pronunciation`` (the
standard pronunciation in Hangul, long vowels marked ː), such as the NIKL learners' dictionary's.
The G2P runs over each word with the rules alone and reports every place the learned layer
decides (tensing, ㄴ-insertion) with its features; the dictionary's pronunciation of that
syllable is the label. Long vowels are labelled per word. One L2-regularised logistic model per
decision is fitted (scipy's L-BFGS), its strength chosen by 5-fold cross-validation over words.

A fixed part of the lexicon (``lexicon_part(word) == "check"``: a hash of the spelling, a fifth
of the words) is left out so benchmarks can judge the model on words it never saw; ``--all``
trains on every word. Training takes seconds: there is nothing to resume.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from malsori.text.ko.g2p import TENSE
from malsori.text.ko.hangul import is_syllable, split
from malsori.text.ko.learned import DECISIONS, LearnedModel, arbitration_group, long_vowel_features
L2_CHOICES = (0.1, 0.3, 1.0, 3.0)
# Weights smaller than this are not kept: half the tensing weights, the same answers on every
# benchmark set, a quarter smaller file.
MIN_WEIGHT = 0.01


def lexicon_part(word: str) -> str:
    """"check" for a fixed fifth of the words (by a hash of the spelling), else "train"."""
    return "check" if int(hashlib.md5(word.encode("utf-8")).hexdigest()[:8], 16) % 5 == 0 else "train"


def read_lexicon(path: str | Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or not {"spelling", "pronunciation"} <= set(rows[0]):
        raise SystemExit(f"{path}: needs a header with the columns spelling and pronunciation")
    return [(r["spelling"].strip(), r["pronunciation"].strip()) for r in rows if r["spelling"] and r["pronunciation"]]


def read_wikipron(path: str | Path) -> list[tuple[str, str]]:
    """WikiPron's TSV (no header): spelling, then broad IPA with phones separated by spaces."""
    with open(path, encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh]
    return [(r[0].strip(), r[1].strip()) for r in rows if len(r) >= 2 and r[0] != "spelling"]


# Broad IPA of Korean (WikiPron): vowels, glides, and the plain consonant each lax onset may show as.
IPA_VOWELS = set("aɛeʌouɯiɘøyæɐəɤ")
IPA_GLIDES = set("jwɰɥ")
IPA_OF_LAX = {"ㄱ": "kɡ", "ㄷ": "td", "ㅂ": "pb", "ㅅ": "sɕ", "ㅈ": "tdʑɕ"}


class HangulLabels:
    """Labels read off a pronunciation spelled in Hangul (the dictionary's)."""

    def __init__(self, word: str, said: str):
        self.long_first = len(said) > 1 and said[1] in "ː:"
        self.gold = [ch for ch in said if is_syllable(ch)]
        self.usable = len(self.gold) == len(word)  # one syllable for one, or no telling which is which

    def tense(self, index: int, lax: str) -> int | None:
        onset = split(self.gold[index])[0]
        return None if onset not in (lax, TENSE[lax]) else int(onset == TENSE[lax])  # None: aspirated …

    def n_insertion(self, left: int, right: int) -> int | None:
        return int(split(self.gold[right])[0] in ("ㄴ", "ㄹ") and split(self.gold[left])[2] != "")


class IpaLabels:
    """Labels read off broad IPA: syllables are counted by their vowels, and the last consonant
    before a vowel (after any coda) is its onset; ͈ marks it tense, ː a long vowel."""

    def __init__(self, word: str, ipa: str):
        phones = ipa.split()
        nuclei = [i for i, p in enumerate(phones) if p[0] in IPA_VOWELS]
        self.usable = len(nuclei) == len(word)
        self.long_first = bool(nuclei) and "ː" in phones[nuclei[0]]
        self.onsets: list[str | None] = []
        previous = -1
        for n in nuclei:
            k = n - 1
            while k > previous and phones[k][0] in IPA_GLIDES:
                k -= 1
            self.onsets.append(phones[k] if k > previous else None)
            previous = n

    def tense(self, index: int, lax: str) -> int | None:
        onset = self.onsets[index]
        # WikiPron writes plain ㅅ [sʰ]: there ʰ is not aspiration (ㅆ is [s͈])
        if onset is None or ("ʰ" in onset and lax != "ㅅ") or onset[0] not in IPA_OF_LAX[lax]:
            return None
        return int("͈" in onset)

    def n_insertion(self, left: int, right: int) -> int | None:
        return None  # broad IPA does not show which syllable a nasal belongs to reliably enough


def examples(pairs: list[tuple[str, str]], ipa: bool = False) -> dict[str, list[tuple[list[str], int, bool, str]]]:
    """Per decision: (features, label, the rules' answer, word) at each place it is made.
    ``pairs``: (spelling, pronunciation in Hangul), or broad IPA with ``ipa``."""
    from malsori.text.ko.g2p import _pronounce

    out: dict[str, list] = defaultdict(list)
    for word, said in pairs:
        if not word or not all(map(is_syllable, word)):
            continue
        labels = IpaLabels(word, said) if ipa else HangulLabels(word, said)
        if not labels.usable:
            continue
        out["long_vowel"].append((long_vowel_features(word), int(labels.long_first), False, word))

        def observe(decision, a, b, features, rules_said, word=word, labels=labels):
            label = labels.tense(b.index, b.o) if decision == "tense" else labels.n_insertion(a.index, b.index)
            if label is not None:
                out[decision].append((features, label, rules_said, word))

        _pronounce(word, normalise=False, observer=observe)
    return out


def fit(rows: list[tuple[list[str], int, bool, str]], l2: float) -> tuple[dict[str, float], float]:
    """L2-regularised logistic regression over binary features: (weights, bias)."""
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    index: dict[str, int] = {}
    cols, ptr = [], [0]
    for features, *_ in rows:
        cols.extend(index.setdefault(f, len(index)) for f in dict.fromkeys(features))
        ptr.append(len(cols))
    x = csr_matrix((np.ones(len(cols)), cols, ptr), shape=(len(rows), len(index)))
    y = np.array([2 * r[1] - 1 for r in rows], float)

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        margin = y * (x @ w + b)
        value = np.logaddexp(0, -margin).sum() + 0.5 * l2 * w @ w
        g = -y * 0.5 * (1 - np.tanh(margin / 2))  # -y * sigmoid(-margin)
        return value, np.concatenate([x.T @ g + l2 * w, [g.sum()]])

    theta = minimize(loss, np.zeros(len(index) + 1), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500}).x
    names = list(index)
    return {names[i]: float(w) for i, w in enumerate(theta[:-1]) if abs(w) >= MIN_WEIGHT}, float(theta[-1])


MARGINS = (0.0, 0.1, 0.2, 0.3, 0.4)  # how sure the model must be (|p - 0.5|) to overrule the rules


def decided(p: float, rules_said: bool, margin: float) -> bool:
    """The layer's answer: the model's where it is sure enough, else the rules'."""
    return p >= 0.5 if abs(p - 0.5) > margin else rules_said


def out_of_fold(rows, l2: float, folds: int = 5) -> np.ndarray:
    """Each row's probability from a model fitted without its word's fold."""
    fold_of = np.array([int(hashlib.md5(("cv" + r[3]).encode()).hexdigest()[:6], 16) % folds for r in rows])
    p = np.zeros(len(rows))
    for k in range(folds):
        held = np.flatnonzero(fold_of == k)
        weights, bias = fit([r for r, f in zip(rows, fold_of) if f != k], l2)
        model = LearnedModel({"d": weights}, {"d": bias}, {})
        p[held] = [model.probability("d", rows[i][0]) for i in held]
    return p


def cross_validate(rows, use_rules: bool = True) -> dict[float, tuple[float, dict[str, float]]]:
    """Per L2 strength: the cross-validated accuracy with the best margin for each of the rules'
    answers (how sure the model must be to overrule article 28 need not be how sure it must be
    to overrule the lexicon), and those margins. The folds are split by word."""
    scores = {}
    for l2 in L2_CHOICES:
        p = out_of_fold(rows, l2)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            groups[arbitration_group(r[0]) if use_rules else "-"].append(i)
        right, margins = 0, {}
        for rule, members in groups.items():
            hits = {m: sum(decided(p[i], rows[i][2], m) == bool(rows[i][1]) for i in members)
                    for m in (MARGINS if use_rules else (0.0,))}
            margins[rule] = max(hits, key=lambda m: (hits[m], m))  # ties: the rules keep it
            right += hits[margins[rule]]
        scores[l2] = (right / max(1, len(rows)), margins)
    return scores


def train(pairs: list[tuple[str, str]], ipa_pairs: list[tuple[str, str]] = (), log=print) -> LearnedModel:
    """``pairs``: (spelling, Hangul pronunciation); ``ipa_pairs``: (spelling, broad IPA), a second
    source of tensing and long vowels (words in both are taken from ``pairs``)."""
    start = time.perf_counter()
    data = examples(pairs)
    known = {w for w, _ in pairs}
    for decision, rows in examples([(w, p) for w, p in ipa_pairs if w not in known], ipa=True).items():
        data[decision].extend(rows)
    weights, bias, info = {}, {}, {"words": len(pairs), "decisions": {}}
    for decision in DECISIONS:
        rows = data[decision]
        rules = float(np.mean([r[2] == bool(r[1]) for r in rows])) if rows else 0.0
        with_rules = decision != "long_vowel"  # no rule says which vowels are long
        scores = cross_validate(rows, with_rules)
        # The best held-out accuracy; on ties the stronger regularisation. (The one-standard-error
        # rule chose 30 for tensing: dictionary check the same, everyday vocabulary 4 points worse.)
        l2 = max(scores, key=lambda k: (round(scores[k][0], 4), k))
        accuracy, margins = scores[l2]
        # A model that does no better than the rules held out is not used: the rules decide.
        defer = bool(with_rules and accuracy <= rules)
        weights[decision], bias[decision] = ({}, 0.0) if defer else fit(rows, l2)
        info["decisions"][decision] = {"places": len(rows), "l2": l2, "margins": margins,
                                       "cv_accuracy": round(accuracy, 4), "rules_accuracy": round(rules, 4),
                                       "features": len(weights[decision]), "defer_to_rules": defer}
        log(f"{decision}: {len(rows)} places, rules alone {rules:.1%}, cross-validated "
            + ", ".join(f"l2 {k}: {v[0]:.2%}" for k, v in scores.items())
            + (" -> the rules decide" if defer else f" -> l2 {l2}, margins {margins}"))
    info["train_seconds"] = round(time.perf_counter() - start, 1)
    log(f"trained in {info['train_seconds']} s")
    return LearnedModel(weights, bias, info)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lexicon", required=True, type=Path, help="TSV: spelling, pronunciation")
    parser.add_argument("-o", "--output", required=True, type=Path, help="model file (.json.gz)")
    parser.add_argument("--wikipron", type=Path, help="TSV: spelling, broad IPA (tensing and long vowels)")
    parser.add_argument("--all", action="store_true", help="also train on the check part")
    args = parser.parse_args(argv)
    pairs = read_lexicon(args.lexicon)
    ipa_pairs = read_wikipron(args.wikipron) if args.wikipron else []
    if not args.all:  # check words are left out of both sources
        pairs = [(w, p) for w, p in pairs if lexicon_part(w) != "check"]
        ipa_pairs = [(w, p) for w, p in ipa_pairs if lexicon_part(w) != "check"]
    model = train(pairs, ipa_pairs)
    model.info["source"] = " + ".join(f.name for f in (args.lexicon, args.wikipron) if f) + (
        "" if args.all else " (check part left out)")
    tmp = args.output.with_name(args.output.name + ".tmp")
    model.save(tmp)
    tmp.replace(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
