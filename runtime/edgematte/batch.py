"""Folders, globs and file lists: a bounded decode -> matte -> encode pipeline with a per-file report.

Decoding the next photo and encoding the previous one overlap with inference (all
three release the GIL in their heavy parts), with at most `depth` images in flight so
memory stays bounded on a 4 GB board. One bad file is reported and skipped; it never
stops the batch. Outputs that already exist are skipped unless `overwrite`, so an
interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import glob
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgematte.errors import EdgematteError, ImageError, OptionError
from edgematte.imageio import IMAGE_SUFFIXES

_STOP = object()


@dataclass
class Job:
    source: Path
    output: Path


@dataclass
class FileResult:
    source: str
    output: str | None
    status: str  # "ok" | "skipped" | "failed"
    message: str = ""
    seconds: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class BatchReport:
    results: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "skipped": 0, "failed": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts(), "files": [asdict(r) for r in self.results]}


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def expand_inputs(items: Iterable[str]) -> list[tuple[Path, Path]]:
    """(file, root) pairs for files, globs and folders (recursive); root is used to mirror the tree."""
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()

    def add(f: Path, root: Path) -> None:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append((f, root))

    for item in items:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and _is_image(f):
                    add(f, p)
        elif p.is_file():
            add(p, p.parent)
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
) -> list[Job]:
    """Map inputs to outputs. One file + `-o FILE` writes FILE; otherwise `-o` is a folder that
    mirrors each input's tree; without `-o`, outputs go next to the inputs as <stem>.cutout.png."""
    jobs: list[Job] = []
    out = Path(output) if output else None
    single_file = len(inputs) == 1 and out is not None and out.suffix != "" and not out.is_dir()
    for src, root in inputs:
        if single_file:
            assert out is not None
            jobs.append(Job(src, out))
            continue
        rel = src.relative_to(root) if src.is_relative_to(root) else Path(src.name)
        name = single_name.format(stem=rel.stem, suffix=suffix) if out is None else rel.stem + suffix
        folder = src.parent if out is None else out / rel.parent
        jobs.append(Job(src, folder / name))
    dupes = {j.output for j in jobs if sum(1 for k in jobs if k.output == j.output) > 1}
    if dupes:
        raise OptionError(
            f"several inputs map to the same output (e.g. {sorted(dupes)[0]}); "
            "give inputs distinct names or separate folders"
        )
    return jobs


def run_batch(
    jobs: list[Job],
    decode_fn: Callable[[Path], Any],
    process_fn: Callable[[Any], tuple[Any, dict[str, float]]],
    encode_fn: Callable[[Any], bytes],
    *,
    overwrite: bool = False,
    depth: int = 2,
    on_done: Callable[[FileResult], None] | None = None,
) -> BatchReport:
    """Run jobs through decode (thread) -> process (caller's thread) -> encode + write (thread)."""
    from edgematte.imageio import same_file, write_atomic

    report = BatchReport()
    todo: list[Job] = []
    for j in jobs:
        if j.output.exists() and not overwrite:
            r = FileResult(str(j.source), str(j.output), "skipped", "output exists (use --overwrite)")
            report.results.append(r)
            if on_done:
                on_done(r)
        elif j.output.exists() and same_file(j.output, j.source):
            r = FileResult(str(j.source), str(j.output), "failed", "output would overwrite the input")
            report.results.append(r)
            if on_done:
                on_done(r)
        else:
            todo.append(j)

    decoded: queue.Queue = queue.Queue(maxsize=depth)
    encoded: queue.Queue = queue.Queue(maxsize=depth)
    lock = threading.Lock()

    def finish(r: FileResult) -> None:
        with lock:
            report.results.append(r)
        if on_done:
            on_done(r)

    def reader() -> None:
        for j in todo:
            t = time.perf_counter()
            try:
                decoded.put((j, decode_fn(j.source), t, None))
            except EdgematteError as exc:
                decoded.put((j, None, t, exc))
            except Exception as exc:
                decoded.put((j, None, t, ImageError(f"{j.source}: {type(exc).__name__}: {exc}")))
        decoded.put(_STOP)

    def writer() -> None:
        while True:
            item = encoded.get()
            if item is _STOP:
                return
            j, result, t, stages = item
            try:
                t_enc = time.perf_counter()
                blob = encode_fn(result)
                stages = {**stages, "encode": round((time.perf_counter() - t_enc) * 1000, 2)}
                write_atomic(j.output, blob, protect=[j.source])
                finish(FileResult(str(j.source), str(j.output), "ok", "", time.perf_counter() - t, stages))
            except EdgematteError as exc:
                finish(FileResult(str(j.source), str(j.output), "failed", str(exc), time.perf_counter() - t))
            except Exception as exc:
                finish(
                    FileResult(
                        str(j.source), str(j.output), "failed", f"{type(exc).__name__}: {exc}", time.perf_counter() - t
                    )
                )

    rt = threading.Thread(target=reader, name="edgematte-decode", daemon=True)
    wt = threading.Thread(target=writer, name="edgematte-write", daemon=True)
    rt.start()
    wt.start()
    try:
        while True:
            item = decoded.get()
            if item is _STOP:
                break
            j, image, t, err = item
            if err is not None:
                finish(FileResult(str(j.source), str(j.output), "failed", str(err), time.perf_counter() - t))
                continue
            try:
                result, stages = process_fn(image)
            except EdgematteError as exc:
                finish(FileResult(str(j.source), str(j.output), "failed", str(exc), time.perf_counter() - t))
                continue
            except Exception as exc:
                finish(
                    FileResult(
                        str(j.source), str(j.output), "failed", f"{type(exc).__name__}: {exc}", time.perf_counter() - t
                    )
                )
                continue
            encoded.put((j, result, t, stages))
    finally:
        encoded.put(_STOP)
        wt.join()
        rt.join(timeout=1)
    order = {str(j.source): i for i, j in enumerate(jobs)}
    report.results.sort(key=lambda r: order.get(r.source, 0))
    return report
