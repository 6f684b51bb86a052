"""The seller workflow's API: compose, resize_for, place, check, check_edges, compliance.

Each takes what `remove()` takes (path, bytes, PIL image, array) and a Session (or uses the
default one), so a batch loads the model once. The three verbs that make an image are split
like the still path: `process` (the Session's stages up to the cut-out, then the verb's own
compose: a white canvas, a crop or pad, a scene) and `finish` (the encode stage, with the
marketplace's quality search and verification). The functions run both in the caller's thread;
a batch (`VerbWork`) runs `finish` in its writer thread, overlapped with the next photo.
Functions that make an image return a `Made` (encoded bytes and what was done), or write
`output` atomically (never over the input) and return its Path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgematte.api import session_for
from edgematte.batch import Finished, Job
from edgematte.colors import parse_colour
from edgematte.commerce.canvas import Canvas, white_canvas
from edgematte.commerce.checks import photo_checklist
from edgematte.commerce.compliance_check import compliance_check
from edgematte.commerce.edges import edge_report
from edgematte.commerce.export import encode_for_preset, preset_format
from edgematte.commerce.findings import CheckReport
from edgematte.commerce.marketplace_presets import Preset, get_preset
from edgematte.commerce.resize import Resized, resize_to_canvas
from edgematte.commerce.scene import Placement, place_in_scene
from edgematte.commerce.source_info import SourceInfo, inspect_source
from edgematte.compositing import Backdrop
from edgematte.decode import DecodedImage, decode
from edgematte.encode import encode
from edgematte.files import write_atomic
from edgematte.formats import ALPHA_FORMATS, format_for_path, normalise_format
from edgematte.settings import SCENE_JPEG_QUALITY, SCENE_JPEG_SUBSAMPLING
from edgematte.still import Session
from edgematte.timings import Timings

PathLike = str | os.PathLike
_WHITE = (255, 255, 255)


@dataclass
class Made:
    """An image a seller verb produced: the encoded file and what was done."""

    data: bytes
    format: str
    details: dict[str, Any]

    @property
    def warnings(self) -> list[str]:
        """What the seller should know (e.g. the product was enlarged and will look soft)."""
        return list(self.details.get("warnings", []))


@dataclass
class ComposeVerb:
    """The marketplace main image: the product centred on the preset's pure-white canvas.

    Parameters
    ----------
    session
        The still path that cuts the product out.
    preset
        The marketplace (canvas, fill, formats, size limit).
    fill
        The product's span on the canvas. Default None: the preset's target fill.
    fmt
        Output format, any spelling. Default None: the preset's (JPEG where accepted).
    """

    session: Session
    preset: Preset
    fill: float | None = None
    fmt: str | None = None

    def __post_init__(self) -> None:
        self.fmt = preset_format(self.preset, self.fmt)

    def process(self, image: Any, timings: Timings | None = None) -> Canvas:
        """The still path to the cut-out, then the white canvas (the compose stage of this verb)."""
        m = self.session.matte(image, timings=timings)
        with m.timings.stage("compose"):
            return white_canvas(m.rgba[..., :3], m.alpha, self.preset, self.fill)  # a view: no 12 MP copy

    def finish(self, c: Canvas, timings: Timings | None = None) -> Made:
        """Encode within the preset's size limit and verify the white (the encode stage)."""
        with (timings or Timings()).stage("encode"):
            blob = encode_for_preset(c.rgb, self.preset, self.fmt, alpha=c.alpha)
        h, w = c.alpha.shape
        details = {
            "preset": self.preset.name,
            "canvas": [w, h],
            "fill": round(c.box.fill(w, h), 4),
            "scale": round(c.scale, 3),
            "bytes": len(blob),
            "box": c.box.as_list(),
            "warnings": c.warnings,
        }
        return Made(blob, str(self.fmt), details)


