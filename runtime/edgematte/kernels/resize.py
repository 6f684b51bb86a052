"""uint8 resizes bit-exact to OpenCV's `cv2.resize` with INTER_AREA and INTER_LINEAR.

The INT8 models see every photo through these two resizes (INTER_AREA down to the working
size and to the model input, INTER_LINEAR up to it: infer.working_image / prepare_input), and a
+-1 change in one input value moves their output visibly. So the pixels are defined here,
exactly as OpenCV 5.0 computes them on the CPU (imgproc/src/resize.cpp: its scalar and SIMD
code agree bit for bit, and the IPP HAL declines both cases unless
`cv2.ipp.setUseIPP_NotExact(True)`), and the C library mirrors this module one to one: the same
tables, the same integer and float32 operations in the same order.

The convention. Per axis inv_scale = dst / src and scale = 1 / inv_scale, in double, as OpenCV
derives them (not src / dst, which can differ in the last bit: 1 / (1 / 49) = 48.99999999999999,
so a 49x reduction is not an "integer" one). An axis is integer when |scale - rint(scale)| <
DBL_EPSILON. rint rounds half to even (cvRound, lrintf); float32(x) rounds to nearest even.

- Same size: a copy.
- INTER_AREA, scale >= 1 on both axes, both integer (ix, iy): the box sum s of iy x ix pixels;
  (s + 2) >> 2 for 2 x 2 with 1, 3 or 4 channels, else rint(float32(s) * (1.f / (ix * iy))).
- INTER_AREA, scale >= 1 on both axes, otherwise: per axis a table of (dst, src, weight)
  entries (`area_table`: OpenCV's computeResizeAreaTab, double maths, weights cast to
  float32). dst = rint(sum_j wy_j * (sum_k wx_k * float32(src[sy_j, sx_k]))), clamped to
  0..255: every product and sum rounded to float32, k and j in table order, each sum starting
  from its first term.
- INTER_AREA with scale < 1 on an axis: INTER_LINEAR below with "area" coordinates on both
  axes: s = floor(d * scale), f = float32((d + 1) - (s + 1) * inv_scale), f = 0 if f <= 0
  else f - floor(f).
- INTER_LINEAR, both axes integer 2: the INTER_AREA 2 x 2 box above (OpenCV switches too).
- INTER_LINEAR: 11-bit fixed point. Per axis f = float32((d + 0.5) * scale - 0.5),
  s = floor(f), f = f - s (float32); weights w0 = rint((1.f - f) * 2048) and
  w1 = rint(f * 2048), int16, each rounded on its own. Along x, s < 0 becomes s = 0, f = 0, and
  from the first dx with s + 1 >= W on, a column is src[W - 1] * 2048. Along y, s and the
  weights stay as computed and the rows s, s + 1 are clamped into the image. Row pass
  h = src[s] * w0 + src[s + 1] * w1 (int32), then
  dst = (((w0y * (h0 >> 4)) >> 16) + ((w1y * (h1 >> 4)) >> 16) + 2) >> 2.

Only IEEE float32 (round to nearest even, no FMA contraction) and integer operations occur,
in a fixed order. Hence the kernels are compiled without fast-math (not with
`parallel_kernel`), and the C port must be built without -ffast-math and with
-ffp-contract=off (GCC fuses a * b + c into an FMA by default where the target has one).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from edgematte.kernels import exact_kernel

COEF_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS
COEF_SCALE = 1 << COEF_BITS
_DBL_EPSILON = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------
# Coefficient tables: double maths as OpenCV does it (NumPy, or Numba without fast-math)
# ---------------------------------------------------------------------------------------------


def _scales(src_len: int, dst_len: int) -> tuple[float, float, int, bool]:
    """(inv_scale, scale, iscale, is_integer) of one axis, as cv::resize / hal::resize get them."""
    inv_scale = dst_len / src_len
    scale = 1.0 / inv_scale
    iscale = round(scale)  # saturate_cast<int>(double): round half to even
    return inv_scale, scale, iscale, abs(scale - iscale) < _DBL_EPSILON


@njit(cache=True)
def area_table(src_len: int, dst_len: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One axis of the INTER_AREA weights (OpenCV's computeResizeAreaTab), double maths.

    Parameters
    ----------
    src_len, dst_len
        Axis lengths (dst_len <= src_len).
    scale
        1 / (dst_len / src_len) in double (see the module docstring).

    Returns
    -------
    (start, src, weight): int32 start[dst_len + 1]; the entries start[d] .. start[d+1]-1 of
    int32 src (source index) and float32 weight (the double weight rounded to nearest), in
    this order, make dst index d.
    """
    start = np.empty(dst_len + 1, np.int32)
    src = np.empty(2 * src_len + 2, np.int32)
    wt = np.empty(2 * src_len + 2, np.float32)
    k = 0
    for d in range(dst_len):
        start[d] = k
        fs1 = d * scale
        fs2 = fs1 + scale
        cell = min(scale, src_len - fs1)
        s2 = min(math.floor(fs2), src_len - 1)
        s1 = min(math.ceil(fs1), s2)
        if s1 - fs1 > 1e-3:
            src[k] = s1 - 1
            wt[k] = np.float32((s1 - fs1) / cell)
            k += 1
        for s in range(s1, s2):
            src[k] = s
            wt[k] = np.float32(1.0 / cell)
            k += 1
        if fs2 - s2 > 1e-3:
            src[k] = s2
            wt[k] = np.float32(min(min(fs2 - s2, 1.0), cell) / cell)
            k += 1
    start[dst_len] = k
    return start, src[:k].copy(), wt[:k].copy()


