"""`malsori serve`: the HTTP API, the WebSocket stream protocol and its faults, and the web page
driven in a real headless Chromium with a fake microphone."""

import io
import json
import shutil
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from malsori.serve.app import MAX_FRAME_BYTES, create_app  # noqa: E402


@pytest.fixture(scope="module")
def app(translator, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("streamlogs")
    application = create_app(translator, log_dir=log_dir)
    application.state.log_dir = log_dir
    return application


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


@pytest.fixture(scope="module")
def pcm_22k(english_speech):
    """The bundled voice's speech as 16-bit PCM bytes at its own 22.05 kHz rate."""
    return (np.clip(english_speech.samples, -1, 1) * 32767).astype("<i2").tobytes()


def test_page_health_and_schema(client):
    assert client.get("/v1/health").json() == {"status": "ok"}
    page = client.get("/").text
    assert 'id="mic"' in page and "Microphone access was refused" in page and "/v1/stream" in page
    schema = client.get("/openapi.json").json()
    assert "/v1/translate" in schema["paths"] and "/v1/stream" in schema["info"]["description"]


@pytest.mark.slow
@pytest.mark.apertium
def test_http_translate_file_and_text(client, english_wav):
    with open(english_wav, "rb") as fh:
        r = client.post("/v1/translate", data={"task": "s2tt", "tgt": "spa", "src": "eng"},
                        files={"file": ("a.wav", fh, "audio/wav")})
    assert r.status_code == 200 and "perro" in r.json()["text"].lower()
    r = client.post("/v1/translate", data={"task": "t2st", "tgt": "spa", "src": "eng", "text": "The house is big."})
    body = r.json()
    assert r.status_code == 200 and "casa" in body["text"].lower()
    audio, rate = sf.read(io.BytesIO(__import__("base64").b64decode(body["audio_wav_base64"])))
    assert rate > 8000 and len(audio) > rate // 2


def test_http_bad_upload_is_one_line_400(client):
    r = client.post("/v1/translate", data={"task": "s2tt", "tgt": "spa"}, files={"file": ("x.wav", b"garbage" * 99)})
    assert r.status_code == 400 and "not a readable audio" in r.json()["error"]
    r = client.post("/v1/translate", data={"task": "t2tt", "tgt": "xx", "src": "eng", "text": "hi"})
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    r = client.post("/v1/translate", data={"task": "t2st", "tgt": "spa", "src": "eng", "text": "hi",
                                           "expressive": "true"})
    assert r.status_code == 400 and "needs task s2st" in r.json()["error"]


def _receive_until(ws, kind, limit=2000):
    seen = []
    for _ in range(limit):
        msg = ws.receive()
        if msg.get("text") is not None:
            data = json.loads(msg["text"])
            seen.append(data)
            if data["type"] == kind:
                return seen
        elif msg.get("bytes") is not None:
            seen.append({"type": "pcm", "bytes": len(msg["bytes"])})
        else:
            seen.append({"type": msg["type"], "code": msg.get("code")})
            return seen
    raise AssertionError(f"no {kind} event")


@pytest.mark.slow
@pytest.mark.apertium
@pytest.mark.espeak
def test_stream_protocol_end_to_end(client, pcm_22k):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"task": "s2st", "src": "eng", "tgt": "spa", "sample_rate": 22050}))
        assert ws.receive_json()["type"] == "ready"
        step = 22050 * 2 // 5  # 200 ms frames
        for i in range(0, len(pcm_22k), step):
            ws.send_bytes(pcm_22k[i:i + step])
        ws.send_bytes(b"\0\0" * 22050)  # a second of silence ends the utterance
        ws.send_text(json.dumps({"type": "end"}))
        events = _receive_until(ws, "done")
    kinds = [e["type"] for e in events]
    commits = " ".join(e["text"] for e in events if e["type"] == "commit").lower()
    assert "fox" in commits and "coffee" in commits
    assert "translation" in kinds and "latency" in kinds
    audio_events = [i for i, e in enumerate(events) if e["type"] == "audio"]
    assert audio_events and all(events[i + 1]["type"] == "pcm" and events[i + 1]["bytes"] == 2 * events[i]["samples"]
                                for i in audio_events)
    assert events[-1]["summary"]["AL"] is not None


