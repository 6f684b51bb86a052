"""Colour fringe and decontamination side by side: `python -m bench.fringe [--sets ...]`.

The old backdrop surviving in a cut-out's soft band (evaluation.metrics.fringe_shift: the mean
colour shift toward the old backdrop in the 8 px edge band, in levels, once composited), on every
photo of each set with ground truth, composited on white and on black, for: our default still
path (`--model auto`: u2netp, or MODNet for portraits and furry faces), the same without despill
(despill.py: before / after), and rembg 2.0.86's u2netp as it cuts
out and with its `decontaminate` option. Then the foreground colours against lemur_cc0's exact
ones (mean |a F_est - a F| over its fractional pixels, the exact alpha as weight, so alpha errors
do not count), per composite, the fur-coloured backdrop included.
Writes `results/fringe.json` and `results/fringe_crops.jpg`: for the photos with the largest
fringe in rembg's plain cut-out on white and in ours without despill on black, the photo and each
tool's cut-out on white and on black, around the 31 px square where that fringe is worst.
Requires `pip install -e .[peers]`; bench.quality_report runs the same in its one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from edgematte.compositing import Backdrop
from evaluation import metrics
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}
NO_DESPILL = "edgematte, no despill"


def _on(rgba: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return Backdrop(colour=colour).over(rgba[..., :3], rgba[..., 3])


def _crop(img: np.ndarray, cy: int, cx: int, size: int = 96) -> np.ndarray:
    h, w = img.shape[:2]
    y0, x0 = max(0, min(h - size, cy - size // 2)), max(0, min(w - size, cx - size // 2))
    return cv2.resize(img[y0 : y0 + size, x0 : x0 + size], (size * 2, size * 2), interpolation=cv2.INTER_NEAREST)


def tools(rembg_session=None) -> dict[str, Callable[[np.ndarray], np.ndarray]]:  # type: ignore[no-untyped-def]
    """rgb -> RGBA cut-out, per tool (rembg's two when a rembg session is given)."""
    from edgematte.still import Output, Session

    ours = Session("auto", threads=2)  # the default: u2netp, or the matting model for portraits and fur
    plain = Session("auto", threads=2)
    for attr in ("settings", "person_settings"):  # each model keeps its own settings, without despill
        st = getattr(plain, attr)
        setattr(plain, attr, st.with_(foreground=replace(st.foreground, despill=False)))
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "edgematte": lambda rgb: ours.render(ours.matte(rgb), Output.of(format=None)),
        NO_DESPILL: lambda rgb: plain.render(plain.matte(rgb), Output.of(format=None)),
    }
    if rembg_session is not None:
        from rembg import remove

        out["rembg u2netp"] = lambda rgb: np.asarray(remove(rgb, session=rembg_session))
        out["rembg u2netp decontaminate"] = lambda rgb: np.asarray(
            remove(rgb, session=rembg_session, decontaminate=True)
        )
    return out


def _worst_square(rgb: np.ndarray, cut: np.ndarray, gt: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, int]:
    shift, judged = metrics.fringe_map(rgb, cut, gt, colour)
    local = cv2.boxFilter(np.where(judged, shift, 0).astype(np.float32), -1, (31, 31))
    cy, cx = np.unravel_index(int(np.argmax(local)), local.shape)
    return int(cy), int(cx)


def lemur_foreground(cutters: dict[str, Callable[[np.ndarray], np.ndarray]]) -> dict[str, dict[str, float]]:
    """Per tool and lemur_cc0 composite: mean |a F_est - a F| (0..1) with the exact alpha a."""
    root = evalsets.eval_root() / "lemur_cc0"
    black = cv2.cvtColor(cv2.imread(str(root / "images" / "lemur_synth_black.png")), cv2.COLOR_BGR2RGB)  # = a F
    out: dict[str, dict[str, float]] = {t: {} for t in cutters}
    for s in evalsets.samples("lemur_cc0"):
        if s.name == "lemur_real":  # pseudo-GT only
            continue
        rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
        gt = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
        for t, cut in cutters.items():
            err = metrics.premultiplied_error(cut(rgb)[..., :3], gt, black)
            out[t][s.name.removeprefix("lemur_synth_")] = round(err, 4)
    for t in out:
        out[t]["mean"] = round(statistics.mean(out[t].values()), 4)
    return out


