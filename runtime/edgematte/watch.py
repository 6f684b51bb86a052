"""Hot folders: every image that appears in a folder goes through the batch's stages, once.

`watch_folder` keeps an eye on a folder (a booth's camera folder, a seller's drop folder) and
runs each new image through `batch.run_batch` with the caller's `FileWork`, the same stages as
`edgematte remove` on a folder. What makes it safe to leave running:

- A file is read only when it has settled: its size and modification time unchanged for
  `settle` seconds and, on Linux, no process holding it open for writing (a slow copy, a camera
  writing a 12 MP JPEG). If it still changed while it was being processed, that output is
  redone.
- A JSON-lines log (`WatchLog`) records each file's state (size, modification time) before and
  after it is processed, so a restart, even after SIGKILL or a power cut, neither redoes a
  finished file nor misses one that arrived meanwhile: the folder is scanned again at start.
- Outputs are written atomically (files.write_atomic); an input is moved (`move_done`) or
  deleted (`delete_input`) only after its output is on disk, and a move never replaces a file.
- New files are noticed through inotify (watchdog, the `watch` extra) where available, else by
  scanning every `poll` seconds; a full scan every `rescan` seconds catches anything missed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgematte.batch import BatchReport, FileResult, FileWork, Job, _is_image, run_batch
from edgematte.errors import OptionError, OutputError
from edgematte.files import TEMP_SUFFIX, _fsync_dir

LOG_NAME = ".edgematte-watch.jsonl"
LOCK_NAME = ".edgematte-watch.lock"
# Files per run of the batch's pipeline: a large backlog found at start does not keep newer
# arrivals waiting until all of it is done.
BATCH_FILES = 32


@dataclass(frozen=True)
class FileState:
    """What identifies one version of a file: size and modification time (ns)."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState | None:
        """The file's state now; None when it is gone."""
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_size, st.st_mtime_ns)


