"""Compositing a cut-out (foreground colours + alpha) over a colour or an image.

out = a F + (1 - a) B in 8-bit sRGB with rounding, one fused pass; F is the
estimated foreground (kernels/foreground.py), so no old-background fringe shows.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=True)
def composite_colour(fg: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """fg: HxWx3 uint8, alpha: HxW uint8, colour: 3 uint8 -> HxWx3 uint8."""
    H, W, _ = fg.shape
    out = np.empty((H, W, 3), dtype=np.uint8)
    for y in prange(H):
        for x in range(W):
            a = np.int32(alpha[y, x])
            if a == 255:
                for c in range(3):
                    out[y, x, c] = fg[y, x, c]
            elif a == 0:
                for c in range(3):
                    out[y, x, c] = colour[c]
            else:
                for c in range(3):
                    v = a * np.int32(fg[y, x, c]) + (255 - a) * np.int32(colour[c])
                    out[y, x, c] = np.uint8((v + 127) // 255)
    return out


@njit(cache=True, parallel=True, fastmath=True)
def composite_image(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """fg, bg: HxWx3 uint8 (same size), alpha: HxW uint8 -> HxWx3 uint8."""
    H, W, _ = fg.shape
    out = np.empty((H, W, 3), dtype=np.uint8)
    for y in prange(H):
        for x in range(W):
            a = np.int32(alpha[y, x])
            for c in range(3):
                v = a * np.int32(fg[y, x, c]) + (255 - a) * np.int32(bg[y, x, c])
                out[y, x, c] = np.uint8((v + 127) // 255)
    return out


def composite_reference(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """NumPy reference; `bg` may be a colour (3,) or an image (HxWx3)."""
    a = alpha.astype(np.int32)[..., None]
    b = np.broadcast_to(np.asarray(bg, np.int32), fg.shape)
    return ((a * fg.astype(np.int32) + (255 - a) * b + 127) // 255).astype(np.uint8)
