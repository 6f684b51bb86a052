"""Prometheus text for `GET /metrics`: requests by route and status, latency, queue depth, memory."""

from __future__ import annotations

import os
from collections import Counter

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # seconds: a preview frame to a 50 MP photo


def resident_bytes(pid: int | None = None) -> int:
    """A process's resident memory (VmRSS), bytes; 0 where /proc is not available.

    Parameters
    ----------
    pid
        The process. Default None: this one (bench.serve passes a server's, ours or rembg's).
    """
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Metrics:
    """Counters and a latency histogram, updated on the event loop's thread (no locks needed)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.bucket_counts = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request.

        Parameters
        ----------
        route
            The route's path template ('/v1.0/removebg'); unknown paths count as 'other'.
        status
            The HTTP status sent.
        seconds
            Time from arrival to the response.
        """
        self.requests[(route, status)] += 1
        self.count += 1
        self.total += seconds
        for i, b in enumerate(BUCKETS):
            if seconds <= b:
                self.bucket_counts[i] += 1

    def text(self, queue_depth: int, waiting: int, workers: int) -> str:
        """The exposition text (Prometheus format 0.0.4).

        Parameters
        ----------
        queue_depth
            Requests admitted and not finished.
        waiting
            Of those, waiting for a worker.
        workers
            Size of the model pool.
        """
        lines = [
            "# HELP edgematte_requests_total Requests answered, by route and HTTP status.",
            "# TYPE edgematte_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'edgematte_requests_total{{route="{route}",status="{status}"}} {n}')
        lines += [
            "# HELP edgematte_request_seconds Time from arrival to response.",
            "# TYPE edgematte_request_seconds histogram",
        ]
        for b, n in zip(BUCKETS, self.bucket_counts, strict=True):
            lines.append(f'edgematte_request_seconds_bucket{{le="{b:g}"}} {n}')
        lines += [
            f'edgematte_request_seconds_bucket{{le="+Inf"}} {self.count}',
            f"edgematte_request_seconds_sum {self.total:.6f}",
            f"edgematte_request_seconds_count {self.count}",
            "# HELP edgematte_queue_depth Requests admitted and not finished (running + waiting).",
            "# TYPE edgematte_queue_depth gauge",
            f"edgematte_queue_depth {queue_depth}",
            "# HELP edgematte_queue_waiting Requests waiting for a worker.",
            "# TYPE edgematte_queue_waiting gauge",
            f"edgematte_queue_waiting {waiting}",
            "# HELP edgematte_workers Workers in the model pool.",
            "# TYPE edgematte_workers gauge",
            f"edgematte_workers {workers}",
            "# HELP edgematte_resident_memory_bytes Resident memory of the service.",
            "# TYPE edgematte_resident_memory_bytes gauge",
            f"edgematte_resident_memory_bytes {resident_bytes()}",
        ]
        return "\n".join(lines) + "\n"
