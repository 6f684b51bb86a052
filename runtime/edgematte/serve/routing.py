"""type=auto: is the photo of a person (the matting model) or of anything else (u2netp)?

A face says "person". MediaPipe's short-range face detector (BlazeFace, 128x128, ~3-6 ms an
invoke, models/face-short-range-fp16) is made for faces that fill a good part of its input, so
it looks at the whole photo (letterboxed) and then at overlapping squares (the short side, then
half of it, at half-square steps: ~14 looks for a 4:3 photo), stopping at the first face. A
photo is a person's when a face scores at least `FACE_SCORE`. The threshold is high on purpose:
sending a product to the matting model costs more quality than sending a person to u2netp
(which cuts people out well, only with harder hair), so the rule prefers "product" when
unsure. Measured on labelled eval photos by `python -m bench.routing`.
"""

from __future__ import annotations

import numpy as np

FACE_SCORE = 0.9  # best anchor's probability; MediaPipe's default is 0.5 (it tracks faces; we route photos)
LOOK_SIDE = 512  # px: the photo is scaled to this long side first; the smallest look is then >= 128 px
SQUARES = (1.0, 0.5)  # square looks, as fractions of the photo's short side


class PersonDetector:
    """The face detector, loaded once, answering `is_person(rgb)` (thread-safe).

    Parameters
    ----------
    threads
        Interpreter threads. Default 1: one invoke at 128x128 is a few ms.
    """

    def __init__(self, threads: int = 1):
        from edgematte.engine import Engine
        from edgematte.models import resolve, verified_path

        self.card = resolve("face-short-range")
        self._engine = Engine(verified_path(self.card), threads)

    def face_score(self, rgb: np.ndarray) -> float:
        """The best face probability in the photo (0..1).

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo of any size (letterboxed to the detector's 128x128, black bars).
        """
        from edgematte.infer import working_image

        mh, mw = self.card.input_hw
        small = working_image(rgb, None, max(mh, mw))
        h, w = small.shape[:2]
        x = np.zeros((mh, mw, 3), np.float32)
        top, left = (mh - h) // 2, (mw - w) // 2
        x[top : top + h, left : left + w] = small
        out = self._engine.run_tensors((x / np.float32(127.5) - np.float32(1.0))[None])
        logits = out["classificators"].reshape(-1)
        return float(1.0 / (1.0 + np.exp(-np.clip(logits.max(), -80.0, 80.0))))

    def looks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The views the detector is shown: the whole photo, then overlapping squares (module notes).

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        """
        from edgematte.infer import working_image

        rgb = working_image(rgb, None, LOOK_SIDE)  # once: every look is cut from this
        h, w = rgb.shape[:2]
        views = [rgb]
        for frac in SQUARES:
            side = max(1, int(min(h, w) * frac))
            ys = np.linspace(0, h - side, max(1, round((h - side) / (side / 2)) + 1)).astype(int)
            xs = np.linspace(0, w - side, max(1, round((w - side) / (side / 2)) + 1)).astype(int)
            views += [rgb[y : y + side, x : x + side] for y in ys for x in xs]
        return views

    def best_face(self, rgb: np.ndarray, stop_at: float = FACE_SCORE) -> float:
        """The best face score over every look, stopping early once one reaches `stop_at`.

        Parameters
        ----------
        rgb
            HxWx3 uint8 photo.
        stop_at
            Stop at the first look scoring this. Default FACE_SCORE; 1.0 looks at every view.
        """
        best = 0.0
        for view in self.looks(rgb):
            best = max(best, self.face_score(view))
            if best >= stop_at:
                break
        return best

    def is_person(self, rgb: np.ndarray) -> bool:
        """True when some look at the photo shows a face scoring at least FACE_SCORE."""
        return self.best_face(rgb) >= FACE_SCORE
