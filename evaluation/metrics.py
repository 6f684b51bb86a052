"""Mask and matte quality metrics: the one implementation tests, tools and reports share.

All take a predicted alpha and a ground truth as uint8 HxW (0..255); pixels whose GT
equals `ignore` (grabcut50's unlabelled band, 128) are left out of every metric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

EDGE_BAND_PX = 8  # "edge band": pixels within 8 px of the ground-truth boundary


@dataclass
class Scores:
    iou: float  # IoU of alpha > 127 against GT > 127
    mae: float  # mean |alpha - gt| in 0..1
    sad: float  # sum |alpha - gt| in 0..1 units, in thousands (the matting convention)
    edge_mae: float  # MAE over the edge band
    grad: float = float("nan")  # (only for soft GT) mean gradient-magnitude error, 0..1 units

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _valid(gt: np.ndarray, ignore: int | None) -> np.ndarray:
    return np.ones(gt.shape, bool) if ignore is None else gt != ignore


def iou(pred: np.ndarray, gt: np.ndarray, ignore: int | None = None) -> float:
    v = _valid(gt, ignore)
    p, g = (pred > 127) & v, (gt > 127) & v
    union = np.count_nonzero(p | g)
    return 1.0 if union == 0 else np.count_nonzero(p & g) / union


def edge_band(gt: np.ndarray, width: int = EDGE_BAND_PX) -> np.ndarray:
    """Pixels within `width` px (chessboard distance) of the GT boundary, on either side.

    Object = GT > 127 (grabcut's unlabelled 128 counts as object, and is then ignored by the
    metric). A square (2w+1)^2 dilation minus erosion: with it, rembg 2.0.86 u2netp measures
    0.1196 on grabcut50 and 0.1351 on ebay_synth_products, the reference figures (0.120, 0.135).
    """
    fg = (gt > 127).astype(np.uint8)
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    return cv2.dilate(fg, k) != cv2.erode(fg, k)


def score(pred: np.ndarray, gt: np.ndarray, ignore: int | None = None) -> Scores:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and GT {gt.shape} differ in size")
    v = _valid(gt, ignore)
    diff = np.abs(pred.astype(np.float32) - gt.astype(np.float32)) / 255.0
    band = edge_band(gt) & v
    return Scores(
        iou=iou(pred, gt, ignore),
        mae=float(diff[v].mean()) if v.any() else 0.0,
        sad=float(diff[v].sum() / 1000.0),
        edge_mae=float(diff[band].mean()) if band.any() else 0.0,
    )


def gradient_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean |grad(pred) - grad(gt)| (Sobel, 0..1 alpha): penalises blur and jaggies in soft mattes."""

    def grad(a: np.ndarray) -> np.ndarray:
        f = a.astype(np.float32) / 255.0
        return np.hypot(cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3))

    return float(np.abs(grad(pred) - grad(gt)).mean())


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(IoU of a > 0.5 vs b > 0.5, MAE) between two float maps in 0..1: quantised vs float model."""
    ma, mb = a > 0.5, b > 0.5
    union = np.count_nonzero(ma | mb)
    return (1.0 if union == 0 else np.count_nonzero(ma & mb) / union), float(np.abs(a - b).mean())


def premultiplied_error(fg: np.ndarray, alpha_gt: np.ndarray, ref_premultiplied: np.ndarray) -> float:
    """Mean |a F_est - a F_true| (0..1, over pixels with 0 < a < 1): foreground colour error where it shows.

    On lemur_synth_black the image itself is a F (background 0), so it is the exact reference.
    """
    a = alpha_gt.astype(np.float32)[..., None] / 255.0
    est = a * fg.astype(np.float32) / 255.0
    ref = ref_premultiplied.astype(np.float32) / 255.0
    m = (alpha_gt > 0) & (alpha_gt < 255)
    return float(np.abs(est - ref)[m].mean()) if m.any() else 0.0


def _local_mean(rgb: np.ndarray, weight: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean colour of the pixels where `weight` is 1 within a (2r+1)^2 box, and their count."""
    k = (2 * radius + 1, 2 * radius + 1)
    w = cv2.boxFilter(weight.astype(np.float32), -1, k, normalize=False)
    s = cv2.boxFilter(rgb.astype(np.float32) * weight[..., None], -1, k, normalize=False)
    return s / np.maximum(w, 1e-6)[..., None], w