def run(sets: list[str], rembg_session=None) -> dict:  # type: ignore[no-untyped-def]
    """Measure the fringe per set and tool, the lemur foreground error, and draw the crops."""
    from evaluation.machine import machine

    cutters = tools(rembg_session)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    picks: list[tuple[float, str, str, tuple[int, int, int], np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
    for set_name in sets:
        per_tool: dict[str, dict[str, list[float]]] = {t: {b: [] for b in BACKGROUNDS} for t in cutters}
        for s in evalsets.samples(set_name):
            if s.gt is None:
                continue
            rgb = cv2.cvtColor(cv2.imread(str(s.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            gt = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
            cuts = {t: f(rgb) for t, f in cutters.items()}
            for t, cut in cuts.items():
                for b, colour in BACKGROUNDS.items():
                    per_tool[t][b].append(metrics.fringe_shift(rgb, cut, gt, colour))
            name = f"{set_name}/{s.name}"
            for judge, b in (("rembg u2netp", "white"), (NO_DESPILL, "black")):
                if judge in per_tool:
                    picks.append((per_tool[judge][b][-1], judge, name, BACKGROUNDS[b], rgb, gt, cuts))
            picks = sorted(picks, key=lambda p: -p[0])[:8]
        rows[set_name] = {
            t: {f"{b}_mean": round(statistics.mean(v), 2) for b, v in per_tool[t].items()} for t in cutters
        }
        line = "; ".join(f"{t}: {r['white_mean']:.1f} / {r['black_mean']:.1f}" for t, r in rows[set_name].items())
        print(f"{set_name} (mean fringe shift on white / black, levels): {line}", flush=True)
    chosen, seen = [], set()
    for judge in ("rembg u2netp", NO_DESPILL):  # the 2 worst of each judge, distinct photos
        for p in [p for p in picks if p[1] == judge and p[2] not in seen][:2]:
            chosen.append(p)
            seen.add(p[2])
    sheet_rows = []
    for _, judge, _name, colour, rgb, gt, cuts in chosen:
        cy, cx = _worst_square(rgb, cuts[judge], gt, colour)
        tiles = [_crop(rgb, cy, cx)]
        for b in BACKGROUNDS.values():
            tiles += [_crop(_on(cuts[t], b), cy, cx) for t in cutters]
        sheet_rows.append(np.hstack(tiles))
    OUT.mkdir(exist_ok=True)
    if sheet_rows:
        sheet = cv2.cvtColor(np.vstack(sheet_rows), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(OUT / "fringe_crops.jpg"), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    result = {
        "machine": machine(),
        "sets": rows,
        "lemur_foreground_error": lemur_foreground(cutters),
        "crops": [p[2] for p in chosen],
        "crop_columns": ["photo"] + [f"{t} on {b}" for b in BACKGROUNDS for t in cutters],
    }
    (OUT / "fringe.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def markdown(result: dict) -> list[str]:
    """The decontamination section of quality.md."""
    tool_names = list(next(iter(result["sets"].values())))
    md = [
        "### Colour fringe and decontamination (`python -m bench.fringe`)",
        "",
        "Mean shift toward the old backdrop in the 8 px band once composited (levels, lower is better; "
        "alpha spilt onto the backdrop counts).",
        "",
        "| set | on | " + " | ".join(tool_names) + " |",
        "|---|---|" + "---|" * len(tool_names),
    ]
    for set_name, r in result["sets"].items():
        for b in BACKGROUNDS:
            md.append(f"| {set_name} | {b} | " + " | ".join(f"{r[t][f'{b}_mean']:.1f}" for t in tool_names) + " |")
    lemur = result["lemur_foreground_error"]
    shots = [k for k in next(iter(lemur.values())) if k != "mean"]
    md += [
        "",
        "Foreground colours against lemur_cc0's exact ones: mean |a F_est - a F| (0..1, exact alpha), per "
        "composite (`furcolour`: a backdrop the colour of the fur).",
        "",
        "| tool | mean | " + " | ".join(shots) + " |",
        "|---|---|" + "---|" * len(shots),
    ]
    for t, r in lemur.items():
        md.append(f"| {t} | {r['mean']:.4f} | " + " | ".join(f"{r[k]:.4f}" for k in shots) + " |")
    md += [
        "",
        f"Crops (`results/fringe_crops.jpg`, one row each: {', '.join(result['crops'])}): "
        + " | ".join(result["crop_columns"]),
        "",
    ]
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["grabcut50", "ebay_synth_products"])
    args = ap.parse_args(argv)
    from bench.peers import rembg_session

    print("\n".join(markdown(run(args.sets, rembg_session()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
