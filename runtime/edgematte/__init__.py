"""edgematte: on-device background removal.

import edgematte
png = edgematte.remove(open("shoe.jpg", "rb").read())            # bytes -> PNG bytes
with edgematte.Session("u2netp") as s: ...                         # model loaded once
rgb = edgematte.composite(fg, alpha, "white")                      # cut-out over a colour / image
"""

from edgematte.api import Session, composite, remove
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
    "composite",
    "remove",
]
