"""The fixed pool of loaded models and the bounded queue in front of it.

`workers` threads each own a WorkerModels (every model loaded once, at start-up: the first
request is as fast as the hundredth, and memory is known before traffic arrives). A request is
admitted *before* its body is read, and holds its place while it uploads, waits and runs: at
most `workers + queue` requests are in the service at once, so bodies in memory are bounded too.
The next one gets 429 with a Retry-After computed from recent latency: a burst costs clients a
retry, never the device its memory. A request whose client has gone (or that timed out) while
still waiting is dropped from the queue, so workers never run photos nobody will receive.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from edgematte.serve.cutout import WorkerModels
from edgematte.serve.replies import ApiError

T = TypeVar("T")


class Place:
    """One request's place in the service (ModelPool.place); a running job keeps it past the answer."""

    def __init__(self) -> None:
        self.kept_by: asyncio.Event | None = None  # set when a job still running holds the place


class ModelPool:
    """Run jobs on a fixed set of workers, each with its own loaded models; admit a bounded queue.

    Parameters
    ----------
    load
        Called once per worker at start-up: returns that worker's WorkerModels.
    workers
        Jobs run at once.
    queue_size
        Requests that may be in the service beyond those running; one more is refused with 429.
    timeout
        Seconds a job may wait and run (503 after). A job still waiting is dropped; one already
        running finishes on its worker, whose place stays counted until it does.
    """

    def __init__(self, load: Callable[[], WorkerModels], workers: int, queue_size: int, timeout: float):
        self.workers = workers
        self.queue_size = queue_size
        self.timeout = timeout
        self._free: queue.Queue[WorkerModels] = queue.Queue()
        for _ in range(workers):
            self._free.put(load())
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="edgematte-worker")
        self._admitted = 0  # requests in the service; touched only on the event loop's thread
        self._running = 0  # jobs on a worker; touched only on the event loop's thread
        self._lock = threading.Lock()
        self._recent = 1.0  # seconds per job, an exponential mean: for Retry-After
        self._later: set[asyncio.Future] = set()  # places released when their job ends

    @property
    def depth(self) -> int:
        """Requests admitted and not finished (uploading, waiting or running)."""
        return self._admitted

    @property
    def waiting(self) -> int:
        """Requests admitted that are not on a worker."""
        return max(0, self._admitted - self._running)

    def retry_after(self) -> int:
        """Seconds until a worker is likely free for one more request (at least 1)."""
        return max(1, math.ceil(self._recent * (self.waiting + 1) / self.workers))

    @asynccontextmanager
    async def place(self) -> AsyncIterator[Place]:
        """A place in the service for one request (429 at once when there is none).

        Hold it from before the body is read until the answer is made; pass it to `submit`.
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
        p = Place()
        try:
            yield p
        finally:
            if p.kept_by is None:
                self._admitted -= 1
            else:  # the answer went out (503) while the job runs on: free the place when it ends
                kept = p.kept_by

                async def release_later() -> None:
                    await kept.wait()
                    self._admitted -= 1

                self._later.add(task := asyncio.ensure_future(release_later()))
                task.add_done_callback(self._later.discard)

    def _run(self, job: Callable[[WorkerModels], T]) -> T:
        models = self._free.get()
        t0 = time.perf_counter()
        try:
            return job(models)
        finally:
            self._free.put(models)
            with self._lock:
                self._recent = 0.8 * self._recent + 0.2 * (time.perf_counter() - t0)

    async def submit(self, place: Place, job: Callable[[WorkerModels], T]) -> T:
        """Run `job(models)` on a worker, within the timeout.

        Parameters
        ----------
        place
            The request's place (from `place()`).
        job
            The work; it gets the worker's WorkerModels.
        """
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        finished = asyncio.Event()

        def run() -> T:
            loop.call_soon_threadsafe(started.set)
            return self._run(job)

        work = self._executor.submit(run)
        work.add_done_callback(lambda _: loop.call_soon_threadsafe(finished.set))

        async def count_running() -> None:
            await started.wait()
            self._running += 1
            await finished.wait()
            self._running -= 1

        counter = asyncio.ensure_future(count_running())
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(work)), self.timeout)
        except TimeoutError as exc:
            raise ApiError(
                503,
                f"the request took longer than {self.timeout:g} s; retry later or send a smaller image",
                "timeout",
                {"Retry-After": str(self.retry_after())},
            ) from exc
        finally:
            if work.cancel():  # still queued (timed out, or the client went away): never run it
                counter.cancel()
            elif not work.done():  # running: its place stays taken until the worker is done
                place.kept_by = finished

    def close(self) -> None:
        """Finish running jobs and stop the workers."""
        self._executor.shutdown(wait=True)
