"""The prepare and infer stages, shared by the still and the live path.

prepare: the photo (or frame) at the working size (long side `work_long_side`, never upscaled),
then resized to the model's input as its card says (stretched, or letterboxed with edge
replication). Both resizes are kernels/resize.py's: OpenCV's INTER_AREA / INTER_LINEAR pixels,
defined bit for bit, so the C library (native/) feeds the INT8 models exactly what we feed them.
infer: one LiteRT invoke (two with mirror averaging), the map dequantised and the
letterbox cut away, peak-normalised for unsure segmentation maps. The result says which model
actually ran: MODNet ships each size twice (landscape and portrait) and every image goes to the
one of its own orientation, so neither a stretch nor padding wastes its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgematte.engine import Engine
from edgematte.kernels.composite import composite_colour
from edgematte.kernels.resize import resize_area_u8, resize_linear_u8
from edgematte.models import ModelCard, orientation_pair, verified_path
from edgematte.settings import InferSettings
from edgematte.timings import Timings

# Transparent source pixels carry arbitrary colour: the model is shown white there.
_WHITE = np.array([255, 255, 255], np.uint8)


@dataclass(frozen=True)
class Letterbox:
    """Where the image sits inside the model input (aspect kept, padded)."""

    top: int
    left: int
    height: int
    width: int


@dataclass
class ModelInput:
    """What the prepare stage produces: the model's input and which model it is for."""

    card: ModelCard  # the model (or its orientation twin) that will run
    engine: Engine
    x: np.ndarray  # the model's input image, uint8
    box: Letterbox  # where the photo sits in it
    work: np.ndarray  # hxwx3 uint8: the working image it was made from (the second look crops it)


@dataclass
class Prediction:
    """What the infer stage produces: the model's map and the model that made it."""

    map: np.ndarray  # float32 in 0..1: the model's resolution, letterbox removed (the working size after a second look)
    card: ModelCard  # the model that actually ran (the orientation twin, when it was picked)
    input: np.ndarray  # hxwx3 uint8: what the model saw, letterbox removed (the temporal stage reads it)
    invokes: int = 1  # how many times a model ran for this map (mirror averaging, wide and second look)


