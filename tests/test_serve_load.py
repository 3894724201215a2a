"""A bounded load against a real `framing serve` on 127.0.0.1 (tiny model): 300 seed-sized
requests from 16 concurrent clients. Correctness only: no errors, sentences shared model calls,
and the server's memory stops growing. Speed is measured by `framing bench --serve`, not here."""

import httpx
import pytest
from conftest import SEED

from framing.eval.serveload import load, rss_mb, running_server


@pytest.mark.slow
def test_load_has_no_errors_and_memory_plateaus(trained_tiny):
    seed = SEED.read_text(encoding="utf-8")
    with running_server(trained_tiny) as (url, server):
        load(url, [{"text": seed}] * 16, 16)  # warm-up
        rss = [rss_mb(server)]
        for _ in range(3):
            run = load(url, [{"text": seed}] * 100, 16)
            assert run["errors"] == 0, run["error_samples"]
            rss.append(rss_mb(server))
        health = httpx.get(f"{url}/healthz").json()
    per_request = health["sentences"] / (16 + 300)
    assert health["sentences"] / health["batches"] > per_request  # concurrent requests shared model calls
    assert rss[-1] - rss[-2] < 30, f"server RSS still growing: {rss} MB"
