"""Studio mode: known-backdrop matting, so glass and clear plastic stay partly transparent.

A segmentation model says *where* the product is, and a glass on white comes out as a solid
cut-out showing the old white through it. On a studio photo the backdrop is known: it is what
surrounds the product (a paper sweep, a light tent: uniform white or a smooth gradient). So:

1. `fit_backdrop`: outside the subject (the model's alpha, dilated) a quadratic surface per
   channel is fitted to the working image (robust: one refit without the outliers, such as a
   contact shadow). When it does not fit (a room, a table, a cloth) the photo is not a studio
   shot and studio mode leaves it alone.
2. `apply`: inside the subject, alpha follows how much each pixel differs from the backdrop
   there (a difference matte, the one-backdrop case of Smith & Blinn, "Blue screen matting",
   SIGGRAPH 1996): a pixel that differs by `opaque_difference` levels or more is opaque; one
   that shows the backdrop unchanged is clear. The colour is then what the pixel adds to the
   backdrop, F = B + (I - B) / alpha, so a new background shows through the glass as the old
   one did: composited, a F + (1 - alpha) N = I + (1 - alpha) (N - B).

Opaque products differ from their backdrop by far more than `opaque_difference` and keep the
model's alpha. Two rules keep parts of opaque products that share the backdrop's colour: one
that runs out to the backdrop without a visible edge keeps the model's alpha (the outline
decides there), and where the model is sure, alpha never drops below half. A white product on a
white backdrop still thins: studio mode is for photos with transparent products
(`edgematte remove --studio`).
Plain NumPy and OpenCV over the subject's box; its cost is in `Matte.timings['studio']`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgematte.settings import StudioSettings

# The subject, for the backdrop fit: where the model's alpha is above this (0..255).
_SUBJECT_ALPHA = 10
# One refit without the samples further than this many RMS residuals (shadows, dust, a stray prop).
_OUTLIER_SIGMAS = 2.5
# Below this share of inliers after the refit, the surroundings are not one smooth backdrop.
_MIN_INLIERS = 0.8
# Where the model's alpha is at least _SURE, studio mode keeps at least _SURE_FLOOR of it: the
# product's mask (alpha > 127) is the model's, so opaque products keep their IoU (measured:
# lemur_cc0 on white loses 2.4 IoU points without the floor; the glass shots keep most of their gain).
_SURE = 0.99
_SURE_FLOOR = 0.5


@dataclass(frozen=True)
class BackdropModel:
    """A smooth backdrop: per channel c0 + c1 u + c2 v + c3 u^2 + c4 u v + c5 v^2 over u, v in 0..1."""

    coef: np.ndarray  # 6 x 3 float64
    residual: float  # RMS of the fit on its inlier samples, levels
    share: float  # the share of the frame that was backdrop samples

    def at(self, height: int, width: int, rows: slice, cols: slice) -> np.ndarray:
        """The backdrop's colours (float32 levels, h x w x 3) over rows x cols of a height x width image.

        Parameters
        ----------
        height, width
            The image's size (the surface is defined over the whole frame in 0..1 coordinates).
        rows, cols
            The part of it to evaluate (slices with explicit start and stop).
        """
        v = ((np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5) / height)[:, None, None]
        u = ((np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5) / width)[None, :, None]
        c = self.coef.astype(np.float32)
        return c[0] + c[1] * u + c[2] * v + c[3] * u * u + c[4] * u * v + c[5] * v * v


def _monomials(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)


def fit_backdrop(work: np.ndarray, alpha: np.ndarray, s: StudioSettings) -> tuple[BackdropModel | None, str]:
    """The backdrop model of a photo, or None and why it is not a studio shot.

    Parameters
    ----------
    work
        hxwx3 uint8, the working image.
    alpha
        hxw uint8, the model's alpha at the working size (refine.Fit.alpha).
    s
        Margin, minimum backdrop share and the largest RMS residual (StudioSettings).

    Returns
    -------
    (model, note)
        The fitted BackdropModel and a one-line note ("backdrop fits to 2.1 levels RMS"), or None
        and the reason ("backdrop is not smooth: 14.0 levels RMS, at most 6").
    """
    import cv2

    h, w = alpha.shape
    r = max(1, round(s.margin * max(h, w)))
    near = cv2.dilate((alpha > _SUBJECT_ALPHA).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    ys, xs = np.nonzero(near == 0)
    share = ys.size / float(h * w)
    if share < s.min_backdrop:
        need = 100 * s.min_backdrop
        return None, f"not a studio shot: {100 * share:.0f}% of the frame is backdrop (at least {need:.0f}%)"
    step = max(1, int(np.sqrt(ys.size / 20000)))  # ~20,000 samples are plenty for 18 numbers
    ys, xs = ys[::step], xs[::step]
    a = _monomials((xs + 0.5) / w, (ys + 0.5) / h)
    y = work[ys, xs].astype(np.float64)
    keep = np.ones(len(ys), bool)
    for _ in range(2):
        coef = np.linalg.lstsq(a[keep], y[keep], rcond=None)[0]
        err = np.abs(a @ coef - y).max(axis=1)
        rms = float(np.sqrt(np.mean((a[keep] @ coef - y[keep]) ** 2)))
        keep = err <= max(_OUTLIER_SIGMAS * rms, 1.0)
    rms = float(np.sqrt(np.mean((a[keep] @ coef - y[keep]) ** 2)))
    inliers = keep.mean()
    if inliers < _MIN_INLIERS or rms > s.max_residual:
        return None, (
            f"not a studio shot: the backdrop is not smooth ({rms:.1f} levels RMS on {100 * inliers:.0f}% of it; "
            f"at most {s.max_residual:g})"
        )
    return BackdropModel(coef, rms, share), f"studio backdrop fits to {rms:.1f} levels RMS"


def apply(rgb: np.ndarray, rgba: np.ndarray, backdrop: BackdropModel, s: StudioSettings) -> float:
    """Alpha from the difference to the backdrop inside the subject, in place in the cut-out.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo (full size).
    rgba
        HxWx4 uint8, its cut-out (the model's alpha and estimated colours), changed in place:
        where the new alpha is lower, alpha and colour are replaced (F = B + (I - B) / alpha; 0 where
        alpha is 0).
    backdrop
        From `fit_backdrop` on the same photo's working image.
    s
        The opaque difference and the noise margin (StudioSettings).

    Returns
    -------
    The share of the subject's alpha (sum of the model's alpha) that became transparent: 0 for an
    opaque product, more for glass.
    """
    import cv2

    a_model = rgba[..., 3]
    ys, xs = np.nonzero(a_model)
    if ys.size == 0:
        return 0.0
    H, W = a_model.shape
    rows, cols = slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)
    photo = rgb[rows, cols].astype(np.float32)
    b = backdrop.at(H, W, rows, cols)
    k = max(1, round(max(H, W) / 640)) * 2 + 1  # the working image's pixel, at full size
    signed = photo - b
    diff = cv2.blur(np.abs(signed).max(axis=2), (k, k))
    noise = s.noise_sigmas * backdrop.residual
    frac = np.clip((diff - noise) / max(1.0, s.opaque_difference - noise), 0.0, 1.0)
    # Texture means substance: clear glass shows the smooth backdrop through it, while fur, fabric
    # or print that happens to be the backdrop's colour varies from pixel to pixel.
    lum = signed.mean(axis=2)
    kt = 2 * k + 1
    spread = np.sqrt(np.maximum(cv2.blur(lum * lum, (kt, kt)) - cv2.blur(lum, (kt, kt)) ** 2, 0.0))
    frac = np.maximum(frac, np.clip((spread - noise) / max(1.0, s.opaque_texture), 0.0, 1.0))
    old = a_model[rows, cols].astype(np.float32) / 255.0
    # Seen through, or the same colour as the backdrop? Glass has an outline (its rim, its edges
    # refract) and what looks like backdrop inside it is seen through it. A part that looks like
    # backdrop and runs out to the backdrop around the subject without a visible edge (white fur
    # or a white rim on white) cannot be told from it: the model's outline decides there.
    like = ((frac < 0.5) | (old < 0.5)).astype(np.uint8)
    like = cv2.copyMakeBorder(like, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    _, labels = cv2.connectedComponents(like, connectivity=8)
    open_to_backdrop = labels[1:-1, 1:-1] == labels[0, 0]
    frac[open_to_backdrop] = 1.0
    # Where the model is sure, the difference may thin the product, never take it away: a white
    # patch enclosed by dark fur (or a white label on a dark bottle) looks exactly like glass.
    sure = old >= _SURE
    frac[sure] = np.maximum(frac[sure], _SURE_FLOOR)
    new = np.minimum(old, frac)  # studio mode only takes alpha away: the model says where the product is
    new8 = np.round(new * 255.0).astype(np.uint8)
    changed = new8 < a_model[rows, cols]
    if not changed.any():
        return 0.0
    a = np.maximum(new[changed], 1.0 / 255.0)[:, None]
    fg = np.clip(b[changed] + (photo[changed] - b[changed]) / a, 0.0, 255.0)
    fg[new8[changed] == 0] = 0.0
    region = rgba[rows, cols]
    lost = float((old.sum() - np.where(changed, new, old).sum()) / max(old.sum(), 1e-6))
    region[changed, :3] = np.round(fg).astype(np.uint8)
    region[changed, 3] = new8[changed]
    return max(0.0, lost)
