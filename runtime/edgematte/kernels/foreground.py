"""Foreground colour estimation by blur-fusion (Forte & Pitie, ICIP 2021), two passes.

In the soft edge band a pixel is a mix I = a F + (1 - a) B. Cutting it out with its
raw colour keeps (1 - a) B: a fringe of the old background on the new one. Blur
fusion estimates the local mean foreground F~ and background B~ with alpha-weighted
box blurs and corrects:  F = F~ + a (I - a F~ - (1 - a) B~). The second pass blurs
the first pass's F (and B~) with a small radius, which removes the bias wide blurs
get inside broad soft regions (fur, hair): on lemur_cc0 the premultiplied colour
error drops from 0.0069 (one pass) to 0.0050.

Both passes run at the guided filter's working size (the means are smooth; computing
them at 1/4 scale changed that error by < 0.0002) and are sampled bilinearly at full
size, so the full-resolution cost is one pass over the edge band.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from edgematte.kernels.box import box_mean, box_mean_reference
from edgematte.kernels.sampling import axis_weights, upsample_reference

EPS = 1e-4  # keeps the weighted means finite where a window holds no foreground (or no background)


@njit(cache=True, parallel=True, fastmath=True)
def _weighted(fsrc: np.ndarray, bsrc: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """[a F (3), a, (1 - a) B (3), 1 - a] per pixel; colours float 0..1, alpha float 0..1."""
    h, w, _ = fsrc.shape
    out = np.empty((h, w, 8), dtype=np.float32)
    for y in prange(h):
        for x in range(w):
            a = alpha[y, x]
            na = np.float32(1.0) - a
            for c in range(3):
                out[y, x, c] = a * fsrc[y, x, c]
                out[y, x, 4 + c] = na * bsrc[y, x, c]
            out[y, x, 3] = a
            out[y, x, 7] = na
    return out


@njit(cache=True, parallel=True, fastmath=True)
def _means(blurred: np.ndarray) -> np.ndarray:
    h, w, _ = blurred.shape
    out = np.empty((h, w, 6), dtype=np.float32)
    for y in prange(h):
        for x in range(w):
            o = blurred[y, x]
            fa = o[3] + np.float32(EPS)
            ba = o[7] + np.float32(EPS)
            for c in range(3):
                out[y, x, c] = o[c] / fa
                out[y, x, 3 + c] = o[4 + c] / ba
    return out


def local_means(fsrc: np.ndarray, bsrc: np.ndarray, alpha: np.ndarray, r: int) -> np.ndarray:
    """Alpha-weighted blurred foreground and background colours [F~(3), B~(3)] (float 0..1)."""
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    return _means(box_mean(_weighted(f32(fsrc), f32(bsrc), f32(alpha)), r))


def local_means_reference(fsrc: np.ndarray, bsrc: np.ndarray, alpha: np.ndarray, r: int) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None]
    F, B = fsrc.astype(np.float64), bsrc.astype(np.float64)
    blur = box_mean_reference(np.dstack([a * F, a, (1 - a) * B, 1 - a]).astype(np.float32), r).astype(np.float64)
    f = blur[..., :3] / (blur[..., 3:4] + EPS)
    b = blur[..., 4:7] / (blur[..., 7:8] + EPS)
    return np.dstack([f, b]).astype(np.float32)


@njit(cache=True, parallel=True, fastmath=True)
def fuse(image: np.ndarray, alpha: np.ndarray, means: np.ndarray) -> np.ndarray:
    """F = F~ + a (I - a F~ - (1 - a) B~), clipped; all float 0..1 at the same (small) size."""
    h, w, _ = image.shape
    out = np.empty((h, w, 3), dtype=np.float32)
    for y in prange(h):
        for x in range(w):
            a = alpha[y, x]
            for c in range(3):
                f = means[y, x, c]
                v = f + a * (image[y, x, c] - a * f - (np.float32(1.0) - a) * means[y, x, 3 + c])
                out[y, x, c] = min(max(v, np.float32(0.0)), np.float32(1.0))
    return out


def fuse_reference(image: np.ndarray, alpha: np.ndarray, means: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None]
    f, b = means[..., :3].astype(np.float64), means[..., 3:].astype(np.float64)
    return np.clip(f + a * (image - a * f - (1 - a) * b), 0, 1).astype(np.float32)


def foreground_means(image: np.ndarray, alpha: np.ndarray, r_wide: int, r_fine: int) -> np.ndarray:
    """Two-pass blur fusion at the working size: [F~, B~] to sample at full size."""
    first = local_means(image, image, alpha, r_wide)
    f1 = fuse(np.ascontiguousarray(image, np.float32), np.ascontiguousarray(alpha, np.float32), first)
    return local_means(f1, np.ascontiguousarray(first[..., 3:]), alpha, r_fine)


@njit(cache=True, parallel=True, fastmath=True)
def apply_foreground(image: np.ndarray, alpha: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Full-size foreground colours (uint8): I where alpha is 255, the blur-fusion estimate in the band,
    and the local foreground mean where alpha is 0 (so resampling a cut-out never pulls in old background)."""
    H, W, _ = image.shape
    h, w, _ = means.shape
    y0, y1, wy = axis_weights(H, h)
    x0, x1, wx = axis_weights(W, w)
    out = np.empty((H, W, 3), dtype=np.uint8)
    inv255 = np.float32(1.0 / 255.0)
    for y in prange(H):
        ya = y0[y]
        yb = y1[y]
        fy = wy[y]
        gy = np.float32(1.0) - fy
        for x in range(W):
            av = alpha[y, x]
            if av == 255:
                out[y, x, 0] = image[y, x, 0]
                out[y, x, 1] = image[y, x, 1]
                out[y, x, 2] = image[y, x, 2]
                continue
            fx = wx[x]
            gx = np.float32(1.0) - fx
            w00 = gy * gx
            w01 = gy * fx
            w10 = fy * gx
            w11 = fy * fx
            m00 = means[ya, x0[x]]
            m01 = means[ya, x1[x]]
            m10 = means[yb, x0[x]]
            m11 = means[yb, x1[x]]
            a = av * inv255
            for c in range(3):
                f = w00 * m00[c] + w01 * m01[c] + w10 * m10[c] + w11 * m11[c]
                if av == 0:
                    v = f
                else:
                    b = w00 * m00[3 + c] + w01 * m01[3 + c] + w10 * m10[3 + c] + w11 * m11[3 + c]
                    v = f + a * (image[y, x, c] * inv255 - a * f - (np.float32(1.0) - a) * b)
                v = v * np.float32(255.0) + np.float32(0.5)
                if v < 0.0:
                    v = 0.0
                elif v > 255.0:
                    v = 255.0
                out[y, x, c] = np.uint8(v)
    return out


def apply_foreground_reference(image: np.ndarray, alpha: np.ndarray, means: np.ndarray) -> np.ndarray:
    """NumPy reference of `apply_foreground`."""
    mu = upsample_reference(means, *image.shape[:2])
    f, b = mu[..., :3], mu[..., 3:]
    a = (alpha / 255.0)[..., None]
    I = image / 255.0
    est = f + a * (I - a * f - (1 - a) * b)
    est = np.where(alpha[..., None] == 0, f, est)
    est = np.where(alpha[..., None] == 255, I, est)
    return np.clip(est * 255.0 + 0.5, 0, 255).astype(np.uint8)
