"""--model auto and type=auto: the routing (routing.py) on labelled eval photos: `python -m bench.routing`.

Labels come from the file names, so nothing is labelled by us by eye: people are grabcut50's
person*, rembg_fixtures' girl-*; animals are every lemur_cc0 image and rembg_fixtures' animal-*;
everything else is an object: every ebay_synth_products and cleargrasp_transparent photo,
grabcut50's named objects, and rembg_fixtures' car-*, plants-*, anime-girl-* (drawings: the
matting model is for photographed hair and fur). grabcut50's numbered Berkeley photos and COCO
scenes are left out: they mix people and objects without a label saying which is the subject.

Each photo goes through `Session('auto').matte`, so the whole rule is measured: the face
detector's tier, and for an unsure face the selfie segmenter's and the matte's soft-edge checks.
People should end with the matting model's matte, objects with u2netp's; animals are reported
apart (a furry animal with a face is the matting model's case, a hard-edged one is not).
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

from edgematte.routing import FACE_SCORE, FACE_UNSURE, NO_FACE, PERSON, SOFT_EDGE_PX, SQUARES
from evaluation import sets as evalsets
from evaluation.machine import machine

OUT = Path(__file__).resolve().parent / "results"
LABELS = ("person", "animal", "object")


def labelled() -> list[tuple[str, Path, str]]:
    root = evalsets.eval_root()
    out: list[tuple[str, Path, str]] = []
    for s in evalsets.samples("grabcut50"):
        if re.fullmatch(r"\d+", s.name):
            continue
        out.append(("grabcut50", Path(s.image), "person" if s.name.startswith("person") else "object"))
    for name in ("ebay_synth_products", "cleargrasp_transparent"):
        out += [(name, Path(s.image), "object") for s in evalsets.samples(name)]
    out += [("lemur_cc0", Path(s.image), "animal") for s in evalsets.samples("lemur_cc0")]
    for p in sorted((root / "rembg_fixtures" / "examples").glob("*.jpg")):
        label = "person" if p.name.startswith("girl-") else "animal" if p.name.startswith("animal-") else "object"
        out.append(("rembg_fixtures", p, label))
    return out


def main() -> int:
    if not evalsets.available():
        print("eval images not found", file=sys.stderr)
        return 2
    from edgematte import Session
    from edgematte.decode import decode

    session = Session("auto", threads=2)
    rows = []
    times = []
    for set_name, path, label in labelled():
        rgb = np.asarray(Image.open(path).convert("RGB"))
        image = decode(rgb)
        t = time.perf_counter()
        tier = session.route(image)
        times.append(time.perf_counter() - t)
        m = session.matte(rgb)
        rows.append(
            {
                "set": set_name,
                "image": path.name,
                "label": label,
                "tier": tier,
                "matting": m.kind == PERSON,
                "model": m.model,
                "route_ms": round(1000 * m.timings.stages.get("route", 0.0), 2),
            }
        )
    per = {
        label: (sum(r["matting"] for r in rows if r["label"] == label), sum(r["label"] == label for r in rows))
        for label in LABELS
    }
    right = sum(r["matting"] == (r["label"] == "person") for r in rows if r["label"] != "animal")
    judged = sum(r["label"] != "animal" for r in rows)
    face = {
        label: (sum(r["tier"] != NO_FACE for r in rows if r["label"] == label), sum(r["label"] == label for r in rows))
        for label in LABELS
    }
    res = {
        "machine": machine(),
        "face_score": FACE_SCORE,
        "face_unsure": FACE_UNSURE,
        "soft_edge_px": SOFT_EDGE_PX,
        "images": len(rows),
        "accuracy_people_vs_objects": round(right / judged, 3),
        "matting_model": {label: f"{n}/{of}" for label, (n, of) in per.items()},
        "face_found": {label: f"{n}/{of}" for label, (n, of) in face.items()},
        "detector_median_ms": round(1000 * float(np.median(times)), 2),
        "misrouted": [r for r in rows if r["label"] != "animal" and r["matting"] != (r["label"] == "person")],
        "rows": rows,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "routing.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "# bench.routing: --model auto and type=auto, which model's matte each photo ends with",
        "",
        f"Machine: {res['machine']}. A face at {FACE_SCORE} or more is a portrait: the matting model's matte is "
        f"kept when it cuts out u2netp's subject; one at {FACE_UNSURE} or more is unsure: the selfie segmenter "
        f"must agree and the matte's soft edge be at least {SOFT_EDGE_PX} px wide all round (fur; routing.py). "
        "Face looks: the whole photo and squares of "
        f"{', '.join(str(f) for f in SQUARES)} x its short side. {len(rows)} labelled photos (labels from "
        "file names; see the module notes); each one through `Session('auto').matte`.",
        "",
        f"- The route (a face found, portrait or unsure): people {res['face_found']['person']}, objects "
        f"{res['face_found']['object']}, animals {res['face_found']['animal']}.",
        f"- People vs objects, the matte kept: {res['accuracy_people_vs_objects']} ({right}/{judged}) right.",
        f"- People ending with the matting model's matte: {res['matting_model']['person']}.",
        f"- Objects ending with the matting model's matte: {res['matting_model']['object']}.",
        f"- Animals ending with the matting model's matte: {res['matting_model']['animal']} "
        "(lemur_cc0's fur: wanted; rembg_fixtures' animals: see the table).",
        f"- Face detector per photo, every look: {res['detector_median_ms']} ms (median).",
        "",
        "Misrouted people and objects, and every animal:",
        "",
        "| set | image | label | face tier | matte from |",
        "|---|---|---|---|---|",
    ]
    shown = res["misrouted"] + [r for r in rows if r["label"] == "animal"]
    md += [f"| {r['set']} | {r['image']} | {r['label']} | {r['tier']} | {r['model']} |" for r in shown]
    (OUT / "routing.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
