"""What a caller calls: `remove()` (one function for every kind of input) over a cached Session.

`remove()` returns the kind it was given: bytes -> encoded bytes (PNG by default), PIL image ->
PIL image, NumPy array -> array. A path gives encoded bytes, or is written atomically to
`output=` (never over the input) and that Path is returned. The work is the still path's
(still.py); this module only keeps one Session per (model, threads, best) so `remove()` in a
loop loads the model once. Importing it loads nothing heavy.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgematte.compositing import Background
    from edgematte.still import Session

_default_sessions: dict[tuple[str | None, int | None, bool], Session] = {}
_default_lock = threading.Lock()


def session_for(model: str | None = None, threads: int | None = None, best: bool = False) -> Session:
    """The cached Session for (model, threads, best), made on first use.

    Parameters
    ----------
    model, threads, best
        As for `Session`. Defaults None, None, False: 'auto' (portraits to the matting model,
        everything else to u2netp), in the device profile's variants.
    """
    from edgematte.still import Session

    key = (model, threads, best)
    with _default_lock:
        if key not in _default_sessions:
            _default_sessions[key] = Session(model, threads=threads, best=best)
        return _default_sessions[key]


def remove(
    data: Any,
    *,
    model: str | None = None,
    mask_only: bool = False,
    bg: Background = None,
    output: str | os.PathLike | None = None,
    format: str | None = None,
    quality: int | None = None,
    threads: int | None = None,
    best: bool = False,
    session: Session | None = None,
) -> Any:
    """Remove the background from bytes, a path, a PIL image or an RGB(A) NumPy array.

    Parameters
    ----------
    data
        Image-file bytes, a path, a PIL image, or an HxW / HxWx3 / HxWx4 array.
    model
        Model name, family or alias (see `edgematte models`), or 'auto'. Default None: 'auto'
        (Session: a portrait goes to MODNet matting when it cuts out the subject u2netp finds,
        everything else to u2netp); 'product' or 'portrait' always use that model.
    mask_only
        Return the alpha mask alone. Default False.
    bg
        Composite onto a colour ('white', '#RRGGBB', (r, g, b)) or an image (path, array, PIL),
        scaled to cover. Default None: a transparent cut-out.
    output
        Write the result here (atomically, never over the input) and return its Path. Default
        None: return the result.
    format
        'png', 'webp', 'jpg' or 'tif' for encoded results. Default None: from `output`'s
        suffix, else PNG. A cut-out as JPEG is composed onto white.
    quality
        JPEG / WebP quality. Default None: 95 / 92 (settings.py).
    threads
        Threads for inference and post-processing. Default None: the device profile's.
    best
        One more invoke on the mirrored image, averaged: slightly better masks. Default False.
    session
        Use this Session instead of the cached default (its model, threads and settings win).

    Returns
    -------
    bytes (bytes or path in), PIL image (PIL in), array (array in), or the output Path.
    PIL results are RGBA (cut-out), L (mask) or RGB (composite).
    """
    s = session or session_for(model, threads, best)
    return s.remove(data, mask_only=mask_only, bg=bg, output=output, format=format, quality=quality)
