"""Where edgematte keeps what it learns on a device: compiled kernels and the tuned model choice.

One folder, `cache_root()`, so a kiosk image points everything at one writable place
(`EDGEMATTE_CACHE_DIR=/var/lib/edgematte`) while the package itself stays read-only. Stdlib only:
this is read before Numba is imported.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The per-user cache folder (not created here).

    `$EDGEMATTE_CACHE_DIR` when set (a kiosk image's writable partition), else
    `$XDG_CACHE_HOME/edgematte`, else `~/.cache/edgematte` (the XDG default).
    """
    env = os.environ.get("EDGEMATTE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgematte"
