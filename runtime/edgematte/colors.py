"""Parsing background colours given on the command line or to the API."""

from __future__ import annotations

import re

from edgematte.errors import OptionError

NAMED = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "lightgrey": (211, 211, 211),
    "lightgray": (211, 211, 211),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "chromakey": (0, 177, 64),
}

Colour = tuple[int, int, int]


def parse_colour(value: str | tuple[int, int, int] | list[int]) -> Colour:
    """'white', '#RRGGBB', '#RGB', 'RRGGBB' or 'r,g,b' (0..255) -> (r, g, b).

    Parameters
    ----------
    value
        A colour name from NAMED, a hex code (with or without '#', 3 or 6 digits), 'r,g,b', or
        three integers 0..255 as a tuple or list. Case and surrounding spaces are ignored.

    Raises
    ------
    OptionError
        When the value is none of these.
    """
    if isinstance(value, tuple | list):
        if len(value) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in value):
            raise OptionError(f"colour {value!r} must be three integers 0..255")
        return int(value[0]), int(value[1]), int(value[2])
    text = str(value).strip().lower()
    if text in NAMED:
        return NAMED[text]
    m = re.fullmatch(r"#?([0-9a-f]{6}|[0-9a-f]{3})", text)
    if m:
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    m = re.fullmatch(r"(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})", text)
    if m and all(int(g) <= 255 for g in m.groups()):
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    raise OptionError(f"cannot read colour '{value}': use a name (white, black, ...), #RRGGBB or r,g,b")


def looks_like_colour(value: str) -> bool:
    """True when `parse_colour` accepts `value` (to tell a colour from a file name).

    Parameters
    ----------
    value
        The text to test.
    """
    try:
        parse_colour(value)
        return True
    except OptionError:
        return False
