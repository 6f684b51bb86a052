"""Folders, globs and file lists: every file through the same stages, overlapped, with a report.

`run_batch` drives a `FileWork` (the still path's `CutoutWork`, or a seller verb) over jobs in
three or four threads: decode (and prepare) the next photo (reader), process the current one
(caller's thread: the model), the kernels of the one before when the work has a `post` stage
(post thread: refine, foreground, the full-size cut-out, compose), and encode and write the
previous one (writer: encoders, the seller verbs' quality search and verification). So the
model's invoke runs back to back, and everything else happens while it does. At most `depth`
images wait between two threads (one before the post thread), so memory stays bounded on a 4 GB
board. What overlaps: Pillow and OpenCV decoding, zlib's PNG deflate and
libjpeg release the GIL, the Numba kernels run with `nogil=True`, and LiteRT's invoke releases
it too.

Nothing is lost: one bad file is reported (its error class and message) and the batch goes on;
outputs that already exist are skipped unless `overwrite`, so an interrupted batch resumes where
it stopped; no output is ever written over an input. A failure that is not one of ours (a bug) is
reported as an internal error, and its traceback printed when EDGEMATTE_DEBUG is set.
"""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgematte.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EdgematteError,
    ImageError,
    OptionError,
    OutputError,
    exit_code_of,
)
from edgematte.files import remove_stale_temps, same_file, write_atomic
from edgematte.formats import IMAGE_SUFFIXES, format_for_path
from edgematte.timings import Timings

if TYPE_CHECKING:
    from edgematte.still import Inferred, Output, Prepared, Session

_STOP = object()
# When files fail for different reasons, the batch's exit code is the most serious one's:
# a bug, then a model that cannot run, then outputs that cannot be written, then options, then
# unreadable images (the common, benign case in a folder of photos).
_SEVERITY = (EXIT_INTERNAL, 3, 4, 5, 2)


@dataclass
class Job:
    """One file of a batch: where it comes from and where its output goes."""

    source: Path
    output: Path


@dataclass
class Finished:
    """What the writer thread writes for a job: the file's bytes, and warnings to pass on."""

    data: bytes
    warnings: list[str] = field(default_factory=list)
    model: str = ""  # the model that ran (Matte.model), when the work knows it


@dataclass
class FileResult:
    """One file's outcome, as the report lists it."""

    source: str
    output: str | None
    status: str  # "ok" | "skipped" | "failed"
    message: str = ""
    seconds: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the error's class name when failed (ImageError, OutputError, ...)
    exit_code: int = 0  # the exit code of that class (errors.py)
    warnings: list[str] = field(default_factory=list)
    model: str = ""  # the model that ran for it ('auto' picks per photo), when the work reports it


@dataclass
class BatchReport:
    """Every file's FileResult, in input order."""

    results: list[FileResult] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: the files after the ones listed were not started
    seconds: float = 0.0  # run_batch's wall time, first decode to last write (no process start-up)
    # Of which before the first file reached the model: its decode and prepare, with the kernels'
    # first calls (loading them from the cache): once per process, not per file.
    first_s: float = 0.0

    @property
    def failed(self) -> list[FileResult]:
        """The files that failed."""
        return [r for r in self.results if r.status == "failed"]

    def models(self) -> dict[str, int]:
        """How many done files each model cut out (empty when the work does not report it)."""
        out: dict[str, int] = {}
        for r in self.results:
            if r.status == "ok" and r.model:
                out[r.model] = out.get(r.model, 0) + 1
        return out

    def counts(self) -> dict[str, int]:
        """How many files were done, skipped and failed."""
        out = {"ok": 0, "skipped": 0, "failed": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def exit_code(self) -> int:
        """0 when no file failed; else the most serious failure's code (see `most_serious`)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return most_serious(r.exit_code for r in self.failed)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (`--report`)."""
        return {
            "counts": self.counts(),
            "exit_code": self.exit_code(),
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 4),
            "first_s": round(self.first_s, 4),
            "files": [asdict(r) for r in self.results],
        }


def most_serious(codes: Iterable[int]) -> int:
    """The exit code for several failed files: internal 70 > model 3 > cannot write 4 > bad
    option 5 > bad image 2; 0 when there are none."""
    found = set(codes) - {0}
    return next((c for c in _SEVERITY if c in found), max(found, default=0))


