"""One small error hierarchy. Messages say what went wrong and what to do next.

The CLI maps each class to its own exit code and prints one line, no traceback.
"""

from __future__ import annotations


class EdgematteError(Exception):
    """Base class for every error edgematte raises on purpose."""

    exit_code = 1


class ImageError(EdgematteError):
    """An input image cannot be read or is not usable."""

    exit_code = 2


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class ModelError(EdgematteError):
    """A model is unknown, missing, corrupt or cannot run here."""

    exit_code = 3


class OutputError(EdgematteError):
    """An output cannot be written (or would overwrite an input)."""

    exit_code = 4


class OptionError(EdgematteError):
    """An option value is invalid (colour, size, preset, ...)."""

    exit_code = 5