class WatchLog:
    """The hot folder's memory: one JSON line per event, appended and fsynced.

    Parameters
    ----------
    path
        The log file (default `<output>/.edgematte-watch.jsonl`). A line cut short by a crash is
        ignored when the log is read back.

    Each line has 'time', 'source', 'output', 'status' ('started', 'ok', 'failed', 'skipped',
    'changed', 'moved', 'deleted'), the source's 'size' and 'mtime_ns' when it was read, and
    'message', 'seconds', 'exit_code', 'moved_to' where they apply.
    """

    def __init__(self, path: Path):
        self.path = path
        self.last: dict[str, dict[str, Any]] = {}  # source -> its last line that is not moved/deleted
        self.owner: dict[str, str] = {}  # output -> the source it was made from
        self.left: set[str] = set()  # outputs whose source was moved or deleted after it was made
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                self._remember(json.loads(line))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write the watch log ({exc.strerror or exc})") from exc
        if text and not text.endswith("\n"):
            os.write(self._fd, b"\n")  # a line cut short by a crash ends here

    def _remember(self, rec: dict[str, Any]) -> None:
        if rec["status"] in ("moved", "deleted"):
            self.last.pop(rec["source"], None)
            if rec.get("output"):
                self.left.add(rec["output"])
        else:
            self.last[rec["source"]] = rec
        if rec["status"] in ("started", "ok") and rec.get("output"):
            self.owner[rec["output"]] = rec["source"]
            self.left.discard(rec["output"])

    def add(self, status: str, source: Path, output: Path | None, state: FileState | None, **extra: Any) -> None:
        """Append one line (one write, then fsync: a crash loses at most that line)."""
        rec: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "source": str(source),
            "output": str(output) if output else None,
            "status": status,
        }
        if state is not None:
            rec.update(size=state.size, mtime_ns=state.mtime_ns)
        rec.update({k: v for k, v in extra.items() if v is not None})
        try:
            os.write(self._fd, (json.dumps(rec) + "\n").encode())
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write the watch log ({exc.strerror or exc})") from exc
        self._remember(rec)

    def close(self) -> None:
        """Close the log file."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


def open_for_writing(paths: set[Path]) -> set[Path]:
    """Those of `paths` that some process we can see holds open for writing (Linux /proc).

    One pass over /proc/*/fd for all the paths; other users' processes are not visible (then
    only the settle time protects), and without /proc the answer is always the empty set.
    """
    if not paths or not os.path.isdir("/proc/self/fd"):
        return set()
    wanted = {str(p.resolve()): p for p in paths}
    busy: set[Path] = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target not in wanted:
                continue
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next((int(line.split()[1], 8) for line in info if line.startswith("flags:")), 0)
            except (OSError, ValueError):
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                busy.add(wanted[target])
    return busy


def move_without_replacing(src: Path, folder: Path) -> Path:
    """Move `src` into `folder` under its own name, or 'name.1.jpg', 'name.2.jpg', ... if that is taken.

    Never replaces a file: the new name is made with a hard link, which fails if the name
    exists, then the old name removed (a move cut short between the two is finished on the next
    call: the name that is already `src` itself is reused). Across file systems the bytes are
    copied to a temporary file in `folder`, fsynced and linked to a free name the same way.
    Where there are no hard links at all (FAT on a USB stick) a free name is taken by a rename
    (only this process writes there: one watcher per output folder). Returns the new path.
    """
    folder.mkdir(parents=True, exist_ok=True)

    def names() -> Iterator[Path]:
        return (folder / (src.name if n == 0 else f"{src.stem}.{n}{src.suffix}") for n in range(100_000))

    def publish(path: Path) -> Path | None:
        """Link `path` to the first free name; None when hard links are not possible here."""
        for dst in names():
            try:
                os.link(path, dst)
                return dst
            except FileExistsError:
                if path == src and os.path.samefile(src, dst):
                    return dst  # linked before a crash, not yet unlinked
                continue
            except OSError as exc:
                if exc.errno in (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                    return None
                raise
        raise OutputError(f"{src}: cannot move it to {folder} (100,000 names taken)")

    try:
        dst = publish(src)
        if dst is None:
            tmp = folder / f".{src.name}.{os.getpid()}{TEMP_SUFFIX}"
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            try:
                dst = publish(tmp)
                if dst is not None:
                    tmp.unlink()
                else:
                    dst = next(d for d in names() if not d.exists())
                    os.rename(tmp, dst)
            finally:
                tmp.unlink(missing_ok=True)
        _fsync_dir(folder)
        try:
            src.unlink()
        except OSError:
            dst.unlink(missing_ok=True)  # the input stays where it was; no second copy is left
            raise
    except OSError as exc:
        raise OutputError(f"{src}: cannot move it to {folder} ({exc.strerror or exc})") from exc
    _fsync_dir(src.parent)
    return dst


@dataclass
class WatchOptions:
    """How `watch_folder` behaves; see its parameters."""

    settle: float = 1.0
    poll: float = 0.5
    rescan: float = 30.0
    move_done: Path | None = None
    delete_input: bool = False
    overwrite: bool = False
    keep_ext: bool = False
    once: bool = False
    use_inotify: bool = True
    log: Path | None = None


@dataclass
class _Pending:
    state: FileState
    since: float


@dataclass
class WatchSummary:
    """What a watch did before it stopped: counts by status, and the exit code of its worst failure."""

    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "skipped": 0, "failed": 0})
    codes: list[int] = field(default_factory=list)
    how: str = ""  # 'inotify' or 'polling'
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM (KeyboardInterrupt) after the files in flight


class _Events:
    """inotify through watchdog when it is installed: paths that changed, and a wake-up."""

    def __init__(self, folder: Path):
        self.paths: set[Path] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.observer: Any = None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers.inotify import InotifyObserver
        except ImportError:
            return
        events = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.is_directory and event.event_type == "modified":
                    return  # a folder's own listing changed: its files' events say which
                with events.lock:
                    for p in (event.src_path, getattr(event, "dest_path", "")):
                        if p:
                            events.paths.add(Path(os.fsdecode(p)))
                events.wake.set()

        try:
            observer = InotifyObserver()
            observer.schedule(Handler(), str(folder), recursive=True)
            observer.start()
        except OSError:
            return  # no inotify here (or out of watches): polling
        self.observer = observer

    def take(self) -> set[Path]:
        with self.lock:
            paths, self.paths = self.paths, set()
        self.wake.clear()
        return paths

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=2)


def watch_folder(
    folder: str | os.PathLike,
    output: str | os.PathLike,
    work: FileWork,
    suffix: str,
    options: WatchOptions | None = None,
    *,
    on_result: Callable[[str, FileResult], None] | None = None,
    on_start: Callable[[WatchSummary], None] | None = None,
    stop: threading.Event | None = None,
) -> WatchSummary:
    """Process every image that appears in `folder` (and its subfolders), until stopped.

    Parameters
    ----------
    folder
        The hot folder. Hidden files, temporary files and non-image files are ignored, and so
        are `output` and `options.move_done` when they lie inside it.
    output
        The output folder; it mirrors `folder`'s tree ('IN/a/b.jpg' -> 'OUT/a/b.png'). It
        holds the log and a lock, so one watcher per output folder runs at a time.
    work
        What to do per file (batch.CutoutWork, a seller verb's VerbWork), as in `run_batch`.
    suffix
        The outputs' suffix ('.png', '.jpg').
    options
        WatchOptions: `settle` seconds a file must stay unchanged (default 1.0: a camera or a
        copy that pauses longer is still caught, see the module's notes); `poll` seconds between
        scans without inotify (0.5); `rescan` seconds between full scans with inotify (30);
        `move_done` a folder to move finished inputs to, or `delete_input` to delete them
        (default: inputs stay); `overwrite` redo outputs that exist but that this watch did not
        make; `keep_ext` ('a.gif' -> 'a.gif.png'); `once` stop when every file found has been
        processed; `use_inotify` (True; False polls); `log` the JSON-lines log's path.
    on_result
        Called with ('ok' | 'skipped' | 'failed' | 'changed', FileResult) for each file: one line
        per file in the CLI.
    on_start
        Called once the folder is watched, with the summary (its `how`: 'inotify' or 'polling').
    stop
        Set it to stop after the files in flight. A KeyboardInterrupt in the caller's thread
        (Ctrl-C; the CLI turns SIGTERM into one) also stops cleanly: the summary then says
        `interrupted`.
    """
    opts = options or WatchOptions()
    # Absolute paths: the log means the same files whatever the working folder of a restart.
    src_root, out_root = Path(folder).absolute(), Path(output).absolute()
    done_root = opts.move_done.absolute() if opts.move_done is not None else None
    if not src_root.is_dir():
        raise OptionError(f"{folder}: not a folder (watch takes the folder to watch)")
    if src_root.resolve() == out_root.resolve():
        raise OptionError("the output folder must not be the watched folder (give -o another folder)")
    if done_root is not None and opts.delete_input:
        raise OptionError("--move-done and --delete-input cannot be combined")
    if done_root is not None and done_root.resolve() in (src_root.resolve(), out_root.resolve()):
        raise OptionError("--move-done needs a folder of its own (not the watched or the output folder)")
    for inner, name in ((out_root, "-o"), (done_root, "--move-done")):
        if inner is not None and src_root.resolve().is_relative_to(inner.resolve()):
            raise OptionError(f"the watched folder is inside the {name} folder: nothing in it would be read")
    out_root.mkdir(parents=True, exist_ok=True)
    lock = _lock(out_root)
    events: _Events | None = None
    log: WatchLog | None = None
    try:
        log = WatchLog(opts.log.absolute() if opts.log else out_root / LOG_NAME)
        events = _Events(src_root) if opts.use_inotify else None
        return _watch(src_root, out_root, done_root, work, suffix, opts, log, events, on_result, on_start, stop)
    finally:
        if events is not None:
            events.stop()
        if log is not None:
            log.close()
        _unlock(lock)


def _watch(
    src_root: Path,
    out_root: Path,
    done_root: Path | None,
    work: FileWork,
    suffix: str,
    opts: WatchOptions,
    log: WatchLog,
    events: _Events | None,
    on_result: Callable[[str, FileResult], None] | None,
    on_start: Callable[[WatchSummary], None] | None,
    stop: threading.Event | None,
) -> WatchSummary:
    """`watch_folder`'s loop, once its folders are checked and its log and lock are held."""
    summary = WatchSummary(how="inotify" if events and events.observer else "polling")
    stop = stop or threading.Event()
    pending: dict[Path, _Pending] = {}
    reported: dict[Path, FileState] = {}  # settled this run: not looked at again until it changes
    taken: dict[str, str] = dict(log.owner)  # output -> source, clashes between inputs
    skip_dirs = [p.resolve() for p in (out_root, done_root) if p is not None]
    lock = threading.Lock()  # results settle in the batch's writer thread and in this one

    def wanted(p: Path) -> bool:
        if not _is_image(p) or p.name.endswith(TEMP_SUFFIX):
            return False
        rp = p.resolve()
        return not any(rp.is_relative_to(d) for d in skip_dirs) and not any(
            part.startswith(".") for part in p.relative_to(src_root).parts
        )

    def scan() -> set[Path]:
        found: set[Path] = set()
        for top, dirs, files in os.walk(src_root):  # a folder removed meanwhile is skipped, not fatal
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found.update(p for f in files if wanted(p := Path(top) / f))
        return found

    def look(paths: set[Path], now: float) -> None:
        for p in paths:
            state = FileState.of(p)
            if state is None:
                pending.pop(p, None)
                reported.pop(p, None)
                continue
            if reported.get(p) == state:
                continue
            old = pending.get(p)
            if old is None or old.state != state:
                pending[p] = _Pending(state, now)

    def result(status: str, r: FileResult) -> None:
        if status in summary.counts:
            summary.counts[status] += 1
        if status == "failed":
            summary.codes.append(r.exit_code)
        if on_result:
            on_result(status, r)

    def finish_input(src: Path, out: Path, state: FileState) -> None:
        """After the output is on disk: move or delete the input if asked."""
        try:
            if done_root is not None:
                rel = src.relative_to(src_root)
                dst = move_without_replacing(src, done_root / rel.parent)
                log.add("moved", src, out, state, moved_to=str(dst))
            elif opts.delete_input:
                src.unlink()
                log.add("deleted", src, out, state)
        except (OSError, OutputError) as exc:
            r = FileResult(str(src), str(out), "failed", f"{src}: output written, but {exc}", error="OutputError")
            r.exit_code = 4
            result("failed", r)

    def default_output(src: Path) -> Path:
        rel = src.relative_to(src_root)
        return out_root / rel.parent / ((rel.name if opts.keep_ext else rel.stem) + suffix)

    def free_output(out: Path) -> Path:
        """The first 'name.N.png' that neither exists nor belongs to a file of this watch."""
        for n in range(1, 100_000):
            cand = out.with_name(f"{out.stem}.{n}{out.suffix}")
            if not cand.exists() and str(cand) not in taken:
                return cand
        raise OutputError(f"{out}: 100,000 names taken")

    def plan_one(src: Path, state: FileState) -> Job | None:
        """The job for a settled file, or None when there is nothing to do (said, where it must be)."""
        key = str(src)
        rec = log.last.get(key)
        same = rec is not None and rec.get("size") == state.size and rec.get("mtime_ns") == state.mtime_ns
        if rec is not None and rec.get("output"):
            out = Path(rec["output"])  # this file's own output, whatever the options now
            if same and rec["status"] == "ok" and out.exists():
                finish_input(src, out, state)  # done before a restart; the move may not have been
                return None
            if same and rec["status"] == "failed" and rec.get("exit_code") == 2:
                return None  # a bad image, reported before: looked at again when it changes
            if same and rec["status"] == "failed" and rec.get("exit_code") == 5 and out == default_output(src):
                return None  # the same clash, reported before (--keep-ext names another output)
            if same and rec["status"] == "skipped" and out.exists() and not opts.overwrite:
                return None  # someone else's output, reported before
            if rec["status"] in ("ok", "started", "changed") and taken.get(str(out)) == key:
                return Job(src, out)  # ours: redone in place (it changed, or was cut short)
        out = default_output(src)
        owner = taken.get(str(out))
        if owner is not None and owner != key and str(out) not in log.left and Path(owner).exists():
            msg = f"{src}: its output {out} is {owner}'s; use --keep-ext to keep each extension"
            log.add("failed", src, out, state, message=msg, exit_code=5)
            result("failed", FileResult(key, str(out), "failed", msg, error="OptionError", exit_code=5))
            return None
        if out.exists() and owner is not None:
            return Job(src, free_output(out))  # a name used again (a camera's counter, a new drop)
        if out.exists() and not opts.overwrite:
            msg = "output exists and was not made by this watch (use --overwrite)"
            log.add("skipped", src, out, state, message=msg)
            result("skipped", FileResult(key, str(out), "skipped", msg))
            return None
        return Job(src, out)

    def process(ready: list[Path]) -> None:
        jobs: list[Job] = []
        states: dict[str, tuple[Path, FileState]] = {}
        for src in sorted(ready):
            state = FileState.of(src)
            if state is None:
                continue
            reported[src] = state
            job = plan_one(src, state)
            if job is None:
                continue
            log.add("started", src, job.output, state)
            taken[str(job.output)] = str(src)
            jobs.append(job)
            states[str(src)] = (src, state)

        def settled(r: FileResult) -> None:
            # Per file, as each settles: a crash later in the batch never redoes this one.
            with lock:
                src, state = states[r.source]
                out = Path(r.output or "")
                if r.status == "ok" and FileState.of(src) != state:
                    # Written while we read it (a copy that paused longer than `settle`): redo.
                    log.add("changed", src, out, state, message="changed while being read: redone")
                    reported.pop(src, None)
                    if (now_state := FileState.of(src)) is not None:
                        pending[src] = _Pending(now_state, time.monotonic())
                    result("changed", replace(r, message="changed while being read: redone"))
                elif r.status == "ok":
                    log.add("ok", src, out, state, seconds=round(r.seconds, 3))
                    result("ok", r)
                    finish_input(src, out, state)
                else:
                    log.add(r.status, src, out, state, message=r.message, exit_code=r.exit_code)
                    result(r.status, r)

        for k in range(0, len(jobs), BATCH_FILES):
            report: BatchReport = run_batch(jobs[k : k + BATCH_FILES], work, overwrite=True, on_done=settled)
            if report.interrupted:
                raise KeyboardInterrupt

    if on_start:
        on_start(summary)
    try:
        last_scan = time.monotonic()
        look(scan(), last_scan)
        while not stop.is_set():
            now = time.monotonic()
            ready = [p for p, w in pending.items() if now - w.since >= opts.settle]
            if ready:
                busy = open_for_writing(set(ready))
                for p in busy:
                    pending[p].since = now  # still being written: wait another settle time
                ready = [p for p in ready if p not in busy]
                for p in ready:
                    del pending[p]
                process(ready)
            if opts.once and not pending:
                break
            waits = [w.since + opts.settle - time.monotonic() for w in pending.values()]
            timeout = max(0.01, min([opts.poll, *waits]))
            if events is not None and events.observer is not None:
                events.wake.wait(timeout)
                now = time.monotonic()
                if now - last_scan >= opts.rescan:
                    look(scan(), now)
                    last_scan = now
                else:
                    look(_expand(events.take(), wanted), now)
            else:
                stop.wait(timeout)
                look(scan(), time.monotonic())
    except KeyboardInterrupt:
        summary.interrupted = True
    return summary


def _expand(paths: set[Path], wanted: Callable[[Path], bool]) -> set[Path]:
    """The files to look at for paths from events: a folder moved in stands for its files; a
    path may be gone already, or outside the watched tree."""
    out: set[Path] = set()
    for p in paths:
        with contextlib.suppress(OSError, ValueError):
            for f in p.rglob("*") if p.is_dir() else [p]:
                if wanted(f):
                    out.add(f)
    return out


def _lock(out_root: Path) -> int:
    fd = os.open(out_root / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OptionError(f"{out_root}: another edgematte watch writes to this folder (one at a time)") from None
    return fd


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
