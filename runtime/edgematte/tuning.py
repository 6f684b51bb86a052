"""Self-tuning: on this device, which shipped variant of each model runs fastest.

A device profile names one variant per model family (profiles.toml), written down from
measurements on other machines. The best variant depends on the CPU: on an Intel Xeon or AMD
Zen 4 with VNNI, INT8 u2netp is ~3.5x faster than float; on an AVX2-only AMD EPYC it is no faster;
MODNet's INT8 was slower than float on x86 (its InstanceNorms leave XNNPACK's int8 path).
`edgematte tune` settles it here: it times every variant of a family that is a drop-in
replacement for the profile's choice (same input size and orientation, and its card meets the
accuracy bar against float) and remembers the fastest in `cache_root()/tuned.json`, per device.
`models.resolve` then uses that choice whenever the profile in use is this device's own profile.

Run it once per device (a kiosk image: at build time, after `edgematte warmup`, on the board
itself; a seller's ARM box: once after install). A tuned choice never changes the input size
(the quality tier is the profile's decision) and never picks a variant whose card fails its bar.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgematte.userdirs import cache_root

TUNED_FILE = "tuned.json"
# Families `edgematte tune` times: the jobs' models (products, portraits, live preview, selfie).
FAMILIES = ("u2netp", "modnet", "selfie-landscape", "selfie-general")
# Another variant replaces the profile's only when its median invoke is at least this much faster:
# run-to-run noise on a shared 2-core machine is a few percent, and a tie keeps the profile's
# (usually smaller) file.
MARGIN = 0.05
FORMAT_VERSION = 1
MIN_TIMED_S = 0.3  # seconds of timed invokes per variant, at least (see time_cards)


def tuned_path() -> Path:
    """The tuning file: `cache_root()/tuned.json` (EDGEMATTE_CACHE_DIR moves it with the kernel cache)."""
    return cache_root() / TUNED_FILE


@lru_cache(maxsize=1)
def this_device() -> tuple[str, str]:
    """(device key, detected profile) of the machine at hand, from its /proc and device-tree facts
    (read once per process)."""
    from edgematte import hardware

    facts = hardware.read_facts()
    profile, _ = hardware.detect_profile()
    return hardware.device_key(facts), profile


@dataclass(frozen=True)
class Choice:
    """The tuned variant for one family on one device, and the measurement behind it."""

    family: str
    model: str  # the card name chosen
    default: str  # the profile's own choice it was measured against
    times_ms: dict[str, float]  # median invoke per candidate card
    threads: int
    tuned_at: str  # ISO date and time of the measurement

    def reason(self) -> str:
        """One line for `edgematte models`: what was measured and what it picked."""
        timed = ", ".join(f"{n} {ms:.0f} ms" for n, ms in sorted(self.times_ms.items(), key=lambda kv: kv[1]))
        return f"tuned {self.tuned_at[:16]} at {self.threads} threads: {timed}"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else {}


@lru_cache(maxsize=8)
def _device_choices(path: str, mtime_ns: int, key: str) -> dict[str, Any]:
    entry = _read(Path(path)).get("devices", {}).get(key, {})
    return entry if isinstance(entry, dict) else {}


def tuned_choice(family: str, profile: str) -> Choice | None:
    """The tuned variant of `family` for this device, if `edgematte tune` stored one for `profile`.

    Parameters
    ----------
    family
        A model family, e.g. "u2netp".
    profile
        The profile in use. A tuned choice applies only to the profile it was measured under, on
        the device it was measured on: `--profile pi4` on an x86 box ignores the x86 box's tuning.

    Returns
    -------
    The Choice, or None when nothing is tuned (no file, another device, another profile, or
    $EDGEMATTE_NO_TUNING set: the profile's own choice, e.g. for reproducible benchmarks).
    """
    if os.environ.get("EDGEMATTE_NO_TUNING"):
        return None
    path = tuned_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    key, _ = this_device()
    entry = _device_choices(str(path), mtime, key)
    if entry.get("profile") != profile:
        return None
    raw = entry.get("choices", {}).get(family)
    if not isinstance(raw, dict):
        return None
    try:
        return Choice(family, str(raw["model"]), str(raw["default"]), dict(raw["times_ms"]), int(entry["threads"]),
                      str(entry["tuned_at"]))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None


def _meets_bar(card: Any) -> bool:
    acc = card.raw.get("accuracy_vs_float", {})
    return bool(acc.get("passes")) or "float original" in str(acc.get("note", ""))


def candidates(family: str, profile: str) -> list[Any]:
    """The profile's own card for `family` first, then every drop-in replacement for it.

    A replacement is a card of the same family with the same input size and orientation whose
    card meets its accuracy bar against float (or is the float original). Portrait halves of a
    pair are left out: they follow their landscape card (models.orientation_pair).

    Parameters
    ----------
    family
        A model family.
    profile
        A profile name; its choice for the family comes first.
    """
    from edgematte.models import cards, resolve_untuned

    base = resolve_untuned(family, profile)
    orient = base.raw.get("input", {}).get("orientation")
    out = [base]
    for c in sorted(cards().values(), key=lambda c: c.name):
        if c.name == base.name or c.family != family or c.input_hw != base.input_hw:
            continue
        if c.raw.get("input", {}).get("orientation") != orient or not _meets_bar(c):
            continue
        out.append(c)
    return out


def time_cards(cards: list[Any], threads: int, runs: int = 7) -> dict[str, float]:
    """Median invoke time of each card, ms, in alternating rounds (so drift hits all alike).

    Parameters
    ----------
    cards
        The cards to time; each is loaded once (sha256 checked) and invoked once untimed.
    threads
        Interpreter threads, the profile's.
    runs
        Timed invokes per card, at least. Default 7: the median of 7 is steady to a few percent
        for models that take tens of milliseconds or more. A model faster than that gets more
        rounds, enough for ~MIN_TIMED_S of invokes each (up to 200): a 1 ms model's median of 7
        moved by 10% between two runs here.
    """
    from edgematte.engine import Engine
    from edgematte.models import verified_path

    engines = {c.name: Engine(verified_path(c), threads=threads) for c in cards}
    slowest = 0.0
    for e in engines.values():
        e.invoke_only()  # XNNPACK packs its weights on the first invoke
        t = time.perf_counter()
        e.invoke_only()
        slowest = max(slowest, time.perf_counter() - t)
    rounds = max(runs, min(200, math.ceil(MIN_TIMED_S / max(slowest, 1e-4))))
    times: dict[str, list[float]] = {n: [] for n in engines}
    for _ in range(rounds):
        for name, e in engines.items():
            t = time.perf_counter()
            e.invoke_only()
            times[name].append((time.perf_counter() - t) * 1000.0)
    return {n: round(statistics.median(v), 2) for n, v in times.items()}


def pick(times_ms: dict[str, float], default: str, margin: float = MARGIN) -> str:
    """The fastest card, unless it beats `default` by less than `margin` (then `default`).

    Parameters
    ----------
    times_ms
        Median invoke per card name (must include `default`).
    default
        The profile's own card.
    margin
        Relative speed-up a replacement needs. Default MARGIN (5%).
    """
    best = min(times_ms, key=times_ms.__getitem__)
    return best if times_ms[best] < times_ms[default] * (1.0 - margin) else default


def tune(
    profile: str | None = None,
    threads: int | None = None,
    runs: int = 7,
    families: tuple[str, ...] = FAMILIES,
    log: Callable[[str], None] | None = None,
) -> dict[str, Choice]:
    """Time the variants of each family on this device and store the choices in `tuned_path()`.

    Parameters
    ----------
    profile
        The profile to tune. Default None: this device's detected profile (the one `resolve`
        will apply the result to).
    threads
        Interpreter threads. Default None: the profile's.
    runs
        Timed invokes per variant (see `time_cards`).
    families
        Families to time. Default FAMILIES (every job's model).
    log
        Called with one line per family. Default None: silent.

    Returns
    -------
    The Choice per family (families with a single candidate are stored too: "nothing to choose").
    """
    from edgematte.files import write_atomic
    from edgematte.profiles import get_profile

    key, detected = this_device()
    prof = get_profile(profile or detected)
    n = threads or prof.threads
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    choices: dict[str, Choice] = {}
    for fam in families:
        cands = candidates(fam, prof.name)
        times = time_cards(cands, n, runs)
        chosen = pick(times, cands[0].name)
        choices[fam] = Choice(fam, chosen, cands[0].name, times, n, stamp)
        if log:
            log(f"{fam:17} {chosen:22} ({choices[fam].reason()})")
    path = tuned_path()
    data = _read(path) or {"version": FORMAT_VERSION, "devices": {}}
    data["devices"][key] = {
        "profile": prof.name,
        "threads": n,
        "tuned_at": stamp,
        "choices": {f: {"model": c.model, "default": c.default, "times_ms": c.times_ms} for f, c in choices.items()},
    }
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
    return choices
