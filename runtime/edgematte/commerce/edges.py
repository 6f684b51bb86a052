"""After removal: where is this cut-out likely wrong? Flags, with positions, and 100% crops.

- wide uncertain band: the alpha hesitates (0.1..0.9) over a wide strip: a blurred or
  low-contrast edge, or the model unsure where the product ends;
- holes: backdrop enclosed by the product (real for a mug handle, a mistake for a label);
- low contrast: the product's colour is close to the backdrop's along the outline;
- thin parts lost: the model saw something (probability >= 0.35) that the final alpha dropped,
  in thin shapes: straps, cables, stems.
Each flagged spot gets a 256 px crop at full resolution: photo | cut-out over a checkerboard.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgematte.commerce import measures
from edgematte.commerce.findings import CheckReport
from edgematte.encode import encode
from edgematte.files import write_atomic
from edgematte.settings import (
    BAND_WARN,
    EDGE_CROP_PX,
    EDGE_MAX_CROPS,
    HOLE_MIN,
    LOST_MIN,
    LOST_PROB,
    LOW_CONTRAST_DE,
    LOW_CONTRAST_SHARE,
    SOLID_LEVEL,
    SPOT_DENSITY,
    SPOT_WINDOW,
    UNCERTAIN,
)


def _checker(h: int, w: int, cell: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    c = (((yy // cell) + (xx // cell)) % 2).astype(np.uint8)
    return np.where(c[..., None] == 1, 204, 255).astype(np.uint8).repeat(3, axis=2)


def _crop_pair(rgb: np.ndarray, fg: np.ndarray, alpha: np.ndarray, cx: int, cy: int) -> np.ndarray:
    h, w = alpha.shape
    x0 = int(min(max(cx - EDGE_CROP_PX // 2, 0), max(0, w - EDGE_CROP_PX)))
    y0 = int(min(max(cy - EDGE_CROP_PX // 2, 0), max(0, h - EDGE_CROP_PX)))
    sl = (slice(y0, y0 + EDGE_CROP_PX), slice(x0, x0 + EDGE_CROP_PX))
    a = alpha[sl].astype(np.float32)[..., None] / 255.0
    cut = np.clip(fg[sl] * a + _checker(*alpha[sl].shape) * (1 - a) + 0.5, 0, 255).astype(np.uint8)
    gap = np.full((cut.shape[0], 4, 3), 255, np.uint8)
    return np.hstack([rgb[sl], gap, cut])


def edge_report(
    rgb: np.ndarray,
    fg: np.ndarray,
    alpha: np.ndarray,
    mask_lowres: np.ndarray | None,
    source: str = "",
    crops_dir: str | Path | None = None,
) -> CheckReport:
    """Where a cut-out is likely wrong: a wide soft band, enclosed holes, low contrast, thin parts lost.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the original photo.
    fg
        HxWx3 uint8, the cut-out's foreground colours (shown over a checkerboard in the crops).
    alpha
        HxW uint8, the cut-out's alpha.
    mask_lowres
        The model's probability map (any size, 0..1), or None: then the thin-parts check (what
        the model saw at >= settings.LOST_PROB but the alpha dropped) is skipped.
    source
        Name shown in the report and stem of the crop files. Default "": "<image>" (crops are
        named "image.spotN-...").
    crops_dir
        Folder for the 100% crops (photo | cut-out, each settings.EDGE_CROP_PX square at most)
        of the worst spots, at most settings.EDGE_MAX_CROPS of them. Default None: no files are written.

    Returns
    -------
    A CheckReport of kind "edges" (paths of the crops written in `crops`); it fails only when
    the cut-out is empty.
    """
    r = CheckReport(source or "<image>", "edges", None)
    h, w = alpha.shape
    diag = float(np.hypot(h, w))
    solid = (alpha >= SOLID_LEVEL).astype(np.uint8)
    area = int(solid.sum())
    if area == 0:
        r.add("product", "fail", "the cut-out is empty", "check the photo shows a product against a plain backdrop")
        return r
    spots: list[tuple[float, int, int, str]] = []  # (score, x, y, why)

    unsure = ((alpha > UNCERTAIN[0]) & (alpha < UNCERTAIN[1])).astype(np.uint8)
    contours, _ = cv2.findContours(solid, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    width = float(unsure.sum()) / max(perimeter, 1.0)
    level = "warn" if width > BAND_WARN * diag else "ok"
    msg = f"the soft edge is {width:.1f} px wide on average ({width / diag:.2%} of the diagonal)"
    r.add(
        "uncertain_band",
        level,
        msg,
        "a wide soft edge usually means a blurred or low-contrast outline: check the crops; reshoot sharper or "
        "against a contrasting backdrop",
        round(width, 2),
        round(BAND_WARN * diag, 1),
    )
    # The densest unsure spots are worth a look either way.
    k = max(9, int(diag * SPOT_WINDOW)) | 1
    density = cv2.boxFilter(unsure.astype(np.float32), -1, (k, k))
    for _ in range(2):
        y, x = np.unravel_index(int(np.argmax(density)), density.shape)
        if density[y, x] < SPOT_DENSITY:
            break
        spots.append((float(density[y, x]), int(x), int(y), "wide soft edge"))
        density[max(0, y - k) : y + k, max(0, x - k) : x + k] = 0

    # Holes: background components not touching the frame.
    n, _labels, stats, cents = cv2.connectedComponentsWithStats(1 - solid, connectivity=4)
    holes = []
    for i in range(1, n):
        x, y, bw, bh, a = stats[i]
        if x == 0 or y == 0 or x + bw == w or y + bh == h or a < HOLE_MIN * area:
            continue
        holes.append((int(a), int(cents[i][0]), int(cents[i][1])))
    if holes:
        holes.sort(reverse=True)
        r.add(
            "holes",
            "warn",
            f"{len(holes)} enclosed gap(s) in the product, largest {holes[0][0]} px at ({holes[0][1]}, {holes[0][2]})",
            "right for an opening (a handle, a ring), wrong for a label or a shiny patch: look at the crops",
            len(holes),
        )
        spots += [(a / area, x, y, "enclosed gap") for a, x, y in holes[:3]]
    else:
        r.add("holes", "ok", "no enclosed gaps")

    de = measures.boundary_contrast(rgb, alpha)
    if de.size:
        low = float((de < LOW_CONTRAST_DE).mean())
        r.add(
            "contrast",
            "warn" if low > LOW_CONTRAST_SHARE else "ok",
            f"{low:.0%} of the outline has product and backdrop colours closer than dE {LOW_CONTRAST_DE:.0f}",
            "edges there are guesses: reshoot against a contrasting backdrop",
            round(low, 3),
            LOW_CONTRAST_SHARE,
        )

    if mask_lowres is not None:
        prob = cv2.resize(mask_lowres.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        lost = ((prob >= LOST_PROB) & (alpha < 64)).astype(np.uint8)
        thick = cv2.morphologyEx(lost, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
        thin = lost & (1 - thick)
        n, _labels, stats, cents = cv2.connectedComponentsWithStats(thin, connectivity=8)
        parts = [
            (int(stats[i][4]), int(cents[i][0]), int(cents[i][1]))
            for i in range(1, n)
            if stats[i][4] >= LOST_MIN * area
        ]
        if parts:
            parts.sort(reverse=True)
            r.add(
                "thin_parts",
                "warn",
                f"{len(parts)} thin part(s) the model half-saw were dropped, largest "
                f"{parts[0][0]} px at ({parts[0][1]}, {parts[0][2]})",
                "straps, cables and stems: check the crops; a contrasting backdrop helps",
                len(parts),
            )
            spots += [(a / area * 10, x, y, "thin part dropped") for a, x, y in parts[:2]]
        else:
            r.add("thin_parts", "ok", "no thin parts dropped")

    if crops_dir is not None and spots:
        spots.sort(reverse=True)
        stem = Path(source).stem if source else "image"
        for i, (_, x, y, why) in enumerate(spots[:EDGE_MAX_CROPS]):
            tile = _crop_pair(rgb, fg, alpha, x, y)
            name = f"{stem}.spot{i + 1}-{why.replace(' ', '-')}.png"
            path = write_atomic(Path(crops_dir) / name, encode(tile, "PNG"))
            r.crops.append(str(path))
    return r
