"""Make the kiosk page's shipped backgrounds, procedurally (no photo, no licence to track).

This script made runtime/edgematte/serve/kiosk/backgrounds/*.jpg; run it again to remake them
(the output is deterministic for a given NumPy and Pillow):

    python -m tools.make_kiosk_backgrounds            # writes into the package
    python -m tools.make_kiosk_backgrounds -o /tmp/bg  # somewhere else

- studio.jpg: a soft grey studio sweep, a light spot behind the subject falling to a vignette.
- bokeh.jpg: warm out-of-focus lights (blurred discs of amber and rose) over a dark warm gradient.
- blue.jpg: a cool blue diagonal gradient with a faint glow.

1280x720 (16:9, the shape of most cameras; the page and the server scale a background to cover),
JPEG quality 85, each under 150 KB. A little noise (sigma 1 level) dithers the gradients so that
JPEG shows no banding.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SIZE = (1280, 720)
QUALITY = 85
MAX_BYTES = 150_000
OUT = Path(__file__).resolve().parents[1] / "runtime" / "edgematte" / "serve" / "kiosk" / "backgrounds"


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """x, y in 0..1 over the frame (float32, HxW)."""
    w, h = SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x / (w - 1), y / (h - 1)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: np.ndarray) -> np.ndarray:
    """Colour a where t = 0, b where t = 1 (HxWx3 float32)."""
    a_, b_ = np.array(a, np.float32), np.array(b, np.float32)
    return a_ + (b_ - a_) * np.clip(t, 0, 1)[..., None]


def _finish(rgb: np.ndarray, rng: np.random.Generator) -> Image.Image:
    rgb = rgb + rng.normal(0.0, 1.0, rgb.shape).astype(np.float32)  # dither against banding
    return Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8), "RGB")


def studio(rng: np.random.Generator) -> Image.Image:
    x, y = _grid()
    # A light spot a little above the centre, as a key light on a paper sweep.
    r = np.sqrt(((x - 0.5) * 1.6) ** 2 + ((y - 0.42) * 1.1) ** 2)
    rgb = _mix((236, 236, 234), (120, 122, 126), r / 0.95)
    floor = np.clip((y - 0.78) / 0.22, 0, 1) ** 1.5  # the sweep's floor a little darker
    return _finish(rgb * (1 - 0.12 * floor[..., None]), rng)


def bokeh(rng: np.random.Generator) -> Image.Image:
    x, y = _grid()
    base = _mix((58, 30, 22), (18, 10, 12), np.sqrt((x - 0.3) ** 2 + (y - 0.3) ** 2) / 1.0)
    w, h = SIZE
    lights = np.zeros((h, w, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    palette = [(255, 190, 90), (255, 150, 70), (255, 210, 150), (240, 120, 110), (255, 230, 190)]
    for _ in range(46):
        cx, cy = rng.uniform(-40, w + 40), rng.uniform(-40, h * 0.95)
        radius = rng.uniform(24, 80)
        colour = np.array(palette[rng.integers(len(palette))], np.float32)
        strength = rng.uniform(0.18, 0.55)
        disc = np.clip(radius - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2), 0, 1.5) / 1.5  # a soft-edged disc
        lights += disc[..., None] * colour * strength
    blurred = Image.fromarray(np.clip(lights, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(9))
    rgb = base + np.asarray(blurred, np.float32) * (1 - base / 255)  # screen blend
    return _finish(rgb, rng)


def blue(rng: np.random.Generator) -> Image.Image:
    x, y = _grid()
    rgb = _mix((94, 170, 230), (12, 36, 92), 0.65 * x + 0.55 * y - 0.1)
    glow = np.exp(-(((x - 0.72) / 0.35) ** 2 + ((y - 0.3) / 0.3) ** 2))
    rgb = rgb + glow[..., None] * np.array([30, 40, 45], np.float32)
    return _finish(rgb, rng)


MAKERS = {"studio": studio, "bokeh": bokeh, "blue": blue}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (name, make) in enumerate(MAKERS.items()):
        buf = io.BytesIO()
        make(np.random.default_rng(20260 + i)).save(buf, "JPEG", quality=QUALITY, optimize=True)
        data = buf.getvalue()
        if len(data) >= MAX_BYTES:
            raise SystemExit(f"{name}.jpg is {len(data)} bytes, over {MAX_BYTES}: make it smoother")
        (args.out / f"{name}.jpg").write_bytes(data)
        print(f"{args.out / f'{name}.jpg'}: {SIZE[0]}x{SIZE[1]}, {len(data) // 1000} KB")


if __name__ == "__main__":
    main()
