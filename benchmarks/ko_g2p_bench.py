"""Korean G2P on the Standard Pronunciation rulebook's examples, side by side with g2pkk.

Exact match where any listed alternative counts (spacing ignored), overall and per article
(three rows of the file corrected to the rulebook's text: ``RULEBOOK_ERRATA``; the file as given
is scored too), and throughput in sentences per second after warm-up.

``--vocabulary dev|test`` scores ordinary vocabulary instead (benchmarks/data/ko_g2p_vocab_*.tsv:
150 everyday words and phrases each, none from the rulebook, with dictionary pronunciations, in
categories: compounds with and without 사잇소리, Sino-Korean words with and without lexical
tensing, inflected verbs, general). Rules are tuned on dev only; test is the held-out figure.

``--lexicon train|check`` scores the learners' dictionary's words (``text/ko_pron_lexicon.tsv``)
in the fixed split of ``malsori.text.ko.train_learned.lexicon_part``: the shipped learned layer
was trained on "train" (so that figure is in-sample) and never saw "check". Also scores the
long-vowel marks (``--long-vowels``) against marking none.

A pronunciation counts as right when it equals an expected one up to the variants the standard
allows (``phonetic.same_pronunciation``: ㅚ/ㅞ, ㅖ/ㅔ, ㅢ/ㅣ, 되어/되여, 사이시옷 said [ㄷ] or not).
"malsori" is the shipped G2P, "rules" the same without the learned layer, "surface" without
morphology either.

    python benchmarks/ko_g2p_bench.py [--show-failures] [--no-peer] [--vocabulary dev|test] [--lexicon check]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import require_data  # noqa: E402

from malsori.text.ko.g2p import g2p  # noqa: E402


def squash(text: str) -> str:
    return "".join(text.split())


VOCABULARY = Path(__file__).resolve().parent / "data"
# Rows of the rulebook file that differ from the rulebook's own text (표준 발음법): the file drops
# tensing the articles print (art. 15: 맛없다 [마덥따]; art. 18: 옷맵시 [온맵씨]) and spells 밤윷
# (art. 29) with ㅅ. Scored as the rulebook prints them; the file's rows are scored too.
RULEBOOK_ERRATA = {"맛없다": ("맛없다", "마덥따"), "옷맵시": ("옷맵시", "온맵씨"), "밤윳": ("밤윷", "밤뉻")}


def vocabulary_rows(name: str) -> list[dict]:
    """The vocabulary list in the rulebook file's columns (its category in place of the article)."""
    with open(VOCABULARY / f"ko_g2p_vocab_{name}.tsv", newline="", encoding="utf-8") as fh:
        return [{"input": r["word"], "pron_all_alternatives": r["pronunciation"],
                 "pron_primary": r["pronunciation"].split("|")[0], "rule": r["category"]}
                for r in csv.DictReader(fh, delimiter="\t")]


def rulebook_rows() -> tuple[list[dict], list[dict]]:
    """The rulebook examples as the file gives them, and with ``RULEBOOK_ERRATA`` applied."""
    with open(require_data() / "text" / "ko_g2p_rules_examples.tsv", newline="", encoding="utf-8") as fh:
        given = list(csv.DictReader(fh, delimiter="\t"))
    corrected = []
    for r in given:
        text, pron = RULEBOOK_ERRATA.get(r["input"], (r["input"], None))
        corrected.append({**r, "input": text} if pron is None else
                         {**r, "input": text, "pron_primary": pron, "pron_all_alternatives": pron})
    return given, corrected


def errata_change(convert, as_given: list[dict], corrected: list[dict]) -> int:
    """How many more rows are right as the file gives them than corrected (only the corrected
    rows are converted again)."""
    changed = [i for i, (a, b) in enumerate(zip(as_given, corrected)) if a != b]
    return score(convert, [as_given[i] for i in changed])[0] - score(convert, [corrected[i] for i in changed])[0]


def lexicon_rows(part: str) -> list[dict]:
    from malsori.text.ko.train_learned import lexicon_part, read_lexicon

    return [{"input": w, "pron_all_alternatives": p.replace("ː", "").replace(":", ""), "pron_primary": p,
             "rule": "long" if p[1:2] in ("ː", ":") else "short"}
            for w, p in read_lexicon(require_data() / "text" / "ko_pron_lexicon.tsv") if lexicon_part(w) == part]


def long_vowel_accuracy(rows) -> None:
    """Right first-vowel length (the dictionary's ː) with --long-vowels, against marking none."""
    from malsori.text.ko.g2p import pronounce

    right = sum((pronounce(r["input"], long_vowels=True).text[1:2] == "ː") == (r["rule"] == "long") for r in rows)
    short = sum(r["rule"] == "short" for r in rows)
    print(f"\nlong vowels (first syllable): {right / len(rows):.1%} right, against {short / len(rows):.1%} "
          "marking none")


