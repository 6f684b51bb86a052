"""Thumbnails for the HTML reports: small embedded JPEGs, cut-outs shown on a checkerboard."""

from __future__ import annotations

import base64
import os

import cv2
import numpy as np

from edgematte.decode import decode
from edgematte.encode import encode
from edgematte.errors import EdgematteError
from edgematte.settings import THUMB_JPEG_QUALITY, THUMB_PX

CHECKER_PX = 8  # side of a checkerboard square behind transparent thumbnails
CHECKER_GREYS = (204, 255)  # the light and white squares image editors show transparency with


def checkerboard(height: int, width: int, square: int = CHECKER_PX) -> np.ndarray:
    """An HxWx3 uint8 light-grey/white checkerboard (how editors show transparency).

    Parameters
    ----------
    height, width
        Its size in pixels.
    square
        The side of one square. Default `CHECKER_PX` (8): visible at thumbnail size.
    """
    y, x = np.mgrid[0:height, 0:width]
    light = ((y // square + x // square) % 2).astype(bool)
    board = np.where(light, CHECKER_GREYS[1], CHECKER_GREYS[0]).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def thumbnail_img(path: str | os.PathLike, long_side: int = THUMB_PX) -> str:
    """An <img> tag with the image shrunk and embedded as base64 JPEG, or "" if unreadable.

    Parameters
    ----------
    path
        The image file. Its own alpha (a cut-out) is shown over a checkerboard.
    long_side
        The thumbnail's longest side in pixels. Default `settings.THUMB_PX` (240).
    """
    try:
        image = decode(path)
    except EdgematteError:  # an unreadable file gets no thumbnail; its row still says why
        return ""
    h, w = image.rgb.shape[:2]
    s = min(1.0, long_side / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(image.rgb, size, interpolation=cv2.INTER_AREA)
    if image.alpha is not None:
        a = cv2.resize(image.alpha, size, interpolation=cv2.INTER_AREA).astype(np.float32)[:, :, None] / 255.0
        board = checkerboard(size[1], size[0]).astype(np.float32)
        small = np.clip(small * a + board * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
    blob = encode(np.ascontiguousarray(small), "JPEG", quality=THUMB_JPEG_QUALITY)
    return f'<img src="data:image/jpeg;base64,{base64.b64encode(blob).decode()}" alt="">'
