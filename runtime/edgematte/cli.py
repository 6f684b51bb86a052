"""The `edgematte` command: thin. It parses, calls the API, prints.

Errors a user can fix print one line on stderr and exit non-zero (codes per class in
errors.py); set EDGEMATTE_DEBUG=1 to see a traceback for anything unexpected.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli_common import ModelOpt, ProfileOpt, ThreadsOpt, err, finish_batch
from edgematte.errors import EdgematteError, OptionError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="On-device background removal: cut-outs, masks and composites from INT8 models.",
)


def _bg_arg(bg: str | None) -> object:
    if bg is None:
        return None
    from edgematte.colors import looks_like_colour

    if looks_like_colour(bg):
        return bg
    if not Path(bg).is_file():
        raise OptionError(f"--bg '{bg}' is neither a colour (white, #RRGGBB, r,g,b) nor an image file")
    return Path(bg)


@app.command()
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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo outputs that already exist.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write a JSON report of every file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    best: Annotated[
        bool,
        typer.Option(
            "--best",
            help="One more model run on the mirrored photo, averaged: slightly better masks, ~1.6x the time at 1-2 MP.",
        ),
    ] = False,
) -> None:
    """Cut out the subject of each image: transparent PNG by default, a mask, or a composite."""
    from edgematte.api import Session
    from edgematte.batch import expand_inputs, plan
    from edgematte.imageio import decode, encode_pixels, format_for_path

    bg_value = _bg_arg(bg)
    if mask_only and bg_value is not None:
        raise OptionError("--mask-only and --bg cannot be combined")
    session = Session(model, threads=threads, profile=profile, best=best)

    if inputs == ["-"]:
        data = sys.stdin.buffer.read()
        out_fmt = fmt or (format_for_path(output) if output else "PNG")
        blob = session.remove(data, mask_only=mask_only, bg=bg_value, format=out_fmt, quality=quality)
        if output:
            from edgematte.imageio import write_atomic

            write_atomic(output, blob)
        else:
            sys.stdout.buffer.write(blob)
            sys.stdout.buffer.flush()
        return
    if "-" in inputs:
        raise OptionError("'-' (stdin) cannot be mixed with files")

    suffix = "." + (fmt.lower().lstrip(".") if fmt else "png")
    if fmt:
        format_for_path("x" + suffix)  # validates
    pairs = expand_inputs(inputs)
    if not pairs:
        raise OptionError("no images found in the given inputs")
    jobs = plan(pairs, output, suffix)

    # Each job's format comes from its output suffix.
    fmt_of = {str(j.source): format_for_path(j.output) for j in jobs}

    def decode_job(p: Path) -> tuple[str, object]:
        return str(p), decode(p, session.max_pixels)

    def process_job(item: tuple[str, object]) -> tuple[object, dict[str, float]]:
        src, image = item
        m = session.matte(image)
        pixels, kind = session.render(m, mask_only=mask_only, bg=bg_value)
        return (src, pixels, kind), m.timings.ms()

    def encode_one(result: tuple) -> bytes:
        src, pixels, kind = result
        return encode_pixels(pixels, kind, fmt_of[src], quality, session.threads)

    finish_batch(
        jobs,
        decode_job,
        process_job,
        encode_one,
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label="cutting out",
        model=session.model,
    )


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full cards as JSON.")] = False,
) -> None:
    """List the shipped models with their cards."""
    from edgematte.models import cards
    from edgematte.profiles import detect, get_profile

    all_cards = cards()
    if as_json:
        typer.echo(json.dumps({n: c.raw for n, c in all_cards.items()}, indent=2))
        return
    prof = get_profile(detect())
    defaults = set(prof.models.values())
    typer.echo(f"{'model':26} {'input':>9} {'size':>8}  {'task'}")
    for name, c in sorted(all_cards.items()):
        h, w = c.input_hw
        mark = "*" if name in defaults else " "
        typer.echo(f"{name:25}{mark} {w:>4}x{h:<4} {c.size_bytes / 1e6:6.2f}MB  {c.task}")
    typer.echo(f"(* = default on this machine's profile: {prof.name})")


@app.command()
def warmup(
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Compile every Numba kernel into the on-disk cache and load the model once.

    Run it once after install (kiosk images: at build time) so the first customer
    never waits for JIT compilation.
    """
    import numpy as np

    from edgematte.api import Session
    from edgematte.kernels import CACHE_DIR

    t = time.perf_counter()
    s = Session(model, threads=threads, profile=profile)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    rgba = np.dstack([img, rng.integers(0, 256, (96, 128), dtype=np.uint8)])
    s.remove(img)
    s.remove(rgba, bg="white")
    s.remove(img, bg=img[::-1].copy())
    typer.echo(
        f"warm: {s.model}, kernels compiled and cached in {time.perf_counter() - t:.1f} s "
        f"(cache: {CACHE_DIR or 'next to the package'})"
    )


@app.command()
def bench(
    profile: ProfileOpt = None,
    threads: ThreadsOpt = None,
    runs: Annotated[int, typer.Option(min=1, max=100, help="Timed runs per job (after one warm-up).")] = 5,
    as_json: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON here.")] = None,
) -> None:
    """Time this device's jobs (12 MP still cut-out, 720p preview frame) against its profile's budgets.

    Exit code 1 if a budget is missed, so an installer script can gate on it.
    """
    from edgematte.benchmark import check_profile, format_report

    report = check_profile(profile, threads=threads, runs=runs)
    typer.echo(format_report(report))
    if as_json:
        from edgematte.imageio import write_atomic

        write_atomic(as_json, json.dumps(report, indent=2).encode())
    if report["passed"] is False:
        raise typer.Exit(code=1)


def main() -> None:
    """Console entry point: one clear line for user errors, never a traceback."""
    try:
        app()
    except EdgematteError as exc:
        err(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("EDGEMATTE_DEBUG"):
            raise
        err(f"unexpected {type(exc).__name__}: {exc} (set EDGEMATTE_DEBUG=1 for details)")
        sys.exit(70)


from edgematte import cli_seller  # noqa: E402  (registers compose, resize, place, check)

cli_seller.register(app)

if __name__ == "__main__":
    main()
