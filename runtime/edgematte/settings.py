"""Every tunable number of edgematte, in one place, with the reason for its default.

The still path's defaults were chosen by grid search over grabcut50, ebay_synth_products and
lemur_cc0 with the shipped INT8 u2netp (the grids and their numbers are in bench/RESULTS.md).
Settings a caller passes per call are frozen dataclasses, one per stage, so a stage receives
exactly its own numbers: `InferSettings` (prepare + infer), `RefineSettings` (guided filter),
`ForegroundSettings` (blur fusion), gathered in `StillSettings` for a photo and `LiveSettings`
for camera frames. Numbers nobody passes per call (encoder qualities, check thresholds) are
module constants below, grouped by the stage or verb that reads them.

This module imports nothing heavy: the CLI's help and `import edgematte` read it for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from edgematte.errors import OptionError

# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

# 100 MP: above the largest phone and most DSLR sensors (24-61 MP), far below what would exhaust
# a 4 GB board (a 100 MP RGB image is 300 MB before any processing). Checked per call from the
# file's header, before any pixel is decoded; Pillow's own process-wide guard is left as the
# host application set it.
MAX_PIXELS = 100_000_000

# --------------------------------------------------------------------------------------------
# The still path, stage by stage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InferSettings:
    """The prepare and infer stages: how the working image is fed to the model and read back.

    Parameters
    ----------
    tta_flip
        Average the model's map with its prediction on the mirrored image. Default False: one
        more invoke (~+85 ms on a Xeon, +1 s on a Pi 4) for +0.9 IoU points on grabcut50, +0.5 on
        ebay_synth_products and ~6% lower edge error (measured); it halves the 1-2 MP speed, so
        only `--best` turns it on.
    normalise_peak
        Scale the map so its peak is 1 when the model is unsure everywhere (peak in
        [peak_floor, 1)): a faint but real object (a thin stem, a pale product) then crosses 0.5.
        Default True for segmentation models; rembg does a min-max version. Off for matting
        models, whose output is already an alpha.
    peak_floor
        Below this peak the model sees no object at all: the map is left as it is rather than
        noise amplified. Default 0.25 rather than 0.3: grabcut50's scissors peak at 0.285 and are
        a real object (measured: every eval set unchanged except grabcut50, IoU 0.8044 -> 0.8047,
        edge MAE 0.0960 -> 0.0957).
    second_look
        Run the model again on the subject's crop and merge the two maps by confidence
        (looks.py). Default False here, True in the still defaults of segmentation models
        (`still_settings_for`): one more invoke on ~60-90% of photos for, measured on the u2netp
        INT8 path, +1.3 IoU points on grabcut50 and +0.4 on ebay_synth_products with 8-9% lower
        edge-band error (bench.quality_report). Off for matting models (unmeasured) and frames.
    second_look_pad
        The crop around the first look's subject box, as a fraction of the box on every side.
        Default 0.15: 0.08 and 0.25 measured slightly worse on both grabcut50 and ebay_synth; the
        model needs some background around the outline to see it as one.
    second_look_max_area
        No second look when the padded crop covers more than this share of the frame: the model
        would see nearly the same picture. Default 0.8 (crops of at most 80% of the frame are
        at least 1.25x closer); 0.5-0.7 took fewer second looks but lost IoU on ebay_synth.
    wide_look
        When the first look finds (almost) no subject, look at the whole photo again at a coarser
        input (`wide_look_model`) and keep that map when it finds more subject (looks.py). Default
        False here, True with the second look in the still defaults of segmentation models. A
        subject that is busy with its own texture or lies open against a busy backdrop (grabcut50's
        open scissors on a patterned cloth) can come back as nothing at 320 x 320 while the same
        model sees it at 160 x 160, where each of its units covers twice the scene. Measured
        (bench.quality_report's rows, the same INT8 build): grabcut50 IoU +1.5 points, coco
        +0.7, the other sets unchanged; of 224 photos 3 changed: the scissors (IoU 0 -> 0.74) and
        a COCO teddy bear (0.01 -> 0.69) found, a COCO umbrella that was not found either way
        (0.0003 -> 0). The extra invoke costs a quarter of a 320 x 320 one, on the few photos
        that take it.
    wide_look_below
        The first look's subject share (map > 0.5, as a fraction of the frame) below which the
        wide look runs. Default 0.03: the photos it rescued had 0.7% or less; 0.01 and 0.05
        measured the same on grabcut50, ebay_synth_products and coco_mval_products, 0.08 took the
        coarse map where the 320 one was right (ebay_synth_products -1.3 points).
    wide_look_most
        The wide map is kept only when it calls at most this share of the frame subject. Default
        0.9: a map taking in (nearly) the whole photo found a backdrop, not a subject (grabcut50's
        banana on a rose print came back as the whole print at 160 x 160, all of the frame); a
        cut-out of everything is no better than none. The COCO teddy bear it rescues is a
        close-up at 78% of the frame (0.6 lost it; 0.8 and 0.95 measured the same as 0.9).
    wide_look_model
        The coarse model, used only when it is the same family as the photo's model (the same
        weights at another input size). Default 'u2netp-int8-small' (160 x 160, shipped for the
        Pi 4). A 256 x 256 build (not shipped: one more 1.3 MB model) also found the banana on
        roses with the previous INT8 builds.
    """

    tta_flip: bool = False
    normalise_peak: bool = True
    peak_floor: float = 0.25
    second_look: bool = False
    second_look_pad: float = 0.15
    second_look_max_area: float = 0.8
    wide_look: bool = False
    wide_look_below: float = 0.03
    wide_look_most: float = 0.9
    wide_look_model: str = "u2netp-int8-small"


@dataclass(frozen=True)
class RefineSettings:
    """The refine stage: the fast colour guided filter (He & Sun 2015) that carries the model's
    low-resolution map to the photo's edges, and the contrast applied where those edges are hard.

    Parameters
    ----------
    radius
        Window radius at the working size. Default 2 px (~5 px windows) follows the photo's
        edges; 4 and 8 measured worse on every set (they average across the edge).
    eps
        Regulariser, image values in 0..1 (He et al. 2013, eq. 14). Default 1e-4: a small eps
        lets the alpha follow weak edges. Matting models use 1e-3 (their alpha is already soft).
    alpha_gain
        Contrast on the final alpha where the model's transition is abrupt (a hard edge), none
        where it ramps slowly (fur, hair): k = 1 + (alpha_gain - 1) * hardness. Default 4: hard
        product edges become crisp (edge-band error -20% on grabcut50) while lemur_cc0 fur keeps
        several times more fractional alpha than a global contrast of the same strength. 1
        disables it (matting models, live frames).
    hard_window, hard_lo, hard_hi
        Hardness = the range of the model's map in a `hard_window` px window at the working
        size, mapped from [hard_lo, hard_hi] to [0, 1]. Default 9 px spans an upsampled 320 px
        edge ramp; 0.2 / 0.8 separate a ramp (fur) from a step (a product's outline).
    """

    radius: int = 2
    eps: float = 1e-4
    alpha_gain: float = 4.0
    hard_window: int = 9
    hard_lo: float = 0.2
    hard_hi: float = 0.8


@dataclass(frozen=True)
class ForegroundSettings:
    """The foreground stage: blur-fusion foreground colours (Forte & Pitie, ICIP 2021), two passes.

    Parameters
    ----------
    enabled
        Estimate foreground colours in the soft band, so no halo of the old background survives.
        Default True; off, the cut-out keeps the photo's own colours at its edges.
    scale
        Size of the images the local means are computed at, as a fraction of the working size.
        Default 0.5: the means are smooth (measured: the same colour error at 1/4).
    radius_fraction
        Radius of the wide pass as a fraction of the short side. Default 0.07 (~30 px at 440 px,
        the paper's setting scaled): it must see pure foreground and pure background beside
        every band pixel.
    fine_radius_fraction
        Radius of the fine pass. Default 0.0125 (~6 px at 480 px, the paper's r=6): removes the
        wide pass's bias inside broad soft regions (on lemur_cc0 the premultiplied colour error
        drops from 0.0069 to 0.0050).
    eps
        Added to the alpha-weighted box sums, so a window with no foreground (or no background)
        still gives a finite mean. Default 1e-4: far below one pixel's weight (1 / window size).
    despill
        After the cut-out, soft pixels whose colour lies at the local backdrop's end of the line
        between the local subject and backdrop colours lose the alpha the filter spilt onto them
        (despill.py). Default True: measured (bench.quality_report, fringe section) the fringe on
        white drops on grabcut50 and ebay_synth_products, edge-band error drops on every set,
        IoU moves by under 0.1 point; it costs ~4 ms per photo at 640 px.
    despill_separation
        Judge a pixel only where its local subject and backdrop colours differ by this much
        (Euclidean, 0..1 RGB). Default 0.12 (~30 levels): closer, the colour cannot tell them
        apart (a white product on white); 0.2 removed less of the fringe.
    despill_below
        Judge only pixels with alpha below this. Default 0.75: all soft pixels (1.0) cost 0.7 IoU
        points on grabcut50, since a subject's own backdrop-coloured parts then eroded; 0.5 kept
        IoU exactly but left more fringe on ebay_synth_products.
    despill_slack
        Alpha a judged pixel keeps above its colour estimate. Default 0: 0.1 left more fringe on
        every set and did not gain IoU.
    despill_ramp
        Width of the ramps that replace the two cut-offs above, so despill is continuous: the
        full correction below `despill_below - ramp / 2`, none above `despill_below + ramp / 2`,
        and likewise from `(1 - ramp) x` to `(1 + ramp) x despill_separation`. Default 0.3:
        with hard cut-offs a pixel at alpha 0.749 lost all of it and its neighbour at 0.751
        kept it, so the last bit of float arithmetic (an ARM CPU against x86) moved single
        pixels by up to 204 levels (the arm64 check); a 0.1 ramp still multiplied a few levels'
        difference before despill by up to ~8 (140 levels); 0.3 measured the same fringe
        (bench.fringe) and the same IoU and edge band to 0.0003.
    """

    enabled: bool = True
    scale: float = 0.5
    radius_fraction: float = 0.07
    fine_radius_fraction: float = 0.0125
    eps: float = 1e-4
    despill: bool = True
    despill_separation: float = 0.12
    despill_below: float = 0.75
    despill_slack: float = 0.0
    despill_ramp: float = 0.3


@dataclass(frozen=True)
class StudioSettings:
    """Studio mode (studio.py): the backdrop is known, so inside the subject alpha follows how much
    each pixel differs from it (a difference matte): glass and clear plastic come out partly
    transparent. For photos on a plain backdrop (white or a smooth gradient); off elsewhere.

    Parameters
    ----------
    enabled
        Default False (`edgematte remove --studio` or `Session(studio=True)` turn it on). Even on,
        a photo whose backdrop is not smooth (`max_residual`) or too small (`min_backdrop`) keeps
        the normal cut-out, and its Matte says why.
    margin
        Pixels this close to the subject (the model's alpha above 10, dilated) are not used to
        estimate the backdrop, as a fraction of the working image's long side. Default 0.02
        (13 px at 640): shadows and the soft band stay out of the fit.
    min_backdrop
        The share of the frame that must be backdrop samples. Default 0.15: fewer and the fit
        extrapolates over most of the subject.
    max_residual
        The backdrop model (a quadratic surface per channel) must fit its samples to this RMS, in
        levels, or the photo is not a studio shot. Default 6: a lit paper sweep with sensor noise
        fits to 1-4 levels; a room, a table or a textured cloth does not.
    opaque_difference
        A pixel at least this far from the backdrop (largest channel difference, levels, after a
        small blur) is opaque; nearer pixels get alpha in proportion. Default 40: under it, glass
        and clear plastic on white measured (see bench.studio); opaque products differ by more
        almost everywhere. A white product on a white backdrop differs by less and would turn
        partly transparent: studio mode is for photos with transparent products.
    noise_sigmas
        Differences below this many RMS residuals of the backdrop fit count as backdrop (alpha 0
        there). Default 3.
    opaque_texture
        Texture keeps a pixel opaque: a local standard deviation (levels, over ~3 working-image
        pixels) this far above the noise counts as opaque whatever its colour. Default 12: clear
        glass shows the smooth backdrop through it, textured print or fabric does not. Measured
        alone it barely helped lemur_cc0's white fur (IoU 0.824 -> 0.831 on white); what keeps the
        opaque shots' IoU is studio.py's outline and sure-pixel rules.
    """

    enabled: bool = False
    margin: float = 0.02
    min_backdrop: float = 0.15
    max_residual: float = 6.0
    opaque_difference: float = 40.0
    noise_sigmas: float = 3.0
    opaque_texture: float = 12.0


@dataclass(frozen=True)
class StillSettings:
    """Everything the still path reads, stage by stage (see `still_settings_for` for the defaults
    of each model kind).

    Parameters
    ----------
    work_long_side
        Long side of the working image: what the model is fed from and what the guided filter is
        fitted at. Default 640 px holds ~4x the u2netp's 320 px detail, so the fitted
        coefficients localise edges; the full-size photo then adds the rest. Never upscaled.
    infer, refine, foreground, studio
        The stages' own settings (see each class).
    """

    work_long_side: int = 640
    infer: InferSettings = field(default_factory=InferSettings)
    refine: RefineSettings = field(default_factory=RefineSettings)
    foreground: ForegroundSettings = field(default_factory=ForegroundSettings)
    studio: StudioSettings = field(default_factory=StudioSettings)

    def with_(self, **changes: object) -> StillSettings:
        """A copy with some fields replaced (`infer=`, `refine=`, ... take whole stage settings)."""
        return replace(self, **changes)  # type: ignore[arg-type]


# Matting models (MODNet) produce a soft alpha already: no peak normalisation, no edge contrast,
# a larger eps so the filter keeps their soft transitions.
MATTING_STILL = StillSettings(
    infer=InferSettings(normalise_peak=False), refine=RefineSettings(eps=1e-3, alpha_gain=1.0)
)
SEGMENTATION_STILL = StillSettings(infer=InferSettings(second_look=True, wide_look=True))


def one_look(s: StillSettings) -> StillSettings:
    """`s` without the second and the wide look: one look per photo, as before them (and as the C
    library's em_cutout example runs the model).

    Parameters
    ----------
    s
        The settings to copy.
    """
    return replace(s, infer=replace(s.infer, second_look=False, wide_look=False))


def as_in_c(s: StillSettings) -> StillSettings:
    """`s` as the C library's still path runs it (native/): one look and no despill.

    Parameters
    ----------
    s
        The settings to copy.
    """
    return one_look(replace(s, foreground=replace(s.foreground, despill=False)))


def still_settings_for(kind: str, best: bool = False, looks: int = 2) -> StillSettings:
    """The default StillSettings for a model kind.

    Parameters
    ----------
    kind
        'segmentation' (u2netp, selfie: probability maps) or 'matting' (MODNet: an alpha).
    best
        Add mirror-image averaging (`InferSettings.tta_flip`) to segmentation models. Default
        False (see InferSettings). Matting models ignore it: MODNet's matte measured no better.
    looks
        2: the second look on the subject's crop when it is small in the frame
        (`InferSettings.second_look`); 1: one look. Default 2; device profiles whose budgets
        were set for one invoke say 1 (data/profiles.toml `looks`). Matting models always look once.
    """
    if looks not in (1, 2):
        raise OptionError(f"looks must be 1 or 2, not {looks}")
    if kind == "matting":
        return MATTING_STILL
    s = SEGMENTATION_STILL if looks == 2 else one_look(SEGMENTATION_STILL)
    if best:
        return replace(s, infer=replace(s.infer, tta_flip=True))
    return s


# --------------------------------------------------------------------------------------------
# The live path (camera frames): the same infer and refine stages with a frame budget
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemporalSettings:
    """The temporal stage of frames (video and live modes): the model map against the last one.

    Method 'adaptive' (the default) mixes the previous output into the new map per pixel, with a
    weight that is high only where mixing cannot ghost: where the new map is unsure (the
    uncertainty-weighted combination of MediaPipe's segmentation smoothing) *and* the picture
    did not move there (a frame difference at the map's resolution, after removing each frame's
    mean brightness, so a lighting change is not taken for motion). A still person stops
    flickering; a moving arm is followed in the same frame. 'ema' is a plain exponential moving
    average (lags behind motion), 'none' uses every map as it is.

    Parameters
    ----------
    method
        'adaptive', 'ema' or 'none'. Default 'adaptive' (bench/live.py measures all three).
    unsure_weight
        Weight of the previous output where the new map is 0.5 and the scene is still. Default
        0.85: flicker on still edges falls ~6x; an edge that was wrong converges in ~6 frames.
    sure_weight
        The same where the new map is 0 or 1. Default 0.4: a confident map changes little, but
        sensor noise still moves it by a level or two.
    still_level
        Frame difference (luma levels, max over a 3x3 neighbourhood, mean-removed) up to which a
        pixel counts as still. Default 6: about 4 sigma of 3-level sensor noise after the
        downsampling to the map's resolution.
    moving_level
        Difference from which a pixel counts as moving (no mixing at all). Default 16: an edge of
        person against background moves by far more; between the two the weight falls linearly.
    cut_level
        Mean frame difference above which the frame is a scene cut: the state is dropped.
        Default 40 levels.
    alpha_weight
        'adaptive' only: weight of the previous frame's full-resolution alpha
        where the picture is still (kernels/temporal.py). The guided filter's a . I carries the
        camera's sensor noise into the outline: measured, 97% of a still person's edge flicker
        comes from there, which no mixing of the model's map can reach. Default 0.6: that noise
        falls to half (its variance to (1 - w) / (1 + w)); 0 disables.
    ema_weight
        Weight of the previous map for method 'ema'. Default 0.5.
    reset_gap_ms
        In video mode, a gap between timestamps longer than this drops the state. Default 1000.
    """

    method: str = "adaptive"
    unsure_weight: float = 0.85
    sure_weight: float = 0.4
    still_level: float = 6.0
    moving_level: float = 16.0
    cut_level: float = 40.0
    alpha_weight: float = 0.6
    ema_weight: float = 0.5
    reset_gap_ms: float = 1000.0

    def __post_init__(self) -> None:
        if self.method not in ("adaptive", "ema", "none"):
            raise ValueError(f"temporal method {self.method!r}: 'adaptive', 'ema' or 'none' expected")


@dataclass(frozen=True)
class LiveSettings:
    """What the live path reads: the still path's infer and refine stages, tuned for a frame budget.

    Parameters
    ----------
    model
        The person model for frames. Default 'preview' (MediaPipe selfie, 144x256 landscape):
        ~3 ms per invoke on x86, on a Pi 5's 30 fps budget with room for the composite.
    work_long_side
        Working size for frames. Default 256 px, the preview model's own input (144x256): the
        working image is what the model sees (no second resize) and the fit runs on 37k pixels.
        Measured on the person clip (bench/live.py): alpha error 0.0387 vs 0.0386 at 320 px,
        5 ms less per 720p frame.
    infer
        No mirror averaging (twice the invoke), no peak normalisation (the selfie model is
        confident, and rescaling each frame's peak would pump the matte between frames).
    refine
        Guided filter at radius 2, eps 1e-3 (webcam noise would otherwise print into the alpha),
        no edge contrast (alpha_gain 1: hair in a preview looks better soft).
    temporal
        The temporal stage (TemporalSettings). Default: adaptive mixing.
    """

    model: str = "preview"
    work_long_side: int = 256
    infer: InferSettings = field(default_factory=lambda: InferSettings(normalise_peak=False))
    refine: RefineSettings = field(default_factory=lambda: RefineSettings(eps=1e-3, alpha_gain=1.0))
    temporal: TemporalSettings = field(default_factory=TemporalSettings)

    def with_(self, **changes: object) -> LiveSettings:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------

# Default thread count: all cores up to 4. XNNPACK scales to about 4 threads on these models;
# beyond that it barely helps, and the post-processing kernels are memory-bound by then.
MAX_DEFAULT_THREADS = 4

# --------------------------------------------------------------------------------------------
# Compose and encode
# --------------------------------------------------------------------------------------------

# A cut-out asked for in a format without alpha (JPEG) is composed onto this colour: white is
# what a product page shows around the image.
FLATTEN_COLOUR = (255, 255, 255)
# PNG zlib level: 1 writes a 12 MP cut-out in half the time of level 6 for ~15-20% more bytes on
# photos (png.py). Every PNG edgematte writes uses it.
PNG_LEVEL = 1
# Bands per thread in the parallel PNG writer: 4 balances the bands' uneven content (a band of
# transparent rows compresses 10x faster than one through the product) at ~50 bytes of sync
# flush each.
PNG_BANDS_PER_THREAD = 4
# JPEG quality for cut-outs and composites: 95 keeps edges clean; above it files grow fast.
JPEG_QUALITY = 95
# JPEG chroma subsampling, Pillow's code: 0 = 4:4:4. Subsampling averages a near-white edge into
# the white beside it, which then decodes off-white (a marketplace's 255 rule fails).
JPEG_SUBSAMPLING = 0
# WebP quality for the colour (alpha is always lossless) and the encoder's effort (4 of 0..6:
# within 1% of 6's size at half its time).
WEBP_QUALITY = 92
WEBP_METHOD = 4
# Video outputs (live/videofile.py). H.264 CRF 18 is visually lossless for composites; a VP9
# composite takes CRF + 12 (its scale is wider), a VP9 video with alpha CRF 18 (its alpha plane
# shares the quantiser, and edges need it). 'veryfast' keeps libx264
# behind the matting on 2 cores (the encoder runs in FFmpeg's threads).
VIDEO_CRF = 18
VIDEO_PRESET = "veryfast"
# The preview's MJPEG stream (live/mjpeg.py): quality 80 is ~60 KB per 720p frame, smooth on a
# kiosk's loopback and on Wi-Fi.
MJPEG_QUALITY = 80
# A product placed into a scene is a photograph: 4:2:0 at quality 92 is how cameras save them.
SCENE_JPEG_QUALITY = 92
SCENE_JPEG_SUBSAMPLING = 2
# Marketplace JPEGs: start at the best quality worth having and search down to meet a file-size
# limit; below the minimum, product detail visibly suffers: refuse rather than upload mush.
MARKET_JPEG_QUALITY_MAX = 95
MARKET_JPEG_QUALITY_MIN = 60

# --------------------------------------------------------------------------------------------
# Seller verbs: the product's extent, canvases, scenes
# --------------------------------------------------------------------------------------------

SOFT_LEVEL = 16  # alpha >= this is part of the product's extent (soft edges included)
SOLID_LEVEL = 128  # alpha >= this is product for "is this part real"
MIN_PART = 0.01  # a part with less solid area than this fraction of the largest part is a speck
# Enlarging a product more than this to fill a canvas makes it look soft at zoom: compose warns,
# and the pre-upload check warns before it happens.
UPSCALE_WARN = 1.5
RESIZE_MARGIN = 0.04  # fraction of the canvas's side kept clear around the product when cropping
SCENE_HEIGHT = 0.42  # product height as a fraction of the scene's, by default
SCENE_MAX_WIDTH = 0.6  # ... but never wider than this fraction of the scene
SCENE_BASE_Y = 0.86  # default base line (fraction of scene height) when searching horizontally
WB_STRENGTH = 0.6  # how far the product's white balance moves toward the scene's (0 none, 1 full)
EXPOSURE_STRENGTH = 0.3  # how far its exposure moves toward the scene's: a mild match, not a copy
EXPOSURE_LIMITS = (0.8, 1.25)  # never more than ~1/3 stop either way: beyond, the product looks pasted
SHADOW_OPACITY = 0.45  # the soft cast footprint: visible on white, not a black blob on a dark floor
CONTACT_OPACITY = 0.55  # the tight contact line where the product stands: it anchors it to the floor
SHADOW_SQUASH = 0.10  # the cast footprint's height as a fraction of the product's: light from above
SHADOW_BLUR = 0.035  # its blur (sigma) as a fraction of the product's width: a soft studio shadow
CONTACT_BLUR = 0.008  # the contact line's blur, fraction of the width: barely soft
SHADOW_MAX = 0.85  # never darken the scene more than this: a shadow, not a hole
PAD_BLUR = 0.03  # blur (sigma, fraction of the padded image) of the mirrored edge that pads a resize

# --------------------------------------------------------------------------------------------
# Seller checks: thresholds of the pre-upload, edge and compliance checks
# --------------------------------------------------------------------------------------------

GENERIC_MIN_LONG_SIDE = 1000  # px: zoom on most marketplaces starts here
SHARPNESS_SIDE = 1024  # px: sharpness is measured at this long side, so it does not depend on size
BLUR_WARN = 0.6  # blur score above this (Laplacian variance < 67 at 1024 px) looks soft at zoom
NOISE_WARN = 4.0  # sigma (0..255): grain starts to show in a white backdrop and fools the matte
JPEG_QUALITY_WARN = 75  # estimated IJG quality below this shows blocks at zoom
BLOCKINESS_WARN = 1.35  # 8x8 boundary steps 35% above the rest: a re-saved JPEG
LOW_CONTRAST_DE = 12.0  # CIE76: below this the product and backdrop colours are hard to tell apart
LOW_CONTRAST_SHARE = 0.25  # warn when this much of the outline is low-contrast (checks and edges)
UNEVEN_LIGHT = 25.0  # L* spread (p95 - p5) across the backdrop
WHITE_BACKDROP_L = 80.0  # backdrop L* below this is "not white": the check says compose will replace it
UNCERTAIN = (26, 230)  # cut-out alpha strictly between these is "unsure" (10%..90%)
BAND_WARN = 0.006  # mean unsure-band width above this fraction of the image diagonal
HOLE_MIN = 0.002  # enclosed holes smaller than this fraction of the product's area are ignored
LOST_PROB = 0.35  # the model's probability above which a dropped thin part counts as "half-seen"
LOST_MIN = 0.0015  # lost thin parts smaller than this fraction of the product's area are ignored
SPOT_WINDOW = 0.02  # window (fraction of the diagonal) in which unsure pixels are counted for a crop
SPOT_DENSITY = 0.35  # a spot earns a crop when this share of its window is unsure
EDGE_CROP_PX = 256  # side of the 100% crops of the worst edge spots
EDGE_MAX_CROPS = 6  # crops per image: enough to see a pattern, few enough to look at
THUMB_PX = 240  # long side of the HTML report's thumbnails
THUMB_JPEG_QUALITY = 80  # thumbnails are looked at, not zoomed: 80 keeps the report small
ASPECT_TOLERANCE = 0.01  # a finished image's aspect may be 1% off the preset's (rounding)
NEAR_WHITE = 235  # all channels >= this: near-white (candidate backdrop)
WHITE_ENOUGH = 253  # the backdrop that bounds the product (for fill): white up to JPEG ringing
EDGE_ZONE = 12  # px: covers an anti-aliased edge plus the JPEG block it falls in
WHITE_BORDER = 2  # px: the outer frame ring that must be pure white on a white-background preset
