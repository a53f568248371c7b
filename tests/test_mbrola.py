"""Korean speech from MBROLA hn1 driven by malsori's front-end. The phone and intonation plan is
checked without the voice; the round trip needs it (make test installs it)."""

from __future__ import annotations

import numpy as np
import pytest

from malsori.engines.tts.mbrola import MbrolaKoreanSynthesizer, find_voice
from malsori.errors import LanguageError, ModelError


def _voice_installed() -> bool:
    try:
        find_voice()
    except ModelError:
        return False
    return True


needs_voice = pytest.mark.skipif(not _voice_installed(),
                                 reason="MBROLA hn1 is not installed (make test runs scripts/install_korean_voice.sh)")


def _phones(pho: str) -> list[tuple[str, int, list[float]]]:
    out = []
    for line in pho.splitlines():
        name, ms, *pitch = line.split()
        out.append((name, int(ms), [float(p) for p in pitch[1::2]]))
    return out


def test_the_plan_follows_the_pronunciation_rules():
    tts = MbrolaKoreanSynthesizer(tempo=1.0)
    names = [p[0] for p in _phones(tts.phonemes("국물이 같이"))]
    # 궁무리 가치: nasalised coda, flap between vowels, palatalised ㅌ, voiceless word-initial ㄱ
    assert names == ["_", "k", "u", "N", "m", "u", "4", "i", "k", "a", "ts\\_h", "i", "_"]
    spelled = MbrolaKoreanSynthesizer(tempo=1.0, front_end=False)
    assert [p[0] for p in _phones(spelled.phonemes("국물이"))][1:4] == ["k", "u", "k_}"]


def test_numbers_english_and_hanja_are_read_out():
    tts = MbrolaKoreanSynthesizer()
    assert len(_phones(tts.phonemes("3개"))) > 4  # 세 개
    assert len(_phones(tts.phonemes("John"))) > 3  # 존
    assert _phones(tts.phonemes("李"))[1][0] == "i"  # 이, not 리


def test_statements_fall_and_questions_rise():
    tts = MbrolaKoreanSynthesizer()
    statement = [p for p in _phones(tts.phonemes("밥을 먹었어요.")) if p[2]]
    question = [p for p in _phones(tts.phonemes("밥을 먹었어요?")) if p[2]]
    assert statement[-1][2][-1] < statement[-1][2][0] and question[-1][2][-1] > question[-1][2][0]
    assert statement[-1][2][-1] < min(p[2][0] for p in statement[:-1])


def test_accentual_phrases_rise_and_slower_speech_lasts_longer():
    tts = MbrolaKoreanSynthesizer()
    vowels = [p for p in _phones(tts.phonemes("우리 어머니께서 오셨다")) if p[2]]
    # 어머니께서: low first syllable, high second, high end (T H L H)
    phrase = vowels[2:7]
    assert phrase[0][2][0] < phrase[1][2][0] and phrase[-1][2][0] > phrase[-2][2][0]
    fast = sum(p[1] for p in _phones(tts.phonemes("안녕하세요", speed=1.5)) if p[0] != "_")
    slow = sum(p[1] for p in _phones(tts.phonemes("안녕하세요", speed=0.75)) if p[0] != "_")
    assert slow == pytest.approx(2 * fast, rel=0.02)


def test_commas_pause_and_text_without_korean_says_nothing():
    tts = MbrolaKoreanSynthesizer()
    pauses = [p for p in _phones(tts.phonemes("네, 알겠습니다.")) if p[0] == "_"]
    assert len(pauses) == 3
    assert _phones(tts.phonemes("... !!")) == [("_", 120, [])]


def test_other_languages_and_voices_are_refused():
    tts = MbrolaKoreanSynthesizer()
    with pytest.raises(LanguageError):
        tts.synthesize("hello", "eng")
    with pytest.raises(LanguageError, match="hn1-f"):
        tts.synthesize("안녕", "kor", voice="ko+f3")


