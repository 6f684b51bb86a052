"""Where the product is: its bounding box from the alpha, matte specks dropped, and placement.

The box uses a low alpha level (soft edges and hair count as product, so nothing is cut off)
but only inside connected parts that hold real product (alpha >= 0.5) of at least 1% of the
largest part: a stray faint speck of matte noise must not decide how large the product is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SOFT_LEVEL = 16  # alpha >= this is part of the product's extent (soft edges included)
SOLID_LEVEL = 128  # alpha >= this is product for "is this part real"
MIN_PART = 0.01  # a part with less solid area than this fraction of the largest part is a speck


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def fill(self, width: int, height: int) -> float:
        """How much of the frame the product spans along its limiting side (Amazon's fill)."""
        return max(self.width / width, self.height / height)

    def touches(self, width: int, height: int, margin: int = 0) -> list[str]:
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
        return [self.x0, self.y0, self.x1, self.y1]


def find_product(alpha: np.ndarray) -> tuple[Box | None, np.ndarray]:
    """(box, cleaned alpha): the product's bounding box and the alpha with specks and the faint
    haze below SOFT_LEVEL set to 0. One labelling pass; specks are cleared inside their own box."""
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
    """Bounding box of the non-zero pixels (None when there are none)."""
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    return Box(int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)


def product_box(alpha: np.ndarray) -> Box | None:
    """Bounding box of the product (None when the alpha holds no product)."""
    return find_product(alpha)[0]


def clean_alpha(alpha: np.ndarray) -> np.ndarray:
    """The alpha with specks outside the product's parts set to 0."""
    return find_product(alpha)[1]


def channel_min(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel darkest channel (3x faster than rgb.min(axis=2) on large images)."""
    return np.minimum(np.minimum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def scale_premultiplied(rgb: np.ndarray, alpha: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize a cut-out as premultiplied colour (float32, 0..255) + alpha (float32, 0..1).

    Premultiplying first keeps transparent pixels' colours out of the edge, the classic halo
    of resizing RGBA directly.
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
    """Composite premultiplied (pre, a) onto `background` (uint8 RGB, modified copy) at (x, y)."""
    out = background.copy()
    h, w = a.shape
    region = out[y : y + h, x : x + w].astype(np.float32)
    region = pre + region * (1.0 - a[..., None])
    out[y : y + h, x : x + w] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out
