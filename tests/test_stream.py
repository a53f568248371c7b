"""Simultaneous translation: latency metrics by their definitions, the commit policy, and live
streams of speech made by the bundled voice."""

import json
import subprocess
import sys

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.eval.latency import average_lagging, speech_latency, summarize, text_latency
from malsori.pipelines.stream import agreed_prefix, resume_point


def test_text_latency_by_simuleval_definitions():
    m = text_latency([1.0, 2.0, 3.0], source_length=3.0)
    assert m["StartOffset"] == 1.0 and m["EndOffset"] == 0.0
    assert m["AL"] == pytest.approx((1 + (2 - 1) + (3 - 2)) / 3)
    # LAAL divides by the longer of hypothesis and reference: a 6-word reference halves the rate.
    m = text_latency([1.0, 2.0, 3.0], source_length=3.0, reference_length=6)
    assert m["LAAL"] == pytest.approx((1 + (2 - 0.5) + (3 - 1.0)) / 3)
    # tau stops at the first unit emitted after the source ended.
    assert average_lagging([0.5, 4.0, 5.0], 3.0) == pytest.approx((0.5 + (4.0 - 1.0)) / 2)


def test_speech_latency_plays_chunks_back_to_back():
    m = speech_latency([(1.0, 2.0), (2.0, 1.0)], source_length=3.0)
    assert m["StartOffset"] == 1.0
    assert m["EndOffset"] == pytest.approx(1.0)  # second chunk waits for the first: 3 + 1 - 3
    assert m["AL"] == pytest.approx((1.0 + (3.0 - 1.5)) / 2)


def test_summary_is_median_over_utterances():
    utts = [{"AL": 1.0, "AL_CA": 2.0}, {"AL": 3.0, "AL_CA": 4.0}, {"AL": 2.0, "AL_CA": None}]
    s = summarize(utts)
    assert s["AL"] == 2.0 and s["AL_CA"] == 3.0 and s["StartOffset"] is None


def test_local_agreement_and_resume_point():
    assert agreed_prefix("The cat sat".split(), "the cat, sat down".split()) == 3
    assert agreed_prefix("a b".split(), "x b".split()) == 0
    # The final pass inserted a word inside the committed stretch: continue after "to", not at 3.
    assert resume_point("we went to".split(), "we went home to the park".split()) == 4
    assert resume_point("and can".split(), "and comply with them".split()) == 2  # no anchor: by count
    assert resume_point("the cat".split(), "the cat sat".split()) == 2


@pytest.fixture(scope="module")
def two_sentences(piper):
    first = piper.synthesize("The weather is lovely today.", "eng").resample(16000)
    second = piper.synthesize("Please open the window in the kitchen.", "eng").resample(16000)
    pause = np.zeros(16000, np.float32)
    return Audio(np.concatenate([pause[:4000], first.samples, pause, second.samples, pause[:8000]]), 16000)


@pytest.mark.slow
def test_asr_stream_commits_stable_words_in_order(translator, two_sentences):
    from malsori.eval.metrics import wer
    from malsori.pipelines.stream import StreamingTranslator, run_stream

    run = run_stream(StreamingTranslator(translator, "asr", "eng", "eng"), two_sentences)
    commits = [e for e in run.events if e.kind == "commit"]
    text = " ".join(e.text for e in commits)
    assert wer(["The weather is lovely today. Please open the window in the kitchen."], [text]) <= 0.2
    assert len(run.utterances) == 2 and len(run.summary) == 8
    times = [e.source_time for e in run.events]
    assert times == sorted(times) and all(e.clock >= e.source_time for e in run.events)
    # the first words are committed before the first sentence is over
    first_end = run.utterances[0]["end"]
    assert commits[0].source_time < first_end
    for u in run.utterances:
        assert 0 <= u["AL"] <= u["end"] - u["start"] + 1.0 and u["AL_CA"] >= u["AL"] - 1e-6


@pytest.mark.slow
@pytest.mark.apertium
@pytest.mark.espeak
def test_s2st_stream_translates_and_speaks_each_unit_once(translator, two_sentences, tmp_path):
    from malsori.pipelines.stream import StreamingTranslator, run_stream, write_outputs

    run = run_stream(StreamingTranslator(translator, "s2st", "spa", "eng", unit_words=3), two_sentences)
    translations = [e.text for e in run.events if e.kind == "translation"]
    audio = [e for e in run.events if e.kind == "audio"]
    assert len(translations) >= 2 and "ventana" in " ".join(translations).lower()
    assert len(audio) == len([t for t in translations if t.strip()])
    write_outputs(run, tmp_path / "out.wav", tmp_path / "lat.json")
    log = json.loads((tmp_path / "lat.json").read_text())
    assert set(log["summary"]) >= {"StartOffset", "EndOffset", "AL", "LAAL"}
    assert log["summary"]["EndOffset"] > 0  # the Spanish speech ends after the English
    assert (tmp_path / "out.wav").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.apertium
