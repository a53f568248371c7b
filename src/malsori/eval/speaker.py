"""Speaker metrics with their standard definitions.

Verification: equal error rate (EER) and the minimum normalised detection cost (minDCF, NIST SRE
with C_miss = C_fa = 1). Diarization: DER (missed speech + false alarm + confusion over reference
speech) and JER, computed by pyannote.metrics so that figures match the published ones.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from malsori.errors import MalsoriError


def _error_rates(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates at every threshold between sorted scores (accept if score >= t)."""
    scores = np.asarray(scores, float)
    labels = np.asarray(labels, bool)
    if scores.shape != labels.shape or not labels.any() or labels.all():
        raise MalsoriError("verification scoring needs both target and non-target trials")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # Rejecting the k lowest scores: misses are targets among them, false alarms non-targets above.
    misses = np.concatenate([[0], np.cumsum(sorted_labels)]) / sorted_labels.sum()
    false_alarms = 1 - np.concatenate([[0], np.cumsum(~sorted_labels)]) / (~sorted_labels).sum()
    thresholds = np.concatenate([sorted_scores, [np.inf]])
    return misses, false_alarms, thresholds


def equal_error_rate(scores, labels) -> tuple[float, float]:
    """(EER, threshold): the rate where misses equal false alarms, interpolated between the two
    neighbouring operating points; the threshold accepts scores at or above it."""
    misses, false_alarms, thresholds = _error_rates(scores, labels)
    k = int(np.argmax(misses >= false_alarms))  # first point where misses catch up
    if k == 0:
        return float(false_alarms[0] + misses[0]) / 2, float(thresholds[0])
    d_prev = false_alarms[k - 1] - misses[k - 1]
    d_next = misses[k] - false_alarms[k]
    w = d_prev / (d_prev + d_next) if d_prev + d_next > 0 else 0.5
    eer = (1 - w) * misses[k - 1] + w * misses[k]
    return float(eer), float(thresholds[k - 1] if w < 0.5 else thresholds[k])


def min_dcf(scores, labels, p_target: float = 0.01, c_miss: float = 1.0, c_fa: float = 1.0) -> tuple[float, float]:
    """(minDCF, threshold): the lowest C_miss·P_miss·p + C_fa·P_fa·(1−p) over thresholds, divided by
    the cost of the best decision without the system, min(C_miss·p, C_fa·(1−p))."""
    misses, false_alarms, thresholds = _error_rates(scores, labels)
    cost = c_miss * misses * p_target + c_fa * false_alarms * (1 - p_target)
    k = int(np.argmin(cost))
    return float(cost[k] / min(c_miss * p_target, c_fa * (1 - p_target))), float(thresholds[k])


