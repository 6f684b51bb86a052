"""The seller workflow's API: compose, resize_for, place, check, check_edges, compliance.

Each takes what `remove()` takes (path, bytes, PIL image, array) and a Session (or builds the
default one), so a batch loads the model once. Functions that make an image return encoded
bytes, or write `output` atomically (never over the input) and return its Path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgematte.api import Session, session_for
from edgematte.colors import parse_colour
from edgematte.commerce.canvas import Canvas, white_canvas
from edgematte.commerce.checks import photo_checklist
from edgematte.commerce.compliance import compliance_check
from edgematte.commerce.edges import edge_report
from edgematte.commerce.export import encode_for_preset
from edgematte.commerce.findings import CheckReport
from edgematte.commerce.presets import Preset, get_preset
from edgematte.commerce.resize import Resized, resize_to_canvas
from edgematte.commerce.scene import Placement, place_in_scene
from edgematte.commerce.source_info import SourceInfo, inspect_source
from edgematte.errors import OptionError
from edgematte.imageio import DecodedImage, decode, encode, format_for_path, write_atomic

PathLike = str | os.PathLike


@dataclass
class Made:
    """An image a seller verb produced: the encoded file and what was done."""

    data: bytes
    format: str
    details: dict[str, Any]


def _session(session: Session | None) -> Session:
    return session or session_for()


def _info(data: Any) -> SourceInfo | None:
    return inspect_source(data) if isinstance(data, str | os.PathLike | bytes | bytearray) else None


def _name(data: Any) -> str:
    return str(data) if isinstance(data, str | os.PathLike) else f"<{type(data).__name__}>"


def _deliver(made: Made, output: PathLike | None, source: Any) -> Made | Path:
    if output is None:
        return made
    protect = [source] if isinstance(source, str | os.PathLike) else []
    return write_atomic(output, made.data, protect=protect)


def compose(
    data: Any,
    preset: str | Preset = "amazon",
    *,
    fill: float | None = None,
    fmt: str | None = None,
    output: PathLike | None = None,
    session: Session | None = None,
    presets_file: PathLike | None = None,
) -> Made | Path:
    """Cut out and centre the product on the preset's pure-white canvas at its fill ratio."""
    p = get_preset(preset, presets_file)
    if fmt is None and output is not None:
        fmt = format_for_path(output)
    m = _session(session).matte(data)
    c: Canvas = white_canvas(m.rgba[..., :3], m.alpha, p, fill)  # a view: no 12 MP copy
    blob = encode_for_preset(c.rgb, p, fmt, alpha=c.alpha)
    with Image.open(__import__("io").BytesIO(blob)) as im:
        written = im.format
    h, w = c.alpha.shape
    details = {
        "preset": p.name,
        "canvas": [w, h],
        "fill": round(c.box.fill(w, h), 4),
        "scale": round(c.scale, 3),
        "bytes": len(blob),
        "box": c.box.as_list(),
        "warnings": c.warnings,
    }
    return _deliver(Made(blob, written or "", details), output, data)


def resize_for(
    data: Any,
    preset: str | Preset,
    *,
    pad: str | tuple[int, int, int] | None = None,
    fmt: str | None = None,
    output: PathLike | None = None,
    session: Session | None = None,
    presets_file: PathLike | None = None,
) -> Made | Path:
    """Fit a photo (or a cut-out with alpha) to the preset's canvas: crop around the product where
    the aspect allows, pad where it does not; the product is never cut."""
    p = get_preset(preset, presets_file)
    image = data if isinstance(data, DecodedImage) else decode(data, _session(session).max_pixels)
    own = image.alpha if image.alpha is not None and (image.alpha < 255).any() else None
    subject = own if own is not None else _session(session).matte(image).alpha
    colour = parse_colour(pad) if pad is not None and pad != "auto" else None
    r: Resized = resize_to_canvas(image.rgb, subject, p.canvas, pad=colour, own_alpha=own)
    if fmt is None:
        fmt = format_for_path(output) if output is not None else ("PNG" if own is not None else p.output_format)
    fmt = fmt.upper().replace("JPG", "JPEG")
    if r.alpha is not None and fmt in ("PNG", "WEBP", "TIFF"):
        blob = encode(r.rgb, r.alpha, fmt, icc_srgb=fmt != "WEBP")
    elif fmt in p.formats:
        blob = (
            encode_for_preset(r.rgb, p, fmt)
            if not p.white_background
            else encode(r.rgb, r.alpha, fmt, subsampling=0, icc_srgb=True)
        )
    else:
        raise OptionError(f"{p.title} does not accept {fmt}; use one of {', '.join(p.formats)}")
    details = {
        "preset": p.name,
        "canvas": list(p.canvas),
        "window": r.window.as_list(),
        "padded": r.padded,
        "scale": round(r.scale, 3),
    }
    return _deliver(Made(blob, fmt, details), output, data)


def place(
    data: Any,
    scene: Any,
    *,
    at: tuple[float, float] | None = None,
    height: float | None = None,
    shadow: bool = True,
    match_colour: bool = True,
    fmt: str | None = None,
    output: PathLike | None = None,
    session: Session | None = None,
) -> Made | Path:
    """Cut out the product and place it into a scene photo (see commerce/scene.py)."""
    s = _session(session)
    m = s.matte(data)
    bg = decode(scene, s.max_pixels).rgb
    pl: Placement = place_in_scene(
        m.cutout_rgb, m.alpha, m.rgb, bg, at=at, height=height, shadow=shadow, match_colour=match_colour
    )
    fmt = (fmt or (format_for_path(output) if output is not None else "JPEG")).upper().replace("JPG", "JPEG")
    blob = encode(pl.rgb, None, fmt, subsampling=2 if fmt == "JPEG" else 0, quality=92)
    details = {"box": pl.box.as_list(), "scale": round(pl.scale, 3), "colour_gains": [round(g, 3) for g in pl.gains]}
    return _deliver(Made(blob, fmt, details), output, data)


def check(
    data: Any,
    preset: str | Preset | None = None,
    *,
    session: Session | None = None,
    presets_file: PathLike | None = None,
) -> CheckReport:
    """The pre-upload checklist of a product photo (resolution, framing, contrast, blur, noise, ...)."""
    p = get_preset(preset, presets_file) if preset is not None else None
    info = _info(data)
    s = _session(session)
    image = data if isinstance(data, DecodedImage) else decode(data, s.max_pixels)
    m = s.matte(image)
    return photo_checklist(image.rgb, m.alpha, info, p, _name(data))


def check_edges(data: Any, *, crops_dir: PathLike | None = None, session: Session | None = None) -> CheckReport:
    """Cut out, then flag likely cut-out mistakes and write 100% crops of the worst spots."""
    m = _session(session).matte(data)
    return edge_report(m.rgb, m.cutout_rgb, m.alpha, m.mask_lowres, _name(data), crops_dir)


def compliance(data: Any, preset: str | Preset, *, presets_file: PathLike | None = None) -> CheckReport:
    """Check a finished image file (path or bytes) against a marketplace preset."""
    p = get_preset(preset, presets_file)
    info = inspect_source(data)
    image = decode(data)
    report = compliance_check(image.rgb, image.alpha, info, p)
    return report


def as_array(made: Made) -> np.ndarray:
    """Decode a Made back into pixels (handy in notebooks and tests)."""
    import io

    with Image.open(io.BytesIO(made.data)) as im:
        return np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA") else "RGB"))