@dataclass
class ResizeVerb:
    """A photo (or a cut-out with alpha) fitted to the preset's canvas: crop or pad, never cut.

    Parameters
    ----------
    session
        The still path that finds the product when the photo has no alpha of its own.
    preset
        The platform (canvas size, formats).
    pad
        Padding colour where the aspect needs it. Default None ('auto'): the photo's edge,
        mirrored and blurred.
    fmt
        Output format. Default None: PNG for a cut-out with alpha, else the preset's.
    """

    session: Session
    preset: Preset
    pad: str | tuple[int, int, int] | None = None
    fmt: str | None = None

    def __post_init__(self) -> None:
        self._pad = parse_colour(self.pad) if self.pad is not None and self.pad != "auto" else None
        if self.fmt is not None:
            self.fmt = normalise_format(self.fmt)
            if self.fmt not in ALPHA_FORMATS:
                preset_format(self.preset, self.fmt)  # refuse early what the platform does not take

    def process(self, image: Any, timings: Timings | None = None) -> tuple[Resized, str]:
        """The product's extent (its own alpha, or the still path's), then the window on the canvas."""
        image = self.session.decode(image, timings)
        own = image.alpha if image.alpha is not None and (image.alpha < 255).any() else None
        subject = own if own is not None else self.session.matte(image, timings=timings).alpha
        r = resize_to_canvas(image.rgb, subject, self.preset.canvas, pad=self._pad, own_alpha=own)
        fmt = self.fmt or ("PNG" if own is not None else self.preset.output_format)
        if r.alpha is not None and fmt not in ALPHA_FORMATS:
            r = Resized(Backdrop(colour=_WHITE).over(r.rgb, r.alpha), None, r.window, r.padded, r.scale)
        return r, fmt

    def finish(self, item: tuple[Resized, str], timings: Timings | None = None) -> Made:
        """The encode stage: a cut-out as it is, a photo within the platform's rules."""
        r, fmt = item
        with (timings or Timings()).stage("encode"):
            if r.alpha is not None:
                blob = encode(np.dstack([r.rgb, r.alpha]), fmt, icc_srgb=fmt != "WEBP")
            else:
                blob = encode_for_preset(r.rgb, self.preset, fmt)
        details = {
            "preset": self.preset.name,
            "canvas": list(self.preset.canvas),
            "window": r.window.as_list(),
            "padded": r.padded,
            "scale": round(r.scale, 3),
        }
        return Made(blob, fmt, details)


@dataclass
class PlaceVerb:
    """The cut-out product placed into a scene photo (see commerce/scene.py).

    Parameters
    ----------
    session
        The still path that cuts the product out.
    scene
        The scene photo, decoded once (HxWx3 uint8).
    at, height, shadow, match_colour
        As for `place`.
    fmt
        Output format. Default 'JPEG' (a scene is a photograph).
    """

    session: Session
    scene: np.ndarray
    at: tuple[float, float] | None = None
    height: float | None = None
    shadow: bool = True
    match_colour: bool = True
    fmt: str = "JPEG"

    def __post_init__(self) -> None:
        self.fmt = normalise_format(self.fmt)

    def process(self, image: Any, timings: Timings | None = None) -> Placement:
        """The still path to the cut-out, then the placement (this verb's compose stage)."""
        m = self.session.matte(image, timings=timings)
        with m.timings.stage("compose"):
            return place_in_scene(
                m.cutout_rgb,
                m.alpha,
                m.rgb,
                self.scene,
                at=self.at,
                height=self.height,
                shadow=self.shadow,
                match_colour=self.match_colour,
            )

    def finish(self, pl: Placement, timings: Timings | None = None) -> Made:
        """The encode stage: a photograph's JPEG (settings.SCENE_JPEG_*), or a lossless format."""
        with (timings or Timings()).stage("encode"):
            jpeg = self.fmt == "JPEG"
            blob = encode(
                pl.rgb,
                self.fmt,
                quality=SCENE_JPEG_QUALITY if jpeg else None,
                subsampling=SCENE_JPEG_SUBSAMPLING if jpeg else 0,
            )
        gains = [round(g, 3) for g in pl.gains]
        details = {"box": pl.box.as_list(), "scale": round(pl.scale, 3), "colour_gains": gains}
        return Made(blob, self.fmt, details)


Verb = ComposeVerb | ResizeVerb | PlaceVerb


class VerbWork:
    """A seller verb per file of a batch (batch.FileWork): finish runs in the writer thread."""

    def __init__(self, verb: Verb):
        self.verb = verb

    def decode(self, job: Job, timings: Timings) -> DecodedImage:
        """Reader thread: the decode stage."""
        return self.verb.session.decode(job.source, timings)

    def process(self, job: Job, image: DecodedImage, timings: Timings) -> Any:
        """Caller's thread: the still path and the verb's compose."""
        return self.verb.process(image, timings)

    def finish(self, job: Job, item: Any, timings: Timings) -> Finished:
        """Writer thread: encode, search quality, verify."""
        made = self.verb.finish(item, timings)
        return Finished(made.data, made.warnings)


def _session(session: Session | None) -> Session:
    return session or session_for()


def _info(data: Any) -> SourceInfo | None:
    return inspect_source(data) if isinstance(data, str | os.PathLike | bytes | bytearray) else None


def _name(data: Any) -> str:
    return str(data) if isinstance(data, str | os.PathLike) else f"<{type(data).__name__}>"


