"""What the server refuses so that one client cannot exhaust it: request bodies over a size limit,
WebSocket streams beyond a cap, and (before anything is printed) a port it cannot listen on."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from malsori.errors import MalsoriError

MB = 1 << 20


@dataclass(frozen=True)
class ServeLimits:
    """The server's resource limits; ``malsori serve`` options and ``create_app`` keywords."""

    max_upload_mb: float = 100.0  # a 28 s window of 48 kHz stereo wav is 10 MB; an hour of 16 kHz mono 115 MB
    max_streams: int = 4  # each live stream re-decodes its utterance: 2 cores sustain 3-4 (docs/benchmarks.md)
    idle_timeout_s: float = 30.0  # a browser microphone sends a frame every few hundred ms, silence included

    def __post_init__(self):
        if not self.max_upload_mb > 0:
            raise MalsoriError(f"the upload limit must be positive (got {self.max_upload_mb} MB)")
        if self.max_streams < 1:
            raise MalsoriError(f"the stream limit must be at least 1 (got {self.max_streams})")
        if not self.idle_timeout_s > 0:
            raise MalsoriError(f"the idle timeout must be positive (got {self.idle_timeout_s} s)")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)


class UploadTooLarge(HTTPException):
    """Raised from inside the body stream, so FastAPI's form parsing passes it on as it is (other
    exceptions there become a generic 400) and the parser deletes what it had spooled."""


def upload_too_large_message(limit: int) -> str:
    return f"the upload is over the {limit / MB:.3g} MB limit (malsori serve --max-upload-mb)"


async def upload_too_large_response(request, exc: UploadTooLarge) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=413, headers={"Connection": "close"})


class UploadLimit:
    """ASGI middleware: a declared Content-Length over the limit is refused before any of the body
    is read; otherwise bytes are counted as they arrive (chunked bodies declare nothing), so at
    most ``limit`` bytes are ever taken in."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _declared_length(scope) > self.limit:
            refusal = JSONResponse({"error": upload_too_large_message(self.limit)}, status_code=413,
                                   headers={"Connection": "close"})
            return await refusal(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise UploadTooLarge(413, upload_too_large_message(self.limit))
            return message

        await self.app(scope, counted, send)


def _declared_length(scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:  # the HTTP layer rejects it; nothing to add here
                return 0
    return 0


class StreamSlots:
    """Counts live WebSocket streams. The event loop is single-threaded: a plain counter is safe."""

    def __init__(self, limit: int):
        self.limit, self.active = limit, 0

    def take(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1


def ensure_can_listen(host: str, port: int) -> None:
    """Bind (and release) every address uvicorn will bind, with the options asyncio uses, so a busy
    port is one error line before "serving on" is printed rather than uvicorn's exit code 3, which
    malsori uses for unusable audio."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise MalsoriError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                raise MalsoriError(f"cannot listen on {host}:{port}: {reason}") from None
