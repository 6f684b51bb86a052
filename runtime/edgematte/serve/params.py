"""remove.bg's request parameters (and rembg's) -> one CutoutRequest, refused with a clear 400.

remove.bg's names and values are kept so an existing client works by changing its base URL:
https://www.remove.bg/api documents them; what each means here is said below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgematte.colors import NAMED
from edgematte.serve.body import Fields
from edgematte.serve.replies import ApiError

# size -> largest output in pixels (None: the image's own size). remove.bg's names and old aliases.
SIZES: dict[str, int | None] = {
    "preview": 250_000,
    "small": 250_000,
    "regular": 250_000,
    "medium": 1_500_000,
    "hd": 4_000_000,
    "4k": None,  # remove.bg: an alias of full
    "50mp": 50_000_000,
    "full": None,
    "auto": None,
}
# type -> our kind of subject: people go to the matting model, everything else to u2netp.
TYPES = {
    "auto": "auto",
    "person": "person",
    "product": "product",
    "car": "product",
    "animal": "product",
    "graphic": "product",
    "transportation": "product",
}
FORMATS = ("auto", "png", "jpg", "jpeg", "webp", "zip")
POSITIONS = {"center": (0.5, 0.5), "original": None}


def _flag(fields: Fields, name: str, default: bool = False) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    v = value.lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise ApiError(400, f"{name} must be true or false, not '{value}'", "invalid_parameter")


def _percent(text: str, name: str, low: float, high: float) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if not m or not low <= float(m.group(1)) <= high:
        raise ApiError(400, f"{name} must be a percentage {low:g}%..{high:g}%, not '{text}'", "invalid_parameter")
    return float(m.group(1)) / 100.0


def parse_bg_color(text: str) -> tuple[int, int, int, int]:
    """remove.bg's `bg_color`: hex (RGB, RGBA, RRGGBB, RRGGBBAA, with or without '#') or a colour name.

    Parameters
    ----------
    text
        The parameter's value.

    Returns
    -------
    (r, g, b, a), 0..255: a < 255 leaves the background partly transparent, as remove.bg does.
    """
    t = text.strip().lower().lstrip("#")
    if t in NAMED:
        return (*NAMED[t], 255)
    if re.fullmatch(r"[0-9a-f]{3,4}", t):
        t = "".join(c * 2 for c in t)
    if re.fullmatch(r"[0-9a-f]{6}([0-9a-f]{2})?", t):
        rgba = [int(t[i : i + 2], 16) for i in range(0, len(t), 2)]
        return (rgba[0], rgba[1], rgba[2], rgba[3] if len(rgba) == 4 else 255)
    m = re.fullmatch(r"(\d{1,3}),(\d{1,3}),(\d{1,3})(?:,(\d{1,3}))?", t.replace(" ", ""))
    if m and all(int(g) <= 255 for g in m.groups() if g is not None):
        r, g, b, a = m.groups()
        return (int(r), int(g), int(b), 255 if a is None else int(a))
    raise ApiError(400, f"bg_color '{text}' is not a colour: use hex (81d4fa, 81d4fa77) or a name", "invalid_parameter")


@dataclass(frozen=True)
class CutoutRequest:
    """One request's options, validated.

    Parameters
    ----------
    size
        remove.bg size name (see SIZES): the largest output in pixels.
    kind
        'auto', 'person' or 'product': which model runs (`routing` decides 'auto').
    format
        'auto' (PNG when the result has transparency, else JPEG), 'png', 'jpg', 'webp' or 'zip'
        (color.jpg + alpha.png, remove.bg's layout).
    channels
        'rgba' (the cut-out or composite) or 'alpha' (the mask alone).
    bg_color
        (r, g, b, a) background colour, or None.
    bg_image
        Background image bytes (from bg_image_file or a fetched bg_image_url), or None.
    crop
        Crop to the subject (alpha > 0) plus `crop_margin`. Default False.
    crop_margin
        (top, right, bottom, left) margins as fractions of the subject box (percent values) or
        pixels (negative fractions mean pixels: see `layout.margins_px`).
    scale
        The subject's size as a fraction of the output's (0.1..1), or None for 'original'.
    position
        (x, y) as fractions: 0 puts the subject flush left / top, 1 flush right / bottom, 0.5
        centres it (CSS-style alignment); None for 'original'.
    add_shadow
        Add the contact shadow under the subject (the seller verbs' shadow). Default False.
    """

    size: str = "preview"
    kind: str = "auto"
    format: str = "auto"
    channels: str = "rgba"
    bg_color: tuple[int, int, int, int] | None = None
    bg_image: bytes | None = None
    crop: bool = False
    crop_margin: tuple[tuple[float, bool], ...] = ((0.0, False),) * 4
    scale: float | None = None
    position: tuple[float, float] | None = None
    add_shadow: bool = False

    @property
    def max_pixels(self) -> int | None:
        """The largest output, pixels (None: the image's own size)."""
        return SIZES[self.size]


def _margins(text: str | None) -> tuple[tuple[float, bool], ...]:
    """'10px', '10%', '10px 20px', '5% 10% 5% 10%' (CSS order) -> ((value, is_percent), ...) x4."""
    if text is None:
        return ((0.0, False),) * 4
    parts = text.replace(",", " ").split()
    vals: list[tuple[float, bool]] = []
    for p in parts:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(px|%)?", p.lower())
        if not m:
            raise ApiError(400, f"crop_margin '{text}' must be like 30px or 10% (1 to 4 values)", "invalid_parameter")
        pct = m.group(2) == "%"
        v = float(m.group(1))
        if (pct and v > 50) or (not pct and v > 500):
            raise ApiError(400, f"crop_margin '{p}' is over the limit (50% or 500px)", "invalid_parameter")
        vals.append((v / 100.0 if pct else v, pct))
    if len(vals) == 1:
        vals *= 4
    elif len(vals) == 2:
        vals = [vals[0], vals[1], vals[0], vals[1]]
    elif len(vals) == 3:
        vals = [vals[0], vals[1], vals[2], vals[1]]
    elif len(vals) != 4:
        raise ApiError(400, f"crop_margin '{text}' has {len(vals)} values; give 1, 2, 3 or 4", "invalid_parameter")
    return tuple(vals)


def _position(text: str | None) -> tuple[float, float] | None:
    if text is None or text.lower() == "original":
        return None
    t = text.lower()
    if t == "center":
        return (0.5, 0.5)
    parts = t.split()
    if len(parts) == 1:
        v = _percent(parts[0], "position", 0, 100)
        return (v, v)
    if len(parts) == 2:
        return (_percent(parts[0], "position", 0, 100), _percent(parts[1], "position", 0, 100))
    raise ApiError(400, f"position '{text}' must be original, center, or 'X% Y%'", "invalid_parameter")


def removebg_request(fields: Fields, default_size: str, bg_image: bytes | None) -> CutoutRequest:
    """Validate remove.bg's parameters (values are case-insensitive).

    Parameters
    ----------
    fields
        The request's parameters (body.read_fields).
    default_size
        The size when none is given (ServeConfig.default_size).
    bg_image
        The background image already read (bg_image_file or a fetched bg_image_url), or None.
    """
    size = (fields.get("size") or default_size).lower()
    if size not in SIZES:
        raise ApiError(400, f"size '{size}' is not one of {', '.join(SIZES)}", "invalid_parameter")
    kind = (fields.get("type") or "auto").lower()
    if kind not in TYPES:
        raise ApiError(400, f"type '{kind}' is not one of {', '.join(TYPES)}", "invalid_parameter")
    fmt = (fields.get("format") or "auto").lower()
    if fmt not in FORMATS:
        raise ApiError(400, f"format '{fmt}' is not one of auto, png, jpg, webp, zip", "invalid_parameter")
    channels = (fields.get("channels") or "rgba").lower()
    if channels not in ("rgba", "alpha"):
        raise ApiError(400, f"channels '{channels}' must be rgba or alpha", "invalid_parameter")
    color = fields.get("bg_color")
    if color is not None and bg_image is not None:
        raise ApiError(400, "give bg_color or a background image, not both", "invalid_parameter")
    scale_text = fields.get("scale")
    scale = None if scale_text is None or scale_text.lower() == "original" else _percent(scale_text, "scale", 10, 100)
    position = _position(fields.get("position"))
    if scale is not None and position is None:
        position = (0.5, 0.5)  # remove.bg: scaling implies position=center
    return CutoutRequest(
        size=size,
        kind=TYPES[kind],
        format="jpg" if fmt == "jpeg" else fmt,
        channels=channels,
        bg_color=None if color is None else parse_bg_color(color),
        bg_image=bg_image,
        crop=_flag(fields, "crop"),
        crop_margin=_margins(fields.get("crop_margin")),
        scale=scale,
        position=position,
        add_shadow=_flag(fields, "add_shadow"),
    )


# rembg's session names -> our kind (rembg's human / portrait models are people).
REMBG_PEOPLE = {"u2net_human_seg", "birefnet-portrait"}


def rembg_request(fields: Fields) -> CutoutRequest:
    """rembg server's parameters: `model`, `a` (alpha matting -> our matting model), `om` (mask
    only) and `bgc` ('r,g,b,a'). Output is PNG at the image's own size, as rembg's.

    Parameters
    ----------
    fields
        The request's parameters (form and query string).
    """
    model = (fields.get("model") or "u2netp").lower()
    if not re.fullmatch(r"[a-z0-9_.\-]{1,64}", model):
        raise ApiError(400, f"model '{model}' is not a model name", "invalid_parameter")
    kind = "person" if model in REMBG_PEOPLE or _flag(fields, "a") else "product"
    bgc = fields.get("bgc")
    return CutoutRequest(
        size="full",
        kind=kind,
        format="png",
        channels="alpha" if _flag(fields, "om") else "rgba",
        bg_color=None if bgc is None else parse_bg_color(bgc),
    )
