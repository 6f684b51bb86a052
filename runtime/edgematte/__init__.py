"""edgematte: on-device background removal.

import edgematte
png = edgematte.remove(open("shoe.jpg", "rb").read())            # bytes -> PNG bytes
with edgematte.Session("u2netp") as s: ...                         # model loaded once
rgb = edgematte.composite(fg, alpha, "white")                      # cut-out over a colour / image
edgematte.compose("shoe.jpg", "amazon", output="shoe-amazon.jpg")   # marketplace main image
edgematte.check("shoe.jpg", "amazon").passed                        # pre-upload checklist
"""

from edgematte.api import Session, composite, remove
from edgematte.commerce import check, check_edges, compliance, compose, place, resize_for
from edgematte.errors import (
    EdgematteError,
    ImageError,
    ImageTooLargeError,
    ModelError,
    OptionError,
    OutputError,
)

__version__ = "0.1.0"

__all__ = [
    "EdgematteError",
    "ImageError",
    "ImageTooLargeError",
    "ModelError",
    "OptionError",
    "OutputError",
    "Session",
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
