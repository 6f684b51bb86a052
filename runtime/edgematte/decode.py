"""The decode stage: any image a caller has, to 8-bit sRGB.

Every image enters the still path as a C-contiguous `uint8` HxWx3 RGB array plus, when the
source had one, its own `uint8` HxW alpha (kept aside and respected by the final cut-out):
EXIF orientation applied, ICC profiles (Adobe RGB, Display P3, CMYK press profiles) converted
to sRGB, 16-bit and float samples scaled, palettes expanded.

The pixel limit (`settings.MAX_PIXELS`, or the caller's `max_pixels`) is checked per call from
the header, before any pixel is decoded. Pillow's process-wide decompression-bomb guard
(`PIL.Image.MAX_IMAGE_PIXELS`) belongs to the host application and is never changed here: an
image over it is refused as too large, naming the setting.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import simplejpeg
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from edgematte.errors import ImageError, ImageTooLargeError
from edgematte.settings import MAX_PIXELS

_SRGB = ImageCms.createProfile("sRGB")
# What Pillow raises on data it cannot parse, past the header (truncated files, bad chunks,
# text chunks inflating past its limit, and what tools/fuzz_decode.py found: IndexError from a
# cut-short GIF, TypeError from a broken TIFF page): each becomes our ImageError, file named.
DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError,
    OverflowError, struct.error, Image.DecompressionBombError,
)  # fmt: skip


@dataclass
class DecodedImage:
    """An image as the still path takes it: sRGB pixels, and the source's own alpha kept aside."""

    rgb: np.ndarray  # HxWx3 uint8, sRGB
    alpha: np.ndarray | None  # HxW uint8 when the source had transparency
    format: str | None  # source container format (JPEG, PNG, ...) when known
    icc_converted: bool = False
    frames: int = 1  # frames or pages in the source; only the first is decoded

    def notes(self) -> list[str]:
        """What the user should know about this decode (a batch prints each as a warning)."""
        if self.frames > 1:
            return [f"only the first of its {self.frames} frames or pages is used (an animated or multi-page image)"]
        return []

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)"""
        return self.rgb.shape[1], self.rgb.shape[0]


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"image has an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} ({width * height / 1e6:.1f} MP), over the {max_pixels / 1e6:.0f} MP limit; "
            "downscale it first or raise max_pixels"
        )


def _name(source: Any) -> str:
    return "input bytes" if isinstance(source, bytes | bytearray | memoryview) else str(source)


# ISO base media 'ftyp' brands of HEIF stills (HEIC is iPhone's default photo format).
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_READS = "JPEG, PNG, WebP, AVIF, HEIC, TIFF, BMP or GIF expected"


def _head(source: str | os.PathLike | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:32])
    with open(os.fspath(source), "rb") as f:
        return f.read(32)


def is_heif(head: bytes) -> bool:
    """Whether a file's first bytes are a HEIF still's ('ftyp' box with a HEIF brand)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    return bool(brands & _HEIF_BRANDS)


def enable_heif(name: str = "image") -> None:
    """Let Pillow open HEIC/HEIF (pillow-heif, the `heic` extra); registered once, on first need.

    pillow-heif applies the file's rotation and mirroring (`irot`/`imir`) itself and resets
    EXIF orientation, so a phone photo comes out upright exactly once.

    Raises
    ------
    ImageError
        When the `heic` extra is not installed, naming it.
    """
    try:
        import pillow_heif
    except ImportError as exc:
        raise ImageError(
            f"{name}: a HEIC/HEIF photo (iPhone's default); reading it needs the heic extra: "
            "pip install 'edgematte[heic]'"
        ) from exc
    pillow_heif.register_heif_opener()


