"""Synthetic studio shots with exact alpha and colour, for studio mode (runtime/edgematte/studio.py).

Every shot is I = a F + (1 - a) B with a, F and B known, on a studio backdrop B (near-white, or a
grey gradient lit from above) with sensor noise. The products:

- `bottle`: clear glass, drawn here: a bottle outline whose walls are dense at the sides (alpha
  0.85, where light crosses the most glass) and thin in the middle (0.12-0.3), a neck, a white
  highlight stripe (alpha 0.7) and an opaque paper label (alpha 1).
- `tumbler`: a clear plastic cup, fainter (walls 0.6, body 0.08-0.2) and tinted blue.
- `lemur_half`: lemur_cc0's exact alpha at half strength with its foreground colours: a
  semi-transparent subject with a realistic soft outline.
- `mug` (opaque control): a red mug with an anti-aliased outline, alpha 1 inside.
- `lemur` (opaque control, the hard case): lemur_cc0's exact alpha and colours, whose white fur
  sits on a white backdrop.

`shots()` yields them all on both backdrops; `scene()` is the new background a re-composite is
scored on (colourful, so a backdrop left inside the glass shows). Deterministic (seeded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from evaluation import sets as evalsets

SIZE = (600, 800)  # (height, width) of the drawn shots
NOISE = 2.0  # sensor noise, levels (sigma)
TRANSPARENT = ("bottle", "tumbler", "lemur_half")
OPAQUE = ("mug", "lemur")


@dataclass
class Shot:
    name: str  # "bottle_on_white"
    product: str  # "bottle"
    transparent: bool
    image: np.ndarray  # HxWx3 uint8: the shot
    alpha: np.ndarray  # HxW float32 0..1: exact
    fg: np.ndarray  # HxWx3 float32 levels: exact foreground colours
    backdrop: np.ndarray  # HxWx3 float32 levels: the backdrop, noise-free


def backdrop(kind: str, h: int, w: int) -> np.ndarray:
    """'white' (246, a slight fall-off to the corners) or 'gradient' (grey, 235 at the top to 175 at the bottom)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "white":
        r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
        v = 246.0 - 20.0 * r2
        return np.dstack([v, v, v - 2.0])
    v = 235.0 - 60.0 * (yy / (h - 1))
    return np.dstack([v + 2.0, v, v - 3.0])


