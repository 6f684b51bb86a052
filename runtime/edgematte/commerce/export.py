"""Encode a finished marketplace image so the file itself passes: white stays 255, size fits.

JPEG is written 4:4:4 (chroma subsampling averages a near-white edge into the white next to
it, which then decodes off-white) with an sRGB profile embedded. With a file-size limit, the
highest quality that fits is found by bisection. The encoded bytes are decoded and the white
background verified before they are returned.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from edgematte.commerce.presets import Preset
from edgematte.commerce.whiteness import clear_where_transparent
from edgematte.errors import OptionError, OutputError
from edgematte.imageio import encode

QUALITY_MAX = 95  # above this JPEG grows fast for no visible gain
QUALITY_MIN = 60  # below this product detail visibly suffers: refuse rather than upload mush


def _decoded(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    return encode(rgb, None, "JPEG", quality=quality, subsampling=0, icc_srgb=True)


def _fits(blob: bytes, preset: Preset) -> bool:
    return preset.max_bytes is None or len(blob) <= preset.max_bytes


def encode_for_preset(
    rgb: np.ndarray, preset: Preset, fmt: str | None = None, quality: int | None = None, alpha: np.ndarray | None = None
) -> bytes:
    """Bytes of `rgb` in the preset's format (or `fmt`), within its size limit. With the canvas
    `alpha` of a white-background preset, the decoded file is verified: every pixel away from
    the product exactly 255."""
    fmt = (fmt or preset.output_format).upper().replace("JPG", "JPEG")
    if fmt not in preset.formats:
        raise OptionError(f"{preset.title} does not accept {fmt}; use one of {', '.join(preset.formats)}")
    if fmt == "JPEG":
        if quality is not None:
            blob = _jpeg(rgb, quality)
        else:
            blob = _jpeg(rgb, QUALITY_MAX)
            if not _fits(blob, preset):
                lo, hi, best = QUALITY_MIN, QUALITY_MAX - 1, None
                while lo <= hi:
                    mid = (lo + hi) // 2
                    candidate = _jpeg(rgb, mid)
                    if _fits(candidate, preset):
                        best, lo = candidate, mid + 1
                    else:
                        hi = mid - 1
                if best is None:
                    raise OutputError(
                        f"cannot fit {preset.title}'s {preset.max_bytes / 1e6:.0f} MB limit even at JPEG quality "
                        f"{QUALITY_MIN}; use a smaller canvas"
                    )
                blob = best
        if alpha is None or not preset.white_background or clear_where_transparent(_decoded(blob), alpha):
            return blob
        raise OutputError(f"JPEG could not keep the background pure white for {preset.title}; use -f png")
    blob = encode(rgb, None, fmt, icc_srgb=True)
    if not _fits(blob, preset):
        raise OutputError(f"{fmt} is {len(blob) / 1e6:.1f} MB, over {preset.title}'s limit; use JPEG")
    return blob