@pytest.mark.espeak
def test_expressive_stream_follows_each_utterances_pitch_and_level(translator, two_sentences, tmp_path):
    from malsori.pipelines.expressive import ExpressiveOptions
    from malsori.pipelines.stream import StreamingTranslator, run_stream, write_outputs
    from malsori.prosody import analyze
    from malsori.prosody.transfer import change_voice

    # The same two sentences, the second spoken high (230 Hz) and 12 dB quieter.
    half = len(two_sentences.samples) // 2 - 4000
    first, second = Audio(two_sentences.samples[:half], 16000), Audio(two_sentences.samples[half:], 16000)
    second = change_voice(second, analyze(second), 1.0, 230.0, 1.0, 1.0).resample(16000)
    source = Audio(np.concatenate([first.samples, second.samples * np.float32(0.25)]), 16000)
    session = StreamingTranslator(translator, "s2st", "spa", "eng", unit_words=3,
                                  expressive=ExpressiveOptions(voice=False))
    run = run_stream(session, source)
    audio = [e for e in run.events if e.kind == "audio"]
    by_utterance = {u: [e.audio for e in audio if e.utterance == u] for u in (0, 1)}
    assert by_utterance[0] and by_utterance[1]
    f0 = {u: np.nanmedian(np.concatenate([analyze(a).f0 for a in chunks])) for u, chunks in by_utterance.items()}
    level = {u: np.mean([analyze(a).loudness_lufs for a in chunks if a.duration > 0.5]) for u, chunks in by_utterance.items()}
    assert f0[1] > 150 and f0[1] / f0[0] > 1.4  # the second utterance is spoken high, the first not
    assert level[0] - level[1] > 6
    write_outputs(run, tmp_path / "out.wav", tmp_path / "lat.json")
    log = json.loads((tmp_path / "lat.json").read_text())
    assert len(log["expressive"]) == len(audio) and all("warnings" in r for r in log["expressive"])


def test_stream_cli_errors_are_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "stream", "mic", "--tgt", "spa", "--src", "eng",
                           "--mic-command", str(tmp_path / "no-such-recorder")], capture_output=True, text=True)
    assert proc.returncode == 3 and proc.stderr.count("\n") == 1 and "cannot start the recorder" in proc.stderr


def test_live_pcm_is_resampled_as_one_stream():
    """Pieces of any size give the samples that resampling the whole signal gives, so frame
    boundaries leave no clicks."""
    from malsori.audio.live import pcm_chunks

    t = np.arange(22050 * 2) / 22050
    pcm = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    import io

    chunks = list(pcm_chunks(io.BytesIO(pcm.tobytes() + b"\x01"), 22050, chunk_s=0.1))  # odd trailing byte
    assert len(chunks) >= 20
    joined = np.concatenate(chunks)
    whole = Audio(pcm.astype(np.float32) / 32768, 22050).resample(16000).samples
    assert abs(len(joined) - len(whole)) <= 2
    n = min(len(joined), len(whole))
    assert np.max(np.abs(joined[:n] - whole[:n])) < 1e-3


@pytest.mark.slow
def test_stream_from_a_recorder_command_and_from_stdin(tmp_path, english_speech):
    raw = tmp_path / "speech.raw"
    raw.write_bytes((np.clip(english_speech.samples, -1, 1) * 32767).astype("<i2").tobytes())
    rate = str(english_speech.sample_rate)
    common = ["--task", "asr", "--tgt", "eng", "--src", "eng", "--rate", rate]
    mic = subprocess.run([sys.executable, "-m", "malsori.cli", "stream", "mic", "--mic-command", f"cat {raw}"]
                         + common, capture_output=True, text=True, timeout=300)
    with open(raw, "rb") as fh:
        piped = subprocess.run([sys.executable, "-m", "malsori.cli", "stream", "-"] + common, stdin=fh,
                               capture_output=True, text=True, timeout=300)
    for proc in (mic, piped):
        assert proc.returncode == 0, proc.stderr
        assert "listening" in proc.stderr and "coffee" in proc.stderr.lower()


