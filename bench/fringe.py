"""Colour fringe side by side: `python -m bench.fringe [--sets grabcut50 ebay_synth_products]`.

The old backdrop surviving in a cut-out's soft band (evaluation.metrics.fringe_shift: the mean
colour shift toward the old backdrop in the 8 px edge band, in levels, once composited), for
our default still path and rembg 2.0.86's u2netp (as it cuts out, and with its `decontaminate`
option), on every photo of each set with ground truth, composited on white and on black.
Writes `results/fringe.json` and a crop sheet `results/fringe_crops.png`: for the three photos
with the largest fringe in rembg's plain cut-out, the photo and each tool's cut-out on white,
around the 31 px square where rembg's fringe is worst. Requires `pip install -e .[peers]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import cv2
import numpy as np

from edgematte.compositing import Backdrop
from evaluation import metrics
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}


def _on(rgba: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return Backdrop(colour=colour).over(rgba[..., :3], rgba[..., 3])


def _crop(img: np.ndarray, cy: int, cx: int, size: int = 96) -> np.ndarray:
    h, w = img.shape[:2]
    y0, x0 = max(0, min(h - size, cy - size // 2)), max(0, min(w - size, cx - size // 2))
    return cv2.resize(img[y0 : y0 + size, x0 : x0 + size], (size * 2, size * 2), interpolation=cv2.INTER_NEAREST)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["grabcut50", "ebay_synth_products"])
    args = ap.parse_args(argv)
    from rembg import remove

    from bench.peers import _machine, rembg_session
    from edgematte.still import Output, Session

    ours = Session(threads=2)
    rembg = rembg_session()
    tools = {
        "edgematte": lambda rgb: ours.render(ours.matte(rgb), Output.of(format=None)),
        "rembg u2netp": lambda rgb: np.asarray(remove(rgb, session=rembg)),
        "rembg u2netp decontaminate": lambda rgb: np.asarray(remove(rgb, session=rembg, decontaminate=True)),
    }
    rows: dict[str, dict[str, dict[str, float]]] = {}
    worst: list[tuple[float, str, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
    for set_name in args.sets:
        rows[set_name] = {}
        per_tool: dict[str, dict[str, list[float]]] = {t: {b: [] for b in BACKGROUNDS} for t in tools}
        for s in evalsets.samples(set_name):
            if s.gt is None:
                continue
            rgb = cv2.cvtColor(cv2.imread(str(s.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            gt = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
            cuts = {t: f(rgb) for t, f in tools.items()}
            for t, cut in cuts.items():
                for b, colour in BACKGROUNDS.items():
                    per_tool[t][b].append(metrics.fringe_shift(rgb, cut, gt, colour))
            worst.append((per_tool["rembg u2netp"]["white"][-1], f"{set_name}/{s.name}", rgb, gt, cuts))
            worst = sorted(worst, key=lambda w: -w[0])[:3]
        for t in tools:
            rows[set_name][t] = {
                f"{b}_{k}": (statistics.mean(v) if k == "mean" else statistics.median(v))
                for b, v in per_tool[t].items()
                for k in ("mean", "median")
            }
        line = "; ".join(
            f"{t}: white {r['white_mean']:.2f} / black {r['black_mean']:.2f}" for t, r in rows[set_name].items()
        )
        print(f"{set_name} (mean fringe shift, levels): {line}", flush=True)
    sheet_rows = []
    for _, name, rgb, gt, cuts in worst:
        shift, judged = metrics.fringe_map(rgb, cuts["rembg u2netp"], gt, BACKGROUNDS["white"])
        local = cv2.boxFilter(np.where(judged, shift, 0).astype(np.float32), -1, (31, 31))
        cy, cx = np.unravel_index(int(np.argmax(local)), local.shape)  # where rembg's fringe is worst
        tiles = [_crop(rgb, int(cy), int(cx))]
        tiles += [_crop(_on(cuts[t], BACKGROUNDS["white"]), int(cy), int(cx)) for t in tools]
        sheet_rows.append(np.hstack(tiles))
        print(f"crop: {name} (photo | {' | '.join(tools)})")
    OUT.mkdir(exist_ok=True)
    if sheet_rows:
        cv2.imwrite(str(OUT / "fringe_crops.png"), cv2.cvtColor(np.vstack(sheet_rows), cv2.COLOR_RGB2BGR))
    result = {"machine": _machine(), "crops": [w[1] for w in worst], "sets": rows}
    (OUT / "fringe.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
