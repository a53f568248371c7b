"""`malsori eval`: run the pipeline over a TSV manifest and score it.

Manifest: a header line, then one utterance a row. Columns: ``path`` (relative to the manifest),
``lang`` (spoken language), ``text`` (reference transcript), optionally ``translation`` (reference
translation into --tgt).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from malsori.errors import MalsoriError
from malsori.eval import metrics
from malsori.files import write_json
from malsori.languages import normalize_language


def read_manifest(path: Path) -> list[dict]:
    if not path.is_file():
        raise MalsoriError(f"{path}: no such manifest")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or "path" not in rows[0] or "text" not in rows[0]:
        raise MalsoriError(f"{path}: a manifest needs a header with at least 'path' and 'text' columns")
    for row in rows:
        # Paths are relative to the manifest, or to its parent folder (shared/data's layout).
        candidates = [path.parent / row["path"], path.parent.parent / row["path"]]
        row["path"] = str(next((c for c in candidates if c.exists()), candidates[0]).resolve())
    return rows


def evaluate_manifest(manifest: Path, task: str, tgt: str | None, translator, limit: int = 0,
                      output: Path | None = None, round_trip_recognizer=None) -> dict:
    from malsori.audio import load_audio

    rows = read_manifest(Path(manifest))[: limit or None]
    if task not in ("asr", "s2tt", "s2st"):
        raise MalsoriError("eval scores asr, s2tt and s2st")
    if task != "asr" and not tgt:
        raise MalsoriError(f"--tgt is needed to score {task}")
    tgt = normalize_language(tgt) if tgt else None
    results, audio_seconds, compute_seconds = [], 0.0, 0.0
    for row in rows:
        src = normalize_language(row["lang"]) if row.get("lang") else None
        audio = load_audio(row["path"])
        t0 = time.perf_counter()
        res = translator.predict(audio, task=task, tgt_lang=tgt or src, src_lang=src)
        compute_seconds += time.perf_counter() - t0
        audio_seconds += audio.duration
        item = {"path": row["path"], "lang": src, "ref": row["text"], "hyp": res.source_text if task != "asr" else res.text,
                "translation": res.text if task != "asr" else None, "ref_translation": row.get("translation")}
        if task == "s2st" and res.audio is not None:
            recognizer = round_trip_recognizer or _round_trip_recognizer(translator)
            item["round_trip"] = recognizer.transcribe(res.audio, tgt).text
        results.append(item)
    summary = {"utterances": len(results), "audio_seconds": round(audio_seconds, 1),
               "rtf": round(compute_seconds / audio_seconds, 3) if audio_seconds else None}
    by_lang: dict[str, list] = {}
    for item in results:
        by_lang.setdefault(item["lang"], []).append(item)
    for lang, items in by_lang.items():
        name = "cer" if lang in metrics.CER_LANGUAGES else "wer"
        if task == "asr" or all(i["hyp"] for i in items):
            rate = metrics.error_rate([i["ref"] for i in items], [i["hyp"] for i in items], lang)
            summary[f"{name}_{lang}"] = round(100 * rate, 2)
    with_refs = [i for i in results if i.get("ref_translation") and task != "asr"]
    if with_refs:
        refs, hyps = [i["ref_translation"] for i in with_refs], [i["translation"] for i in with_refs]
        summary["bleu"] = round(metrics.bleu(refs, hyps, tgt), 2)
        summary["chrf"] = round(metrics.chrf(refs, hyps), 2)
        if task == "s2st":
            # Speech carries no case or punctuation: ASR-BLEU compares normalised text, as Seamless does.
            summary["asr_bleu"] = round(metrics.bleu(_norm(refs, tgt), _norm([i["round_trip"] for i in with_refs], tgt),
                                                     tgt), 2)
    if task == "s2st":
        mt, heard = [i["translation"] for i in results], [i["round_trip"] for i in results]
        summary["round_trip_chrf"] = round(metrics.chrf(_norm(mt, tgt), _norm(heard, tgt)), 2)
        summary["round_trip_chrf_raw"] = round(metrics.chrf(mt, heard), 2)
    report = {"task": task, "tgt": tgt, "summary": summary, "items": results}
    if output is not None:
        write_json(output, report)
    return report


def _norm(texts, lang):
    return [metrics.normalize(t, lang) for t in texts]


def _round_trip_recognizer(translator):
    from malsori.engines.asr.whisper import WhisperRecognizer

    return WhisperRecognizer("whisper-base")


def evaluate_expressive(manifest: Path, recognizer=None, encoder=None, limit: int = 0,
                        output: Path | None = None) -> dict:
    """Score source/output speech pairs with ``malsori.eval.expressive``.

    Manifest columns: ``source`` and ``output`` (audio paths, relative to the manifest),
    ``src_lang`` and ``tgt_lang``. Words are timed by ``recognizer`` (Whisper base by default)
    on both sides; speaker similarity needs the GE2E encoder and is left out without it.
    """
    from malsori.audio import load_audio
    from malsori.eval.expressive import score_pair, side_from_transcript, summarize

    path = Path(manifest)
    if not path.is_file():
        raise MalsoriError(f"{path}: no such manifest")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))[: limit or None]
    needed = {"source", "output", "src_lang", "tgt_lang"}
    if not rows or not needed <= set(rows[0]):
        raise MalsoriError(f"{path}: an expressive manifest needs columns {', '.join(sorted(needed))}")
    if recognizer is None:
        from malsori.engines.asr.whisper import WhisperRecognizer

        recognizer = WhisperRecognizer("whisper-base", word_timestamps=True)
    if encoder is None:
        import importlib.util

        try:
            from malsori.engines.speaker.ge2e import shared_encoder

            # Without torch (the 'speaker' extra) similarity is left out rather than failing.
            encoder = shared_encoder() if importlib.util.find_spec("torch") else None
        except MalsoriError:
            encoder = None
    pairs, items = [], []
    for row in rows:
        src, tgt = normalize_language(row["src_lang"]), normalize_language(row["tgt_lang"])
        audio = {k: load_audio(path.parent / row[k]) for k in ("source", "output")}
        sides = {k: side_from_transcript(a, recognizer.transcribe(a, lang), lang)
                 for (k, a), lang in zip(audio.items(), (src, tgt))}
        scores = score_pair(sides["source"], sides["output"])
        if encoder is not None:
            scores.speaker_similarity = encoder.similarity(audio["source"], audio["output"])
        pairs.append(scores)
        items.append({"source": row["source"], "output": row["output"], **scores.to_dict()})
    report = {"summary": summarize(pairs), "items": items}
    if output is not None:
        write_json(output, report)
    return report
