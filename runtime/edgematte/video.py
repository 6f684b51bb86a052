"""Live preview: camera frames in, frames with the background replaced out, at preview rate.

Same stages as a still (model -> guided filter -> composite), tuned for a frame budget: the
small person model (MediaPipe selfie, 144x256 landscape), the guided filter fitted at 320 px,
no flip averaging, no foreground re-estimation, the scene resized once and reused, and an
exponential moving average of the model's map so the matte does not flicker between frames.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgematte.api import fit_cover
from edgematte.colors import looks_like_colour, parse_colour
from edgematte.engine import Engine
from edgematte.imageio import decode
from edgematte.kernels.composite import composite_cells
from edgematte.kernels.cutout import cell_state
from edgematte.kernels.guided import apply_upsampled, guided_coefficients
from edgematte.models import resolve, verified_path
from edgematte.pipeline import Timings, prepare_input, work_size
from edgematte.profiles import get_profile

# Weight of the previous frame's map: 0.5 halves frame-to-frame flicker and lags ~1 frame behind motion.
SMOOTHING = 0.5
# Guided filter working size for frames: a 144x256 model map needs no more than ~2x.
PREVIEW_WORK_LONG_SIDE = 320
PREVIEW_RADIUS = 2
PREVIEW_EPS = 1e-3
NO_ALPHA = np.empty((1, 1), np.uint8)


@dataclass
class Preview:
    """Background replacement for a stream of same-sized RGB frames (not thread-safe: one per camera)."""

    background: object = "white"  # colour, or image (path / array / PIL) scaled to cover the frame
    model: str = "preview"
    threads: int | None = None
    profile: str | None = None
    smoothing: float = SMOOTHING
    _state: np.ndarray | None = field(default=None, init=False, repr=False)
    _bg: np.ndarray | None = field(default=None, init=False, repr=False)
    _bg_colour: np.ndarray | None = field(default=None, init=False, repr=False)
    last_timings: Timings = field(default_factory=Timings, init=False)

    def __post_init__(self) -> None:
        prof = get_profile(self.profile)
        self.card = resolve(self.model, prof.name)
        self.engine = Engine(verified_path(self.card), self.threads or prof.threads)
        if isinstance(self.background, str | tuple | list) and (
            not isinstance(self.background, str) or looks_like_colour(self.background)
        ):
            self._bg_colour = np.asarray(parse_colour(self.background), np.uint8)  # type: ignore[arg-type]
        else:
            self._bg_source = decode(self.background).rgb

    def reset(self) -> None:
        """Forget the temporal state (call on a scene cut or camera switch)."""
        self._state = None

    def _fit(self, frame: np.ndarray, t: Timings) -> tuple[np.ndarray, np.ndarray]:
        """Guided-filter coefficients and the working-size alpha for one frame."""
        H, W = frame.shape[:2]
        ww, wh = work_size(W, H, PREVIEW_WORK_LONG_SIDE)
        with t.stage("prepare"):
            work = cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA)
            x, box = prepare_input(work, self.card.input_hw, self.card.resize)
        with t.stage("invoke"):
            y = self.engine.run(x)[box.top : box.top + box.height, box.left : box.left + box.width]
        with t.stage("refine"):
            if self._state is not None and self._state.shape == y.shape and self.smoothing > 0:
                y = self.smoothing * self._state + (1.0 - self.smoothing) * y
            self._state = y
            p = np.ascontiguousarray(cv2.resize(y, (ww, wh), interpolation=cv2.INTER_LINEAR), np.float32)
            coef = guided_coefficients(work.astype(np.float32) * np.float32(1 / 255), p, PREVIEW_RADIUS, PREVIEW_EPS)
            a_work = apply_upsampled(work, coef, NO_ALPHA, False)
        return coef, a_work

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """The person matte (uint8, frame size) for one RGB frame."""
        t = Timings()
        coef, _ = self._fit(np.ascontiguousarray(frame), t)
        with t.stage("compose"):
            a = apply_upsampled(frame, coef, NO_ALPHA, False)
        self.last_timings = t
        return a

    def _background(self, H: int, W: int) -> np.ndarray:
        if self._bg is None or self._bg.shape[:2] != (H, W):  # once per frame size, then reused
            if self._bg_colour is not None:
                self._bg = np.empty((H, W, 3), np.uint8)
                self._bg[:] = self._bg_colour
            else:
                self._bg = fit_cover(self._bg_source, W, H)
        return self._bg

    def process(self, frame: np.ndarray) -> np.ndarray:
        """One RGB frame (HxWx3 uint8) in, the same frame over the new background out."""
        frame = np.ascontiguousarray(frame)
        t = Timings()
        coef, a_work = self._fit(frame, t)
        with t.stage("compose"):
            out = composite_cells(frame, coef, cell_state(a_work), self._background(*frame.shape[:2]))
        self.last_timings = t
        return out


def frames_per_second(preview: Preview, frames: list[np.ndarray], seconds: float = 3.0) -> float:
    """Sustained frame rate over the given frames (cycled) for about `seconds`."""
    preview.process(frames[0])
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        preview.process(frames[n % len(frames)])
        n += 1
    return n / (time.perf_counter() - t0)
