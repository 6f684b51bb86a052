"""The one full-resolution pass: alpha, foreground colours and the RGBA cut-out together.

Everything before it runs at the working size (~0.3 MP); this kernel is the only one that
touches every pixel of a 12 MP photo. The RGBA buffer arrives as a copy of the photo with
alpha 255 (OpenCV's SIMD RGB->RGBA); the kernel then works cell by cell of the working
grid (`state`, from the working-size alpha):
- solid cells (alpha 255, or 0, on the cell and its 8 neighbours): the guided filter's
  output there is saturated, so opaque cells keep the photo untouched and clear cells
  become transparent black;
- mixed cells get the exact per-pixel alpha = a . I + b (coefficients interpolated
  bilinearly) and, where 0 < alpha < 255, the blur-fusion foreground
  F = F~ + a (I - a F~ - (1 - a) B~); transparent pixels there get F~, so resampling the
  PNG later pulls in no old background.
On a 12 MP product photo ~5% of the pixels are in mixed cells.

The per-pixel guided alpha is written out here (and in apply_upsampled, composite_cells) rather
than called from a shared @njit helper: Numba's on-disk cache does not notice when a callee in
another file changes, so a shared helper could leave a stale cached kernel. One NumPy reference
(apply_upsampled_reference) defines it, and each kernel's parity test holds it to that.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from edgematte.kernels import parallel_kernel
from edgematte.kernels.guided import apply_upsampled_reference
from edgematte.kernels.sampling import axis_weights, upsample_reference

SOLID_CLEAR, MIXED, SOLID_OPAQUE = 0, 1, 255


@parallel_kernel
def cutout_rgba(
    image: np.ndarray,
    rgba: np.ndarray,
    coef: np.ndarray,
    means: np.ndarray,
    state: np.ndarray,
    source_alpha: np.ndarray,
    has_alpha: bool,
    estimate: bool,
) -> None:
    """Write the full-size cut-out into `rgba` in place: alpha, then foreground colours in the soft band.

    Solid clear cells become transparent black (0, 0, 0, 0): invisible, and PNG compresses it to
    nothing. Solid opaque cells keep the photo (and take `source_alpha` when `has_alpha`). Mixed
    cells get alpha = clip(a . I + b) (He et al. 2013) and, where 0 < alpha < 255 and `estimate`,
    the blur-fusion foreground F = F~ + a (I - a F~ - (1 - a) B~) (Forte & Pitie 2021); with
    `estimate`, their alpha-0 pixels get F~ (so later resampling pulls in no old background).

    Parameters
    ----------
    image
        HxWx3 uint8, the full-size photo (the guide I, read as 0..1).
    rgba
        HxWx4 uint8, C-contiguous: RGB = the photo, A = 255. Overwritten.
    coef
        hxwx4 float32 guided-filter coefficients [a_r, a_g, a_b, b] at the working size.
    means
        h'xw'x6 float32 [F~, B~] in 0..1 (`foreground_means`); any size, sampled bilinearly.
    state
        hxw uint8, SOLID_CLEAR / MIXED / SOLID_OPAQUE per working-size cell (`cell_state`).
    source_alpha
        HxW uint8, the input's own alpha; read only when `has_alpha`.
    has_alpha
        Multiply the result by `source_alpha`, so transparent inputs stay transparent.
    estimate
        Estimate foreground colours (ForegroundSettings.enabled); False keeps the photo's colours.
    """
    H, W, _ = image.shape
    h, w, _ = coef.shape
    mh, mw, _ = means.shape
    y0s, y1s, wys = axis_weights(H, h)
    x0s, x1s, wxs = axis_weights(W, w)
    my0s, my1s, mwys = axis_weights(H, mh)
    mx0s, mx1s, mwxs = axis_weights(W, mw)
    cell_y = nearest_cells(H, h)
    starts = cell_starts(W, w)
    words = rgba.view(np.uint32).reshape(H, W)
    inv255 = np.float32(1.0 / 255.0)
    one = np.float32(1.0)
    for y in prange(H):
        srow = state[cell_y[y]]
        ya, yb, fy = y0s[y], y1s[y], wys[y]
        gy = one - fy
        mya, myb, mfy = my0s[y], my1s[y], mwys[y]
        mgy = one - mfy
        for cx in range(w):
            st = srow[cx]
            xs = starts[cx]
            xe = starts[cx + 1]
            if st == SOLID_OPAQUE:
                if has_alpha:
                    for x in range(xs, xe):
                        rgba[y, x, 3] = source_alpha[y, x]
                continue
            if st == SOLID_CLEAR:
                for x in range(xs, xe):
                    words[y, x] = 0
                continue
            for x in range(xs, xe):
                xa, xb, fx = x0s[x], x1s[x], wxs[x]
                gx = one - fx
                w00, w01, w10, w11 = gy * gx, gy * fx, fy * gx, fy * fx
                q = w00 * coef[ya, xa, 3] + w01 * coef[ya, xb, 3] + w10 * coef[yb, xa, 3] + w11 * coef[yb, xb, 3]
                for c in range(3):
                    ac = w00 * coef[ya, xa, c] + w01 * coef[ya, xb, c] + w10 * coef[yb, xa, c] + w11 * coef[yb, xb, c]
                    q += ac * (image[y, x, c] * inv255)
                v = q * np.float32(255.0)
                if v < 0.0:
                    v = 0.0
                elif v > 255.0:
                    v = 255.0
                if has_alpha:  # scaled before the one rounding (rounding twice biased opaque pixels by +1)
                    v = v * source_alpha[y, x] * inv255
                v += np.float32(0.5)
                av = np.uint8(v)
                rgba[y, x, 3] = av
                if not estimate or av == 255:
                    continue
                a = av * inv255
                mxa, mxb, mfx = mx0s[x], mx1s[x], mwxs[x]
                mgx = one - mfx
                m00, m01, m10, m11 = mgy * mgx, mgy * mfx, mfy * mgx, mfy * mfx
                for c in range(3):
                    f = (
                        m00 * means[mya, mxa, c]
                        + m01 * means[mya, mxb, c]
                        + m10 * means[myb, mxa, c]
                        + m11 * means[myb, mxb, c]
                    )
                    if av == 0:
                        e = f
                    else:
                        b = (
                            m00 * means[mya, mxa, 3 + c]
                            + m01 * means[mya, mxb, 3 + c]
                            + m10 * means[myb, mxa, 3 + c]
                            + m11 * means[myb, mxb, 3 + c]
                        )
                        e = f + a * (image[y, x, c] * inv255 - a * f - (one - a) * b)
                    e = e * np.float32(255.0) + np.float32(0.5)
                    if e < 0.0:
                        e = 0.0
                    elif e > 255.0:
                        e = 255.0
                    rgba[y, x, c] = np.uint8(e)


@njit(cache=True)
def cell_starts(n_out: int, n_in: int) -> np.ndarray:
    """First full-size index of each working-grid cell (by nearest centre), plus n_out at the end.

    Parameters
    ----------
    n_out
        Full-size length of the axis (pixels).
    n_in
        Working-size length of the axis (cells).

    Returns
    -------
    (n_in + 1,) int32: cell j covers full-size indices starts[j] .. starts[j + 1] - 1 (empty
    when no pixel maps to it).
    """
    cells = nearest_cells(n_out, n_in)
    starts = np.full(n_in + 1, n_out, dtype=np.int32)
    for i in range(n_out - 1, -1, -1):
        starts[cells[i]] = i
    for j in range(n_in - 1, -1, -1):  # cells no pixel maps to (upscaling) start where the next one does
        if starts[j] > starts[j + 1]:
            starts[j] = starts[j + 1]
    return starts


@njit(cache=True)
def nearest_cells(n_out: int, n_in: int) -> np.ndarray:
    """Index of the working-grid cell whose centre is nearest each full-size pixel.

    Parameters
    ----------
    n_out
        Full-size length of the axis (pixels).
    n_in
        Working-size length of the axis (cells).

    Returns
    -------
    (n_out,) int32 cell indices, clamped to n_in - 1.
    """
    out = np.empty(n_out, dtype=np.int32)
    scale = n_in / n_out
    for i in range(n_out):
        out[i] = min(n_in - 1, int((i + 0.5) * scale))
    return out


def cell_state(alpha_work: np.ndarray) -> np.ndarray:
    """Classify each working-size cell as SOLID_OPAQUE, SOLID_CLEAR or MIXED for `cutout_rgba`.

    A cell is solid when it and its 8 neighbours are all 255 (or all 0): every full-size pixel of
    the cell interpolates only those, so its alpha is known without the per-pixel fit.

    Parameters
    ----------
    alpha_work
        hxw uint8 alpha at the working size.

    Returns
    -------
    hxw uint8 state.
    """
    import cv2

    k = np.ones((3, 3), np.uint8)
    opaque = cv2.erode((alpha_work == 255).astype(np.uint8), k, borderType=cv2.BORDER_REPLICATE)
    clear = cv2.erode((alpha_work == 0).astype(np.uint8), k, borderType=cv2.BORDER_REPLICATE)
    state = np.full(alpha_work.shape, MIXED, np.uint8)
    state[opaque > 0] = SOLID_OPAQUE
    state[clear > 0] = SOLID_CLEAR
    return state


def cutout_rgba_reference(
    image: np.ndarray,
    coef: np.ndarray,
    means: np.ndarray,
    state: np.ndarray,
    source_alpha: np.ndarray | None,
    estimate: bool,
) -> np.ndarray:
    """NumPy reference of `cutout_rgba` (whole-image arrays, float64); returns the RGBA.

    Parameters
    ----------
    image, coef, means, state, estimate
        As in `cutout_rgba`.
    source_alpha
        HxW uint8 input alpha, or None for an opaque input (`has_alpha` False).

    Returns
    -------
    HxWx4 uint8 cut-out (a new array; `cutout_rgba` writes in place).
    """
    H, W, _ = image.shape
    h, w = state.shape
    I = image / 255.0
    # The guided alpha has one definition: the fused kernels (this one, apply_upsampled and
    # composite_cells) inline it for speed, and their parity tests all hold them to this reference.
    alpha = apply_upsampled_reference(image, coef, source_alpha)
    ys = np.minimum(((np.arange(H) + 0.5) * h / H).astype(int), h - 1)
    xs = np.minimum(((np.arange(W) + 0.5) * w / W).astype(int), w - 1)
    st = state[ys][:, xs]
    opaque_fill = source_alpha if source_alpha is not None else 255
    alpha = np.where(st == SOLID_OPAQUE, opaque_fill, np.where(st == SOLID_CLEAR, 0, alpha)).astype(np.uint8)
    rgb = image.copy()
    rgb[st == SOLID_CLEAR] = 0
    if estimate:
        mu = upsample_reference(means, H, W)
        f, b = mu[..., :3], mu[..., 3:]
        a = (alpha / 255.0)[..., None]
        est = np.clip((f + a * (I - a * f - (1 - a) * b)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        fill = np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)
        mixed = st == MIXED
        rgb = np.where((mixed & (alpha > 0) & (alpha < 255))[..., None], est, rgb)
        rgb = np.where((mixed & (alpha == 0))[..., None], fill, rgb)
    return np.dstack([rgb, alpha])
