"""Start-up costs in fresh processes: `python -m bench.startup` -> bench/results/startup.{json,md}.

What a kiosk's first customer or a shell script pays before any image work: `import edgematte`
(must load none of Numba, OpenCV, LiteRT), `edgematte --help`, and `edgematte remove` of the
bundled sample (imports, model load, first image; Numba's on-disk cache warm). Each is run
`--runs` times in a new interpreter; medians and the spread are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluation.machine import machine

OUT = Path(__file__).resolve().parent / "results"
SAMPLE = Path(__file__).resolve().parent.parent / "runtime" / "edgematte" / "data" / "sample.jpg"
HEAVY = ("numba", "cv2", "ai_edge_litert")


def _timed(argv: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.strip()[-400:]}")
    return dt * 1000.0, r.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    py = sys.executable
    probe = f"import sys, edgematte; print([m for m in {HEAVY!r} if m in sys.modules])"
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {
            "python -c pass": [py, "-c", "pass"],
            "import edgematte": [py, "-c", probe],
            "edgematte --help": [py, "-m", "edgematte.cli", "--help"],
            "edgematte remove sample.jpg": [py, "-m", "edgematte.cli", "remove", str(SAMPLE), "-o", f"{tmp}/m.png"],
        }
        _timed(jobs["edgematte remove sample.jpg"] + ["--overwrite"])  # Numba cache filled, files in page cache
        rows: dict[str, dict] = {}
        for name, cmd in jobs.items():
            times, out = [], ""
            for _ in range(args.runs):
                dt, out = _timed([*cmd, "--overwrite"] if "remove" in name else cmd)
                times.append(dt)
            rows[name] = {"p50_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
                          "max_ms": round(max(times), 1)}  # fmt: skip
            if name == "import edgematte":
                rows[name]["heavy_modules_loaded"] = json.loads(out.strip().replace("'", '"'))
            print(f"{name:32} p50 {rows[name]['p50_ms']:8.1f} ms  (min {rows[name]['min_ms']:.0f}, "
                  f"max {rows[name]['max_ms']:.0f})", flush=True)  # fmt: skip
    OUT.mkdir(exist_ok=True)
    report = {"machine": machine(), "runs": args.runs, "rows": rows}
    (OUT / "startup.json").write_text(json.dumps(report, indent=2) + "\n")
    md = [f"Machine: {machine()}; {args.runs} fresh processes each, wall time.", "",
          "| command | p50 ms | min | max |", "|---|---|---|---|"]  # fmt: skip
    md += [f"| `{k}` | {v['p50_ms']:.0f} | {v['min_ms']:.0f} | {v['max_ms']:.0f} |" for k, v in rows.items()]
    (OUT / "startup.md").write_text("\n".join(md) + "\n")
    print(f"wrote {OUT / 'startup.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
