"""A one-line description of the machine a figure was measured on: CPU model, cores, OS."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo_values(text: str, key: str) -> list[str]:
    """The distinct values of `key` lines in /proc/cpuinfo text, in order of appearance."""
    out: list[str] = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        value = value.strip()
        if sep and name.strip() == key and value and value not in out:
            out.append(value)
    return out


def cpu_from_cpuinfo(text: str) -> str | None:
    """The CPU as /proc/cpuinfo names it: "model name" (x86), else "Hardware"/"CPU part" (aarch64), else None."""
    if models := _cpuinfo_values(text, "model name"):
        return models[0]
    hardware = _cpuinfo_values(text, "Hardware")
    parts = _cpuinfo_values(text, "CPU part")  # several on big.LITTLE boards
    part = f"CPU part {'/'.join(parts)}" if parts else ""
    if hardware and part:
        return f"{hardware[0]} ({part})"
    return hardware[0] if hardware else part or None


def machine() -> str:
    """E.g. "AMD EPYC 7B13, 2 cores, Linux x86_64"."""
    cpu = None
    if platform.system() == "Linux":
        with contextlib.suppress(OSError):
            cpu = cpu_from_cpuinfo(CPUINFO.read_text())
        cpu = cpu or platform.machine()
    else:
        cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"