@pytest.mark.slow
def test_ctrl_c_finishes_the_utterance_in_progress(translator, two_sentences):
    from malsori.pipelines.stream import StreamingTranslator, file_chunks, run_stream

    # Piper's durations vary from run to run, so the interruption is placed from the end:
    # after "window", before the 0.5 s closing pause.
    stop_at = two_sentences.duration - 0.85

    def interrupted():
        for i, chunk in enumerate(file_chunks(two_sentences)):
            if i * 0.32 > stop_at:
                raise KeyboardInterrupt
            yield chunk

    run = run_stream(StreamingTranslator(translator, "asr", "eng", "eng"), interrupted())
    assert run.interrupted and len(run.utterances) == 2
    assert run.source_duration < two_sentences.duration - 0.4
    assert "window" in " ".join(e.text for e in run.events if e.kind == "commit").lower()


@pytest.mark.slow
def test_stream_cli_writes_latency_log(tmp_path, english_wav):
    log = tmp_path / "lat.json"
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "stream", str(english_wav), "--task", "asr",
                           "--tgt", "eng", "--src", "eng", "--as-fast-as-possible", "--log", str(log)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "commit" in proc.stderr and "AL" in proc.stderr
    data = json.loads(log.read_text())
    assert data["summary"]["AL"] is not None and data["utterances"][0]["units"]
    proc = subprocess.run([sys.executable, "-m", "malsori.cli", "eval", "--latency", str(log)],
                          capture_output=True, text=True)
    scored = dict(line.split(":") for line in proc.stdout.strip().splitlines())
    assert float(scored["AL".rjust(16)]) == pytest.approx(data["summary"]["AL"], abs=0.002)
    instances = [json.loads(x) for x in log.with_suffix(".instances.log").read_text().splitlines()]
    assert instances[0]["delays"] == sorted(instances[0]["delays"]) and instances[0]["prediction_length"] > 3
    assert all(e >= d for e, d in zip(instances[0]["elapsed"], instances[0]["delays"]))


@pytest.mark.slow
def test_incremental_recognisers_are_fed_once_not_redecoded(two_sentences):
    """Vosk decodes as audio arrives: the stream opens one decoder per utterance and never calls
    the buffer-re-decoding transcribe()."""
    from malsori import Translator
    from malsori.engines.asr.vosk import VoskRecognizer
    from malsori.pipelines.stream import StreamingTranslator, run_stream

    class Spy(VoskRecognizer):
        opened = transcribed = 0

        def open_stream(self, language=None):
            Spy.opened += 1
            return super().open_stream(language)

        def transcribe(self, *args, **kwargs):
            Spy.transcribed += 1
            return super().transcribe(*args, **kwargs)

    session = StreamingTranslator(Translator([Spy()]), "asr", "kor", "kor")
    run = run_stream(session, two_sentences)
    assert Spy.opened == len(session.spans) == 2
    assert Spy.transcribed == 1  # the warm-up only
    assert [e.kind for e in run.events].count("endpoint") == 2


def test_translation_units_break_before_leaning_words_and_speech_is_trimmed():
    from fakes import BeepSynthesizer, CountingRecognizer, UpperTranslator

    from malsori import Translator
    from malsori.pipelines.stream import UNIT_GAP_S, StreamingTranslator

    class PausingVoice(BeepSynthesizer):
        """Speech followed by 0.6 s of silence, as eSpeak NG ends every text."""

        def synthesize(self, text, language, voice=None):
            speech = super().synthesize(text, language).samples
            return Audio(np.concatenate([speech, np.zeros(4800, np.float32)]), 8000)

    class SentenceTranslator(UpperTranslator):
        """Capitalises each input as a sentence, as Apertium does."""

        def translate(self, texts, src, tgt):
            return [f"{t[:1].upper()}{t[1:]}@{tgt}" for t in texts]

    translator = Translator([CountingRecognizer()], [SentenceTranslator()], [PausingVoice()])
    session = StreamingTranslator(translator, "s2st", "spa", "eng", unit_words=3)
    translated = lambda events: [e.text for e in events if e.kind == "translation"]  # noqa: E731
    events = session._commit("I would like to".split(), final=False)
    assert translated(events) == ["I would like@spa"]
    assert session.untranslated == ["to"]  # held back for the words it leans on
    events = session._commit("buy two tickets".split(), final=False)
    assert translated(events) == ["to buy two tickets@spa"]  # continues the sentence: no capital
    speech = [e.audio for e in events if e.kind == "audio"][0]
    assert speech.duration == pytest.approx(0.02 * len("to buy two tickets@spa") + UNIT_GAP_S, abs=0.02)
    # a unit that is all leaning words is still cut rather than held for ever
    assert translated(session._commit("of the".split(), final=False)) == []
    assert translated(session._commit(["and"], final=False)) == ["of@spa"]
    assert translated(session._commit("Mary sat down.".split(), final=True)) == ["the and Mary sat down.@spa"]
    assert translated(session._commit("she smiled".split(), final=True)) == ["She smiled@spa"]  # a new sentence
