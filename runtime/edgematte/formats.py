"""Image format names, file suffixes and what each format can hold: the one normaliser.

Every place that takes a format from a user (`-f jpg`, `format="jpeg"`, a preset's list, an
output path's suffix) goes through `normalise_format` or `format_for_path`, so "jpg", "JPG",
".jpeg" and "JPEG" are the same thing everywhere. Light: no image library is imported here.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgematte.errors import OptionError

# Formats edgematte writes, by canonical name (Pillow's), with the suffix an output gets.
WRITE_SUFFIX = {"PNG": ".png", "WEBP": ".webp", "JPEG": ".jpg", "TIFF": ".tif"}
# Formats with an alpha channel: a cut-out in any other is composed onto a colour first.
ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
# Suffixes read as images when a folder or glob is expanded.
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".avif", ".heic", ".heif",
)  # fmt: skip
# Names a user may type, to canonical names (readable formats included: presets list them).
_ALIASES = {
    "JPG": "JPEG",
    "JPE": "JPEG",
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WEBP",
    "TIF": "TIFF",
    "TIFF": "TIFF",
    "GIF": "GIF",
    "BMP": "BMP",
}
_SUFFIX_FORMAT = {".png": "PNG", ".webp": "WEBP", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}


def normalise_format(name: str) -> str:
    """The canonical name of a format a user typed.

    Parameters
    ----------
    name
        'jpg', 'JPEG', '.jpeg', 'tif', 'png', 'webp', ... (case and a leading dot ignored).

    Returns
    -------
    str
        'JPEG', 'PNG', 'WEBP', 'TIFF', 'GIF' or 'BMP'. Raises OptionError for anything else.
    """
    key = str(name).strip().lstrip(".").upper()
    if key not in _ALIASES:
        raise OptionError(f"unknown image format '{name}'; use png, webp, jpg or tif")
    return _ALIASES[key]


def writable_format(name: str) -> str:
    """`normalise_format`, then refuse formats edgematte does not write (GIF, BMP)."""
    fmt = normalise_format(name)
    if fmt not in WRITE_SUFFIX:
        raise OptionError(f"cannot write {fmt}; use png, webp, jpg or tif")
    return fmt


def format_for_path(path: str | os.PathLike) -> str:
    """The format an output path asks for, from its suffix (.png, .webp, .jpg/.jpeg, .tif/.tiff)."""
    ext = Path(path).suffix.lower()
    if ext not in _SUFFIX_FORMAT:
        raise OptionError(f"{path}: unknown output type '{ext}'; use .png, .webp, .jpg or .tif")
    return _SUFFIX_FORMAT[ext]


def suffix_for(fmt: str) -> str:
    """The suffix an output of this (writable) format gets: '.png', '.webp', '.jpg', '.tif'."""
    return WRITE_SUFFIX[writable_format(fmt)]


def has_alpha(fmt: str) -> bool:
    """Whether the format keeps an alpha channel (PNG, WebP, TIFF: yes; JPEG: no)."""
    return normalise_format(fmt) in ALPHA_FORMATS
