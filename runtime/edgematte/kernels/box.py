"""Box mean over a (2r+1)^2 window clipped at the image border (He's convention).

At the border the window shrinks and we divide by the number of pixels inside it,
so a constant image stays constant (OpenCV's reflect border would not). Running
sums make the cost independent of r. Threads split columns (vertical pass) and rows
(horizontal pass) so each works on contiguous memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=True)
def box_mean(src: np.ndarray, r: int) -> np.ndarray:
    """Mean of `src` (HxWxC float32, C-contiguous) over clipped (2r+1)x(2r+1) windows."""
    H, W, C = src.shape
    WC = W * C
    flat = src.reshape(H, WC)
    tmp = np.empty((H, WC), dtype=np.float32)
    nchunks = max(1, min(64, WC // 256))
    step = (WC + nchunks - 1) // nchunks
    for k in prange(nchunks):
        lo = k * step
        hi = min(WC, lo + step)
        if lo >= hi:
            continue
        acc = np.zeros(hi - lo, dtype=np.float64)
        for y in range(min(r, H - 1) + 1):
            for j in range(lo, hi):
                acc[j - lo] += flat[y, j]
        for y in range(H):
            y0 = max(0, y - r)
            y1 = min(H - 1, y + r)
            inv = 1.0 / (y1 - y0 + 1)
            for j in range(lo, hi):
                tmp[y, j] = acc[j - lo] * inv
            yin = y + r + 1
            yout = y - r
            if yin < H:
                for j in range(lo, hi):
                    acc[j - lo] += flat[yin, j]
            if yout >= 0:
                for j in range(lo, hi):
                    acc[j - lo] -= flat[yout, j]
    out = np.empty((H, W, C), dtype=np.float32)
    for y in prange(H):
        acc = np.zeros(C, dtype=np.float64)
        for x in range(min(r, W - 1) + 1):
            for c in range(C):
                acc[c] += tmp[y, x * C + c]
        for x in range(W):
            x0 = max(0, x - r)
            x1 = min(W - 1, x + r)
            inv = 1.0 / (x1 - x0 + 1)
            for c in range(C):
                out[y, x, c] = acc[c] * inv
            xin = x + r + 1
            xout = x - r
            if xin < W:
                for c in range(C):
                    acc[c] += tmp[y, xin * C + c]
            if xout >= 0:
                for c in range(C):
                    acc[c] -= tmp[y, xout * C + c]
    return out


def box_mean_reference(src: np.ndarray, r: int) -> np.ndarray:
    """Plain NumPy (cumulative sums) version of `box_mean`, for parity tests."""
    a = src.astype(np.float64)
    H, W = a.shape[:2]

    def along(a: np.ndarray, axis: int, n: int) -> np.ndarray:
        c = np.cumsum(a, axis=axis)
        pad_shape = list(a.shape)
        pad_shape[axis] = 1
        c = np.concatenate([np.zeros(pad_shape), c], axis=axis)
        idx = np.arange(n)
        hi = np.minimum(idx + r, n - 1) + 1
        lo = np.maximum(idx - r, 0)
        s = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
        shape = [1] * a.ndim
        shape[axis] = n
        return s / (hi - lo).reshape(shape)

    return along(along(a, 0, H), 1, W).astype(np.float32)
