"""Simultaneous-translation latency as SimulEval defines it.

Each emitted target unit i (a word for text, an audio chunk for speech) has a delay d_i: the
seconds of source consumed when it was emitted (non-computation-aware), or that plus the time
spent computing (computation-aware). With |X| the source duration and |Y| the target length:

- StartOffset = d_1
- EndOffset   = d_last - |X|  (for speech output: when the last audio finishes playing - |X|)
- AL   = 1/tau * sum_{i<=tau} (d_i - (i-1) * |X|/|Y|), tau = first i with d_i >= |X|
- LAAL = AL with |Y| replaced by max(|Y|, |Y_ref|) (length-adaptive: no reward for over-generation)
"""

from __future__ import annotations

import statistics
from typing import Sequence


def average_lagging(delays: Sequence[float], source_length: float, target_length: int | None = None) -> float:
    if not delays:
        return float("nan")
    length = max(len(delays), target_length or 0) if target_length else len(delays)
    rate = source_length / length
    # Times are logged to the millisecond: a unit emitted at the endpoint counts as at the end.
    tau = next((i for i, d in enumerate(delays, 1) if d >= source_length - 1e-3), len(delays))
    return sum(d - (i - 1) * rate for i, d in enumerate(delays[:tau], 1)) / tau


def text_latency(delays: Sequence[float], source_length: float, reference_length: int | None = None) -> dict:
    """StartOffset, EndOffset, AL and LAAL (seconds) for one instance with text output."""
    if not delays:
        return {"StartOffset": None, "EndOffset": None, "AL": None, "LAAL": None}
    return {
        "StartOffset": delays[0],
        "EndOffset": delays[-1] - source_length,
        "AL": average_lagging(delays, source_length),
        "LAAL": average_lagging(delays, source_length, max(len(delays), reference_length or 0)),
    }


def speech_latency(chunks: Sequence[tuple[float, float]], source_length: float) -> dict:
    """Latency of speech output: ``chunks`` are (emission delay, audio duration) in order. Audio
    plays back to back, each chunk no earlier than its emission; AL is computed over the start of
    each chunk, EndOffset over the moment the last one finishes."""
    if not chunks:
        return {"StartOffset": None, "EndOffset": None, "AL": None, "LAAL": None}
    clock, starts = 0.0, []
    for emitted, duration in chunks:
        clock = max(clock, emitted)
        starts.append(clock)
        clock += duration
    al = average_lagging(starts, source_length)
    return {"StartOffset": starts[0], "EndOffset": clock - source_length, "AL": al, "LAAL": al}


def summarize(instances: Sequence[dict]) -> dict:
    """Median of each metric over instances (utterances), skipping those without output."""
    out = {}
    for key in ("StartOffset", "EndOffset", "AL", "LAAL"):
        for variant in ("", "_CA"):
            values = [inst[key + variant] for inst in instances if inst.get(key + variant) is not None]
            out[key + variant] = round(statistics.median(values), 3) if values else None
    return out


def instance_metrics(units: Sequence[dict], start: float, end: float, task: str) -> dict:
    """Both metric sets for one utterance from its logged units (absolute times in seconds)."""
    length = max(end - start, 1e-3)
    out = {}
    for suffix, key in (("", "source_time"), ("_CA", "clock")):
        if task == "s2st":
            chunks = [(u[key] - start, u["audio_duration"]) for u in units if u["kind"] == "audio"]
            metrics = speech_latency(chunks, length)
        else:
            kind = "commit" if task == "asr" else "translation"
            metrics = text_latency([u[key] - start for u in units if u["kind"] == kind for _ in u["text"].split()],
                                   length)
        out.update({k + suffix: v for k, v in metrics.items()})
    return out


def score_log(log: dict) -> dict:
    """Recompute the summary of a `malsori stream --log` file from its units."""
    task = log.get("task", "s2tt")
    instances = [instance_metrics(u["units"], u["start"], u["end"], task) for u in log["utterances"]]
    return summarize([i for i in instances if i.get("AL") is not None])


def simuleval_instances(log: dict) -> list[dict]:
    """One SimulEval-style instance per utterance: delays and elapsed in milliseconds from the
    utterance start, so SimulEval's scorers can be run on our output."""
    task = log.get("task", "s2tt")
    lines = []
    for i, utt in enumerate(log["utterances"]):
        start, end = utt["start"], utt["end"]
        if task == "s2st":
            units = [u for u in utt["units"] if u["kind"] == "audio"]
            words = [u["text"] for u in units]
        else:
            kind = "commit" if task == "asr" else "translation"
            units = [u for u in utt["units"] if u["kind"] == kind for _ in u["text"].split()]
            words = [w for u in utt["units"] if u["kind"] == kind for w in u["text"].split()]
        line = {"index": i, "prediction": " ".join(words), "prediction_length": len(words),
                "delays": [round(1000 * (u["source_time"] - start), 1) for u in units],
                "elapsed": [round(1000 * (u["clock"] - start), 1) for u in units],
                "source_length": round(1000 * (end - start), 1)}
        if task == "s2st":
            line["durations"] = [round(1000 * u["audio_duration"], 1) for u in units]
        lines.append(line)
    return lines
