"""Commands about the device: `models`, `tune`, `warmup` and `bench`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli.common import ModelOpt, ProfileOpt, ThreadsOpt


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full cards as JSON.")] = False,
    profile: ProfileOpt = None,
) -> None:
    """List the shipped models, and which variant each job uses on this device and why."""
    from edgematte.models import cards, resolve, resolve_untuned
    from edgematte.profiles import detect_reason, get_profile
    from edgematte.tuning import FAMILIES, tuned_choice, tuned_path

    all_cards = cards()
    if as_json:
        typer.echo(json.dumps({n: c.raw for n, c in all_cards.items()}, indent=2))
        return
    detected, why = detect_reason()
    prof = get_profile(profile or detected)
    used = {f: resolve(f, prof.name) for f in FAMILIES}
    typer.echo(f"{'model':26} {'input':>9} {'size':>8}  {'task'}")
    for name, c in sorted(all_cards.items()):
        h, w = c.input_hw
        mark = "*" if name in {u.name for u in used.values()} else " "
        typer.echo(f"{name:25}{mark} {w:>4}x{h:<4} {c.size_bytes / 1e6:6.2f}MB  {c.task}")
    source = "given with --profile" if profile else why
    typer.echo(f"\n* = used on this device. Profile: {prof.name} ({source})")
    for fam, card in used.items():
        tuned = tuned_choice(fam, prof.name)
        if tuned is not None and tuned.model == card.name:
            reason = tuned.reason()
            if card.name != resolve_untuned(fam, prof.name).name:
                reason += f" (profile default: {resolve_untuned(fam, prof.name).name})"
        else:
            reason = f"profile {prof.name} default"
        typer.echo(f"  {fam:17} -> {card.name:22} {reason}")
    typer.echo(
        f"  --model auto (the default): a portrait -> {resolve('portrait', prof.name).name} when it cuts out the "
        f"subject {resolve('product', prof.name).name} finds, anything else -> {resolve('product', prof.name).name}"
    )
    if not any(tuned_choice(f, prof.name) for f in FAMILIES):
        typer.echo(f"  (not tuned: `edgematte tune` times the variants here and stores the fastest in {tuned_path()})")


def tune(
    profile: ProfileOpt = None,
    threads: ThreadsOpt = None,
    runs: Annotated[int, typer.Option(min=3, max=101, help="Timed invokes per variant (median).")] = 7,
) -> None:
    """Time every drop-in variant of each job's model on this device; keep the fastest.

    Run it once on the device itself (kiosk images: at build time, after `warmup`). The choice
    is stored per device in the user cache (EDGEMATTE_CACHE_DIR) and used whenever the profile
    is this device's; `models` shows it. A variant is only a candidate when its card meets the
    accuracy bar against float and it has the same input size as the profile's choice.
    """
    from edgematte.tuning import tune as run_tune
    from edgematte.tuning import tuned_path

    t = time.perf_counter()
    choices = run_tune(profile, threads=threads, runs=runs, log=typer.echo)
    changed = [c for c in choices.values() if c.model != c.default]
    summary = ", ".join(f"{c.family}: {c.default} -> {c.model}" for c in changed) or "the profile's choices are fastest"
    typer.echo(f"tuned in {time.perf_counter() - t:.1f} s: {summary}; stored in {tuned_path()}")


def warmup(
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Compile every Numba kernel any command uses into the on-disk cache and load the model once.

    Run it once after install (kiosk images: at build time, with EDGEMATTE_CACHE_DIR pointing
    at a writable folder when the package is read-only) so the first customer never waits for
    JIT compilation.
    """
    from edgematte.warm import warm_up

    t = time.perf_counter()
    name, cache = warm_up(model, threads=threads, profile=profile)
    typer.echo(f"warm: {name}, kernels compiled and cached in {time.perf_counter() - t:.1f} s (cache: {cache})")


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
    """Add `models`, `tune`, `warmup` and `bench` to the app."""
    for fn in (models, tune, warmup, bench):
        app.command()(fn)
