"""The OpenAI-compatible audio endpoints, driven by the official `openai` Python package against a
live `malsori serve` app on 127.0.0.1: what works unchanged for every tool written against
OpenAI's audio API."""

from __future__ import annotations

import io
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(translator):
    import uvicorn

    from malsori.serve.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(translator), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="not-needed", max_retries=0, timeout=300)
    server.should_exit = True
    thread.join(timeout=10)


def test_transcriptions_in_every_response_format(client, english_wav):
    with open(english_wav, "rb") as fh:
        plain = client.audio.transcriptions.create(model="whisper-1", file=fh)
    assert "fox" in plain.text.lower() and "coffee" in plain.text.lower()
    with open(english_wav, "rb") as fh:
        verbose = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format="verbose_json",
                                                     timestamp_granularities=["word", "segment"], language="en")
    assert verbose.language == "english" and 4.0 < verbose.duration < 8.0
    words = [w.word.lower().strip(".,") for w in verbose.words]
    # the words the plain transcript is held to ("quick" once came out "quit" in a clean-clone run)
    assert "fox" in words and "coffee" in words
    starts = [w.start for w in verbose.words]
    assert starts == sorted(starts) and verbose.words[-1].end <= verbose.duration + 0.5
    assert verbose.segments[0].start < verbose.segments[-1].end
    with open(english_wav, "rb") as fh:
        srt = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format="srt")
    assert srt.startswith("1\n00:00:0") and " --> " in srt and "fox" in srt.lower()
    with open(english_wav, "rb") as fh:
        vtt = client.audio.transcriptions.create(model="whisper-base", file=fh, response_format="vtt",
                                                 prompt="Quick brown fox.", temperature=0.0)
    assert vtt.startswith("WEBVTT") and "fox" in vtt.lower()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks its translations endpoint deprecated
def test_translations_to_english_and_elsewhere(client, english_wav):
    with open(english_wav, "rb") as fh:
        english = client.audio.translations.create(model="whisper-1", file=fh)
    assert "fox" in english.text.lower()
    # the extension field: any target the cascade translates into
    with open(english_wav, "rb") as fh:
        spanish = client.audio.translations.create(model="whisper-1", file=fh, response_format="verbose_json",
                                                   extra_body={"target_language": "es"})
    assert spanish.language == "spanish"
    assert any(w in spanish.text.lower() for w in ("zorro", "café", "perro")), spanish.text


def _decode(data: bytes):
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return samples, rate


def test_speech_in_each_format_reads_back(client, translator):
    from malsori.audio import Audio

    wav = client.audio.speech.create(model="tts-1", voice="alloy", input="Good morning. The weather is fine.",
                                     response_format="wav")
    samples, rate = sf.read(io.BytesIO(wav.content), dtype="float32", frames=-1)
    assert samples.ndim == 1 and len(samples) / rate > 1.0
    heard = translator.engines.recognizer("eng").transcribe(Audio(samples, rate), "eng").text.lower()
    assert "morning" in heard and "weather" in heard, heard
    for fmt in ("flac", "mp3", "opus"):
        encoded = client.audio.speech.create(model="tts-1", voice="nova", input="Good morning.", response_format=fmt)
        decoded, decoded_rate = _decode(encoded.content)
        assert 0.4 < len(decoded) / decoded_rate < 3.0, fmt
    slow = client.audio.speech.create(model="tts-1", voice="alloy", input="Good morning.", response_format="pcm",
                                      speed=0.5)
    normal = client.audio.speech.create(model="tts-1", voice="alloy", input="Good morning.", response_format="pcm")
    assert len(slow.content) > 1.5 * len(normal.content) and len(normal.content) % 2 == 0


def test_streamed_speech_arrives_in_pieces_and_is_whole(client):
    text = "This is the first sentence. Here is a second one. And a third to finish."
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=text,
                                                            response_format="pcm") as response:
        assert response.headers["content-type"].startswith("audio/pcm")
        pieces = list(response.iter_bytes(chunk_size=None))
    data = b"".join(pieces)
    samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768
    assert len(pieces) >= 3 and len(data) % 2 == 0
    assert 3.0 < len(samples) / 24000 < 12.0 and np.abs(samples).max() > 0.05  # OpenAI's pcm: 24 kHz
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=text,
                                                            response_format="wav") as response:
        wav = response.read()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    header_rate = int.from_bytes(wav[24:28], "little")
    assert (len(wav) - 44) / 2 / header_rate > 3.0


@pytest.mark.espeak
def test_korean_text_is_spoken_in_korean(client, translator):
    from malsori.audio import Audio

    wav = client.audio.speech.create(model="tts-1", voice="alloy", input="안녕하세요. 오늘은 날씨가 좋습니다.",
                                     response_format="wav")
    samples, rate = sf.read(io.BytesIO(wav.content), dtype="float32", frames=-1)
    assert len(samples) / rate > 1.0
    heard = translator.engines.recognizer("kor").transcribe(Audio(samples, rate), "kor").text
    assert any("\uac00" <= c <= "\ud7a3" for c in heard), heard


def test_models_are_listed_and_retrievable(client):
    ids = [m.id for m in client.models.list()]
    assert {"whisper-1", "tts-1", "whisper-base"} <= set(ids)
    assert client.models.retrieve("whisper-1").owned_by == "malsori"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-99")


def test_errors_surface_as_the_sdks_own_exceptions(client, english_wav):
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        with open(english_wav, "rb") as fh:
            client.audio.transcriptions.create(model="no-such-model", file=fh)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        with open(english_wav, "rb") as fh:
            client.audio.transcriptions.create(model="whisper-1", file=fh, response_format="docx")
    with pytest.raises(openai.BadRequestError, match="verbose_json"):
        with open(english_wav, "rb") as fh:
            client.audio.transcriptions.create(model="whisper-1", file=fh, timestamp_granularities=["word"])
    with pytest.raises(openai.BadRequestError, match="unknown language"):
        with open(english_wav, "rb") as fh:
            client.audio.transcriptions.create(model="whisper-1", file=fh, language="xx")
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.audio.transcriptions.create(model="whisper-1", file=("empty.wav", b""))
    with pytest.raises(openai.BadRequestError, match="input"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="  ")
    with pytest.raises(openai.BadRequestError, match="aac"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hello.", response_format="aac")
    with pytest.raises(openai.BadRequestError, match="speed"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hello.", speed=9)
    with pytest.raises(openai.NotFoundError, match="tts-1"):
        client.audio.speech.create(model="my-voice", voice="alloy", input="Hello.")
    with pytest.raises(openai.BadRequestError, match="paths"):
        client.audio.speech.create(model="tts-1", voice="../../etc", input="Hello.")
    # the server is still fine
    assert client.audio.speech.create(model="tts-1", voice="alloy", input="Still here.", response_format="wav").content