def open_image(source: str | os.PathLike | bytes, name: str | None = None) -> Image.Image:
    """Open an image file lazily (header only) with every failure as our ImageError.

    Parameters
    ----------
    source
        A path or the file's bytes.
    name
        How errors name the image. Default None: the path, or "input bytes".

    Raises
    ------
    ImageError
        Missing file, a folder, no permission, not an image (the formats we read are named), a
        header Pillow cannot parse (including text chunks that inflate past its limit).
    ImageTooLargeError
        Over the process's Pillow pixel limit.
    """
    label = name or _name(source)
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            return Image.open(io.BytesIO(bytes(source)))
        return Image.open(os.fspath(source))
    except FileNotFoundError as exc:
        raise ImageError(f"{label}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImageError(f"{label}: is a folder, not an image") from exc
    except PermissionError as exc:
        raise ImageError(f"{label}: permission denied") from exc
    except UnidentifiedImageError as exc:
        if is_heif(_head(source)) and "HEIF" not in Image.OPEN:
            enable_heif(label)
            return open_image(source, name)
        raise ImageError(f"{label}: not a readable image ({_READS})") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{label}: over the process's Pillow pixel limit (PIL.Image.MAX_IMAGE_PIXELS = "
            f"{Image.MAX_IMAGE_PIXELS}); downscale it, or raise that limit in the application"
        ) from exc
    except DECODE_ERRORS as exc:
        raise ImageError(f"{label}: not a readable image ({exc})") from exc


