"""Device profiles: which model variant, input size and threads a board uses, and its latency budgets.

The data lives in `data/profiles.toml` (one file, with the source of every budget).
`detect()` picks a profile for the machine at hand; `--profile` overrides it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgematte.errors import OptionError

DATA = Path(__file__).resolve().parent / "data" / "profiles.toml"


@dataclass(frozen=True)
class Profile:
    """One device profile from data/profiles.toml."""

    name: str  # the table's key, e.g. "pi5"
    description: str
    threads: int  # default interpreter threads on this board (2 when the file does not say)
    variant_order: tuple[str, ...]  # preferred model variants, best first (int8 first by default)
    models: dict[str, str] = field(default_factory=dict)  # family -> exact card name
    budgets_ms: dict[str, float] = field(default_factory=dict)  # job -> budget
    budget_source: dict[str, str] = field(default_factory=dict)  # job -> where its budget comes from
    looks: int = 2  # still-path looks for segmentation models: 2 = the second look (looks.py), 1 = one invoke
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the whole table, for keys without a field

    def model_for(self, family: str) -> str | None:
        """The exact card name this profile picks for a model family (None: use `variant_order`).

        Parameters
        ----------
        family
            A model family, e.g. "u2netp".
        """
        return self.models.get(family)


@lru_cache(maxsize=1)
def _load() -> dict[str, Profile]:
    data = tomllib.loads(DATA.read_text())
    out = {}
    for name, p in data["profiles"].items():
        out[name] = Profile(
            name=name,
            description=p.get("description", ""),
            threads=int(p.get("threads", 2)),
            variant_order=tuple(p.get("variant_order", ["int8", "mixed", "fp32", "fp16"])),
            models=dict(p.get("models", {})),
            budgets_ms={k: float(v) for k, v in p.get("budgets_ms", {}).items()},
            budget_source=dict(p.get("budget_source", {})),
            looks=int(p.get("looks", 2)),
            raw=p,
        )
    return out


def profiles() -> dict[str, Profile]:
    """Every profile in data/profiles.toml, by name (read once, then cached; a copy)."""
    return dict(_load())


def detect() -> str:
    """This machine's profile: $EDGEMATTE_PROFILE when set, else from its board and CPU
    (hardware.py: device tree, cpuinfo part numbers and flags)."""
    return detect_reason()[0]


def detect_reason() -> tuple[str, str]:
    """(profile, why): `detect()` and the one line that explains it (for `edgematte models`)."""
    from edgematte.hardware import detect_profile

    return detect_profile()


def get_profile(name: str | None = None) -> Profile:
    """A device profile by name.

    Parameters
    ----------
    name
        A profile name from data/profiles.toml. Default None: `detect()` (EDGEMATTE_PROFILE,
        else a guess for this machine).

    Raises
    ------
    OptionError
        When the name (given or detected) is not a profile.
    """
    table = _load()
    key = name or detect()
    if key not in table:
        raise OptionError(f"unknown device profile '{key}'; choose one of: {', '.join(sorted(table))}")
    return table[key]
