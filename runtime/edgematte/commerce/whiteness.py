"""Is a finished image's background pure white? Shared by `compose` (to verify its own file after
encoding) and the compliance check.

Background = the near-white region (all channels >= NEAR_WHITE) connected to the frame.
The product (for fill and framing) is what the near-255 backdrop (>= WHITE_ENOUGH) does not
reach: a light product's own pale pixels are rarely 255, so they still count as product. Pixels of
it within EDGE_ZONE px of the product are the product's own anti-aliased edge (and, in JPEG, the
8x8 block that holds it), so only the rest must be exactly 255. A backdrop of 250 fails: it is
near-white, connected to the frame, and not 255.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgematte.commerce.geometry import channel_min
from edgematte.settings import EDGE_ZONE, NEAR_WHITE, WHITE_BORDER, WHITE_ENOUGH


@dataclass
class WhiteReport:
    """How white a finished image's background is (see the module docstring for the regions)."""

    border_white: float  # fraction of the outer ring that is exactly 255
    backdrop_offwhite: int  # near-white-but-not-255 pixels, away from the product, reaching the frame
    inner_offwhite: int  # such pixels enclosed near the product: a shadow, or a light part of the product
    background_min: int  # darkest channel value in the off-white backdrop (255 if none)
    background_pixels: int  # near-white backdrop pixels farther than EDGE_ZONE px from the product
    product: np.ndarray  # bool HxW: everything not bounded off by the (near) 255 backdrop: fill, framing

    @property
    def ok(self) -> bool:
        """True when the frame ring is all 255 and no off-white backdrop reaches the frame."""
        return self.border_white == 1.0 and self.backdrop_offwhite == 0


def white_report(rgb: np.ndarray) -> WhiteReport:
    """Measure how white a finished image's background is, from its pixels alone.

    Off-white that reaches the frame is a backdrop that is not pure white (a 250 backdrop, a
    vignette): a failure. Off-white enclosed near the product cannot be told apart from a light
    part of the product (a white mug merges with the white around it): reported, not failed.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the finished image as a viewer sees it (flattened if it had alpha).
    """
    h, w = rgb.shape[:2]
    lo = channel_min(rgb)
    near = (lo >= NEAR_WHITE).astype(np.uint8)
    _, labels = cv2.connectedComponents(near, connectivity=4)
    ring = np.zeros((h, w), bool)
    ring[:WHITE_BORDER], ring[-WHITE_BORDER:], ring[:, :WHITE_BORDER], ring[:, -WHITE_BORDER:] = True, True, True, True
    on_border = np.unique(labels[ring & (near > 0)])
    background = np.isin(labels, on_border[on_border > 0]) if on_border.size else np.zeros((h, w), bool)
    product = ~_border_connected(lo >= WHITE_ENOUGH, ring)
    zone = cv2.dilate(
        (~background).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (2 * EDGE_ZONE + 1,) * 2)
    )
    far = background & (zone == 0)
    off = (far & (lo < 255)).astype(np.uint8)
    _, off_labels = cv2.connectedComponents(off, connectivity=8)
    touching = np.unique(off_labels[ring & (off > 0)])
    at_frame = np.isin(off_labels, touching[touching > 0]) if touching.size else np.zeros((h, w), bool)
    framed = int(at_frame.sum())
    return WhiteReport(
        border_white=float((lo[ring] == 255).mean()),
        backdrop_offwhite=framed,
        inner_offwhite=int(off.sum()) - framed,
        background_min=int(lo[at_frame].min()) if framed else 255,
        background_pixels=int(far.sum()),
        product=product,
    )


def _border_connected(mask: np.ndarray, ring: np.ndarray) -> np.ndarray:
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    ids = np.unique(labels[ring & mask])
    ids = ids[ids > 0]
    return np.isin(labels, ids) if ids.size else np.zeros(mask.shape, bool)


def clear_where_transparent(rgb: np.ndarray, alpha: np.ndarray) -> bool:
    """Our own canvas: every pixel with no product within EDGE_ZONE px is exactly 255.

    `compose` uses it on its own encoded file, where the alpha says where the product is, instead
    of guessing it from the pixels as `white_report` must.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the decoded encoded canvas.
    alpha
        HxW uint8, where the product was placed (Canvas.alpha).
    """
    zone = cv2.dilate((alpha > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (2 * EDGE_ZONE + 1,) * 2))
    return bool((channel_min(rgb)[zone == 0] == 255).all())
