"""Streaming on long, multi-sentence recordings: does `malsori stream` commit what whole-file
recognition hears, without repeating or dropping words?

    python benchmarks/stream_long_bench.py [--parts tune,check] [--baseline-rev REV] [--only NAME]
                                           [--src kor --model whisper-base]

The recordings are dev utterances of one or a few readers joined end to end with pauses drawn
from 0.2-0.9 s (each clip's own leading and trailing silence trimmed to 0.1 s first), so some
pauses end an utterance (0.5 s endpoint) and others do not, and utterances run past the 15 s
forced cut. The set is split before any tuning:

- tune: LibriSpeech dev-clean (3 speakers) and the pocketsphinx LibriVox reader, in two
  recordings, and all 15 of them shuffled with pauses of 0.1-0.4 s (one utterance of 80 s);
- check (never tuned on): LJSpeech (two passages of 8 sentences, the second with 0.1-0.4 s
  pauses), FLEURS en interleaved with the Harvard sentences; ``--parts korean --src kor``:
  Korean kih / ema (emotiontts), CER; ``korean-tune``: the other kih utterances and nea;
- short: issue 3's files (LibriSpeech, FLEURS en) one by one, as benchmarks/stream_bench.py
  streams them, for latency against the same bounds.

For every recording, in one process: the offline pipeline (``Translator.predict``, task asr, the
same recogniser the stream routes to) and the stream (SimulEval's computation-aware clock,
``run_stream``). Printed per part: WER of offline and of streamed committed text against the
reference, WER of the stream against the offline transcript, repeated spans (inserted runs that
copy neighbouring hypothesis words), dropped spans (runs of >= 2 deleted words, against the
reference and against the offline transcript), latency medians over utterances (AL, EndOffset,
plain and computation-aware), and RTF. ``--baseline-rev REV`` also runs ``stream.py`` as it is
at git revision REV (read with ``git show``) on the same audio, so old and new come from one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import require_data, utterances

from malsori.audio import Audio, load_audio
from malsori.eval.metrics import error_rate, normalize

RATE = 16_000
ROOT = Path(__file__).resolve().parents[1]


# --- the recordings ------------------------------------------------------------------------------
def _trim(x: np.ndarray, keep: float = 0.1) -> np.ndarray:
    """Cut leading and trailing silence (20 ms frames under 1/30 of the loudest frame's RMS) to
    ``keep`` seconds."""
    hop = RATE // 50
    rms = np.sqrt(np.array([np.mean(x[i:i + hop] ** 2) for i in range(0, len(x) - hop + 1, hop)]) + 1e-12)
    loud = np.flatnonzero(rms > rms.max() / 30)
    if not len(loud):
        return x
    a = max(0, loud[0] * hop - int(keep * RATE))
    b = min(len(x), (loud[-1] + 1) * hop + int(keep * RATE))
    return x[a:b]


def join(rows: list[dict], seed: int, pauses: tuple[float, float] = (0.2, 0.9)) -> tuple[Audio, str]:
    rng = np.random.default_rng(seed)
    parts, texts = [np.zeros(int(0.3 * RATE), np.float32)], []
    for r in rows:
        parts += [_trim(load_audio(r["file"], RATE).to_mono().samples),
                  np.zeros(int(rng.uniform(*pauses) * RATE), np.float32)]
        texts.append(r["text"])
    return Audio(np.concatenate(parts).astype(np.float32), RATE), " ".join(texts)


TIGHT = (0.1, 0.4)  # pauses too short to end an utterance: the stream runs past max_utterance_s


def recordings(part: str) -> list[tuple[str, list[dict]]]:
    """(name, dev utterances) per recording; names ending in "tight" are joined with TIGHT pauses."""
    by = lambda prefix: utterances(prefix)  # noqa: E731
    if part == "tune":
        ls = {Path(r["path"]).stem: r for r in by("speech/en/librispeech")}
        pick = lambda *stems: [ls[s] for s in stems]  # noqa: E731
        librivox = by("speech/en/pocketsphinx/librivox")
        return [
            ("ls-2412+1988", pick("2412-153948-0000", "2412-153948-0001", "2412-153948-0002", "1988-24833-0000",
                                  "1988-24833-0001", "1988-24833-0002", "1988-24833-0003")),
            ("ls-3752+librivox", pick("3752-4944-0000", "3752-4944-0001", "3752-4944-0002") + librivox),
            ("ls+librivox-tight", [r for _, r in sorted(zip(np.random.default_rng(1).permutation(15),
                                                             list(ls.values()) + librivox))]),
        ]
    if part == "check":
        lj = by("speech/en/ljspeech")
        fleurs, harvard = by("speech/en/fleurs"), by("speech/en/speechbrain")
        mixed = []
        for i, f in enumerate(fleurs):  # a FLEURS sentence, then two Harvard sentences
            mixed += [f] + harvard[2 * i:2 * i + 2]
        mixed += harvard[2 * len(fleurs):]
        return [("lj-01-08", lj[:8]), ("lj-09-16-tight", lj[8:]), ("fleurs+harvard", mixed)]
    if part == "short":  # issue 3's set, file by file as benchmarks/stream_bench.py streams it
        return [(Path(r["path"]).stem, [r]) for r in by("speech/en/librispeech") + by("speech/en/fleurs")]
    if part == "korean":
        ko = by("speech/ko/emotiontts")
        kih = [r for r in ko if r["speaker"] == "et-kih"]
        ema = [r for r in ko if r["speaker"] == "et-ema"]
        return [("kih-01-10", kih[:10]), ("kih-11-20", kih[10:20]), ("ema-01-10", ema[:10])]
    if part == "korean-tune":  # the Korean utterances the check part leaves out
        ko = by("speech/ko/emotiontts")
        kih = [r for r in ko if r["speaker"] == "et-kih"]
        nea = [r for r in ko if r["speaker"] == "et-nea"]
        return [("kih-21-30", kih[20:30]), ("kih-31-40", kih[30:40]), ("nea-01-10", nea[:10])]
    raise SystemExit(f"unknown part {part}")


# --- scoring -------------------------------------------------------------------------------------
def align(ref: list[str], hyp: list[str]) -> list[tuple[str, int | None, int | None]]:
    """Levenshtein alignment as (op, ref index, hyp index), op one of = s d i."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    ops, i, j = [], n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("=" if ref[i - 1] == hyp[j - 1] else "s", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif j and d[i, j] == d[i, j - 1] + 1:
            ops.append(("i", None, j - 1))
            j -= 1
        else:
            ops.append(("d", i - 1, None))
            i -= 1
    return ops[::-1]


def runs(ops, kind: str) -> list[list[int]]:
    """Maximal runs of consecutive operations of one kind, as lists of hyp (i) or ref (d) indices."""
    out, cur = [], []
    for op, r, h in ops:
        if op == kind:
            cur.append(h if kind == "i" else r)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def repeated_spans(ref: list[str], hyp: list[str], least: int = 1) -> list[str]:
    """Inserted runs of ``least`` or more words that also stand, in order, right before or after
    them in the hypothesis (the same words said again: "ladies and gentlemen ladies and
    gentlemen")."""
    found = []
    for run in runs(align(ref, hyp), "i"):
        if len(run) < least:
            continue
        a, b = run[0], run[-1] + 1
        span = hyp[a:b]
        k = len(span)
        near = [hyp[max(0, a - k - 2):a], hyp[b:b + k + 2]]
        if any(" ".join(span) in " ".join(window) for window in near):
            found.append(" ".join(span))
    return found


def dropped_spans(ref: list[str], hyp: list[str], least: int = 2) -> list[str]:
    return [" ".join(ref[i] for i in run) for run in runs(align(ref, hyp), "d") if len(run) >= least]


def words(text: str, lang: str) -> list[str]:
    text = normalize(text, lang)
    return list(text.replace(" ", "")) if lang == "kor" else text.split()


# --- running -------------------------------------------------------------------------------------
def stream_module(rev: str | None):
    if rev is None:
        from malsori.pipelines import stream

        return stream
    source = subprocess.run(["git", "show", f"{rev}:src/malsori/pipelines/stream.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader(f"stream_at_{rev}", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"stream.py@{rev}", "exec"), module.__dict__)
    return module


def score(name, reference, offline, streamed, run, lang):
    """Edits and spans of one recording. Korean is scored by characters (CER), its repeated and
    dropped spans by words (a dropped span: 2 or more words in a row)."""
    ref, off = words(reference, lang), words(offline, lang)
    spans = (lambda t: normalize(t, lang).split()) if lang == "kor" else (lambda t: words(t, lang))  # noqa: E731
    r, o, h = spans(reference), spans(offline), spans(streamed)
    return {
        "name": name, "ref": reference, "offline": offline, "stream": streamed,
        "ref_units": len(ref), "off_units": len(off),
        "edits_ref": len(ref) * error_rate([reference], [streamed], lang),
        "edits_off": len(off) * error_rate([offline], [streamed], lang),
        "offline_edits_ref": len(ref) * error_rate([reference], [offline], lang),
        # A Korean word is a phrase, often misheard twice alike ("체크하고"): repeats of 2 or more.
        "repeats": repeated_spans(r, h, 2 if lang == "kor" else 1),
        "offline_repeats": repeated_spans(r, o, 2 if lang == "kor" else 1),
        "dropped_ref": dropped_spans(r, h), "offline_dropped_ref": dropped_spans(r, o),
        "dropped_off": dropped_spans(o, h),
        "utterances": run.utterances, "compute": run.compute_seconds, "duration": run.source_duration,
    }


def summary(label: str, rows: list[dict], unit: str) -> str:
    tot = lambda k: sum(r[k] for r in rows)  # noqa: E731
    lat = [u for r in rows for u in r["utterances"]]
    med = lambda k: statistics.median(u[k] for u in lat if u.get(k) is not None)  # noqa: E731
    return (f"  {label:12} {unit} offline {100 * tot('offline_edits_ref') / tot('ref_units'):5.1f}%  "
            f"stream {100 * tot('edits_ref') / tot('ref_units'):5.1f}%  stream-vs-offline "
            f"{100 * tot('edits_off') / tot('off_units'):5.1f}%  repeated {sum(len(r['repeats']) for r in rows)} "
            f"(offline {sum(len(r['offline_repeats']) for r in rows)})  dropped vs ref "
            f"{sum(len(r['dropped_ref']) for r in rows)} (offline {sum(len(r['offline_dropped_ref']) for r in rows)})"
            f"  vs offline {sum(len(r['dropped_off']) for r in rows)}  utts {len(lat)}  AL {med('AL'):.2f} "
            f"(CA {med('AL_CA'):.2f})  EndOffset {med('EndOffset'):.2f} (CA {med('EndOffset_CA'):.2f})  "
            f"StartOffset {med('StartOffset'):.2f} (CA {med('StartOffset_CA'):.2f})  "
            f"RTF {tot('compute') / tot('duration'):.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default="tune,check",
                        help="tune, check, korean, korean-tune, or short (issue 3's short files, one by one)")
    parser.add_argument("--baseline-rev", help="also run stream.py as at this git revision (e.g. 18290a3)")
    parser.add_argument("--only", action="append", help="run only these recordings (by name)")
    parser.add_argument("--src", default="eng")
    parser.add_argument("--model", help="recogniser id (default: the route's; whisper-base or vosk-ko for kor)")
    parser.add_argument("--dump", type=Path, help="write every text and span as JSON here")
    parser.add_argument("--fixed-interval", action="store_true",
                        help="draft every 0.32 s whatever drafts cost (DRAFT_LOAD off), so that what is "
                             "committed does not depend on the machine's load; CA figures then show the backlog")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="for experiments: a StreamingTranslator argument (trim_s=8) or a module "
                             "constant of stream.py (CARRY_CONTEXT=0) for the new variant")
    args = parser.parse_args()
    require_data()
    from malsori import Translator
    from malsori.pipelines.engines import build_engine

    lang = args.src
    unit = "CER" if lang == "kor" else "WER"
    translator = Translator([build_engine(args.model)] if args.model else None)
    route = translator.engines.route("asr", lang, lang)
    print(f"recogniser for asr {lang}: stream and offline both use {route.recognizer.name} "
          f"(offline beam {getattr(route.recognizer, 'beam_size', '?')})")
    variants = [("new", stream_module(None))]
    options = {}
    for item in args.set:
        key, value = item.split("=", 1)
        value = float(value) if value.replace(".", "", 1).isdigit() else value
        if key.isupper():
            setattr(variants[0][1], key, type(getattr(variants[0][1], key))(value))
        else:
            options[key] = value
    if args.baseline_rev:
        variants.append((f"@{args.baseline_rev}", stream_module(args.baseline_rev)))
    if args.fixed_interval:
        for _, module in variants:
            module.DRAFT_LOAD = float("inf")
    dump = {}
    for part in args.parts.split(","):
        results = {label: [] for label, _ in variants}
        for name, rows in recordings(part):
            if args.only and name not in args.only:
                continue
            if part == "short":
                audio, reference = load_audio(rows[0]["file"], RATE), rows[0]["text"]
            else:
                audio, reference = join(rows, seed=len(name), pauses=TIGHT if name.endswith("tight") else (0.2, 0.9))
            offline = translator.predict(audio, task="asr", tgt_lang=lang, src_lang=lang).text
            for label, module in variants:
                t0 = time.perf_counter()
                kwargs = options if label == "new" else {}
                run = module.run_stream(module.StreamingTranslator(translator, "asr", lang, lang, **kwargs), audio)
                streamed = " ".join(e.text for e in run.events if e.kind == "commit")
                r = score(name, reference, offline, streamed, run, lang)
                results[label].append(r)
                if part == "short":
                    continue
                print(f"{part}/{name} {audio.duration:.0f}s {label:10} {unit} ref {100 * r['edits_ref'] / r['ref_units']:5.1f}% "
                      f"(offline {100 * r['offline_edits_ref'] / r['ref_units']:.1f}%) vs-offline "
                      f"{100 * r['edits_off'] / r['off_units']:5.1f}%  repeated {r['repeats']}  dropped vs offline "
                      f"{r['dropped_off']}  [{time.perf_counter() - t0:.0f}s]", flush=True)
        if not any(results.values()):
            continue
        chosen = [rows for name, rows in recordings(part) if not args.only or name in args.only]
        print(f"{part}: {sum(len(rows) for rows in chosen)} dev utterances joined into "
              f"{len(next(iter(results.values())))} recordings")
        for label, rows in results.items():
            print(summary(label, rows, unit))
        dump[part] = results
    if args.dump:
        args.dump.write_text(json.dumps(dump, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