def _annotation(diarization):
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=diarization.uri)
    for i, turn in enumerate(diarization.turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def diarization_scores(reference, hypothesis, collar: float = 0.25, uem: tuple[float, float] | None = None,
                       skip_overlap: bool = False) -> dict:
    """DER with its parts (in seconds and as rates) and JER for one recording. ``collar`` follows
    pyannote.metrics: the total width forgiven around each reference boundary, half on each side
    (NIST md-eval's ``-c 0.25`` is ``collar=0.5`` here); ``uem`` limits scoring to that span."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    ref, hyp = _annotation(reference), _annotation(hypothesis)
    scored = Timeline([Segment(*uem)], uri=reference.uri) if uem else None
    with warnings.catch_warnings():
        # Without a UEM, pyannote scores the union of both extents and says so each time.
        warnings.filterwarnings("ignore", message=".*uem.*approximated")
        der = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
        parts = der(ref, hyp, uem=scored, detailed=True)
        jer = JaccardErrorRate(collar=collar, skip_overlap=skip_overlap)(ref, hyp, uem=scored)
    total = parts["total"]
    return {
        "DER": float(parts["diarization error rate"]),
        "miss": float(parts["missed detection"] / total) if total else 0.0,
        "false_alarm": float(parts["false alarm"] / total) if total else 0.0,
        "confusion": float(parts["confusion"] / total) if total else 0.0,
        "JER": float(jer),
        "reference_seconds": float(total),
        "seconds": {k: float(parts[k]) for k in ("missed detection", "false alarm", "confusion")},
    }


def pooled_der(per_file: list[dict]) -> dict:
    """Corpus DER: errors summed over files, divided by the summed reference speech (not a mean of
    rates), as pyannote.metrics reports ``abs(metric)``."""
    total = sum(r["reference_seconds"] for r in per_file)
    if not total:
        return {"DER": 0.0, "miss": 0.0, "false_alarm": 0.0, "confusion": 0.0}
    sums = {k: sum(r["seconds"][k] for r in per_file) for k in ("missed detection", "false alarm", "confusion")}
    return {"DER": sum(sums.values()) / total, "miss": sums["missed detection"] / total,
            "false_alarm": sums["false alarm"] / total, "confusion": sums["confusion"] / total}


def read_trials(path) -> list[tuple[bool, Path, Path]]:
    """VoxCeleb-style trials: ``label enrol_path test_path`` per line, 1 = same speaker, paths
    relative to the trial file's folder."""
    path = Path(path)
    if not path.is_file():
        raise MalsoriError(f"{path}: no such trial list")
    trials = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[0] not in ("0", "1"):
            raise MalsoriError(f"{path}:{number}: expected 'label enrol_path test_path' with label 0 or 1")
        trials.append((fields[0] == "1", path.parent / fields[1], path.parent / fields[2]))
    if not trials:
        raise MalsoriError(f"{path}: no trials")
    return trials


def evaluate_trials(path, verifier=None, output=None) -> dict:
    """EER and minDCF (p_target 0.01) of ``verifier``'s scores over a trial list. Each recording
    is embedded once; a recording that cannot be read or holds no speech stops the run with its
    name."""
    from malsori.audio import load_audio
    from malsori.files import write_json

    if verifier is None:
        from malsori.pipelines.verify import Verifier

        verifier = Verifier(check_speech=False)
    trials = read_trials(path)
    vectors: dict[Path, np.ndarray] = {}
    for _, *pair in trials:
        for recording in pair:
            if recording not in vectors:
                try:
                    vectors[recording] = verifier.embed(load_audio(recording), str(recording))
                except MalsoriError as exc:
                    raise MalsoriError(f"{recording}: {exc}") from None
    scores = [verifier.score(vectors[a], vectors[b]) for _, a, b in trials]
    labels = [same for same, _, _ in trials]
    eer, eer_threshold = equal_error_rate(scores, labels)
    dcf, dcf_threshold = min_dcf(scores, labels)
    summary = {"trials": len(trials), "targets": int(sum(labels)), "EER": round(eer, 4),
               "EER_threshold": round(eer_threshold, 4), "minDCF": round(dcf, 4),
               "minDCF_threshold": round(dcf_threshold, 4)}
    if output is not None:
        write_json(output, {"summary": summary, "trials": [
            {"label": int(same), "enrol": str(a), "test": str(b), "score": round(s, 5)}
            for (same, a, b), s in zip(trials, scores)]})
    return summary


def evaluate_rttm(reference, hypothesis, uem=None, collar: float = 0.25, skip_overlap: bool = False) -> dict:
    """DER parts and JER per file id and pooled, for two RTTM files (and an optional UEM file)."""
    from malsori.pipelines.diarize import read_rttm, read_uem

    def read(path, what):
        path = Path(path)
        if not path.is_file():
            raise MalsoriError(f"{path}: no such {what} file")
        return path.read_text(encoding="utf-8")

    refs, hyps = read_rttm(read(reference, "reference RTTM")), read_rttm(read(hypothesis, "system RTTM"))
    spans = read_uem(read(uem, "UEM")) if uem else {}
    if not refs:
        raise MalsoriError(f"{reference}: no SPEAKER lines")
    per_file = {}
    from malsori.protocols import Diarization

    for uri, ref in sorted(refs.items()):
        hyp = hyps.get(uri, Diarization(uri, ref.duration))
        per_file[uri] = diarization_scores(ref, hyp, collar=collar, uem=spans.get(uri), skip_overlap=skip_overlap)
    missing = sorted(set(hyps) - set(refs))
    pooled = pooled_der(list(per_file.values()))
    return {"files": len(per_file), "collar": collar, **{k: round(v, 4) for k, v in pooled.items()},
            "JER_mean": round(float(np.mean([r["JER"] for r in per_file.values()])), 4),
            "per_file": {u: {k: round(v, 4) for k, v in r.items() if k != "seconds"} for u, r in per_file.items()},
            "unscored_system_files": missing}
