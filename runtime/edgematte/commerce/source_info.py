"""What the file itself is (format, size, colour space, bit depth, frames, JPEG tables), read
from the container without decoding the pixels twice."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, UnidentifiedImageError

from edgematte.errors import ImageError

HIGH_BIT_MODES = {"I;16", "I;16B", "I;16L", "I", "F", "RGB;16", "RGBA;16"}


@dataclass
class SourceInfo:
    name: str
    format: str | None
    width: int
    height: int
    mode: str
    bytes: int | None
    icc: str | None  # the embedded profile's description, None if none
    frames: int
    quantization: dict | None
    has_alpha: bool

    @property
    def bit_depth(self) -> int:
        if self.mode in HIGH_BIT_MODES or self.mode.endswith(";16"):
            return 16
        if self.mode == "1":
            return 1
        return 8

    @property
    def is_srgb(self) -> bool:
        return self.icc is None or "srgb" in self.icc.lower().replace(" ", "").replace("-", "")


def inspect_source(data: Any) -> SourceInfo:
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
        with Image.open(io.BytesIO(raw)) as im:
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
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"{name}: not a readable image ({exc})") from exc
