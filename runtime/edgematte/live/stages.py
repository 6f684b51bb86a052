"""The stages a frame goes through: the still path's, with a frame budget and a temporal stage.

Two ways through, chosen by the model:

- `PreviewStages` (the person model, 'preview'): prepare and infer (infer.ModelStage), the
  temporal stage (live/temporal.py), refine (refine.fit at LiveSettings' 256 px), then one fused
  pass over the frame that computes the alpha only along the person's outline and composites
  (kernels/composite.composite_cells), or the alpha alone. No mirror averaging, no foreground
  re-estimation. prepare+infer and the rest are separate calls (`predict`, `finish`) so a
  stream can run frame t+1's invoke while frame t is finished (live/modes.py).
- `StillFrameStages` (matting 'portrait' or 'u2netp' for offline renders): still.Session.matte,
  with the temporal stage passed in between infer and refine, then the Session's compose stage
  (estimated foreground colours, no halo). Every stage of a photo, so ~1 s a frame at 12 MP.

Both return a `FrameResult`. Nothing here decodes or encodes: frames are RGB arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgematte.compositing import Backdrop
from edgematte.errors import OptionError
from edgematte.infer import ModelStage, Prediction, working_image
from edgematte.kernels import use_threads
from edgematte.kernels.composite import composite_cells
from edgematte.kernels.guided import apply_upsampled
from edgematte.kernels.sampling import resize_map
from edgematte.kernels.temporal import stable_alpha_cells
from edgematte.live.temporal import Stabiliser
from edgematte.models import ModelCard, resolve
from edgematte.profiles import get_profile
from edgematte.refine import NO_ALPHA, fit
from edgematte.settings import LiveSettings
from edgematte.timings import Timings

# What a frame can become.
OUTPUTS = ("composite", "rgba", "alpha")
_NO_RGB = np.zeros((1, 1, 3), np.uint8)  # the kernels' "no such image" argument


@dataclass
class FrameResult:
    """One frame through the stages.

    Attributes
    ----------
    pixels
        'composite': HxWx3 uint8 over the background; 'rgba': HxWx4 (the frame's colours, or the
        estimated foreground with a still model, plus alpha); 'alpha': HxW uint8.
    timestamp_ms
        The frame's timestamp as given (0 in image mode).
    model
        The model that ran.
    timings
        Every stage's time (seconds): prepare, invoke, temporal, refine, compose.
    """

    pixels: np.ndarray
    timestamp_ms: float
    model: str
    timings: Timings = field(default_factory=Timings)

    @property
    def alpha(self) -> np.ndarray | None:
        """The HxW uint8 alpha when the output carries one ('rgba', 'alpha'), else None."""
        if self.pixels.ndim == 2:
            return self.pixels
        if self.pixels.shape[2] == 4:
            return np.ascontiguousarray(self.pixels[..., 3])
        return None


def _backdrop_pixels(backdrop: Backdrop | np.ndarray | None, width: int, height: int) -> np.ndarray:
    """The background of one frame at its size: a Backdrop's (cached), or a per-frame image covered."""
    from edgematte.compositing import fit_cover

    if backdrop is None:
        raise OptionError("a composite needs a background (a colour, an image or a video)")
    if isinstance(backdrop, Backdrop):
        return backdrop.pixels(width, height)
    if backdrop.shape[:2] == (height, width):
        return np.ascontiguousarray(backdrop[..., :3])
    return fit_cover(np.ascontiguousarray(backdrop[..., :3]), width, height)


@dataclass
class Predicted:
    """What `PreviewStages.predict` hands to `finish`: the frame, its working image and the map."""

    frame: np.ndarray
    work: np.ndarray
    prediction: Prediction
    timings: Timings


