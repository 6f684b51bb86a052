"""The pre-upload checklist of a product photo (before removal): will this photo make a good
marketplace image? Each finding says what to do, in the words of a product-photography brief:
pure white backdrop, even light, product off the frame edges, 1000 px or more.

Hard rules (level "fail"): the preset's resolution minimums, a product touching the frame (it
would be cut off), no product found. The rest are warnings: they cost quality, not acceptance.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgematte.commerce import measures
from edgematte.commerce.canvas import canvas_size
from edgematte.commerce.findings import CheckReport
from edgematte.commerce.geometry import product_box
from edgematte.commerce.marketplace_presets import Preset
from edgematte.commerce.source_info import SourceInfo
from edgematte.settings import (
    BLOCKINESS_WARN,
    BLUR_WARN,
    GENERIC_MIN_LONG_SIDE,
    JPEG_QUALITY_WARN,
    LOW_CONTRAST_DE,
    LOW_CONTRAST_SHARE,
    NOISE_WARN,
    SOLID_LEVEL,
    UNEVEN_LIGHT,
    UPSCALE_WARN,
    WHITE_BACKDROP_L,
)


def _resolution(r: CheckReport, w: int, h: int, preset: Preset | None) -> None:
    long = max(w, h)
    if preset is None:
        if long < GENERIC_MIN_LONG_SIDE:
            r.add(
                "resolution",
                "warn",
                f"{w}x{h}: longest side {long} px",
                "shoot at 1000 px or more (1600+ for zoom)",
                long,
                GENERIC_MIN_LONG_SIDE,
            )
        else:
            r.add("resolution", "ok", f"{w}x{h}", value=long)
        return
    problems = preset.size_problems(w, h)
    if problems:
        r.add(
            "resolution",
            "fail",
            f"{w}x{h}: " + "; ".join(problems),
            f"{preset.title} needs more pixels: shoot at a higher resolution or closer",
            [w, h],
        )
    elif preset.recommended_long_side and long < preset.recommended_long_side:
        r.add(
            "resolution",
            "warn",
            f"{w}x{h}: below the recommended {preset.recommended_long_side} px",
            "zoom works best at the recommended size",
            [w, h],
            preset.recommended_long_side,
        )
    else:
        r.add("resolution", "ok", f"{w}x{h} meets {preset.title}", value=[w, h])


def photo_checklist(
    rgb: np.ndarray, alpha: np.ndarray, info: SourceInfo | None, preset: Preset | None, source: str = ""
) -> CheckReport:
    """The pre-upload checklist of a product photo: will it make a good marketplace image?

    Checks resolution, framing, the enlargement the preset's canvas would need, product/backdrop
    contrast, blur, noise, compression, colour space, bit depth and backdrop lighting.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the photo (sRGB).
    alpha
        HxW uint8, the model's matte of the photo: it tells product from backdrop.
    info
        What the file is (format, JPEG tables, colour profile, bit depth), or None for pixels
        without a file: the compression check then falls back to 8x8 blockiness and the colour
        space and bit depth checks are skipped.
    preset
        The marketplace to check against, or None: a generic 1000 px long side
        (settings.GENERIC_MIN_LONG_SIDE, where zoom starts on most marketplaces) and no
        canvas, backdrop or policy findings.
    source
        Name shown in the report. Default "": `info.name`, else "<image>".

    Returns
    -------
    A CheckReport of kind "photo"; it fails on a broken preset size rule, a product touching
    the frame or no product found.
    """
    h, w = rgb.shape[:2]
    r = CheckReport(source or (info.name if info else "<image>"), "photo", preset.name if preset else None)
    _resolution(r, w, h, preset)

    box = product_box(alpha)
    if box is None:
        r.add("product", "fail", "no product found", "check the photo shows one product against a plain backdrop")
        return r
    sides = box.touches(w, h, margin=1)
    if sides:
        r.add(
            "frame",
            "fail",
            f"the product touches the frame ({', '.join(sides)})",
            "leave space around the product: it is cut off and no canvas can bring it back",
            sides,
        )
    else:
        gap = min(box.x0, box.y0, w - box.x1, h - box.y1)
        r.add("frame", "ok", f"product clear of the frame (closest {gap} px)", value=gap)
    if preset is not None:
        cw, ch = canvas_size(preset, box, preset.fill_target)  # what compose would use
        enlarge = preset.fill_target * min(cw / box.width, ch / box.height)
        if enlarge > UPSCALE_WARN:
            r.add(
                "product_size",
                "warn",
                f"product is {box.width}x{box.height} px; {preset.name}'s canvas would enlarge it {enlarge:.1f}x",
                "fill more of the frame with the product, or use a higher-resolution camera",
                round(enlarge, 2),
                UPSCALE_WARN,
            )
        else:
            r.add("product_size", "ok", f"product {box.width}x{box.height} px (scale {enlarge:.2f}x on the canvas)")

    de = measures.boundary_contrast(rgb, alpha)
    if de.size:
        low = float((de < LOW_CONTRAST_DE).mean())
        level = "warn" if low > LOW_CONTRAST_SHARE else "ok"
        r.add(
            "contrast",
            level,
            f"product vs backdrop colour difference along the outline: median dE {np.median(de):.0f}, "
            f"{low:.0%} of it below {LOW_CONTRAST_DE:.0f}",
            "use a backdrop that contrasts with the product (white for dark products, grey or black for white "
            "or clear ones)",
            round(float(np.median(de)), 1),
            LOW_CONTRAST_DE,
        )

    region = cv2.dilate((alpha >= SOLID_LEVEL).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    blur = measures.blur_score(rgb, region)
    r.add(
        "blur",
        "warn" if blur > BLUR_WARN else "ok",
        f"blur score {blur:.2f} (0 crisp .. 1 featureless)",
        "the product looks soft: use a tripod, a faster shutter, or refocus on the product",
        round(blur, 3),
        BLUR_WARN,
    )
    noise = measures.noise_sigma(rgb)
    r.add(
        "noise",
        "warn" if noise > NOISE_WARN else "ok",
        f"noise sigma {noise:.1f} (0..255)",
        "grainy: add light (lower ISO) rather than brightening afterwards",
        round(noise, 2),
        NOISE_WARN,
    )

    q = measures.jpeg_quality(info.quantization) if info and info.format == "JPEG" else None
    if q is not None:
        r.add(
            "compression",
            "warn" if q < JPEG_QUALITY_WARN else "ok",
            f"JPEG quality ~{q}",
            "heavily compressed: export from the camera or editor at quality 90 or more",
            q,
            JPEG_QUALITY_WARN,
        )
    else:
        b = measures.blockiness(rgb)
        r.add(
            "compression",
            "warn" if b > BLOCKINESS_WARN else "ok",
            f"8x8 blockiness {b:.2f} (1 = none)",
            "the photo shows JPEG blocks: use the original file, not a re-saved copy",
            round(b, 3),
            BLOCKINESS_WARN,
        )

    if info is not None:
        if info.mode == "CMYK":
            r.add("colour_space", "warn", "CMYK file (converted to sRGB here)", "export RGB (sRGB) for the web")
        elif not info.is_srgb:
            r.add(
                "colour_space",
                "warn",
                f"colour profile '{info.icc}' (converted to sRGB here)",
                "export in sRGB: browsers and marketplaces show other profiles inconsistently",
                info.icc,
            )
        else:
            r.add("colour_space", "ok", "sRGB" if info.icc else "no profile (treated as sRGB)")
        if info.bit_depth > 8:
            r.add("bit_depth", "info", f"{info.bit_depth}-bit source (8-bit output)")

    even = measures.backdrop_evenness(rgb, alpha)
    if even is not None:
        mean_l, spread = even
        r.add(
            "lighting",
            "warn" if spread > UNEVEN_LIGHT else "ok",
            f"backdrop brightness L* {mean_l:.0f}, spread {spread:.0f} across the frame",
            "light the backdrop evenly (two lights or a light tent); shadows and gradients confuse the cut-out",
            round(spread, 1),
            UNEVEN_LIGHT,
        )
        if preset is not None and preset.white_background and mean_l < WHITE_BACKDROP_L:
            r.add(
                "backdrop",
                "info",
                f"backdrop is not white (L* {mean_l:.0f}); edgematte will replace it",
                value=round(mean_l, 1),
            )
    if preset is not None and preset.advice:
        r.add("policy", "info", preset.advice)
    return r
