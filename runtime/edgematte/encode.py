"""The encode stage: the one encoder. Pixels a stage produced in, file bytes out.

The kind of image comes from the array's shape: HxW a mask (grey), HxWx3 a composite (RGB),
HxWx4 a cut-out (RGBA). Composing is not done here: a cut-out for a format without alpha (JPEG)
is composed onto a colour by the compose stage first, and handing one to JPEG is an error.
PNG goes to png.py's multi-core writer; JPEG, WebP and TIFF to Pillow.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from typing import Any

import numpy as np

from edgematte.errors import OptionError
from edgematte.formats import ALPHA_FORMATS, writable_format
from edgematte.settings import JPEG_QUALITY, JPEG_SUBSAMPLING, WEBP_METHOD, WEBP_QUALITY

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels -> PIL mode


def pixel_kind(pixels: np.ndarray) -> str:
    """'L' (HxW mask), 'RGB' (HxWx3) or 'RGBA' (HxWx4): the PIL mode of a stage's output."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else 0
    if pixels.dtype != np.uint8 or channels not in _MODES:
        raise OptionError(f"cannot encode an array of shape {pixels.shape} and type {pixels.dtype}")
    return _MODES[channels]


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """The bytes of an sRGB ICC profile (LittleCMS's built-in), for files that embed one."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode(
    pixels: np.ndarray,
    fmt: str,
    *,
    quality: int | None = None,
    subsampling: int = JPEG_SUBSAMPLING,
    icc_srgb: bool = False,
    threads: int = 1,
) -> bytes:
    """Encode a mask, composite or cut-out into PNG, WebP, JPEG or TIFF bytes.

    Parameters
    ----------
    pixels
        uint8 HxW (mask), HxWx3 (RGB) or HxWx4 (RGBA, only for formats with alpha), sRGB.
    fmt
        'png', 'webp', 'jpg'/'jpeg', 'tif'/'tiff' (any case; see formats.normalise_format).
    quality
        JPEG / WebP quality 1..100. Default None: `settings.JPEG_QUALITY` (95) or
        `settings.WEBP_QUALITY` (92). Ignored by PNG and TIFF (lossless).
    subsampling
        JPEG chroma subsampling in Pillow's code (0 = 4:4:4, 2 = 4:2:0). Default
        `settings.JPEG_SUBSAMPLING` (4:4:4, so a white background stays exactly 255 at edges).
    icc_srgb
        Embed an sRGB ICC profile (marketplaces ask for one). Default False: PNG marks sRGB
        with its one-byte chunk, and JPEG/WebP without a profile are read as sRGB anyway.
    threads
        Threads for the PNG writer's parallel deflate. Default 1; the still path passes its
        session's thread count.
    """
    fmt = writable_format(fmt)
    kind = pixel_kind(pixels)
    if kind == "RGBA" and fmt not in ALPHA_FORMATS:
        raise OptionError(f"{fmt} has no alpha channel: compose the cut-out onto a background first")
    if fmt == "PNG":
        from edgematte.png import encode_png

        return encode_png(pixels, threads, icc_profile=srgb_profile() if icc_srgb else None)
    from PIL import Image

    from edgematte.png import SOFTWARE

    params: dict[str, Any] = {}
    if icc_srgb:
        params["icc_profile"] = srgb_profile()
    if fmt == "TIFF":
        params["tiffinfo"] = {0x0131: SOFTWARE}
    else:
        exif = Image.Exif()
        exif[0x0131] = SOFTWARE  # Software: ours, so a later batch never takes it as an input
        params["exif"] = exif.tobytes()
    if fmt == "JPEG":
        params.update(quality=quality or JPEG_QUALITY, subsampling=subsampling, optimize=False)
    elif fmt == "WEBP":
        params.update(quality=quality or WEBP_QUALITY, alpha_quality=100, method=WEBP_METHOD, exact=True)
    else:  # TIFF
        params["compression"] = "tiff_deflate"
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), kind).save(buf, fmt, **params)
    return buf.getvalue()


def encode_frames(frames: list[np.ndarray], durations_ms: list[int], fmt: str, *, quality: int | None = None) -> bytes:
    """Encode frames as one animated file: APNG, animated WebP or a multi-page TIFF.

    Parameters
    ----------
    frames
        uint8 HxW, HxWx3 or HxWx4 arrays of one size (cut-outs keep their alpha).
    durations_ms
        How long each frame shows, as the source said. Ignored by TIFF (pages).
    fmt
        'png' (APNG), 'webp' or 'tif'. JPEG holds one picture: OptionError.
    quality
        WebP quality 1..100. Default None: `settings.WEBP_QUALITY` (92), alpha lossless.

    Every frame replaces the one before (APNG: dispose to background, blend source), so
    transparent pixels stay transparent through the loop, which loops forever.
    """
    from PIL import Image, PngImagePlugin

    from edgematte.png import SOFTWARE

    fmt = writable_format(fmt)
    if fmt not in ALPHA_FORMATS:
        raise OptionError(f"{fmt} holds one picture: write the frames as .png (APNG), .webp or .tif")
    images = [Image.fromarray(np.ascontiguousarray(f), pixel_kind(f)) for f in frames]
    params: dict[str, Any] = {"save_all": True, "append_images": images[1:]}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", SOFTWARE)
        params.update(duration=durations_ms, loop=0, disposal=1, blend=0, pnginfo=info)
    elif fmt == "WEBP":
        exif = Image.Exif()
        exif[0x0131] = SOFTWARE
        params.update(
            duration=durations_ms, loop=0, quality=quality or WEBP_QUALITY, alpha_quality=100, exact=True,
            exif=exif.tobytes(),
        )  # fmt: skip
    else:
        params.update(compression="tiff_deflate", tiffinfo={0x0131: SOFTWARE})
    buf = io.BytesIO()
    images[0].save(buf, fmt, **params)
    return buf.getvalue()


def is_our_output(path: str | os.PathLike) -> bool:
    """Whether an image file was written by edgematte (its Software tag says so).

    Parameters
    ----------
    path
        The file. Only its header is read (Pillow parses PNG text chunks before the pixels).

    Returns
    -------
    bool
        True for a file carrying our Software tag; False for anything else, unreadable included.
    """
    from PIL import Image

    from edgematte.png import SOFTWARE

    try:
        with Image.open(os.fspath(path)) as im:
            if im.format == "PNG":
                return im.info.get("Software") == SOFTWARE
            return im.getexif().get(0x0131) == SOFTWARE
    except Exception:  # any unreadable file is simply not ours
        return False
