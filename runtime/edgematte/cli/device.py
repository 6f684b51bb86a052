"""Commands about the device: `models`, `warmup` and `bench`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli.common import ModelOpt, ProfileOpt, ThreadsOpt


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

    from edgematte.kernels import CACHE_DIR
    from edgematte.live.modes import FrameMatter
    from edgematte.still import Session

    t = time.perf_counter()
    s = Session(model, threads=threads, profile=profile)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    rgba = np.dstack([img, rng.integers(0, 256, (96, 128), dtype=np.uint8)])
    s.remove(img)
    s.remove(rgba, bg="white")
    s.remove(img, bg=img[::-1].copy())
    for output in ("composite", "rgba", "alpha"):  # every kernel the frame commands use
        with FrameMatter.for_video(output=output, threads=threads, profile=profile) as fm:
            for i in range(2):
                fm.matte_for_video(img, float(i))
    typer.echo(
        f"warm: {s.model}, kernels compiled and cached in {time.perf_counter() - t:.1f} s "
        f"(cache: {CACHE_DIR or 'next to the package'})"
    )


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
    from edgematte.files import write_atomic

    report = check_profile(profile, threads=threads, runs=runs)
    typer.echo(format_report(report))
    if as_json:
        write_atomic(as_json, json.dumps(report, indent=2).encode())
    if report["passed"] is False:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add `models`, `warmup` and `bench` to the app."""
    for fn in (models, warmup, bench):
        app.command()(fn)
