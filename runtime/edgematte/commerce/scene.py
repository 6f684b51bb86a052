"""Place a cut-out into a lifestyle photo: position, scale, contact shadow, colour balance.

- Position: given as the product's bottom-centre in scene fractions, or found automatically:
  the calmest (least textured) stretch of the scene's lower part, where a table or floor is.
- Shadow: the product's own alpha footprint, squashed flat and blurred, darkening the scene
  multiplicatively (its colours stay its own); plus a tight contact line where it stands.
- Colour: grey-world white balance of the scene vs the product's photo, applied partly in
  linear light, and a mild exposure match, so a daylight product sits in a warm room.
- Edges: the foreground colour estimate is what gets composited (premultiplied), so no fringe
  of the old backdrop comes along.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgematte.commerce.geometry import Box, find_product, over, scale_premultiplied
from edgematte.errors import ImageError, OptionError
from edgematte.settings import (
    CONTACT_BLUR,
    CONTACT_OPACITY,
    EXPOSURE_LIMITS,
    EXPOSURE_STRENGTH,
    SCENE_BASE_Y,
    SCENE_HEIGHT,
    SCENE_MAX_WIDTH,
    SHADOW_BLUR,
    SHADOW_MAX,
    SHADOW_OPACITY,
    SHADOW_SQUASH,
    SOLID_LEVEL,
    WB_STRENGTH,
)


@dataclass
class Placement:
    """A scene with the product placed in it, and how it was placed."""

    rgb: np.ndarray  # the scene's size, HxWx3 uint8
    box: Box  # where the product landed in the scene
    scale: float  # cut-out pixels -> scene pixels
    gains: tuple[float, float, float]  # per-channel colour gains applied to the product


def _linear(x: np.ndarray) -> np.ndarray:
    x = x / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 255.0 * np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def grey_world(rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean linear colour (of `mask`'s pixels): the illuminant's tint under the grey-world assumption.

    Images above 0.5 MP are averaged at 640 px wide (a mean needs no more).

    Parameters
    ----------
    rgb
        HxWx3 uint8 sRGB.
    mask
        HxW mask of the pixels to average. Default None: all. A mask covering 2% of the image
        or less is ignored (too few pixels to say what the light is).

    Returns
    -------
    (3,) mean linear RGB, 0..1.
    """
    small = (
        rgb if rgb.shape[0] * rgb.shape[1] <= 500_000 else cv2.resize(rgb, (640, 640 * rgb.shape[0] // rgb.shape[1]))
    )
    lin = _linear(small.astype(np.float32))
    if mask is not None:
        m = cv2.resize(mask.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        if m.sum() > 0.02 * m.size:
            return lin[m].mean(axis=0)
    return lin.reshape(-1, 3).mean(axis=0)


def colour_gains(photo: np.ndarray, photo_alpha: np.ndarray, scene: np.ndarray) -> np.ndarray:
    """Per-channel linear gains moving the product from its photo's light to the scene's.

    White balance: the ratio of the scene's grey-world tint to the photo's backdrop tint, raised
    to settings.WB_STRENGTH (0.6: partly, not a full copy). Exposure: scene mean over product
    mean, raised to settings.EXPOSURE_STRENGTH (0.3, a mild match) and kept within
    settings.EXPOSURE_LIMITS (~1/3 stop either way: beyond, the product looks pasted).

    Parameters
    ----------
    photo
        HxWx3 uint8, the product's original photo.
    photo_alpha
        HxW uint8 matte of `photo`: its backdrop (<= 25) shows the photo's light best; its
        product (>= 128) gives the exposure.
    scene
        The scene, HxWx3 uint8.

    Returns
    -------
    (3,) gains to multiply the product's linear RGB by.
    """
    backdrop = photo_alpha <= 25
    src = grey_world(photo, backdrop)  # the photo's backdrop shows its light best (falls back to all)
    dst = grey_world(scene)
    src_tint, dst_tint = src / max(src.mean(), 1e-6), dst / max(dst.mean(), 1e-6)
    wb = (dst_tint / np.maximum(src_tint, 1e-6)) ** WB_STRENGTH
    prod = grey_world(photo, photo_alpha >= SOLID_LEVEL)
    exposure = (dst.mean() / max(prod.mean(), 1e-6)) ** EXPOSURE_STRENGTH
    return wb * float(np.clip(exposure, *EXPOSURE_LIMITS))


def calm_spot(scene: np.ndarray, width: int, height: int, base_y: int) -> int:
    """x of the product's left edge where the scene behind its footprint is least textured.

    Texture is the Laplacian energy (after a sigma-2 blur) in the rows from a third of the
    product's height above the base line to a little below it; a mild pull toward the centre
    breaks ties.

    Parameters
    ----------
    scene
        HxWx3 uint8.
    width, height
        The placed product's size in px.
    base_y
        Row of the scene the product will stand on.
    """
    grey = cv2.cvtColor(scene, cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = np.abs(cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 2), cv2.CV_32F))
    y0, y1 = max(0, base_y - height // 3), min(scene.shape[0], base_y + max(4, height // 20))
    column = energy[y0:y1].sum(axis=0)
    cs = np.concatenate([[0.0], np.cumsum(column)])
    w = scene.shape[1]
    if width >= w:
        return 0
    window = cs[width:] - cs[: w - width + 1]
    centre = np.abs(np.arange(w - width + 1) + width / 2 - w / 2) / w
    return int(np.argmin(window / max(window.mean(), 1e-6) + 0.5 * centre))  # mild pull to the centre


def shadow_layer(alpha: np.ndarray, scene_hw: tuple[int, int], x: int, y: int) -> np.ndarray:
    """0..1 darkening from the placed alpha (h x w at x, y): a soft cast footprint + a contact line.

    The footprint is the alpha squashed to 10% of its height around the base, blurred and scaled
    by settings.SHADOW_OPACITY; the contact line is the product's lowest solid rows, barely
    blurred, scaled by settings.CONTACT_OPACITY. Capped at 0.85.

    Parameters
    ----------
    alpha
        h x w float32 alpha, 0..1, as placed (after scaling).
    scene_hw
        The scene's (height, width).
    x, y
        Top-left corner of the placed product in the scene.

    Returns
    -------
    The scene's size, float32 0..1: multiply the scene by (1 - this).
    """
    h, w = alpha.shape
    sh, sw = scene_hw
    out = np.zeros((sh, sw), np.float32)
    flat_h = max(2, round(h * SHADOW_SQUASH))
    footprint = cv2.resize(alpha, (w, flat_h), interpolation=cv2.INTER_AREA)
    base = y + h
    top = base - flat_h // 2
    y0, y1 = max(0, top), min(sh, top + flat_h)
    x0, x1 = max(0, x), min(sw, x + w)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = footprint[y0 - top : y1 - top, x0 - x : x1 - x]
    soft = cv2.GaussianBlur(out, (0, 0), max(1.0, w * SHADOW_BLUR)) * SHADOW_OPACITY
    # Contact: the product's lowest solid rows, barely blurred.
    rows = np.flatnonzero((alpha > 0.5).any(axis=1))
    contact = np.zeros_like(out)
    if rows.size:
        last = rows[-1]
        band = alpha[max(0, last - max(2, h // 60)) : last + 1].max(axis=0)
        cy = min(sh - 1, y + last)
        if x1 > x0:
            contact[cy, x0:x1] = band[x0 - x : x1 - x]
        contact = cv2.GaussianBlur(contact, (0, 0), max(1.0, w * CONTACT_BLUR)) * (CONTACT_OPACITY * max(2, h // 60))
    return np.clip(soft + contact, 0.0, SHADOW_MAX)


def place_in_scene(
    fg: np.ndarray,
    alpha: np.ndarray,
    photo: np.ndarray,
    scene: np.ndarray,
    *,
    at: tuple[float, float] | None = None,
    height: float | None = None,
    shadow: bool = True,
    match_colour: bool = True,
) -> Placement:
    """Place a cut-out into a scene photo: scaled, colour-matched, shadowed, composited premultiplied.

    Parameters
    ----------
    fg
        HxWx3 uint8, the cut-out's estimated foreground colours (no fringe of the old backdrop).
    alpha
        HxW uint8, the cut-out's alpha.
    photo
        HxWx3 uint8, the product's original photo, the same size: its light, for `match_colour`.
    scene
        HxWx3 uint8, the scene to place the product in.
    at
        The product's bottom-centre as (x, y) fractions of the scene. Default None: automatic,
        standing at settings.SCENE_BASE_Y (0.86) of the scene's height, at the calmest (least
        textured) stretch along that line.
    height
        The product's height as a fraction of the scene's, 0.02..1. Default None:
        settings.SCENE_HEIGHT (0.42), and never wider than settings.SCENE_MAX_WIDTH (0.6) of
        the scene.
    shadow
        Darken the scene under the product with a soft cast footprint and a contact line.
        Default True: the contact line anchors the product to the floor.
    match_colour
        Move the product's white balance and exposure partly toward the scene's
        (`colour_gains`). Default True, so a daylight product sits in a warm room.

    Raises
    ------
    OptionError
        When `at` or `height` is out of range, or the product at `height` is larger than the scene.
    ImageError
        When the alpha holds no product.
    """
    if at is not None and not all(0.0 <= v <= 1.0 for v in at):
        raise OptionError("--at takes fractions of the scene: x,y in 0..1 (the product's bottom-centre)")
    if height is not None and not 0.02 <= height <= 1.0:
        raise OptionError("--height is a fraction of the scene height in 0.02..1")
    box, alpha = find_product(alpha)
    if box is None:
        raise ImageError("no product found in the image (the cut-out is empty)")
    sh, sw = scene.shape[:2]
    frac = height if height is not None else SCENE_HEIGHT
    scale = frac * sh / box.height
    if height is None:
        scale = min(scale, SCENE_MAX_WIDTH * sw / box.width)
    crop = (slice(box.y0, box.y1), slice(box.x0, box.x1))
    fg_c, a_c = fg[crop], alpha[crop]
    gains = colour_gains(photo, alpha, scene) if match_colour else np.ones(3, np.float32)
    if match_colour:
        fg_c = _srgb(_linear(fg_c.astype(np.float32)) * gains.astype(np.float32)).astype(np.uint8)
    pre, a = scale_premultiplied(fg_c, a_c, scale)
    h, w = a.shape
    if at is None:
        base = round(SCENE_BASE_Y * sh)
        x = calm_spot(scene, w, h, base)
        y = base - h
    else:
        x, y = round(at[0] * sw - w / 2), round(at[1] * sh - h)
    # Keep the product wholly inside the scene.
    x = int(min(max(x, 0), max(0, sw - w)))
    y = int(min(max(y, 0), max(0, sh - h)))
    if w > sw or h > sh:
        raise OptionError("the product is larger than the scene at this --height; choose a smaller one")
    base_img = scene
    if shadow:
        dark = shadow_layer(a, (sh, sw), x, y)
        base_img = np.clip(scene.astype(np.float32) * (1.0 - dark[..., None]) + 0.5, 0, 255).astype(np.uint8)
    out = over(pre, a, base_img, x, y)
    return Placement(out, Box(x, y, x + w, y + h), scale, tuple(float(g) for g in gains))  # type: ignore[arg-type]
