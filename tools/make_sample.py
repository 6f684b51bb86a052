"""Render the bundled sample photo (runtime/edgematte/data/sample.jpg): `python -m tools.make_sample`.

A studio-style product shot made from scratch (so we own it): a glazed ceramic mug
with a handle on a light sweep, soft key light, a contact shadow and sensor noise.
It exercises what product cut-outs need: a hole (inside the handle), a soft shadow
that must not be cut out as product, and a rim highlight close to the backdrop colour.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "runtime" / "edgematte" / "data" / "sample.jpg"


def render(width: int = 960, height: int = 720, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    # Backdrop: a sweep, lighter at the top, slightly warm.
    t = y / height
    bg = np.dstack([226 - 24 * t, 228 - 26 * t, 232 - 32 * t])
    bg += 6 * np.exp(-((x - width * 0.3) ** 2 + (y - height * 0.2) ** 2) / (2 * (width * 0.35) ** 2))[..., None]

    cx, top, bottom, rad = width * 0.47, height * 0.24, height * 0.80, width * 0.17
    body = (np.abs(x - cx) <= rad) & (y >= top) & (y <= bottom)
    # Elliptical bottom and top rims.
    ell_b = ((x - cx) / rad) ** 2 + ((y - bottom) / (rad * 0.22)) ** 2 <= 1
    ell_t = ((x - cx) / rad) ** 2 + ((y - top) / (rad * 0.22)) ** 2 <= 1
    mug = body | ell_b | ell_t
    # Handle: a thick ring on the right with a hole.
    hx, hy = cx + rad + width * 0.045, (top + bottom) / 2
    rr = np.sqrt(((x - hx) / (width * 0.075)) ** 2 + ((y - hy) / (height * 0.15)) ** 2)
    handle = (rr <= 1.0) & (rr >= 0.62) & (x > cx + rad * 0.8)
    obj = mug | handle

    # Contact shadow under the mug, on the backdrop only.
    sh = np.exp(-(((x - cx - 18) / (rad * 1.25)) ** 2 + ((y - bottom - 8) / (rad * 0.16)) ** 2))
    img = bg * (1 - 0.38 * sh[..., None])

    # Glaze colour with cylindrical shading, a specular stripe, and a darker inside at the rim.
    nx = np.clip((x - cx) / rad, -1, 1)
    lambert = 0.35 + 0.65 * np.clip(np.sqrt(1 - nx**2) * 0.8 - nx * 0.45, 0, 1)
    glaze = np.array([176, 38, 46], np.float32)
    col = glaze[None, None, :] * lambert[..., None]
    spec = np.exp(-(((nx + 0.38) / 0.07) ** 2)) * 150
    col = col + spec[..., None]
    inside = ell_t & (((x - cx) / (rad * 0.93)) ** 2 + ((y - top) / (rad * 0.19)) ** 2 <= 1)
    col[inside] = glaze * 0.32
    hl = 0.45 + 0.4 * np.clip(1 - rr, 0, 1)
    col[handle & ~mug] = glaze[None, :] * hl[handle & ~mug][:, None]
    img = np.where(obj[..., None], col, img)

    # Anti-alias the silhouette (render at 1x, soften edges by a 3x3 blur inside a thin band only).
    soft = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.8)
    edge = cv2.dilate(obj.astype(np.uint8), np.ones((3, 3), np.uint8)) != cv2.erode(
        obj.astype(np.uint8), np.ones((3, 3), np.uint8)
    )
    img = np.where(edge[..., None], soft, img)
    img += rng.normal(0, 2.2, img.shape)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    rgb = render()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
