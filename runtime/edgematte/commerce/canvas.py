"""A marketplace main image: the product centred on a pure-white canvas at the preset's fill.

The product's box (soft edges included) is scaled so its limiting side spans `fill` of the
canvas, so nothing is ever cut off and the margin is even. Background pixels are exactly 255:
transparent pixels contribute 0 to the premultiplied colour and the canvas stays 255 there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgematte.commerce.geometry import Box, box_of, find_product, over, scale_premultiplied
from edgematte.commerce.marketplace_presets import Preset
from edgematte.errors import ImageError, OptionError
from edgematte.settings import UPSCALE_WARN

WHITE = (255, 255, 255)


@dataclass
class Canvas:
    """A composed canvas: the product placed on its background, and where it landed."""

    rgb: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray  # HxW uint8: where the product sits on the canvas
    box: Box  # the product's box on the canvas
    scale: float  # source pixels -> canvas pixels (> 1 means the product was enlarged)
    warnings: list[str]  # for the user, e.g. an enlargement above settings.UPSCALE_WARN


def place_on_canvas(
    rgb: np.ndarray,
    alpha: np.ndarray,
    size: tuple[int, int],
    fill: float,
    background: tuple[int, int, int] = WHITE,
    found: tuple[Box | None, np.ndarray] | None = None,
) -> Canvas:
    """Scale the product (foreground colours + alpha) to span `fill` of a `size` canvas, centred.

    The product's box (soft edges included, specks dropped) is scaled so its limiting side
    spans `fill`, resized premultiplied (no halo) and composited over `background`. A scale
    above settings.UPSCALE_WARN (1.5: it looks soft at zoom) adds a warning.

    Parameters
    ----------
    rgb
        HxWx3 uint8 foreground colours of the cut-out.
    alpha
        HxW uint8 alpha of the cut-out.
    size
        Canvas (width, height) in px.
    fill
        Fraction of the canvas the product's limiting side spans, 0.05..1.
    background
        Canvas colour. Default white (255, 255, 255): what a marketplace main image needs, and
        transparent pixels leave it exactly 255.
    found
        `find_product(alpha)` when the caller has it already. Default None: computed here.

    Raises
    ------
    OptionError
        When `fill` is outside 0.05..1.
    ImageError
        When the alpha holds no product.
    """
    if not 0.05 <= fill <= 1.0:
        raise OptionError("fill must be within 0.05..1")
    box, alpha = found if found is not None else find_product(alpha)
    if box is None:
        raise ImageError("no product found in the image (the cut-out is empty): check the photo")
    cw, ch = size
    scale = fill * min(cw / box.width, ch / box.height)
    # One pixel of transparent border keeps the resampling kernel from clipping the edge.
    y0, y1 = max(0, box.y0 - 1), min(alpha.shape[0], box.y1 + 1)
    x0, x1 = max(0, box.x0 - 1), min(alpha.shape[1], box.x1 + 1)
    pre, a = scale_premultiplied(rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1], scale)
    # Trim to the canvas if rounding made the crop a pixel larger than the canvas.
    a, pre = a[:ch, :cw], pre[:ch, :cw]
    h, w = a.shape
    x, y = (cw - w) // 2, (ch - h) // 2
    canvas = np.empty((ch, cw, 3), np.uint8)
    canvas[:] = background
    out = over(pre, a, canvas, x, y)
    a_canvas = np.zeros((ch, cw), np.uint8)
    a_canvas[y : y + h, x : x + w] = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    placed = box_of(a_canvas) or Box(x, y, x + w, y + h)
    warnings = []
    if scale > UPSCALE_WARN:
        warnings.append(
            f"the product ({box.width}x{box.height} px) was enlarged {scale:.1f}x: it will look soft at zoom; "
            "shoot it larger in the frame or at a higher resolution"
        )
    return Canvas(out, a_canvas, placed, scale, warnings)


def minimum_canvas(preset: Preset) -> tuple[int, int]:
    """The smallest canvas of the preset's aspect that still meets its size minimums.

    Parameters
    ----------
    preset
        Its `canvas` gives the aspect; its min_* rules the size. No minimums, or minimums above
        the canvas itself: the preset's canvas unchanged.

    Returns
    -------
    (width, height) in px, never larger than `preset.canvas`.
    """
    cw, ch = preset.canvas
    need = 0.0
    if preset.min_long_side:
        need = max(need, preset.min_long_side / max(cw, ch))
    if preset.min_short_side:
        need = max(need, preset.min_short_side / min(cw, ch))
    if preset.min_width:
        need = max(need, preset.min_width / cw)
    if preset.min_height:
        need = max(need, preset.min_height / ch)
    if need == 0.0:
        return cw, ch  # no stated minimum: keep the recommended canvas
    k = min(1.0, need)
    return max(1, int(np.ceil(cw * k))), max(1, int(np.ceil(ch * k)))


def canvas_size(preset: Preset, box: Box, fill: float) -> tuple[int, int]:
    """The preset's canvas, shrunk toward its minimum when the product is small.

    A 500 px product is better on a 1000 px canvas (enlarged 1.9x) than on a 2000 px one (3.8x),
    and both pass. The canvas shrinks until the product is placed at 1:1 or the canvas reaches
    `minimum_canvas(preset)`, whichever comes first.

    Parameters
    ----------
    preset
        The marketplace preset.
    box
        The product's box in source pixels.
    fill
        The fill the product will be placed at.

    Returns
    -------
    (width, height) in px.
    """
    cw, ch = preset.canvas
    natural = fill * min(cw / box.width, ch / box.height)  # enlargement on the full canvas
    if natural <= 1.0:
        return cw, ch
    mw, mh = minimum_canvas(preset)
    k = max(mw / cw, 1.0 / natural)
    return max(mw, round(cw * k)), max(mh, round(ch * k))


def white_canvas(rgb: np.ndarray, alpha: np.ndarray, preset: Preset, fill: float | None = None) -> Canvas:
    """The product on the preset's white canvas at the preset's target fill (or `fill`).

    The canvas is smaller, down to the preset's minimum size, when the product photo is small
    (`canvas_size`).

    Parameters
    ----------
    rgb
        HxWx3 uint8 foreground colours of the cut-out.
    alpha
        HxW uint8 alpha of the cut-out.
    preset
        The marketplace preset (canvas, size minimums, fill rules).
    fill
        Fraction of the canvas the product spans. Default None: `preset.fill_target`, which
        leaves a margin so nothing touches the frame. Below `preset.fill_min` is refused.
    """
    target = fill if fill is not None else preset.fill_target
    if preset.fill_min is not None and target < preset.fill_min:
        raise OptionError(f"fill {target} is below {preset.name}'s minimum {preset.fill_min}")
    found = find_product(alpha)
    size = canvas_size(preset, found[0], target) if found[0] is not None else preset.canvas
    return place_on_canvas(rgb, alpha, size, target, found=found)
