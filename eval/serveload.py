"""Drive a real `framing serve`: start one on a free 127.0.0.1 port, send it a bounded load.

Used by `framing bench --serve` (the figures in the README) and by the load and browser tests
(which assert correctness only: no errors, memory that stops growing, never speed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(model, *options: str, start_timeout: float = 180):
    """Yield (url, psutil.Process) of `framing serve --model MODEL` in a child process."""
    import httpx

    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "framing.cli", "serve", "--model", str(model), "--port", str(port), *options],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"framing serve did not start:\n{log.read().decode(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def load(url: str, payloads: list[dict], clients: int, api_key: str | None = None) -> dict:
    """POST every payload to /v1/score from ``clients`` concurrent connections; latency, throughput, errors."""
    return asyncio.run(_load(url, payloads, clients, api_key))


async def _load(url, payloads, clients, api_key) -> dict:
    import httpx

    latencies, errors, sentences = [], [], 0
    todo = iter(payloads)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=url, timeout=300, headers=headers,
                                 limits=httpx.Limits(max_connections=clients)) as http:
        async def client():
            nonlocal sentences
            for payload in todo:  # one shared iterator: each payload is sent once
                started = time.perf_counter()
                try:
                    r = await http.post("/v1/score", json=payload)
                except httpx.HTTPError as err:
                    errors.append(repr(err))
                    continue
                latencies.append(time.perf_counter() - started)
                if r.status_code == 200:
                    sentences += sum(len(d["sentences"]) for d in r.json()["documents"])
                else:
                    errors.append(f"{r.status_code} {r.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"clients": clients, "requests": len(payloads), "errors": len(errors), "error_samples": errors[:3],
            "p50_s": round(statistics.median(ordered), 3) if ordered else None,
            "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3) if ordered else None,
            "requests_per_s": round(len(payloads) / wall, 2), "sentences_per_s": round(sentences / wall, 1),
            "wall_s": round(wall, 2)}


def rss_mb(process: psutil.Process) -> float:
    return round(process.memory_info().rss / 2**20, 1)
