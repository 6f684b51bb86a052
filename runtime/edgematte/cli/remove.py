"""`edgematte remove`: cut-outs, masks and composites of files, folders, globs or stdin."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

import typer

from edgematte.cli.common import (
    ModelOpt,
    OverwriteOpt,
    ProfileOpt,
    QuietOpt,
    ReportOpt,
    ThreadsOpt,
    planned_jobs,
    run_files,
)
from edgematte.errors import OptionError


def remove(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders (recursive), globs, or - for stdin.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (one input) or folder. Default: <name>.cutout.png next to each input; stdout for -.",
        ),
    ] = None,
    model: ModelOpt = None,
    mask_only: Annotated[bool, typer.Option("--mask-only", help="Write the alpha mask only (greyscale).")] = False,
    bg: Annotated[
        str | None,
        typer.Option(
            "--bg",
            help="Composite onto a colour (white, '#RRGGBB', r,g,b) or an image file instead of writing transparency.",
        ),
    ] = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="png, webp, jpg or tif (default: from -o, else png).")
    ] = None,
    quality: Annotated[int | None, typer.Option(min=1, max=100, help="JPEG/WebP quality.")] = None,
    overwrite: OverwriteOpt = False,
    report: ReportOpt = None,
    quiet: QuietOpt = False,
    best: Annotated[
        bool,
        typer.Option(
            "--best",
            help="One more model run on the mirrored photo, averaged: slightly better masks, ~1.6x the time at 1-2 MP.",
        ),
    ] = False,
) -> None:
    """Cut out the subject of each image: transparent PNG by default, a mask, or a composite."""
    from edgematte.batch import CutoutWork
    from edgematte.files import write_atomic
    from edgematte.formats import format_for_path, suffix_for, writable_format
    from edgematte.still import Output, Session

    if mask_only and bg is not None:
        raise OptionError("--mask-only and --bg cannot be combined")
    fmt = writable_format(fmt) if fmt else None
    out = Output.of(mask_only=mask_only, bg=bg, format=fmt or "PNG", quality=quality)  # --bg read once, here
    if inputs == ["-"]:
        session = Session(model, threads=threads, profile=profile, best=best)
        spec = replace(out, format=fmt or (format_for_path(output) if output else "PNG"))
        blob = session.process(sys.stdin.buffer.read(), spec).data
        assert blob is not None
        if output:
            write_atomic(output, blob)
        else:
            sys.stdout.buffer.write(blob)
            sys.stdout.buffer.flush()
        return
    if "-" in inputs:
        raise OptionError("'-' (stdin) cannot be mixed with files")
    jobs = planned_jobs(inputs, output, suffix_for(fmt or "PNG"), "{stem}.cutout{suffix}")
    for j in jobs:
        format_for_path(j.output)  # an unknown output type fails now, before the model loads
    session = Session(model, threads=threads, profile=profile, best=best)
    run_files(
        jobs,
        CutoutWork(session, out),
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label="cutting out",
        model=session.model,
    )


def register(app: typer.Typer) -> None:
    """Add `remove` to the app."""
    app.command()(remove)
