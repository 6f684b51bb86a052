"""Temporal metrics of a matted clip: error per frame, flicker where the scene is still, lag.

- error: mean |alpha - truth| per frame (0..1), over the pixels whose truth is known (grabcut's
  unknown band, 128, left out).
- flicker: mean |alpha_t - alpha_t-1| in levels (0..255), over frame pairs inside a still
  segment and the pixels whose truth did not change between them; reported over the whole
  frame and over the edge band (pixels within 12 px of the subject's outline), where flicker
  lives.
- lag: after a step (the subject jumps between two frames), the frames until the alpha in the
  pixels the jump changed is within 2 levels of its error 10 frames later: 0 means the matte
  follows in the same frame.
"""

from __future__ import annotations

import numpy as np

from evaluation.clips import Clip

EDGE_BAND_PX = 12
LAG_SETTLE_FRAMES = 10
LAG_TOLERANCE = 2.0 / 255.0


def _known(gt: np.ndarray) -> np.ndarray:
    return gt != 128


def errors(clip: Clip, alphas: list[np.ndarray]) -> list[float]:
    """Mean |alpha - truth| (0..1) per frame over known pixels."""
    out = []
    for f, a in zip(clip.frames, alphas, strict=True):
        k = _known(f.alpha)
        out.append(float(np.abs(a[k].astype(np.float32) - f.alpha[k]).mean() / 255.0))
    return out


def _edge_band(gt: np.ndarray) -> np.ndarray:
    import cv2

    fg = (gt >= 128).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_BAND_PX + 1, 2 * EDGE_BAND_PX + 1))
    return cv2.dilate(fg, k).astype(bool) & ~cv2.erode(fg, k).astype(bool)


def flicker(clip: Clip, alphas: list[np.ndarray]) -> dict[str, float]:
    """Mean |alpha_t - alpha_t-1| (levels) in still segments: {'frame': ..., 'edge_band': ...}."""
    total = band_total = 0.0
    count = band_count = 0
    for name, (a, b) in clip.segments.items():
        if not name.startswith("still"):
            continue
        for t in range(max(a, 1), b):
            same = clip.frames[t].alpha == clip.frames[t - 1].alpha
            d = np.abs(alphas[t].astype(np.float32) - alphas[t - 1])
            total += float(d[same].sum())
            count += int(same.sum())
            band = same & _edge_band(clip.frames[t].alpha)
            band_total += float(d[band].sum())
            band_count += int(band.sum())
    return {"frame": total / max(count, 1), "edge_band": band_total / max(band_count, 1)}


def lag(clip: Clip, alphas: list[np.ndarray]) -> list[int]:
    """Frames until the matte follows each of the clip's steps (module notes)."""
    out = []
    for s in clip.steps:
        changed = (clip.frames[s].alpha != clip.frames[s - 1].alpha) & _known(clip.frames[s].alpha)
        changed &= _known(clip.frames[s - 1].alpha)

        def err(t: int, changed: np.ndarray = changed) -> float:
            return float(np.abs(alphas[t][changed].astype(np.float32) - clip.frames[t].alpha[changed]).mean() / 255.0)

        settled = err(s + LAG_SETTLE_FRAMES)
        k = next((k for k in range(LAG_SETTLE_FRAMES + 1) if err(s + k) <= settled + LAG_TOLERANCE), LAG_SETTLE_FRAMES)
        out.append(k)
    return out
