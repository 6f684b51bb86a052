"""remove.bg's layout options on a cut-out: crop to the subject, scale, position, contact shadow.

All work on the RGBA cut-out the still path made (foreground colours + alpha), before compose.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgematte.serve.params import CutoutRequest
from edgematte.serve.replies import ApiError
from edgematte.settings import SOFT_LEVEL


def subject_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), exclusive, of alpha >= settings.SOFT_LEVEL; None when empty.

    Parameters
    ----------
    alpha
        HxW uint8 alpha. SOFT_LEVEL (16) keeps soft edges in the box and drops faint noise.
    """
    rows = np.flatnonzero((alpha >= SOFT_LEVEL).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((alpha[rows[0] : rows[-1] + 1] >= SOFT_LEVEL).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _no_subject() -> ApiError:
    return ApiError(400, "could not identify a foreground in the image: nothing to crop or scale", "unknown_foreground")


def margins_px(req: CutoutRequest, box_w: int, box_h: int) -> tuple[int, int, int, int]:
    """crop_margin as pixels (top, right, bottom, left): percentages are of the subject's box.

    Parameters
    ----------
    req
        The request (its crop_margin).
    box_w, box_h
        The subject box's size in px.
    """
    sides = (box_h, box_w, box_h, box_w)
    return tuple(round(v * side) if pct else round(v) for (v, pct), side in zip(req.crop_margin, sides, strict=True))  # type: ignore[return-value]


def crop(rgba: np.ndarray, req: CutoutRequest) -> np.ndarray:
    """The cut-out cropped to its subject plus crop_margin (transparent padding past the edges).

    Parameters
    ----------
    rgba
        HxWx4 uint8 cut-out.
    req
        The request (crop_margin).
    """
    box = subject_box(rgba[..., 3])
    if box is None:
        raise _no_subject()
    left, top, right, bottom = box
    mt, mr, mb, ml = margins_px(req, right - left, bottom - top)
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = left - ml, top - mt, right + mr, bottom + mb
    out = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgba[sy0:sy1, sx0:sx1]
    return out


def place(rgba: np.ndarray, req: CutoutRequest) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Scale the subject to `req.scale` of the canvas and align it at `req.position`.

    The canvas keeps the cut-out's size. Returns the new cut-out and where the subject went
    (x, y, w, h), for the shadow.

    Parameters
    ----------
    rgba
        HxWx4 uint8 cut-out (already cropped when crop was asked for).
    req
        The request: scale (None keeps the subject's size) and position (None keeps its place).
    """
    box = subject_box(rgba[..., 3])
    if box is None:
        raise _no_subject()
    left, top, right, bottom = box
    h, w = rgba.shape[:2]
    bw, bh = right - left, bottom - top
    if req.scale is None and req.position is None:
        return rgba, (left, top, bw, bh)
    s = 1.0 if req.scale is None else req.scale * min(w / bw, h / bh)
    nw, nh = max(1, round(bw * s)), max(1, round(bh * s))
    subject = rgba[top:bottom, left:right]
    if (nw, nh) != (bw, bh):
        subject = _resize_premultiplied(subject, nw, nh)
    if req.position is None:  # scaled in place: keep the subject's centre
        x, y = round((left + right) / 2 - nw / 2), round((top + bottom) / 2 - nh / 2)
    else:  # aligned as CSS does: 0% flush left / top, 100% flush right / bottom
        px, py = req.position
        x, y = round(px * (w - nw)), round(py * (h - nh))
    out = np.zeros_like(rgba)
    sx0, sy0, sx1, sy1 = max(0, x), max(0, y), min(w, x + nw), min(h, y + nh)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0:sy1, sx0:sx1] = subject[sy0 - y : sy1 - y, sx0 - x : sx1 - x]
    return out, (x, y, nw, nh)


def _resize_premultiplied(rgba: np.ndarray, w: int, h: int) -> np.ndarray:
    """Resize an RGBA cut-out without dark fringes: colours weighted by alpha while resampling."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    pre = np.concatenate([rgba[..., :3].astype(np.float32) * a, a * 255.0], axis=2)
    interp = cv2.INTER_AREA if w < rgba.shape[1] else cv2.INTER_LINEAR
    r = cv2.resize(pre, (w, h), interpolation=interp)
    alpha = np.clip(r[..., 3:4], 0, 255)
    rgb = np.where(alpha > 0, r[..., :3] * 255.0 / np.maximum(alpha, 1e-6), 0)
    return np.concatenate([np.clip(rgb + 0.5, 0, 255), alpha + 0.5], axis=2).astype(np.uint8)


def shadow(rgba: np.ndarray) -> np.ndarray:
    """The contact shadow under the subject (commerce.scene.shadow_layer): HxW float32 0..1 darkening.

    Parameters
    ----------
    rgba
        HxWx4 uint8 cut-out as laid out.
    """
    from edgematte.commerce.scene import shadow_layer

    box = subject_box(rgba[..., 3])
    h, w = rgba.shape[:2]
    if box is None:
        return np.zeros((h, w), np.float32)
    left, top, right, bottom = box
    a = rgba[top:bottom, left:right, 3].astype(np.float32) / 255.0
    return shadow_layer(a, (h, w), left, top)


def with_shadow_alpha(rgba: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """A transparent cut-out with its shadow as semi-transparent black under the subject.

    Parameters
    ----------
    rgba
        HxWx4 uint8 cut-out.
    dark
        HxW float32 0..1 darkening (`shadow`).
    """
    a = rgba[..., 3].astype(np.float32) / 255.0
    out_a = a + dark * (1.0 - a)
    rgb = rgba[..., :3].astype(np.float32) * (a / np.maximum(out_a, 1e-6))[..., None]
    return np.dstack([np.clip(rgb + 0.5, 0, 255), np.clip(out_a * 255.0 + 0.5, 0, 255)]).astype(np.uint8)


def over_colour(rgba: np.ndarray, colour: tuple[int, int, int, int], dark: np.ndarray | None) -> np.ndarray:
    """The cut-out over a colour whose alpha is below 255 (remove.bg's RRGGBBAA): an RGBA result.

    Parameters
    ----------
    rgba
        HxWx4 uint8 cut-out.
    colour
        (r, g, b, a) background.
    dark
        Shadow darkening to apply to the background first, or None.
    """
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    bg = np.empty((*rgba.shape[:2], 3), np.float32)
    bg[:] = colour[:3]
    ba = np.full((*rgba.shape[:2], 1), colour[3] / 255.0, np.float32)
    if dark is not None:
        d = dark[..., None]
        bg = bg * (1.0 - d)
        ba = ba + d * (1.0 - ba)
    out_a = a + ba * (1.0 - a)
    rgb = (rgba[..., :3].astype(np.float32) * a + bg * ba * (1.0 - a)) / np.maximum(out_a, 1e-6)
    return np.dstack([np.clip(rgb + 0.5, 0, 255), np.clip(out_a * 255.0 + 0.5, 0, 255)]).astype(np.uint8)
