"""Resize a photo to a platform's canvas without ever cutting the product.

The largest window of the canvas's aspect ratio that fits in the photo is tried first: if it
holds the product's box plus a margin, the photo is cropped to it (centred on the product, as
little cropped as the aspect allows). Otherwise the window is grown to hold the box and the part
outside the photo is padded (by default with the photo's own edge, mirrored and blurred), so the product
is never cut. The window is then scaled to the canvas size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgematte.commerce.geometry import Box, product_box
from edgematte.settings import PAD_BLUR, RESIZE_MARGIN


@dataclass
class Resized:
    """A photo fitted to a canvas, and the source window it was taken from."""

    rgb: np.ndarray  # canvas-size HxWx3 uint8
    alpha: np.ndarray | None  # the input's own alpha, carried through (None for opaque photos)
    window: Box  # the window in source pixels (may extend outside the photo: padded)
    padded: bool  # the window extends outside the photo, so part of the output is padding
    scale: float  # window pixels -> canvas pixels


def choose_window(width: int, height: int, box: Box | None, aspect: float, margin: float = RESIZE_MARGIN) -> Box:
    """The source window (aspect `aspect` = w/h) holding `box` plus margin, cropped or padded.

    The largest window of that aspect inside the photo is used when it holds the box with
    `margin` clear on each side, centred on the product as far as the photo allows; otherwise it is grown around the box
    (and will be padded). The result is widened, if rounding requires, to never cut the box.

    Parameters
    ----------
    width, height
        The photo's size in px.
    box
        The product's box, or None: the centred largest window.
    aspect
        The canvas's width / height.
    margin
        Fraction of the window's side kept clear around the box. Default
        settings.RESIZE_MARGIN (0.04).

    Returns
    -------
    The window in source pixels; it may extend outside the photo (negative or beyond the size).
    """
    # Largest window of this aspect inside the photo.
    ww, wh = (height * aspect, height) if width / height > aspect else (width, width / aspect)
    if box is None:
        need_w, need_h, cx, cy = 0.0, 0.0, width / 2, height / 2
    else:
        need_w, need_h = box.width, box.height
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    # A window of side s keeps `margin * s` clear on each side: s (1 - 2 margin) >= need.
    grow = max(need_w / (ww * (1 - 2 * margin)), need_h / (wh * (1 - 2 * margin)), 1.0)
    if grow > 1.0:  # the crop window cannot hold the product: grow it (padding appears)
        ww, wh = ww * grow, wh * grow
    x0 = cx - ww / 2
    y0 = cy - wh / 2
    # Slide the window to cover as much photo as possible (never uncovering the product).
    if ww <= width:
        x0 = min(max(x0, 0.0), width - ww)
    else:
        x0 = (width - ww) / 2 if box is None else min(max(x0, width - ww), 0.0)
    if wh <= height:
        y0 = min(max(y0, 0.0), height - wh)
    else:
        y0 = (height - wh) / 2 if box is None else min(max(y0, height - wh), 0.0)
    x0i, y0i = round(x0), round(y0)
    out = Box(x0i, y0i, x0i + max(1, round(ww)), y0i + max(1, round(wh)))
    if box is not None:  # rounding must never cut the product
        out = Box(min(out.x0, box.x0), min(out.y0, box.y0), max(out.x1, box.x1), max(out.y1, box.y1))
    return out


def _extract(img: np.ndarray, win: Box, fill: tuple[int, ...] | int | None) -> np.ndarray:
    """The window's pixels; outside the photo: `fill`, or (None) the photo's edge mirrored and
    heavily blurred, which continues a plain backdrop exactly and a busy one without hard seams."""
    h, w = img.shape[:2]
    top, left = max(0, -win.y0), max(0, -win.x0)
    bottom, right = max(0, win.y1 - h), max(0, win.x1 - w)
    crop = img[max(0, win.y0) : min(h, win.y1), max(0, win.x0) : min(w, win.x1)]
    if not (top or left or bottom or right):
        return crop
    if fill is not None:
        return cv2.copyMakeBorder(crop, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
    ch, cw = crop.shape[:2]
    # Reflection cannot reach further than the photo is wide: replicate beyond that.
    rt, rb, rl, rr = (min(v, lim - 1) for v, lim in ((top, ch), (bottom, ch), (left, cw), (right, cw)))
    out = cv2.copyMakeBorder(crop, rt, rb, rl, rr, cv2.BORDER_REFLECT_101)
    out = cv2.copyMakeBorder(out, top - rt, bottom - rb, left - rl, right - rr, cv2.BORDER_REPLICATE)
    sigma = PAD_BLUR * max(out.shape[:2])
    small = max(1.0, sigma / 8)  # blur at 1/8 size: same look, 64x cheaper
    tiny = cv2.resize(out, (max(1, round(out.shape[1] / small)), max(1, round(out.shape[0] / small))),
                      interpolation=cv2.INTER_AREA)  # fmt: skip
    blurred = cv2.resize(cv2.GaussianBlur(tiny, (0, 0), sigma / small), (out.shape[1], out.shape[0]))
    blurred[top : top + ch, left : left + cw] = crop
    return blurred


def resize_to_canvas(
    rgb: np.ndarray,
    subject_alpha: np.ndarray | None,
    canvas: tuple[int, int],
    *,
    pad: tuple[int, int, int] | None = None,  # None: the photo's own edge, mirrored and blurred
    own_alpha: np.ndarray | None = None,
    margin: float = RESIZE_MARGIN,
) -> Resized:
    """Fit a photo to a canvas size by cropping or padding, never cutting the product.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo.
    subject_alpha
        HxW uint8 that locates the product (a model's matte or the input's alpha). None: no
        product to keep; the centred largest window of the canvas's aspect is used.
    canvas
        (width, height) of the output in px.
    pad
        Colour for the padding outside the photo. Default None: the photo's own edge, mirrored
        and heavily blurred, which continues a plain backdrop exactly and a busy one without
        hard seams.
    own_alpha
        HxW uint8, the input's own alpha to carry to the output (padding is transparent there).
        Default None: an opaque photo, `Resized.alpha` is None.
    margin
        Fraction of the window's side kept clear around the product. Default
        settings.RESIZE_MARGIN (0.04).
    """
    h, w = rgb.shape[:2]
    cw, ch = canvas
    box = product_box(subject_alpha) if subject_alpha is not None else None
    win = choose_window(w, h, box, cw / ch, margin)
    padded = win.x0 < 0 or win.y0 < 0 or win.x1 > w or win.y1 > h
    crop = _extract(rgb, win, tuple(int(c) for c in pad) if pad is not None else None)
    scale = cw / crop.shape[1]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = cv2.resize(crop, (cw, ch), interpolation=interp)
    alpha_out = None
    if own_alpha is not None:
        alpha_out = cv2.resize(_extract(own_alpha, win, 0), (cw, ch), interpolation=interp)
    return Resized(out, alpha_out, win, padded, scale)