def linear_axis(
    src_len: int, dst_len: int, scale: float, inv_scale: float, area_mode: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Raw source index and float32 fraction per dst index (no border handling yet).

    area_mode: the coefficients OpenCV uses for INTER_AREA when it upscales.
    """
    d = np.arange(dst_len, dtype=np.float64)
    if not area_mode:
        f = ((d + 0.5) * scale - 0.5).astype(np.float32)
        s = np.floor(f)  # float32, exact
        f = (f - s).astype(np.float32)
    else:
        s = np.floor(d * scale)
        f = ((d + 1.0) - (s + 1.0) * inv_scale).astype(np.float32)
        f = np.where(f <= 0, np.float32(0), f - np.floor(f)).astype(np.float32)
    return s.astype(np.int64).astype(np.int32), f


def _weights(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """11-bit weights of (1 - f, f): each rounded half to even on its own (float32 maths)."""
    one = np.float32(1.0)
    w0 = np.rint((one - f).astype(np.float32) * np.float32(COEF_SCALE)).astype(np.int16)
    w1 = np.rint(f * np.float32(COEF_SCALE)).astype(np.int16)
    return w0, w1


def linear_tables(
    src_w: int, src_h: int, dst_w: int, dst_h: int, area_mode: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """INTER_LINEAR fixed-point tables, borders applied as OpenCV's hal::resize does.

    Returns
    -------
    (xofs, xw0, xw1, xmax, yofs, yw0, yw1): int32 xofs (source column, clamped) and int16
    weights per dst column, xmax the first dst column that is src[W-1] * 2048; int32 yofs
    (unclamped: rows yofs and yofs + 1 are clamped when read) and int16 weights per dst row.
    """
    inv_x, scale_x, _, _ = _scales(src_w, dst_w)
    inv_y, scale_y, _, _ = _scales(src_h, dst_h)
    sx, fx = linear_axis(src_w, dst_w, scale_x, inv_x, area_mode)
    sy, fy = linear_axis(src_h, dst_h, scale_y, inv_y, area_mode)
    left = sx < 0
    sx[left] = 0
    fx[left] = 0
    right = sx + 1 >= src_w
    xmax = int(np.argmax(right)) if right.any() else dst_w
    last = sx >= src_w - 1
    sx[last] = src_w - 1
    fx[last] = 0
    xw0, xw1 = _weights(fx)
    yw0, yw1 = _weights(fy)
    return sx, xw0, xw1, xmax, sy, yw0, yw1


# ---------------------------------------------------------------------------------------------
# Numba kernels
# ---------------------------------------------------------------------------------------------


@exact_kernel
def _area_box(src: np.ndarray, ix: int, iy: int, dw: int, dh: int, shift2: bool) -> np.ndarray:
    """Integer-factor INTER_AREA: iy x ix box sums s, then (s + 2) >> 2 or rint(float32(s) * (1.f / area))."""
    H, W, C = src.shape
    flat = src.reshape(H, W * C)
    n = dw * C
    out = np.empty((dh, dw, C), np.uint8)
    oflat = out.reshape(dh, n)
    inv = np.float32(1.0) / np.float32(ix * iy)
    for dy in prange(dh):
        acc = np.zeros(n, np.int32)
        for yy in range(dy * iy, dy * iy + iy):
            for dx in range(dw):
                o = dx * C
                p = o * ix
                for xx in range(ix):
                    for c in range(C):
                        acc[o + c] += np.int32(flat[yy, p + xx * C + c])
        if shift2:
            for i in range(n):
                oflat[dy, i] = np.uint8((acc[i] + 2) >> 2)
        else:
            for i in range(n):
                v = np.int32(np.rint(np.float32(acc[i]) * inv))
                oflat[dy, i] = np.uint8(min(max(v, 0), 255))
    return out


@exact_kernel
def _area_weighted(
    src: np.ndarray,
    dw: int,
    dh: int,
    xstart: np.ndarray,
    xsrc: np.ndarray,
    xwt: np.ndarray,
    ystart: np.ndarray,
    ysrc: np.ndarray,
    ywt: np.ndarray,
) -> np.ndarray:
    """Non-integer INTER_AREA, one task per dst row.

    For each contributing source row j the float32 row pass t = sum_k wx_k * src is folded
    into acc = wy_0 * t_0 + wy_1 * t_1 + ... as soon as it is known (the same operations, in
    the same order, as OpenCV's buffer of a whole row).
    """
    H, W, C = src.shape
    flat = src.reshape(H, W * C)
    out = np.empty((dh, dw, C), np.uint8)
    oflat = out.reshape(dh, dw * C)
    for dy in prange(dh):
        acc = np.empty(dw * C, np.float32)
        j0 = ystart[dy]
        for j in range(j0, ystart[dy + 1]):
            row = ysrc[j]
            beta = ywt[j]
            first = j == j0
            if C == 3:  # the common case, with the channel loop unrolled (same operations)
                for dx in range(dw):
                    t0 = np.float32(0.0)
                    t1 = np.float32(0.0)
                    t2 = np.float32(0.0)
                    for k in range(xstart[dx], xstart[dx + 1]):
                        p = xsrc[k] * 3
                        a = xwt[k]
                        t0 = t0 + np.float32(flat[row, p]) * a
                        t1 = t1 + np.float32(flat[row, p + 1]) * a
                        t2 = t2 + np.float32(flat[row, p + 2]) * a
                    o = dx * 3
                    if first:
                        acc[o] = beta * t0
                        acc[o + 1] = beta * t1
                        acc[o + 2] = beta * t2
                    else:
                        acc[o] = acc[o] + beta * t0
                        acc[o + 1] = acc[o + 1] + beta * t1
                        acc[o + 2] = acc[o + 2] + beta * t2
            else:
                for dx in range(dw):
                    for c in range(C):
                        t = np.float32(0.0)
                        for k in range(xstart[dx], xstart[dx + 1]):
                            t = t + np.float32(flat[row, xsrc[k] * C + c]) * xwt[k]
                        o = dx * C + c
                        if first:
                            acc[o] = beta * t
                        else:
                            acc[o] = acc[o] + beta * t
        for i in range(dw * C):
            v = np.int32(np.rint(acc[i]))
            oflat[dy, i] = np.uint8(min(max(v, 0), 255))
    return out


@njit(cache=True, inline="always")
def _row_pass(
    flat: np.ndarray, r: int, C: int, xofs: np.ndarray, xw0: np.ndarray, xw1: np.ndarray, xmax: int, h: np.ndarray
) -> None:
    """INTER_LINEAR row pass of source row r into h (int32, dw * C): weighted pair, then the edge."""
    dw = xofs.shape[0]
    for dx in range(dw):
        s0 = xofs[dx] * C
        if dx < xmax:
            a0 = np.int32(xw0[dx])
            a1 = np.int32(xw1[dx])
            for c in range(C):
                h[dx * C + c] = np.int32(flat[r, s0 + c]) * a0 + np.int32(flat[r, s0 + C + c]) * a1
        else:
            for c in range(C):
                h[dx * C + c] = np.int32(flat[r, s0 + c]) * np.int32(COEF_SCALE)


@exact_kernel
def _linear_fixed(
    src: np.ndarray,
    dw: int,
    dh: int,
    xofs: np.ndarray,
    xw0: np.ndarray,
    xw1: np.ndarray,
    xmax: int,
    yofs: np.ndarray,
    yw0: np.ndarray,
    yw1: np.ndarray,
) -> np.ndarray:
    """INTER_LINEAR 11-bit fixed point, one task per band of dst rows.

    A band keeps the row passes of its last two source rows (as OpenCV does) and combines
    them per dst row.
    """
    H, W, C = src.shape
    flat = src.reshape(H, W * C)
    n = dw * C
    out = np.empty((dh, dw, C), np.uint8)
    oflat = out.reshape(dh, n)
    nbands = max(1, min(32, dh // 8))
    step = (dh + nbands - 1) // nbands
    for b in prange(nbands):
        ha = np.empty(n, np.int32)
        hb = np.empty(n, np.int32)
        ra = -1
        rb = -1
        for dy in range(b * step, min(dh, (b + 1) * step)):
            r0 = min(max(yofs[dy], 0), H - 1)
            r1 = min(max(yofs[dy] + 1, 0), H - 1)
            if r0 != ra and r0 != rb:
                if rb == r1:
                    _row_pass(flat, r0, C, xofs, xw0, xw1, xmax, ha)
                    ra = r0
                else:
                    _row_pass(flat, r0, C, xofs, xw0, xw1, xmax, hb)
                    rb = r0
            if r1 != ra and r1 != rb:
                if ra == r0:
                    _row_pass(flat, r1, C, xofs, xw0, xw1, xmax, hb)
                    rb = r1
                else:
                    _row_pass(flat, r1, C, xofs, xw0, xw1, xmax, ha)
                    ra = r1
            h0 = ha if ra == r0 else hb
            h1 = ha if ra == r1 else hb
            b0 = np.int32(yw0[dy])
            b1 = np.int32(yw1[dy])
            for i in range(n):
                v = (((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16) + 2) >> 2
                oflat[dy, i] = np.uint8(min(max(v, 0), 255))
    return out


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def _as_hwc(src: np.ndarray) -> np.ndarray:
    if src.dtype != np.uint8 or src.ndim not in (2, 3) or (src.ndim == 3 and not 1 <= src.shape[2] <= 4):
        raise ValueError(f"expected uint8 HxW or HxWxC (C = 1..4), got {src.dtype} {src.shape}")
    x = np.ascontiguousarray(src)
    return x.reshape(x.shape[0], x.shape[1], 1) if x.ndim == 2 else x


def _box(x: np.ndarray, width: int, height: int, ix: int, iy: int) -> np.ndarray:
    H, W, C = x.shape
    if ix * width != W or iy * height != H:  # is_integer implies it; checked, not assumed
        raise AssertionError(f"integer-factor area resize {W}x{H} -> {width}x{height} is not exact")
    return _area_box(x, ix, iy, width, height, ix == 2 and iy == 2 and C != 2)


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"output size must be positive, got {width}x{height}")


def resize_area_u8(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """`cv2.resize(src, (width, height), interpolation=cv2.INTER_AREA)`, bit for bit.

    Parameters
    ----------
    src
        uint8 HxW or HxWxC (C = 1..4).
    width, height
        Output size (any: upscaling takes OpenCV's linear variant).

    Returns
    -------
    uint8 height x width (x C when src has a channel axis; cv2 drops a channel axis of 1).
    """
    _check_size(width, height)
    x = _as_hwc(src)
    H, W, _ = x.shape
    if (width, height) == (W, H):
        out = x.copy()
    else:
        _, scale_x, ix, int_x = _scales(W, width)
        _, scale_y, iy, int_y = _scales(H, height)
        if scale_x >= 1 and scale_y >= 1:
            if int_x and int_y:
                out = _box(x, width, height, ix, iy)
            else:
                xs, xi, xw = area_table(W, width, scale_x)
                ys, yi, yw = area_table(H, height, scale_y)
                out = _area_weighted(x, width, height, xs, xi, xw, ys, yi, yw)
        else:
            out = _linear_fixed(x, width, height, *linear_tables(W, H, width, height, area_mode=True))
    return out.reshape(out.shape[0], out.shape[1]) if src.ndim == 2 else out


def resize_linear_u8(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """`cv2.resize(src, (width, height), interpolation=cv2.INTER_LINEAR)`, bit for bit.

    Parameters
    ----------
    src
        uint8 HxW or HxWxC (C = 1..4).
    width, height
        Output size (any).

    Returns
    -------
    uint8 height x width (x C when src has a channel axis).
    """
    _check_size(width, height)
    x = _as_hwc(src)
    H, W, _ = x.shape
    if (width, height) == (W, H):
        out = x.copy()
    else:
        _, _, ix, int_x = _scales(W, width)
        _, _, iy, int_y = _scales(H, height)
        if int_x and int_y and ix == 2 and iy == 2:
            out = _box(x, width, height, 2, 2)
        else:
            out = _linear_fixed(x, width, height, *linear_tables(W, H, width, height, area_mode=False))
    return out.reshape(out.shape[0], out.shape[1]) if src.ndim == 2 else out


# ---------------------------------------------------------------------------------------------
# NumPy references (same definition, vectorised over whole rows / columns), for parity tests
# ---------------------------------------------------------------------------------------------


def _box_reference(x: np.ndarray, width: int, height: int, ix: int, iy: int) -> np.ndarray:
    C = x.shape[2]
    s = x.reshape(height, iy, width, ix, C).astype(np.int64).sum(axis=(1, 3))
    if ix == 2 and iy == 2 and C != 2:
        return ((s + 2) >> 2).astype(np.uint8)
    inv = np.float32(1.0) / np.float32(ix * iy)
    return np.clip(np.rint(s.astype(np.float32) * inv), 0, 255).astype(np.uint8)


def _weighted_sum_reference(
    values: np.ndarray, start: np.ndarray, idx: np.ndarray, wt: np.ndarray, axis: int
) -> np.ndarray:
    """sum_k wt_k * values[idx_k] along `axis` in table order, float32, the first term as is."""
    counts = np.diff(start)
    n = len(counts)
    moved = np.moveaxis(values, axis, 0)
    out = np.zeros((n, *moved.shape[1:]), np.float32)
    for m in range(int(counts.max())):
        d = np.nonzero(counts > m)[0]  # dst indices with an m-th entry
        k = start[d] + m
        bshape = (-1,) + (1,) * (moved.ndim - 1)
        term = moved[idx[k]].astype(np.float32) * wt[k].reshape(bshape)
        out[d] = term if m == 0 else out[d] + term
    return np.moveaxis(out, 0, axis)


def _linear_reference(x: np.ndarray, width: int, height: int, area_mode: bool) -> np.ndarray:
    H, W = x.shape[:2]
    xofs, xw0, xw1, xmax, yofs, yw0, yw1 = linear_tables(W, H, width, height, area_mode)
    s = x.astype(np.int32)
    x1 = np.minimum(xofs + 1, W - 1)  # only read where dx < xmax (there xofs + 1 < W)
    h = s[:, xofs] * xw0[None, :, None].astype(np.int32) + s[:, x1] * xw1[None, :, None].astype(np.int32)
    h[:, xmax:] = s[:, xofs[xmax:]] * COEF_SCALE
    h0 = h[np.clip(yofs, 0, H - 1)] >> 4
    h1 = h[np.clip(yofs + 1, 0, H - 1)] >> 4
    b0 = yw0.astype(np.int32)[:, None, None]
    b1 = yw1.astype(np.int32)[:, None, None]
    return np.clip((((b0 * h0) >> 16) + ((b1 * h1) >> 16) + 2) >> 2, 0, 255).astype(np.uint8)


def resize_area_u8_reference(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """Plain-NumPy `resize_area_u8` (same tables and arithmetic order), for parity tests.

    Parameters
    ----------
    src
        uint8 HxW or HxWxC (C = 1..4).
    width, height
        Output size.

    Returns
    -------
    uint8, shaped as `resize_area_u8` returns it.
    """
    _check_size(width, height)
    x = _as_hwc(src)
    H, W, _ = x.shape
    _, scale_x, ix, int_x = _scales(W, width)
    _, scale_y, iy, int_y = _scales(H, height)
    if (width, height) == (W, H):
        out = x.copy()
    elif scale_x >= 1 and scale_y >= 1 and int_x and int_y:
        out = _box_reference(x, width, height, ix, iy)
    elif scale_x >= 1 and scale_y >= 1:
        rows = _weighted_sum_reference(x, *area_table(W, width, scale_x), axis=1)  # H x width x C
        acc = _weighted_sum_reference(rows, *area_table(H, height, scale_y), axis=0)
        out = np.clip(np.rint(acc), 0, 255).astype(np.uint8)
    else:
        out = _linear_reference(x, width, height, area_mode=True)
    return out.reshape(out.shape[0], out.shape[1]) if src.ndim == 2 else out


def resize_linear_u8_reference(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """Plain-NumPy `resize_linear_u8`, for parity tests.

    Parameters
    ----------
    src
        uint8 HxW or HxWxC (C = 1..4).
    width, height
        Output size.

    Returns
    -------
    uint8, shaped as `resize_linear_u8` returns it.
    """
    _check_size(width, height)
    x = _as_hwc(src)
    H, W, _ = x.shape
    _, _, ix, int_x = _scales(W, width)
    _, _, iy, int_y = _scales(H, height)
    if (width, height) == (W, H):
        out = x.copy()
    elif int_x and int_y and ix == 2 and iy == 2:
        out = _box_reference(x, width, height, 2, 2)
    else:
        out = _linear_reference(x, width, height, area_mode=False)
    return out.reshape(out.shape[0], out.shape[1]) if src.ndim == 2 else out
