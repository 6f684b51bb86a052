"""--model auto and type=auto: the routing (routing.py) on labelled eval photos: `python -m bench.routing`.

Labels come from the file names, so nothing is labelled by us by eye: people are grabcut50's
person*, rembg_fixtures' girl-*; not people are every ebay_synth_products and
cleargrasp_transparent photo, every lemur_cc0 image (an animal), grabcut50's named objects and
animals, and rembg_fixtures' animal-*, car-*, plants-*, anime-girl-* (drawings: the matting
model is for photographed people). grabcut50's numbered Berkeley photos and COCO scenes are left
out: they mix people and objects without a label saying which is the subject.
Writes bench/results/routing.{json,md}.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from edgematte.routing import FACE_SCORE, SQUARES, PersonDetector
from evaluation import sets as evalsets
from evaluation.machine import machine

OUT = Path(__file__).resolve().parent / "results"


def labelled() -> list[tuple[str, Path, bool]]:
    root = evalsets.eval_root()
    out: list[tuple[str, Path, bool]] = []
    for s in evalsets.samples("grabcut50"):
        if re.fullmatch(r"\d+", s.name):
            continue
        out.append(("grabcut50", Path(s.image), s.name.startswith("person")))
    for name in ("ebay_synth_products", "cleargrasp_transparent", "lemur_cc0"):
        out += [(name, Path(s.image), False) for s in evalsets.samples(name)]
    for p in sorted((root / "rembg_fixtures" / "examples").glob("*.jpg")):
        out.append(("rembg_fixtures", p, p.name.startswith("girl-")))
    return out


def main() -> int:
    if not evalsets.available():
        print("eval images not found", file=sys.stderr)
        return 2
    d = PersonDetector()
    rows = []
    times = []
    for set_name, path, person in labelled():
        rgb = np.asarray(Image.open(path).convert("RGB"))
        t = time.perf_counter()
        score = d.best_face(rgb, stop_at=1.0)
        times.append(time.perf_counter() - t)
        rows.append(
            {
                "set": set_name,
                "image": path.name,
                "person": person,
                "score": round(score, 3),
                "routed_person": score >= FACE_SCORE,
            }
        )
    tp = sum(r["person"] and r["routed_person"] for r in rows)
    fp = sum(not r["person"] and r["routed_person"] for r in rows)
    fn = sum(r["person"] and not r["routed_person"] for r in rows)
    tn = sum(not r["person"] and not r["routed_person"] for r in rows)
    res = {
        "machine": machine(),
        "threshold": FACE_SCORE,
        "images": len(rows),
        "people": tp + fn,
        "not_people": tn + fp,
        "accuracy": round((tp + tn) / len(rows), 3),
        "people_routed_to_matting": f"{tp}/{tp + fn}",
        "not_people_routed_to_matting": f"{fp}/{fp + tn}",
        "median_ms": round(1000 * float(np.median(times)), 2),
        "misrouted": [r for r in rows if r["person"] != r["routed_person"]],
        "rows": rows,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "routing.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "# bench.routing: --model auto and type=auto, portrait or product",
        "",
        f"Machine: {res['machine']}. Face score threshold {FACE_SCORE}; looks: the whole photo and squares "
        f"of {', '.join(str(f) for f in SQUARES)} x its short side. {len(rows)} labelled photos "
        "(labels from file names; see the module notes).",
        "",
        f"- Accuracy: {res['accuracy']}.",
        f"- People routed to the matting model: {res['people_routed_to_matting']}.",
        f"- Not people routed to the matting model: {res['not_people_routed_to_matting']}.",
        f"- Detector time per photo, every look: {res['median_ms']} ms (median; a person photo stops at its "
        "first face).",
        "",
        "| set | image | person | face score |",
        "|---|---|---|---|",
    ]
    md += [f"| {r['set']} | {r['image']} | {r['person']} | {r['score']} |" for r in res["misrouted"]]
    (OUT / "routing.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
