"""The translation pipeline's logic on fake engines: routing, timings, failures, resume."""

import json

import numpy as np
import pytest
import soundfile as sf

from fakes import BeepSynthesizer, CountingRecognizer, ToneVAD, UpperTranslator, bursts
from malsori.audio import Audio, save_audio
from malsori.errors import AudioError, LanguageError, MalsoriError, OutputError
from malsori.pipelines.job import PartialFailure, run_job
from malsori.pipelines.translate import Translator


def make(recognizer=None, translator=None, synth=None, **kw):
    return Translator([recognizer or CountingRecognizer()], [translator or UpperTranslator()],
                      [synth or BeepSynthesizer()], vad=ToneVAD(), max_window_s=kw.pop("max_window_s", 28.0))


SPEECH = bursts([(0.5, 1.5), (2.0, 2.5), (5.0, 5.8)])


def test_s2st_cascade_keeps_segment_times_and_places_output_at_source_time():
    result = make(max_window_s=1.2).predict(SPEECH, task="s2st", tgt_lang="spa", src_lang="eng")
    assert [s.source_text for s in result.segments] == ["word1", "word2", "word3"]
    assert [s.target_text for s in result.segments] == ["WORD1@spa", "WORD2@spa", "WORD3@spa"]
    first, second, third = result.segments
    assert 0.2 <= first.start <= 0.5 and 4.0 <= third.start <= 5.0  # windows widen into pauses
    # outputs never overlap and never start before their source
    for seg in result.segments:
        assert seg.out_start >= seg.start - 0.011 and seg.out_end > seg.out_start
    assert second.out_start >= first.out_end
    assert result.audio.sample_rate == 8000
    assert result.audio.duration == pytest.approx(third.out_end, abs=0.01)
    assert set(result.timings) >= {"asr", "mt", "tts", "total"}


def test_windows_merge_across_short_pauses():
    result = make().predict(SPEECH, task="asr", tgt_lang="eng")
    assert len(result.segments) == 1  # all speech fits one 28 s window
    assert result.text == "word1" and result.audio is None


def test_direct_speech_translation_is_preferred_and_pivot_used_when_needed():
    rec = CountingRecognizer(langs=("kor",), targets=("eng",))
    tr = Translator([rec], [UpperTranslator({("eng", "spa")})], [BeepSynthesizer()], vad=ToneVAD())
    to_eng = tr.predict(SPEECH, task="s2tt", tgt_lang="eng", src_lang="kor")
    assert to_eng.route["asr_translates_to"] == "eng" and to_eng.route["mt"] == []
    assert to_eng.text.startswith("eng:word")
    to_spa = tr.predict(SPEECH, task="s2tt", tgt_lang="spa", src_lang="kor")
    assert to_spa.route["pivot"] == "eng" and to_spa.text.endswith("@spa")


def test_text_pivot_through_english():
    mt = UpperTranslator({("fra", "eng"), ("eng", "spa")})
    result = Translator([], [mt], [BeepSynthesizer()]).predict("bonjour. merci.", task="t2tt",
                                                                tgt_lang="spa", src_lang="fra")
    assert result.route["pivot"] == "eng"
    assert [s.target_text for s in result.segments] == ["BONJOUR.@ENG@spa", "MERCI.@ENG@spa"]


def test_unsupported_pairs_name_the_enabling_model():
    tr = make()
    with pytest.raises(LanguageError, match="NLLB-200"):
        tr.predict("hola", task="t2tt", tgt_lang="kor", src_lang="spa")
    with pytest.raises(LanguageError, match="whisper-base"):
        tr.predict(SPEECH, task="asr", tgt_lang="kor")
    with pytest.raises(LanguageError, match="espeak-ng"):
        Translator([], [UpperTranslator({("eng", "kor")})], [BeepSynthesizer({"spa"})]).predict(
            "hi", task="t2st", tgt_lang="kor", src_lang="eng")
    with pytest.raises(LanguageError, match="unknown language"):
        tr.predict(SPEECH, task="s2tt", tgt_lang="xx")
    with pytest.raises(MalsoriError, match="unknown task"):
        tr.predict(SPEECH, task="s2x", tgt_lang="spa")


def test_silence_and_speechless_input_are_errors():
    tr = make()
    with pytest.raises(AudioError, match="silent"):
        tr.predict(Audio(np.zeros(16000, np.float32), 16000), task="asr", tgt_lang="eng")
    with pytest.raises(AudioError, match="no speech"):
        tr.predict(Audio(np.full(16000, 0.01, np.float32), 16000), task="asr", tgt_lang="eng")


