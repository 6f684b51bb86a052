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
from edgematte.formats import normalise_format


@dataclass(frozen=True)
class Preset:
    """One marketplace's rules for a main image (keys as in data/presets.toml; None: no such rule)."""

    name: str  # the TOML table's name, e.g. "amazon"
    title: str  # for messages (the name when the file gives none)
    canvas: tuple[int, int]  # (w, h) that `compose` and `resize` produce
    fill_min: float | None = None  # hard rule: the product's box spans at least this along its limiting side
    fill_target: float = 0.85  # what `compose` aims for: leaves a margin so nothing touches the frame
    min_long_side: int | None = None  # px
    recommended_long_side: int | None = None  # px: a warning below it, not a failure
    max_long_side: int | None = None  # px
    min_short_side: int | None = None  # px
    min_width: int | None = None  # px
    min_height: int | None = None  # px
    aspect: float | None = None  # required width / height, checked within settings.ASPECT_TOLERANCE
    max_bytes: int | None = None  # file size limit
    white_background: bool = False  # background pixels must be exactly RGB 255
    formats: tuple[str, ...] = ("JPEG", "PNG")  # accepted containers (normalised names)
    colour_space: str | None = "sRGB"  # "sRGB": an embedded profile must be sRGB (or none)
    bit_depth: int | None = None  # required bits per channel (8 in the built-in presets that set it)
    transparency: bool = True  # False: no transparent pixels allowed
    animated: bool = True  # False: a single frame only
    no_borders_text: bool = False  # a reminder only (text cannot be judged); printed as advice
    advice: str = ""  # extra guidance printed with the checklist
    sources: tuple[str, ...] = field(default_factory=tuple)  # where the rules come from

    def size_problems(self, width: int, height: int) -> list[str]:
        """The preset's pixel-size rules this width x height breaks (empty: all met).

        Parameters
        ----------
        width, height
            The image's size in px.

        Returns
        -------
        One message per broken rule, e.g. "longest side 800 < 1000 px".
        """
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
    try:
        formats = tuple(normalise_format(f) for f in raw.get("formats", ("JPEG", "PNG")))
    except OptionError as exc:
        raise OptionError(f"{origin}: preset '{name}': {exc}") from None
    if not formats:
        raise OptionError(f"{origin}: preset '{name}': an empty list of formats")
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
    """Built-in presets, overlaid with the user's file (argument, else $EDGEMATTE_PRESETS).

    Parameters
    ----------
    extra
        A TOML file of presets in the built-in file's shape; a preset with a built-in name
        replaces the built-in one. Default None: $EDGEMATTE_PRESETS, else built-ins only.

    Raises
    ------
    OptionError
        When the file is missing, is not valid TOML, or a preset in it is malformed.
    """
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
    """A preset by name (case-insensitive), or `name` itself when it is a Preset already.

    Parameters
    ----------
    name
        A preset's name, or a Preset (returned as it is).
    extra
        The user's presets file, as in `presets`. Default None: $EDGEMATTE_PRESETS, else
        built-ins only.

    Raises
    ------
    OptionError
        When no preset has that name.
    """
    if isinstance(name, Preset):
        return name
    all_presets = presets(extra)
    key = name.lower()
    if key not in all_presets:
        raise OptionError(f"unknown preset '{name}'; choose one of: {', '.join(sorted(all_presets))}")
    return all_presets[key]
