"""Quality tables per eval set and model variant, and contact sheets of the worst cases.

`python -m bench.quality_report [--models u2netp-int8 u2netp-fp32 ...] [--best]`
-> bench/results/quality.{json,md} and bench/results/sheets/<model>_<set>.png (the 8 worst
images of each set by edge-band error: photo | ground truth | our alpha | cut-out on grey).
Metrics come from evaluation/metrics.py, the same code the tests assert with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from bench import quality
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
WORST = 8
TILE = 200  # px, long side of each contact-sheet cell


def _tile(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = TILE / max(h, w)
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    canvas = np.full((TILE, TILE, 3), 255, np.uint8)
    y, x = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small if small.ndim == 3 else small[..., None]
    return canvas


def contact_sheet(rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each row: label, photo, GT, alpha, cut-out over mid grey."""
    lines = []
    for label, photo, gt, alpha, cut in rows:
        cells = [_tile(photo), _tile(np.dstack([gt] * 3)), _tile(np.dstack([alpha] * 3)), _tile(cut)]
        line = np.hstack(cells)
        cv2.putText(line, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 0, 0), 1, cv2.LINE_AA)
        lines.append(line)
    return np.vstack(lines) if lines else np.zeros((1, 1, 3), np.uint8)


def report_model(name: str, best: bool, sets: list[str]) -> dict:
    from edgematte import Session
    from edgematte.kernels.composite import composite_colour

    s = Session(name, threads=2, best=best)
    label = name + ("+best" if best else "")
    results = quality.evaluate(lambda rgb: s.matte(rgb).alpha, sets=sets)
    out = {}
    sheets = OUT / "sheets"
    sheets.mkdir(parents=True, exist_ok=True)
    for set_name, res in results.items():
        out[set_name] = res.summary()
        worst = sorted(res.images, key=lambda r: -r.scores.edge_mae)[:WORST]
        rows = []
        by_name = {x.name: x for x in evalsets.samples(set_name)}
        for r in worst:
            sample = by_name[r.name]
            rgb, gt = quality.read_pair(sample)
            m = s.matte(rgb)
            cut = composite_colour(m.cutout_rgb, m.alpha, np.array([128, 128, 128], np.uint8))
            rows.append((f"{r.name} IoU {r.scores.iou:.2f} edge {r.scores.edge_mae:.3f}", rgb, gt, m.alpha, cut))
        sheet = contact_sheet(rows)
        cv2.imwrite(str(sheets / f"{label}_{set_name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"{label:22} {set_name:24} " + "  ".join(f"{k} {v}" for k, v in out[set_name].items()), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    from evaluation.machine import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["u2netp-int8", "u2netp-fp16", "u2netp-fp32"])
    ap.add_argument("--best", action="store_true", help="also run each model with mirror averaging")
    ap.add_argument("--sets", nargs="*", default=list(evalsets.GT_SETS))
    args = ap.parse_args(argv)
    if not evalsets.available():
        print(f"eval images not found at {evalsets.eval_root()}")
        return 2
    table: dict = {}
    for name in args.models:
        table[name] = report_model(name, False, args.sets)
        if args.best:
            table[name + "+best"] = report_model(name, True, args.sets)
    OUT.mkdir(exist_ok=True)
    previous = json.loads((OUT / "quality.json").read_text()) if (OUT / "quality.json").exists() else {}
    merged = {**previous.get("models", {}), **table}
    (OUT / "quality.json").write_text(json.dumps({"machine": machine(), "models": merged}, indent=2) + "\n")
    md = [
        "IoU: alpha > 127 vs GT > 127; MAE, SAD (thousands) and edge-band MAE (8 px, square band) on 0..1 "
        "alpha; grabcut50's unlabelled band ignored. Full pipeline (model + refinement).",
        "",
    ]
    for set_name in args.sets:
        md += [f"### {set_name}", "", "| model | IoU | MAE | SAD | edge MAE | images |", "|---|---|---|---|---|---|"]
        for model, sets in merged.items():
            if set_name in sets:
                r = sets[set_name]
                md.append(
                    f"| {model} | {r['iou']:.4f} | {r['mae']:.4f} | {r['sad']:.2f} | {r['edge_mae']:.4f} | "
                    f"{r['images']} |"
                )
        md.append("")
    (OUT / "quality.md").write_text("\n".join(md))
    print(f"wrote {OUT / 'quality.md'} and contact sheets in {OUT / 'sheets'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
