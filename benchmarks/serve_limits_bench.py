"""What `malsori serve`'s limits cost and protect (issue 15, finding 5).

    python benchmarks/serve_limits_bench.py [--upload-mb 500] [--seconds 30] [--idle 40] [--engines fake|real]

Runs the server in a subprocess on 127.0.0.1 and measures it from outside; it stops by itself.
(a) always runs `malsori serve` itself. For (b) and (c), ``--engines real`` runs `malsori serve`
with its default models (Whisper tiny.en for English asr); ``fake`` (the default) runs the same
app with the real streaming VAD and a recogniser that costs nothing (one word per 0.3 s of
speech), so the figures are the server's own overhead, not a busy CPU's: on a shared 2-core
machine, 4 real streams fall behind and the server drops them on a keepalive timeout whatever
the idle connections do.

(a) Uploads of --upload-mb to POST /v1/translate, generated on the fly (the client never holds
    them): once with Content-Length, once chunked (no length, so the server must count). Printed:
    status, bytes the client got to send, seconds to the refusal, and the server's RSS growth
    (VmHWM after minus VmRSS before, from /proc; target < 50 MB).
(b) 4 live asr streams of dev speech at real time, first alone, then while --idle connections
    (half configured, half never) are held until the idle timeout closes them. Printed per run:
    commit lag (when the client got it minus when the audio it answers was complete), the
    server's AL and AL_CA, and when and with which code the idle connections were closed.
(c) The stream cap: --max-streams + 6 connections at once; the extra get 1013.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import socket
import statistics
import subprocess
import sys
import time

import numpy as np

MB = 1 << 20
FRAME_BYTES = 10240  # 320 ms of 16 kHz 16-bit PCM


class MetronomeRecognizer:
    """A recogniser that costs nothing: one word per 0.3 s of audio, the same words each time, so
    successive hypotheses agree and commits flow as with a real model."""

    name = "metronome-asr"

    def languages(self):
        return {"eng"}

    def translation_targets(self):
        return set()

    def transcribe(self, audio, language=None, translate_to=None):
        from malsori.protocols import Segment, Transcript

        words = " ".join(f"w{i}" for i in range(int(audio.duration / 0.3)))
        return Transcript(language or "eng", [Segment(0.0, audio.duration, words)], task="transcribe")

    def detect_language(self, audio):
        return "eng", 1.0


def serve_fake(port: int, max_streams: int, idle_timeout: float) -> None:
    """The server process of ``--engines fake``."""
    import uvicorn

    from malsori import Translator
    from malsori.serve.app import create_app

    app = create_app(Translator([MetronomeRecognizer()]), max_streams=max_streams, idle_timeout_s=idle_timeout)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, *options: str, engines: str = "real") -> subprocess.Popen:
    command = ([sys.executable, "-m", "malsori.cli", "serve", "--port", str(port)] if engines == "real"
               else [sys.executable, __file__, "--serve-fake", str(port)])
    server = subprocess.Popen(command + list(options), stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def proc_status_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


# --- (a) uploads -------------------------------------------------------------------------------

def upload(port: int, size: int, chunked: bool) -> dict:
    """POST a multipart body of ``size`` zero bytes made 1 MB at a time; stop sending as soon as
    the server answers (it refuses before reading everything, then closes)."""
    boundary = b"malsoribench"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="tgt"\r\n\r\neng\r\n--' + boundary
            + b'\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
              b"Content-Type: audio/wav\r\n\r\n")
    tail = b"\r\n--" + boundary + b"--\r\n"
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % (len(head) + size + len(tail))
    request = (b"POST /v1/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary="
               + boundary + b"\r\n" + framing + b"\r\n\r\n")

    def pieces():
        yield head
        block = b"\0" * MB
        for k in range(0, size, MB):
            yield block[: min(MB, size - k)]
        yield tail

    sent, answer, t0 = 0, b"", time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        try:
            for piece in pieces():
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered: the rest would be wasted
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, socket.timeout):
            pass
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "no answer"
    body = answer.partition(b"\r\n\r\n")[2].decode(errors="replace")
    return {"status": status, "sent_mb": sent / MB, "seconds": time.perf_counter() - t0, "body": body}


def bench_uploads(size_mb: int) -> None:
    port = free_port()
    server = start_server(port)
    try:
        time.sleep(1.0)
        for chunked in (False, True):
            before = proc_status_mb(server.pid, "VmRSS")
            result = upload(port, size_mb * MB, chunked)
            peak = proc_status_mb(server.pid, "VmHWM")
            after = proc_status_mb(server.pid, "VmRSS")
            kind = "chunked, no length" if chunked else "with Content-Length"
            print(f"(a) {size_mb} MB upload {kind}: HTTP {result['status']} after {result['seconds']:.2f} s, "
                  f"client sent {result['sent_mb']:.1f} MB; server RSS {before:.0f} -> {after:.0f} MB, "
                  f"peak {peak:.0f} MB (growth {peak - before:+.0f} MB); body {result['body'][:90]}", flush=True)
    finally:
        server.terminate()
        server.wait()


# --- (b) live streams beside idle ones, (c) the cap ---------------------------------------------

async def live_stream(url: str, pcm: bytes) -> dict:
    import websockets

    lags, summary = [], {}
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"task": "asr", "src": "eng", "tgt": "eng", "sample_rate": 16000}))
        assert json.loads(await ws.recv())["type"] == "ready"
        # As a microphone: frame i is complete, and sent, (i + 1) frames after the origin.
        origin = time.perf_counter() - FRAME_BYTES / 32000

        async def sender():
            for i, k in enumerate(range(0, len(pcm), FRAME_BYTES)):
                await asyncio.sleep(max(0.0, origin + (i + 1) * FRAME_BYTES / 32000 - time.perf_counter()))
                await ws.send(pcm[k:k + FRAME_BYTES])
            await ws.send(json.dumps({"type": "end"}))

        send = asyncio.create_task(sender())
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    continue
                event = json.loads(message)
                if event["type"] == "commit":
                    lags.append(time.perf_counter() - origin - event["source_time"])
                elif event["type"] == "done":
                    summary = event["summary"]
                    break
            await send
        except websockets.ConnectionClosed as exc:  # e.g. a server too far behind to answer pings
            send.cancel()
            summary = {"dropped": f"{exc.rcvd.code if exc.rcvd else None} {exc.rcvd.reason if exc.rcvd else ''}"}
    return {"lag_median": statistics.median(lags) if lags else float("nan"), "lag_max": max(lags, default=float("nan")),
            "AL": summary.get("AL"), "AL_CA": summary.get("AL_CA"), "dropped": summary.get("dropped")}


async def idle_connection(url: str, configure: bool) -> dict:
    """Connect (and maybe configure), then send nothing; note how and when the server ends it."""
    import websockets

    t0 = time.perf_counter()
    async with websockets.connect(url, max_size=None) as ws:
        if configure:
            await ws.send(json.dumps({"task": "asr", "src": "eng", "tgt": "eng", "sample_rate": 16000}))
        last = None
        try:
            async for message in ws:
                last = json.loads(message) if isinstance(message, str) else last
        except websockets.ConnectionClosed:
            pass
        return {"code": ws.close_code, "seconds": time.perf_counter() - t0,
                "message": (last or {}).get("message", "")}


def report_live(label: str, results: list[dict]) -> None:
    for i, r in enumerate(results):
        dropped = f", DROPPED by the server ({r['dropped']})" if r["dropped"] else ""
        print(f"(b) {label} stream {i}: commit lag median {r['lag_median']:.2f} s, max {r['lag_max']:.2f} s, "
              f"AL {r['AL']}, AL_CA {r['AL_CA']}{dropped}", flush=True)


async def bench_streams(url: str, pcm: bytes, idle: int, idle_timeout: float, max_streams: int) -> None:
    await live_stream(url, pcm[:32000 * 3])  # loads the models
    report_live("4 live alone:", await asyncio.gather(*(live_stream(url, pcm) for _ in range(4))))
    idlers = [asyncio.create_task(idle_connection(url, configure=i % 2 == 0)) for i in range(idle)]
    await asyncio.sleep(2.0)  # all of them connected (and configured) before the live streams start
    live = await asyncio.gather(*(live_stream(url, pcm) for _ in range(4)))
    report_live(f"4 live beside {idle} idle:", live)
    closed = await asyncio.gather(*idlers)
    codes = {c: sum(1 for r in closed if r["code"] == c) for c in sorted({r["code"] for r in closed}, key=str)}
    seconds = [r["seconds"] for r in closed]
    print(f"(b) {idle} idle connections (idle timeout {idle_timeout:g} s): close codes {codes}, closed after "
          f"{min(seconds):.1f}-{max(seconds):.1f} s; e.g. {closed[0]['message']!r} / {closed[1]['message']!r}",
          flush=True)
    # (c) more connections than slots at once: the extra are told to come back later.
    crowd = [asyncio.create_task(idle_connection(url, False)) for _ in range(max_streams + 6)]
    results = await asyncio.gather(*crowd)
    refused = [r for r in results if r["code"] == 1013]
    print(f"(c) {len(crowd)} connections at once with --max-streams {max_streams}: {len(refused)} refused with 1013 "
          f"in {max(r['seconds'] for r in refused):.2f} s ({refused[0]['message']!r}), "
          f"{len(results) - len(refused)} held until the idle timeout", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-mb", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0, help="speech per live stream")
    parser.add_argument("--idle", type=int, default=40)
    parser.add_argument("--idle-timeout", type=float, default=10.0)
    parser.add_argument("--engines", choices=("fake", "real"), default="fake")
    parser.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)  # the server process itself
    parser.add_argument("--max-streams", type=int, default=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        return serve_fake(args.serve_fake, args.max_streams, args.idle_timeout)
    bench_uploads(args.upload_mb)

    from common import require_data
    from long_bench import build_samples

    require_data()
    samples = build_samples(args.seconds / 60)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    max_streams = args.idle + 4
    port = free_port()
    server = start_server(port, "--max-streams", str(max_streams), "--idle-timeout", str(args.idle_timeout),
                          engines=args.engines)
    try:
        print(f"(b) asr with {args.engines} engines, {len(pcm) / 32000:.0f} s of speech per live stream, 320 ms frames "
              f"at real time; server --max-streams {max_streams} --idle-timeout {args.idle_timeout:g}", flush=True)
        asyncio.run(bench_streams(f"ws://127.0.0.1:{port}/v1/stream", pcm, args.idle, args.idle_timeout, max_streams))
        print(f"server RSS at the end {proc_status_mb(server.pid, 'VmRSS'):.0f} MB, peak "
              f"{proc_status_mb(server.pid, 'VmHWM'):.0f} MB", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
