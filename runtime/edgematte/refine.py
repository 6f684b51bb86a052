"""The refine and foreground stages: the model's coarse map carried to the photo's own edges.

refine (still and live): the map is upsampled to the working size and a colour guided filter
(He & Sun 2015) is fitted there: in every window the map as a linear function of the RGB guide.
The averaged coefficients are what later stages apply at full resolution, so the alpha snaps to
the photo's edges where it has them and stays soft where the subject is (hair, fur). Where the
model's own transition is abrupt, a contrast is folded into the coefficients (crisp product
edges). The working-size alpha classifies each cell of the working grid as solid or mixed, so
full-resolution passes only compute per pixel where the edge is.

foreground (still): blur-fusion foreground colours (Forte & Pitie 2021), two passes at half
the working size, sampled at full size by the cut-out kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgematte.kernels.cutout import cell_state
from edgematte.kernels.foreground import foreground_means
from edgematte.kernels.guided import apply_upsampled, edge_hardness, guided_coefficients, sharpen_hard_edges
from edgematte.kernels.resize import resize_area_u8
from edgematte.kernels.sampling import resize_map
from edgematte.settings import ForegroundSettings, RefineSettings

# The "no source alpha" argument of the kernels that take one (Numba needs an array).
NO_ALPHA = np.empty((1, 1), np.uint8)


@dataclass
class Fit:
    """The refine stage's result, all at the working size."""

    coef: np.ndarray  # hxwx4 float32: guided-filter coefficients [a_r, a_g, a_b, b] for I in 0..1
    alpha: np.ndarray  # hxw uint8: the alpha they give at the working size
    state: np.ndarray  # hxw uint8: per cell SOLID_CLEAR / MIXED / SOLID_OPAQUE (kernels/cutout.py)
    guide: np.ndarray  # hxwx3 float32 0..1: the working image the filter was fitted to
    work: np.ndarray  # hxwx3 uint8: the same working image


def fit(work: np.ndarray, model_map: np.ndarray, s: RefineSettings) -> Fit:
    """The refine stage: fit the guided filter of a model map to the working image.

    Parameters
    ----------
    work
        hxwx3 uint8, the working image (infer.working_image).
    model_map
        float32 map in 0..1 at the model's resolution (infer.Prediction.map, or the live path's
        temporally smoothed map); upsampled bilinearly to the working size here.
    s
        Radius, eps and the hard-edge contrast (RefineSettings).
    """
    wh, ww = work.shape[:2]
    p = resize_map(np.ascontiguousarray(model_map, np.float32), ww, wh)
    guide = work.astype(np.float32) * np.float32(1.0 / 255.0)
    coef = guided_coefficients(guide, p, s.radius, s.eps)
    if s.alpha_gain != 1.0:
        coef = sharpen_hard_edges(coef, edge_hardness(p, s.hard_window, s.hard_lo, s.hard_hi), s.alpha_gain)
    alpha = apply_upsampled(work, coef, NO_ALPHA, False)
    return Fit(coef, alpha, cell_state(alpha), guide, work)


def foreground(f: Fit, s: ForegroundSettings) -> np.ndarray:
    """The foreground stage: local means [F~, B~] (h'xw'x6 float32, 0..1) for the cut-out kernel.

    Parameters
    ----------
    f
        The refine stage's fit (its guide and working-size alpha are used).
    s
        Whether to estimate, at what scale and with which radii (ForegroundSettings). When
        disabled, an empty field is returned and the cut-out keeps the photo's colours.
    """
    wh, ww = f.alpha.shape
    if not s.enabled:
        return np.zeros((1, 1, 6), np.float32)
    fw, fh = max(1, int(ww * s.scale)), max(1, int(wh * s.scale))
    inv255 = np.float32(1.0 / 255.0)
    fguide = resize_area_u8(f.work, fw, fh).astype(np.float32) * inv255  # 8-bit in: the C library's too
    fa = resize_area_u8(f.alpha, fw, fh).astype(np.float32) * inv255
    short = min(fw, fh)
    r_wide = max(2, round(short * s.radius_fraction))
    r_fine = max(1, round(short * s.fine_radius_fraction))
    return foreground_means(fguide, fa, r_wide, r_fine, s.eps)
