"""The compose stage: a cut-out over a colour or an image.

A background is parsed once (`Backdrop.parse`): a colour (white, '#RRGGBB', 'r,g,b', (r, g, b))
or an image (path, bytes, array, PIL), decoded once and scaled to cover each output size it is
asked for (cached), so a batch or a video with `--bg room.jpg` decodes room.jpg one time. The
composite is out = a F + (1 - a) B in 8-bit sRGB with rounding, F the estimated foreground
colours (refine.foreground), so no fringe of the old background shows on the new one.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import cv2
import numpy as np

from edgematte.colors import looks_like_colour, parse_colour
from edgematte.decode import decode
from edgematte.errors import ImageError, OptionError
from edgematte.kernels.composite import composite_colour, composite_image
from edgematte.settings import MAX_PIXELS

# What callers may pass as a background.
Background = Any  # str | tuple[int, int, int] | np.ndarray | PIL.Image.Image | os.PathLike | bytes | Backdrop


def fit_cover(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `img` to cover width x height (aspect kept), centre-cropped: a scene behind a cut-out."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    big = cv2.resize(img, (nw, nh), interpolation=interp)
    top, left = (nh - height) // 2, (nw - width) // 2
    return np.ascontiguousarray(big[top : top + height, left : left + width])


class Backdrop:
    """A background, parsed once: a solid colour, or an image scaled to cover each size asked for.

    Use `Backdrop.parse`; `over()` composites a cut-out onto it, `pixels()` gives it at a size.
    """

    _CACHE_SIZES = 4  # output sizes kept scaled (a batch of mixed orientations, a video)

    def __init__(self, colour: tuple[int, int, int] | None = None, image: np.ndarray | None = None):
        if (colour is None) == (image is None):
            raise OptionError("a backdrop is a colour or an image")
        self.colour = None if colour is None else np.asarray(colour, np.uint8)
        self.image = image
        self._fitted: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, value: Background, max_pixels: int = MAX_PIXELS) -> Backdrop:
        """A Backdrop from what a user gave.

        Parameters
        ----------
        value
            A colour name, '#RRGGBB', 'r,g,b' or (r, g, b); or an image: a path, image-file
            bytes, an HxWx3 array or a PIL image; or a Backdrop (returned as is).
        max_pixels
            Limit for a background image (ImageTooLargeError above it). Default 100 MP.

        Raises
        ------
        OptionError
            A string that is neither a colour nor an existing file.
        ImageError
            A background image that cannot be read (the message names the background).
        """
        if isinstance(value, Backdrop):
            return value
        if value is None:
            raise OptionError("composite needs a background colour or image")
        if isinstance(value, tuple | list) or (isinstance(value, str) and looks_like_colour(value)):
            return cls(colour=parse_colour(value))
        if isinstance(value, str | os.PathLike) and not os.path.isfile(value):
            raise OptionError(f"background '{value}' is neither a colour (white, #RRGGBB, r,g,b) nor an image file")
        try:
            image = decode(value, max_pixels)
        except ImageError as exc:
            raise type(exc)(f"background image: {exc}") from exc
        return cls(image=image.rgb)

    def pixels(self, width: int, height: int) -> np.ndarray:
        """The backdrop as an HxWx3 image of this size (an image: scaled to cover, centre-cropped)."""
        key = (width, height)
        with self._lock:
            out = self._fitted.get(key)
            if out is None:
                if self.image is not None:
                    out = fit_cover(self.image, width, height)
                else:
                    out = np.empty((height, width, 3), np.uint8)
                    out[:] = self.colour
                if len(self._fitted) >= self._CACHE_SIZES:
                    self._fitted.pop(next(iter(self._fitted)))
                self._fitted[key] = out
        return out

    def over(self, foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Composite a cut-out (HxWx3 foreground colours, HxW alpha) onto this backdrop: HxWx3."""
        if self.colour is not None:
            return composite_colour(foreground, alpha, self.colour)
        h, w = alpha.shape
        return composite_image(foreground, alpha, self.pixels(w, h))


def composite(foreground: np.ndarray, alpha: np.ndarray, background: Background) -> np.ndarray:
    """Place a cut-out over a colour or an image.

    Parameters
    ----------
    foreground
        HxWx3 uint8 foreground colours (a Matte's `cutout_rgb`: estimated, so no old-background
        fringe), or the photo itself.
    alpha
        HxW uint8 alpha.
    background
        A colour ('white', '#RRGGBB', (r, g, b)) or an image (path, array, PIL, bytes), scaled
        to cover the cut-out and centre-cropped; see `Backdrop.parse`.

    Returns
    -------
    np.ndarray
        HxWx3 uint8 composite.
    """
    return Backdrop.parse(background).over(foreground, alpha)
