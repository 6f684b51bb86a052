"""What the file itself is (format, size, colour space, bit depth, frames, JPEG tables), read
from the container without decoding the pixels twice."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ImageCms

from edgematte.decode import DECODE_ERRORS, open_image
from edgematte.errors import ImageError

HIGH_BIT_MODES = {"I;16", "I;16B", "I;16L", "I", "F", "RGB;16", "RGBA;16"}


@dataclass
class SourceInfo:
    """What an image file is, read from its container (Pillow's header), not its pixels."""

    name: str  # the path as given, or "<bytes>"
    format: str | None  # Pillow's format name, e.g. "JPEG", "PNG"
    width: int
    height: int
    mode: str  # Pillow's mode, e.g. "RGB", "RGBA", "CMYK", "I;16"
    bytes: int | None  # file size
    icc: str | None  # the embedded profile's description, None if none
    frames: int  # 1 for a still image
    quantization: dict | None  # a JPEG's quantisation tables (Pillow's `im.quantization`), else None
    has_alpha: bool  # an alpha channel, or a transparency key (palette or colour)

    @property
    def bit_depth(self) -> int:
        """Bits per channel implied by the mode: 16 for high-bit modes, 1 for bilevel, else 8."""
        if self.mode in HIGH_BIT_MODES or self.mode.endswith(";16"):
            return 16
        if self.mode == "1":
            return 1
        return 8

    @property
    def is_srgb(self) -> bool:
        """True when there is no profile (read as sRGB) or the profile's description names sRGB."""
        return self.icc is None or "srgb" in self.icc.lower().replace(" ", "").replace("-", "")


def inspect_source(data: Any) -> SourceInfo:
    """Read what an image file is (format, size, mode, profile, frames, JPEG tables) from its header.

    Parameters
    ----------
    data
        A path (str or os.PathLike) or the file's bytes.

    Raises
    ------
    ImageError
        When the file cannot be read or is not an image Pillow can open.
    """
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        name = str(path)
    elif isinstance(data, bytes | bytearray | memoryview):
        raw, name = bytes(data), "<bytes>"
    else:
        raise ImageError("inspect_source needs a path or bytes")
    try:
        with open_image(raw, name) as im:
            icc = im.info.get("icc_profile")
            desc = None
            if icc:
                try:
                    desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
                except (OSError, ImageCms.PyCMSError):
                    desc = "unreadable profile"
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            return SourceInfo(
                name=name,
                format=im.format,
                width=im.width,
                height=im.height,
                mode=im.mode,
                bytes=len(raw),
                icc=desc,
                frames=getattr(im, "n_frames", 1),
                quantization=getattr(im, "quantization", None),
                has_alpha=has_alpha,
            )
    except DECODE_ERRORS as exc:  # past the header: Pillow reading EXIF or text chunks lazily
        raise ImageError(f"{name}: not a readable image ({exc})") from exc