def scene(h: int, w: int) -> np.ndarray:
    """The new background: smooth saturated colour bands (float32 levels)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 110 * np.sin(xx / w * 6.0)
    g = 128 + 110 * np.sin(yy / h * 5.0 + 1.0)
    b = 128 + 110 * np.sin((xx + yy) / (w + h) * 7.0 + 2.0)
    return np.dstack([r, g, b]).astype(np.float32)


def _vessel(h: int, w: int, wall: float, body: tuple[float, float], neck: bool) -> np.ndarray:
    """Alpha of a clear vessel: dense walls at its sides, thin glass across the middle."""
    a = np.zeros((h, w), np.float32)
    cx, top, bottom, half = w // 2, int(h * 0.18), int(h * 0.86), int(w * 0.12)
    if neck:
        top_body = int(h * 0.38)
        mask = np.zeros((h, w), np.uint8)
        cv2.rectangle(mask, (cx - half, top_body), (cx + half, bottom), 1, -1)
        cv2.ellipse(mask, (cx, top_body), (half, int(h * 0.07)), 0, 180, 360, 1, -1)
        cv2.rectangle(mask, (cx - half // 3, top), (cx + half // 3, top_body), 1, -1)
    else:
        mask = np.zeros((h, w), np.uint8)
        foot = int(half * 0.8)
        poly = np.array([[cx - half, top], [cx + half, top], [cx + foot, bottom], [cx - foot, bottom]])
        cv2.fillPoly(mask, [poly], 1)
    inside = mask.astype(bool)
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    across = np.clip(dist / max(1.0, dist.max()), 0, 1)  # 0 at the outline, 1 on the axis
    lo, hi = body
    a[inside] = (hi - (hi - lo) * across)[inside]
    rim = inside & (dist <= max(2.0, w * 0.006))
    a[rim] = wall
    return cv2.GaussianBlur(a, (0, 0), 0.8)


def _lemur() -> tuple[np.ndarray, np.ndarray]:
    """lemur_cc0's exact alpha (0..1) and foreground colours, read in place."""
    root = evalsets.eval_root() / "lemur_cc0"
    a = cv2.imread(str(root / "gt" / "lemur_synth_black.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    black = cv2.cvtColor(cv2.imread(str(root / "images" / "lemur_synth_black.png")), cv2.COLOR_BGR2RGB)
    # On black, I = a F exactly: F = I / a where a > 0.
    fg = np.where(a[..., None] > 0.02, black.astype(np.float32) / np.maximum(a[..., None], 1e-3), 0.0)
    return a, np.clip(fg, 0, 255).astype(np.float32)


def product(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(alpha 0..1, foreground levels) of one product."""
    h, w = SIZE
    if name == "bottle":
        a = _vessel(h, w, 0.85, (0.12, 0.3), neck=True)
        fg = np.zeros((h, w, 3), np.float32) + np.array([70, 90, 80], np.float32)  # green-grey glass
        stripe = np.zeros((h, w), np.uint8)
        cv2.rectangle(stripe, (w // 2 - int(w * 0.07), int(h * 0.42)), (w // 2 - int(w * 0.05), int(h * 0.82)), 1, -1)
        s = stripe.astype(bool) & (a > 0)
        a[s], fg[s] = 0.7, 250.0
        label = np.zeros((h, w), np.uint8)
        cv2.rectangle(label, (w // 2 - int(w * 0.11), int(h * 0.58)), (w // 2 + int(w * 0.11), int(h * 0.72)), 1, -1)
        lab = label.astype(bool)
        a[lab], fg[lab] = 1.0, np.array([200, 40, 45], np.float32)
        return a, fg
    if name == "tumbler":
        a = _vessel(h, w, 0.6, (0.08, 0.2), neck=False)
        return a, np.zeros((h, w, 3), np.float32) + np.array([60, 90, 140], np.float32)
    if name == "mug":
        m = np.zeros((h * 4, w * 4), np.uint8)
        cv2.ellipse(m, (w * 2, h * 2), (w // 2, int(h * 1.2)), 0, 0, 360, 255, -1)
        cv2.ellipse(m, (w * 2 + w // 2, h * 2), (w // 4, h // 2), 0, 0, 360, 255, int(w * 0.12))
        a = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        return a, np.zeros((h, w, 3), np.float32) + np.array([190, 35, 40], np.float32)
    a, fg = _lemur()
    if name == "lemur_half":
        return a * 0.5, fg
    return a, fg


def shots() -> Iterator[Shot]:
    """Every product on every backdrop (the lemur ones at the lemur's own 680 x 440)."""
    rng = np.random.default_rng(16)
    for p in TRANSPARENT + OPAQUE:
        a, fg = product(p)
        h, w = a.shape
        for kind in ("white", "gradient"):
            b = backdrop(kind, h, w)
            img = a[..., None] * fg + (1 - a[..., None]) * b + rng.normal(0, NOISE, (h, w, 3))
            yield Shot(f"{p}_on_{kind}", p, p in TRANSPARENT, np.clip(np.round(img), 0, 255).astype(np.uint8), a, fg, b)


def recomposite_error(shot: Shot, alpha: np.ndarray, fg: np.ndarray) -> float:
    """Mean |ours on the new scene - the exact composite on it|, levels, over the product's box.

    Parameters
    ----------
    shot
        The shot with its exact alpha and colours.
    alpha
        HxW uint8: a tool's alpha.
    fg
        HxWx3 uint8: its foreground colours (a cut-out's RGB).
    """
    h, w = alpha.shape
    n = scene(h, w)
    a = alpha.astype(np.float32)[..., None] / 255.0
    ours = a * fg.astype(np.float32) + (1 - a) * n
    exact = shot.alpha[..., None] * shot.fg + (1 - shot.alpha[..., None]) * n
    ys, xs = np.nonzero(shot.alpha > 0.01)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return float(np.abs(ours - exact)[box].mean())
