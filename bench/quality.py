"""Quality of the full still pipeline (model + refinement) on ../shared/eval.

`evaluate()` is what the tests, the tuning and the report all call, so the numbers in
the README, the closing notes and the assertions come from one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from evaluation import metrics
from evaluation import sets as evalsets


@dataclass
class ImageResult:
    set: str
    name: str
    scores: metrics.Scores
    seconds: float


@dataclass
class SetResult:
    set: str
    images: list[ImageResult] = field(default_factory=list)

    def mean(self, key: str) -> float:
        vals = [getattr(r.scores, key) for r in self.images]
        return float(np.mean(vals)) if vals else float("nan")

    def summary(self) -> dict[str, float]:
        return {k: round(self.mean(k), 4) for k in ("iou", "mae", "sad", "edge_mae")} | {"images": len(self.images)}


def read_pair(s: evalsets.Sample) -> tuple[np.ndarray, np.ndarray]:
    rgb = cv2.cvtColor(cv2.imread(str(s.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    gt = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
    return rgb, gt


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    sets: Iterable[str] = evalsets.GT_SETS,
    select: Callable[[evalsets.Sample], bool] | None = None,
) -> dict[str, SetResult]:
    """Run `predict(rgb) -> alpha uint8` over each set's images and score against GT."""
    import time

    out: dict[str, SetResult] = {}
    for set_name in sets:
        res = SetResult(set_name)
        for s in evalsets.samples(set_name):
            if s.gt is None or (select is not None and not select(s)):
                continue
            rgb, gt = read_pair(s)
            t = time.perf_counter()
            alpha = predict(rgb)
            dt = time.perf_counter() - t
            sc = metrics.score(alpha, gt, s.ignore)
            if set_name == "lemur_cc0":
                sc.grad = metrics.gradient_error(alpha, gt)
            res.images.append(ImageResult(set_name, s.name, sc, dt))
        out[set_name] = res
    return out


@lru_cache(maxsize=16)
def _order(set_name: str) -> dict[str, int]:
    return {x.name: i for i, x in enumerate(evalsets.samples(set_name))}


def dev_split(s: evalsets.Sample) -> bool:
    """Even-numbered images of each set: where refinement defaults were tuned."""
    return _order(s.set)[s.name] % 2 == 0


def held_out(s: evalsets.Sample) -> bool:
    return not dev_split(s)
