"""The server: whole-file translation over HTTP, simultaneous translation over a WebSocket, and
the web page that uses both.

WebSocket protocol (`/v1/stream`):
1. client -> JSON: {"task": "s2tt", "tgt": "spa", "src": "eng", "sample_rate": 48000, "format": "s16le"}
   (optional: "unit_words": words per translated unit, "speed": speaking rate of translated speech)
2. server -> {"type": "ready"}; then client -> binary frames of 16-bit little-endian mono PCM
3. server -> JSON events {"type": partial|commit|translation|endpoint|latency|error, ...}; translated
   speech comes as {"type": "audio", "sample_rate": R, "samples": N, "text": ...} followed by one
   binary frame of N 16-bit samples
4. client -> {"type": "end"} flushes the last utterance; the server answers {"type": "done",
   "summary": {...}} and closes with 1000.
Errors get {"type": "error", "message": ...} and a close code: 1008 bad first message (or none in
time), 1003 wrong sample format, 1009 oversized frame, 1008 no audio frame for ``idle_timeout_s``,
1013 (try again later) when ``max_streams`` are already open. Other streams are not affected.

Event ``clock`` values are computation-aware times on the source's time axis, as in
``pipelines.stream.run_stream``: a frame is available once the audio up to its end has been sent,
so clock = max(clock, audio received) + server time spent on the frame.

Uploads to ``/v1/translate`` over ``max_upload_mb`` get HTTP 413 with {"error": ...}.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import anyio
import numpy as np
from fastapi import FastAPI, File, Form, UploadFile, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.websockets import WebSocketDisconnect

from malsori.errors import AudioError, MalsoriError
from malsori.serve.engines import check_voice_name
from malsori.serve.guards import (MB, ServeLimits, StreamSlots, UploadLimit, UploadTooLarge,
                                  upload_too_large_response)

STATIC = Path(__file__).parent / "static"
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: about 33 s of 16 kHz audio in one frame is already abuse
FIRST_MESSAGE_TIMEOUT_S = 10.0
MAX_SPEAK_CHARS = 20_000  # /v1/speak: a few minutes of speech a request


def create_app(translator=None, log_dir: Path | None = None, *, max_upload_mb: float = ServeLimits.max_upload_mb,
               max_streams: int = ServeLimits.max_streams,
               idle_timeout_s: float = ServeLimits.idle_timeout_s) -> FastAPI:
    from malsori.pipelines.translate import Translator

    limits = ServeLimits(max_upload_mb, max_streams, idle_timeout_s)
    app = FastAPI(title="malsori", version="0.1.0",
                  description="Offline speech translation: whole files over HTTP, live audio over the "
                              "WebSocket /v1/stream (protocol in the module docstring of malsori.serve.app).")
    app.add_middleware(UploadLimit, limit=limits.max_upload_bytes)
    app.add_exception_handler(UploadTooLarge, upload_too_large_response)
    app.state.limits = limits
    slots = StreamSlots(limits.max_streams)
    generators = GeneratorCache()
    state = {"translator": translator}

    def get_translator() -> "Translator":
        if state["translator"] is None:
            state["translator"] = Translator()
        return state["translator"]

    from malsori.serve.openai_api import add_openai_routes

    add_openai_routes(app, get_translator)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/v1/health")
    def health():
        return {"status": "ok"}

    @app.post("/v1/translate")
    async def translate(task: str = Form("s2tt"), tgt: str = Form(...), src: str | None = Form(None),
                        text: str | None = Form(None), file: UploadFile | None = File(None),
                        expressive: bool = Form(False)):
        """Whole-file translation: an audio upload (asr, s2tt, s2st) or text (t2tt, t2st);
        ``expressive`` (s2st) speaks the translation with the speaker's delivery."""
        try:
            if file is not None:
                payload = await run_in_threadpool(_load_upload, file.file)
            elif text is not None:
                payload = text
            else:
                raise MalsoriError("send an audio file or a text field")
            result = await run_in_threadpool(get_translator().predict, payload, task, tgt, src, None,
                                             expressive or None)
        except MalsoriError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        body = result.to_dict()
        if result.audio is not None:
            buf = io.BytesIO()
            import soundfile as sf

            sf.write(buf, np.clip(result.audio.samples, -1, 1), result.audio.sample_rate, format="WAV",
                     subtype="PCM_16")
            body["audio_wav_base64"] = base64.b64encode(buf.getvalue()).decode()
        return body

    @app.post("/v1/speak")
    async def speak(text: str = Form(...), lang: str = Form(...), voice: str | None = Form(None),
                    speaker: str | None = Form(None), emotion: str | None = Form(None),
                    style_ref: UploadFile | None = File(None)):
        """Text -> WAV. ``voice``: an installed voice's name (``malsori models import`` puts trained
        voices there; never a server path); ``speaker``, ``emotion`` and a ``style_ref`` upload
        steer a voice trained by ``malsori tts train``."""
        from fastapi.responses import Response

        try:
            check_voice_name(voice)
            if len(text) > MAX_SPEAK_CHARS:
                raise MalsoriError(f"the text is over {MAX_SPEAK_CHARS} characters: send it in parts")
            reference = await run_in_threadpool(_load_upload, style_ref.file) if style_ref is not None else None
            wav = await run_in_threadpool(_speak_wav, text, lang, voice, speaker, emotion, reference)
        except MalsoriError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(wav, media_type="audio/wav")

    @app.post("/v1/generate")
    async def generate(prompt: str = Form(...), duration: float = Form(5.0), model: str | None = Form(None),
                       seed: int | None = Form(None), steps: int | None = Form(None),
                       negative: str | None = Form(None), guidance: float | None = Form(None)):
        """Text -> WAV from an imported text-to-audio model (``model``: a catalog id such as
        stable-audio-open or musicgen, never a server path; default: the first one imported).
        The sidecar (prompt, model, seed, steps, timings) comes back in ``X-Malsori-Generation``."""
        from fastapi.responses import Response

        try:
            wav, sidecar = await run_in_threadpool(_generate_wav, generators, prompt, duration, model, seed, steps,
                                                   negative, guidance)
        except MalsoriError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(wav, media_type="audio/wav", headers={"X-Malsori-Generation": json.dumps(sidecar)})

    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket):
        await ws.accept()
        # Refused after accept so the client gets a reason; the slot is held from here on, so
        # clients that never configure count too.
        if not slots.take():
            await _error(ws, f"the server already has its {limits.max_streams} live streams: try again later", 1013)
            return
        try:
            await _configure_and_serve(ws)
        finally:
            slots.release()

    async def _configure_and_serve(ws: WebSocket):
        wait = min(FIRST_MESSAGE_TIMEOUT_S, limits.idle_timeout_s)
        try:
            first = await asyncio.wait_for(ws.receive(), wait)
            if first["type"] == "websocket.disconnect":
                return
            config = _parse_config(_first_text(first))
            session = await run_in_threadpool(_open_session, get_translator(), config)
        except asyncio.TimeoutError:
            await _error(ws, f"no configuration message within {wait:g} s", 1008)
            return
        except (MalsoriError, ValueError) as exc:
            await _error(ws, str(exc), 1008)
            return
        except Exception as exc:  # an engine failing to start: the client still gets one line
            await _error(ws, f"the stream could not start ({type(exc).__name__})", 1011)
            raise
        await ws.send_json({"type": "ready", "task": session.task, "src": session.src, "tgt": session.tgt})
        await StreamConnection(ws, session, config["sample_rate"], log_dir, limits.idle_timeout_s).serve()

    return app


