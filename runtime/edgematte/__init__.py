"""edgematte: on-device background removal.

    import edgematte
    png = edgematte.remove(open("shoe.jpg", "rb").read())               # bytes -> PNG bytes
    with edgematte.Session("u2netp") as s: ...                            # model loaded once
    rgb = edgematte.composite(fg, alpha, "white")                         # cut-out over a colour / image
    edgematte.compose("shoe.jpg", "amazon", output="shoe-amazon.jpg")      # marketplace main image
    edgematte.check("shoe.jpg", "amazon").passed                           # pre-upload checklist
    with edgematte.FrameMatter.for_video(background="white") as m: ...      # frames of a video

Importing the package is light: the error types load with it; everything else
(NumPy kernels, Numba, OpenCV, LiteRT) loads when a name is first used, so a plugin or a
command's --help that imports edgematte pays nothing for the runtime.
"""

from __future__ import annotations

from edgematte.errors import (
    EdgematteError,
    ImageError,
    ImageTooLargeError,
    ModelError,
    OptionError,
    OutputError,
    SessionClosedError,
)
from edgematte.lazy import lazy_attributes

__version__ = "0.1.0"

# Public names that load their module on first use: name -> module.
_LAZY = {
    "ForegroundSettings": "edgematte.settings",
    "InferSettings": "edgematte.settings",
    "LiveSettings": "edgematte.settings",
    "RefineSettings": "edgematte.settings",
    "StillSettings": "edgematte.settings",
    "TemporalSettings": "edgematte.settings",
    "FrameMatter": "edgematte.live.modes",
    "FrameResult": "edgematte.live.stages",
    "MatterOptions": "edgematte.live.modes",
    "RunningMode": "edgematte.live.modes",
    "remove": "edgematte.api",
    "Session": "edgematte.still",
    "Matte": "edgematte.still",
    "Output": "edgematte.still",
    "composite": "edgematte.compositing",
    "Backdrop": "edgematte.compositing",
    "check": "edgematte.commerce.api",
    "check_edges": "edgematte.commerce.api",
    "compliance": "edgematte.commerce.api",
    "compose": "edgematte.commerce.api",
    "place": "edgematte.commerce.api",
    "resize_for": "edgematte.commerce.api",
}

__all__ = [
    "Backdrop",
    "EdgematteError",
    "ForegroundSettings",
    "FrameMatter",
    "FrameResult",
    "ImageError",
    "ImageTooLargeError",
    "InferSettings",
    "LiveSettings",
    "Matte",
    "MatterOptions",
    "ModelError",
    "OptionError",
    "Output",
    "OutputError",
    "RefineSettings",
    "RunningMode",
    "Session",
    "SessionClosedError",
    "StillSettings",
    "TemporalSettings",
    "__version__",
    "check",
    "check_edges",
    "compliance",
    "compose",
    "composite",
    "place",
    "remove",
    "resize_for",
]


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