def test_a_missing_voice_is_a_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="install_korean_voice.sh"):
        MbrolaKoreanSynthesizer(model_dir=tmp_path).synthesize("안녕하세요", "kor")
    # Asking speak for it by name says how to install it, rather than handing the name to eSpeak NG.
    from malsori.pipelines.speak import speak_document

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path))
    monkeypatch.setattr("malsori.engines.tts.mbrola.SYSTEM_DATABASE", tmp_path / "none")
    with pytest.raises(ModelError, match="mbrola-hn1"):
        speak_document(["안녕하세요."], "kor", tmp_path / "a.wav", voice="hn1")
    assert not (tmp_path / "a.wav").exists()


@needs_voice
@pytest.mark.slow
def test_whisper_reads_the_voice_back():
    from fakes import heard_back

    from malsori.eval.metrics import cer

    sentences = ["오늘은 날씨가 정말 좋네요.", "저는 내일 아침 일찍 기차를 탑니다."]
    heard = heard_back(MbrolaKoreanSynthesizer(), sentences, "kor")
    # eSpeak NG's Korean comes back at about 70% CER; this voice through our front-end near 10%.
    assert cer(sentences, heard, "kor") < 0.3, heard


@needs_voice
def test_speak_prefers_the_korean_voice_and_keeps_espeak_variants(tmp_path):
    from malsori.audio import load_audio
    from malsori.pipelines.speak import speak_document

    speak_document(["안녕하세요."], "kor", tmp_path / "a.wav")
    assert load_audio(tmp_path / "a.wav").sample_rate == 16000  # hn1's rate; eSpeak NG's is 22050
    speak_document(["안녕하세요."], "kor", tmp_path / "b.wav", voice="ko+f3")
    assert load_audio(tmp_path / "b.wav").sample_rate == 22050


@needs_voice
def test_phrases_carry_their_own_register_pace_level_and_pauses():
    from malsori.prosody.analysis import analyze
    from malsori.protocols import Phrase, PhraseSynthesizer

    tts = MbrolaKoreanSynthesizer()
    assert isinstance(tts, PhraseSynthesizer)
    plain = tts.synthesize_phrases([Phrase("오늘은 날씨가 좋네요"), Phrase("내일은 비가 온대요")], "kor")
    shaped = tts.synthesize_phrases([Phrase("오늘은 날씨가 좋네요", pitch_hz=220, pitch_spread=0.2, volume_db=-6,
                                            pause_after=0.6),
                                     Phrase("내일은 비가 온대요", pitch_hz=220, speed=0.7)], "kor")
    before, after = analyze(plain), analyze(shaped)
    assert np.nanmedian(after.f0) == pytest.approx(220, rel=0.12)
    assert after.log_f0_stats()[1] > 1.5 * before.log_f0_stats()[1]
    assert shaped.duration > plain.duration + 0.6  # the pause, and the slower second phrase
    assert any(b - a >= 0.5 for a, b in after.pauses)
    half = int(1.0 * shaped.sample_rate)  # inside the first, quieter phrase
    assert np.abs(shaped.samples[:half]).max() < 0.7 * np.abs(shaped.samples[-half * 2:]).max()


@needs_voice
def test_the_higher_voice_has_higher_pitch_and_formants():
    from malsori.prosody.analysis import analyze
    from malsori.prosody.transfer import measure_formant_ratio

    tts = MbrolaKoreanSynthesizer()
    low = tts.synthesize("오늘은 날씨가 정말 좋네요", "kor")
    high = tts.synthesize("오늘은 날씨가 정말 좋네요", "kor", voice="hn1-f")
    low_p, high_p = analyze(low), analyze(high)
    assert np.nanmedian(high_p.f0) > 1.5 * np.nanmedian(low_p.f0)
    assert measure_formant_ratio(high, low, high_p, low_p) > 1.05
    assert high.duration == pytest.approx(low.duration, rel=0.02)
