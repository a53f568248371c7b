"""Expressive translation: syllables, word alignment, the SeamlessExpressive-style measures, the
GE2E speaker encoder and the renderer, on speech the bundled voices make."""

from __future__ import annotations

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.audio.core import concatenate, silence
from malsori.errors import MalsoriError
from malsori.eval.expressive import Side, best_assignment, pause_alignment, score_pair, spearman
from malsori.prosody import analyze
from malsori.prosody.align import align, map_gap, pauses_after_words
from malsori.prosody.transfer import change_voice, whisperize
from malsori.pipelines.expressive import ExpressiveOptions
from malsori.protocols import Phrase, Segment, Transcript, Word
from malsori.text.syllables import count_syllables


@pytest.mark.parametrize("text,lang,count", [
    ("The quick brown fox jumped over the lazy dog, because people make time.", "eng", 17),
    ("El rápido zorro marrón saltó sobre el perro perezoso, porque la gente tiene tiempo.", "spa", 28),
    ("안녕하세요 저는 사과를 먹었어요", "kor", 14),
    ("I have 2 cats", "eng", 4),
])
def test_syllable_counts(text, lang, count):
    assert count_syllables(text, lang) == count


def test_alignment_carries_a_pause_to_the_matching_gap():
    src = "When Maria arrived in Madrid, the president was already waiting".split()
    tgt = "Cuando Maria llegó a Madrid, el presidente ya estaba esperando".split()
    alignment = align(src, tgt)
    assert (1, 1) in alignment.strong and (4, 4) in alignment.strong  # Maria, Madrid
    assert map_gap(4, len(src), tgt, alignment) == 4  # after "Madrid," on both sides
    # With no lexical evidence the gap still lands proportionally, on a clause boundary if near.
    assert map_gap(1, 4, "uno dos, tres cuatro cinco seis".split(), align("a b c d".split(), [])) == 1


def test_pauses_attach_to_the_word_they_follow():
    times = [(0.0, 0.4), (0.5, 0.9), (1.6, 2.0), (2.1, 2.5)]
    assert pauses_after_words(times, [(0.95, 1.55), (3.0, 3.4)]) == pytest.approx([0.0, 0.6, 0.0])


def test_pause_alignment_scores():
    from malsori.prosody.align import Alignment

    diagonal = Alignment(strong={(i, i) for i in range(5)})
    assert pause_alignment([0, 0.5, 0, 0], [0, 0.5, 0, 0], diagonal)[0] == pytest.approx(1.0)
    assert pause_alignment([0, 0, 0, 0], [0, 0, 0, 0], diagonal)[0] == 1.0  # nobody paused
    assert pause_alignment([0, 0.5, 0, 0], [0, 0, 0, 0], diagonal)[0] == 0.0  # a pause was dropped
    half = pause_alignment([0, 0.5, 0, 0], [0, 0.25, 0, 0], diagonal)[0]
    assert half == pytest.approx(0.5)  # same place, half the length
    moved = pause_alignment([0, 0.5, 0, 0], [0, 0, 0, 0.5], diagonal)[0]
    assert 0 < moved < 1  # crosses two of five alignment edges


def test_assignment_is_optimal_not_greedy():
    sims = np.array([[0.9, 0.8], [0.85, 0.0]])  # greedy takes 0.9 and leaves 0.0
    assert sorted(best_assignment(sims)) == [(0, 1), (1, 0)]
    assert sorted(best_assignment(sims.T)) == [(0, 1), (1, 0)]


def test_spearman_with_ties():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9487, abs=1e-3)
    assert np.isnan(spearman([1, 2], [1, 2]))


@pytest.fixture(scope="module")
def paused(piper):
    """Two phrases with a 0.8 s pause between, their words timed from the phrase lengths."""
    a = piper.synthesize("Yesterday my brother", "eng").trim(0.02, 0.02)
    b = piper.synthesize("bought a new bicycle in the city.", "eng").trim(0.02, 0.02)
    rate = a.sample_rate
    audio = concatenate([a, silence(0.8, rate), b], rate)

    def spread(words, start, end):
        step = (end - start) / len(words)
        return [Word(start + i * step, start + (i + 1) * step, w) for i, w in enumerate(words)]

    words = spread("Yesterday my brother".split(), 0.0, a.duration) + \
        spread("bought a new bicycle in the city.".split(), a.duration + 0.8, audio.duration)
    return audio, words