def _run(verb: Verb, data: Any, output: PathLike | None) -> Made | Path:
    made = verb.finish(verb.process(data))  # type: ignore[arg-type]
    if output is None:
        return made
    protect = [data] if isinstance(data, str | os.PathLike) else []
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
    """Cut out the product and centre it on the preset's pure-white canvas at its fill ratio.

    Parameters
    ----------
    data
        The product photo (path, bytes, PIL image, array).
    preset
        A preset name ('amazon', 'walmart', 'shopify', 'ebay', 'etsy', or your own) or a Preset.
        Default 'amazon'.
    fill
        The product's span on the canvas (0.05..1). Default None: the preset's target.
    fmt
        Output format. Default None: `output`'s suffix, else the preset's (JPEG where accepted).
    output
        Write here (atomically, never over the input) and return the Path. Default None.
    session
        The Session to cut out with. Default None: the cached default (u2netp).
    presets_file
        A TOML file with your own presets. Default None.
    """
    if fmt is None and output is not None:
        fmt = format_for_path(output)
    verb = ComposeVerb(_session(session), get_preset(preset, presets_file), fill, fmt)
    return _run(verb, data, output)


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
    the aspect allows, pad where it does not; the product is never cut.

    Parameters
    ----------
    data
        The photo or cut-out (path, bytes, PIL image, array).
    preset
        The platform's preset (name or Preset).
    pad
        Padding colour ('white', '#RRGGBB', (r, g, b)). Default None: the photo's edge,
        mirrored and blurred.
    fmt, output, session, presets_file
        As for `compose`. Default format: PNG for a cut-out with alpha, else the preset's.
    """
    if fmt is None and output is not None:
        fmt = format_for_path(output)
    verb = ResizeVerb(_session(session), get_preset(preset, presets_file), pad, fmt)
    return _run(verb, data, output)


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
    """Cut out the product and place it into a scene photo.

    Parameters
    ----------
    data
        The product photo (path, bytes, PIL image, array).
    scene
        The lifestyle photo (path, bytes, PIL image, array).
    at
        The product's bottom-centre as scene fractions (x, y). Default None: the calmest
        stretch of the scene's lower part.
    height
        The product's height as a fraction of the scene's. Default None:
        settings.SCENE_HEIGHT, capped at settings.SCENE_MAX_WIDTH of the scene's width.
    shadow
        A soft contact shadow from the product's footprint. Default True.
    match_colour
        Move the product's white balance and exposure toward the scene's. Default True.
    fmt, output, session
        As for `compose`. Default format: `output`'s suffix, else JPEG.
    """
    s = _session(session)
    if fmt is None:
        fmt = format_for_path(output) if output is not None else "JPEG"
    verb = PlaceVerb(s, decode(scene, s.max_pixels).rgb, at, height, shadow, match_colour, fmt)
    return _run(verb, data, output)


def check(
    data: Any,
    preset: str | Preset | None = None,
    *,
    session: Session | None = None,
    presets_file: PathLike | None = None,
) -> CheckReport:
    """The pre-upload checklist of a product photo (resolution, framing, contrast, blur, noise, ...).

    Parameters
    ----------
    data
        The photo (path or bytes give the file's own facts too: JPEG quality, colour profile).
    preset
        Judge against this marketplace's rules. Default None: generic advice only.
    session, presets_file
        As for `compose`.
    """
    p = get_preset(preset, presets_file) if preset is not None else None
    info = _info(data)
    s = _session(session)
    image = s.decode(data)
    m = s.matte(image)
    return photo_checklist(image.rgb, m.alpha, info, p, _name(data))


def check_edges(data: Any, *, crops_dir: PathLike | None = None, session: Session | None = None) -> CheckReport:
    """Cut out, then flag likely cut-out mistakes and write 100% crops of the worst spots.

    Parameters
    ----------
    data
        The photo (path, bytes, PIL image, array).
    crops_dir
        Folder for the crops (photo | cut-out over a checkerboard). Default None: no crops.
    session
        As for `compose`.
    """
    m = _session(session).matte(data)
    return edge_report(m.rgb, m.cutout_rgb, m.alpha, m.mask_lowres, _name(data), crops_dir)


def compliance(data: Any, preset: str | Preset, *, presets_file: PathLike | None = None) -> CheckReport:
    """Check a finished image file (path or bytes) against a marketplace preset.

    Parameters
    ----------
    data
        The finished file, as a path or its bytes (the container itself is checked: format,
        size, colour profile).
    preset
        The marketplace (name or Preset).
    presets_file
        As for `compose`.
    """
    p = get_preset(preset, presets_file)
    info = inspect_source(data)
    image = decode(data)
    return compliance_check(image.rgb, image.alpha, info, p)


def as_array(made: Made) -> np.ndarray:
    """Decode a Made back into pixels (handy in notebooks and tests)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(made.data)) as im:
        return np.asarray(im.convert("RGBA" if im.mode in ("RGBA", "LA") else "RGB"))
