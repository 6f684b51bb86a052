"""What the `edgematte` commands share: option types, the one-line error, and running a batch
with its progress bar, per-file messages, JSON report, summary and exit code.

Light: only Typer is imported at the top; each command imports the runtime when it runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from edgematte.batch import FileWork, Job

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model name, family or alias (see `models`), or auto (the default): portraits to the "
        "matting model, everything else to u2netp.",
    ),
]
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
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Redo outputs that already exist.")]
KeepExtOpt = Annotated[
    bool,
    typer.Option("--keep-ext", help="Keep each input's extension in its output's name (x.jpg -> x.jpg.png)."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
StudioOpt = Annotated[
    bool,
    typer.Option(
        "--studio",
        help="Studio shots (plain white or gradient backdrop): glass and clear plastic stay partly "
        "transparent. Photos without a smooth backdrop are cut out as usual. Not for white products on white.",
    ),
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write a JSON report of every file.")]
HtmlOpt = Annotated[
    Path | None,
    typer.Option("--html", help="Write an HTML page: before/after thumbnails, status and timings, failures first."),
]


def err(message: str) -> None:
    """Print one error line on stderr, the way every command does."""
    typer.echo(f"edgematte: error: {message}", err=True)


def warn(message: str) -> None:
    """Print one warning line on stderr."""
    typer.echo(f"edgematte: warning: {message}", err=True)


def run_files(
    jobs: list[Job],
    work: FileWork,
    *,
    overwrite: bool,
    quiet: bool,
    report: Path | None,
    label: str,
    model: str,
    html: Path | None = None,
) -> None:
    """Run a batch (batch.run_batch) and tell the user: a progress bar for more than one file,
    one line per failure and per warning, the JSON report, a summary; then exit with the batch's
    code (0, or the most serious failure's: see BatchReport.exit_code)."""
    from edgematte.batch import most_serious, run_batch
    from edgematte.errors import OutputError
    from edgematte.files import write_atomic

    show = not quiet and len(jobs) > 1
    t0 = time.perf_counter()
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task(label, total=len(jobs))
            result = run_batch(jobs, work, overwrite=overwrite, on_done=lambda r: bar.advance(task))
    else:
        result = run_batch(jobs, work, overwrite=overwrite)
    for r in result.results:
        for w in r.warnings:
            warn(f"{r.source}: {w}")
    for r in result.failed:
        err(r.message if r.source in r.message else f"{r.source}: {r.message}")
    code = result.exit_code()
    for path, make in ((report, lambda: json.dumps(result.as_dict(), indent=2).encode()), (html, None)):
        if not path:
            continue
        try:
            if make is None:
                from edgematte.batch_html import write_batch_html

                write_batch_html(path, result, f"edgematte {label}")
            else:
                write_atomic(path, make())
        except OutputError as exc:  # the outputs are written: say so before the report's failure
            err(str(exc))
            code = most_serious([code, exc.exit_code])
    c = result.counts()
    if result.interrupted:
        left = len(jobs) - len(result.results)
        err(
            f"interrupted: {c['ok']} done, {c['skipped']} skipped, {c['failed']} failed, {left} not started "
            "(run the same command again to resume)"
        )
    elif not quiet and (len(jobs) > 1 or c["skipped"] or report):
        ran = result.models()
        if model == "auto" and ran:  # say which model each photo went to
            model = "auto: " + ", ".join(f"{n} {name}" for name, n in sorted(ran.items(), key=lambda kv: -kv[1]))
        typer.echo(
            f"{c['ok']} done, {c['skipped']} skipped, {c['failed']} failed in "
            f"{time.perf_counter() - t0:.1f} s ({model})",
            err=True,
        )
    if code:
        raise typer.Exit(code=code)


def write_stdout(blob: bytes) -> None:
    """Write an output to standard output; a full disk or a closed pipe is OutputError (exit 4)."""
    from edgematte.errors import OutputError

    try:
        sys.stdout.buffer.write(blob)
        sys.stdout.buffer.flush()
    except OSError as exc:
        raise OutputError(f"standard output: write failed ({exc.strerror or exc})") from exc


def planned_jobs(
    inputs: list[str], output: str | None, suffix: str, single_name: str, keep_ext: bool = False
) -> list[Any]:
    """Expand inputs (files, folders, globs) and map them to outputs (batch.expand_inputs, plan)."""
    from edgematte.batch import expand_inputs, own_output_matcher, plan
    from edgematte.errors import OptionError

    if output == "-":
        raise OptionError("-o - (standard output) is for one image: `edgematte remove photo.jpg -o - > cut.png`")
    # Outputs written next to their inputs by an earlier run are never inputs again.
    pairs = expand_inputs(inputs, exclude=own_output_matcher(single_name) if output is None else None)
    if not pairs:
        raise OptionError("no images found in the given inputs")
    return plan(pairs, output, suffix, single_name=single_name, keep_ext=keep_ext)
