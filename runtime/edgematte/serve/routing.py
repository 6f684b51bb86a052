"""type=auto: is the photo of a person (the matting model) or of anything else (u2netp)?

A face says "person". MediaPipe's short-range face detector (BlazeFace, 128x128, ~3-6 ms,
models/face-short-range-fp16) looks at the whole photo, letterboxed; a photo is a person's when
its best face score reaches `FACE_SCORE`. The threshold is high on purpose: sending a product to
the matting model costs more quality than sending a person to u2netp (which cuts people out
well, only with harder hair), so the rule prefers "product" when unsure. Measured on the eval
sets by `python -m bench.routing`.
"""

from __future__ import annotations

import numpy as np

FACE_SCORE = 0.85  # best anchor's probability; MediaPipe's own default threshold is 0.5 (it tracks, we route)


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

    def is_person(self, rgb: np.ndarray) -> bool:
        """True when the photo shows a face with a score of at least FACE_SCORE."""
        return self.face_score(rgb) >= FACE_SCORE
