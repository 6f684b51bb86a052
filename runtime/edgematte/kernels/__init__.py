"""Numba kernels: one concern per file, each with a NumPy reference for parity tests.

Importing this package first points Numba's on-disk cache somewhere writable: next to
the sources when the install is writable (Numba's default), else a per-user cache
folder, so a read-only site-packages (system install, kiosk image) still keeps its
compiled kernels between runs. `edgematte warmup` fills that cache ahead of time.
"""

from __future__ import annotations

import os
from pathlib import Path


def _user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgematte" / "numba"


def _configure_cache() -> str | None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    here = Path(__file__).resolve().parent
    probe = here / "__pycache__"
    writable = os.access(probe if probe.exists() else here, os.W_OK)
    if writable:
        return None
    target = _user_cache_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    import numba.core.config as numba_config

    numba_config.CACHE_DIR = str(target)
    return str(target)


CACHE_DIR = _configure_cache()
