"""Print the CPU features the (emulated) kernel advertises in AT_HWCAP, by their /proc/cpuinfo names.

Run inside the arm64 root by tools/arm64/check.sh (stdlib only): it shows what qemu's CPU model really offers, to
set beside the Features line of the fake cpuinfo bound over /proc/cpuinfo.
"""

from __future__ import annotations

import ctypes
import platform

AT_HWCAP = 16
# Linux arch/arm64/include/uapi/asm/hwcap.h, bit by bit.
HWCAP_NAMES = (
    "fp",
    "asimd",
    "evtstrm",
    "aes",
    "pmull",
    "sha1",
    "sha2",
    "crc32",
    "atomics",
    "fphp",
    "asimdhp",
    "cpuid",
    "asimdrdm",
    "jscvt",
    "fcma",
    "lrcpc",
    "dcpop",
    "sha3",
    "sm3",
    "sm4",
    "asimddp",
    "sha512",
    "sve",
    "asimdfhm",
    "dit",
    "uscat",
    "ilrcpc",
    "flagm",
    "ssbs",
    "sb",
    "paca",
    "pacg",
)


def hwcaps() -> list[str]:
    """The feature names set in AT_HWCAP (empty off aarch64)."""
    if platform.machine() != "aarch64":
        return []
    libc = ctypes.CDLL(None)
    libc.getauxval.restype = ctypes.c_ulong
    libc.getauxval.argtypes = [ctypes.c_ulong]
    bits = libc.getauxval(AT_HWCAP)
    return [name for i, name in enumerate(HWCAP_NAMES) if bits >> i & 1]


if __name__ == "__main__":
    print(" ".join(hwcaps()))
