"""Silero VAD v6 (the ONNX file shipped inside faster-whisper) for cutting long input."""

from __future__ import annotations

from malsori.audio import Audio
from malsori.protocols import SpeechRegion

SAMPLE_RATE = 16_000


class SileroVAD:
    name = "silero-vad"

    def __init__(self, threshold: float = 0.5, min_silence_ms: int = 500, speech_pad_ms: int = 200,
                 max_region_s: float = 28.0, neg_threshold: float | None = None):
        self.threshold = threshold
        # Speech ends when the probability falls below this (default: threshold - 0.15).
        self.neg_threshold = neg_threshold
        self.min_silence_ms = min_silence_ms
        self.speech_pad_ms = speech_pad_ms
        # Whisper sees 30 s windows: regions are kept below that so none is cut mid-word by it.
        self.max_region_s = max_region_s

    def regions(self, audio: Audio) -> list[SpeechRegion]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        samples = audio.to_mono().resample(SAMPLE_RATE).samples
        opts = VadOptions(threshold=self.threshold, min_silence_duration_ms=self.min_silence_ms,
                          speech_pad_ms=self.speech_pad_ms, max_speech_duration_s=self.max_region_s,
                          neg_threshold=self.neg_threshold)
        stamps = get_speech_timestamps(samples, opts, sampling_rate=SAMPLE_RATE)
        return [SpeechRegion(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def merge_regions(regions: list[SpeechRegion], max_len: float = 28.0, max_gap: float = 1.0) -> list[SpeechRegion]:
    """Join neighbouring regions into windows up to ``max_len`` seconds so the recogniser gets
    context (short isolated regions hurt Whisper's accuracy), splitting only at pauses."""
    merged: list[SpeechRegion] = []
    for region in regions:
        if merged and region.end - merged[-1].start <= max_len and region.start - merged[-1].end <= max_gap:
            merged[-1] = SpeechRegion(merged[-1].start, region.end)
        else:
            merged.append(region)
    return merged
