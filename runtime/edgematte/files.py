"""Writing outputs: atomically, never over an input.

Every file edgematte writes goes through `write_atomic`: a temporary file in the target folder,
written, flushed and fsynced, renamed over the target, and the folder fsynced, so neither a
crash nor a power cut (kiosks lose power) leaves half a file or a zero-length one behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from edgematte.errors import OutputError

# Temporary files are hidden and end in this suffix, so a batch can tell its own leftovers.
TEMP_SUFFIX = ".part"
# A leftover whose writer cannot be asked (another host on shared storage, an old name) is
# stale after this long: no single output takes an hour to write.
STALE_AFTER_S = 3600.0
_HOST = (socket.gethostname().split(".")[0] or "host").replace("-", "_")
_OWNED = re.compile(r"^(?P<host>[^.]*)-(?P<pid>\d+)\.[^.]+" + re.escape(TEMP_SUFFIX) + "$")


def temp_prefix(path: Path) -> str:
    """The prefix of `path`'s temporary files: '.<name>.<host>-<pid>.' (then random, then .part).

    The host and process id say who is writing it, so `remove_stale_temps` removes only the
    leftovers of processes that are gone (a batch killed with SIGKILL, a power cut).
    """
    return f".{path.name}.{_HOST}-{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_temps(outputs: Iterable[Path], *, now: float | None = None) -> list[Path]:
    """Remove the temporary files that earlier, dead writers of these outputs left behind.

    Parameters
    ----------
    outputs
        The files a batch is about to write; only their own temporaries ('.<name>.*.part' in
        the same folder) are considered, never anything else in the folder.
    now
        The time to judge age by. Default None: the current time.

    Returns
    -------
    list[Path]
        The files removed: those of a process on this host that no longer runs, and any
        older than `STALE_AFTER_S` whose writer cannot be asked (another host, no owner).
    """
    now = time.time() if now is None else now
    names: dict[Path, set[str]] = {}
    for out in outputs:
        names.setdefault(out.parent, set()).add(out.name)
    removed: list[Path] = []
    for folder, wanted in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # not there yet: nothing left behind
        for e in entries:
            if not (e.name.startswith(".") and e.name.endswith(TEMP_SUFFIX)):
                continue
            owner = next((n for n in wanted if e.name.startswith(f".{n}.")), None)
            if owner is None:
                continue
            m = _OWNED.match(e.name[len(owner) + 2 :])
            try:
                if m and m["host"] == _HOST:
                    stale = int(m["pid"]) != os.getpid() and not _alive(int(m["pid"]))
                else:
                    stale = now - e.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
                if stale and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
                    removed.append(Path(e.path))
            except OSError:
                continue  # gone meanwhile, or not ours to remove
    return removed


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
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
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
