"""The fixed pool of loaded models and the bounded queue in front of it.

`workers` threads each own a WorkerModels (every model loaded once, at start-up: the first
request is as fast as the hundredth, and memory is known before traffic arrives). At most
`workers + queue` requests are admitted; the next gets 429 with a Retry-After computed from
recent latency, so a burst costs clients a retry, never the device its memory.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from edgematte.serve.cutout import WorkerModels
from edgematte.serve.replies import ApiError

T = TypeVar("T")


class ModelPool:
    """Run jobs on a fixed set of workers, each with its own loaded models; admit a bounded queue.

    Parameters
    ----------
    load
        Called once per worker at start-up: returns that worker's WorkerModels.
    workers
        Jobs run at once.
    queue_size
        Jobs that may wait beyond those running; one more is refused with 429.
    timeout
        Seconds a request may take, queue wait included (503 after; the job still finishes on
        its worker, whose slot stays counted until it does, so the bound holds).
    """

    def __init__(self, load: Callable[[], WorkerModels], workers: int, queue_size: int, timeout: float):
        self.workers = workers
        self.queue_size = queue_size
        self.timeout = timeout
        self._free: queue.Queue[WorkerModels] = queue.Queue()
        for _ in range(workers):
            self._free.put(load())
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="edgematte-worker")
        self._admitted = 0  # running + waiting; touched only on the event loop's thread
        self._lock = threading.Lock()
        self._recent = 1.0  # seconds per job, an exponential mean: for Retry-After

    @property
    def depth(self) -> int:
        """Requests admitted and not finished (running + waiting)."""
        return self._admitted

    @property
    def waiting(self) -> int:
        """Requests waiting for a worker."""
        return max(0, self._admitted - self.workers)

    def _run(self, job: Callable[[WorkerModels], T]) -> T:
        import time

        models = self._free.get()
        t0 = time.perf_counter()
        try:
            return job(models)
        finally:
            self._free.put(models)
            with self._lock:
                self._recent = 0.8 * self._recent + 0.2 * (time.perf_counter() - t0)

    def retry_after(self) -> int:
        """Seconds until a worker is likely free for one more request (at least 1)."""
        return max(1, math.ceil(self._recent * (self.waiting + 1) / self.workers))

    async def submit(self, job: Callable[[WorkerModels], T]) -> T:
        """Run `job(models)` on a worker, or refuse at once with 429 when the queue is full.

        Parameters
        ----------
        job
            The work; it gets the worker's WorkerModels.
        """
        if self._admitted >= self.workers + self.queue_size:
            wait = self.retry_after()
            raise ApiError(
                429,
                f"the service is busy ({self._admitted} requests in progress); retry in {wait} s",
                "rate_limit_exceeded",
                {"Retry-After": str(wait)},
            )
        self._admitted += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, job)

        def release(_: Any) -> None:
            self._admitted -= 1

        future.add_done_callback(release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError as exc:
            raise ApiError(
                503,
                f"the request took longer than {self.timeout:g} s; retry later or send a smaller image",
                "timeout",
                {"Retry-After": str(self.retry_after())},
            ) from exc

    def close(self) -> None:
        """Finish running jobs and stop the workers."""
        self._executor.shutdown(wait=True)
