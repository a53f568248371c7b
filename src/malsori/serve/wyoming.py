"""A Wyoming server (Home Assistant's protocol for speech services, PyPI ``wyoming``):
``malsori wyoming --uri tcp://127.0.0.1:10300``.

- ``describe`` -> ``info``: one ASR program (the installed recognisers, with their languages) and
  one TTS program (the default voices of each engine and the installed voices).
- ASR: ``transcribe`` (optional ``name``: a model, ``language``), then ``audio-start``,
  ``audio-chunk``... ``audio-stop`` -> ``transcript``. Audio of any rate, width and channel count
  is converted to 16 kHz 16-bit mono as it arrives.
- TTS: ``synthesize`` (``voice``: ``name``, ``language``) -> ``audio-start``, one ``audio-chunk``
  per sentence as it is spoken, ``audio-stop``. The streaming form (``synthesize-start``,
  ``synthesize-chunk``..., ``synthesize-stop``) is accepted too and answered the same way, then
  ``synthesize-stopped``.
- A request that cannot be served gets an ``error`` event with one line; the connection stays open.
"""

from __future__ import annotations

import asyncio
from functools import partial

import numpy as np

from malsori.errors import MalsoriError
from malsori.serve.engines import (Recognizers, check_voice_name, guess_language, installed_recognisers,
                                   installed_voices)

ASR_RATE = 16000
MAX_AUDIO_S = 600.0  # a voice command is seconds long; a client that never stops is cut off here
ATTRIBUTION = ("malsori", "https://github.com/malsori/malsori")


def _wyoming():
    try:
        import wyoming  # noqa: F401
    except ImportError:
        raise MalsoriError("the Wyoming server needs its package: pip install 'malsori[serve]'") from None


def _iso1(codes) -> list[str]:
    from malsori.languages import LANGUAGES

    return sorted({LANGUAGES[c].iso1 or c for c in codes if c in LANGUAGES})


def describe():
    """The ``info`` event: what this server recognises and speaks."""
    from wyoming.info import AsrModel, AsrProgram, Attribution, Info, TtsProgram, TtsVoice

    from malsori.languages import LANGUAGES
    from malsori.models.catalog import CATALOG
    from malsori.pipelines.engines import default_synthesizers

    by = Attribution(*ATTRIBUTION)
    models = [AsrModel(name=m, attribution=by, installed=True, description=CATALOG[m].description, version=None,
                       languages=_iso1(CATALOG[m].languages or LANGUAGES)) for m in installed_recognisers()]
    voices = [TtsVoice(name=e.name, attribution=by, installed=True, description=f"{e.name} (default voice)",
                       version=None, languages=_iso1(e.voice_languages())) for e in default_synthesizers()]
    voices += [TtsVoice(name=v, attribution=by, installed=True, description=f"installed voice {v}", version=None,
                        languages=_iso1(_voice_languages(v))) for v in installed_voices()]
    asr = AsrProgram(name="malsori-asr", attribution=by, installed=True, description="malsori speech recognition",
                     version=None, models=models)
    tts = TtsProgram(name="malsori-tts", attribution=by, installed=True, description="malsori speech synthesis",
                     version=None, voices=voices, supports_synthesize_streaming=True)
    return Info(asr=[asr], tts=[tts])


def _voice_languages(name: str) -> set[str]:
    from malsori.engines.tts.local import local_voice
    from malsori.models.catalog import voices_dir

    try:
        return local_voice(voices_dir() / name).voice_languages()
    except MalsoriError:
        return set()


