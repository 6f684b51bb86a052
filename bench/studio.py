"""Studio mode measured: synthetic studio shots with exact alpha, and cleargrasp's real pairs.

`python -m bench.studio [--no-rembg]` (bench.quality_report runs the same in its one run)
-> results/studio.json, results/studio_shots.jpg, results/studio_cleargrasp.jpg.

- Synthetic shots (evaluation/studio_shots.py: clear glass, clear plastic, a half-transparent
  lemur; an opaque mug and the opaque lemur, whose white fur sits on white; each on white and on
  a grey gradient, with noise): per shot, the alpha MAE against the exact alpha, IoU (alpha > 127,
  the opaque ones) and the re-composite error: the cut-out on a new colourful scene against the
  exact composite on it (levels, over the product's box). Rows: rembg u2netp, our default, ours
  with `--studio`.
- cleargrasp_transparent's real photos: each scene's transparent and opaque versions (the same
  mask) side by side, the default and `--studio` cut-outs on the same new scene, and what studio
  mode said (its tables are not plain backdrops, so it mostly declines).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from evaluation import metrics, studio_shots
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
CELL = 240  # px, width of each sheet cell


def _cell(img: np.ndarray) -> np.ndarray:
    img = img if img.ndim == 3 else np.dstack([img] * 3)
    h, w = img.shape[:2]
    return cv2.resize(img, (CELL, max(1, round(CELL * h / w))), interpolation=cv2.INTER_AREA)


def _on_scene(alpha: np.ndarray, fg: np.ndarray) -> np.ndarray:
    h, w = alpha.shape
    a = alpha.astype(np.float32)[..., None] / 255.0
    return np.clip(a * fg + (1 - a) * studio_shots.scene(h, w), 0, 255).astype(np.uint8)


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    return np.vstack([cv2.copyMakeBorder(r, 0, 3, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows])


def run(rembg_cutout: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """Measure every synthetic shot and draw both sheets; returns what results/studio.json holds.

    Parameters
    ----------
    rembg_cutout
        rgb -> RGBA cut-out by rembg (bench.quality_report passes its session), or None.
    """
    from edgematte import Session

    tools: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, str]]] = {}
    if rembg_cutout is not None:
        tools["rembg u2netp"] = lambda rgb: (*_split(rembg_cutout(rgb)), "")
    plain, studio = Session("u2netp-int8", threads=2), Session("u2netp-int8", threads=2, studio=True)
    ms_studio: list[float] = []

    def ours(session: Session) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, str]]:
        def cut(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
            m = session.matte(rgb)
            if "studio" in m.timings.stages:
                ms_studio.append(1000 * m.timings.stages["studio"])
            return m.alpha, m.cutout_rgb, m.studio

        return cut

    tools["edgematte"] = ours(plain)
    tools["edgematte --studio"] = ours(studio)
    shots: dict[str, dict] = {}
    sheet = []
    for shot in studio_shots.shots():
        exact = np.round(shot.alpha * 255).astype(np.uint8)
        row = {"transparent": shot.transparent}
        cells = [_cell(shot.image)]
        for name, tool in tools.items():
            alpha, fg, note = tool(shot.image)
            row[name] = {
                "alpha_mae": round(float(np.abs(alpha / 255.0 - shot.alpha).mean()), 4),
                "iou": round(metrics.iou(alpha, exact), 4),
                "recomposite": round(studio_shots.recomposite_error(shot, alpha, fg), 2),
            } | ({"note": note} if note else {})
            cells.append(_cell(_on_scene(alpha, fg)))
        exact_on = _on_scene(exact, shot.fg.clip(0, 255))
        cells.append(_cell(exact_on))
        line = np.hstack(cells)
        cv2.putText(line, shot.name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 0, 0), 1, cv2.LINE_AA)
        sheet.append(line)
        shots[shot.name] = row
        print(f"{shot.name:24} " + "  ".join(f"{t}: recomp {row[t]['recomposite']:.1f}" for t in tools), flush=True)
    OUT.mkdir(exist_ok=True)
    cv2.imwrite(str(OUT / "studio_shots.jpg"), cv2.cvtColor(_stack(sheet), cv2.COLOR_RGB2BGR))
    summary = {}
    for name in tools:
        for kind, names in (("transparent", studio_shots.TRANSPARENT), ("opaque", studio_shots.OPAQUE)):
            picked = [r[name] for k, r in shots.items() if k.split("_on_")[0] in names]
            summary.setdefault(name, {})[kind] = {
                k: round(statistics.mean(p[k] for p in picked), 4) for k in ("alpha_mae", "iou", "recomposite")
            }
    pairs = cleargrasp_pairs(plain, studio)
    result = {
        "summary": summary,
        "shots": shots,
        "cleargrasp": pairs,
        "studio_ms_p50": round(statistics.median(ms_studio), 1) if ms_studio else None,
    }
    (OUT / "studio.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _split(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(rgba[..., 3]), np.ascontiguousarray(rgba[..., :3])


def cleargrasp_pairs(plain, studio) -> dict:  # type: ignore[no-untyped-def]
    """Each real cleargrasp scene, transparent above opaque: photo | default | --studio on a new scene."""
    from bench import quality

    samples = {s.name: s for s in evalsets.samples("cleargrasp_transparent")}
    scenes = sorted({n.rsplit("_", 1)[0] for n in samples if n.startswith("real_")})
    rows, out = [], {}
    for scene_name in scenes:
        for kind in ("transparent", "opaque"):
            s = samples.get(f"{scene_name}_{kind}")
            if s is None:
                continue
            rgb, gt = quality.read_pair(s)
            a, b = plain.matte(rgb), studio.matte(rgb)
            out[s.name] = {
                "iou": round(metrics.iou(a.alpha, gt), 4),
                "iou_studio": round(metrics.iou(b.alpha, gt), 4),
                "studio": b.studio,
            }
            cells = [rgb, _on_scene(a.alpha, a.cutout_rgb), _on_scene(b.alpha, b.cutout_rgb)]
            line = np.hstack([_cell(c) for c in cells])
            label = f"{s.name}: {b.studio[:60]}"
            cv2.putText(line, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 0, 0), 1, cv2.LINE_AA)
            rows.append(line)
    if rows:
        cv2.imwrite(str(OUT / "studio_cleargrasp.jpg"), cv2.cvtColor(_stack(rows), cv2.COLOR_RGB2BGR))
    return out


def markdown(result: dict) -> list[str]:
    """The studio section of quality.md."""
    md = [
        "### Studio mode (synthetic studio shots with exact alpha; `python -m bench.studio`)",
        "",
        "Means over the shots (each on white and on a grey gradient). Re-composite: the cut-out on a new "
        "scene against the exact composite, levels over the product's box (lower is better).",
        "",
        "| tool | transparent: alpha MAE | re-composite | opaque: alpha MAE | IoU | re-composite |",
        "|---|---|---|---|---|---|",
    ]
    for tool, s in result["summary"].items():
        t, o = s["transparent"], s["opaque"]
        md.append(
            f"| {tool} | {t['alpha_mae']:.4f} | {t['recomposite']:.1f} | {o['alpha_mae']:.4f} | {o['iou']:.4f} | "
            f"{o['recomposite']:.1f} |"
        )
    md += ["", "| shot | " + " | ".join(result["summary"]) + " |", "|---|" + "---|" * len(result["summary"])]
    for shot, row in result["shots"].items():
        md.append(f"| {shot} | " + " | ".join(f"{row[t]['recomposite']:.1f}" for t in result["summary"]) + " |")
    md += [
        "",
        f"Studio stage: p50 {result['studio_ms_p50']} ms per shot (800 x 600). Sheet: `results/studio_shots.jpg` "
        "(shot | each tool's cut-out on the new scene | the exact composite).",
        "",
        "cleargrasp's real pairs (`results/studio_cleargrasp.jpg`: photo | default | --studio, on the new scene):",
        "",
        "| photo | IoU | IoU --studio | studio mode said |",
        "|---|---|---|---|",
    ]
    for name, r in result["cleargrasp"].items():
        md.append(f"| {name} | {r['iou']:.4f} | {r['iou_studio']:.4f} | {r['studio']} |")
    md.append("")
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-rembg", action="store_true", help="leave rembg out (no peers extra installed)")
    args = ap.parse_args(argv)
    rembg = None
    if not args.no_rembg:
        from bench.quality_report import rembg_cutout

        rembg = rembg_cutout()
    result = run(rembg)
    print("\n".join(markdown(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
