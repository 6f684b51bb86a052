"""Every tunable number of the still-image pipeline, in one place, with the reason for its default.

Defaults were chosen by grid search over grabcut50, ebay_synth_products and lemur_cc0 with
the shipped INT8 u2netp (the grids and their numbers are in bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RefineSettings:
    # Long side of the guided filter's working image. 640 px holds ~4x the model's 320 px
    # detail, so the fitted coefficients localise edges; the full-size image then adds the rest.
    work_long_side: int = 640
    # Average the model's map with its prediction on the mirrored image: one more invoke (~+85 ms
    # here, +1 s on a Pi 4) for +0.9 IoU points on grabcut50, +0.5 on ebay_synth_products and
    # ~6% lower edge error (measured). Off by default: it halves the 1-2 MP speed. `--best` turns it on.
    tta_flip: bool = False
    # Scale the map so its peak is 1 when the model is unsure everywhere (peak 0.3..1): a faint
    # but real object (a thin stem, a pale product) then crosses 0.5. rembg does a min-max version.
    normalise_peak: bool = True
    # Guided filter window radius at the working size. 2 px (~5 px windows) follows the photo's
    # edges; 4 and 8 measured worse on every set (they average across the edge).
    radius: int = 2
    # Regulariser (image values 0..1). Small eps lets alpha follow weak edges.
    eps: float = 1e-4
    # Contrast on the final alpha where the model's transition is abrupt (a hard edge), none
    # where it ramps slowly (fur, hair): k = 1 + (alpha_gain - 1) * hardness. Hard product edges
    # become crisp (edge-band error -20% on grabcut50) while lemur_cc0 fur keeps several times more
    # fractional alpha than a global contrast of the same strength. 1 disables it (matting models).
    alpha_gain: float = 4.0
    # Hardness = range of the model's map in a window at the working size, mapped from
    # [hard_lo, hard_hi] to [0, 1]. A 9 px window spans an upsampled 320 px edge ramp.
    hard_window: int = 9
    hard_lo: float = 0.2
    hard_hi: float = 0.8
    # Estimate foreground colours in the soft band (no halo of the old background).
    foreground: bool = True
    # Blur-fusion radii as fractions of the working image's short side. The wide pass must
    # see pure foreground and pure background beside every band pixel (7%, ~30 px at 440 px,
    # the paper's setting scaled); the fine pass (~6 px at 480 px, the paper's r=6) removes
    # the wide pass's bias inside broad soft regions.
    fg_radius_fraction: float = 0.07
    fg_fine_radius_fraction: float = 0.0125

    def with_(self, **changes: object) -> RefineSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_REFINE = RefineSettings()
# The slower, better still: one more invoke on the mirrored image (`--best`).
BEST_REFINE = DEFAULT_REFINE.with_(tta_flip=True)
# Matting models already produce a soft alpha: keep it as it is.
MATTING_REFINE = RefineSettings(tta_flip=False, normalise_peak=False, alpha_gain=1.0, eps=1e-3)


def refine_for(task_kind: str) -> RefineSettings:
    return MATTING_REFINE if task_kind == "matting" else DEFAULT_REFINE
