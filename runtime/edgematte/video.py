"""Live preview: camera frames in, frames with the background replaced out, at preview rate.

The still path's own stages with a frame budget (settings.LiveSettings): prepare and infer
(infer.ModelStage: the small person model), refine (refine.fit at 320 px, no edge contrast),
then one fused pass that computes the alpha only along the person's outline and composites onto
the backdrop (kernels/composite.composite_cells). No mirror averaging, no foreground
re-estimation; the backdrop is scaled once per frame size and reused. Between infer and
refine, an exponential moving average of the model's map keeps the matte from flickering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgematte.compositing import Backdrop, Background
from edgematte.infer import ModelStage, working_image
from edgematte.kernels import use_threads
from edgematte.kernels.composite import composite_cells
from edgematte.kernels.guided import apply_upsampled
from edgematte.models import resolve
from edgematte.profiles import get_profile
from edgematte.refine import NO_ALPHA, Fit, fit
from edgematte.settings import LiveSettings
from edgematte.timings import Timings


@dataclass
class Preview:
    """Background replacement for a stream of RGB frames (not thread-safe: one per camera).

    Parameters
    ----------
    background
        A colour, or an image (path / array / PIL) scaled to cover the frame. Default 'white'.
    threads
        Threads for inference and kernels. Default None: the device profile's.
    profile
        Device profile. Default None: detected.
    settings
        The live path's numbers (LiveSettings: model, working size, refine, smoothing).
    """

    background: Background = "white"
    threads: int | None = None
    profile: str | None = None
    settings: LiveSettings = field(default_factory=LiveSettings)
    last_timings: Timings = field(default_factory=Timings, init=False)
    _state: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        prof = get_profile(self.profile)
        self.threads = self.threads or prof.threads
        self.card = resolve(self.settings.model, prof.name)
        self._model = ModelStage(self.card, self.threads)
        self._backdrop = Backdrop.parse(self.background)

    def reset(self) -> None:
        """Forget the temporal state (call on a scene cut or camera switch)."""
        self._state = None

    def _smooth(self, y: np.ndarray) -> np.ndarray:
        """The temporal stage: an exponential moving average of the model's map."""
        a = self.settings.smoothing
        if self._state is not None and self._state.shape == y.shape and a > 0:
            y = np.float32(a) * self._state + np.float32(1.0 - a) * y
        self._state = y
        return y

    def _fit(self, frame: np.ndarray, t: Timings) -> Fit:
        """prepare -> infer -> smooth -> refine for one frame."""
        s = self.settings
        use_threads(self.threads or 1)
        with t.stage("prepare"):
            work = working_image(frame, None, s.work_long_side)
        prediction = self._model.predict(work, s.infer, t)
        with t.stage("refine"):
            return fit(work, self._smooth(prediction.map), s.refine)

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """The person matte (uint8, frame size) for one RGB frame (HxWx3 uint8)."""
        frame = np.ascontiguousarray(frame)
        t = Timings()
        f = self._fit(frame, t)
        with t.stage("compose"):
            a = apply_upsampled(frame, f.coef, NO_ALPHA, False)
        self.last_timings = t
        return a

    def process(self, frame: np.ndarray) -> np.ndarray:
        """One RGB frame (HxWx3 uint8) in, the same frame over the new background out."""
        frame = np.ascontiguousarray(frame)
        t = Timings()
        f = self._fit(frame, t)
        with t.stage("compose"):
            h, w = frame.shape[:2]
            out = composite_cells(frame, f.coef, f.state, self._backdrop.pixels(w, h))
        self.last_timings = t
        return out
