"""The evaluation images in ../shared/eval, read in place (never copied into the project).

Each set with ground truth yields (name, image path, GT path). `rembg_fixtures` has no
ground truth: it is our calibration split (INT8 calibration, threshold tuning), so no
image we report accuracy on is ever used to fit anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Sets with ground truth, in report order, and the GT value that means "unlabelled, ignore".
GT_SETS: dict[str, int | None] = {
    "grabcut50": 128,
    "ebay_synth_products": None,
    "coco_mval_products": None,
    "cleargrasp_transparent": None,
    "lemur_cc0": None,
}
# Sets whose GT is a binary object mask (IoU is meaningful); lemur's GT is a soft alpha.
BINARY_SETS = ("grabcut50", "ebay_synth_products", "coco_mval_products", "cleargrasp_transparent")
CALIBRATION_SET = "rembg_fixtures"
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def eval_root() -> Path:
    return Path(os.environ.get("EDGEMATTE_EVAL", REPO.parent / "shared" / "eval"))


def available() -> bool:
    return eval_root().is_dir()


@dataclass(frozen=True)
class Sample:
    set: str
    name: str
    image: Path
    gt: Path | None
    ignore: int | None

    @property
    def is_person(self) -> bool:
        return self.name.startswith("person") or self.name.startswith("girl")


def samples(set_name: str) -> list[Sample]:
    root = eval_root() / set_name
    if set_name == CALIBRATION_SET:
        return calibration_samples()
    out = []
    for img in sorted((root / "images").iterdir()):
        if img.suffix.lower() not in IMAGE_EXT:
            continue
        gt = root / "gt" / (img.stem + ".png")
        out.append(Sample(set_name, img.stem, img, gt if gt.exists() else None, GT_SETS.get(set_name)))
    return out


def calibration_samples() -> list[Sample]:
    """rembg's own example photos and test fixtures (no GT): animals, cars, people, plants, anime."""
    root = eval_root() / CALIBRATION_SET
    files = sorted((root / "examples").glob("*.jpg")) + sorted((root / "tests" / "fixtures").glob("*.jpg"))
    seen, out = set(), []
    for f in files:
        if f.name in seen:
            continue
        seen.add(f.name)
        out.append(Sample(CALIBRATION_SET, f.stem, f, None, None))
    return out


def people_samples() -> list[Sample]:
    """People photos with GT (grabcut50 person*); rembg girl-* fixtures have no GT."""
    return [s for s in samples("grabcut50") if s.name.startswith("person")]
