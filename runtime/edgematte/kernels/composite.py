"""Compositing a cut-out (foreground colours + alpha) over a colour or an image.

out = a F + (1 - a) B in 8-bit sRGB with rounding, one fused pass; F is the
estimated foreground (kernels/foreground.py), so no old-background fringe shows.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from edgematte.kernels import parallel_kernel
from edgematte.kernels.cutout import cell_starts, nearest_cells
from edgematte.kernels.sampling import axis_weights


@parallel_kernel
def composite_colour(fg: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Composite a cut-out over one flat colour: a F + (1 - a) C, rounded to uint8.

    Parameters
    ----------
    fg
        HxWx3 uint8 foreground colours (the blur-fusion estimate, not the raw photo).
    alpha
        HxW uint8. Opaque (255) and clear (0) pixels are copied without arithmetic.
    colour
        (3,) uint8 background colour.

    Returns
    -------
    HxWx3 uint8.
    """
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


@parallel_kernel
def composite_image(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Composite a cut-out over a background image of the same size: a F + (1 - a) B, rounded.

    Parameters
    ----------
    fg
        HxWx3 uint8 foreground colours.
    alpha
        HxW uint8.
    bg
        HxWx3 uint8 background, the same size as `fg`.

    Returns
    -------
    HxWx3 uint8.
    """
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
    """NumPy reference of `composite_colour` and `composite_image`.

    Parameters
    ----------
    fg
        HxWx3 uint8 foreground colours.
    alpha
        HxW uint8.
    bg
        A colour (3,) or an image (HxWx3), broadcast to `fg`'s shape.
    """
    a = alpha.astype(np.int32)[..., None]
    b = np.broadcast_to(np.asarray(bg, np.int32), fg.shape)
    return ((a * fg.astype(np.int32) + (255 - a) * b + 127) // 255).astype(np.uint8)


@parallel_kernel
def composite_cells(frame: np.ndarray, coef: np.ndarray, state: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Preview frames in one pass: alpha from the guided-filter coefficients, then over `bg`.

    Like kernels/cutout.py, cells of the working grid whose alpha is saturated skip the
    per-pixel fit: opaque cells copy the frame, clear cells copy the background; only
    mixed cells (the person's outline) compute alpha = a . I + b and blend. No foreground
    estimation: a preview frame is blended with its own colours.

    Parameters
    ----------
    frame
        HxWx3 uint8 camera frame (the guide I, read as 0..1).
    coef
        hxwx4 float32 guided-filter coefficients [a_r, a_g, a_b, b] at the working size,
        bilinearly upsampled per pixel.
    state
        hxw uint8 per working-size cell: 0 clear, 1 mixed, 255 opaque (`cutout.cell_state`).
    bg
        HxWx3 uint8 background, the same size as `frame`.

    Returns
    -------
    HxWx3 uint8 composite.
    """
    H, W, _ = frame.shape
    h, w, _ = coef.shape
    y0s, y1s, wys = axis_weights(H, h)
    x0s, x1s, wxs = axis_weights(W, w)
    cell_y = nearest_cells(H, h)
    starts = cell_starts(W, w)
    out = np.empty((H, W, 3), dtype=np.uint8)
    inv255 = np.float32(1.0 / 255.0)
    one = np.float32(1.0)
    for y in prange(H):
        srow = state[cell_y[y]]
        ya, yb, fy = y0s[y], y1s[y], wys[y]
        gy = one - fy
        for cx in range(w):
            st = srow[cx]
            xs = starts[cx]
            xe = starts[cx + 1]
            if st == 255:
                for x in range(xs, xe):
                    out[y, x, 0] = frame[y, x, 0]
                    out[y, x, 1] = frame[y, x, 1]
                    out[y, x, 2] = frame[y, x, 2]
                continue
            if st == 0:
                for x in range(xs, xe):
                    out[y, x, 0] = bg[y, x, 0]
                    out[y, x, 1] = bg[y, x, 1]
                    out[y, x, 2] = bg[y, x, 2]
                continue
            for x in range(xs, xe):
                xa, xb, fx = x0s[x], x1s[x], wxs[x]
                gx = one - fx
                w00, w01, w10, w11 = gy * gx, gy * fx, fy * gx, fy * fx
                q = w00 * coef[ya, xa, 3] + w01 * coef[ya, xb, 3] + w10 * coef[yb, xa, 3] + w11 * coef[yb, xb, 3]
                for c in range(3):
                    ac = w00 * coef[ya, xa, c] + w01 * coef[ya, xb, c] + w10 * coef[yb, xa, c] + w11 * coef[yb, xb, c]
                    q += ac * (frame[y, x, c] * inv255)
                q = min(max(q, np.float32(0.0)), one)
                for c in range(3):
                    v = q * frame[y, x, c] + (one - q) * bg[y, x, c] + np.float32(0.5)
                    out[y, x, c] = np.uint8(v)
    return out
