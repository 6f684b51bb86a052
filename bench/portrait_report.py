"""People and hair: MODNet vs u2netp vs the selfie model, each with our refinement.

`python -m bench.portrait_report` -> bench/results/portrait.{json,md} and portrait_hair.jpg.

- grabcut50 person*: IoU, MAE, SAD, edge-band MAE against GT (the same metrics module the tests use);
- lemur_cc0 (fur, exact alpha on the 9 synthetic composites): alpha SAD, MAE, gradient error, and
  the foreground-colour error of our estimation (mean |a F_est - a F_true| over the fractional
  alpha; lemur_synth_black is a F exactly), next to the error of keeping the photo's colours;
- a contact sheet of hair crops (photo | each model's cut-out over a flat colour) for people
  photos, for a person to judge.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from bench import quality
from evaluation import metrics
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
MODELS = ("modnet", "u2netp-int8", "selfie-general-fp32")
SHEET_BG = np.array([40, 110, 200], np.uint8)  # saturated blue: any fringe of the old background shows
CROP = 220  # px, hair crop cell


def _people() -> list[evalsets.Sample]:
    return [s for s in evalsets.samples("grabcut50") if s.is_person]


def people_rows(session) -> dict:  # type: ignore[no-untyped-def]
    res = quality.evaluate(lambda rgb: session.matte(rgb).alpha, sets=["grabcut50"], select=lambda s: s.is_person)
    return res["grabcut50"].summary()


def lemur_rows(session) -> dict:  # type: ignore[no-untyped-def]
    samples = {s.name: s for s in evalsets.samples("lemur_cc0")}
    black, _ = quality.read_pair(samples["lemur_synth_black"])  # = a F exactly
    rows = {"sad": [], "mae": [], "grad": [], "fg_error": [], "fg_error_photo_colours": []}
    for name, s in samples.items():
        if name == "lemur_real":
            continue  # pseudo-GT only
        rgb, gt = quality.read_pair(s)
        m = session.matte(rgb)
        sc = metrics.score(m.alpha, gt)
        rows["sad"].append(sc.sad)
        rows["mae"].append(sc.mae)
        rows["grad"].append(metrics.gradient_error(m.alpha, gt))
        rows["fg_error"].append(metrics.premultiplied_error(m.cutout_rgb, gt, black))
        rows["fg_error_photo_colours"].append(metrics.premultiplied_error(rgb, gt, black))
    return {k: round(float(np.mean(v)), 4) for k, v in rows.items()} | {"images": len(rows["sad"])}


def _hair_crop(rgb: np.ndarray, alpha: np.ndarray) -> tuple[int, int, int]:
    """(x, y, size) of a square around the top of the subject: where the hair is."""
    ys, xs = np.nonzero(alpha > 127)
    h, w = alpha.shape
    if ys.size == 0:
        return 0, 0, min(h, w)
    top = int(ys.min())
    cols = xs[ys < top + max(4, (ys.max() - top) // 6)]
    cx = int(np.median(cols))
    size = int(min(h, w, max(64, (xs.max() - xs.min()) * 0.6)))
    x = min(max(cx - size // 2, 0), w - size)
    y = min(max(top - size // 5, 0), h - size)
    return x, y, size


def hair_sheet(sessions: dict, photos: list[tuple[str, np.ndarray]]) -> np.ndarray:  # type: ignore[type-arg]
    from edgematte.kernels.composite import composite_colour

    rows = []
    for label, rgb in photos:
        mattes = {n: s.matte(rgb) for n, s in sessions.items()}
        x, y, size = _hair_crop(rgb, mattes["modnet"].alpha)
        sl = (slice(y, y + size), slice(x, x + size))
        cells = [rgb[sl]]
        for m in mattes.values():
            cells.append(composite_colour(np.ascontiguousarray(m.cutout_rgb[sl]), np.ascontiguousarray(m.alpha[sl]),
                                          SHEET_BG))  # fmt: skip
        cells = [cv2.resize(c, (CROP, CROP), interpolation=cv2.INTER_AREA if size > CROP else cv2.INTER_CUBIC)
                 for c in cells]  # fmt: skip
        row = np.hstack(cells)
        cv2.putText(row, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        rows.append(row)
    header = np.full((18, CROP * (1 + len(sessions)), 3), 255, np.uint8)
    for i, name in enumerate(["photo", *sessions]):
        cv2.putText(header, name, (i * CROP + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([header, *rows])


def _people_photos() -> list[tuple[str, np.ndarray]]:
    out = [(s.name, quality.read_pair(s)[0]) for s in _people()]
    fixtures = evalsets.eval_root() / "rembg_fixtures"
    for p in sorted(fixtures.glob("examples/girl-*.jpg")):  # rembg's people photos (no GT)
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is not None:
            out.append((p.stem, cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
    out.append(("lemur_real", quality.read_pair(next(s for s in evalsets.samples("lemur_cc0")
                                                     if s.name == "lemur_real"))[0]))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    from edgematte import Session
    from edgematte.models import cards
    from evaluation.machine import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args(argv)
    if not evalsets.available():
        print(f"eval images not found at {evalsets.eval_root()}")
        return 2
    sessions = {name: Session(name, threads=2) for name in args.models}
    table: dict = {"machine": machine(), "models": {}}
    for name, s in sessions.items():
        table["models"][name] = {"model": s.model, "people": people_rows(s), "lemur": lemur_rows(s)}
        print(name, json.dumps(table["models"][name]), flush=True)
    table["latency_ms"] = {
        n: c.raw["latency_ms"]["invoke_median"] for n, c in sorted(cards().items()) if c.family == "modnet"
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "portrait.json").write_text(json.dumps(table, indent=2) + "\n")
    md = [
        "People (grabcut50 person*, 8 images; GT 128 ignored) and fur (lemur_cc0, 9 exact composites), "
        "full pipeline with our refinement. fg error = mean |a F_est - a F_true| on fractional alpha (0..1); "
        "'photo colours' = keeping the composite's own colours (no estimation).",
        "",
        "| model | people IoU | people MAE | people SAD | people edge MAE | lemur SAD | lemur MAE | lemur grad "
        "| lemur fg error | photo colours |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table["models"].values():
        p, lm = r["people"], r["lemur"]
        md.append(
            f"| {r['model']} | {p['iou']:.4f} | {p['mae']:.4f} | {p['sad']:.2f} | {p['edge_mae']:.4f} | "
            f"{lm['sad']:.2f} | {lm['mae']:.4f} | {lm['grad']:.4f} | {lm['fg_error']:.4f} | "
            f"{lm['fg_error_photo_colours']:.4f} |"
        )
    md += ["", "Invoke latency (ms, median, from the cards):", ""]
    md += [f"- {n}: 1 thread {v['threads_1']}, 2 threads {v['threads_2']}" for n, v in table["latency_ms"].items()]
    (OUT / "portrait.md").write_text("\n".join(md) + "\n")
    sheet = hair_sheet(sessions, _people_photos())
    # JPEG q92 4:4:4: fine strands survive, and the file is small enough to track in git (PNG: 2.5 MB).
    params = [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    cv2.imwrite(str(OUT / "portrait_hair.jpg"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), params)
    print(f"wrote {OUT / 'portrait.md'} and {OUT / 'portrait_hair.jpg'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
