"""A minimal ICC v2 matrix/TRC RGB profile, written by hand so tests need no profile files.

Used to embed an Adobe RGB (1998)-like profile (D50-adapted colorants, gamma 2.2) in a
test image and check that decoding converts it to sRGB.
"""

from __future__ import annotations

import struct

ADOBE_RGB_D50 = {
    "r": (0.60974, 0.31111, 0.01947),
    "g": (0.20528, 0.62567, 0.06087),
    "b": (0.14919, 0.06322, 0.74457),
}
D50 = (0.9642, 1.0, 0.8249)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(v: tuple[float, float, float]) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(c) for c in v)


def _curv(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _desc(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + struct.pack(">II", 0, 0) + b"\0\0\0" + b"\0" * 67


def rgb_profile(
    colorants: dict[str, tuple[float, float, float]] = ADOBE_RGB_D50,
    gamma: float = 2.2,
    name: str = "edgematte test Adobe-like RGB",
) -> bytes:
    tags = [
        (b"desc", _desc(name)),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(colorants["r"])),
        (b"gXYZ", _xyz(colorants["g"])),
        (b"bXYZ", _xyz(colorants["b"])),
        (b"rTRC", _curv(gamma)),
        (b"gTRC", _curv(gamma)),
        (b"bTRC", _curv(gamma)),
        (b"cprt", b"text" + b"\0" * 4 + b"public domain\0"),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    while len(data) % 4:
        data += b"\0"
    size = 128 + table_size + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 8
        + b"\0" * 8
        + struct.pack(">I", 0)
        + b"".join(_s15(c) for c in D50)
        + b"\0" * 4
        + b"\0" * 16
        + b"\0" * 28
    )
    assert len(header) == 128, len(header)
    return header + struct.pack(">I", len(tags)) + table + data
