"""Long-form speech: sentences, pauses between them and longer ones between paragraphs, streamed."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from malsori.audio import load_audio
from malsori.errors import LanguageError, MalsoriError, OutputError


def _silences(audio, floor: float = 1e-3, shortest_s: float = 0.2) -> list[float]:
    """Durations of the quiet stretches inside the audio (not at its ends)."""
    quiet = np.abs(audio.samples) < floor
    runs, start = [], None
    for i, q in enumerate(quiet):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if start > 0:
                runs.append((i - start) / audio.sample_rate)
            start = None
    return [r for r in runs if r >= shortest_s]


@pytest.mark.espeak
def test_paragraphs_pause_longer_than_sentences(tmp_path):
    from malsori.pipelines.speak import PARAGRAPH_PAUSE_S, SENTENCE_PAUSE_S, speak_document

    out = tmp_path / "doc.wav"
    text = "First paragraph, first sentence. Its second sentence.\n\nThe second paragraph."
    spoken = speak_document(text.splitlines(), "spa", out)
    assert [s.paragraph for s in spoken] == [0, 0, 1]
    gaps = [b.start - a.end for a, b in zip(spoken, spoken[1:])]
    assert gaps == pytest.approx([SENTENCE_PAUSE_S, PARAGRAPH_PAUSE_S], abs=1e-3)
    audio = load_audio(out)
    assert audio.duration == pytest.approx(spoken[-1].end, abs=0.01)
    assert max(_silences(audio)) >= PARAGRAPH_PAUSE_S
    assert oct(os.stat(out).st_mode & 0o777) != "0o600"  # an ordinary file, not a private temp


@pytest.mark.espeak
def test_korean_is_normalised_before_it_is_spoken(tmp_path):
    from malsori.pipelines.speak import speak_document

    spoken = speak_document(["사과 3개를 2023년 6월에 샀어요."], "kor", tmp_path / "ko.wav")
    assert spoken[0].spoken == "사과 세개를 이천이십삼년 유월에 샀어요."
    assert load_audio(tmp_path / "ko.wav").duration > 1.5


@pytest.mark.espeak
def test_a_long_document_streams_and_reports_progress(tmp_path):
    from malsori.pipelines.speak import speak_document

    lines = (f"Sentence number {i}." if i % 10 else "" for i in range(1, 121))  # a generator, read lazily
    seen = []
    spoken = speak_document(lines, "spa", tmp_path / "long.flac", progress=seen.append)
    assert len(spoken) == 108 and seen == sorted(seen) and seen[-1] == sum(len(s.text) for s in spoken)
    assert load_audio(tmp_path / "long.flac").duration == pytest.approx(spoken[-1].end, abs=0.05)


def test_bad_requests_leave_nothing_behind(tmp_path):
    from malsori.pipelines.speak import speak_document

    with pytest.raises(MalsoriError, match="empty"):
        speak_document(["", "  ", "..."], "spa", tmp_path / "empty.wav")
    with pytest.raises(OutputError):
        speak_document(["Hola."], "spa", tmp_path / "out.mp3")
    with pytest.raises(LanguageError):
        speak_document(["Hola."], "xx-not-a-language", tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_speaks_a_file(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Good morning. The weather is lovely today.\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "speak", "--text-file", str(doc), "--lang", "eng",
                           "-o", str(tmp_path / "doc.wav")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "2 sentence(s)" in proc.stderr and load_audio(tmp_path / "doc.wav").duration > 2
