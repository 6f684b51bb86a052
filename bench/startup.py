"""Start-up costs in fresh processes: `python -m bench.startup` -> bench/results/startup.{json,md}.

What a kiosk's first customer or a shell script pays before any image work: `import edgematte`
(must load none of Numba, OpenCV, LiteRT), `edgematte --help`, and `edgematte remove` of the
bundled sample (the cold start: imports, model load, first image; Numba's on-disk cache warm, as
after `edgematte warmup`). Each is run `--runs` times in a new interpreter; medians and the
spread are reported, and the cold start is split into its parts by a child process that times
each one: imports (NumPy, Numba, OpenCV, LiteRT, edgematte), model load (Session: card, sha256,
interpreter, XNNPACK), JIT cache load (Numba's one-time set-up and loading the cached kernels:
the first image's time minus the second's) and the first image itself.

By default the commands run in a runtime-only venv (`pip install -e .`, made once in
`--venv`, default bench/.venv-runtime): what a kiosk installs. A venv with the extras installed
is slower to start: Numba probes for SciPy's BLAS when it sets up, and imports SciPy when it is
there (+0.3 s measured here). `--here` measures this interpreter instead.
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

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "results"
SAMPLE = ROOT / "runtime" / "edgematte" / "data" / "sample.jpg"
HEAVY = ("numba", "cv2", "ai_edge_litert")
VENV = Path(__file__).resolve().parent / ".venv-runtime"

# The split, timed inside one fresh process (printed as JSON on its last line).
SPLIT = """
import json, sys, time
t0 = time.perf_counter()
import numpy, numba, cv2, ai_edge_litert.interpreter
import edgematte.still
t1 = time.perf_counter()
s = edgematte.still.Session()
t2 = time.perf_counter()
data = open(sys.argv[1], "rb").read()
s.remove(data)
t3 = time.perf_counter()
s.remove(data)
t4 = time.perf_counter()
first, second = t3 - t2, t4 - t3
print(json.dumps({"imports": t1 - t0, "model_load": t2 - t1, "jit_cache_load": first - second,
                  "image": second, "first_image": first}))
"""


def _timed(argv: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.strip()[-400:]}")
    return dt * 1000.0, r.stdout


def runtime_python(venv: Path) -> str:
    """The python of a runtime-only venv with edgematte installed as the README says (made once)."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    return str(py)


def _stats(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--venv", type=Path, default=VENV, help="the runtime-only venv (made when missing)")
    ap.add_argument("--here", action="store_true", help="measure this interpreter, not a runtime-only venv")
    args = ap.parse_args(argv)
    py = sys.executable if args.here else runtime_python(args.venv)
    cli = [py, "-m", "edgematte.cli"]
    probe = f"import sys, edgematte; print([m for m in {HEAVY!r} if m in sys.modules])"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*cli, "warmup"], check=True, capture_output=True)  # the kiosk's build step
        jobs = {
            "python -c pass": [py, "-c", "pass"],
            "import edgematte": [py, "-c", probe],
            "edgematte --help": [*cli, "--help"],
            "edgematte remove sample.jpg": [*cli, "remove", str(SAMPLE), "-o", f"{tmp}/m.png", "--overwrite"],
        }
        _timed(jobs["edgematte remove sample.jpg"])  # files in the page cache
        rows: dict[str, dict] = {}
        for name, cmd in jobs.items():
            times, out = [], ""
            for _ in range(args.runs):
                dt, out = _timed(cmd)
                times.append(dt)
            rows[name] = _stats(times)
            if name == "import edgematte":
                rows[name]["heavy_modules_loaded"] = json.loads(out.strip().replace("'", '"'))
            print(f"{name:32} p50 {rows[name]['p50_ms']:8.1f} ms  (min {rows[name]['min_ms']:.0f}, "
                  f"max {rows[name]['max_ms']:.0f})", flush=True)  # fmt: skip
        parts: dict[str, list[float]] = {}
        for _ in range(args.runs):
            _, out = _timed([py, "-c", SPLIT, str(SAMPLE)])
            for k, v in json.loads(out.strip().splitlines()[-1]).items():
                parts.setdefault(k, []).append(v * 1000.0)
        split = {k: _stats(v) for k, v in parts.items()}
        for k, v in split.items():
            print(f"  split: {k:20} p50 {v['p50_ms']:7.1f} ms", flush=True)
    OUT.mkdir(exist_ok=True)
    env = "this interpreter" if args.here else "a runtime-only venv (`pip install -e .`)"
    report = {"machine": machine(), "runs": args.runs, "environment": env, "rows": rows, "cold_start_split": split}
    (OUT / "startup.json").write_text(json.dumps(report, indent=2) + "\n")
    md = [f"Machine: {machine()}; {env}; Numba's cache warm (`edgematte warmup`); {args.runs} fresh processes "
          "each, wall time.", "", "| command | p50 ms | min | max |", "|---|---|---|---|"]  # fmt: skip
    md += [f"| `{k}` | {v['p50_ms']:.0f} | {v['min_ms']:.0f} | {v['max_ms']:.0f} |" for k, v in rows.items()]
    md += ["", "The cold start in parts (one fresh process each run, timed inside it; the interpreter's own "
           "start-up and the CLI's argument parsing and output write are the rest of the `remove` row):", "",
           "| part | p50 ms | min | max |", "|---|---|---|---|"]  # fmt: skip
    md += [f"| {k} | {v['p50_ms']:.0f} | {v['min_ms']:.0f} | {v['max_ms']:.0f} |" for k, v in split.items()]
    (OUT / "startup.md").write_text("\n".join(md) + "\n")
    print(f"wrote {OUT / 'startup.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
