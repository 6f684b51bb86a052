"""Encode a finished marketplace image so the file itself passes: white stays 255, size fits.

JPEG is written 4:4:4 (chroma subsampling averages a near-white edge into the white next to
it, which then decodes off-white) with an sRGB profile embedded. With a file-size limit, the
highest quality that fits is found by bisection. With the canvas's alpha, the encoded bytes are
decoded and the white background verified before they are returned. All of it runs in the
batch's writer thread, overlapped with the next image's cut-out.
"""

from __future__ import annotations

import io

import numpy as np

from edgematte.commerce.marketplace_presets import Preset
from edgematte.commerce.whiteness import clear_where_transparent
from edgematte.encode import encode
from edgematte.errors import OptionError, OutputError
from edgematte.formats import normalise_format
from edgematte.settings import MARKET_JPEG_QUALITY_MAX, MARKET_JPEG_QUALITY_MIN


def preset_format(preset: Preset, fmt: str | None) -> str:
    """The format to write for a preset: `fmt` (any spelling) or the preset's own, checked
    against the formats the marketplace accepts."""
    out = normalise_format(fmt) if fmt else preset.output_format
    if out not in preset.formats:
        raise OptionError(f"{preset.title} does not accept {out}; use one of {', '.join(preset.formats)}")
    return out


def _decoded(blob: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im.convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    return encode(rgb, "JPEG", quality=quality, subsampling=0, icc_srgb=True)


def _fits(blob: bytes, preset: Preset) -> bool:
    return preset.max_bytes is None or len(blob) <= preset.max_bytes


def _largest_jpeg_that_fits(rgb: np.ndarray, preset: Preset) -> bytes:
    blob = _jpeg(rgb, MARKET_JPEG_QUALITY_MAX)
    if _fits(blob, preset):
        return blob
    lo, hi, best = MARKET_JPEG_QUALITY_MIN, MARKET_JPEG_QUALITY_MAX - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = _jpeg(rgb, mid)
        if _fits(candidate, preset):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise OutputError(
            f"cannot fit {preset.title}'s {preset.max_bytes / 1e6:.0f} MB limit even at JPEG quality "  # type: ignore[operator]
            f"{MARKET_JPEG_QUALITY_MIN}; use a smaller canvas"
        )
    return best


def encode_for_preset(
    rgb: np.ndarray, preset: Preset, fmt: str | None = None, quality: int | None = None, alpha: np.ndarray | None = None
) -> bytes:
    """Bytes of a finished image in the preset's format, within its size limit.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the finished image (already composed: no alpha).
    preset
        The marketplace's rules (formats, file-size limit, white background).
    fmt
        The format, any spelling. Default None: the preset's own (JPEG where accepted).
    quality
        A fixed JPEG quality. Default None: the best quality (settings.MARKET_JPEG_QUALITY_MAX)
        that meets the size limit, found by bisection down to MARKET_JPEG_QUALITY_MIN.
    alpha
        Where the product sits on the canvas (HxW uint8). With it, on a white-background
        preset, the decoded file is verified: every pixel away from the product exactly 255.
    """
    fmt = preset_format(preset, fmt)
    if fmt == "JPEG":
        blob = _jpeg(rgb, quality) if quality is not None else _largest_jpeg_that_fits(rgb, preset)
        if alpha is None or not preset.white_background or clear_where_transparent(_decoded(blob), alpha):
            return blob
        raise OutputError(f"JPEG could not keep the background pure white for {preset.title}; use -f png")
    blob = encode(rgb, fmt, icc_srgb=True)
    if not _fits(blob, preset):
        raise OutputError(f"{fmt} is {len(blob) / 1e6:.1f} MB, over {preset.title}'s limit; use JPEG")
    return blob