@pytest.mark.parametrize("first,pattern", [
    ("not json", "must be JSON"),
    (json.dumps({"task": "s2tt", "tgt": "spa"}), "sample_rate"),
    (json.dumps({"task": "s2tt", "tgt": "spa", "sample_rate": 5}), "between"),
    (json.dumps({"task": "s2tt", "tgt": "spa", "sample_rate": 16000, "format": "f32"}), "s16le"),
    (json.dumps({"task": "t2tt", "tgt": "spa", "src": "eng", "sample_rate": 16000}), "speech input"),
    (json.dumps({"task": "s2tt", "tgt": "xx", "src": "eng", "sample_rate": 16000}), "unknown language"),
    (json.dumps({"task": "s2st", "tgt": "spa", "src": "eng", "sample_rate": 16000, "speed": 9}), "speed within"),
    (json.dumps({"task": "s2tt", "tgt": "spa", "src": "eng", "sample_rate": 16000, "unit_words": "x"}), "integer"),
])
def test_bad_first_message_gets_error_and_1008(client, first, pattern):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(first)
        error = ws.receive_json()
        assert error["type"] == "error" and pattern in error["message"]
        assert ws.receive()["code"] == 1008


@pytest.mark.parametrize("frame,code", [(b"\0" * 3, 1003), (b"\0" * (MAX_FRAME_BYTES + 2), 1009)])
def test_bad_frames_close_with_their_code_and_server_goes_on(client, frame, code):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"task": "asr", "tgt": "eng", "sample_rate": 16000}))
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes(frame)
        assert ws.receive_json()["type"] == "error"
        assert ws.receive()["code"] == code
    assert client.get("/v1/health").status_code == 200


