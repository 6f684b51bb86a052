"""Is a finished image acceptable to a marketplace? Checks the file itself against a preset:
size, aspect, format, file size, colour space, bit depth, animation, transparency, and for
white-background presets the pure-white border and backdrop and the product's fill ratio.

Without the cut-out's alpha the product is whatever is not the white backdrop connected to the
frame (whiteness.py), so a white product that merges with the backdrop reads smaller than it is.
"""

from __future__ import annotations

import numpy as np

from edgematte.commerce.findings import CheckReport
from edgematte.commerce.geometry import box_of
from edgematte.commerce.marketplace_presets import Preset
from edgematte.commerce.source_info import SourceInfo
from edgematte.commerce.whiteness import white_report
from edgematte.settings import ASPECT_TOLERANCE


def compliance_check(rgb: np.ndarray, alpha: np.ndarray | None, info: SourceInfo, preset: Preset) -> CheckReport:
    """Check a finished image file against a marketplace preset's rules.

    Parameters
    ----------
    rgb
        HxWx3 uint8, the decoded finished image.
    alpha
        HxW uint8, its alpha, or None when it has none. For a white-background preset the image
        is judged as a viewer sees it: composited over black, so transparency fails.
    info
        What the file is (`inspect_source`): format, byte size, colour profile, bit depth,
        frames.
    preset
        The rules to check.

    Returns
    -------
    A CheckReport of kind "compliance"; every broken preset rule is a "fail".
    """
    r = CheckReport(info.name, "compliance", preset.name)
    h, w = rgb.shape[:2]
    size_problems = preset.size_problems(w, h)
    if size_problems:
        r.add(
            "size",
            "fail",
            f"{w}x{h}: " + "; ".join(size_problems),
            f"recompose: edgematte compose IN --preset {preset.name}",
            [w, h],
        )
    else:
        r.add("size", "ok", f"{w}x{h}", value=[w, h])
    if preset.aspect is not None:
        ratio = w / h
        ok = abs(ratio / preset.aspect - 1) <= ASPECT_TOLERANCE
        r.add(
            "aspect",
            "ok" if ok else "fail",
            f"aspect {ratio:.3f} (needs {preset.aspect:g})",
            f"resize with: edgematte resize IN --preset {preset.name}",
            round(ratio, 4),
            preset.aspect,
        )

    fmt = info.format or "unknown"
    r.add(
        "format",
        "ok" if fmt in preset.formats else "fail",
        f"{fmt} file",
        f"save as {' or '.join(preset.formats)}",
        fmt,
        list(preset.formats),
    )
    if preset.max_bytes is not None and info.bytes is not None:
        ok = info.bytes <= preset.max_bytes
        msg = f"{info.bytes / 1e6:.2f} MB (limit {preset.max_bytes / 1e6:.0f} MB)"
        r.add(
            "file_size",
            "ok" if ok else "fail",
            msg,
            "re-encode at a lower JPEG quality (compose does this for you)",
            info.bytes,
            preset.max_bytes,
        )
    if preset.colour_space == "sRGB":
        if info.mode == "CMYK" or not info.is_srgb:
            r.add("colour_space", "fail", f"colour space {info.icc or info.mode}", "convert to sRGB", info.icc)
        else:
            r.add("colour_space", "ok", "sRGB" if info.icc else "no profile (sRGB assumed)")
    if preset.bit_depth is not None:
        ok = info.bit_depth == preset.bit_depth
        r.add(
            "bit_depth",
            "ok" if ok else "fail",
            f"{info.bit_depth}-bit",
            f"save as {preset.bit_depth}-bit",
            info.bit_depth,
            preset.bit_depth,
        )
    if not preset.animated and info.frames > 1:
        r.add("animation", "fail", f"animated ({info.frames} frames)", "upload a still image")
    if not preset.transparency:
        clear = 0.0 if alpha is None else float((alpha < 255).mean())
        r.add(
            "transparency",
            "ok" if clear == 0 else "fail",
            "no transparent pixels" if clear == 0 else f"{clear:.1%} of pixels are transparent",
            f"flatten onto white: edgematte compose IN --preset {preset.name}",
            round(clear, 4),
        )

    if preset.white_background:
        flat = rgb
        if alpha is not None:  # judge what a viewer sees: transparency shows as the page, not white
            a = alpha.astype(np.float32)[..., None] / 255.0
            flat = np.clip(rgb * a + 0.5, 0, 255).astype(np.uint8)  # over black: transparent fails
        wr = white_report(flat)
        r.add(
            "white_border",
            "ok" if wr.border_white == 1.0 else "fail",
            f"{wr.border_white:.1%} of the frame's outer pixels are RGB 255",
            "the background must be pure white (255,255,255) to the frame: recompose with edgematte compose",
            round(wr.border_white, 4),
            1.0,
        )
        ok = wr.backdrop_offwhite == 0
        msg = (
            "the backdrop is pure white (255)"
            if ok
            else f"{wr.backdrop_offwhite} backdrop pixels reaching the frame are off-white "
            f"(darkest {wr.background_min})"
        )
        r.add(
            "white_background",
            "ok" if ok else "fail",
            msg,
            "near-white is not white: replace the backdrop (edgematte compose) instead of brightening it",
            wr.backdrop_offwhite,
            0,
        )
        if wr.inner_offwhite:
            r.add(
                "near_white",
                "warn",
                f"{wr.inner_offwhite} near-white (not 255) pixels enclosed by the product "
                "area: a shadow or haze, or a light part of the product",
                "if it is a shadow or haze around the product, recompose from the original photo",
                wr.inner_offwhite,
            )
        box = box_of(wr.product)
        if box is None:
            r.add("fill", "fail", "no product visible on the white background", "check the image")
        else:
            fill = box.fill(w, h)
            if preset.fill_min is not None:
                ok = fill >= preset.fill_min - 1e-6
                r.add(
                    "fill",
                    "ok" if ok else "fail",
                    f"the product fills {fill:.0%} of the frame",
                    f"{preset.title} needs {preset.fill_min:.0%}: recompose with edgematte compose "
                    f"--preset {preset.name}",
                    round(fill, 4),
                    preset.fill_min,
                )
            else:
                r.add("fill", "info", f"the product fills {fill:.0%} of the frame", value=round(fill, 4))
            sides = box.touches(w, h)
            if sides:
                r.add(
                    "frame",
                    "fail",
                    f"the product touches the frame ({', '.join(sides)})",
                    "the product looks cut off: recompose with a margin",
                    sides,
                )
    if preset.no_borders_text:
        r.add("borders_text", "info", "no borders, text, logos or watermarks allowed (not checked automatically)")
    return r
