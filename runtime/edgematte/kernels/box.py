"""Box mean over a (2r+1)^2 window clipped at the image border (He's convention).

At the border the window shrinks and we divide by the number of pixels inside it,
so a constant image stays constant (OpenCV's reflect border would not). Running
sums make the cost independent of r.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from edgematte.kernels import parallel_kernel


@parallel_kernel
def box_mean(src: np.ndarray, r: int) -> np.ndarray:
    """Mean of `src` (HxWxC float32, C-contiguous) over clipped (2r+1)x(2r+1) windows.

    Rows are split into bands, one task each: a band keeps running column sums over the
    window's rows (one add and one subtract per value per row) and takes each output row
    from a prefix sum along x. Everything streams through contiguous rows.

    Parameters
    ----------
    src
        HxWxC float32, C-contiguous (the kernel reshapes it to rows without a copy).
    r
        Window radius in px; the cost does not depend on it.

    Returns
    -------
    HxWxC float32: each value divided by the number of window pixels inside the image.
    """
    H, W, C = src.shape
    WC = W * C
    flat = src.reshape(H, WC)
    out = np.empty((H, W, C), dtype=np.float32)
    oflat = out.reshape(H, WC)
    nbands = max(1, min(64, H // 8))
    step = (H + nbands - 1) // nbands
    for b in prange(nbands):
        y0 = b * step
        y1 = min(H, y0 + step)
        if y0 >= y1:
            continue
        col = np.zeros(WC, dtype=np.float32)
        pre = np.zeros((W + 1) * C, dtype=np.float32)
        for yy in range(max(0, y0 - r), min(H - 1, y0 + r) + 1):
            for j in range(WC):
                col[j] += flat[yy, j]
        for y in range(y0, y1):
            if y > y0:
                yin = y + r
                yout = y - r - 1
                if yin < H:
                    for j in range(WC):
                        col[j] += flat[yin, j]
                if yout >= 0:
                    for j in range(WC):
                        col[j] -= flat[yout, j]
            ny = min(H - 1, y + r) - max(0, y - r) + 1
            for x in range(W):
                for c in range(C):
                    pre[(x + 1) * C + c] = pre[x * C + c] + col[x * C + c]
            for x in range(W):
                xa = max(0, x - r)
                xb = min(W - 1, x + r) + 1
                inv = np.float32(1.0) / np.float32(ny * (xb - xa))
                for c in range(C):
                    oflat[y, x * C + c] = (pre[xb * C + c] - pre[xa * C + c]) * inv
    return out


def box_mean_reference(src: np.ndarray, r: int) -> np.ndarray:
    """Plain NumPy (cumulative sums, float64) version of `box_mean`, for parity tests.

    Parameters
    ----------
    src
        HxWxC array of any real dtype.
    r
        Window radius in px.
    """
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
