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
    # Average the model's map with its prediction on the mirrored image: one more invoke for
    # +0.9 IoU points on grabcut50, +0.5 on ebay_synth_products, 6% lower edge error (measured).
    tta_flip: bool = True
    # Scale the map so its peak is 1 when the model is unsure everywhere (peak 0.3..1): a faint
    # but real object (a thin stem, a pale product) then crosses 0.5. rembg does a min-max version.
    normalise_peak: bool = True
    # Guided filter window radius at the working size. 2 px (~5 px windows) follows the photo's
    # edges; 4 and 8 measured worse on every set (they average across the edge).
    radius: int = 2
    # Regulariser (image values 0..1). Small eps lets alpha follow weak edges.
    eps: float = 1e-4
    # Contrast applied to the model's map before filtering: p' = (p - 0.5) * gain + 0.5.
    # u2netp leaves uncertain plateaus (0.3-0.7) inside objects; gain 4 makes them solid
    # without moving the 0.5 crossing, and the filter re-softens where the photo is soft.
    mask_gain: float = 4.0
    # Contrast on the final alpha (1 keeps the filter's soft alpha). 1.5 suits hard product
    # edges: edge-band error -7% on grabcut50/ebay for +0.0008 MAE on lemur fur. Matting
    # models (MODNet) use 1.0.
    alpha_gain: float = 1.5
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
# Matting models already produce a soft alpha: keep it as it is.
MATTING_REFINE = RefineSettings(tta_flip=False, normalise_peak=False, mask_gain=1.0, alpha_gain=1.0, eps=1e-3)


def refine_for(task_kind: str) -> RefineSettings:
    return MATTING_REFINE if task_kind == "matting" else DEFAULT_REFINE
