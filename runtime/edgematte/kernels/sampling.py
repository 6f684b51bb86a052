"""Bilinear sampling grid shared by the kernels that upsample low-resolution fields.

Half-pixel centres, edge-clamped: the same convention as OpenCV INTER_LINEAR and
TFLite RESIZE_BILINEAR(half_pixel_centers), so maps line up with the image.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from edgematte.kernels import exact_kernel


@njit(cache=True)
def axis_weights(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear source indices and weights, half-pixel centres, edge-clamped.

    Parameters
    ----------
    n_out
        Length of the output axis (the full size).
    n_in
        Length of the sampled axis (the low-resolution field).

    Returns
    -------
    (i0, i1, w): int32 lower and upper source indices and the float32 weight of i1, each of
    length n_out; the value at i is (1 - w) src[i0] + w src[i1].
    """
    i0 = np.empty(n_out, dtype=np.int32)
    i1 = np.empty(n_out, dtype=np.int32)
    wt = np.empty(n_out, dtype=np.float32)
    scale = n_in / n_out
    for i in range(n_out):
        s = (i + 0.5) * scale - 0.5
        if s < 0.0:
            s = 0.0
        f = int(np.floor(s))
        if f > n_in - 1:
            f = n_in - 1
        g = min(f + 1, n_in - 1)
        i0[i] = f
        i1[i] = g
        wt[i] = s - f
    return i0, i1, wt


def upsample_reference(coef: np.ndarray, H: int, W: int) -> np.ndarray:
    """NumPy bilinear upsampling on the same grid as `axis_weights` (float64 out).

    Parameters
    ----------
    coef
        h x w x C field to upsample.
    H, W
        Output size.

    Returns
    -------
    H x W x C float64.
    """
    h, w = coef.shape[:2]

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        f = np.minimum(np.floor(s).astype(int), n_in - 1)
        return f, np.minimum(f + 1, n_in - 1), s - f

    y0, y1, fy = axis(H, h)
    x0, x1, fx = axis(W, w)
    c = coef.astype(np.float64)
    top = c[y0][:, x0] * (1 - fx)[None, :, None] + c[y0][:, x1] * fx[None, :, None]
    bot = c[y1][:, x0] * (1 - fx)[None, :, None] + c[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bot * fy[:, None, None]


@exact_kernel
def resize_map(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a float32 map (the model's output to the working size), on the grid of
    `axis_weights`: out = (1 - fy) ((1 - fx) s00 + fx s01) + fy ((1 - fx) s10 + fx s11).

    Compiled without fast-math: every product and sum is an IEEE float32 operation in this order,
    so the C library's em_resize_map gives the same bits.

    Parameters
    ----------
    src
        h x w float32 (C-contiguous).
    width, height
        Output size.
    """
    h, w = src.shape
    y0, y1, wy = axis_weights(height, h)
    x0, x1, wx = axis_weights(width, w)
    out = np.empty((height, width), np.float32)
    one = np.float32(1.0)
    for y in prange(height):
        ya, yb, fy = y0[y], y1[y], wy[y]
        for x in range(width):
            xa, xb, fx = x0[x], x1[x], wx[x]
            top = src[ya, xa] * (one - fx) + src[ya, xb] * fx
            bot = src[yb, xa] * (one - fx) + src[yb, xb] * fx
            out[y, x] = top * (one - fy) + bot * fy
    return out


def resize_map_reference(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """NumPy reference of `resize_map` (float64 maths: equal within float32 rounding)."""
    return upsample_reference(src[..., None], height, width)[..., 0].astype(np.float32)