def _to_srgb(im: Image.Image) -> tuple[Image.Image, bool]:
    """Apply an embedded ICC profile (Adobe RGB, Display P3, CMYK press profiles...) into sRGB."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im, False
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return im, False  # a broken profile is ignored rather than failing the image
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA", "PA") else None
    base = im.convert("RGB") if im.mode not in ("RGB", "CMYK", "L") else im
    try:
        out = ImageCms.profileToProfile(base, src, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, ValueError, OSError):
        return im, False
    if out is None:
        return im, False
    if alpha is not None:
        out.putalpha(alpha)
    return out, True


def _high_bit_to_8(arr: np.ndarray) -> np.ndarray:
    """16-bit or 32-bit integer / float samples to 8-bit, by the range their type implies."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float32))
        scale = 255.0 if a.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(a * scale + 0.5, 0, 255).astype(np.uint8)
    a = arr.astype(np.int64)
    top = 65535 if a.max(initial=0) > 255 or arr.dtype in (np.uint16, np.int32) else 255
    if top == 65535:
        return ((np.clip(a, 0, 65535) * 255 + 32767) // 65535).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def _from_pil(im: Image.Image, max_pixels: int, name: str = "image") -> DecodedImage:
    _check_pixels(im.width, im.height, max_pixels)
    fmt = im.format
    try:
        frames = getattr(im, "n_frames", 1)  # counting reads the file: a cut-short GIF fails here
        if frames > 1:
            im.seek(0)  # GIF / multi-page TIFF: the first frame
        im = ImageOps.exif_transpose(im) or im
        im.load()
    except DECODE_ERRORS as exc:
        raise ImageError(f"{name}: image data is truncated or corrupt ({exc})") from exc
    icc_done = False
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = _high_bit_to_8(np.asarray(im))
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        return DecodedImage(np.ascontiguousarray(rgb), None, fmt, frames=frames)
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("1", "L") and "transparency" in im.info:
        im = im.convert("LA")
    elif im.mode in ("PA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode in ("RGB", "RGBA", "CMYK", "L", "LA"):
        im, icc_done = _to_srgb(im)
    alpha = None
    if im.mode in ("RGBA", "LA"):
        alpha = np.asarray(im.getchannel("A"), dtype=np.uint8)
    if im.mode != "RGB":
        im = im.convert("RGB")  # CMYK without profile, YCbCr, LAB, HSV, 1, L
    rgb = np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if alpha is not None and alpha.min() == 255:
        alpha = None  # an opaque alpha channel carries nothing
    return DecodedImage(rgb, None if alpha is None else np.ascontiguousarray(alpha), fmt, icc_done, frames)


def from_array(arr: np.ndarray, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """A NumPy image as the still path takes it.

    Parameters
    ----------
    arr
        HxW grey, HxWx3 RGB or HxWx4 RGBA; uint8, uint16 (0..65535) or float (0..1). The array
        is taken as sRGB; an alpha channel that is opaque everywhere is dropped.
    max_pixels
        Refuse larger images (ImageTooLargeError). Default `settings.MAX_PIXELS` (100 MP).
    """
    if not isinstance(arr, np.ndarray):
        raise ImageError(f"expected a NumPy array, got {type(arr).__name__}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"array shape {arr.shape} is not HxW, HxWx3 (RGB) or HxWx4 (RGBA)")
    _check_pixels(arr.shape[1], arr.shape[0], max_pixels)
    a8 = _high_bit_to_8(arr)
    if a8.ndim == 2:
        return DecodedImage(np.ascontiguousarray(np.repeat(a8[:, :, None], 3, axis=2)), None, None)
    alpha = np.ascontiguousarray(a8[:, :, 3]) if a8.shape[2] == 4 else None
    if alpha is not None and alpha.min() == 255:
        alpha = None
    return DecodedImage(np.ascontiguousarray(a8[:, :, :3]), alpha, None)


def _read_bytes(source: Any) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    with open(os.fspath(source), "rb") as f:
        return f.read()


def _corrupt_jpeg(name: str, exc: Exception) -> ImageError:
    return ImageError(
        f"{name}: JPEG data is corrupt or truncated ({exc}); decoded anyway it would come out partly flat grey"
    )


def check_jpeg_data(data: bytes, name: str = "input bytes") -> None:
    """Refuse JPEG data that libjpeg can only decode by inventing pixels.

    A truncated JPEG that still ends with an EOI marker (a copy cut short, a card pulled
    out) decodes without error in Pillow and OpenCV: libjpeg only prints "Corrupt JPEG data:
    premature end of data segment" and fills the rest with flat grey, which the model then cuts
    out. libjpeg-turbo through simplejpeg (``strict=True``) turns every such recoverable error
    into an exception. The check decodes at 1/8 scale, which still entropy-decodes every block
    (about a tenth of a full decode).

    Parameters
    ----------
    data
        The JPEG file's bytes.
    name
        How the error names the image (the file path, or "input bytes").

    Raises
    ------
    ImageError
        When libjpeg reports corrupt or truncated data.
    """
    try:
        _, _, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        space = "CMYK" if colorspace in ("CMYK", "YCCK") else "GRAY"
        simplejpeg.decode_jpeg(data, colorspace=space, min_factor=8, strict=True)
    except ValueError as exc:
        raise _corrupt_jpeg(name, exc) from exc


def png_chunks_intact(data: bytes) -> bool:
    """Whether every chunk of a PNG is complete and passes its CRC, up to IEND.

    Parameters
    ----------
    data
        The PNG file's bytes. Checking them costs a CRC-32 pass (~15 ms for a 15 MB file).

    Returns
    -------
    bool
        False for a cut-short file or a damaged chunk: such a file goes to Pillow, which raises
        a clear error, instead of OpenCV's libpng, which prints "libpng error: ..." on stderr.
    """
    pos, end, view = 8, len(data), memoryview(data)
    while pos + 12 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        stop = pos + 8 + length
        if stop + 4 > end:
            return False
        if zlib.crc32(view[pos + 4 : stop]) != int.from_bytes(data[stop : stop + 4], "big"):
            return False
        if data[pos + 4 : pos + 8] == b"IEND":
            return True
        pos = stop + 4
    return False


# EXIF orientation (tag 0x0112) as NumPy views of an HxWxC array, the same transforms as
# PIL.ImageOps.exif_transpose.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _decode_plain_rgb(im: Image.Image, source: Any, max_pixels: int) -> DecodedImage | None:
    """The common case, decoded straight into an array (no Pillow buffer + copy: a 12 MP JPEG
    in 85 ms here vs 106 ms with OpenCV and 192 ms with Pillow): an 8-bit RGB JPEG through libjpeg-turbo
    (simplejpeg, strict: corrupt data is an error, see `check_jpeg_data`) with EXIF orientation
    applied, an 8-bit RGB PNG through OpenCV. Both only without an ICC profile or transparency;
    everything else goes through Pillow."""
    if im.format not in ("JPEG", "PNG") or im.mode != "RGB" or im.info.get("icc_profile") or "transparency" in im.info:
        return None
    _check_pixels(im.width, im.height, max_pixels)
    if im.format == "JPEG":
        data = _read_bytes(source)
        try:
            rgb = simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
        except ValueError as exc:
            raise _corrupt_jpeg(_name(source), exc) from exc
        turn = _ORIENT.get(im.getexif().get(0x0112))
        return DecodedImage(rgb if turn is None else np.ascontiguousarray(turn(rgb)), None, im.format)
    data = _read_bytes(source)
    if not png_chunks_intact(data):
        return None  # Pillow names what is wrong; libpng would print its own line to stderr first
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.ndim != 3:
        return None  # let Pillow produce its error message, or decode what OpenCV would not
    return DecodedImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr), None, im.format)


def decode_frames(
    source: str | os.PathLike | bytes, max_pixels: int = MAX_PIXELS
) -> tuple[list[DecodedImage], list[int]]:
    """Every frame of an animated GIF, WebP or PNG (APNG), or every page of a TIFF, decoded.

    Parameters
    ----------
    source
        A path or the file's bytes. A still image gives one frame.
    max_pixels
        Refuse sources whose frames hold more pixels in all (ImageTooLargeError), judged from
        the header: a 300-frame GIF is 300 stills. Default `settings.MAX_PIXELS` (100 MP).

    Returns
    -------
    frames, durations_ms
        Each frame composed as the viewer shows it (GIF/APNG frames are often partial
        updates), and how long it shows (100 ms when the file does not say).
    """
    with open_image(source) as im:
        try:
            count = getattr(im, "n_frames", 1)
        except DECODE_ERRORS as exc:
            raise ImageError(f"{_name(source)}: image data is truncated or corrupt ({exc})") from exc
        _check_pixels(im.width, im.height * count, max_pixels)
        if count == 1:
            return [decode(source, max_pixels)], [int(im.info.get("duration") or 100)]
        frames, durations = [], []
        try:
            for i in range(count):
                im.seek(i)
                im.load()  # WebP sets a frame's duration only once it is loaded
                durations.append(int(im.info.get("duration") or 100))
                frames.append(_from_pil(im.convert("RGBA"), max_pixels, _name(source)))
        except DECODE_ERRORS as exc:
            raise ImageError(f"{_name(source)}: frame {len(frames) + 1} is truncated or corrupt ({exc})") from exc
    return frames, durations


def decode(source: Any, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """The decode stage: a path, bytes, PIL image or NumPy array to 8-bit sRGB (+ source alpha).

    Parameters
    ----------
    source
        A file path, the bytes of an image file (JPEG, PNG, WebP, AVIF, HEIC/HEIF with the
        `heic` extra, TIFF, BMP, GIF: the first frame), a PIL image, a NumPy array (see
        `from_array`), or a DecodedImage (returned as is).
    max_pixels
        Refuse images with more pixels (ImageTooLargeError), judged from the header before
        decoding. Default `settings.MAX_PIXELS` (100 MP).

    Raises
    ------
    ImageError
        For anything that is not a readable image, with the file named and the reason.
    """
    if isinstance(source, DecodedImage):
        return source
    if isinstance(source, np.ndarray):
        return from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source.copy() if source.mode == "P" else source, max_pixels)
    if isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
        if isinstance(source, bytes | bytearray | memoryview) and len(source) == 0:
            raise ImageError("input bytes are empty")
        im = open_image(source)
        try:
            fast = _decode_plain_rgb(im, source, max_pixels)
            if fast is not None:
                return fast
            if im.format == "JPEG":
                _check_pixels(im.width, im.height, max_pixels)
                check_jpeg_data(_read_bytes(source), _name(source))
            return _from_pil(im, max_pixels, _name(source))
        finally:
            im.close()
    raise ImageError(f"cannot read an image from {type(source).__name__}; pass a path, bytes, PIL image or array")
