"""The temporal stage at full resolution: the frame's alpha mixed with the previous frame's
where the picture is still, fused with the compose pass of the live path.

Why: the guided filter's alpha is a . I + b on the full-size frame, so a camera's sensor noise
goes straight into the alpha along the outline (a is large across an edge). Measured on a still
person with 3-level noise: 97% of the edge flicker comes from there, 3% from the model's map.
Mixing the map over time cannot remove it; mixing the alpha can, where the picture did not
move (the stillness the map-level stage measured, per cell of the working grid), so nothing
that moves is held back.

Per pixel of a mixed cell (solid cells are 0 or 255 as they are):
    a_new = clamp(a . I + b, 0, 1) * 255                  (the guided alpha, as composite_cells)
    a     = round(a_new + w * stillness_cell * (a_prev - a_new))
    out   = round(a/255 F + (1 - a/255) B)                  (composite output)
and `previous` (HxW uint8) becomes a, for the next frame.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from edgematte.kernels import parallel_kernel
from edgematte.kernels.cutout import MIXED, SOLID_OPAQUE, cell_starts, nearest_cells
from edgematte.kernels.sampling import axis_weights, upsample_reference


@parallel_kernel
def _stable_rows(
    frame: np.ndarray,
    coef: np.ndarray,
    state: np.ndarray,
    stillness: np.ndarray,
    weight: float,
    previous: np.ndarray,
    bg: np.ndarray,
    composite: bool,
    out: np.ndarray,
) -> None:
    """`stable_alpha_cells` on byte rows: frame, bg and out are Hx(3W) views (see there)."""
    H, W = previous.shape
    h, w, _ = coef.shape
    y0s, y1s, wys = axis_weights(H, h)
    x0s, x1s, wxs = axis_weights(W, w)
    cell_y = nearest_cells(H, h)
    starts = cell_starts(W, w)
    inv255 = np.float32(1.0 / 255.0)
    one = np.float32(1.0)
    wt = np.float32(weight)
    for y in prange(H):
        cy = cell_y[y]
        ya, yb, fy = y0s[y], y1s[y], wys[y]
        gy = one - fy
        cx = 0
        while cx < w:
            st = state[cy, cx]
            if st != MIXED:
                # A run of solid cells of one kind: one flat copy (vectorised), not cell by cell.
                end = cx + 1
                while end < w and state[cy, end] == st:
                    end += 1
                xs, xe = starts[cx], starts[end]
                # Slices, not element loops: measured 6x faster here (LLVM vectorises the copy).
                previous[y, xs:xe] = np.uint8(255) if st == SOLID_OPAQUE else np.uint8(0)
                if composite:
                    if st == SOLID_OPAQUE:
                        out[y, 3 * xs : 3 * xe] = frame[y, 3 * xs : 3 * xe]
                    else:
                        out[y, 3 * xs : 3 * xe] = bg[y, 3 * xs : 3 * xe]
                cx = end
                continue
            k = wt * stillness[cy, cx]
            for x in range(starts[cx], starts[cx + 1]):
                xa, xb, fx = x0s[x], x1s[x], wxs[x]
                gx = one - fx
                w00, w01, w10, w11 = gy * gx, gy * fx, fy * gx, fy * fx
                q = w00 * coef[ya, xa, 3] + w01 * coef[ya, xb, 3] + w10 * coef[yb, xa, 3] + w11 * coef[yb, xb, 3]
                for c in range(3):
                    ac = w00 * coef[ya, xa, c] + w01 * coef[ya, xb, c] + w10 * coef[yb, xa, c] + w11 * coef[yb, xb, c]
                    q += ac * (frame[y, 3 * x + c] * inv255)
                q = min(max(q, np.float32(0.0)), one) * np.float32(255.0)
                a8 = np.uint8(q + k * (np.float32(previous[y, x]) - q) + np.float32(0.5))
                previous[y, x] = a8
                if composite:
                    af = np.float32(a8) * inv255
                    for c in range(3):
                        i = 3 * x + c
                        out[y, i] = np.uint8(af * frame[y, i] + (one - af) * bg[y, i] + np.float32(0.5))
            cx += 1


def stable_alpha_cells(
    frame: np.ndarray,
    coef: np.ndarray,
    state: np.ndarray,
    stillness: np.ndarray,
    weight: float,
    previous: np.ndarray,
    bg: np.ndarray,
    composite: bool,
    out: np.ndarray,
) -> None:
    """The live path's alpha mixed over time (in `previous`) and, optionally, its composite.

    Parameters
    ----------
    frame
        HxWx3 uint8 camera frame, C-contiguous (the guide I, read as 0..1).
    coef
        hxwx4 float32 guided-filter coefficients at the working size (bilinearly upsampled).
    state
        hxw uint8 per working-size cell: 0 clear, 1 mixed, 255 opaque (`cutout.cell_state`).
    stillness
        hxw float32 in 0..1 per working-size cell: 1 where the picture did not move.
    weight
        The previous alpha's weight where stillness is 1 (TemporalSettings.alpha_weight).
    previous
        HxW uint8: the previous frame's alpha on entry, this frame's on return.
    bg
        HxWx3 uint8 background, C-contiguous (read only when `composite`).
    composite
        Also write a F + (1 - a) B (F = the frame, a the 8-bit alpha, rounded) into `out`.
    out
        HxWx3 uint8 composite output, C-contiguous (ignored when not `composite`: pass 1x1x3).
    """

    def rows(a: np.ndarray) -> np.ndarray:
        return a.reshape(a.shape[0], a.shape[1] * 3)  # a view: the kernel copies runs of bytes

    _stable_rows(rows(frame), coef, state, stillness, weight, previous, rows(bg), composite, rows(out))


def stable_alpha_reference(
    frame: np.ndarray,
    coef: np.ndarray,
    state: np.ndarray,
    stillness: np.ndarray,
    weight: float,
    previous: np.ndarray,
    bg: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy `stable_alpha_cells`: (new alpha HxW uint8, composite HxWx3 uint8)."""
    H, W, _ = frame.shape
    h, w = state.shape
    ys = np.minimum(((np.arange(H) + 0.5) * h / H).astype(int), h - 1)
    xs = np.minimum(((np.arange(W) + 0.5) * w / W).astype(int), w - 1)
    st = state[ys][:, xs]
    k = weight * stillness[ys][:, xs]
    cu = upsample_reference(coef, H, W)  # the guided alpha's one definition (guided.py)
    q = np.clip((cu[..., :3] * (frame / 255.0)).sum(-1) + cu[..., 3], 0, 1) * 255.0
    a = np.floor(q + k * (previous.astype(np.float64) - q) + 0.5)
    a = np.where(st == SOLID_OPAQUE, 255, np.where(st == MIXED, a, 0)).astype(np.int64)
    af = a[..., None] / 255.0
    comp = np.where(
        (st == MIXED)[..., None], np.floor(af * frame + (1 - af) * bg + 0.5), np.where(a[..., None] == 255, frame, bg)
    )
    return a.astype(np.uint8), comp.astype(np.uint8)
