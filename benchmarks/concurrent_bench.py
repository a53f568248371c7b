"""How many live streams one `malsori serve` sustains on this machine.

    python benchmarks/concurrent_bench.py [--streams 1,2,3] [--seconds 90] [--task asr]

Starts the server on 127.0.0.1, then for each N opens N WebSocket clients at once; each sends
dev speech (English, pauses between utterances) in 320 ms frames paced at real time, as a
microphone would. For every commit/translation event a client notes its lag: the wall time since
its first frame minus the source time the event refers to. A stream keeps up when that lag stays
bounded (its last-quarter median is close to its first-quarter median) instead of growing
with time. Also printed: AL (CA, by the server's clock) and the words received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

import numpy as np
from common import require_data
from long_bench import build_samples


async def client(url: str, pcm: bytes, task: str, frame_bytes: int) -> dict:
    import websockets

    lags, words = [], 0
    async with websockets.connect(url, max_size=None) as ws:
        tgt = "eng" if task == "asr" else "spa"
        await ws.send(json.dumps({"task": task, "src": "eng", "tgt": tgt, "sample_rate": 16000}))
        assert json.loads(await ws.recv())["type"] == "ready"
        start = time.perf_counter()
        kind = "commit" if task == "asr" else "translation"

        async def sender():
            for i, k in enumerate(range(0, len(pcm), frame_bytes)):
                delay = start + i * frame_bytes / 32000 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(pcm[k:k + frame_bytes])
            await ws.send(json.dumps({"type": "end"}))

        send = asyncio.create_task(sender())
        summary = None
        async for message in ws:
            if isinstance(message, bytes):
                continue
            event = json.loads(message)
            if event["type"] == kind:
                lags.append(time.perf_counter() - start - event["source_time"])
                words += len(event["text"].split())
            elif event["type"] == "done":
                summary = event["summary"]
                break
        await send
        tail = time.perf_counter() - start - len(pcm) / 32000
    quarter = max(1, len(lags) // 4)
    return {"lag_first": statistics.median(lags[:quarter]), "lag_last": statistics.median(lags[-quarter:]),
            "lag_max": max(lags), "close_s": tail, "words": words, "AL_CA": summary.get("AL_CA")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--task", default="asr")
    args = parser.parse_args()
    require_data()
    samples = build_samples(args.seconds / 60)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "malsori.cli", "serve", "--port", str(port)],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"ws://127.0.0.1:{port}/v1/stream"
        asyncio.run(client(url, pcm[:32000 * 3], args.task, 10240))  # loads the models
        print(f"{args.task}, {len(pcm) / 32000:.0f} s of speech per stream, frames of 320 ms at real time")
        for n in (int(x) for x in args.streams.split(",")):
            async def many():
                return await asyncio.gather(*(client(url, pcm, args.task, 10240) for _ in range(n)))

            results = asyncio.run(many())
            for i, r in enumerate(results):
                print(f"N={n} stream {i}: lag first quarter {r['lag_first']:.2f} s, last quarter "
                      f"{r['lag_last']:.2f} s, max {r['lag_max']:.2f} s, done {r['close_s']:.2f} s after the "
                      f"audio ended, AL_CA {r['AL_CA']}, words {r['words']}", flush=True)
            growth = max(r["lag_last"] - r["lag_first"] for r in results)
            print(f"N={n}: worst lag growth {growth:+.2f} s -> "
                  f"{'keeps up' if growth < 1.0 else 'falls behind'}", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