def test_scores_see_a_kept_pause_and_a_dropped_one(paused, piper):
    audio, words = paused
    source = Side(analyze(audio, min_pause_s=0.1), [w.text for w in words], [(w.start, w.end) for w in words], "eng")
    flat = piper.synthesize("Yesterday my brother bought a new bicycle in the city.", "eng")
    flat_words = [w.text for w in words]
    step = flat.duration / len(flat_words)
    flat_side = Side(analyze(flat, min_pause_s=0.1), flat_words,
                     [(i * step, (i + 1) * step) for i in range(len(flat_words))], "eng")
    assert score_pair(source, source).pause_score == pytest.approx(1.0)
    assert score_pair(source, flat_side).pause_score < 0.5


@pytest.mark.espeak
def test_espeak_speaks_phrases_with_their_own_pitch_level_and_pauses():
    from malsori.engines.tts.espeak import EspeakSynthesizer

    tts = EspeakSynthesizer()

    def speak(volume_db, speed):
        out = tts.synthesize_phrases([
            Phrase("Hola amigos, buenos días", pitch_hz=150.0, volume_db=volume_db, pause_after=0.7),
            Phrase("esto es una prueba, del sistema nuevo.", pitch_hz=85.0, pitch_spread=0.2, speed=speed),
        ], "spa")
        got = analyze(out, min_pause_s=0.2)
        assert [b - a for a, b in got.pauses] == [pytest.approx(0.7, abs=0.1)]  # the break; no comma pauses
        cut = (got.pauses[0][0] + got.pauses[0][1]) / 2
        first, second = got.times < cut, got.times > cut
        return out, got, first, second, got.intensity[first].max() - got.intensity[second].max()

    out, got, first, second, louder = speak(6.0, 1.3)
    assert np.nanmedian(got.f0[first]) == pytest.approx(150.0, rel=0.1)
    assert np.nanmedian(got.f0[second]) == pytest.approx(85.0, rel=0.1)
    assert np.nanstd(np.log(got.f0[second])) > np.nanstd(np.log(got.f0[first]))
    plain, _, _, _, plain_louder = speak(0.0, 1.0)
    assert louder - plain_louder > 2.0  # the first phrase was spoken 6 dB louder
    assert out.duration < plain.duration - 0.4  # and the second 30% faster


@pytest.mark.parametrize("engine", [pytest.param("espeak", marks=pytest.mark.espeak), "piper"])
def test_renderer_keeps_pause_pitch_loudness_and_whisper(paused, piper, engine):
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.pipelines.expressive import ExpressiveOptions, ExpressiveRenderer

    audio, words = paused
    # A higher, quieter 'speaker' than the bundled voice.
    high = change_voice(audio, analyze(audio), 1.0, 210.0, 1.3, 1.0)
    high = Audio(high.samples * 0.2, high.sample_rate)
    # eSpeak speaks the phrases in one go; Piper one by one, re-pitched afterwards.
    tts, text, lang = {"espeak": (EspeakSynthesizer(), "Ayer mi hermano compró una bicicleta nueva en la ciudad.", "spa"),
                       "piper": (piper, "Yesterday, my brother bought a new bike in town.", "eng")}[engine]
    renderer = ExpressiveRenderer(tts, ExpressiveOptions(voice=False))
    out, report = renderer.render(high, words, text, lang, "eng")
    plain = analyze(tts.synthesize(text, lang))
    got = analyze(out, min_pause_s=0.3)
    # the 0.8 s pause after "brother" is carried (a stop closure of 0.1 s may be as well)
    assert any(p["after_source_word"] == 2 and p["seconds"] > 0.6 for p in report.pauses)
    assert any(0.6 < b - a < 1.0 for a, b in got.pauses)  # the 0.8 s pause survives
    assert abs(np.log(np.nanmedian(got.f0) / 210.0)) < abs(np.log(np.nanmedian(plain.f0) / 210.0))
    assert got.loudness_lufs == pytest.approx(analyze(high).loudness_lufs, abs=1.5)
    assert not got.whispered

    whispered, report = renderer.render(whisperize(audio), words, text, lang, "eng")
    assert report.whispered and analyze(whispered).whispered

    fitted, _ = ExpressiveRenderer(tts, ExpressiveOptions(voice=False, fit_duration=True)).render(
        high, words, text, lang, "eng")
    assert fitted.duration == pytest.approx(high.duration, abs=0.01)


