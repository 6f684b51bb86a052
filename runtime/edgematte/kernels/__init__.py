"""Numba kernels: one concern per file, each with a NumPy reference for parity tests.

Importing this package sets up Numba before any kernel compiles or runs:

- The on-disk cache goes somewhere writable: `$NUMBA_CACHE_DIR` when set; else
  `$EDGEMATTE_CACHE_DIR/numba` when that is set (a kiosk image's writable partition); else next
  to the sources when the install is writable (Numba's default); else the per-user cache folder
  (userdirs.cache_root()/numba). So a read-only site-packages (system install, kiosk image) still
  keeps its compiled kernels between runs. `edgematte warmup` fills that cache ahead of time.
- The threading layer is chosen explicitly: OpenMP (`omp`, thread-safe: the main thread, the
  batch writer and a server's workers may each launch parallel kernels at once) when its
  runtime (libgomp) loads, else Numba's built-in `workqueue`, which aborts the process when two
  threads launch parallel kernels together: then every launch of a `parallel_kernel` is
  serialised by one lock. NUMBA_THREADING_LAYER, when set, is respected.
- Parallel kernels are compiled with `nogil=True`, so decoding, PNG deflating and other Python
  threads run while a kernel does.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edgematte.userdirs import cache_root

F = TypeVar("F", bound=Callable[..., Any])


def _configure_cache() -> str | None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    here = Path(__file__).resolve().parent
    probe = here / "__pycache__"
    writable = os.access(probe if probe.exists() else here, os.W_OK)
    if writable and not os.environ.get("EDGEMATTE_CACHE_DIR"):
        return None
    target = cache_root() / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    import numba.core.config as numba_config

    numba_config.CACHE_DIR = str(target)
    return str(target)


def _choose_threading_layer() -> str:
    """Pin Numba's threading layer before the first parallel launch; returns its name."""
    from numba.core import config

    wanted = os.environ.get("NUMBA_THREADING_LAYER")
    if wanted:
        return wanted  # the user's choice (Numba reads it itself)
    try:
        import numba.np.ufunc.omppool  # noqa: F401  (loads libgomp: fails where it is missing)

        layer = "omp"
    except ImportError:
        layer = "workqueue"
    config.THREADING_LAYER = layer
    return layer


CACHE_DIR = _configure_cache()
THREADING_LAYER = _choose_threading_layer()
# workqueue (and a layer the user forced that we cannot vouch for) is not safe for launches
# from two threads at once: serialise them.
SERIALISE_LAUNCHES = THREADING_LAYER not in ("omp", "tbb", "threadsafe")
_LAUNCH_LOCK = threading.Lock()


def parallel_kernel(fn: F) -> F:
    """Compile `fn` as a parallel Numba kernel: cached on disk, fast-math, GIL released.

    Use it for kernels called from Python (never from another kernel: under the workqueue
    layer the result is a Python wrapper that serialises launches).
    """
    return _compile(fn, fastmath=True)


def exact_kernel(fn: F) -> F:
    """`parallel_kernel` without fast-math: float32 maths stays IEEE and in source order (no
    reassociation, no FMA contraction), so the C library reproduces the kernel bit for bit.
    Used for the stages in front of the INT8 models (resize) and the map resize."""
    return _compile(fn, fastmath=False)


def _compile(fn: F, fastmath: bool) -> F:
    from numba import njit

    compiled = njit(cache=True, parallel=True, fastmath=fastmath, nogil=True)(fn)
    if not SERIALISE_LAUNCHES:
        return compiled  # type: ignore[no-any-return]

    @functools.wraps(fn)
    def serialised(*args: Any) -> Any:
        with _LAUNCH_LOCK:
            return compiled(*args)

    serialised.compiled = compiled  # type: ignore[attr-defined]
    return serialised  # type: ignore[return-value]


def use_threads(n: int) -> None:
    """Threads for the kernels launched from the calling thread (Numba's setting is per thread)."""
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
