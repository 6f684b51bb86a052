"""Per-stage wall-clock timings, recorded by every path (still and live) and read by reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Timings:
    """Seconds spent per named stage; a stage entered twice accumulates."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body of a `with` block as stage `name`."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t

    def add(self, name: str, seconds: float) -> None:
        """Add time measured elsewhere (another thread) to stage `name`."""
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    @property
    def total(self) -> float:
        """Sum of all stages, seconds."""
        return sum(self.stages.values())

    def ms(self) -> dict[str, float]:
        """The stages in milliseconds, rounded to 0.01 ms (what reports print)."""
        return {k: round(v * 1000.0, 2) for k, v in self.stages.items()}
