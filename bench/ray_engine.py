"""The Ray Data engine on this machine: `python -m bench.ray_engine [--rounds 2]`.

`edgematte remove --engine ray` over the same 110 real photos as bench.batch (grabcut50 +
ebay_synth_products, read in place), on a local Ray cluster started by the command, with 1
worker x 2 threads and 2 workers x 1 thread, against the local engine (`remove` without
--engine) at 2 threads; alternating, fresh processes, empty output folders, medians. Also: each
worker actor's peak resident memory and the command's own (the driver; for the local engine,
the whole batch), sampled from /proc every 0.1 s, and the span between the first and the last
output (the wall time minus it: start-up, the cluster's included).
Requires `pip install -e .[ray]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.batch import _count, _folders
from edgematte.serve.metrics import resident_bytes

OUT = Path(__file__).resolve().parent / "results"
WORKER_TITLE = b"ray::MapWorker(MapBatches(CutoutActor))"


def _workers_rss() -> dict[int, int]:
    """Resident memory (bytes) of every worker actor now running, by pid."""
    found = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if (p / "cmdline").read_bytes().startswith(WORKER_TITLE):
                found[int(p.name)] = resident_bytes(int(p.name))
        except OSError:
            continue
    return found


def run(folders: list[Path], engine: str, workers: int, threads: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="edgematte-ray-"))
    cmd = [sys.executable, "-m", "edgematte.cli", "remove", *map(str, folders), "-o", str(out / "cut")]
    cmd += ["--threads", str(threads), "--quiet"]
    if engine == "ray":
        cmd += ["--engine", "ray", "--workers", str(workers)]
    peak: dict[int, int] = {}
    driver = [0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        driver[0] = max(driver[0], resident_bytes(proc.pid))
        for pid, rss in _workers_rss().items():
            peak[pid] = max(peak.get(pid, 0), rss)
        time.sleep(0.1)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited {proc.returncode}")
    outputs = list((out / "cut").rglob("*.png"))
    mtimes = sorted(p.stat().st_mtime for p in outputs)
    shutil.rmtree(out)
    return {
        "engine": engine,
        "workers": workers,
        "threads": threads,
        "wall_s": wall,
        "outputs_span_s": mtimes[-1] - mtimes[0] if mtimes else 0.0,
        "outputs": len(outputs),
        "worker_peak_rss_mb": sorted(round(v / 2**20) for v in peak.values()),
        "driver_peak_rss_mb": round(driver[0] / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    from bench.peers import _machine

    folders = _folders()
    n = _count(folders)
    configs = [("local", 1, 2), ("ray", 1, 2), ("ray", 2, 1)]
    rows = []
    for _ in range(args.rounds):
        for engine, workers, threads in configs:
            r = run(folders, engine, workers, threads)
            rows.append(r)
            print(
                f"{engine} {workers} worker(s) x {threads} thread(s): {n} images in {r['wall_s']:.1f} s "
                f"(outputs over {r['outputs_span_s']:.1f} s), worker RSS {r['worker_peak_rss_mb']} MB, "
                f"driver {r['driver_peak_rss_mb']} MB",
                flush=True,
            )
    summary = []
    for engine, workers, threads in configs:
        these = [r for r in rows if (r["engine"], r["workers"], r["threads"]) == (engine, workers, threads)]
        wall = statistics.median(r["wall_s"] for r in these)
        span = statistics.median(r["outputs_span_s"] for r in these)
        rss = max((max(r["worker_peak_rss_mb"], default=0) for r in these), default=0)
        drv = max(r["driver_peak_rss_mb"] for r in these)
        summary.append(
            {
                "engine": engine,
                "workers": workers,
                "threads": threads,
                "wall_s": wall,
                "images_per_s": n / wall,
                "outputs_span_s": span,
                "worker_peak_rss_mb": rss,
                "driver_peak_rss_mb": drv,
            }
        )
        print(f"median: {engine} {workers}x{threads}: {wall:.1f} s, {n / wall:.2f} images/s, peak RSS {rss}/{drv} MB")
    OUT.mkdir(exist_ok=True)
    result = {"machine": _machine(), "images": n, "summary": summary, "runs": rows}
    (OUT / "ray_engine.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
