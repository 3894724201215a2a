"""Micro-batching for the server: sentences from concurrent requests share model calls.

Requests put their sentences on one bounded queue and await a future. One worker takes up to
``max_batch`` sentences, waiting at most ``max_wait_s`` for more once the first arrived, scores
them in a single model call in a thread (the event loop keeps accepting requests meanwhile),
and hands each request its rows. While a call runs, new requests pile up and make the next
batch bigger: that is where the throughput under load comes from. A full queue refuses the
request at once (E503) instead of letting latency grow without bound."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from framing.errors import Errors, FramingError


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future
    taken: int = 0  # sentences handed to the worker so far
    parts: list[np.ndarray] = field(default_factory=list)


class MicroBatcher:
    def __init__(self, predict: Callable[[list[str]], np.ndarray], max_batch: int = 64, max_wait_s: float = 0.01,
                 max_queue: int = 4096):
        self.predict, self.max_batch, self.max_wait_s, self.max_queue = predict, max_batch, max_wait_s, max_queue
        self.queued = 0  # sentences waiting, not yet handed to the model
        self.batches = self.sentences = 0  # model calls made and sentences scored: /healthz shows the batch size
        self._jobs: deque[_Job] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._seconds_per_sentence = 0.01  # running estimate, for Retry-After

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass

    def retry_after(self) -> int:
        return max(1, math.ceil(self.queued * self._seconds_per_sentence))

    async def score(self, texts: list[str]) -> np.ndarray:
        """Probabilities for ``texts`` (rows in order); raises E503 when the queue is full."""
        if self.queued + len(texts) > self.max_queue:
            raise FramingError(Errors.E503, queued=self.queued, limit=self.max_queue, retry_after=self.retry_after())
        job = _Job(texts, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self.queued += len(texts)
        self._wakeup.set()
        try:
            return await job.future
        finally:
            if not job.future.done():  # cancelled (timeout, client gone): drop what is still queued
                job.future.cancel()

    def _take(self) -> tuple[list[str], list[tuple[_Job, int]]]:
        batch, owners = [], []
        while self._jobs and len(batch) < self.max_batch:
            job = self._jobs[0]
            if job.future.done():  # its request gave up: skip the rest of its sentences
                self._jobs.popleft()
                self.queued -= len(job.texts) - job.taken
                continue
            n = min(self.max_batch - len(batch), len(job.texts) - job.taken)
            batch += job.texts[job.taken:job.taken + n]
            owners.append((job, n))
            job.taken += n
            self.queued -= n
            if job.taken == len(job.texts):
                self._jobs.popleft()
        return batch, owners

    async def _gather(self) -> None:
        """Wait until a full batch is queued or ``max_wait_s`` has passed."""
        deadline = time.monotonic() + self.max_wait_s
        while self.queued < self.max_batch and (left := deadline - time.monotonic()) > 0:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except asyncio.TimeoutError:
                break

    async def _run(self) -> None:
        while True:
            if not self._jobs:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather()
            batch, owners = self._take()
            if not batch:
                continue
            started = time.monotonic()
            try:
                probs = await asyncio.to_thread(self.predict, batch)
            except Exception as err:  # noqa: BLE001  every waiting request gets the error, the worker lives on
                for job, _ in owners:
                    if not job.future.done():
                        job.future.set_exception(err)
                continue
            self.batches += 1
            self.sentences += len(batch)
            self._seconds_per_sentence = 0.8 * self._seconds_per_sentence + 0.2 * (time.monotonic() - started) / len(batch)
            row = 0
            for job, n in owners:
                job.parts.append(probs[row:row + n])
                row += n
                if not job.future.done() and job.taken == len(job.texts) and sum(len(p) for p in job.parts) == len(job.texts):
                    job.future.set_result(np.concatenate(job.parts))
