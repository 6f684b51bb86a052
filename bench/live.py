"""The moving-picture half, side by side in one run: `python -m bench.live`.

1. Preview frames (the person model, composite onto green, temporal stage on) at 1280x720 and
   1920x1080: per-frame latency one frame at a time (median, with the split: invoke vs the rest
   of the frame) and the throughput of a pipelined stream (FrameMatter.stream: frame t+1's invoke
   while frame t is finished).
2. `edgematte video` end to end (decode, matte, encode H.264) on a 720p and a 1080p clip,
   against rembg 2.0.86's `b` raw-stream command (u2netp; ffmpeg decodes into its stdin, it
   writes PNGs, as its README shows) and MediaPipe 0.10.21's selfie pipeline (OpenCV decode,
   segmentation, composite, OpenCV encode), same clip, same run.
3. Temporal quality on clips with exact truth (evaluation/clips.py): error per frame, flicker on
   still stretches and lag after a step, for our three temporal methods and for MediaPipe.

Writes bench/results/live.{json,md}. Needs `pip install -e ".[video,peers]"`, Debian's ffmpeg,
and the MediaPipe venv bench/peers.py makes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.peers import mediapipe_python, rembg_session
from edgematte import FrameMatter, TemporalSettings
from edgematte.live.videofile import matte_video
from evaluation import temporal as tm
from evaluation.clips import Clip, lemur_clip, person_clip, write_clip
from evaluation.machine import machine

OUT = Path(__file__).resolve().parent / "results"
GREEN = (0, 177, 64)
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}

# rembg's own `b` command. Its commands package imports every command, and those need its
# whole "cli" extra (gradio, fastapi, ...): only b_command's module is loaded here, as it is.
REMBG_B = r"""
import os, sys, types
import rembg
pkg = types.ModuleType("rembg.commands")
pkg.__path__ = [os.path.join(os.path.dirname(rembg.__file__), "commands")]
sys.modules["rembg.commands"] = pkg
from rembg.commands.b_command import b_command
sys.argv[0] = "rembg b"
b_command()
"""

MEDIAPIPE_VIDEO = r"""
import json, sys, time
import cv2, numpy as np
import mediapipe as mp
src, dst = sys.argv[1], sys.argv[2]
seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
t = time.perf_counter()
cap = cv2.VideoCapture(src)
fps = cap.get(cv2.CAP_PROP_FPS)
out, n = None, 0
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    if out is None:
        h, w = bgr.shape[:2]
        out = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        bg = np.zeros_like(bgr); bg[:] = (64, 177, 0)
    mask = seg.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).segmentation_mask
    out.write(np.where((mask > 0.1)[..., None], bgr, bg))  # as MediaPipe's selfie example
    n += 1