@pytest.mark.espeak
def test_renderer_degrades_to_plain_speech_on_unusable_sources():
    from malsori.engines.tts.espeak import EspeakSynthesizer
    from malsori.pipelines.expressive import ExpressiveRenderer

    renderer = ExpressiveRenderer(EspeakSynthesizer())
    for bad in (Audio(np.zeros(1600, np.float32), 16000),  # silence
                Audio(np.random.default_rng(0).normal(0, 0.1, 800).astype(np.float32), 16000)):  # 50 ms noise
        out, report = renderer.render(bad, [], "Hola a todos.", "spa", "eng")
        assert out.duration > 0.3 and out.peak() > 0.01  # spoken, never silence
        assert report.warnings


@pytest.mark.slow
def test_ge2e_tells_voices_apart(piper):
    from malsori.engines.speaker.ge2e import Ge2eEncoder, mel_filterbank
    from malsori.engines.tts.espeak import EspeakSynthesizer

    bank = mel_filterbank(16000, 400, 40)
    assert bank.shape == (40, 201) and (bank >= 0).all() and (bank.sum(axis=1) > 0).all()
    encoder = Ge2eEncoder()
    joe1 = encoder.embed(piper.synthesize("The museum opens at nine in the morning every day.", "eng"))
    joe2 = encoder.embed(piper.synthesize("Please remember to bring your umbrella tomorrow.", "eng"))
    other = encoder.embed(EspeakSynthesizer().synthesize("Please remember to bring your umbrella tomorrow.", "eng"))
    assert joe1.shape == (256,) and np.linalg.norm(joe1) == pytest.approx(1.0, abs=1e-4)
    assert encoder.similarity(joe1, joe2) > encoder.similarity(joe2, other) + 0.15


class WordRecognizer:
    """Returns a fixed English sentence with evenly spread word times."""

    name = "word-asr"

    def languages(self):
        return {"eng"}

    def translation_targets(self):
        return set()

    def transcribe(self, audio, language=None, translate_to=None):
        words = "Yesterday my brother bought a new bicycle in the city.".split()
        step = audio.duration / len(words)
        timed = [Word(i * step, (i + 1) * step, w) for i, w in enumerate(words)]
        return Transcript("eng", [Segment(0.0, audio.duration, " ".join(words), timed)])

    def detect_language(self, audio):
        return "eng", 1.0


class DictionaryTranslator:
    name = "dict-mt"

    def supports(self, src, tgt):
        return (src, tgt) == ("eng", "spa")

    def translate(self, texts, src, tgt):
        return ["Ayer mi hermano compró una bicicleta nueva en la ciudad." if " " in t else t for t in texts]


@pytest.mark.espeak
def test_translator_speaks_expressively_and_refuses_text_input(paused):
    from malsori import Translator
    from malsori.engines.tts.espeak import EspeakSynthesizer

    audio, _ = paused
    translator = Translator([WordRecognizer()], [DictionaryTranslator()], [EspeakSynthesizer()])
    result = translator.predict(audio, "s2st", "spa", "eng", expressive=True)
    seg = result.segments[0]
    assert seg.expressive is not None and "expressive" in seg.to_dict()
    assert result.audio.duration > 1.0
    assert "expressive" in result.timings
    with pytest.raises(MalsoriError, match="needs task s2st"):
        translator.predict("hello there", "t2st", "spa", "eng", expressive=True)


