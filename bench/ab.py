"""Before/after on the same machine, in one run: `python -m bench.ab --before REV` -> results/ab.json.

A change must not make the still path slower; this machine is shared and noisy, so the only
fair comparison is side by side. Two worker processes stay loaded (the checkout of REV, made
with `git worktree` in a temp folder, and this working tree), and the same photos go to each in
alternating order, run after run: bytes in -> cut-out PNG / JPEG bytes out, u2netp-int8 at
2 threads. Reported: median wall time and median time outside the model invoke (what a
refactor can change), and their ratios after / before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from evaluation.machine import machine

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "results"
SIZES = {"1.9MP": (1600, 1200), "12MP": (4000, 3000)}
FORMATS = ("PNG", "JPEG")

WORKER = r"""
import json, sys, time
import edgematte
from edgematte.benchmark import jpeg_bytes, test_photo
sizes = json.loads(sys.argv[1])
s = edgematte.Session("u2netp-int8", threads=2)
photos = {k: jpeg_bytes(test_photo(*v)) for k, v in sizes.items()}

def once(data, fmt):
    t = time.perf_counter()
    try:
        from edgematte.still import Output
    except ImportError:  # commits before the one still path (1ed8a8f): matte, render, encode_pixels
        from edgematte.imageio import encode_pixels
        m = s.matte(data)
        px, kind = s.render(m)
        stages = m.timings.ms()
        t1 = time.perf_counter()
        encode_pixels(px, kind, fmt, None, s.threads)
        stages["encode"] = (time.perf_counter() - t1) * 1000
    else:
        stages = s.process(data, Output(format=fmt)).timings.ms()
    stages["wall"] = (time.perf_counter() - t) * 1000
    return stages

for k in photos:
    for fmt in ("PNG", "JPEG"):
        once(photos[k], fmt)  # compile, warm the arenas
print("ready", flush=True)
for line in sys.stdin:
    k, fmt = line.split()
    print(json.dumps(once(photos[k], fmt)), flush=True)
"""


def _worker(runtime: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(runtime)}
    p = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(SIZES)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "ready", f"worker for {runtime} failed"
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision to compare the working tree with")
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="edgematte-ab-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(tmp), args.before], cwd=REPO, check=True)
    try:
        workers = {"before": _worker(tmp / "runtime"), "after": _worker(REPO / "runtime")}
        runs: dict[tuple[str, str, str], list[dict]] = {}
        for i in range(args.runs):
            for size in SIZES:
                for fmt in FORMATS:
                    for side in ("before", "after") if i % 2 == 0 else ("after", "before"):
                        p = workers[side]
                        p.stdin.write(f"{size} {fmt}\n")  # type: ignore[union-attr]
                        p.stdin.flush()  # type: ignore[union-attr]
                        runs.setdefault((size, fmt, side), []).append(json.loads(p.stdout.readline()))  # type: ignore[union-attr]
        for p in workers.values():
            p.stdin.close()  # type: ignore[union-attr]
            p.wait()
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp)], cwd=REPO, check=False)
    rows = {}
    for size in SIZES:
        for fmt in FORMATS:
            row: dict[str, float] = {}
            for side in ("before", "after"):
                rs = runs[(size, fmt, side)]
                row[f"{side}_wall_ms"] = round(statistics.median(r["wall"] for r in rs), 1)
                row[f"{side}_non_invoke_ms"] = round(statistics.median(r["wall"] - r.get("invoke", 0.0) for r in rs), 1)
            row["wall_ratio"] = round(row["after_wall_ms"] / row["before_wall_ms"], 3)
            row["non_invoke_ratio"] = round(row["after_non_invoke_ms"] / row["before_non_invoke_ms"], 3)
            rows[f"{size}/{fmt}"] = row
            print(f"{size:6} {fmt:4} wall {row['before_wall_ms']:7.0f} -> {row['after_wall_ms']:7.0f} ms "
                  f"(x{row['wall_ratio']:.3f})  non-invoke {row['before_non_invoke_ms']:6.0f} -> "
                  f"{row['after_non_invoke_ms']:6.0f} ms (x{row['non_invoke_ratio']:.3f})", flush=True)  # fmt: skip
    OUT.mkdir(exist_ok=True)
    report = {"machine": machine(), "before": args.before, "runs": args.runs, "rows": rows}
    (OUT / "ab.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
