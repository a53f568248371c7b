"""OpenAI-compatible audio endpoints, so the official SDKs and the many tools written against
OpenAI's audio API use malsori unchanged (``base_url="http://127.0.0.1:8000/v1"``, any API key):

- ``POST /v1/audio/transcriptions`` and ``/v1/audio/translations``: multipart ``file``, ``model``,
  ``language``, ``prompt``, ``response_format`` (json, text, srt, verbose_json, vtt),
  ``temperature``, ``timestamp_granularities[]`` (word, segment). Translations go into English as
  OpenAI's do; the extension field ``target_language`` (any language malsori translates into)
  sends them elsewhere through the translation cascade.
- ``POST /v1/audio/speech``: JSON ``model``, ``input``, ``voice``, ``response_format`` (wav, pcm,
  flac, mp3, opus), ``speed``; the extension field ``language`` (otherwise Hangul text is Korean
  and the rest English). wav and pcm are streamed sentence by sentence as they are spoken; pcm is
  OpenAI's raw 24 kHz 16-bit mono.
- ``GET /v1/models`` and ``/v1/models/{id}``.

Model names: OpenAI's (``whisper-1``, ``tts-1``, ``tts-1-hd``, ``gpt-4o-mini-tts``, ...) mean
malsori's defaults; catalog ids (``whisper-small``, ``vosk-ko``) and installed voices by name pick
those. OpenAI's voice names (alloy, nova, ...) mean the language's default voice. Errors have
OpenAI's shape, {"error": {"message", "type", "param", "code"}}, so the SDKs raise their own
exception types (400 BadRequestError, 404 NotFoundError)."""

from __future__ import annotations

import io
import struct

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from malsori.errors import MalsoriError
from malsori.serve.engines import (Recognizers, UnknownModel, check_voice_name, guess_language, installed_recognisers,
                                   installed_voices)

OPENAI_ASR_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPENAI_VOICES = ("alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage",
                 "shimmer", "verse")
TEXT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
AUDIO_FORMATS = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac", "mp3": "audio/mpeg",
                 "opus": "audio/ogg"}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # the only rates Opus codes
PCM_RATE = 24000  # OpenAI's "pcm": raw 16-bit little-endian mono at 24 kHz
MAX_INPUT_CHARS = 4096  # OpenAI's own limit for /audio/speech


class ApiError(MalsoriError):
    def __init__(self, message: str, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


def error_body(message: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def _error_response(exc: MalsoriError) -> JSONResponse:
    if isinstance(exc, UnknownModel):
        return JSONResponse(error_body(f"The model {str(exc)}", "model", "model_not_found"), status_code=404)
    status = getattr(exc, "status", 400)
    return JSONResponse(error_body(str(exc), getattr(exc, "param", None), getattr(exc, "code", None)), status_code=status)


def add_openai_routes(app: FastAPI, get_translator) -> None:
    recognizers = Recognizers(aliases=OPENAI_ASR_MODELS)
    cascades: dict = {}  # model -> the Translator around it, for translations into other languages

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request, file: UploadFile | None = File(None), model: str = Form("whisper-1"),
                             language: str | None = Form(None), prompt: str | None = Form(None),
                             response_format: str = Form("json"), temperature: float = Form(0.0)):
        try:
            options = _asr_options(await request.form(), response_format, temperature)
            audio = await _upload(file)
            engine = recognizers.get(model)
            result = await run_in_threadpool(_transcribe, engine, audio, _language(language), prompt, options)
        except MalsoriError as exc:
            return _error_response(exc)
        return _respond(result, response_format)

    @app.post("/v1/audio/translations")
    async def translations(request: Request, file: UploadFile | None = File(None), model: str = Form("whisper-1"),
                           prompt: str | None = Form(None), response_format: str = Form("json"),
                           temperature: float = Form(0.0), target_language: str | None = Form(None)):
        try:
            options = _asr_options(await request.form(), response_format, temperature)
            audio = await _upload(file)
            engine = recognizers.get(model)
            target = _language(target_language, "target_language") or "eng"

            def cascade():  # OpenAI's names share the server's translator; a model asked for gets its own, kept
                from malsori.pipelines.translate import Translator

                if model in OPENAI_ASR_MODELS:
                    return get_translator()
                if model not in cascades:
                    cascades[model] = Translator(recognizers=[engine])
                return cascades[model]

            result = await run_in_threadpool(_translate, engine, cascade, audio, target, prompt, options)
        except MalsoriError as exc:
            return _error_response(exc)
        return _respond(result, response_format)

    @app.post("/v1/audio/speech")
    async def speech(request: Request):
        try:
            body = await _json_body(request)
            job = SpeechJob.from_request(body)
            chunks = await run_in_threadpool(job.start)
        except MalsoriError as exc:
            return _error_response(exc)
        media = AUDIO_FORMATS[job.response_format]
        if job.response_format in ("wav", "pcm"):
            return StreamingResponse(job.stream(chunks), media_type=media)
        return Response(await run_in_threadpool(job.encode_whole, chunks), media_type=media)

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [_model_entry(m) for m in listed_models()]}

    @app.get("/v1/models/{model_id:path}")
    def model(model_id: str):
        if model_id not in listed_models():
            return JSONResponse(error_body(f"The model `{model_id}` does not exist", "model", "model_not_found"), 404)
        return _model_entry(model_id)