@pytest.mark.slow
def test_eval_expressive_cli_scores_a_manifest(tmp_path, paused, piper):
    import json
    import subprocess
    import sys

    from malsori.audio import save_audio

    audio, _ = paused
    save_audio(tmp_path / "src.wav", audio)
    save_audio(tmp_path / "flat.wav", piper.synthesize("Yesterday my brother bought a new bicycle in the city.", "eng"))
    (tmp_path / "pairs.tsv").write_text("source\toutput\tsrc_lang\ttgt_lang\nsrc.wav\tsrc.wav\teng\teng\n"
                                        "src.wav\tflat.wav\teng\teng\n")
    run = subprocess.run([sys.executable, "-m", "malsori.cli", "eval", "--expressive", str(tmp_path / "pairs.tsv"),
                          "-o", str(tmp_path / "scores.json")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    items = json.loads((tmp_path / "scores.json").read_text())["items"]
    assert items[0]["pause_score"] == pytest.approx(1.0) and items[1]["pause_score"] < 0.5
    assert items[0]["speaker_similarity"] == pytest.approx(1.0, abs=1e-3)
    assert "rate_spearman" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "malsori.cli", "translate", "x.wav", "--tgt", "spa", "--fit-duration"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "add --expressive" in bad.stderr


def test_pauses_the_source_did_not_make_are_closed(piper):
    from malsori.pipelines.expressive import _close_unwanted_pauses

    words = [piper.synthesize(w, "eng").trim(0.01, 0.01) for w in ("Yesterday", "my brother", "bought bread")]
    rate = words[0].sample_rate
    speech = concatenate([words[0], silence(0.5, rate), words[1], silence(0.2, rate), words[2]], rate)
    assert len(analyze(speech, min_pause_s=0.1).pauses) >= 2  # the 0.2 s gap, and a stop closure
    closed = _close_unwanted_pauses(speech, wanted=1)
    # Only the carried pause is left (Piper's sampling moves the word edges a little).
    assert [b - a for a, b in analyze(closed, min_pause_s=0.1).pauses] == [pytest.approx(0.5, abs=0.12)]
    assert speech.duration - 0.3 < closed.duration < speech.duration - 0.1


class EndToEndVoice:
    """A SpeechToSpeech engine (as SeamlessM4T v2 is) that answers every input with the same
    English sentence, spoken by the bundled voice."""

    name = "end-to-end-test"

    def __init__(self, piper):
        self.piper = piper

    def languages(self):
        return None

    def translation_targets(self):
        return None

    def voice_languages(self):
        return {"eng"}

    def speech_to_speech(self, audio, tgt, src=None):
        speech = self.piper.synthesize("Yesterday my brother bought a new bicycle in the city.", "eng")
        return Transcript("eng", [Segment(0.0, audio.duration, "Yesterday my brother bought a new bicycle.")],
                          None, "translate"), speech


def test_end_to_end_models_get_the_sources_pitch_and_level(paused, piper):
    from malsori import Translator

    audio, _ = paused
    high = change_voice(audio, analyze(audio), 1.0, 230.0, 1.0, 1.0)
    high = Audio(high.samples * 0.2, high.sample_rate)
    translator = Translator([EndToEndVoice(piper)], [], [])
    plain = translator.predict(high, "s2st", "eng", "eng")
    result = translator.predict(high, "s2st", "eng", "eng", expressive=True)
    seg = result.segments[0]
    assert result.route["end_to_end"] == "end-to-end-test"
    assert any("end-to-end" in w for w in seg.expressive["warnings"])
    got, before = analyze(result.audio), analyze(plain.audio)
    assert abs(np.log(np.nanmedian(got.f0) / 230.0)) < 0.1 < abs(np.log(np.nanmedian(before.f0) / 230.0))
    assert got.loudness_lufs == pytest.approx(analyze(high).loudness_lufs, abs=1.5)
    fitted = translator.predict(high, "s2st", "eng", "eng", expressive=ExpressiveOptions(fit_duration=True))
    assert fitted.audio.duration == pytest.approx(high.duration, rel=0.05)


@pytest.mark.espeak
def test_espeak_voices_know_their_pitch_reach_and_whisper_by_themselves():
    from malsori.engines.tts.espeak import EspeakSynthesizer

    tts = EspeakSynthesizer()
    low, high = tts.pitch_reach("es-419"), tts.pitch_reach("es-419+f3")
    assert low[1] < 200 < high[1] and low[0] < 90 < high[0]
    # reaching the top of its reach is what the phrase synthesis asks of it
    top = analyze(tts.synthesize_phrases([Phrase("Hola a todos mis amigos.", pitch_hz=low[1])], "spa", "es-419"))
    assert np.nanmedian(top.f0) == pytest.approx(low[1], rel=0.12)
    whispered = tts.synthesize("Hola a todos mis amigos.", "spa", voice=tts.whisper_voice("spa"))
    assert analyze(whispered).whispered


@pytest.mark.espeak
def test_espeak_variants_speak_at_their_language_voices_pace():
    from malsori.engines.tts.espeak import EspeakSynthesizer, _speech_span

    tts = EspeakSynthesizer()
    assert tts.pace("es-419") == 1.0
    assert tts.pace("es-419+antonio") < 0.9  # antonio shortens stressed syllables
    text = "Ayer mi hermano compró una bicicleta nueva en la ciudad y la llevó a casa por la tarde."
    plain = _speech_span(tts.synthesize_phrases([Phrase(text)], "spa", "es-419"))
    for voice in ("es-419+antonio", "es-419+m3"):
        spoken = _speech_span(tts.synthesize_phrases([Phrase(text)], "spa", voice))
        assert spoken == pytest.approx(plain, rel=0.08), voice
        assert _speech_span(tts.synthesize(text, "spa", voice=voice)) == pytest.approx(
            _speech_span(tts.synthesize(text, "spa")), rel=0.08), voice


class ToneVoices:
    """A PhraseSynthesizer whose voices are tones: each voice has one pitch for a one-phrase
    sample (what the voice choice hears first) and another for a whole output of several phrases."""

    TONES = {"A": (1000, 1500), "B": (2000, 2500), "C": (3000, 3500)}

    def voices(self, language):
        return list(self.TONES)

    def synthesize(self, text, language, voice=None, speed=1.0):
        return self.synthesize_phrases([Phrase(text)], language, voice)

    def synthesize_phrases(self, phrases, language, voice=None):
        rate = 16000
        hz = self.TONES[voice or "A"][len(phrases) > 1]
        t = np.arange(int(0.6 * len(phrases) * rate)) / rate
        noise = np.random.default_rng(0).normal(0, 0.001, t.size)
        return Audio((0.3 * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32), rate)


class ToneEncoder:
    """Embeddings by dominant frequency; anything else (the source) is the target direction."""

    VECTORS = {1000: (0.9, 0.436), 1500: (0.5, 0.866), 2000: (0.8, 0.6), 2500: (0.95, 0.312),
               3000: (0.1, 0.995), 3500: (0.1, 0.995)}

    def embed(self, audio):
        spectrum = np.abs(np.fft.rfft(audio.samples))
        peak = np.fft.rfftfreq(audio.samples.size, 1 / audio.sample_rate)[int(np.argmax(spectrum))]
        near = min(self.VECTORS, key=lambda hz: abs(hz - peak))
        return np.array(self.VECTORS[near] if abs(near - peak) < 50 else (1.0, 0.0))


@pytest.mark.parametrize("finalists, chosen", [(1, "A"), (2, "B")])
def test_the_finalist_whose_whole_output_is_nearest_is_kept(paused, monkeypatch, finalists, chosen):
    from malsori.pipelines import expressive
    from malsori.pipelines.expressive import ExpressiveRenderer

    monkeypatch.setattr(expressive, "FINALISTS", finalists)
    audio, words = paused
    renderer = ExpressiveRenderer(ToneVoices(), encoder=ToneEncoder())
    assert renderer.rank_voices(audio, "uno dos tres", "spa", expressive.ExpressiveReport(), 120.0) == ["A", "B", "C"]
    # A's sample is nearest the speaker, but B's whole output is: with two finalists B is kept.
    _, report = renderer.render(audio, words, "Ayer mi hermano compró una bicicleta nueva en la ciudad.", "spa", "eng")
    assert report.voice == chosen
