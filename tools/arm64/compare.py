"""Compare the outputs of tools/arm64/check.sh: the emulated arm64 run against the x86 host's, with stated tolerances.

Two subcommands:

- ``images --ref DIR --test DIR``: every image under the reference dir must exist under the test dir with the same
  size, mode and ICC profile, and its pixels must be close (never bit-equal: LiteRT's int8 kernels and OpenCV's
  resize round differently on arm64, see ../shared/notes/aarch64.md). Prints a table; exit 1 when anything fails.
- ``versions --pyproject FILE --freeze LABEL=FILE ...``: each environment holds the tree's pinned dependencies.

Run with the host venv's python (NumPy and Pillow are edgematte dependencies).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")

# Tolerances. The alpha (cut-outs' A channel, masks) is what the pipeline decides; the rest follows from it.
# Measured x86 vs emulated arm64 with u2netp-int8 (aarch64.md): up to 29-31 levels on 0.3-0.4 % of the pixels.
# No bound on a single pixel's difference: LiteRT's int8 kernels differ between the two CPUs by up to 0.059 of the
# map on isolated pixels, and the still path has steep (continuous) gains where it decides (the edge contrast, up
# to 4x; despill's ramp, up to ~3x), so one pixel can move by 80+ levels (measured on the host by moving the map by
# that much: tests/test_kernel_noise.py). What must not happen is a patch of the cut-out changing: a wrong crop, a
# different model, a broken kernel. So: the largest connected patch of pixels that moved by more than
# ALPHA_GROSS_LEVELS must stay under ALPHA_GROSS_PATCH pixels (a 10 x 10 px patch).
ALPHA_GROSS_LEVELS = 32
ALPHA_GROSS_PATCH = 100
ALPHA_OVER_LEVELS = 8  # a pixel "differs" when its alpha moved by more than this many levels...
ALPHA_SHARE_OVER_MAX = 0.01  # ...and at most 1 % of the pixels may (measured 0.3-0.4 %)
ALPHA_MEAN_ABS_MAX = 0.5  # levels, over the whole image
# Colour of a cut-out, premultiplied by its alpha (the colour of fully transparent pixels does not matter).
CUTOUT_PSNR_MIN = 35.0  # dB
# A flattened composite (the marketplace JPEG): the encoder's quantisation amplifies small alpha differences.
RGB_PSNR_MIN = 35.0  # dB


@dataclass
class Row:
    """One compared file: its metrics and, when it fails, why."""

    name: str
    kind: str = ""
    alpha_max: int | None = None
    alpha_patch: int | None = None  # pixels in the largest connected patch that moved by > ALPHA_GROSS_LEVELS
    alpha_share: float | None = None
    alpha_mean: float | None = None
    psnr: float | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file is within every tolerance."""
        return not self.reasons


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 255) of two float arrays; inf when equal."""
    import numpy as np

    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def largest_patch(mask: np.ndarray) -> int:
    """Pixels in the largest 8-connected patch of a boolean mask (0 when it is empty)."""
    import cv2
    import numpy as np

    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return int(stats[1:, cv2.CC_STAT_AREA].max()) if n > 1 else 0


def compare_pair(name: str, ref: Path, test: Path) -> Row:
    """Compare one output image with its reference.

    Parameters
    ----------
    name
        The file's path below the output dirs (for the table).
    ref, test
        The reference (host) and test (emulated arm64) files.
    """
    import numpy as np
    from PIL import Image

    row = Row(name)
    if not test.exists():
        row.reasons.append("missing")
        return row
    with Image.open(ref) as ir, Image.open(test) as it:
        row.kind = f"{ir.mode} {ir.width}x{ir.height}"
        if (ir.mode, ir.size) != (it.mode, it.size):
            row.reasons.append(f"{it.mode} {it.width}x{it.height} vs {row.kind}")
            return row
        if bool(ir.info.get("icc_profile")) != bool(it.info.get("icc_profile")):
            row.reasons.append("ICC profile present on one side only")
        a = np.asarray(ir)
        b = np.asarray(it)
    if a.ndim == 2:  # a mask
        alpha_a, alpha_b, rgb_a, rgb_b = a, b, None, None
    elif a.shape[2] in (2, 4):  # LA / RGBA cut-out: alpha plus premultiplied colour
        alpha_a, alpha_b = a[..., -1], b[..., -1]
        rgb_a = a[..., :-1].astype(np.float64) * (alpha_a[..., None] / 255.0)
        rgb_b = b[..., :-1].astype(np.float64) * (alpha_b[..., None] / 255.0)
    else:  # flattened RGB
        alpha_a = alpha_b = None
        rgb_a, rgb_b = a.astype(np.float64), b.astype(np.float64)
    if alpha_a is not None and alpha_b is not None:
        d = np.abs(alpha_a.astype(np.int16) - alpha_b.astype(np.int16))
        row.alpha_max = int(d.max())
        row.alpha_patch = largest_patch(d > ALPHA_GROSS_LEVELS)
        row.alpha_share = float(np.mean(d > ALPHA_OVER_LEVELS))
        row.alpha_mean = float(d.mean())
        if row.alpha_patch > ALPHA_GROSS_PATCH:
            row.reasons.append(
                f"a patch of {row.alpha_patch} px moved by > {ALPHA_GROSS_LEVELS} levels (at most {ALPHA_GROSS_PATCH})"
            )
        if row.alpha_share > ALPHA_SHARE_OVER_MAX:
            row.reasons.append(f"alpha >{ALPHA_OVER_LEVELS} on {row.alpha_share:.2%} > {ALPHA_SHARE_OVER_MAX:.0%}")
        if row.alpha_mean > ALPHA_MEAN_ABS_MAX:
            row.reasons.append(f"alpha mean {row.alpha_mean:.3f} > {ALPHA_MEAN_ABS_MAX}")
    if rgb_a is not None and rgb_b is not None:
        row.psnr = psnr(rgb_a, rgb_b)
        floor = RGB_PSNR_MIN if alpha_a is None else CUTOUT_PSNR_MIN
        if row.psnr < floor:
            row.reasons.append(f"PSNR {row.psnr:.1f} dB < {floor} dB")
    return row


def _fmt(v: float | None, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "identical"
    return format(v, spec)


def images_table(rows: list[Row], ref_label: str, test_label: str) -> str:
    """The rows as a Markdown table, with the tolerances under it."""
    lines = [
        f"| file ({test_label} vs {ref_label}) | mode, size | alpha max | largest patch >{ALPHA_GROSS_LEVELS} "
        f"| alpha >{ALPHA_OVER_LEVELS} levels | alpha mean | colour PSNR dB | result |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        share = "-" if r.alpha_share is None else f"{100 * r.alpha_share:.3f} %"
        result = "ok" if r.ok else "FAIL: " + "; ".join(r.reasons)
        lines.append(
            f"| {r.name} | {r.kind or '-'} | {_fmt(r.alpha_max, 'd')} | {_fmt(r.alpha_patch, 'd')} px | {share}"
            f" | {_fmt(r.alpha_mean, '.4f')} | {_fmt(r.psnr, '.1f')} | {result} |"
        )
    lines += [
        "",
        f"Tolerances: same size, mode and ICC presence; the largest connected patch of pixels whose alpha moved by "
        f"> {ALPHA_GROSS_LEVELS} levels <= {ALPHA_GROSS_PATCH} px (single pixels may move further: the INT8 "
        f"kernels differ, see compare.py), share of pixels "
        f"differing by > {ALPHA_OVER_LEVELS} levels <= {ALPHA_SHARE_OVER_MAX:.0%}, mean abs diff <= "
        f"{ALPHA_MEAN_ABS_MAX} level; colour PSNR >= {CUTOUT_PSNR_MIN} dB (cut-outs, premultiplied) and >= "
        f"{RGB_PSNR_MIN} dB (flattened JPEG).",
    ]
    return "\n".join(lines)


def cmd_images(args: argparse.Namespace) -> int:
    """The `images` subcommand; returns the exit status."""
    ref, test = Path(args.ref), Path(args.test)
    names = sorted(str(p.relative_to(ref)) for p in ref.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not names:
        print(f"compare.py: no images under {ref}", file=sys.stderr)
        return 1
    rows = [compare_pair(n, ref / n, test / n) for n in names]
    extra = sorted(
        str(p.relative_to(test))
        for p in test.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and str(p.relative_to(test)) not in names
    )
    rows += [Row(n, reasons=[f"only under {args.test_label}"]) for n in extra]
    table = images_table(rows, args.ref_label, args.test_label)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0 if all(r.ok for r in rows) else 1


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(pyproject: Path) -> dict[str, str]:
    """The `name==version` runtime dependencies of a pyproject.toml, by normalised name."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pins = {}
    for d in deps:
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)", d)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def read_freeze(path: Path) -> dict[str, str]:
    """`name==version` lines (pip freeze, or importlib.metadata's list) by normalised name."""
    out = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            out[_norm(name)] = version.strip()
    return out