# --- recognition ---------------------------------------------------------------------------------

class Recognised:
    """What a transcription or translation request produced, in OpenAI's terms."""

    def __init__(self, task: str, language: str, duration: float, segments: list, words: list | None):
        self.task, self.language, self.duration = task, language, duration
        self.segments, self.words = segments, words  # segments: (start, end, text); words: (start, end, word)

    @property
    def text(self) -> str:
        return " ".join(t.strip() for _, _, t in self.segments if t.strip())


def _asr_options(form, response_format: str, temperature: float) -> dict:
    if response_format not in TEXT_FORMATS:
        raise ApiError(f"response_format must be one of {', '.join(TEXT_FORMATS)} (got {response_format!r})",
                       param="response_format")
    if not 0.0 <= temperature <= 1.0:
        raise ApiError(f"temperature must be within 0..1 (got {temperature})", param="temperature")
    granularities = form.getlist("timestamp_granularities[]") + form.getlist("timestamp_granularities")
    unknown = set(granularities) - {"word", "segment"}
    if unknown:
        raise ApiError(f"timestamp_granularities take word and segment, not {', '.join(sorted(unknown))}",
                       param="timestamp_granularities")
    if "word" in granularities and response_format != "verbose_json":
        raise ApiError("word timestamps need response_format verbose_json", param="timestamp_granularities")
    return {"words": "word" in granularities, "temperature": temperature}


async def _upload(file: UploadFile | None):
    from malsori.serve.app import _load_upload

    if file is None:
        raise ApiError("send the audio as the multipart field `file`", param="file")
    audio = await run_in_threadpool(_load_upload, file.file)
    if audio.duration <= 0:
        raise ApiError("the uploaded audio has no samples", param="file")
    return audio


def _language(code: str | None, param: str = "language") -> str | None:
    from malsori.languages import normalize_language

    if not code:
        return None
    try:
        return normalize_language(code)
    except MalsoriError as exc:
        raise ApiError(str(exc), param=param) from None


def _tuned(engine, prompt: str | None, options: dict):
    """The engine decoding as asked (Whisper takes a prompt and a temperature; others decode as they do)."""
    if hasattr(engine, "with_options"):
        return engine.with_options(word_timestamps=options["words"], prompt=prompt or None,
                                   temperature=options["temperature"])
    return engine


def _transcribe(engine, audio, language: str | None, prompt: str | None, options: dict) -> Recognised:
    transcript = _tuned(engine, prompt, options).transcribe(audio, language)
    return _recognised("transcribe", transcript, audio.duration, options["words"])


def _translate(engine, cascade, audio, target: str, prompt: str | None, options: dict) -> Recognised:
    if target in engine.translation_targets():  # Whisper into English: one pass, as OpenAI does
        transcript = _tuned(engine, prompt, options).transcribe(audio, None, translate_to=target)
        return _recognised("translate", transcript, audio.duration, options["words"], target)
    if options["words"]:
        raise ApiError(f"word timestamps are given for translations into English only, not {target}",
                       param="timestamp_granularities")
    result = cascade().predict(audio, "s2tt", target)
    segments = [(s.start or 0.0, s.end or 0.0, s.target_text) for s in result.segments if s.target_text]
    return Recognised("translate", target, audio.duration, segments, None)


def _recognised(task: str, transcript, duration: float, words: bool, language: str | None = None) -> Recognised:
    segments = [(s.start, s.end, s.text) for s in transcript.segments]
    timed = [(w.start, w.end, w.text) for s in transcript.segments for w in s.words] if words else None
    return Recognised(task, language or transcript.language, duration, segments, timed)


