"""One small error hierarchy. Messages say what went wrong and what to do next.

The CLI maps each class to its own exit code and prints one line, no traceback:
2 bad image, 3 model problem, 4 cannot write, 5 bad option (1 is left to commands whose answer
is "no", such as `check` when a hard rule fails; 70 is an internal error, a bug to report).
"""

from __future__ import annotations

# Exit code of an exception that is not ours: a bug (sysexits' EX_SOFTWARE).
EXIT_INTERNAL = 70
# Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class EdgematteError(Exception):
    """Base class for every error edgematte raises on purpose."""

    exit_code = 1


class ImageError(EdgematteError):
    """An input image cannot be read or is not usable."""

    exit_code = 2


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class VideoError(ImageError):
    """A video (or raw frame stream) cannot be read, or its frames are not usable."""


class ModelError(EdgematteError):
    """A model is unknown, missing, corrupt or cannot run here."""

    exit_code = 3


class SessionClosedError(ModelError):
    """A Session was used after `close()`: its interpreter is gone; make a new Session."""


class OutputError(EdgematteError):
    """An output cannot be written (or would overwrite an input)."""

    exit_code = 4


class OptionError(EdgematteError):
    """An option value is invalid (colour, size, preset, ...)."""

    exit_code = 5


def exit_code_of(exc: BaseException) -> int:
    """The process exit code for an exception: its class's code, or 70 for one that is not ours."""
    return exc.exit_code if isinstance(exc, EdgematteError) else EXIT_INTERNAL