class GeneratorCache:
    """One loaded text-to-audio model per catalog id, used by one request at a time (generation
    keeps both cores busy; a second request waits rather than halving the first's speed)."""

    def __init__(self):
        import threading

        self.pipelines: dict = {}
        self.lock = threading.Lock()

    def get(self, model: str | None):
        from malsori.pipelines.generate import GENERATION_MODELS, TextToAudio

        if model is not None and model not in GENERATION_MODELS:
            raise MalsoriError(f"unknown text-to-audio model {model!r}: choose one of {', '.join(GENERATION_MODELS)}")
        if model not in self.pipelines:
            self.pipelines[model] = TextToAudio(model)
        return self.pipelines[model]


def _generate_wav(generators: GeneratorCache, prompt: str, duration: float, model, seed, steps, negative,
                  guidance) -> tuple[bytes, dict]:
    import soundfile as sf

    with generators.lock:
        pipeline = generators.get(model)
        [result] = pipeline.generate(prompt, duration, seed=seed, steps=steps, negative=negative, guidance=guidance)
    buf = io.BytesIO()
    sf.write(buf, np.clip(result.audio.samples, -1, 1), result.audio.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue(), result.sidecar()


def _speak_wav(text: str, lang: str, voice, speaker, emotion, reference) -> bytes:
    from malsori.languages import normalize_language
    from malsori.pipelines.speak import speak_document, synthesizer_for

    language = normalize_language(lang)
    engine, voice = synthesizer_for(language, voice, speaker=speaker, emotion=emotion, style_ref=reference)
    with tempfile.TemporaryDirectory(prefix="malsori-speak-") as tmp:
        out = Path(tmp) / "speech.wav"
        speak_document(text.splitlines(), language, out, engine, voice=voice, max_minutes=30)
        return out.read_bytes()


def _load_upload(upload):
    """Decode an upload from disk: reading it into bytes would hold it in memory next to its samples."""
    from malsori.audio import load_audio

    upload.seek(0)
    with tempfile.NamedTemporaryFile(prefix="malsori-upload-") as spooled:
        shutil.copyfileobj(upload, spooled, MB)
        spooled.flush()
        if spooled.tell() == 0:
            raise MalsoriError("the uploaded file is empty")
        try:
            return load_audio(spooled.name)
        except AudioError as exc:  # its message names the temporary path, which means nothing to the client
            raise AudioError(str(exc).replace(spooled.name, "the upload")) from None


def _first_text(message: dict) -> str:
    if message.get("text") is None:
        raise MalsoriError("the first message must be a JSON text frame with task, tgt, src, sample_rate, format "
                           "(audio frames come after the server's ready)")
    return message["text"]


def _parse_config(text: str) -> dict:
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        raise MalsoriError("the first message must be JSON: {task, tgt, src, sample_rate, format}") from None
    if not isinstance(config, dict):
        raise MalsoriError("the first message must be a JSON object")
    for key in ("tgt", "sample_rate"):
        if key not in config:
            raise MalsoriError(f"the first message lacks {key!r}")
    rate = config["sample_rate"]
    if not isinstance(rate, int) or not 8000 <= rate <= 192000:
        raise MalsoriError("sample_rate must be an integer between 8000 and 192000")
    if config.get("format", "s16le") != "s16le":
        raise MalsoriError("only format 's16le' (16-bit little-endian PCM) is accepted")
    config.setdefault("task", "s2tt")
    return config


def _open_session(translator, config: dict):
    from malsori.pipelines.stream import StreamingTranslator

    try:
        options = {k: kind(config[k]) for k, kind in (("unit_words", int), ("speed", float)) if k in config}
    except (TypeError, ValueError):
        raise MalsoriError("unit_words must be an integer and speed a number") from None
    if not 1 <= options.get("unit_words", 3) <= 50 or not 0.5 <= options.get("speed", 1.0) <= 3.0:
        raise MalsoriError("unit_words must be within 1..50 and speed within 0.5..3")
    session = StreamingTranslator(translator, config["task"], config["tgt"], config.get("src"), **options)
    session.warm_up()
    return session


async def _error(ws, message: str, code: int) -> None:
    try:
        await ws.send_json({"type": "error", "message": message})
        await ws.close(code=code)
    except Exception:  # the client may already be gone
        pass


class StreamConnection:
    """One client's live stream: PCM in, events out, and a JSON-lines log of what was emitted."""

    def __init__(self, ws, session, sample_rate: int, log_dir: Path | None,
                 idle_timeout_s: float = ServeLimits.idle_timeout_s):
        from malsori.audio.live import PcmDecoder

        self.ws, self.session, self.decoder = ws, session, PcmDecoder(sample_rate)
        self.events: list = []
        self.clock = 0.0  # computation-aware time of the latest events, in source seconds
        self.idle_timeout_s = idle_timeout_s
        self.last_audio = time.perf_counter()  # the idle timer starts when the client is told "ready"
        self.log = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log = open(log_dir / f"stream-{time.strftime('%Y%m%d-%H%M%S')}-{id(self):x}.jsonl", "a")

    async def serve(self) -> None:
        try:
            while True:
                message = await self._receive()
                if message is None:
                    await _error(self.ws, f"no audio for {self.idle_timeout_s:g} s: closing the idle stream", 1008)
                    break
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    data = message["bytes"]
                    if len(data) > MAX_FRAME_BYTES:
                        await _error(self.ws, f"frame of {len(data)} bytes is over the {MAX_FRAME_BYTES} limit", 1009)
                        break
                    if len(data) % 2:
                        await _error(self.ws, "frames must hold whole 16-bit samples (odd byte count)", 1003)
                        break
                    await self._send(await self._process(lambda: self.session.push(self.decoder.feed(data))))
                    self.last_audio = time.perf_counter()
                elif message.get("text") is not None:
                    if _is_end(message["text"]):
                        await self._send(await self._process(self.session.close))
                        await self.ws.send_json({"type": "done", "summary": self._summary()})
                        await self.ws.close(code=1000)
                        break
                    await self.ws.send_json({"type": "error", "message": "unknown text message (send {\"type\": \"end\"})"})
        except WebSocketDisconnect:
            pass
        finally:
            # A client gone mid-utterance: what was committed is already logged; flush the rest there,
            # even if the server is cancelling this connection.
            if self.session.in_speech:
                with anyio.CancelScope(shield=True):
                    try:
                        await self._process(self.session.close)
                    except Exception:
                        pass
            if self.log:
                self.log.close()

    async def _receive(self) -> dict | None:
        """The next message, or None once no audio frame has come for idle_timeout_s (text
        messages do not keep a stream alive)."""
        left = self.last_audio + self.idle_timeout_s - time.perf_counter()
        # A cancel scope, not asyncio.wait_for: that runs receive() in a task of its own, and a
        # disconnect it delivers could then be lost to a cancellation arriving at the same time.
        with anyio.move_on_after(max(left, 0.0)):
            return await self.ws.receive()
        return None

    async def _process(self, work) -> list:
        """Run ``work`` (push a frame, or close) and stamp its events as run_stream does: the
        session.now seconds received are available no earlier than source time session.now (a
        client may send faster than real time, so wall time since the socket opened would put
        output before its input), and work starts once the previous frame's is done."""
        started = time.perf_counter()
        events = await run_in_threadpool(work)
        self.clock = max(self.clock, self.session.now) + time.perf_counter() - started
        for ev in events:
            ev.clock = self.clock
            self.events.append(ev)
            if self.log:
                self.log.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
                self.log.flush()
        return events

    async def _send(self, events) -> None:
        for ev in events:
            if ev.kind == "audio":
                pcm = (np.clip(ev.audio.samples, -1, 1) * 32767).astype("<i2").tobytes()
                await self.ws.send_json({"type": "audio", "text": ev.text, "utterance": ev.utterance,
                                         "sample_rate": ev.audio.sample_rate, "samples": len(pcm) // 2})
                await self.ws.send_bytes(pcm)
                continue
            await self.ws.send_json({"type": ev.kind, **{k: v for k, v in ev.to_dict().items() if k != "kind"}})
            if ev.kind == "endpoint":
                latest = self._utterance_latency(ev.utterance)
                if latest:
                    await self.ws.send_json({"type": "latency", **latest})

    def _utterance_latency(self, utterance: int) -> dict | None:
        from malsori.pipelines.stream import per_utterance_latency

        for record in per_utterance_latency(self.events, self.session):
            if record["utterance"] == utterance:
                return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in record.items() if k != "units"}
        return None

    def _summary(self) -> dict:
        from malsori.eval.latency import summarize
        from malsori.pipelines.stream import per_utterance_latency

        return summarize(per_utterance_latency(self.events, self.session))


def _is_end(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "end"
    except (json.JSONDecodeError, AttributeError):
        return False
