"""Transcript and translation text outputs: plain text, SRT, WebVTT, JSON."""

from __future__ import annotations

import json

FORMATS = ("txt", "srt", "vtt", "json")


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(segments):
    """(start, end, text) for every segment; text input has no times, so cues follow each other."""
    clock = 0.0
    for seg in segments:
        start = seg.start if seg.start is not None else clock
        end = seg.end if seg.end is not None else start + max(1.0, 0.06 * len(seg.target_text))
        clock = end
        yield start, end, _with_speaker(seg)


def _with_speaker(seg) -> str:
    speaker = getattr(seg, "speaker", None)
    return f"[{speaker}] {seg.target_text}" if speaker else seg.target_text


def render(result, fmt: str) -> str:
    if fmt == "txt":
        if getattr(result, "line_count", None) is not None:  # text input: line for line
            lines = [[] for _ in range(result.line_count)]
            for seg in result.segments:
                if seg.target_text and seg.line is not None:
                    lines[seg.line].append(seg.target_text)
            return "".join(" ".join(parts) + "\n" for parts in lines)
        return "\n".join(_with_speaker(s) for s in result.segments if s.target_text) + "\n"
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt in ("srt", "vtt"):
        return subtitles(_cues(result.segments), fmt)
    raise ValueError(f"unknown format {fmt!r}")


def subtitles(cues, fmt: str) -> str:
    """SRT or WebVTT from (start, end, text) cues."""
    if fmt == "srt":
        return "\n".join(f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{t}\n" for i, (a, b, t) in enumerate(cues, 1))
    return "WEBVTT\n\n" + "\n".join(f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{t}\n" for a, b, t in cues)
