"""Image measurements behind the checks: sharpness, noise, JPEG compression, edge contrast, light.

Each is a plain function of pixels, so a test can hold it to a property (blur a photo more and
the blur score rises; add noise of sigma s and the estimate is close to s).
"""

from __future__ import annotations

import cv2
import numpy as np

from edgematte.settings import SHARPNESS_SIDE, SOLID_LEVEL

# IJG's standard luminance quantisation table (ITU T.81 Annex K), in zigzag-free row order.
_STD_LUMA = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    np.float64,
)  # fmt: skip


def grey(rgb: np.ndarray) -> np.ndarray:
    """Luma (OpenCV's RGB2GRAY, BT.601 weights) of an HxWx3 uint8 RGB image, as HxW uint8.

    Parameters
    ----------
    rgb
        HxWx3 uint8.
    """
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _at_side(img: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    s = side / max(h, w)
    if abs(s - 1) < 1e-3:
        return img, 1.0
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp), s


def sharpness(rgb: np.ndarray, region: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grey image at a 1024 px long side: higher is sharper.

    Measured at settings.SHARPNESS_SIDE (1024 px) so the value does not depend on the photo's size.

    Parameters
    ----------
    rgb
        HxWx3 uint8.
    region
        HxW mask of where to measure (the product and its outline). Default None: the whole
        image. A plain backdrop has no detail and would read as blur; a region of under 1000 px
        at the measuring size falls back to the whole image.
    """
    g, _ = _at_side(grey(rgb), SHARPNESS_SIDE)
    lap = cv2.Laplacian(g.astype(np.float32), cv2.CV_32F, ksize=1)
    if region is not None:
        r = cv2.resize(region.astype(np.uint8), (g.shape[1], g.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        if r.sum() >= 1000:
            return float(lap[r].var())
    return float(lap.var())


def blur_score(rgb: np.ndarray, region: np.ndarray | None = None) -> float:
    """0 (crisp) .. 1 (featureless): 1 / (1 + sharpness / 100). Rises as the photo gets blurrier.

    Parameters
    ----------
    rgb, region
        As in `sharpness`.
    """
    return 1.0 / (1.0 + sharpness(rgb, region) / 100.0)


def noise_sigma(rgb: np.ndarray) -> float:
    """Noise standard deviation (0..255 scale) by Immerkaer's method (1996), edges excluded.

    The 3x3 mask [1 -2 1; -2 4 -2; 1 -2 1] cancels smooth image structure; what survives in
    flat areas is noise: sigma = sqrt(pi/2) / 6 * mean |I * M|. Pixels on the strongest 10% of
    edges are left out so texture does not count as noise. Measured at native resolution
    (downscaling would average the noise away), on the central 4 MP at most. Clipped pixels
    (grey <= 2 or >= 253) are left out too; fewer than 1000 usable pixels give 0.

    J. Immerkaer, "Fast Noise Variance Estimation", CVIU 64(2), 1996.

    Parameters
    ----------
    rgb
        HxWx3 uint8.
    """
    g = grey(rgb).astype(np.float32)
    h, w = g.shape
    if h * w > 4_000_000:
        s = np.sqrt(4_000_000 / (h * w))
        ch, cw = int(h * s), int(w * s)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        g = g[y0 : y0 + ch, x0 : x0 + cw]
    m = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    r = np.abs(cv2.filter2D(g, cv2.CV_32F, m, borderType=cv2.BORDER_REFLECT))[1:-1, 1:-1]
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0)[1:-1, 1:-1]
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1)[1:-1, 1:-1]
    mag = np.abs(gx) + np.abs(gy)
    flat = mag <= np.percentile(mag, 90)
    # Clipped pixels (pure white backdrop, black) carry no noise: leave them out too.
    g_in = g[1:-1, 1:-1]
    flat &= (g_in > 2) & (g_in < 253)
    if flat.sum() < 1000:
        return 0.0
    return float(np.sqrt(np.pi / 2) / 6.0 * r[flat].mean())


def jpeg_quality(quantization: dict | None) -> int | None:
    """Estimated IJG quality (1..100) from a JPEG's luminance table (Pillow's `im.quantization`).

    The quality whose scaled standard table (ITU T.81 Annex K, IJG scaling) is closest to the
    file's, compared as sorted values so the table's order does not matter.

    Parameters
    ----------
    quantization
        Pillow's dict of tables, table 0 the luminance one. None (not a JPEG) or a table that is
        not 8x8 gives None.
    """
    if not quantization or 0 not in quantization:
        return None
    table = np.asarray(quantization[0], np.float64)
    if table.size != 64:
        return None
    best, best_err = None, np.inf
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        std = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        err = np.abs(np.sort(std) - np.sort(table)).mean()  # order-free: tables may be zigzag
        if err < best_err:
            best, best_err = q, err
    return best


def blockiness(rgb: np.ndarray) -> float:
    """Mean step across 8x8 block boundaries / mean step elsewhere: ~1 clean, > 1.3 blocky JPEG.

    Parameters
    ----------
    rgb
        HxWx3 uint8, on the 8x8 grid of the file (not cropped or resized).
    """
    g = grey(rgb).astype(np.float32)
    dx = np.abs(np.diff(g, axis=1))
    dy = np.abs(np.diff(g, axis=0))
    at_x = np.zeros(dx.shape[1], bool)
    at_x[7::8] = True
    at_y = np.zeros(dy.shape[0], bool)
    at_y[7::8] = True
    edge = dx[:, at_x].mean() + dy[at_y].mean()
    inner = dx[:, ~at_x].mean() + dy[~at_y].mean()
    return float(edge / max(inner, 1e-6))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def boundary_contrast(rgb: np.ndarray, alpha: np.ndarray, band: int = 6) -> np.ndarray:
    """CIE76 colour difference (Euclidean distance in L*a*b*) across the product's outline.

    At each boundary pixel (alpha crossing 128, at a 1024 px long side) the mean Lab colour of
    the nearby solid product (alpha >= 230) is compared with that of the nearby clear backdrop
    (alpha <= 25); pixels with 3 or fewer of either near them are skipped. Low values are where a
    cut-out can fail.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo.
    alpha
        HxW uint8 matte of the photo.
    band
        Half-side of the square neighbourhood in px at the measuring size (a (2 band + 1)^2
        window). Default 6: 13 px at 1024 px, wide enough to reach past the soft edge to solid
        product and clear backdrop on both sides.

    Returns
    -------
    1-D float32 array, one dE per boundary pixel (empty when there is none).
    """
    small, _ = _at_side(rgb, SHARPNESS_SIDE)
    a = cv2.resize(alpha, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    lab = _lab(small)
    inside = (a >= 230).astype(np.float32)
    outside = (a <= 25).astype(np.float32)
    k = (2 * band + 1, 2 * band + 1)

    def local_mean(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wsum = cv2.boxFilter(mask, -1, k, normalize=False)
        csum = cv2.boxFilter(lab * mask[..., None], -1, k, normalize=False)
        return csum / np.maximum(wsum, 1e-6)[..., None], wsum

    mi, wi = local_mean(inside)
    mo, wo = local_mean(outside)
    solid = (a >= SOLID_LEVEL).astype(np.uint8)
    edge = (cv2.morphologyEx(solid, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0) & (wi > 3) & (wo > 3)
    return np.linalg.norm(mi[edge] - mo[edge], axis=1)


def backdrop_evenness(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[float, float] | None:
    """(mean L*, spread of L* = p95 - p5) over the backdrop, at 256 px: uneven light shows as spread.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo.
    alpha
        HxW uint8 matte: the backdrop is where it is <= 10. None: the whole frame.

    Returns
    -------
    (mean, spread) in L* units (0..100), or None when fewer than 200 backdrop pixels remain at
    256 px.
    """
    small, _ = _at_side(rgb, 256)
    lab = _lab(small)
    if alpha is not None:
        a = cv2.resize(alpha, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        bg = a <= 10
        if bg.sum() < 200:
            return None
        values = lab[..., 0][bg]
    else:
        values = lab[..., 0].ravel()
    return float(values.mean()), float(np.percentile(values, 95) - np.percentile(values, 5))
