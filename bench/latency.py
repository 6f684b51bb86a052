"""Per-stage latency and peak memory of every shipped model variant at 1, 2 and 4 threads.

`python -m bench.latency` -> bench/results/latency.{json,md}. Each (variant, threads) runs
in its own process so peak RSS belongs to that configuration alone. The still job is a
1.9 MP JPEG (bytes -> cut-out PNG bytes) through `Session`; stage times are p50/p95 over
the runs after one warm-up. Invoke times alone (no image work) are in the model cards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"
THREADS = (1, 2, 4)
PHOTO = (1600, 1200)

CHILD = r"""
import json, sys
from edgematte import Session
from edgematte.benchmark import jpeg_bytes, peak_rss_mb, test_photo, time_still
name, threads, runs, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = Session(name, threads=threads)
t = time_still(s, jpeg_bytes(test_photo(w, h)), runs=runs, warmup=1, encode="PNG")
print(json.dumps({"stages": t.summary(), "peak_rss_mb": round(peak_rss_mb(), 1)}))
"""


def run_config(name: str, threads: int, runs: int) -> dict:
    args = [name, str(threads), str(runs), str(PHOTO[0]), str(PHOTO[1])]
    r = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cell(st: dict, k: str) -> str:
    return f"{st[k]['p50']:.0f} ({st[k]['p95']:.0f})" if k in st else "-"


def to_markdown(results: dict) -> str:
    lines = [
        f"Still job: {PHOTO[0]}x{PHOTO[1]} JPEG -> cut-out PNG, p50 ms (p95 in brackets); peak RSS per process.",
        "",
        "| model | threads | decode | prepare | invoke | refine | foreground | full_res | encode | total "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, per_threads in results.items():
        for th, res in per_threads.items():
            if "error" in res:
                lines.append(f"| {name} | {th} | error: {res['error']} |")
                continue
            st = res["stages"]
            cols = [
                _cell(st, k)
                for k in ("decode", "prepare", "invoke", "refine", "foreground", "full_res", "encode", "total")
            ]
            lines.append(f"| {name} | {th} | " + " | ".join(cols) + f" | {res['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from edgematte.models import cards
    from evaluation.machine import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--models", nargs="*", help="card names (default: all)")
    args = ap.parse_args(argv)
    names = args.models or sorted(cards())
    results: dict = {}
    for name in names:
        results[name] = {}
        for th in THREADS:
            results[name][str(th)] = run_config(name, th, args.runs)
            res = results[name][str(th)]
            total = res.get("stages", {}).get("total", {}).get("p50")
            print(f"{name:24} threads {th}: total p50 {total} ms, peak RSS {res.get('peak_rss_mb')} MB", flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "latency.json").write_text(
        json.dumps({"machine": machine(), "photo": PHOTO, "results": results}, indent=2) + "\n"
    )
    (OUT / "latency.md").write_text(f"Machine: {machine()}\n\n" + to_markdown(results))
    print(f"wrote {OUT / 'latency.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
