"""`edgematte remove --engine ray`: the batch on a Ray cluster, its manifest, summary and exit code."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from edgematte.cli.common import err

if TYPE_CHECKING:
    from edgematte.batch import Job
    from edgematte.ray_engine import CutoutSpec


def run_ray(
    jobs: list[Job],
    spec: CutoutSpec,
    *,
    address: str | None,
    workers: int | None,
    manifest: Path,
    quiet: bool,
) -> None:
    """Run the jobs on Ray (ray_engine.run_on_ray) and tell the user: one line per failure, a
    JSON-lines manifest with one row per file (streamed to a temporary file, renamed when
    complete), a summary; then exit with the most serious failure's code, as `remove` does."""
    from edgematte.batch import most_serious
    from edgematte.errors import OptionError, OutputError
    from edgematte.files import TEMP_SUFFIX, temp_prefix

    try:
        from edgematte.ray_engine import run_on_ray
    except ImportError as exc:
        raise OptionError(f"--engine ray needs Ray Data: pip install 'edgematte[ray]' ({exc})") from None
    t0 = time.perf_counter()
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    codes: list[int] = []
    workers_seen: set[str] = set()
    tmp = manifest.parent / f"{temp_prefix(manifest)}manifest{TEMP_SUFFIX}"
    try:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "w", encoding="utf-8")  # noqa: SIM115 (closed below, renamed when complete)
    except OSError as exc:
        raise OutputError(f"{manifest}: cannot write the manifest ({exc.strerror or exc})") from exc
    try:
        for row in run_on_ray(jobs, spec, address=address, workers=workers):
            counts[row["status"]] += 1
            if row["worker"]:
                workers_seen.add(row["worker"])
            if row["status"] == "failed":
                codes.append(row["exit_code"])
                msg: Any = row["message"]
                err(msg if row["source"] in msg else f"{row['source']}: {msg}")
            f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(tmp, manifest)
    except KeyboardInterrupt:
        f.close()
        os.replace(tmp, manifest)  # what is done is listed; a rerun skips it
        err(f"interrupted: {sum(counts.values())} of {len(jobs)} files listed in {manifest}; run again to resume")
        raise typer.Exit(code=130) from None
    except BaseException:
        f.close()
        tmp.unlink(missing_ok=True)
        raise
    if not quiet:
        typer.echo(
            f"{counts['ok']} done, {counts['skipped']} skipped, {counts['failed']} failed in "
            f"{time.perf_counter() - t0:.1f} s on Ray ({len(workers_seen)} workers); manifest: {manifest}",
            err=True,
        )
    code = most_serious(codes)
    if code:
        raise typer.Exit(code=code)