def make_handler_class():
    """The event handler (a class built here so that importing this module needs no ``wyoming``)."""
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
    from wyoming.error import Error
    from wyoming.info import Describe
    from wyoming.server import AsyncEventHandler
    from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

    class Handler(AsyncEventHandler):
        def __init__(self, reader, writer, recognizers: Recognizers, info):
            super().__init__(reader, writer)
            self.recognizers, self.info = recognizers, info
            self.request = None  # the pending Transcribe
            self.converter = AudioChunkConverter(rate=ASR_RATE, width=2, channels=1)
            self.pcm: list[bytes] | None = None
            self.pcm_bytes = 0
            self.streamed_text: list[str] | None = None
            self.streamed_voice = None

        async def handle_event(self, event) -> bool:
            try:
                await self._handle(event)
            except MalsoriError as exc:
                self.pcm = None
                await self.write_event(Error(text=str(exc), code=type(exc).__name__).event())
            return True

        async def _handle(self, event) -> None:
            if Describe.is_type(event.type):
                await self.write_event(self.info.event())
            elif Transcribe.is_type(event.type):
                self.request = Transcribe.from_event(event)
            elif AudioStart.is_type(event.type):
                self.pcm, self.pcm_bytes = [], 0
            elif AudioChunk.is_type(event.type):
                if self.pcm is None:
                    raise MalsoriError("audio-chunk before audio-start")
                self.pcm.append(self.converter.convert(AudioChunk.from_event(event)).audio)
                self.pcm_bytes += len(self.pcm[-1])
                if self.pcm_bytes > MAX_AUDIO_S * ASR_RATE * 2:
                    raise MalsoriError(f"over {MAX_AUDIO_S:g} s of audio in one request: dropped")
            elif AudioStop.is_type(event.type):
                await self._transcribe()
            elif Synthesize.is_type(event.type):
                if self.streamed_text is None:  # inside synthesize-start..stop it only repeats the chunks
                    request = Synthesize.from_event(event)
                    await self._speak(request.text, request.voice)
            elif SynthesizeStart.is_type(event.type):
                self.streamed_text, self.streamed_voice = [], SynthesizeStart.from_event(event).voice
            elif SynthesizeChunk.is_type(event.type):
                if self.streamed_text is None:
                    raise MalsoriError("synthesize-chunk before synthesize-start")
                self.streamed_text.append(SynthesizeChunk.from_event(event).text)
            elif SynthesizeStop.is_type(event.type):
                text, self.streamed_text = "".join(self.streamed_text or []), None
                await self._speak(text, self.streamed_voice)
                await self.write_event(SynthesizeStopped().event())

        async def _transcribe(self) -> None:
            from malsori.audio import Audio

            if self.pcm is None:
                raise MalsoriError("audio-stop before audio-start")
            pcm, self.pcm = b"".join(self.pcm), None
            request, self.request = self.request or Transcribe(), None
            if not pcm:
                raise MalsoriError("no audio between audio-start and audio-stop")
            language = _language(request.language)
            engine = self.recognizers.get(request.name)
            audio = Audio(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768, ASR_RATE)
            transcript = await asyncio.get_running_loop().run_in_executor(
                None, partial(engine.transcribe, audio, language))
            spoken = _iso1([transcript.language])
            await self.write_event(Transcript(text=transcript.text, language=spoken[0] if spoken else None).event())

        async def _speak(self, text: str, voice) -> None:
            from malsori.pipelines.speak import iter_speech, synthesizer_for

            if not text.strip():
                raise MalsoriError("nothing to speak: the text is empty")
            language = _language(voice.language if voice else None) or guess_language(text)
            name = check_voice_name(voice.name if voice and voice.name else None)
            loop = asyncio.get_running_loop()
            engine, engine_voice = await loop.run_in_executor(None, partial(synthesizer_for, language, _voice(name)))
            chunks = iter_speech(text.splitlines(), language, engine, engine_voice)
            first = await loop.run_in_executor(None, next, chunks, None)
            if first is None:
                raise MalsoriError("nothing to speak in the text")
            rate = first.sample_rate
            await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
            chunk = first
            while chunk is not None:
                await self.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=chunk.pcm16()).event())
                chunk = await loop.run_in_executor(None, next, chunks, None)
            await self.write_event(AudioStop().event())

    return Handler


def _language(code: str | None) -> str | None:
    from malsori.languages import normalize_language

    return normalize_language(code) if code else None


def _voice(name: str | None) -> str | None:
    """An engine's default name means its default voice; anything else is passed on (an
    installed voice, or a voice of the language's engine)."""
    from malsori.pipelines.engines import default_synthesizers

    if name is None or name in {e.name for e in default_synthesizers()}:
        return None
    return name


async def serve(uri: str, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled. ``ready`` is set once the server listens."""
    _wyoming()
    from wyoming.server import AsyncServer

    info = describe()
    recognizers = Recognizers()
    handler = make_handler_class()
    server = AsyncServer.from_uri(uri)
    await server.start(partial(handler, recognizers=recognizers, info=info))
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