def fringe_shift(
    photo: np.ndarray, cutout: np.ndarray, gt: np.ndarray, new_bg: tuple[int, int, int], radius: int = 15
) -> float:
    """Mean colour shift toward the old backdrop in the edge band after compositing on `new_bg`.

    A fringe is the photo's old background surviving in the soft band of a cut-out (a pink
    outline of a red backdrop around fur, once on white). Judged over the 8 px band around the
    ground truth's boundary, the same pixels whatever made the cut-out (comparable between
    tools). Per pixel: the old backdrop's colour B is the mean of the photo's background pixels
    (GT <= 127) within `radius` px past the band, the subject's colour F the mean of its object
    pixels eroded by the band; the ideal composite is gt F + (1 - gt) N, the cut-out's
    a F^ + (1 - a) N; the shift is their difference projected on the direction from the ideal
    toward B, in levels (0..255). Positive: the old backdrop shows. Where the cut-out is fully
    transparent it shows nothing of the old backdrop (a missed part of the subject is an alpha
    error, not a fringe): 0 there. Pixels where B is within 20 levels of the ideal (no direction
    to speak of), pixels with fewer than 9 background or subject pixels nearby, and grabcut's
    unlabelled 128 are left out. See `fringe_map` for the per-pixel values.

    Parameters
    ----------
    photo
        HxWx3 uint8, the original photo.
    cutout
        HxWx4 uint8, the cut-out (foreground colours and alpha) to judge.
    gt
        HxW uint8 ground-truth alpha (binary or soft; 128 = unlabelled).
    new_bg
        The RGB colour composited under the cut-out: white and black show different faults.
    radius
        How far the local backdrop and subject colours are gathered from. Default 15 px: local
        enough for a gradient backdrop, wide enough to reach past the band.
    """
    shift, judged = fringe_map(photo, cutout, gt, new_bg, radius)
    return float(shift[judged].mean()) if judged.any() else 0.0


def fringe_map(
    photo: np.ndarray, cutout: np.ndarray, gt: np.ndarray, new_bg: tuple[int, int, int], radius: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    """`fringe_shift` per pixel: (HxW float32 shift in levels, HxW bool pixels judged)."""
    band = edge_band(gt) & (gt != 128)
    obj = (gt > 127).astype(np.uint8)
    k = np.ones((2 * EDGE_BAND_PX + 1, 2 * EDGE_BAND_PX + 1), np.uint8)
    inner = cv2.erode(obj, k).astype(np.float32)
    outer = (1 - cv2.dilate(obj, k)).astype(np.float32)
    back, nb = _local_mean(photo, outer, radius + 2 * EDGE_BAND_PX)
    subj, ns = _local_mean(photo, inner, radius + 2 * EDGE_BAND_PX)
    n = np.array(new_bg, np.float32)
    g = gt.astype(np.float32)[..., None] / 255.0
    a = cutout[..., 3:4].astype(np.float32) / 255.0
    ideal = g * subj + (1 - g) * n
    got = a * cutout[..., :3].astype(np.float32) + (1 - a) * n
    toward = back - ideal
    length = np.linalg.norm(toward, axis=2)
    judged = band & (length > 20) & (nb >= 9) & (ns >= 9)  # both colours seen nearby
    shift = ((got - ideal) * toward).sum(axis=2) / np.maximum(length, 1e-6)
    return np.where(cutout[..., 3] > 0, shift, 0.0).astype(np.float32), judged
