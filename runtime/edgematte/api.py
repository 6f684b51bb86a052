"""Public API: `Session` (models loaded once), `remove()` and `composite()`.

`remove()` returns the kind it was given: bytes -> encoded bytes (PNG by default),
PIL image -> PIL image, NumPy array -> array. A path gives encoded bytes, or is
written atomically to `output=` (never over the input) and that Path is returned.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import cv2
import numpy as np
from PIL import Image

from edgematte.colors import looks_like_colour, parse_colour
from edgematte.engine import Engine
from edgematte.errors import OptionError
from edgematte.imageio import DEFAULT_MAX_PIXELS, DecodedImage, decode, encode_pixels, format_for_path, write_atomic
from edgematte.kernels.composite import composite_colour, composite_image
from edgematte.models import ModelCard, orientation_pair, resolve, verified_path
from edgematte.pipeline import Matte, Pipeline
from edgematte.profiles import get_profile
from edgematte.settings import RefineSettings, refine_for

Background = str | tuple[int, int, int] | np.ndarray | Image.Image | os.PathLike | None


def fit_cover(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `img` to cover width x height (aspect kept), centre-cropped: a scene behind a cut-out."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    big = cv2.resize(img, (nw, nh), interpolation=interp)
    top, left = (nh - height) // 2, (nw - width) // 2
    return np.ascontiguousarray(big[top : top + height, left : left + width])


def composite(foreground: np.ndarray, alpha: np.ndarray, background: Background) -> np.ndarray:
    """Place a cut-out (foreground colours + alpha) over a colour or an image (scaled to cover)."""
    h, w = alpha.shape
    if background is None:
        raise OptionError("composite needs a background colour or image")
    if isinstance(background, tuple | list) or (isinstance(background, str) and looks_like_colour(background)):
        return composite_colour(foreground, alpha, np.asarray(parse_colour(background), np.uint8))
    if isinstance(background, str) and not os.path.isfile(background):
        raise OptionError(f"background '{background}' is neither a colour (white, #RRGGBB, r,g,b) nor an image file")
    bg = decode(background).rgb
    return composite_image(foreground, alpha, fit_cover(bg, w, h))


class Session:
    """Holds one loaded model and its refinement settings for repeated calls (thread-safe)."""

    def __init__(
        self,
        model: str | None = None,
        *,
        threads: int | None = None,
        profile: str | None = None,
        settings: RefineSettings | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        best: bool = False,
    ):
        """`best` averages the model with its mirror image: one more invoke for ~+0.5-0.9 IoU points."""
        prof = get_profile(profile)
        self.card: ModelCard = resolve(model, prof.name)
        self.threads = threads or prof.threads
        self.engine = Engine(verified_path(self.card), self.threads)
        if settings is None:
            settings = refine_for(self.card.kind)
            if self.card.kind != "matting" and prof.refine:
                settings = settings.with_(**prof.refine)
            if best and self.card.kind != "matting":
                settings = settings.with_(tta_flip=True)
        pair = orientation_pair(self.card)
        alternate = (pair, Engine(verified_path(pair), self.threads)) if pair is not None else None
        self.pipeline = Pipeline(self.card, self.engine, settings, alternate)
        self.max_pixels = max_pixels
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.card.name

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreter (and its arena) now rather than at garbage collection."""
        self.engine = None  # type: ignore[assignment]
        self.pipeline = None  # type: ignore[assignment]

    def matte(self, data: Any, settings: RefineSettings | None = None) -> Matte:
        """Decode and run the still pipeline; the Matte holds alpha, foreground colours and timings."""
        import time

        t0 = time.perf_counter()
        image = data if isinstance(data, DecodedImage) else decode(data, self.max_pixels)
        t_decode = time.perf_counter() - t0
        _set_numba_threads(self.threads)
        with self._lock:
            m = self.pipeline.run(image, settings)
        m.timings.stages = {"decode": t_decode, **m.timings.stages}
        return m

    def render(self, m: Matte, *, mask_only: bool = False, bg: Background = None) -> tuple[np.ndarray, str]:
        """(pixels, kind): kind is 'L' (mask), 'RGB' (composite) or 'RGBA' (cut-out)."""
        with m.timings.stage("compose"):
            if mask_only:
                return m.alpha, "L"
            if bg is not None:
                return composite(m.cutout_rgb, m.alpha, bg), "RGB"
            return m.rgba, "RGBA"

    def remove(
        self,
        data: Any,
        *,
        mask_only: bool = False,
        bg: Background = None,
        output: str | os.PathLike | None = None,
        format: str | None = None,
        quality: int | None = None,
    ) -> Any:
        """Cut out `data`; see the module docstring for what comes back."""
        m = self.matte(data)
        pixels, kind = self.render(m, mask_only=mask_only, bg=bg)
        if isinstance(data, Image.Image) and output is None:
            return Image.fromarray(pixels, kind)
        if isinstance(data, np.ndarray) and output is None:
            return pixels
        fmt = format_for_path(output) if output is not None else (format or "PNG")
        with m.timings.stage("encode"):
            blob = encode_pixels(pixels, kind, fmt, quality, self.threads)
        if output is not None:
            protect = [data] if isinstance(data, str | os.PathLike) else []
            return write_atomic(output, blob, protect=protect)
        return blob


def _set_numba_threads(n: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


_default_sessions: dict[tuple[str | None, int | None, bool], Session] = {}
_default_lock = threading.Lock()


def session_for(model: str | None = None, threads: int | None = None, best: bool = False) -> Session:
    """A cached Session per (model, threads, best): `remove()` called in a loop loads the model once."""
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
    threads: int | None = None,
    best: bool = False,
    session: Session | None = None,
) -> Any:
    """Remove the background from bytes, a path, a PIL image or an RGB(A) NumPy array.

    bytes -> PNG bytes (or `format`); PIL -> PIL (RGBA, or L with mask_only, RGB with bg);
    array -> array; path -> encoded bytes, or written to `output` (atomic) returning its Path.
    `bg` composites onto a colour ('white', '#RRGGBB', (r, g, b)) or an image (path, array, PIL).
    `best` spends one more model invoke (mirror-image averaging) for slightly better masks.
    """
    s = session or session_for(model, threads, best)
    return s.remove(data, mask_only=mask_only, bg=bg, output=output, format=format)
