"""The still-image path: prepare -> infer -> refine -> foreground, with per-stage timings.

This module composes stages; the maths lives in kernels/ and the interpreter in engine.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgematte.engine import Engine
from edgematte.imageio import DecodedImage
from edgematte.kernels.composite import composite_colour
from edgematte.kernels.cutout import cell_state, cutout_rgba
from edgematte.kernels.foreground import foreground_means
from edgematte.kernels.guided import apply_upsampled, edge_hardness, guided_coefficients, sharpen_hard_edges
from edgematte.models import ModelCard
from edgematte.settings import DEFAULT_REFINE, RefineSettings

WHITE = np.array([255, 255, 255], np.uint8)
# Below this peak the model sees no object at all: leave the map empty rather than amplify noise.
# 0.25 rather than 0.3: grabcut50's scissors peak at 0.285 and are a real object (measured: every
# eval set unchanged except grabcut50, IoU 0.8044 -> 0.8047, edge MAE 0.0960 -> 0.0957).
PEAK_FLOOR = 0.25
NO_ALPHA = np.empty((1, 1), np.uint8)


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)  # seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t

    @property
    def total(self) -> float:
        return sum(self.stages.values())

    def ms(self) -> dict[str, float]:
        return {k: round(v * 1000.0, 2) for k, v in self.stages.items()}


@dataclass
class Matte:
    """What the pipeline produces for one image."""

    rgb: np.ndarray  # HxWx3 uint8, the decoded input
    rgba: np.ndarray  # HxWx4 uint8 cut-out: estimated foreground colours (or the photo's) + alpha
    mask_lowres: np.ndarray  # model output at model resolution (float 0..1), letterbox removed
    model: str
    timings: Timings
    _alpha: np.ndarray | None = field(default=None, repr=False)
    _fg: np.ndarray | None = field(default=None, repr=False)

    @property
    def alpha(self) -> np.ndarray:
        """HxW uint8 (contiguous)."""
        if self._alpha is None:
            self._alpha = np.ascontiguousarray(self.rgba[..., 3])
        return self._alpha

    @property
    def cutout_rgb(self) -> np.ndarray:
        """HxWx3 uint8 foreground colours (contiguous)."""
        if self._fg is None:
            self._fg = np.ascontiguousarray(self.rgba[..., :3])
        return self._fg


@dataclass(frozen=True)
class Letterbox:
    """Where the image sits inside the model input (aspect kept, padded)."""

    top: int
    left: int
    height: int
    width: int


def work_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) of the working image: long side `long_side`, never upscaled."""
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _downscale(img: np.ndarray, w: int, h: int) -> np.ndarray:
    if (img.shape[1], img.shape[0]) == (w, h):
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def prepare_input(work_rgb: np.ndarray, model_hw: tuple[int, int], mode: str) -> tuple[np.ndarray, Letterbox]:
    """Resize the working image to the model input: stretched, or letterboxed with edge replication."""
    mh, mw = model_hw
    h, w = work_rgb.shape[:2]
    if mode == "stretch":
        interp = cv2.INTER_AREA if (w >= mw and h >= mh) else cv2.INTER_LINEAR
        return cv2.resize(work_rgb, (mw, mh), interpolation=interp), Letterbox(0, 0, mh, mw)
    scale = min(mw / w, mh / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(work_rgb, (nw, nh), interpolation=interp)
    top, left = (mh - nh) // 2, (mw - nw) // 2
    out = cv2.copyMakeBorder(small, top, mh - nh - top, left, mw - nw - left, cv2.BORDER_REPLICATE)
    return out, Letterbox(top, left, nh, nw)


class Pipeline:
    """One model + refinement settings; reusable across images (not thread-safe per call, see Session)."""

    def __init__(
        self,
        card: ModelCard,
        engine: Engine,
        settings: RefineSettings = DEFAULT_REFINE,
        alternate: tuple[ModelCard, Engine] | None = None,
    ):
        """`alternate`: the same model at the other orientation (MODNet ships 288x512 and 512x288);
        each image goes to the one whose shape matches it, so neither stretch nor padding wastes it."""
        self.card = card
        self.engine = engine
        self.settings = settings
        self.alternate = alternate

    def model_for(self, work_rgb: np.ndarray) -> tuple[ModelCard, Engine]:
        if self.alternate is None:
            return self.card, self.engine
        h, w = work_rgb.shape[:2]
        mh, mw = self.card.input_hw
        if (h > w) != (mh > mw) and h != w:
            return self.alternate
        return self.card, self.engine

    def predict_lowres(self, work_rgb: np.ndarray, timings: Timings, s: RefineSettings | None = None) -> np.ndarray:
        """Model probability map at model resolution, letterbox removed (float32 0..1)."""
        s = s or self.settings
        card, engine = self.model_for(work_rgb)
        with timings.stage("prepare"):
            x, box = prepare_input(work_rgb, card.input_hw, card.resize)
        with timings.stage("invoke"):
            y = engine.run(x)
            if s.tta_flip:
                y = (y + engine.run(np.ascontiguousarray(x[:, ::-1]))[:, ::-1]) * np.float32(0.5)
        y = np.ascontiguousarray(y[box.top : box.top + box.height, box.left : box.left + box.width])
        if s.normalise_peak:
            peak = float(y.max())
            if PEAK_FLOOR <= peak < 1.0:
                y = y * np.float32(1.0 / peak)
        return y

    def run(self, image: DecodedImage, settings: RefineSettings | None = None) -> Matte:
        s = settings or self.settings
        t = Timings()
        work = self.working_image(image, s, t)
        low = self.predict_lowres(work, t, s)
        return self.refine(image, work, low, s, t)

    def working_image(self, image: DecodedImage, s: RefineSettings, t: Timings) -> np.ndarray:
        """The photo at the guided filter's working size (what the model and the filter see)."""
        H, W = image.rgb.shape[:2]
        ww, wh = work_size(W, H, s.work_long_side)
        with t.stage("prepare"):
            work = _downscale(image.rgb, ww, wh)
            if image.alpha is not None:
                # Transparent source pixels carry arbitrary colour: show the model white there.
                work = composite_colour(work, _downscale(image.alpha, ww, wh), WHITE)
        return work

    def refine(
        self, image: DecodedImage, work: np.ndarray, low: np.ndarray, s: RefineSettings, t: Timings | None = None
    ) -> Matte:
        """Low-res model map -> guided-filter coefficients and foreground colours at the working size
        -> one full-resolution pass that writes the RGBA cut-out."""
        t = t or Timings()
        rgb = image.rgb
        wh, ww = work.shape[:2]
        with t.stage("refine"):
            p = np.ascontiguousarray(cv2.resize(low, (ww, wh), interpolation=cv2.INTER_LINEAR), np.float32)
            guide = work.astype(np.float32) * np.float32(1.0 / 255.0)
            coef = guided_coefficients(guide, p, s.radius, s.eps)
            if s.alpha_gain != 1.0:
                coef = sharpen_hard_edges(coef, edge_hardness(p, s.hard_window, s.hard_lo, s.hard_hi), s.alpha_gain)
            a_work = apply_upsampled(work, coef, NO_ALPHA, False)  # the alpha at the working size
            state = cell_state(a_work)
        with t.stage("foreground"):
            if s.foreground:
                # Half the working size: the local means are smooth (measured: same colour error at 1/4).
                fw, fh = max(1, ww // 2), max(1, wh // 2)
                fguide = cv2.resize(guide, (fw, fh), interpolation=cv2.INTER_AREA)
                fa = cv2.resize(a_work, (fw, fh), interpolation=cv2.INTER_AREA).astype(np.float32) / np.float32(255)
                short = min(fw, fh)
                r_wide = max(2, round(short * s.fg_radius_fraction))
                r_fine = max(1, round(short * s.fg_fine_radius_fraction))
                means = foreground_means(fguide, fa, r_wide, r_fine)
            else:
                means = np.zeros((wh, ww, 6), np.float32)
        with t.stage("full_res"):
            rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
            src_a = image.alpha if image.alpha is not None else NO_ALPHA
            cutout_rgba(rgb, rgba, coef, means, state, src_a, image.alpha is not None, s.foreground)
        return Matte(rgb, rgba, low, self.card.name, t)