def test_failed_window_keeps_the_others():
    rec = CountingRecognizer(fail_on={2})
    result = make(rec, max_window_s=1.2).predict(SPEECH, task="s2tt", tgt_lang="spa", src_lang="eng")
    assert [s.source_text for s in result.segments] == ["word1", "word3"]
    assert len(result.errors) == 1 and "decoder crashed" in result.errors[0]


def test_job_writes_wav_and_sidecar_atomically(tmp_path):
    out = tmp_path / "out.wav"
    job = run_job(make(max_window_s=1.2), SPEECH, "s2st", "spa", "eng", str(out))
    data, rate = sf.read(out)
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert rate == 8000 and len(data) / rate == pytest.approx(sidecar["audio_duration"], abs=0.01)
    assert [s["target_text"] for s in sidecar["segments"]] == ["WORD1@spa", "WORD2@spa", "WORD3@spa"]
    assert all(s["out_end"] > s["out_start"] for s in sidecar["segments"])
    assert not (tmp_path / "out.wav.parts").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.wav"]
    assert job.resumed_windows == 0


def test_failed_window_is_kept_and_rerun_resumes_only_the_rest(tmp_path):
    wav = tmp_path / "in.wav"
    save_audio(wav, SPEECH)
    out = tmp_path / "out.wav"
    with pytest.raises(PartialFailure, match="1 of 3 windows failed"):
        run_job(make(CountingRecognizer(fail_on={2}), max_window_s=1.2), str(wav), "s2st", "spa", "eng", str(out))
    assert (tmp_path / "out.wav.parts").is_dir() and out.exists()  # partial output, nothing lost
    rec = CountingRecognizer()
    job = run_job(make(rec, max_window_s=1.2), str(wav), "s2st", "spa", "eng", str(out))
    assert rec.calls == 1  # only the failed window was recognised again
    assert job.resumed_windows == 2
    assert [s.source_text for s in job.result.segments] == ["word1", "word1", "word3"]
    assert not (tmp_path / "out.wav.parts").exists()


def test_interrupt_keeps_finished_windows(tmp_path):
    wav = tmp_path / "in.wav"
    save_audio(wav, SPEECH)

    class Interrupting(CountingRecognizer):
        def transcribe(self, audio, language=None, translate_to=None):
            if self.calls == 2:
                raise KeyboardInterrupt
            return super().transcribe(audio, language, translate_to)

    with pytest.raises(MalsoriError, match="2 of 3 windows kept"):
        run_job(make(Interrupting(), max_window_s=1.2), str(wav), "s2tt", "spa", "eng", str(tmp_path / "o.txt"))
    assert not (tmp_path / "o.txt").exists()
    rec = CountingRecognizer()
    run_job(make(rec, max_window_s=1.2), str(wav), "s2tt", "spa", "eng", str(tmp_path / "o.txt"))
    assert rec.calls == 1 and (tmp_path / "o.txt").read_text().count("\n") == 3


def test_changed_request_does_not_reuse_checkpoints(tmp_path):
    wav = tmp_path / "in.wav"
    save_audio(wav, SPEECH)
    with pytest.raises(PartialFailure):
        run_job(make(CountingRecognizer(fail_on={3}), max_window_s=1.2), str(wav), "s2tt", "spa", "eng",
                str(tmp_path / "o.txt"))
    rec = CountingRecognizer()
    run_job(make(rec, translator=UpperTranslator({("eng", "eng"), ("eng", "spa")}), max_window_s=1.2),
            str(wav), "asr", "eng", "eng", str(tmp_path / "o.txt"))
    assert rec.calls == 3


def test_output_errors(tmp_path):
    with pytest.raises(OutputError, match="-o"):
        run_job(make(), SPEECH, "s2st", "spa", "eng", None)
    with pytest.raises(OutputError, match="does not exist"):
        run_job(make(), SPEECH, "s2st", "spa", "eng", str(tmp_path / "nope" / "x.wav"))


def test_text_formats(tmp_path):
    from malsori.pipelines.formats import render

    result = make(max_window_s=1.2).predict(SPEECH, task="asr", tgt_lang="eng")
    srt = render(result, "srt")
    assert srt.startswith("1\n00:00:00,") and "-->" in srt and "word3" in srt
    vtt = render(result, "vtt")
    assert vtt.startswith("WEBVTT") and "00:00:05." in vtt
    assert json.loads(render(result, "json"))["segments"][2]["target_text"] == "word3"
