"""`malsori wyoming`: Home Assistant's speech protocol, driven by the `wyoming` package's own
client against a live server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("wyoming")
from wyoming.asr import Transcribe, Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.error import Error  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402
from wyoming.tts import (Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop,  # noqa: E402
                         SynthesizeStopped, SynthesizeVoice)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def port():
    from malsori.serve.wyoming import serve

    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def main():
        started = asyncio.Event()
        task = asyncio.ensure_future(serve(f"tcp://127.0.0.1:{port}", started))
        await started.wait()
        ready.set()
        try:
            await task
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert ready.wait(120)
    yield port
    for task in asyncio.all_tasks(loop):
        loop.call_soon_threadsafe(task.cancel)
    thread.join(timeout=10)


def _talk(port: int, events: list, until: str, limit: int = 1000) -> list:
    """Send ``events``, then read until an event whose type is ``until`` (or an error)."""

    async def run():
        received = []
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for event in events:
                await client.write_event(event.event())
            for _ in range(limit):
                event = await asyncio.wait_for(client.read_event(), 300)
                assert event is not None, "the server closed the connection"
                received.append(event)
                if event.type in (until, "error"):
                    return received
        return received

    return asyncio.run(run())


def _audio_events(samples: np.ndarray, rate: int, chunk_s: float = 0.25) -> list:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    step = int(rate * chunk_s) * 2
    return ([AudioStart(rate=rate, width=2, channels=1)]
            + [AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i:i + step]) for i in range(0, len(pcm), step)]
            + [AudioStop()])


def _spoken(events: list) -> tuple[np.ndarray, int]:
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    start = next(AudioStart.from_event(e) for e in events if AudioStart.is_type(e.type))
    assert all(c.rate == start.rate and c.width == 2 and c.channels == 1 for c in chunks)
    return np.frombuffer(b"".join(c.audio for c in chunks), "<i2").astype(np.float32) / 32768, start.rate


def test_describe_lists_the_recognisers_and_voices(port):
    info = Info.from_event(_talk(port, [Describe()], "info")[-1])
    models = {m.name: m for m in info.asr[0].models}
    assert "whisper-base" in models and "ko" in models["whisper-base"].languages
    voices = {v.name for v in info.tts[0].voices}
    assert "piper" in " ".join(voices).lower() or "espeak" in " ".join(voices).lower()
    assert info.tts[0].supports_synthesize_streaming


def test_english_speech_is_transcribed(port, english_speech):
    events = [Transcribe(language="en")] + _audio_events(english_speech.samples, english_speech.sample_rate)
    transcript = Transcript.from_event(_talk(port, events, "transcript")[-1])
    assert "fox" in transcript.text.lower() and "coffee" in transcript.text.lower()
    assert transcript.language == "en"


@pytest.mark.espeak
def test_korean_round_trip_synthesise_then_transcribe(port):
    said = "오늘은 날씨가 좋습니다."
    events = _talk(port, [Synthesize(text=said, voice=SynthesizeVoice(language="ko"))], "audio-stop")
    samples, rate = _spoken(events)
    assert len(samples) / rate > 0.8
    heard = Transcript.from_event(_talk(port, [Transcribe(language="ko")] + _audio_events(samples, rate),
                                        "transcript")[-1])
    assert heard.language == "ko" and any("\uac00" <= c <= "\ud7a3" for c in heard.text), heard.text


def test_streamed_synthesis_speaks_each_sentence(port, translator):
    from malsori.audio import Audio

    pieces = ["Good morning. ", "The weather ", "is fine today."]
    events = _talk(port, [SynthesizeStart(voice=SynthesizeVoice(language="en"))]
                   + [SynthesizeChunk(text=p) for p in pieces] + [SynthesizeStop()], "synthesize-stopped")
    assert SynthesizeStopped.is_type(events[-1].type)
    assert sum(AudioChunk.is_type(e.type) for e in events) == 2  # one chunk a sentence
    samples, rate = _spoken(events)
    heard = translator.engines.recognizer("eng").transcribe(Audio(samples, rate), "eng").text.lower()
    assert "morning" in heard and "weather" in heard, heard


def test_bad_requests_get_an_error_event_and_the_connection_goes_on(port, english_speech):
    unknown = _talk(port, [Transcribe(name="no-such-model")] + _audio_events(english_speech.samples[:22050], 22050),
                    "transcript")
    assert Error.is_type(unknown[-1].type) and "no-such-model" in Error.from_event(unknown[-1]).text
    assert Error.is_type(_talk(port, [AudioStop()], "transcript")[-1].type)
    empty = _talk(port, [Synthesize(text="   ")], "audio-stop")
    assert "empty" in Error.from_event(empty[-1]).text
    path = _talk(port, [Synthesize(text="Hello.", voice=SynthesizeVoice(name="../../etc/passwd"))], "audio-stop")
    assert "paths" in Error.from_event(path[-1]).text
    language = _talk(port, [Synthesize(text="Hello.", voice=SynthesizeVoice(language="xx"))], "audio-stop")
    assert "unknown language" in Error.from_event(language[-1]).text

    async def several_on_one_connection():
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Transcribe(name="no-such-model").event())
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            await client.write_event(AudioStop().event())
            first = await asyncio.wait_for(client.read_event(), 60)
            await client.write_event(Describe().event())
            second = await asyncio.wait_for(client.read_event(), 60)
            return first, second

    first, second = asyncio.run(several_on_one_connection())
    assert Error.is_type(first.type) and Info.is_type(second.type)


def test_cli_refuses_remote_and_bad_uris():
    for args, message in ((["--uri", "tcp://0.0.0.0:10300"], "--allow-remote"),
                          (["--uri", "http://x"], "tcp://HOST:PORT")):
        done = subprocess.run([sys.executable, "-m", "malsori.cli", "wyoming", *args], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode != 0 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