def cmd_versions(args: argparse.Namespace) -> int:
    """The `versions` subcommand; returns the exit status."""
    pins = read_pins(Path(args.pyproject))
    envs = []
    for spec in args.freeze:
        label, sep, path = spec.partition("=")
        if not sep:
            print(f"compare.py: --freeze takes LABEL=FILE, got {spec!r}", file=sys.stderr)
            return 2
        envs.append((label, read_freeze(Path(path))))
    lines = ["| package | pinned | " + " | ".join(label for label, _ in envs) + " |", "|---|---|" + "---|" * len(envs)]
    ok = True
    for name, version in sorted(pins.items()):
        cells = []
        for _, env in envs:
            have = env.get(name, "missing")
            good = have == version
            ok &= good
            cells.append(have if good else f"**{have}**")
        lines.append(f"| {name} | {version} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a subcommand."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("images", help="compare every image under --ref with the same file under --test")
    pi.add_argument("--ref", required=True, help="reference outputs (the x86 host)")
    pi.add_argument("--test", required=True, help="outputs to check (the emulated arm64 root)")
    pi.add_argument("--ref-label", default="ref")
    pi.add_argument("--test-label", default="test")
    pi.add_argument("--markdown", help="also write the table to this file")
    pv = sub.add_parser("versions", help="check that environments hold pyproject.toml's pinned dependencies")
    pv.add_argument("--pyproject", required=True)
    pv.add_argument("--freeze", action="append", required=True, help="LABEL=FILE of name==version lines")
    args = p.parse_args(argv)
    return cmd_images(args) if args.cmd == "images" else cmd_versions(args)


if __name__ == "__main__":
    sys.exit(main())
