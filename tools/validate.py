"""Accuracy of a converted model against its float original, and invoke latency.

Model-level (no refinement): each eval image is prepared as the runtime prepares it,
run through both models, and both maps are upsampled to the image size. Per set we
report the agreement of the two (IoU of the maps thresholded at 0.5, MAE) and each
model's IoU / MAE against ground truth.

The bar a variant must meet, per set: IoU vs GT within 1.0 point of the float
model's, and MAE (vs GT and vs the float map) within 0.01.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from evaluation import metrics
from evaluation import sets as evalsets

IOU_TOLERANCE = 0.01  # "within 1.0 IoU point"
MAE_TOLERANCE = 0.01


class ModelRunner:
    """Runs a .tflite (bytes or path) the way the runtime does, returning float maps at image size."""

    def __init__(self, model: bytes | str, resize: str, threads: int = 2):
        from edgematte.engine import Engine

        self.engine = Engine(model, threads)
        self.resize = resize

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        from edgematte.infer import prepare_input

        x, box = prepare_input(rgb, self.engine.input_hw, self.resize)
        y = self.engine.run(x)[box.top : box.top + box.height, box.left : box.left + box.width]
        return cv2.resize(y, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


@dataclass
class SetAccuracy:
    images: int
    agree_iou: float
    agree_mae: float
    gt_iou_float: float
    gt_iou: float
    gt_mae_float: float
    gt_mae: float

    def passes(self) -> bool:
        return (
            self.gt_iou >= self.gt_iou_float - IOU_TOLERANCE
            and self.gt_mae <= self.gt_mae_float + MAE_TOLERANCE
            and self.agree_mae <= MAE_TOLERANCE
        )

    def as_dict(self) -> dict[str, float | int | bool]:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        d["passes"] = self.passes()
        return d


def _read(sample: evalsets.Sample) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = cv2.cvtColor(cv2.imread(str(sample.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    gt = cv2.imread(str(sample.gt), cv2.IMREAD_GRAYSCALE) if sample.gt else None
    return rgb, gt


def people_and_fur(s: evalsets.Sample) -> bool:
    """A matting model's images: grabcut50's people, and every lemur_cc0 image (fur, exact alpha)."""
    return s.set != "grabcut50" or s.is_person


def compare(
    reference: ModelRunner,
    candidate: ModelRunner,
    sets: tuple[str, ...] | None = None,
    keep: Callable[[evalsets.Sample], bool] | None = None,
) -> dict[str, SetAccuracy]:
    out = {}
    for set_name in sets or tuple(evalsets.GT_SETS):
        rows = []
        for s in evalsets.samples(set_name):
            if keep is not None and not keep(s):
                continue
            rgb, gt = _read(s)
            a, b = reference(rgb), candidate(rgb)
            agree_iou, agree_mae = metrics.agreement(a, b)
            to8 = lambda m: np.clip(m * 255.0 + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
            sa, sb = metrics.score(to8(a), gt, s.ignore), metrics.score(to8(b), gt, s.ignore)
            rows.append((agree_iou, agree_mae, sa.iou, sb.iou, sa.mae, sb.mae))
        if not rows:
            continue
        r = np.array(rows, dtype=np.float64).mean(axis=0)
        out[set_name] = SetAccuracy(len(rows), *map(float, r))
    return out


def latency_ms(model: bytes | str, threads: int, runs: int = 20, warmup: int = 3) -> float:
    """Median invoke time (input set once), after warm-up."""
    runner = ModelRunner(model, "stretch", threads)
    e = runner.engine
    h, w = e.input_hw
    e.run(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8))
    for _ in range(warmup):
        e.invoke_only()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        e.invoke_only()
        times.append((time.perf_counter() - t) * 1000.0)
    return round(statistics.median(times), 2)