def work_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) of the working image: long side `long_side`, aspect kept, never upscaled."""
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def working_image(rgb: np.ndarray, alpha: np.ndarray | None, long_side: int) -> np.ndarray:
    """The photo at the working size (what the model and the guided filter see).

    Parameters
    ----------
    rgb
        HxWx3 uint8, the decoded photo or frame.
    alpha
        The source's own alpha (HxW uint8), or None. Where it is transparent, the working image
        shows white: the colour under a transparent pixel is arbitrary and would fool the model.
    long_side
        Long side of the working image (StillSettings / LiveSettings `work_long_side`).
    """
    H, W = rgb.shape[:2]
    ww, wh = work_size(W, H, long_side)
    work = rgb if (ww, wh) == (W, H) else resize_area_u8(rgb, ww, wh)
    if alpha is not None:
        a = alpha if (ww, wh) == (W, H) else resize_area_u8(alpha, ww, wh)
        work = composite_colour(work, a, _WHITE)
    return work


def prepare_input(work_rgb: np.ndarray, model_hw: tuple[int, int], mode: str) -> tuple[np.ndarray, Letterbox]:
    """Resize the working image to the model's input.

    Parameters
    ----------
    work_rgb
        hxwx3 uint8, the working image.
    model_hw
        The model's input (height, width), from its card.
    mode
        'stretch' (the aspect is given up, as u2netp and the selfie models were trained) or
        'letterbox' (aspect kept, padded by replicating the edge, as MODNet measured best).

    Returns
    -------
    (input, letterbox)
        The model's input image (uint8) and where the photo sits in it.
    """
    mh, mw = model_hw
    h, w = work_rgb.shape[:2]
    if mode == "stretch":
        resize = resize_area_u8 if (w >= mw and h >= mh) else resize_linear_u8
        return resize(work_rgb, mw, mh), Letterbox(0, 0, mh, mw)
    scale = min(mw / w, mh / h)
    nw, nh = min(mw, max(1, round(w * scale))), min(mh, max(1, round(h * scale)))
    small = (resize_area_u8 if scale < 1 else resize_linear_u8)(work_rgb, nw, nh)
    top, left = (mh - nh) // 2, (mw - nw) // 2
    out = cv2.copyMakeBorder(small, top, mh - nh - top, left, mw - nw - left, cv2.BORDER_REPLICATE)
    return out, Letterbox(top, left, nh, nw)


class ModelStage:
    """One loaded model (and its orientation twin, when its card names one), fed as its card says.

    Parameters
    ----------
    card
        The model's card (models.resolve gives it).
    threads
        Interpreter threads (XNNPACK). The device profile's count by default upstream.
    """

    def __init__(self, card: ModelCard, threads: int):
        self.card = card
        self.threads = threads
        self._engines: list[tuple[ModelCard, Engine]] = [(card, Engine(verified_path(card), threads))]
        self._wide: ModelStage | None = None  # the wide look's coarse model, loaded at its first use
        pair = orientation_pair(card)
        if pair is not None:
            self._engines.append((pair, Engine(verified_path(pair), threads)))

    def pick(self, height: int, width: int) -> tuple[ModelCard, Engine]:
        """The model whose input orientation matches an image of this size."""
        card, engine = self._engines[0]
        if len(self._engines) > 1 and height != width:
            mh, mw = card.input_hw
            if (height > width) != (mh > mw):
                return self._engines[1]
        return card, engine

    def prepare(self, work_rgb: np.ndarray, t: Timings) -> ModelInput:
        """prepare: the model's input for a working image (no interpreter involved: any thread).

        Parameters
        ----------
        work_rgb
            hxwx3 uint8, the working image (`working_image`).
        t
            Timings to record the 'prepare' stage in.
        """
        card, engine = self.pick(*work_rgb.shape[:2])
        with t.stage("prepare"):
            x, box = prepare_input(work_rgb, card.input_hw, card.resize)
        return ModelInput(card, engine, x, box, work_rgb)

    def infer(self, m: ModelInput, s: InferSettings, t: Timings) -> Prediction:
        """infer: the model's map for a prepared input (one thread at a time per ModelStage).

        Parameters
        ----------
        m
            From `prepare`.
        s
            Mirror averaging, peak normalisation, the wide and the second look (InferSettings).
        t
            Timings to record the 'invoke' stage in (and 'wide_look' / 'second_look' when taken).
        """
        with t.stage("invoke"):
            y = self._look(m.engine, m.x, m.box, s)
        per_look = 2 if s.tta_flip else 1
        invokes = per_look
        box = m.box
        seen = m.x[box.top : box.top + box.height, box.left : box.left + box.width]
        if s.wide_look and self._wants_wide_look(y, s):
            invokes += per_look
            wide = self._wide_look(m, y, s, t)
            if wide is not None:
                y = wide
        if s.second_look:
            merged = self._second_look(m, y, s, t)
            if merged is not None:
                y, invokes = merged, invokes + per_look
        return Prediction(y, m.card, seen, invokes)

    def _look(self, engine: Engine, x: np.ndarray, box: Letterbox, s: InferSettings) -> np.ndarray:
        """One look: the invoke (two with mirror averaging), the letterbox cut away, the peak."""
        y = engine.run(x)
        if s.tta_flip:
            y = (y + engine.run(np.ascontiguousarray(x[:, ::-1]))[:, ::-1]) * np.float32(0.5)
        y = np.ascontiguousarray(y[box.top : box.top + box.height, box.left : box.left + box.width])
        if s.normalise_peak:
            peak = float(y.max())
            if s.peak_floor <= peak < 1.0:
                y = y * np.float32(1.0 / peak)
        return y

    def _wide_stage(self, s: InferSettings) -> ModelStage | None:
        """The coarse model of the wide look (loaded at its first use), or None when it is not this
        model's family (another model's map would not be the same model's view)."""
        from edgematte.models import resolve

        if self._wide is None or self._wide.card.name != s.wide_look_model:
            card = resolve(s.wide_look_model)
            if card.family != self.card.family or card.name == self.card.name:
                return None
            self._wide = ModelStage(card, self.threads)
        return self._wide

    def _wants_wide_look(self, first: np.ndarray, s: InferSettings) -> bool:
        """Whether the wide look runs: the first look found (almost) no subject and the coarse model
        is this model's family."""
        from edgematte import looks

        return looks.subject_share(first) < s.wide_look_below and self._wide_stage(s) is not None

    def _wide_look(self, m: ModelInput, first: np.ndarray, s: InferSettings, t: Timings) -> np.ndarray | None:
        """The wide look (looks.py): the whole working image through the coarse model; its map when
        it found more subject than the first look, else None (the first stands)."""
        from edgematte import looks

        stage = self._wide_stage(s)
        assert stage is not None  # _wants_wide_look said so
        with t.stage("wide_look"):
            card, engine = stage.pick(*m.work.shape[:2])
            x, box = prepare_input(m.work, card.input_hw, card.resize)
            wide = self._look(engine, x, box, s)
        return wide if looks.wider_subject(first, wide, s.wide_look_most) else None

    def _second_look(self, m: ModelInput, first: np.ndarray, s: InferSettings, t: Timings) -> np.ndarray | None:
        """The second look (looks.py) on the subject's crop of the working image, merged with the
        first at the working size; None when there is no subject or the crop is most of the frame."""
        from edgematte import looks

        work_hw = m.work.shape[:2]
        crop = looks.subject_crop(first, work_hw, s.second_look_pad)
        if crop is None or crop.area_fraction(*work_hw) > s.second_look_max_area:
            return None
        with t.stage("second_look"):
            close = np.ascontiguousarray(m.work[crop.top : crop.bottom, crop.left : crop.right])
            card, engine = self.pick(crop.height, crop.width)
            x, box = prepare_input(close, card.input_hw, card.resize)
            second = self._look(engine, x, box, s)
            return looks.merge_looks(first, second, crop, work_hw)

    def predict(self, work_rgb: np.ndarray, s: InferSettings, t: Timings) -> Prediction:
        """prepare + infer: the model's map for a working image (see `prepare`, `infer`)."""
        return self.infer(self.prepare(work_rgb, t), s, t)