@pytest.mark.slow
def test_minutes_of_silence_then_disconnect_mid_utterance_keeps_the_log(client, app, pcm_22k):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"task": "asr", "tgt": "eng", "src": "eng", "sample_rate": 16000}))
        assert ws.receive_json()["type"] == "ready"
        for _ in range(120):  # two minutes of silence, sent faster than real time
            ws.send_bytes(b"\0\0" * 16000)
        ws.send_text(json.dumps({"type": "end"}))
        events = _receive_until(ws, "done")
        assert [e["type"] for e in events] == ["done"]
    before = set(app.state.log_dir.iterdir())
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"task": "asr", "tgt": "eng", "src": "eng", "sample_rate": 22050}))
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes(pcm_22k[: len(pcm_22k) * 3 // 4])
        time.sleep(0.5)
    deadline = time.time() + 60
    while time.time() < deadline:  # the server flushes the cut utterance into its log
        logs = [p for p in set(app.state.log_dir.iterdir()) - before if p.stat().st_size]
        lines = [json.loads(x) for p in logs for x in p.read_text().splitlines()]
        if any(x["kind"] == "endpoint" for x in lines):
            break
        time.sleep(0.5)
    assert any(x["kind"] == "commit" and "fox" in x["text"].lower() for x in lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.apertium
@pytest.mark.espeak
def test_browser_microphone_to_captions_and_speech(app, piper, tmp_path):
    """Headless Chromium with a fake microphone playing a wav the test makes."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    import uvicorn

    from malsori.audio import save_audio

    speech = piper.synthesize("Good morning. I would like a cup of coffee, please.", "eng").resample(48000)
    padded = np.concatenate([np.zeros(24000, np.float32), speech.samples, np.zeros(96000, np.float32)])
    wav = tmp_path / "mic.wav"
    save_audio(wav, type(speech)(padded, 48000))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.select_option("#task", "s2st")
            page.click("#mic")
            page.wait_for_function("document.getElementById('target').textContent.trim().length > 0", timeout=90_000)
            page.wait_for_function("Number(document.getElementById('audio-count').textContent) > 0", timeout=60_000)
            committed = page.inner_text("#committed").lower()
            target = page.inner_text("#target").lower()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert "coffee" in committed or "morning" in committed, committed
    assert any(w in target for w in ("café", "mañana", "días", "taza")), target


# --- limits and faults found by a hostile trial (issue 15) ---------------------------------------

@pytest.fixture(scope="module")
def fake_translator():
    """Counting "ASR", upper-casing "MT", beeps as "speech": the server's logic without the models."""
    from fakes import BeepSynthesizer, CountingRecognizer, UpperTranslator

    from malsori import Translator

    return Translator([CountingRecognizer()], [UpperTranslator()], [BeepSynthesizer()])


def _multipart(boundary: bytes, size: int) -> bytes:
    return (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="tgt"\r\n\r\nspa\r\n--' + boundary
            + b'\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
              b"Content-Type: audio/wav\r\n\r\n" + b"\0" * size + b"\r\n--" + boundary + b"--\r\n")


def test_upload_declared_over_the_limit_is_413_with_one_line():
    client = TestClient(create_app(max_upload_mb=0.05))
    r = client.post("/v1/translate", data={"task": "s2tt", "tgt": "spa"}, files={"file": ("big.wav", b"\0" * 60_000)})
    assert r.status_code == 413
    assert "0.05 MB limit" in r.json()["error"] and "\n" not in r.json()["error"]
    r = client.post("/v1/translate", data={"task": "s2tt", "tgt": "spa"}, files={"file": ("x.wav", b"garbage" * 99)})
    assert r.status_code == 400 and "the upload: not a readable audio" in r.json()["error"]  # under it: as before


def test_chunked_upload_is_cut_off_as_it_arrives():
    """No Content-Length: the server stops pulling the body once it has seen the limit."""
    import asyncio

    limit = int(0.05 * (1 << 20))
    body = _multipart(b"xyz", 40 * limit)  # a body that would go on for 2 MB
    pulled, sent = 0, []

    async def receive():
        nonlocal pulled
        chunk = body[pulled:pulled + 4096]
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < len(body)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/translate", "raw_path": b"/v1/translate", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", b"multipart/form-data; boundary=xyz"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(create_app(max_upload_mb=0.05)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert "limit" in json.loads(sent[1]["body"])["error"]
    assert limit < pulled <= limit + 4096


def test_binary_first_message_is_a_clear_error_and_1008(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(b"\0\0" * 160)
        error = ws.receive_json()
        assert error["type"] == "error" and "must be a JSON text frame" in error["message"]
        assert "\n" not in error["message"]
        assert ws.receive()["code"] == 1008


@pytest.mark.timeout(60)
def test_streams_over_the_cap_are_refused_with_1013_and_slots_come_back(fake_translator):
    client = TestClient(create_app(fake_translator, max_streams=2))
    with client.websocket_connect("/v1/stream"), client.websocket_connect("/v1/stream"):
        with client.websocket_connect("/v1/stream") as extra:
            error = extra.receive_json()
            assert error["type"] == "error" and "try again later" in error["message"]
            assert extra.receive()["code"] == 1013
    with client.websocket_connect("/v1/stream") as ws:  # the two that left gave their slots back
        ws.send_text(json.dumps({"task": "asr", "tgt": "eng", "sample_rate": 16000}))
        assert ws.receive_json()["type"] == "ready"


@pytest.mark.timeout(60)
def test_idle_streams_are_closed_with_an_error(fake_translator):
    client = TestClient(create_app(fake_translator, idle_timeout_s=0.5))
    with client.websocket_connect("/v1/stream") as ws:  # never configured
        error = ws.receive_json()
        assert error["type"] == "error" and "within 0.5 s" in error["message"]
        assert ws.receive()["code"] == 1008
    with client.websocket_connect("/v1/stream") as ws:  # configured, a little audio, then nothing
        ws.send_text(json.dumps({"task": "asr", "tgt": "eng", "sample_rate": 16000}))
        assert ws.receive_json()["type"] == "ready"
        started = time.perf_counter()
        for _ in range(3):
            ws.send_bytes(b"\0\0" * 1600)
            time.sleep(0.3)  # frames keep it alive past the timeout
        ws.send_text(json.dumps({"type": "ping"}))  # text does not
        assert "unknown text message" in _receive_until(ws, "error")[-1]["message"]
        events = _receive_until(ws, "error")
        assert "no audio for 0.5 s" in events[-1]["message"] and time.perf_counter() - started > 0.9
        assert ws.receive()["code"] == 1008


def test_create_app_rejects_nonsense_limits():
    from malsori.errors import MalsoriError

    for bad in ({"max_upload_mb": 0}, {"max_streams": 0}, {"idle_timeout_s": -1}):
        with pytest.raises(MalsoriError):
            create_app(**bad)


def test_computation_aware_latency_is_never_below_the_plain_one(fake_translator, pcm_22k):
    """A client sending faster than real time: output cannot precede the audio it answers."""
    client = TestClient(create_app(fake_translator))
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"task": "s2tt", "src": "eng", "tgt": "spa", "sample_rate": 22050}))
        assert ws.receive_json()["type"] == "ready"
        step = 22050 * 2 // 5
        for i in range(0, len(pcm_22k), step):
            ws.send_bytes(pcm_22k[i:i + step])
        ws.send_bytes(b"\0\0" * 22050)
        ws.send_text(json.dumps({"type": "end"}))
        events = _receive_until(ws, "done")
    timed = [e for e in events if "clock" in e]
    assert timed and all(e["clock"] >= e["source_time"] for e in timed)
    clocks = [e["clock"] for e in timed]
    assert clocks == sorted(clocks)
    summary = events[-1]["summary"]
    assert summary["AL"] is not None
    for key in ("StartOffset", "EndOffset", "AL", "LAAL"):
        assert summary[key + "_CA"] >= summary[key], (key, summary)


def test_busy_port_is_one_error_line_before_serving(tmp_path):
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "malsori.cli", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"malsori: error: cannot listen on 127.0.0.1:{port}: address already in use"], proc.stderr
    assert proc.returncode == 1
