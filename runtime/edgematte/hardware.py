"""Which device this is: the facts profiles.detect() decides from, read from /proc and the device tree.

Stdlib only and never raising: a file that is missing or odd is treated as absent. Every
function takes the filesystem root, so tests run it on recorded board trees
(tests/data/boards/<board>/proc/cpuinfo, .../proc/device-tree/model).

What decides, in order: $EDGEMATTE_PROFILE; Android; the board's name (device tree, or the
`Model` line Raspberry Pi OS adds to /proc/cpuinfo); the ARM CPU part numbers (an emulated
board has no device tree: Cortex-A72 cores alone are a Pi 4, Cortex-A76 alone a Pi 5,
Cortex-A78AE a Jetson Orin); any other aarch64 machine is `arm64-generic`; on x86, VNNI
(AVX-512 VNNI or AVX-VNNI: fast INT8) makes `desktop-x86`, and without it `x86-avx2`.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# ARM Ltd (implementer 0x41) CPU part numbers we name.
ARM_PARTS = {
    0xD03: "Cortex-A53",
    0xD05: "Cortex-A55",
    0xD08: "Cortex-A72",
    0xD0B: "Cortex-A76",
    0xD0C: "Neoverse-N1",
    0xD40: "Neoverse-V1",
    0xD41: "Cortex-A78",
    0xD42: "Cortex-A78AE",
    0xD4F: "Neoverse-V2",
}
MODEL_FILES = ("proc/device-tree/model", "sys/firmware/devicetree/base/model")


@dataclass(frozen=True)
class Facts:
    """What this machine says about itself."""

    arch: str  # platform.machine(), lower case: "x86_64", "aarch64"
    board: str  # device-tree model or cpuinfo `Model` line ("" when none)
    cpu_name: str  # x86 `model name` ("" on ARM)
    arm_parts: tuple[int, ...]  # `CPU part` of every ARM core (implementer 0x41), in order
    dotprod: bool  # ARM asimddp
    i8mm: bool  # ARM i8mm
    avx2: bool
    vnni: bool  # avx512_vnni or avx_vnni
    cores: int  # processors listed in cpuinfo (os.cpu_count() when none are)


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_bytes().decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return ""


def _values(cpuinfo: str, key: str) -> list[str]:
    out = []
    for line in cpuinfo.splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == key:
            out.append(v.strip())
    return out


def read_facts(root: Path = Path("/"), machine: str | None = None) -> Facts:
    """Read this machine's facts.

    Parameters
    ----------
    root
        The filesystem root to read /proc and /sys under. Default "/": this machine; tests pass
        a recorded board tree.
    machine
        The architecture. Default None: `platform.machine()` (tests pass the board's).
    """
    arch = (machine or platform.machine()).lower()
    cpuinfo = _read(root, "proc/cpuinfo")
    board = next((m for m in (_read(root, f) for f in MODEL_FILES) if m), "")
    if not board and arch in ("aarch64", "arm64"):  # Raspberry Pi OS: "Model : Raspberry Pi 4 Model B"
        board = next(iter(_values(cpuinfo, "model")), "")
    parts = []
    for impl, part in zip(_values(cpuinfo, "cpu implementer"), _values(cpuinfo, "cpu part"), strict=False):
        try:
            if int(impl, 16) == 0x41:
                parts.append(int(part, 16))
        except ValueError:
            continue
    features = set(" ".join(_values(cpuinfo, "features")).split())
    flags = set(" ".join(_values(cpuinfo, "flags")).split())
    cores = len(_values(cpuinfo, "processor")) or (os.cpu_count() or 1)
    return Facts(
        arch=arch,
        board=board,
        cpu_name=next(iter(_values(cpuinfo, "model name")), ""),
        arm_parts=tuple(parts),
        dotprod="asimddp" in features,
        i8mm="i8mm" in features,
        avx2="avx2" in flags,
        vnni=bool({"avx512_vnni", "avx_vnni"} & flags),
        cores=cores,
    )


def profile_for(facts: Facts, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The profile for these facts and one line saying why.

    Parameters
    ----------
    facts
        From `read_facts`.
    environ
        The environment. Default None: os.environ ($EDGEMATTE_PROFILE wins; ANDROID_ROOT means
        an Android phone).
    """
    env = os.environ if environ is None else environ
    if env.get("EDGEMATTE_PROFILE"):
        return env["EDGEMATTE_PROFILE"], "EDGEMATTE_PROFILE"
    if facts.arch in ("x86_64", "amd64", "i686", "i386", "x86"):
        name = facts.cpu_name or "x86"
        if facts.vnni:
            return "desktop-x86", f"{name}: VNNI (fast INT8)"
        return "x86-avx2", f"{name}: no VNNI" + ("" if facts.avx2 else ", no AVX2")
    if "ANDROID_ROOT" in env:
        return "android-arm64", "ANDROID_ROOT is set"
    board = facts.board.lower()
    if re.search(r"raspberry pi (5|compute module 5|500)", board):
        return "pi5", f"board: {facts.board}"
    if re.search(r"raspberry pi (4|compute module 4|400)", board):
        return "pi4", f"board: {facts.board}"
    if "jetson" in board or "orin" in board:
        return "jetson-orin-nano", f"board: {facts.board}"
    kinds = sorted(set(facts.arm_parts))
    named = "+".join(ARM_PARTS.get(p, hex(p)) for p in kinds) or "unknown cores"
    if not board and kinds == [0xD08]:
        return "pi4", f"cpuinfo: {named} cores only, no board name (a Pi 4's CPU)"
    if not board and kinds == [0xD0B]:
        return "pi5", f"cpuinfo: {named} cores only, no board name (a Pi 5's CPU)"
    if 0xD42 in kinds:
        return "jetson-orin-nano", f"cpuinfo: {named} (Jetson Orin's CPU)"
    return "arm64-generic", f"{facts.board or 'no board name'}; {named}"


def detect_profile(
    root: Path = Path("/"), machine: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(profile, reason) for the machine under `root` (see `read_facts` and `profile_for`)."""
    return profile_for(read_facts(root, machine), environ)


def device_key(facts: Facts) -> str:
    """A short stable name for this kind of device, for per-device caches (tuning.py).

    Two identical boards give the same key; a different board, CPU or INT8 feature set gives
    another. Parameters: facts, from `read_facts`.
    """
    profile, _ = profile_for(facts, {})
    cpu = facts.cpu_name or "+".join(ARM_PARTS.get(p, hex(p)) for p in sorted(set(facts.arm_parts)))
    feats = [n for n, on in (("dotprod", facts.dotprod), ("i8mm", facts.i8mm), ("vnni", facts.vnni)) if on]
    raw = "-".join(x for x in (profile, facts.board, cpu, *feats, f"{facts.cores}c") if x)
    return re.sub(r"[^a-z0-9.+]+", "-", raw.lower()).strip("-")