def score(convert, rows) -> tuple[int, dict, list]:
    from malsori.text.ko.phonetic import same_pronunciation

    hits, by_rule, failures = 0, defaultdict(lambda: [0, 0]), []
    for r in rows:
        got = convert(r["input"])
        good = any(same_pronunciation(r["input"], got, a) for a in r["pron_all_alternatives"].split("|"))
        hits += good
        article = r["rule"].split(".")[0]
        by_rule[article][0] += good
        by_rule[article][1] += 1
        if not good:
            failures.append((r["rule"], r["input"], r["pron_primary"], got))
    return hits, by_rule, failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="skip g2pkk")
    parser.add_argument("--vocabulary", choices=["dev", "test"], help="score everyday vocabulary instead")
    parser.add_argument("--lexicon", choices=["train", "check"], help="score the learners' dictionary's words")
    args = parser.parse_args()
    if args.lexicon:
        rows = lexicon_rows(args.lexicon)
    elif args.vocabulary:
        rows = vocabulary_rows(args.vocabulary)
    else:
        as_given, rows = rulebook_rows()
    from malsori.text.ko.g2p import pronounce

    systems = {"malsori": g2p, "rules": lambda text: pronounce(text, learned=False).text,
               "surface": lambda text: pronounce(text, morphology=False, learned=False).text}
    if not args.no_peer:
        try:
            from g2pkk_peer import load_g2pkk

            systems["g2pkk"] = load_g2pkk()
        except Exception as exc:  # the peer is optional: say why it is missing
            print(f"g2pkk not run: {exc}")
    results = {}
    for name, convert in systems.items():
        results[name] = score(convert, rows)
        hits = results[name][0]
        sentences = [r["input"] for r in rows[:400]] * 10
        convert(sentences[0])
        t0 = time.perf_counter()
        for s in sentences:
            convert(s)
        rate = len(sentences) / (time.perf_counter() - t0)
        given = "" if args.lexicon or args.vocabulary else \
            f"   (the file's rows as given: {(hits + errata_change(convert, as_given, rows)) / len(rows):.1%})"
        print(f"{name:8} exact {hits}/{len(rows)} = {hits / len(rows):.1%}   {rate:,.0f} inputs/s{given}")
    articles = sorted({a for r in results.values() for a in r[1]}, key=lambda a: int(a) if a.isdigit() else 999)
    grouped = args.vocabulary or args.lexicon
    print(f"\nper {'category' if grouped else 'article'} ({'/'.join(results)}): " + "  ".join(
        f"{a}: " + "/".join(f"{results[n][1][a][0]}" for n in results) + f" of {results['malsori'][1][a][1]}"
        for a in articles if a.isdigit() or grouped))
    if args.lexicon:
        long_vowel_accuracy(rows)
    if args.show_failures:
        for rule, word, want, got in results["malsori"][2]:
            print(f"  {rule:6} {word} -> {got}   (expected {want})")
    sentence_throughput()


def sentence_throughput(repeats: int = 15) -> None:
    """Whole sentences a second, one core, beside kiwipiepy's analysis of the same normalised text
    alone (its floor). First the written side of the normalisation pairs (news sentences of about
    50 characters, numbers included), each pass made distinct and the G2P's memory of words
    (compound parts, their tags) cleared before it, so only words that recur within a pass are
    remembered: a lower bound. Then the Korean TTS pack's distinct news scripts read in order as
    one stream, the memory cleared only at its start, as a document or a batch job reads."""
    from malsori.text.ko.g2p import _kiwi, pronounce
    from malsori.text.ko.normalize import normalize

    with open(require_data() / "text" / "ko_normalization_pairs.tsv", newline="", encoding="utf-8") as fh:
        sentences = [r["script_written_form"] for r in csv.DictReader(fh, delimiter="\t")]
    with open(require_data() / "speech" / "ko" / "tts" / "metadata.tsv", newline="", encoding="utf-8") as fh:
        scripts = list(dict.fromkeys(r["script"] for r in csv.DictReader(fh, delimiter="\t")))
    kiwi = _kiwi()
    systems = {"malsori": g2p, "rules": lambda text: pronounce(text, learned=False).text,
               "kiwipiepy alone": lambda text: kiwi.tokenize(normalize(text))}
    for convert in systems.values():
        convert(sentences[0])
    print_rates(f"\n{len(sentences)} news sentences, memory cleared before each pass:",
                timed_passes(systems, [[f"{s} {k}" for s in sentences] for k in range(repeats)]), sentences)
    print_rates(f"{len(scripts)} news scripts in one stream, memory cleared at its start:",
                timed_passes(systems, [scripts] * 3), scripts)


def timed_passes(systems: dict, passes: list[list[str]]) -> dict[str, list[float]]:
    """Sentences a second of each system in each pass, the systems taking turns pass by pass (this
    shared CPU's speed drifts by tens of percent within a minute) with the memory cleared first."""
    from malsori.text.ko.g2p import clear_caches

    rates: dict[str, list[float]] = {name: [] for name in systems}
    for batch in passes:
        for name, convert in systems.items():
            clear_caches()
            t0 = time.perf_counter()
            for sentence in batch:
                convert(sentence)
            rates[name].append(len(batch) / (time.perf_counter() - t0))
    return rates


def print_rates(title: str, rates: dict[str, list[float]], texts: list[str]) -> None:
    import statistics

    print(title)
    for name, values in rates.items():
        print(f"  {name:16} {statistics.median(values):,.0f} sentences/s (median of {len(values)} passes; "
              f"{min(values):,.0f}-{max(values):,.0f}; {sum(map(len, texts)) / len(texts):.0f} characters each)")


if __name__ == "__main__":
    main()