out.release()
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t}))
"""

MEDIAPIPE_MASKS = r"""
import sys
import numpy as np
import mediapipe as mp
frames = np.load(sys.argv[1])
seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
masks = [np.clip(seg.process(f).segmentation_mask * 255 + 0.5, 0, 255).astype(np.uint8) for f in frames]
np.save(sys.argv[2], np.stack(masks))
"""


def preview_speed(frames: list[np.ndarray], threads: int, label: str) -> dict:
    ts = [i * 1000 / 30 for i in range(len(frames))]
    with FrameMatter.for_video(background=GREEN, threads=threads) as m:
        for f, t in zip(frames[:5], ts[:5], strict=True):
            m.matte_for_video(f, t)
        m.reset()
        total, invoke, rest = [], [], []
        for f, t in zip(frames, ts, strict=True):
            t0 = time.perf_counter()
            r = m.matte_for_video(f, t)
            total.append((time.perf_counter() - t0) * 1000)
            st = r.timings.ms()
            invoke.append(st["invoke"])
            rest.append(total[-1] - st["invoke"])
        split = {k: round(statistics.median([m_.get(k, 0) for m_ in [r.timings.ms()]]), 2) for k in r.timings.ms()}
        m.reset()
        t0 = time.perf_counter()
        n = sum(1 for _ in m.stream(zip(ts, frames, strict=True)))
        piped = (time.perf_counter() - t0) * 1000 / n
        model = m.card.name
    row = {
        "model": model,
        "frame_ms_p50": round(statistics.median(total), 2),
        "fps_one_at_a_time": round(1000 / statistics.median(total), 1),
        "invoke_ms_p50": round(statistics.median(invoke), 2),
        "rest_of_frame_ms_p50": round(statistics.median(rest), 2),
        "last_frame_stages_ms": split,
        "pipelined_frame_ms": round(piped, 2),
        "fps_pipelined": round(1000 / piped, 1),
    }
    print(f"preview {label}: {row}", flush=True)
    return row


def video_speed(clip: Path, threads: int, label: str, rounds: int) -> dict:
    py = mediapipe_python()
    rembg_session()  # sets U2NET_HOME to the wheel's u2netp.onnx
    runs: dict[str, list[float]] = {
        "edgematte_preview": [],
        "edgematte_preview_mpeg4": [],
        "edgematte_u2netp": [],
        "rembg_b_u2netp": [],
        "mediapipe": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "mp_video.py").write_text(MEDIAPIPE_VIDEO)
        n_frames = None
        for _ in range(rounds):
            for model in ("preview", "u2netp"):
                out = tmpd / f"ours-{model}.mp4"
                job = matte_video(
                    clip, out, model=model, result="composite", background=GREEN, threads=threads, overwrite=True
                )
                runs[f"edgematte_{model}"].append(job.fps)
                n_frames = job.frames
            # The same, written with MediaPipe's pipeline's codec (MPEG-4 Part 2: .avi), which
            # costs far less to encode than H.264.
            job = matte_video(
                clip, tmpd / "ours.avi", result="composite", background=GREEN, threads=threads, overwrite=True
            )
            runs["edgematte_preview_mpeg4"].append(job.fps)
            frames_dir = tmpd / "rembg"
            frames_dir.mkdir(exist_ok=True)
            w, h = SIZES[label]
            t0 = time.perf_counter()
            dec = subprocess.Popen(
                ["ffmpeg", "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                stdout=subprocess.PIPE,
            )
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            rb = subprocess.run(
                [sys.executable, "-c", REMBG_B, str(w), str(h), "-m", "u2netp", "-o", str(frames_dir / "%04d.png")],
                stdin=dec.stdout,
                capture_output=True,
                env=env,
            )
            dec.stdout.close()  # type: ignore[union-attr]  # ours: ffmpeg must see the pipe close
            dec.wait()
            dt = time.perf_counter() - t0
            got = len(list(frames_dir.glob("*.png")))
            if rb.returncode == 0 and got:
                runs["rembg_b_u2netp"].append(got / dt)
            else:
                print(rb.stderr.decode()[-800:], file=sys.stderr)
            if py is not None:
                r = subprocess.run(
                    [str(py), str(tmpd / "mp_video.py"), str(clip), str(tmpd / "mp.mp4")],
                    capture_output=True,
                    text=True,
                )
                if r.returncode == 0:
                    j = json.loads(r.stdout.strip().splitlines()[-1])
                    runs["mediapipe"].append(j["frames"] / j["seconds"])
                else:
                    print(r.stderr[-800:], file=sys.stderr)
    row = {k: round(statistics.median(v), 2) for k, v in runs.items() if v}
    row["frames"] = n_frames
    print(f"video {label}: {row}", flush=True)
    return row


def matte_clip(clip: Clip, model: str, method: str, threads: int) -> list[np.ndarray]:
    with FrameMatter.for_video(
        model=model, output="alpha", temporal=TemporalSettings(method=method), threads=threads
    ) as m:
        return [m.matte_for_video(f.rgb, t).pixels for f, t in zip(clip.frames, clip.timestamps_ms(), strict=True)]


def mediapipe_masks(clip: Clip) -> list[np.ndarray] | None:
    py = mediapipe_python()
    if py is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "w.py").write_text(MEDIAPIPE_MASKS)
        np.save(Path(tmp) / "f.npy", np.stack([f.rgb for f in clip.frames]))
        r = subprocess.run(
            [str(py), str(Path(tmp) / "w.py"), str(Path(tmp) / "f.npy"), str(Path(tmp) / "m.npy")],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            print(r.stderr[-800:], file=sys.stderr)
            return None
        return list(np.load(Path(tmp) / "m.npy"))


def score(clip: Clip, alphas: list[np.ndarray]) -> dict:
    e = tm.errors(clip, alphas)
    moving = [e[i] for name, (a, b) in clip.segments.items() if name.startswith("move") for i in range(a, b)]
    return {
        "error_mean": round(float(np.mean(e)), 5),
        "error_moving": round(float(np.mean(moving)), 5) if moving else None,
        "error_per_frame": [round(x, 5) for x in e],
        "flicker_levels": {k: round(v, 3) for k, v in tm.flicker(clip, alphas).items()},
        "lag_frames": tm.lag(clip, alphas),
    }


def temporal_quality(threads: int) -> dict:
    out: dict = {}
    person = person_clip()
    for method in ("none", "ema", "adaptive"):
        out[f"person/edgematte-{method}"] = score(person, matte_clip(person, "preview", method, threads))
    mp = mediapipe_masks(person)
    if mp is not None:
        out["person/mediapipe"] = score(person, mp)
    lemur = lemur_clip()
    for method in ("none", "ema", "adaptive"):
        out[f"lemur/edgematte-u2netp-{method}"] = score(lemur, matte_clip(lemur, "u2netp", method, threads))
    for k, v in out.items():
        print(
            f"{k:32} error {v['error_mean']:.4f} moving {v['error_moving']}  "
            f"flicker {v['flicker_levels']}  lag {v['lag_frames']}"
        )
    return out


def write_md(report: dict) -> None:
    md = [f"Machine: {report['machine']}, {report['threads']} threads. One run, side by side.", ""]
    if "preview" in report:
        md += [
            "| preview | model | frame ms p50 | fps one at a time | invoke ms | rest of frame ms | fps pipelined |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, v in report["preview"].items():
            md.append(
                f"| {k} | {v['model']} | {v['frame_ms_p50']} | {v['fps_one_at_a_time']} | {v['invoke_ms_p50']} | "
                f"{v['rest_of_frame_ms_p50']} | {v['fps_pipelined']} |"
            )
        md.append("")
    if "video" in report:
        md += [
            "| video (fps, decode + matte + encode) | edgematte preview (H.264) | edgematte preview (MPEG-4) "
            "| edgematte u2netp | rembg b u2netp | MediaPipe selfie (MPEG-4) |",
            "|---|---|---|---|---|---|",
        ]
        for k, v in report["video"].items():
            md.append(
                f"| {k} ({v.get('frames')} frames) | {v.get('edgematte_preview')} | {v.get('edgematte_preview_mpeg4')} "
                f"| {v.get('edgematte_u2netp')} | "
                f"{v.get('rembg_b_u2netp')} | {v.get('mediapipe')} |"
            )
        md.append("")
    if "temporal" in report:
        md += [
            "| clip / method | alpha error (mean) | while moving | flicker, frame (levels) | flicker, edge band "
            "| lag (frames) |",
            "|---|---|---|---|---|---|",
        ]
        for k, v in report["temporal"].items():
            f = v["flicker_levels"]
            md.append(
                f"| {k} | {v['error_mean']:.4f} | {v['error_moving']} | {f['frame']} | {f['edge_band']} "
                f"| {v['lag_frames']} |"
            )
    (OUT / "live.md").write_text("\n".join(md) + "\n")
    print(f"wrote {OUT / 'live.md'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="video runs per tool (alternating); medians")
    ap.add_argument("--skip-video", action="store_true")
    ap.add_argument("--skip-temporal", action="store_true")
    args = ap.parse_args(argv)
    report: dict = {"machine": machine(), "threads": args.threads}
    person = person_clip()
    frames = {"720p": [f.rgb for f in person.frames]}
    frames["1080p"] = [cv2.resize(f, SIZES["1080p"], interpolation=cv2.INTER_LINEAR) for f in frames["720p"]]
    report["preview"] = {k: preview_speed(v, args.threads, k) for k, v in frames.items()}
    if not args.skip_video:
        report["video"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for label, fr in frames.items():
                clip = write_clip(Path(tmp) / f"person-{label}.mp4", fr[:30])
                report["video"][label] = video_speed(clip, args.threads, label, args.rounds)
    if not args.skip_temporal:
        report["temporal"] = temporal_quality(args.threads)
    OUT.mkdir(exist_ok=True)
    (OUT / "live.json").write_text(json.dumps(report, indent=2) + "\n")
    write_md(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
