"""Where the product is: its bounding box from the alpha, matte specks dropped, and placement.

The box uses a low alpha level (soft edges and hair count as product, so nothing is cut off)
but only inside connected parts that hold real product (alpha >= 0.5) of at least 1% of the
largest part: a stray faint speck of matte noise must not decide how large the product is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgematte.settings import MIN_PART, SOFT_LEVEL, SOLID_LEVEL


@dataclass(frozen=True)
class Box:
    """An axis-aligned pixel box, half-open: x0 <= x < x1, y0 <= y < y1."""

    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive

    @property
    def width(self) -> int:
        """Width in px."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """Height in px."""
        return self.y1 - self.y0

    def fill(self, width: int, height: int) -> float:
        """How much of the frame the product spans along its limiting side (Amazon's fill).

        Parameters
        ----------
        width, height
            The frame's size in px.
        """
        return max(self.width / width, self.height / height)

    def touches(self, width: int, height: int, margin: int = 0) -> list[str]:
        """The frame sides ("left", "top", "right", "bottom") the box reaches within `margin` px.

        Parameters
        ----------
        width, height
            The frame's size in px.
        margin
            Distance in px that still counts as touching. Default 0: only a box on the frame's
            edge itself; the photo checklist passes 1.
        """
        sides = []
        if self.x0 <= margin:
            sides.append("left")
        if self.y0 <= margin:
            sides.append("top")
        if self.x1 >= width - margin:
            sides.append("right")
        if self.y1 >= height - margin:
            sides.append("bottom")
        return sides

    def as_list(self) -> list[int]:
        """[x0, y0, x1, y1], for JSON."""
        return [self.x0, self.y0, self.x1, self.y1]


def find_product(alpha: np.ndarray) -> tuple[Box | None, np.ndarray]:
    """The product's bounding box and the alpha with specks and faint haze removed.

    Parts are connected regions of alpha >= settings.SOFT_LEVEL (16: soft edges and hair count,
    so nothing is cut off); a part is kept when its solid area (alpha >= settings.SOLID_LEVEL,
    128) is at least settings.MIN_PART (1%) of the largest part's. One labelling pass; specks
    are cleared inside their own box.

    Parameters
    ----------
    alpha
        HxW uint8.

    Returns
    -------
    (box, cleaned): the box of the kept parts (None when there is no product) and a copy of the
    alpha with the haze below SOFT_LEVEL and the dropped parts set to 0.
    """
    soft = (alpha >= SOFT_LEVEL).view(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(soft, connectivity=8)
    cleaned = cv2.threshold(alpha, SOFT_LEVEL - 1, 255, cv2.THRESH_TOZERO)[1]
    if n <= 1:
        return None, cleaned
    solid_area = np.bincount(labels[alpha >= SOLID_LEVEL], minlength=n)
    solid_area[0] = 0
    if solid_area.max() == 0:
        return None, np.zeros_like(alpha)
    keep = solid_area >= MIN_PART * solid_area.max()
    keep[0] = False
    for i in np.flatnonzero(~keep[1:]) + 1:
        x, y, w, h = stats[i, :4]
        region = cleaned[y : y + h, x : x + w]
        region[labels[y : y + h, x : x + w] == i] = 0
    kept = stats[keep]
    x0, y0 = int(kept[:, 0].min()), int(kept[:, 1].min())
    x1, y1 = int((kept[:, 0] + kept[:, 2]).max()), int((kept[:, 1] + kept[:, 3]).max())
    return Box(x0, y0, x1, y1), cleaned


def box_of(mask: np.ndarray) -> Box | None:
    """Bounding box of the non-zero pixels (None when there are none).

    Parameters
    ----------
    mask
        HxW array; any non-zero (or True) value counts.
    """
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    return Box(int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def product_box(alpha: np.ndarray) -> Box | None:
    """Bounding box of the product (None when the alpha holds no product); see `find_product`.

    Parameters
    ----------
    alpha
        HxW uint8.
    """
    return find_product(alpha)[0]


def channel_min(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel darkest channel (3x faster than rgb.min(axis=2) on large images).

    Parameters
    ----------
    rgb
        HxWx3 array.
    """
    return np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def scale_premultiplied(rgb: np.ndarray, alpha: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize a cut-out as premultiplied colour (float32, 0..255) + alpha (float32, 0..1).

    Premultiplying first keeps transparent pixels' colours out of the edge, the classic halo
    of resizing RGBA directly. INTER_AREA when shrinking, INTER_CUBIC when enlarging (its
    overshoot is clipped so colour never exceeds alpha).

    Parameters
    ----------
    rgb
        HxWx3 uint8 foreground colours.
    alpha
        HxW uint8.
    scale
        Output size / input size (each side rounded, at least 1 px).

    Returns
    -------
    (pre, a): premultiplied colour float32 0..255 and alpha float32 0..1 at the new size.
    """
    a = alpha.astype(np.float32) * (1.0 / 255.0)
    pre = rgb.astype(np.float32) * a[..., None]
    h, w = alpha.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    pre_s = cv2.resize(pre, size, interpolation=interp)
    a_s = np.clip(cv2.resize(a, size, interpolation=interp), 0.0, 1.0)
    pre_s = np.clip(pre_s, 0.0, a_s[..., None] * 255.0)  # cubic overshoot must not exceed the alpha
    return pre_s, a_s


def over(pre: np.ndarray, a: np.ndarray, background: np.ndarray, x: int, y: int) -> np.ndarray:
    """Composite premultiplied (pre, a) onto `background` (uint8 RGB, modified copy) at (x, y).

    Parameters
    ----------
    pre
        hxwx3 float32 premultiplied colour, 0..255 (from `scale_premultiplied`).
    a
        hxw float32 alpha, 0..1.
    background
        HxWx3 uint8; not modified.
    x, y
        Top-left corner of the layer in `background`; the layer must fit inside it.

    Returns
    -------
    HxWx3 uint8 copy of `background` with the layer over it.
    """
    out = background.copy()
    h, w = a.shape
    region = out[y : y + h, x : x + w].astype(np.float32)
    region = pre + region * (1.0 - a[..., None])
    out[y : y + h, x : x + w] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out