def _respond(result: Recognised, response_format: str):
    from malsori.languages import LANGUAGES
    from malsori.pipelines.formats import subtitles

    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format in ("srt", "vtt"):
        return PlainTextResponse(subtitles(result.segments, response_format))
    if response_format == "json":
        return {"text": result.text}
    language = LANGUAGES[result.language].name.lower() if result.language in LANGUAGES else result.language
    body = {"task": result.task, "language": language, "duration": round(result.duration, 3), "text": result.text,
            "segments": [{"id": i, "seek": 0, "start": round(a, 3), "end": round(b, 3), "text": t, "tokens": [],
                          "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 0.0, "no_speech_prob": 0.0}
                         for i, (a, b, t) in enumerate(result.segments)]}
    if result.words is not None:
        body["words"] = [{"word": w, "start": round(a, 3), "end": round(b, 3)} for a, b, w in result.words]
    return body


# --- speech --------------------------------------------------------------------------------------

class SpeechJob:
    """One /v1/audio/speech request: checked first, then spoken sentence by sentence."""

    def __init__(self, text: str, language: str, voice: str | None, response_format: str, speed: float):
        self.text, self.language, self.voice = text, language, voice
        self.response_format, self.speed = response_format, speed

    @classmethod
    def from_request(cls, body: dict) -> "SpeechJob":
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ApiError("`input` must be non-empty text", param="input")
        if len(text) > MAX_INPUT_CHARS:
            raise ApiError(f"`input` is over {MAX_INPUT_CHARS} characters: send it in parts", param="input")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError("`model` is required (tts-1, or an installed voice's name)", param="model")
        response_format = body.get("response_format", "mp3")
        if response_format not in AUDIO_FORMATS:
            raise ApiError(f"response_format must be one of {', '.join(AUDIO_FORMATS)} (got {response_format!r}; "
                           "aac is not offered)", param="response_format")
        if body.get("stream_format", "audio") != "audio":
            raise ApiError("only stream_format 'audio' is offered", param="stream_format")
        speed = body.get("speed", 1.0)
        if not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
            raise ApiError(f"speed must be a number within 0.25..4 (got {speed!r})", param="speed")
        language = _language(body.get("language")) or guess_language(text)
        return cls(text, language, _voice(model, body.get("voice")), response_format, float(speed))

    def start(self):
        """The first sentence is spoken here, so that a bad voice or language is still an HTTP error."""
        from malsori.pipelines.speak import iter_speech, synthesizer_for

        engine, voice = synthesizer_for(self.language, self.voice)
        chunks = iter_speech(self.text.splitlines(), self.language, engine, voice, self.speed)
        first = next(chunks, None)
        if first is None:
            raise ApiError("nothing to speak in `input`", param="input")
        return first, chunks

    async def stream(self, started):
        first, rest = started
        rate = PCM_RATE if self.response_format == "pcm" else first.sample_rate
        if self.response_format == "wav":
            yield streaming_wav_header(rate)
        yield first.pcm16(rate)
        while True:
            chunk = await run_in_threadpool(next, rest, None)
            if chunk is None:
                return
            yield chunk.pcm16(rate)

    def encode_whole(self, started) -> bytes:
        import soundfile as sf

        first, rest = started
        fmt, subtype = {"flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS")}[
            self.response_format]
        rate = first.sample_rate
        if fmt == "OGG" and rate not in OPUS_RATES:
            rate = 48000
        samples = np.concatenate([c.with_pause(rate) for c in [first, *rest]])
        buf = io.BytesIO()
        sf.write(buf, samples, rate, format=fmt, subtype=subtype)
        return buf.getvalue()


def streaming_wav_header(rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (sizes at their maximum, as
    streaming servers write them; readers take the data to the end)."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


def _voice(model: str, voice) -> str | None:
    """The voice to speak with: an installed voice (by ``model`` or ``voice``), an engine's own
    voice name, or None (OpenAI's names) for the language's default."""
    from malsori.models.catalog import voices_dir

    for name in (voice, model):
        if isinstance(name, str) and name:
            try:
                check_voice_name(name)
            except MalsoriError as exc:
                raise ApiError(str(exc), param="voice") from None
    if model not in OPENAI_TTS_MODELS:
        if not (voices_dir() / model).is_dir():
            raise ApiError(f"The model `{model}` does not exist: use tts-1 or an installed voice "
                           "(malsori models import VOICE_DIR)", 404, "model", "model_not_found")
        return model
    if voice is None or voice in OPENAI_VOICES:
        return None
    if isinstance(voice, dict):  # {"id": ...}: OpenAI's custom voices
        voice = voice.get("id")
    if not isinstance(voice, str):
        raise ApiError("`voice` must be a voice name", param="voice")
    return voice


async def _json_body(request: Request) -> dict:
    import json

    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object")
    return body


# --- models ----------------------------------------------------------------------------------

def listed_models() -> list[str]:
    return [*OPENAI_ASR_MODELS, *OPENAI_TTS_MODELS, *installed_recognisers(), *installed_voices()]


def _model_entry(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "malsori"}