class PreviewStages:
    """The person model's frame stages (fast: ~100 fps at 720p on 2 x86 cores is the target).

    Parameters
    ----------
    settings
        The live path's numbers (LiveSettings: model, working size, refine). Default: LiveSettings().
    threads
        Threads for inference and kernels. Default None: the device profile's.
    profile
        Device profile. Default None: detected.
    """

    def __init__(self, settings: LiveSettings | None = None, threads: int | None = None, profile: str | None = None):
        prof = get_profile(profile)
        self.settings = settings or LiveSettings()
        self.threads = threads or prof.threads
        self.card: ModelCard = resolve(self.settings.model, prof.name)
        self._model = ModelStage(self.card, self.threads)
        self._stream_model: ModelStage | None = None  # a 1-thread interpreter for pipelined streams

    def predict(self, frame: np.ndarray, pipelined: bool = False) -> Predicted:
        """prepare + infer for one RGB frame (HxWx3 uint8): the working image and the model's map.

        Parameters
        ----------
        frame
            HxWx3 uint8 RGB.
        pipelined
            Called on the invoke thread of a pipelined stream: one thread here (its own
            interpreter), the others left to `finish` of the previous frame. Measured on 2 cores:
            13.5 ms a 720p frame, against 16 ms with both stages on 2 threads each.
        """
        frame = np.ascontiguousarray(frame)
        t = Timings()
        model = self._model
        if pipelined and self.threads > 1:
            if self._stream_model is None:
                self._stream_model = ModelStage(self.card, 1)
            model = self._stream_model
        use_threads(1 if pipelined else self.threads)
        with t.stage("prepare"):
            work = working_image(frame, None, self.settings.work_long_side)
        return Predicted(frame, work, model.predict(work, self.settings.infer, t), t)

    def close(self) -> None:
        """Release the interpreters (a later call fails)."""
        self._model = self._stream_model = None  # type: ignore[assignment]

    def finish(
        self,
        p: Predicted,
        stabiliser: Stabiliser | None,
        output: str,
        backdrop: Backdrop | np.ndarray | None,
        timestamp_ms: float = 0.0,
        threads: int | None = None,
    ) -> FrameResult:
        """temporal -> refine -> compose for a predicted frame.

        Parameters
        ----------
        p
            `predict`'s result for the frame.
        stabiliser
            The stream's temporal state. None: no temporal stage (image mode).
        output
            'composite', 'rgba' or 'alpha'.
        backdrop
            The background of a composite: a Backdrop or this frame's own image (a video's frame).
        timestamp_ms
            The frame's timestamp (the stabiliser's gap test).
        threads
            Kernel threads for this call. Default None: the stages' own count.
        """
        t = p.timings
        use_threads(threads or self.threads)
        model_map = p.prediction.map
        if stabiliser is not None:
            with t.stage("temporal"):
                model_map = stabiliser(p.prediction.input, model_map, timestamp_ms)
        with t.stage("refine"):
            f = fit(p.work, model_map, self.settings.refine)
        frame = p.frame
        h, w = frame.shape[:2]
        with t.stage("compose"):
            ts = stabiliser.settings if stabiliser is not None else None
            stable = ts is not None and ts.method == "adaptive" and ts.alpha_weight > 0
            prev = stabiliser.alpha if stable else None  # type: ignore[union-attr]
            if stable and stabiliser.stillness is not None and prev is not None and prev.shape == (h, w):  # type: ignore[union-attr]
                pixels = self._stable(frame, f, stabiliser, output, backdrop)  # type: ignore[arg-type]
            elif output == "composite":
                pixels = composite_cells(frame, f.coef, f.state, _backdrop_pixels(backdrop, w, h))
                if stable:  # the first frame: the next one mixes with this alpha
                    stabiliser.alpha = apply_upsampled(frame, f.coef, NO_ALPHA, False)  # type: ignore[union-attr]
            else:
                a = apply_upsampled(frame, f.coef, NO_ALPHA, False)
                if stable:
                    stabiliser.alpha = a.copy()  # type: ignore[union-attr]
                pixels = a if output == "alpha" else np.dstack([frame, a])
        return FrameResult(pixels, timestamp_ms, p.prediction.card.name, t)

    @staticmethod
    def _stable(frame: np.ndarray, f, stabiliser: Stabiliser, output: str, backdrop) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Compose with the full-resolution temporal stage (kernels/temporal.py)."""
        h, w = frame.shape[:2]
        wh, ww = f.state.shape
        still = resize_map(stabiliser.stillness, ww, wh)  # type: ignore[arg-type]
        composite = output == "composite"
        bg = _backdrop_pixels(backdrop, w, h) if composite else _NO_RGB
        out = np.empty((h, w, 3), np.uint8) if composite else _NO_RGB
        prev: np.ndarray = stabiliser.alpha  # type: ignore[assignment]  # finish() checked its size
        stable_alpha_cells(frame, f.coef, f.state, still, stabiliser.settings.alpha_weight, prev, bg, composite, out)
        if composite:
            return out
        return prev.copy() if output == "alpha" else np.dstack([frame, prev])

    def frame(
        self,
        frame: np.ndarray,
        stabiliser: Stabiliser | None,
        output: str,
        backdrop: Backdrop | np.ndarray | None,
        timestamp_ms: float = 0.0,
    ) -> FrameResult:
        """`predict` then `finish` (the parameters are `finish`'s)."""
        return self.finish(self.predict(frame), stabiliser, output, backdrop, timestamp_ms)


class StillFrameStages:
    """Frames through the whole still path (matting or u2netp): offline renders at full quality.

    Parameters
    ----------
    model
        'portrait' (MODNet), 'u2netp', or any still model name (`edgematte models`).
    threads
        Threads. Default None: the device profile's.
    profile
        Device profile. Default None: detected.
    """

    def __init__(self, model: str, threads: int | None = None, profile: str | None = None):
        from edgematte.still import Session

        self.session = Session(model, threads=threads, profile=profile)
        self.card = self.session.card
        self.threads = self.session.threads

    def close(self) -> None:
        """Release the Session's interpreters."""
        self.session.close()

    def frame(
        self,
        frame: np.ndarray,
        stabiliser: Stabiliser | None,
        output: str,
        backdrop: Backdrop | np.ndarray | None,
        timestamp_ms: float = 0.0,
    ) -> FrameResult:
        """One frame through Session.matte (with the temporal stage) and the compose stage.

        The parameters are PreviewStages.finish's; `frame` is HxWx3 uint8 RGB.
        """
        from edgematte.still import Output

        temporal = None if stabiliser is None else (lambda x, y: stabiliser(x, y, timestamp_ms))
        m = self.session.matte(np.ascontiguousarray(frame), temporal=temporal)
        if stabiliser is not None:
            with m.timings.stage("temporal"):
                self._stable_alpha(m.rgba, stabiliser)
        if output == "composite":
            h, w = frame.shape[:2]
            bg = backdrop if isinstance(backdrop, Backdrop) else Backdrop(image=_backdrop_pixels(backdrop, w, h))
            pixels = self.session.render(m, Output(background=bg, format=None))
        else:
            pixels = self.session.render(m, Output(mask_only=output == "alpha", format=None))
        return FrameResult(pixels, timestamp_ms, m.model, m.timings)

    @staticmethod
    def _stable_alpha(rgba: np.ndarray, stabiliser: Stabiliser) -> None:
        """The full-resolution temporal stage on the cut-out's alpha (in place), NumPy: these
        frames take ~1 s each, so the few ms of this pass do not matter (kernels/temporal.py
        fuses the same formula into the preview's compose)."""
        import cv2

        ts = stabiliser.settings
        h, w = rgba.shape[:2]
        alpha = rgba[..., 3]
        prev = stabiliser.alpha
        if ts.method == "adaptive" and ts.alpha_weight > 0:
            if stabiliser.stillness is not None and prev is not None and prev.shape == (h, w):
                k = cv2.resize(stabiliser.stillness, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(
                    ts.alpha_weight
                )
                a = alpha.astype(np.float32)
                alpha[...] = (a + k * (prev.astype(np.float32) - a) + np.float32(0.5)).astype(np.uint8)
            stabiliser.alpha = alpha.copy()


def stages_for(model: str | None, threads: int | None, profile: str | None, settings: LiveSettings | None):
    """The frame stages for a model name: the person model's fast stages, or the still path's.

    Parameters
    ----------
    model
        'preview' (default when None: the person model), 'portrait', 'u2netp', or a model name.
    threads, profile
        As for PreviewStages.
    settings
        LiveSettings for the preview stages (its `model` is replaced by `model` when given).
    """
    s = settings or LiveSettings()
    name = model or s.model
    card = resolve(name, get_profile(profile).name)
    if card.family.startswith("selfie"):
        return PreviewStages(s.with_(model=name), threads, profile)
    return StillFrameStages(name, threads, profile)
