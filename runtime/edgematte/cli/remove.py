"""`edgematte remove`: cut-outs, masks and composites of files, folders, globs or stdin."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli.common import (
    HtmlOpt,
    KeepExtOpt,
    ModelOpt,
    OverwriteOpt,
    ProfileOpt,
    QuietOpt,
    ReportOpt,
    StudioOpt,
    ThreadsOpt,
    planned_jobs,
    run_files,
    write_stdout,
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
    keep_ext: KeepExtOpt = False,
    all_frames: Annotated[
        bool,
        typer.Option(
            "--all-frames",
            help="Animated GIF/WebP/APNG or multi-page TIFF: cut out every frame into one animated .png/.webp/.tif.",
        ),
    ] = False,
    report: ReportOpt = None,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
    best: Annotated[
        bool,
        typer.Option(
            "--best",
            help="One more model run on the mirrored photo, averaged: slightly better masks, ~1.6x the time at 1-2 MP.",
        ),
    ] = False,
    looks: Annotated[
        int | None,
        typer.Option(
            "--looks",
            min=1,
            max=2,
            help="2: look again at the subject's crop when it is small in the frame (better thin parts, "
            "~1.6x the model time); 1: one look. Default: the device profile's (2 on x86, 1 on boards).",
        ),
    ] = None,
    studio: StudioOpt = False,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process) or ray (a Ray cluster: pip install edgematte[ray]).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="--engine ray: 'auto' (ray start on this machine) or ray://host:10001."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="--engine ray: workers (default: the cluster's CPUs / --threads).")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="--engine ray: a JSON line per file (default: OUT/edgematte-manifest.jsonl)."),
    ] = None,
) -> None:
    """Cut out the subject of each image: transparent PNG by default, a mask, or a composite."""
    from edgematte.batch import AllFramesWork, CutoutWork
    from edgematte.files import write_atomic
    from edgematte.formats import ALPHA_FORMATS, format_for_path, suffix_for, writable_format
    from edgematte.still import Output, Session

    if mask_only and bg is not None:
        raise OptionError("--mask-only and --bg cannot be combined")
    fmt = writable_format(fmt) if fmt else None
    out = Output.of(mask_only=mask_only, bg=bg, format=fmt or "PNG", quality=quality)  # --bg read once, here
    if inputs == ["-"] or output == "-":
        if all_frames:
            raise OptionError("--all-frames writes files: give -o a .png, .webp or .tif path")
        if inputs != ["-"] and (len(inputs) != 1 or not Path(inputs[0]).is_file()):
            raise OptionError("-o - (standard output) takes one image file or - (standard input)")
        to_file = output is not None and output != "-"
        session = Session(model, threads=threads, profile=profile, best=best, looks=looks, studio=studio)
        spec = replace(out, format=fmt or (format_for_path(output) if to_file else "PNG"))
        source = sys.stdin.buffer.read() if inputs == ["-"] else Path(inputs[0])
        blob = session.process(source, spec).data
        assert blob is not None
        if to_file:
            write_atomic(output, blob, protect=[] if inputs == ["-"] else [inputs[0]])
        else:
            write_stdout(blob)
        return
    if "-" in inputs:
        raise OptionError("'-' (stdin) cannot be mixed with files")
    if engine not in ("local", "ray"):
        raise OptionError(f"--engine takes local or ray, not {engine!r}")
    if engine == "local" and (address or workers or manifest):
        raise OptionError("--address, --workers and --manifest go with --engine ray")
    jobs = planned_jobs(inputs, output, suffix_for(fmt or "PNG"), "{stem}.cutout{suffix}", keep_ext)
    for j in jobs:
        fmt_j = format_for_path(j.output)  # an unknown output type fails now, before the model loads
        if all_frames and fmt_j not in ALPHA_FORMATS:
            raise OptionError(f"--all-frames writes animated .png (APNG), .webp or .tif, not {j.output.suffix}")
    if engine == "ray":
        if all_frames or report or html:
            raise OptionError("--engine ray writes stills and a --manifest (no --all-frames, --report or --html)")
        from edgematte.cli.cluster import run_ray
        from edgematte.ray_engine import CutoutSpec

        spec = CutoutSpec(model, threads, profile, mask_only, bg, fmt or "PNG", quality, best, overwrite, looks, studio)
        folder = Path(output or ".") if len(jobs) > 1 or not Path(output or ".").suffix else Path(output).parent
        where = manifest or folder / "edgematte-manifest.jsonl"
        run_ray(jobs, spec, address=address, workers=workers, manifest=where, quiet=quiet)
        return
    session = Session(model, threads=threads, profile=profile, best=best, looks=looks, studio=studio)
    run_files(
        jobs,
        (AllFramesWork if all_frames else CutoutWork)(session, out),
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label="cutting out",
        model=session.model,
        html=html,
    )


def register(app: typer.Typer) -> None:
    """Add `remove` to the app."""
    app.command()(remove)
