"""Writing outputs: atomically, never over an input.

Every file edgematte writes goes through `write_atomic`: a temporary file in the target folder,
written, flushed and fsynced, renamed over the target, and the folder fsynced, so neither a
crash nor a power cut (kiosks lose power) leaves half a file or a zero-length one behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from edgematte.errors import OutputError

# Temporary files are hidden and end in this suffix, so a batch can tell its own leftovers.
TEMP_SUFFIX = ".part"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (by inode where both exist, else by resolved path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not every platform can open a folder; the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, data: bytes, *, protect: list[str | os.PathLike] | None = None) -> Path:
    """Write `data` to `path` through a temporary file and a rename.

    Parameters
    ----------
    path
        The output file; its folder is created if missing.
    data
        The bytes to write.
    protect
        Paths that must never be replaced (the inputs): writing over one raises OutputError.
        Default None.

    Returns
    -------
    Path
        `path`, written.
    """
    path = Path(path)
    for p in protect or []:
        if path.exists() and same_file(path, p):
            raise OutputError(f"{path}: refusing to overwrite the input image; choose another output path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise OutputError(f"{path}: cannot write here ({blocker} is a file, not a folder)") from exc
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: write failed ({exc.strerror or exc})") from exc
    _fsync_dir(path.parent)
    return path
