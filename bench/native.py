"""The C library against the Python runtime, same machine, same run: `python -m bench.native`.

- Stages, C vs Numba, at 1, 2 and 4 threads on a 1 MP and a 12 MP photo: the working image
  (area resize from the photo), and everything after the model (refine + foreground + the
  full-resolution cut-out: Session.matte's 'refine', 'foreground' and 'full_res' stages vs
  em_still_refine on the same model map). Median of --runs, alternating C and Python. The C
  side reuses its workspace and output buffer, as an app does (the library never allocates);
  the Python side runs as the runtime runs (a fresh RGBA per photo).
- The whole still path in C (native/examples/em_cutout: LiteRT's C API + the library) vs the
  Session's (prepare + invoke + refine + foreground + full_res), and the C path against the
  model invoke alone.
- Parity of the whole C path with `Session.matte` on every image of grabcut50 and lemur_cc0,
  u2netp-int8 and modnet-int8 (+ its portrait twin): the largest alpha difference and the
  share of pixels that differ at all, and by more than 2 levels.
Writes bench/results/native.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from edgematte.benchmark import test_photo
from edgematte.infer import working_image
from edgematte.settings import as_in_c, still_settings_for
from edgematte.still import Session
from evaluation import sets as evalsets
from evaluation.machine import machine
from tools import native

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "results"
SIZES = {"1MP": (1200, 900), "12MP": (4000, 3000)}
POST = ("refine", "foreground", "full_res")


def _median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def c_stages_ms(lib: native.Native, photo: np.ndarray, work: np.ndarray, model_map: np.ndarray, rgba: np.ndarray):  # type: ignore[no-untyped-def]
    """The C side of Session.matte's 'refine', 'foreground' and 'full_res' stages, one call each,
    on the same inputs (the stage functions em_still_refine chains)."""
    s = still_settings_for("segmentation")
    wh, ww = work.shape[:2]
    out = {}
    t = time.perf_counter()
    p = lib.resize_map(model_map, ww, wh)
    coef = lib.guided_coefficients(work, p, s.refine.radius, s.refine.eps)
    hard = lib.edge_hardness(p, s.refine.hard_window, s.refine.hard_lo, s.refine.hard_hi)
    coef = lib.sharpen_hard_edges(coef, hard, s.refine.alpha_gain)
    alpha = lib.apply_upsampled(work, coef, None)
    state = lib.cell_state(alpha)
    out["refine"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    fw, fh = int(ww * s.foreground.scale), int(wh * s.foreground.scale)
    fguide = lib.resize_u8(work, fw, fh, native.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    fa = lib.resize_u8(alpha, fw, fh, native.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    short = min(fw, fh)
    r_wide = max(2, round(short * s.foreground.radius_fraction))
    r_fine = max(1, round(short * s.foreground.fine_radius_fraction))
    means = lib.foreground_means(fguide, fa, r_wide, r_fine, s.foreground.eps)
    out["foreground"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    lib.cutout_rgba(photo, coef, means, state, None, True, out=rgba)
    out["full_res"] = (time.perf_counter() - t) * 1000
    return out


def stages(runs: int) -> dict:
    out: dict = {}
    build = native.build("cc")
    for label, (w, h) in SIZES.items():
        photo = test_photo(w, h)
        for threads in (1, 2, 4):
            s = Session("u2netp-int8", threads=threads)
            s.settings = as_in_c(s.settings)  # the same stages on both sides
            lib = native.Native(build, threads)
            settings = lib.still_settings(False)
            m = s.matte(photo)  # warm: kernels compiled, arenas allocated
            work = working_image(photo, None, 640)
            rgba = np.empty((*photo.shape[:2], 4), np.uint8)  # an app's output buffer, reused
            lib.still_refine(photo, None, work, m.mask_lowres, settings, rgba)
            py_post, c_post, py_work, c_work, py_st, c_st = [], [], [], [], [], []
            for _ in range(runs):
                t = time.perf_counter()
                working_image(photo, None, 640)
                py_work.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                lib.working_image(photo, None, 640)
                c_work.append((time.perf_counter() - t) * 1000)
                m = s.matte(photo)
                py_post.append(sum(m.timings.stages[k] for k in POST) * 1000)
                t = time.perf_counter()
                lib.still_refine(photo, None, work, m.mask_lowres, settings, rgba)
                c_post.append((time.perf_counter() - t) * 1000)
                py_st.append({k: m.timings.stages[k] * 1000 for k in POST})
                c_st.append(c_stages_ms(lib, photo, work, m.mask_lowres, rgba))
            row = {
                "working_image_ms": {"numba": _med(py_work), "c": _med(c_work)},
                "after_model_ms": {"numba": _med(py_post), "c": _med(c_post)},
                "stages_ms": {k: {"numba": _med([r[k] for r in py_st]), "c": _med([r[k] for r in c_st])} for k in POST},
            }
            out[f"{label}/{threads}t"] = row
            print(
                f"{label:5} {threads} threads  working image numba {row['working_image_ms']['numba']:7.1f} ms "
                f"C {row['working_image_ms']['c']:7.1f} | after the model numba {row['after_model_ms']['numba']:7.1f}"
                f" ms C {row['after_model_ms']['c']:7.1f}",
                flush=True,
            )
            lib.close()
    return out


def _med(v: list[float]) -> float:
    return round(statistics.median(v), 1)


def _litert() -> Path:
    import ai_edge_litert

    return Path(ai_edge_litert.__file__).parent / "libLiteRt.so"


def _em_cutout(build: Path, model: str, ppm: Path, out: Path, threads: int, runs: int = 0) -> dict[str, float]:
    extra = []
    if model.startswith("modnet"):
        extra = ["--matting", "--portrait", str(REPO / "models" / "modnet-int8-portrait.tflite")]
    cmd = [
        str(build / "em_cutout"),
        "--threads",
        str(threads),
        "--runs",
        str(runs),
        "--litert",
        str(_litert()),
        *extra,
        str(REPO / "models" / f"{model}.tflite"),
        str(ppm),
        str(out),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    line = next(x for x in r.stderr.splitlines() if x.startswith("em_cutout:"))
    return {k: float(v) for k, v in re.findall(r"(prepare|invoke|refine) ([\d.]+) ms", line)}


def whole_path(runs: int, threads: int) -> dict:
    build = native.build("cc")
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h) in SIZES.items():
            ppm = Path(tmp) / f"{label}.ppm"
            photo = test_photo(w, h)
            Image.fromarray(photo).save(ppm)
            s = Session("u2netp-int8", threads=threads)
            s.settings = as_in_c(s.settings)  # what the C path runs
            s.matte(photo)
            c = _em_cutout(build, "u2netp-int8", ppm, Path(tmp) / "o.pam", threads, runs)  # medians of `runs`
            py_runs = [{k: v * 1000 for k, v in s.matte(photo).timings.stages.items()} for _ in range(runs)]
            c_total, c_invoke = round(sum(c.values()), 1), c["invoke"]
            py_total = _med([sum(v for k, v in r.items() if k != "decode") for r in py_runs])
            py_invoke = _med([r["invoke"] for r in py_runs])
            res[label] = {
                "c_total_ms": c_total,
                "c_invoke_ms": c_invoke,
                "c_total_over_invoke": round(c_total / c_invoke, 3),
                "python_total_ms": py_total,
                "python_invoke_ms": py_invoke,
                "python_total_over_invoke": round(py_total / py_invoke, 3),
            }
            print(
                f"{label:5} whole path C {c_total:7.0f} ms (invoke {c_invoke:.0f}, x{c_total / c_invoke:.2f}) | "
                f"Python {py_total:7.0f} ms (invoke {py_invoke:.0f}, x{py_total / py_invoke:.2f})",
                flush=True,
            )
    return res


def parity(threads: int) -> dict:
    build = native.build("cc")
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("u2netp-int8", "modnet-int8"):
            s = Session(model, threads=threads)
            s.settings = as_in_c(s.settings)  # em_cutout: one look, no despill (see edgematte.h)
            worst, differ, over2, n = 0, 0, 0, 0
            per_image = {}
            for set_name in ("grabcut50", "lemur_cc0"):
                for sample in evalsets.samples(set_name):
                    rgb = np.asarray(Image.open(sample.image).convert("RGB"))
                    ppm = Path(tmp) / "in.ppm"
                    Image.fromarray(rgb).save(ppm)
                    _em_cutout(build, model, ppm, Path(tmp) / "o.pam", threads)
                    c = native.read_pam(Path(tmp) / "o.pam")
                    d = np.abs(c[..., 3].astype(int) - s.matte(rgb).alpha)
                    worst = max(worst, int(d.max()))
                    differ += int((d > 0).sum())
                    over2 += int((d > 2).sum())
                    n += d.size
                    per_image[f"{set_name}/{sample.name}"] = {
                        "max": int(d.max()),
                        "share_over_2": float((d > 2).mean()),
                    }
            worst_share = max(v["share_over_2"] for v in per_image.values())
            res[model] = {
                "images": len(per_image),
                "max_alpha_diff": worst,
                "share_differing": round(differ / n, 6),
                "share_over_2": round(over2 / n, 7),
                "worst_image_share_over_2": round(worst_share, 6),
            }
            print(
                f"{model}: {len(per_image)} images, alpha max diff {worst}, differing {differ / n:.4%}, "
                f"> 2 levels {over2 / n:.5%} (worst image {worst_share:.4%})",
                flush=True,
            )
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="for the whole path and the parity run")
    ap.add_argument("--skip-parity", action="store_true")
    args = ap.parse_args(argv)
    report: dict = {"machine": machine(), "runs": args.runs}
    report["stages"] = stages(args.runs)
    report["whole_path"] = whole_path(args.runs, args.threads)
    if not args.skip_parity and evalsets.available():
        report["parity"] = parity(args.threads)
    OUT.mkdir(exist_ok=True)
    (OUT / "native.json").write_text(json.dumps(report, indent=2) + "\n")
    write_md(report)
    return 0


def write_md(report: dict) -> None:
    """bench/results/native.md from a report (also: python -c 'from bench.native import ...')."""
    md = [
        f"Machine: {report['machine']}. Median of {report['runs']} runs, C and Python alternating.",
        "",
        "| photo / threads | working image: Numba | C | after the model: Numba | C |",
        "|---|---|---|---|---|",
    ]
    for k, v in report["stages"].items():
        wi, am = v["working_image_ms"], v["after_model_ms"]
        md.append(f"| {k} | {wi['numba']} | {wi['c']} | {am['numba']} | {am['c']} |")
    md += [
        "",
        "Per stage (the C side calls the functions em_still_refine chains, one at a time):",
        "",
        "| photo / threads | refine: Numba | C | foreground: Numba | C | full_res: Numba | C |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, v in report["stages"].items():
        st = v["stages_ms"]
        md.append(
            f"| {k} | {st['refine']['numba']} | {st['refine']['c']} | {st['foreground']['numba']} | "
            f"{st['foreground']['c']} | {st['full_res']['numba']} | {st['full_res']['c']} |"
        )
    md += [
        "",
        "| photo | C whole path ms | C invoke ms | C / invoke | Python ms | Python / invoke |",
        "|---|---|---|---|---|---|",
    ]
    for k, v in report["whole_path"].items():
        md.append(
            f"| {k} | {v['c_total_ms']} | {v['c_invoke_ms']} | {v['c_total_over_invoke']} | "
            f"{v['python_total_ms']} | {v['python_total_over_invoke']} |"
        )
    if "parity" in report:
        md += [
            "",
            "| model | images | max alpha diff | pixels differing | > 2 levels | worst image > 2 |",
            "|---|---|---|---|---|---|",
        ]
        for k, v in report["parity"].items():
            md.append(
                f"| {k} | {v['images']} | {v['max_alpha_diff']} | {v['share_differing']:.4%} | "
                f"{v['share_over_2']:.5%} | {v['worst_image_share_over_2']:.4%} |"
            )
    (OUT / "native.md").write_text("\n".join(md) + "\n")
    print(f"wrote {OUT / 'native.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
