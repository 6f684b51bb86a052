"""Despill: soft-band pixels whose colour says "old backdrop" lose the alpha the filter gave them.

Blur fusion (refine.foreground) fixes the colour of a soft pixel, not its alpha. Where the guided
filter lets alpha spill past the subject onto the backdrop (a table edge, a curtain fold, the
model's map a little too wide), the pixel is cut out with the backdrop's own colour, and on the
new background it draws an outline of the old one: on black, a pale rim round a product shot on
white. The local means know better: each soft pixel has a local subject colour F~ and a local
backdrop colour B~, and where they differ clearly the pixel's own colour places it on the line
between them, alpha_c = (I - B~) . (F~ - B~) / |F~ - B~|^2 (the colour-line estimate of
Bayesian and closed-form matting, per pixel). A pixel that sits at the backdrop end of its
line keeps at most alpha_c + `slack` of its alpha; alpha is never raised, pixels the filter
made mostly subject (alpha >= `despill_below`) are left alone, and where F~ and B~ are too
alike to tell apart (a white product on white) nothing changes. Both cut-offs are ramps
(`despill_ramp`), so no alpha jumps where a pixel crosses one. Its colour stays blur fusion's
(recomputing it with the lower alpha, or clearing it, measured worse against lemur_cc0's exact
colours).

Plain NumPy over the soft pixels only (0 < alpha < 255), after the cut-out kernel.
"""

from __future__ import annotations

import numpy as np

from edgematte.kernels.sampling import axis_weights
from edgematte.settings import ForegroundSettings


def _sample(means: np.ndarray, ys: np.ndarray, xs: np.ndarray, H: int, W: int) -> np.ndarray:
    """Bilinear samples (N x 6) of the means field at full-size pixels, the cut-out kernel's grid."""
    mh, mw, _ = means.shape
    y0, y1, wy = (a[ys] for a in axis_weights(H, mh))
    x0, x1, wx = (a[xs] for a in axis_weights(W, mw))
    wy, wx = wy[:, None], wx[:, None]
    top = means[y0, x0] * (1 - wx) + means[y0, x1] * wx
    bottom = means[y1, x0] * (1 - wx) + means[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def despill(rgb: np.ndarray, rgba: np.ndarray, means: np.ndarray, s: ForegroundSettings) -> int:
    """Lower the alpha of soft pixels whose colour is the local backdrop's, in place.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo.
    rgba
        HxWx4 uint8, its cut-out after the cut-out kernel (changed in place).
    means
        h'xw'x6 float32 [F~, B~] in 0..1 (refine.foreground), sampled as the kernel samples them.
    s
        `despill_separation` (how different F~ and B~ must be), `despill_below` (which soft
        pixels are judged), `despill_slack` and `despill_ramp` (the width of both cut-offs).

    Returns
    -------
    How many pixels lost alpha.
    """
    H, W = rgba.shape[:2]
    a8 = rgba[..., 3]
    ys, xs = np.nonzero((a8 > 0) & (a8 < 255))
    if ys.size == 0:
        return 0
    m = _sample(means, ys, xs, H, W)
    f, b = m[:, :3], m[:, 3:]
    i = rgb[ys, xs].astype(np.float32) * np.float32(1.0 / 255.0)
    d = f - b
    dd = (d * d).sum(axis=1)
    t = ((i - b) * d).sum(axis=1) / np.maximum(dd, 1e-8)
    a = a8[ys, xs].astype(np.float32) * np.float32(1.0 / 255.0)
    ramp = max(s.despill_ramp, 1e-6)
    # How much of the correction applies: 1 well inside both cut-offs, 0 outside, linear between.
    by_alpha = np.clip((s.despill_below + ramp / 2 - a) / ramp, 0.0, 1.0)
    sep = max(s.despill_separation, 1e-6)
    by_separation = np.clip((np.sqrt(dd) / sep - (1 - ramp)) / (2 * ramp), 0.0, 1.0)
    w = by_alpha * by_separation
    new = a - w * (a - np.minimum(a, np.clip(t, 0.0, 1.0) + s.despill_slack))
    lower = new < a - 0.5 / 255.0
    if not lower.any():
        return 0
    ys, xs = ys[lower], xs[lower]
    rgba[ys, xs, 3] = np.round(new[lower] * 255.0).astype(np.uint8)
    return int(lower.sum())
