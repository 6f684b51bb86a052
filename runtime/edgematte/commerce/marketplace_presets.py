"""Marketplace presets: data in data/presets.toml (each rule with its source), plus the user's own.

A user file has the same shape; it is named with `--presets FILE` or EDGEMATTE_PRESETS, and a
preset there with a built-in name replaces the built-in one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from edgematte.errors import OptionError

FORMATS = {"JPEG", "PNG", "TIFF", "GIF", "WEBP", "BMP"}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    canvas: tuple[int, int]  # (w, h)
    fill_min: float | None = None
    fill_target: float = 0.85
    min_long_side: int | None = None
    recommended_long_side: int | None = None
    max_long_side: int | None = None
    min_short_side: int | None = None
    min_width: int | None = None
    min_height: int | None = None
    aspect: float | None = None
    max_bytes: int | None = None
    white_background: bool = False
    formats: tuple[str, ...] = ("JPEG", "PNG")
    colour_space: str | None = "sRGB"
    bit_depth: int | None = None
    transparency: bool = True
    animated: bool = True
    no_borders_text: bool = False
    advice: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    def size_problems(self, width: int, height: int) -> list[str]:
        """The preset's pixel-size rules this width x height breaks (empty: all met)."""
        long, short = max(width, height), min(width, height)
        rules = [
            (self.min_long_side, long, "longest side", lambda v, lim: v < lim, "<"),
            (self.max_long_side, long, "longest side", lambda v, lim: v > lim, ">"),
            (self.min_short_side, short, "shortest side", lambda v, lim: v < lim, "<"),
            (self.min_width, width, "width", lambda v, lim: v < lim, "<"),
            (self.min_height, height, "height", lambda v, lim: v < lim, "<"),
        ]
        return [f"{what} {value} {op} {limit} px" for limit, value, what, broken, op in rules
                if limit and broken(value, limit)]  # fmt: skip

    @property
    def output_format(self) -> str:
        """The format `compose`/`resize` write by default: JPEG when accepted (smallest, preferred)."""
        return "JPEG" if "JPEG" in self.formats else self.formats[0]


def _parse(name: str, raw: dict[str, Any], origin: str) -> Preset:
    known = set(Preset.__dataclass_fields__) - {"name"}
    unknown = set(raw) - known
    if unknown:
        raise OptionError(f"{origin}: preset '{name}' has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    if "canvas" not in raw:
        raise OptionError(f"{origin}: preset '{name}' needs canvas = [width, height]")
    try:
        w, h = (int(v) for v in raw["canvas"])
    except (TypeError, ValueError):
        raise OptionError(f"{origin}: preset '{name}': canvas must be [width, height]") from None
    if not (16 <= w <= 20000 and 16 <= h <= 20000):
        raise OptionError(f"{origin}: preset '{name}': canvas {w}x{h} is out of range 16..20000")
    values = dict(raw, canvas=(w, h), title=raw.get("title", name))
    formats = tuple(str(f).upper().replace("JPG", "JPEG") for f in raw.get("formats", ("JPEG", "PNG")))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise OptionError(f"{origin}: preset '{name}': unknown formats {bad}; use {sorted(FORMATS)}")
    values["formats"] = formats
    values["sources"] = tuple(raw.get("sources", ()))
    for key in ("fill_min", "fill_target"):
        if key in raw and not (0.05 <= float(raw[key]) <= 1.0):
            raise OptionError(f"{origin}: preset '{name}': {key} must be a fraction in 0.05..1")
    return Preset(name=name, **values)


def _load(text: str, origin: str) -> dict[str, Preset]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(f"{origin}: not valid TOML ({exc})") from None
    return {name: _parse(name, raw, origin) for name, raw in data.items() if isinstance(raw, dict)}


def presets(extra: str | os.PathLike | None = None) -> dict[str, Preset]:
    """Built-in presets, overlaid with the user's file (argument, else $EDGEMATTE_PRESETS)."""
    text = resources.files("edgematte").joinpath("data/presets.toml").read_text()
    out = _load(text, "built-in presets")
    extra = extra or os.environ.get("EDGEMATTE_PRESETS")
    if extra:
        path = Path(extra)
        if not path.is_file():
            raise OptionError(f"presets file '{path}' not found")
        out.update(_load(path.read_text(), str(path)))
    return out


def get_preset(name: str | Preset, extra: str | os.PathLike | None = None) -> Preset:
    if isinstance(name, Preset):
        return name
    all_presets = presets(extra)
    key = name.lower()
    if key not in all_presets:
        raise OptionError(f"unknown preset '{name}'; choose one of: {', '.join(sorted(all_presets))}")
    return all_presets[key]