class FileWork(Protocol):
    """What a batch does to each file, split by the thread each part runs in."""

    def decode(self, job: Job, timings: Timings) -> Any:
        """Reader thread: read the job's source."""

    def process(self, job: Job, image: Any, timings: Timings) -> Any:
        """Caller's thread: the model (and the kernels, for a work without `post`)."""

    # Optional: `post(job, item, timings)`, run in a thread of its own between process and
    # finish (the kernels, while the next file's model runs). A work without it sets post = None.

    def finish(self, job: Job, item: Any, timings: Timings) -> Finished:
        """Writer thread: encode (and verify) what `process` made."""


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def own_output_matcher(single_name: str) -> Callable[[Path], bool]:
    """Whether a file's name is one this command gives the outputs it writes next to their inputs.

    Parameters
    ----------
    single_name
        The naming template of outputs next to their inputs, '{stem}.cutout{suffix}' for
        `remove`: 'teddy.cutout.png' (any image suffix, any case) then matches.
    """
    tag = single_name.format(stem="", suffix="").lower()  # '.cutout'
    return lambda p: _is_image(p) and p.stem.lower().endswith(tag) and len(p.stem) > len(tag)


def expand_inputs(items: Iterable[str], exclude: Callable[[Path], bool] | None = None) -> list[tuple[Path, Path]]:
    """(file, root) pairs for files, globs and folders (recursive); root is used to mirror the tree.

    Parameters
    ----------
    items
        File paths, folder paths (every image below them, hidden files skipped) and glob
        patterns ('shots/*.jpg', 'shots/**/*.png'). A file is listed once however it is named.
    exclude
        Files found in folders or by globs for which this is true are left out (a file named
        explicitly never is). Default None. The CLI passes `own_output_matcher`, so that a second
        run over a folder does not cut out the first run's outputs ('teddy.cutout.cutout.png').
    """
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()

    def add(f: Path, root: Path, found: bool = True) -> None:
        key = f.resolve()
        if key not in seen and not (found and exclude is not None and exclude(f)):
            seen.add(key)
            out.append((f, root))

    for item in items:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and _is_image(f):
                    add(f, p)
        elif p.is_file():
            add(p, p.parent, found=False)
        elif any(ch in item for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            files = [m for m in matches if m.is_file() and _is_image(m)]
            if not files:
                raise OptionError(f"no images match '{item}'")
            base = Path(glob.escape(item).split("*")[0] or ".")
            root = base if base.is_dir() else base.parent
            for f in files:
                add(f, root)
        else:
            raise ImageError(f"{item}: no such file or folder")
    return out


def plan(
    inputs: list[tuple[Path, Path]],
    output: str | None,
    suffix: str,
    single_name: str = "{stem}.cutout{suffix}",
    keep_ext: bool = False,
) -> list[Job]:
    """Map inputs to outputs.

    Parameters
    ----------
    inputs
        (file, root) pairs from `expand_inputs`.
    output
        One input and a path with a suffix: that file. Otherwise a folder that mirrors each
        input's tree below its root. None: each output next to its input, named `single_name`.
    suffix
        The outputs' suffix ('.png', '.jpg', ...).
    single_name
        Name of an output written next to its input. Default '{stem}.cutout{suffix}'.
    keep_ext
        Keep each input's extension in its output's name ('a.gif' -> 'a.gif.png'), so that
        inputs differing only by extension ('x.jpg', 'x.png') never share an output. Default
        False: 'x.jpg' -> 'x.png', and such a pair is refused by name.

    An input that is another input's output and carries our Software tag (a folder batched
    into itself, run again) is left out: our outputs are never inputs. Two inputs that would
    still share an output are an OptionError naming both.
    """
    jobs: list[Job] = []
    out = Path(output) if output else None
    single_file = len(inputs) == 1 and out is not None and out.suffix != "" and not out.is_dir()
    for src, root in inputs:
        if single_file:
            assert out is not None
            jobs.append(Job(src, out))
            continue
        rel = src.relative_to(root) if src.is_relative_to(root) else Path(src.name)
        stem = rel.name if keep_ext else rel.stem
        name = single_name.format(stem=stem, suffix=suffix) if out is None else stem + suffix
        folder = src.parent if out is None else out / rel.parent
        jobs.append(Job(src, folder / name))
    jobs = _without_our_outputs(jobs)
    by_output: dict[Path, list[Job]] = {}
    for j in jobs:
        by_output.setdefault(j.output.resolve(), []).append(j)
    clash = next((js for js in by_output.values() if len(js) > 1), None)
    if clash is not None:
        names = ", ".join(str(j.source) for j in clash[:3])
        raise OptionError(
            f"{names}: each would be written to {clash[0].output}; use --keep-ext to keep each input's "
            "extension in its output's name, or rename one"
        )
    return jobs


def _without_our_outputs(jobs: list[Job]) -> list[Job]:
    """Drop the jobs whose input is another job's output written by us (see `plan`)."""
    from edgematte.encode import is_our_output

    targets = {j.output.resolve() for j in jobs}
    return [j for j in jobs if not (j.source.resolve() in targets and is_our_output(j.source))]


def _failure(job: Job, exc: BaseException, started: float) -> FileResult:
    """A failed file's result. Our errors carry their message; anything else is a bug."""
    if isinstance(exc, EdgematteError):
        message = str(exc)
    else:
        message = (
            f"internal error: {type(exc).__name__}: {exc} (a bug: please report it; EDGEMATTE_DEBUG=1 for details)"
        )
        if os.environ.get("EDGEMATTE_DEBUG"):
            traceback.print_exception(exc, file=sys.stderr)
    return FileResult(
        str(job.source),
        str(job.output),
        "failed",
        message,
        time.perf_counter() - started,
        error=type(exc).__name__,
        exit_code=exit_code_of(exc),
    )


def _triage(jobs: list[Job], overwrite: bool) -> tuple[list[Job], list[FileResult]]:
    """Jobs to run, and results for those that must not run (existing outputs, inputs in the way)."""
    todo, settled = [], []
    sources = {j.source.resolve() for j in jobs}
    for j in jobs:
        if j.output.exists() and same_file(j.output, j.source):
            exc = OutputError(f"{j.source}: refusing to overwrite the input image; choose another output path")
            settled.append(_failure(j, exc, time.perf_counter()))
        elif j.output.exists() and j.output.resolve() in sources:
            exc = OutputError(f"{j.source}: its output {j.output} is another input of this batch; use --keep-ext")
            settled.append(_failure(j, exc, time.perf_counter()))
        elif j.output.exists() and not overwrite:
            settled.append(FileResult(str(j.source), str(j.output), "skipped", "output exists (use --overwrite)"))
        else:
            todo.append(j)
    return todo, settled


def run_batch(
    jobs: list[Job],
    work: FileWork,
    *,
    overwrite: bool = False,
    depth: int = 2,
    on_done: Callable[[FileResult], None] | None = None,
) -> BatchReport:
    """Run every job through `work`: decode (reader thread) -> process (this thread) -> finish and
    write (writer thread).

    Parameters
    ----------
    jobs
        From `plan`.
    work
        What to do per file (a FileWork: `CutoutWork` for cut-outs, a seller verb's work).
    overwrite
        Redo outputs that exist. Default False: they are skipped (resume).
    depth
        Images in flight between two threads. Default 2: enough to overlap, bounded memory.
    on_done
        Called with each FileResult as it settles (a progress bar).
    """
    report = BatchReport()
    lock = threading.Lock()
    started = time.perf_counter()

    def settle(r: FileResult) -> None:
        with lock:
            report.results.append(r)
        if on_done:
            on_done(r)

    remove_stale_temps(j.output for j in jobs)  # a resumed batch after kill -9 or a power cut
    todo, settled = _triage(jobs, overwrite)
    for r in settled:
        settle(r)
    post = getattr(work, "post", None)
    decoded: queue.Queue = queue.Queue(maxsize=depth)
    inferred: queue.Queue = queue.Queue(maxsize=1)
    processed: queue.Queue = queue.Queue(maxsize=depth)

    stop = threading.Event()  # Ctrl-C: decode nothing more

    def reader() -> None:
        for j in todo:
            if stop.is_set():
                break
            t0, timings = time.perf_counter(), Timings()
            try:
                decoded.put((j, t0, timings, work.decode(j, timings), None))
            except Exception as exc:
                decoded.put((j, t0, timings, None, exc))
        decoded.put(_STOP)

    def poster() -> None:
        assert post is not None
        while (item := inferred.get()) is not _STOP:
            j, t0, timings, made, notes = item
            try:
                processed.put((j, t0, timings, post(j, made, timings), notes))
            except Exception as exc:
                settle(_failure(j, exc, t0))

    def writer() -> None:
        while (item := processed.get()) is not _STOP:
            j, t0, timings, made, notes = item
            try:
                done = work.finish(j, made, timings)
                with timings.stage("write"):
                    write_atomic(j.output, done.data, protect=[j.source])
                r = FileResult(str(j.source), str(j.output), "ok", "", time.perf_counter() - t0, timings.ms())
                r.warnings, r.model = [*notes, *done.warnings], done.model
                settle(r)
            except Exception as exc:
                settle(_failure(j, exc, t0))

    rt = threading.Thread(target=reader, name="edgematte-decode", daemon=True)
    pt = threading.Thread(target=poster, name="edgematte-post", daemon=True) if post else None
    wt = threading.Thread(target=writer, name="edgematte-write", daemon=True)
    for t in (rt, pt, wt):
        if t is not None:
            t.start()
    # The model's thread must get the GIL back at once when an invoke returns; with four threads
    # the default 5 ms switch interval cost ~3% of the batch waiting for it here.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        while (item := decoded.get()) is not _STOP:
            j, t0, timings, image, err = item
            if err is not None:
                settle(_failure(j, err, t0))
                continue
            if not report.first_s:
                report.first_s = time.perf_counter() - started
            try:
                made = work.process(j, image, timings)
            except Exception as exc:
                settle(_failure(j, exc, t0))
                continue
            notes = image.notes() if hasattr(image, "notes") else []
            del image
            (inferred if post else processed).put((j, t0, timings, made, notes))
    except KeyboardInterrupt:
        # A clean stop: what is made is still written (each write is atomic), nothing new starts.
        report.interrupted = True
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        if pt is not None:
            inferred.put(_STOP)
            pt.join()
        processed.put(_STOP)
        wt.join()
        while rt.is_alive():  # let a reader blocked on a full queue finish its file and see `stop`
            with contextlib.suppress(queue.Empty):
                decoded.get(timeout=0.05)
        rt.join(timeout=1)
    order = {str(j.source): i for i, j in enumerate(jobs)}
    report.results.sort(key=lambda r: order.get(r.source, 0))
    report.seconds = time.perf_counter() - started
    return report


class CutoutWork:
    """The still path per file (`edgematte remove` on a folder): each stage is the Session's.

    Parameters
    ----------
    session
        The loaded still path.
    output
        What to make (Output); each job's format comes from its output's suffix.
    """

    def __init__(self, session: Session, output: Output):
        self.session = session
        self.output = output
        self._by_format: dict[str, Output] = {}

    def _output_for(self, job: Job) -> Output:
        fmt = format_for_path(job.output)
        if fmt not in self._by_format:
            self._by_format[fmt] = replace(self.output, format=fmt)
        return self._by_format[fmt]

    def decode(self, job: Job, timings: Timings) -> Prepared:
        """Reader thread: the decode and prepare stages."""
        return self.session.prepare(job.source, timings=timings)

    def process(self, job: Job, image: Prepared, timings: Timings) -> Inferred:
        """Caller's thread: the infer stage (the model, back to back)."""
        return self.session.infer(image)

    def post(self, job: Job, inferred: Inferred, timings: Timings) -> Any:
        """Post thread: refine, foreground and the full-size cut-out (`complete`), then compose.
        Returns the pixels, studio mode's note (in the report's warnings when it declined) and
        the model that ran."""
        m = self.session.complete(inferred)
        return self.session.render(m, self._output_for(job)), m.studio, m.model

    def finish(self, job: Job, made: Any, timings: Timings) -> Finished:
        """Writer thread: the encode stage."""
        pixels, studio, model = made
        declined = [studio] if studio.startswith("not a studio shot") else []
        return Finished(self.session.encode(pixels, self._output_for(job), timings), declined, model)


class AllFramesWork(CutoutWork):
    """`edgematte remove --all-frames`: every frame of an animated image through the still path,
    written as one animated file (APNG, WebP or TIFF pages); a still image as usual.

    Parameters
    ----------
    session, output
        As for CutoutWork. Each frame is matted on its own (a sticker is a sequence of stills).
    """

    def decode(self, job: Job, timings: Timings) -> Any:
        """Reader thread: every frame, and how long each shows."""
        from edgematte.decode import decode_frames

        with timings.stage("decode"):
            return decode_frames(job.source, self.session.max_pixels)

    post = None  # each frame's whole still path runs in the caller's thread

    def process(self, job: Job, image: Any, timings: Timings) -> Any:
        """Caller's thread: each frame's cut-out, through the Session's stages."""
        frames, durations = image
        out = self._output_for(job)
        mattes = [self.session.matte(f, timings=timings) for f in frames]
        models = sorted({m.model for m in mattes})
        return [self.session.render(m, out) for m in mattes], durations, ", ".join(models)

    def finish(self, job: Job, pixels: Any, timings: Timings) -> Finished:
        """Writer thread: one frame encodes as usual; several as one animated file."""
        from edgematte.encode import encode_frames

        frames, durations, model = pixels
        if len(frames) == 1:
            return super().finish(job, (frames[0], "", model), timings)
        out = self._output_for(job)
        with timings.stage("encode"):
            return Finished(encode_frames(frames, durations, out.format, quality=out.quality), model=model)
