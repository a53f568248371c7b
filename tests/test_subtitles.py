"""Subtitles of diarized speech: cues follow the words, one speaker each."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from malsori.pipelines.diarize import join_unfinished, split_by_speaker
from malsori.pipelines.translate import snap_to_speech
from malsori.protocols import Diarization, Segment, SpeakerTurn, SpeechRegion, Word


def conversation() -> Diarization:
    return Diarization("talk", 10.0, [SpeakerTurn(1.0, 2.0, "A"), SpeakerTurn(2.2, 5.0, "B"), SpeakerTurn(5.3, 9.0, "A")])


def test_a_segment_is_cut_where_its_words_change_speaker_and_timed_by_them():
    words = [Word(0.0, 1.5, "Hello."), Word(1.6, 2.1, "Hi,"), Word(2.3, 2.7, "how"), Word(2.8, 3.4, "are"),
             Word(3.5, 4.0, "you?"), Word(5.4, 6.0, "Fine.")]
    segment = Segment(0.0, 6.0, "Hello. Hi, how are you? Fine.", words)
    parts = split_by_speaker(segment, conversation(), offset=0.5)  # the segment starts 0.5 s into the recording
    assert [(s.text, who) for s, who in parts] == [("Hello.", "A"), ("Hi, how are you?", "B"), ("Fine.", "A")]
    assert [(s.start, s.end) for s, _ in parts] == [(0.0, 1.5), (1.6, 4.0), (5.4, 6.0)]
    # A word in a gap between turns goes to the nearest turn; no words: the segment stays whole.
    assert split_by_speaker(Segment(5.2, 5.25, "so", [Word(5.2, 5.25, "so")]), conversation())[0][1] == "A"
    whole = Segment(2.5, 4.5, "no word times")
    assert split_by_speaker(whole, conversation()) == [(whole, "B")]


def test_a_sentence_the_recogniser_cut_in_two_is_joined_for_one_speaker_only():
    parts = [(Segment(0.0, 2.0, "the weather is lovely this", [Word(0, 2, "x")]), "A"),
             (Segment(2.1, 2.5, "morning.", [Word(2.1, 2.5, "y")]), "A"),
             (Segment(2.6, 3.0, "Yes", []), "B"), (Segment(3.1, 3.5, "it is.", []), "B"),
             (Segment(3.6, 4.0, "Good.", []), "B")]
    joined = join_unfinished(parts)
    assert [(s.text, who, s.start, s.end) for s, who in joined] == [
        ("the weather is lovely this morning.", "A", 0.0, 2.5), ("Yes it is.", "B", 2.6, 3.5), ("Good.", "B", 3.6, 4.0)]
    long = [(Segment(0.0, 5.0, "a", []), "A"), (Segment(5.1, 9.0, "b", []), "A")]
    assert len(join_unfinished(long)) == 2  # over a subtitle's 7 s


def test_cue_edges_move_off_the_silence_around_the_speech():
    regions = [SpeechRegion(1.0, 2.0), SpeechRegion(3.0, 4.0)]
    assert snap_to_speech(0.0, 2.5, regions) == (1.0, 2.0)
    assert snap_to_speech(1.5, 3.5, regions) == (1.5, 3.5)
    assert snap_to_speech(2.2, 2.8, regions) == (2.2, 2.8)  # no speech inside: left alone


@pytest.mark.slow
@pytest.mark.espeak
def test_diarized_subtitles_of_a_two_voice_conversation(tmp_path):
    from malsori.audio import Audio, save_audio
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.engines.tts.piper import PiperSynthesizer

    voices = [PiperSynthesizer(), EspeakSynthesizer()]
    lines = ["Hello.", "Hi, how are you doing today?", "I am fine, thank you. The weather is lovely this morning.",
             "Yes it is. Shall we go for a walk in the park?", "That sounds like a great idea."]
    parts = [np.zeros(16000, np.float32)]
    for k, line in enumerate(lines):
        parts += [voices[k % 2].synthesize(line, "eng").to_mono().resample(16000).samples, np.zeros(6400, np.float32)]
    wav = tmp_path / "talk.wav"
    save_audio(wav, Audio(np.concatenate(parts), 16000))
    srt = tmp_path / "talk.srt"
    # The number of speakers is given: CAM++ puts eSpeak NG's utterances up to 0.95 apart (centroid
    # distance), past the 0.8 calibrated on real meetings, so a synthetic voice can count twice.
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "translate", str(wav), "--task", "asr", "--tgt", "eng",
                           "-f", "srt", "--diarize", "--num-speakers", "2", "-o", str(srt), "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cues = [block.splitlines() for block in srt.read_text().strip().split("\n\n")]
    starts = [float(c[1][:8].replace(":", "")[-2:]) + float(c[1][9:12]) / 1000 for c in cues]
    texts = [" ".join(c[2:]) for c in cues]
    assert starts[0] >= 0.7, cues[0]  # speech starts at 1 s: no cue before it
    assert all(t.startswith("[SPEAKER_") for t in texts), texts
    assert len(set(texts)) == len(texts)  # nothing said twice
    speakers = [t.split("]")[0] for t in texts]
    assert len(cues) >= 4 and len(set(speakers)) == 2
    turns = [who for who, _ in itertools.groupby(speakers)]
    assert len(turns) == len(lines), texts  # no cue holds two people's words
    assert "hello" in texts[0].lower() and "great idea" in texts[-1].lower()
