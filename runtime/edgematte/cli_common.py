"""What the `edgematte` commands share: option types, the one-line error, and the batch runner
with its progress bar and summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model name, family or alias (see `models`).")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        "-t",
        min=1,
        max=64,
        help="Threads for inference and post-processing (default: the device profile's).",
    ),
]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="Device profile (default: detected).")]


def err(message: str) -> None:
    typer.echo(f"edgematte: error: {message}", err=True)


def finish_batch(
    jobs: list,
    decode_job,  # type: ignore[no-untyped-def]
    process_job,  # type: ignore[no-untyped-def]
    encode_one,  # type: ignore[no-untyped-def]
    *,
    overwrite: bool,
    quiet: bool,
    report: Path | None,
    label: str,
    model: str,
) -> None:
    """Run a batch with a progress bar (more than one file), report failures on one line each,
    write the JSON report, print a summary, and exit 2 if any file failed."""
    from edgematte.batch import run_batch

    show = not quiet and len(jobs) > 1
    t0 = time.perf_counter()
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=_stderr_console(),
        ) as bar:
            task = bar.add_task(label, total=len(jobs))
            result = run_batch(
                jobs, decode_job, process_job, encode_one, overwrite=overwrite, on_done=lambda r: bar.advance(task)
            )
    else:
        result = run_batch(jobs, decode_job, process_job, encode_one, overwrite=overwrite)
    for r in result.failed:
        err(r.message if r.source in r.message else f"{r.source}: {r.message}")
    if report:
        from edgematte.imageio import write_atomic

        write_atomic(report, json.dumps(result.as_dict(), indent=2).encode())
    c = result.counts()
    if not quiet and (len(jobs) > 1 or c["skipped"]):
        typer.echo(
            f"{c['ok']} done, {c['skipped']} skipped, {c['failed']} failed in "
            f"{time.perf_counter() - t0:.1f} s ({model})",
            err=True,
        )
    if c["failed"]:
        raise typer.Exit(code=2)


def _stderr_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True)
