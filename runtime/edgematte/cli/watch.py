"""`edgematte watch`: a hot folder. Every image that appears in it is cut out (or composed for a
marketplace with --preset) into the output folder, once, through the same stages as `remove`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from edgematte.cli.common import KeepExtOpt, ModelOpt, OverwriteOpt, ProfileOpt, QuietOpt, ThreadsOpt, err
from edgematte.cli.seller import PresetsFileOpt
from edgematte.errors import EXIT_INTERRUPTED, OptionError


def watch(
    folder: Annotated[Path, typer.Argument(help="The folder to watch (and its subfolders).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder; it mirrors the watched tree.")],
    preset: Annotated[
        str | None,
        typer.Option("--preset", "-p", help="Compose each photo for this marketplace (as `compose`) instead."),
    ] = None,
    presets: PresetsFileOpt = None,
    fill: Annotated[float | None, typer.Option(min=0.05, max=1.0, help="--preset: the product's span.")] = None,
    model: ModelOpt = None,
    mask_only: Annotated[bool, typer.Option("--mask-only", help="Write the alpha mask only (greyscale).")] = False,
    bg: Annotated[str | None, typer.Option("--bg", help="Composite onto a colour or an image file.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="png, webp, jpg or tif.")] = None,
    quality: Annotated[int | None, typer.Option(min=1, max=100, help="JPEG/WebP quality.")] = None,
    move_done: Annotated[
        Path | None, typer.Option("--move-done", help="Move each input here once its output is written.")
    ] = None,
    delete_input: Annotated[
        bool, typer.Option("--delete-input", help="Delete each input once its output is written.")
    ] = False,
    settle: Annotated[
        float, typer.Option(min=0.0, max=3600.0, help="Seconds a file must stay unchanged before it is read.")
    ] = 1.0,
    poll: Annotated[
        float, typer.Option(min=0.05, max=3600.0, help="Seconds between scans when polling (no inotify).")
    ] = 0.5,
    polling: Annotated[bool, typer.Option("--polling", help="Scan the folder instead of using inotify.")] = False,
    once: Annotated[bool, typer.Option("--once", help="Process what is there (once settled), then exit.")] = False,
    log: Annotated[
        Path | None, typer.Option("--log", help="The JSON-lines log (default: OUT/.edgematte-watch.jsonl).")
    ] = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    overwrite: OverwriteOpt = False,
    keep_ext: KeepExtOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Watch a folder: cut out every image that appears in it, once, even across restarts.

    A file is read once it has stopped changing for --settle seconds and no process has it open
    for writing. A JSON-lines log in the output folder remembers every file, so a restart (even
    after a crash or a power cut) redoes nothing finished and misses nothing new. Ctrl-C or
    SIGTERM stops after the files in flight. Exit: 0 stopped by SIGTERM; 130 Ctrl-C; with --once,
    the most serious failure's code (as `remove`).
    """
    from edgematte.batch import CutoutWork, FileResult, most_serious
    from edgematte.formats import suffix_for, writable_format
    from edgematte.still import Output, Session
    from edgematte.watch import WatchOptions, WatchSummary, watch_folder

    work: Any
    if preset is not None:
        if mask_only or bg is not None:
            raise OptionError("--preset composes on the marketplace's canvas: no --mask-only or --bg with it")
        from edgematte.commerce.api import ComposeVerb, VerbWork
        from edgematte.commerce.export import preset_format
        from edgematte.commerce.marketplace_presets import get_preset

        p = get_preset(preset, presets)
        preset_format(p, fmt)
        verb = ComposeVerb(Session(model, threads=threads, profile=profile), p, fill, fmt)
        work, suffix, name = VerbWork(verb), suffix_for(verb.fmt), verb.session.model
    else:
        if mask_only and bg is not None:
            raise OptionError("--mask-only and --bg cannot be combined")
        fmt = writable_format(fmt) if fmt else "PNG"
        session = Session(model, threads=threads, profile=profile)
        work = CutoutWork(session, Output.of(mask_only=mask_only, bg=bg, format=fmt, quality=quality))
        suffix, name = suffix_for(fmt), session.model

    def line(status: str, r: FileResult) -> None:
        if status == "failed":
            err(r.message if r.source in r.message else f"{r.source}: {r.message}")
        elif not quiet:
            where = f" -> {r.output}" if r.output else ""
            extra = f" ({r.seconds:.2f} s)" if status == "ok" else f" ({r.message})" if r.message else ""
            typer.echo(f"{status:<8}{r.source}{where}{extra}")
            for w in r.warnings:
                typer.echo(f"edgematte: warning: {r.source}: {w}", err=True)

    terminated = []

    def on_term(signum: int, frame: Any) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    options = WatchOptions(
        settle=settle,
        poll=poll,
        move_done=move_done,
        delete_input=delete_input,
        overwrite=overwrite,
        keep_ext=keep_ext,
        once=once,
        use_inotify=not polling,
        log=log,
    )

    def started(summary: WatchSummary) -> None:
        if not quiet:
            until = "until every file is done" if once else "Ctrl-C to stop"
            typer.echo(f"watching {folder} -> {output} with {name} ({summary.how}; {until})", err=True)

    summary = watch_folder(folder, output, work, suffix, options, on_result=line, on_start=started)
    c = summary.counts
    if not quiet:
        sys.stdout.flush()
        stopped = "stopped: " if summary.interrupted else ""
        typer.echo(f"{stopped}{c['ok']} done, {c['skipped']} skipped, {c['failed']} failed", err=True)
    if summary.interrupted:
        raise typer.Exit(code=0 if terminated else EXIT_INTERRUPTED)
    code = most_serious(summary.codes)
    if code:
        raise typer.Exit(code=code)


def register(app: typer.Typer) -> None:
    """Add `watch` to the app."""
    app.command()(watch)
