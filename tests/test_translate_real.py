"""The five tasks on the embedded models, with speech the bundled voices make. Thresholds are
loose enough for CPU noise but fail on a broken stage (wrong language, empty output, garbage)."""

import pytest

from conftest import ENGLISH_SENTENCE
from malsori.eval.metrics import chrf, normalize, wer

pytestmark = pytest.mark.slow


def test_asr_english_recognises_the_bundled_voice(translator, english_wav):
    result = translator.predict(str(english_wav), task="asr", tgt_lang="eng")
    assert result.route["asr"] == "whisper-tiny.en"
    assert wer([ENGLISH_SENTENCE], [result.text]) <= 0.15
    assert result.segments[0].start >= 0 and result.segments[-1].end <= 5.6


def test_language_is_detected_when_src_is_omitted(translator, english_wav):
    result = translator.predict(str(english_wav), task="s2tt", tgt_lang="eng")
    assert result.src_lang == "eng"


@pytest.mark.apertium
def test_s2tt_english_to_spanish(translator, english_speech):
    result = translator.predict(english_speech, task="s2tt", tgt_lang="spa", src_lang="eng")
    assert result.route["mt"] == ["apertium"]
    words = result.text.lower()
    assert "zorro" in words and "perro" in words and "café" in words
    assert len(result.segments) >= 1 and all(s.source_text for s in result.segments)


@pytest.mark.apertium
@pytest.mark.espeak
def test_s2st_spanish_speech_is_understood_again(translator, english_speech):
    from malsori.engines.asr.whisper import WhisperRecognizer

    result = translator.predict(english_speech, task="s2st", tgt_lang="spa", src_lang="eng")
    assert result.audio is not None and result.audio.duration > 2.0
    heard = WhisperRecognizer("whisper-base").transcribe(result.audio, "spa").text
    assert chrf([normalize(result.text, "spa")], [normalize(heard, "spa")]) >= 45, (result.text, heard)


@pytest.mark.apertium
def test_t2tt_spanish_to_english(translator):
    result = translator.predict("El perro come pan. La casa es grande.", task="t2tt", tgt_lang="eng", src_lang="spa")
    assert len(result.segments) == 2
    assert "dog" in result.text.lower() and "house" in result.text.lower()


def test_t2st_english_uses_piper_and_round_trips(translator):
    from malsori.engines.asr.whisper import WhisperRecognizer

    result = translator.predict("Please call me tomorrow morning.", task="t2st", tgt_lang="eng", src_lang="eng")
    assert result.route["tts"] == "piper-en-joe" and result.audio.sample_rate == 22050
    heard = WhisperRecognizer("whisper-tiny.en").transcribe(result.audio, "eng").text
    assert wer(["Please call me tomorrow morning."], [heard]) <= 0.2


@pytest.mark.espeak
def test_s2tt_any_language_to_english_through_whisper(translator):
    """Spanish speech (espeak-ng) -> English text by Whisper base's own translate task."""
    from malsori.engines.tts.espeak import EspeakSynthesizer

    speech = EspeakSynthesizer(rate=140).synthesize("Buenos días. Me llamo Pablo y tengo un perro.", "spa")
    result = translator.predict(speech, task="s2tt", tgt_lang="eng", src_lang="spa")
    assert result.route["asr"] == "whisper-base" and result.route["asr_translates_to"] == "eng"
    assert result.text.strip() and any(w in result.text.lower() for w in ("dog", "good", "morning", "pablo"))


def test_korean_routes_to_whisper_base_and_vosk_is_available():
    from malsori.engines.asr.vosk import VoskRecognizer
    from malsori.pipelines.engines import EngineSet

    route = EngineSet().route("asr", "kor", "kor")
    assert route.recognizer.name == "whisper-base"
    route = EngineSet(recognizers=[VoskRecognizer()]).route("asr", "kor", "kor")
    assert route.recognizer.name == "vosk-ko"


def test_vosk_transcribes_korean_model_on_english_noise_without_crashing(english_speech):
    from malsori.engines.asr.vosk import VoskRecognizer

    transcript = VoskRecognizer().transcribe(english_speech, "kor")
    assert transcript.language == "kor"
    for seg in transcript.segments:
        assert seg.end >= seg.start and seg.words


def test_whisper_drafts_on_a_short_window_read_what_the_full_decode_reads(english_speech):
    """Streaming drafts decode on an encoder window fitted to the audio; on a prefix and on the
    whole sentence they must still say what the 30 s window says, with no repetition loop."""
    from malsori.audio import Audio
    from malsori.engines.asr.whisper import WhisperRecognizer

    rec = WhisperRecognizer("whisper-tiny.en")
    prefix = english_speech.slice(0, 2.6)
    for audio in (prefix, english_speech):
        full = rec.transcribe(audio, "eng").text
        draft = rec.draft(audio, "eng")
        assert wer([full], [draft]) <= 0.15, (full, draft)
    assert len(rec.draft(english_speech, "eng").split()) <= len(ENGLISH_SENTENCE.split()) + 2
    assert rec.draft(Audio(english_speech.samples[:0], english_speech.sample_rate), "eng") == ""
