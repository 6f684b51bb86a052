"""Time and peak memory of the full still path from 0.3 MP to 24 MP: `python -m bench.scaling`.

Each size runs in a fresh process: JPEG bytes -> decode -> matte -> cut-out PNG bytes.
Time: p50 over runs. Memory: the peak RSS while the runs execute (peak counter reset after
loading the model and one warm-up on a small photo) minus the RSS at that point, divided by
the decoded RGB size (W x H x 3): the constant the issue asks for. A least-squares line of
(total - invoke) against megapixels shows the cost is linear in pixels after the fixed
model cost. Writes bench/results/scaling.{json,md} and, with the
bench extra (matplotlib), scaling.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgematte.benchmark import jpeg_bytes, test_photo

OUT = Path(__file__).resolve().parent / "results"
SIZES = [(640, 480), (1280, 960), (1600, 1200), (2592, 1944), (3264, 2448), (4000, 3000), (5656, 4242)]

CHILD = r"""
import gc, json, sys
from pathlib import Path
from edgematte import Session
from bench.memory import current_rss_mb, reset_peak_rss
from edgematte.benchmark import jpeg_bytes, peak_rss_mb, test_photo, time_still
path, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = Session("u2netp-int8", threads=threads)
s.remove(jpeg_bytes(test_photo(320, 240)))
data = Path(path).read_bytes()
gc.collect()
base = current_rss_mb()
reset_peak_rss()
t = time_still(s, data, runs=runs, warmup=0, encode="PNG")
print(json.dumps({"stages": t.summary(), "peak_rss_mb": round(peak_rss_mb(), 1), "base_rss_mb": round(base, 1),
                  "jpeg_mb": round(len(data) / 1e6, 2)}))
"""


def main(argv: list[str] | None = None) -> int:
    from evaluation.machine import machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="edgematte-scaling-"))
    for w, h in SIZES:
        photo = tmp / f"{w}x{h}.jpg"
        photo.write_bytes(jpeg_bytes(test_photo(w, h)))  # made here, so its making is not in the child's peak
        r = subprocess.run(
            [sys.executable, "-c", CHILD, str(photo), str(args.runs), str(args.threads)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            print(f"{w}x{h}: failed: {r.stderr.strip()[-300:]}", file=sys.stderr)
            continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        mp = w * h / 1e6
        st = res["stages"]
        rgb_mb = w * h * 3 / 1e6
        row = {
            "size": f"{w}x{h}",
            "mp": round(mp, 2),
            "total_ms": st["total"]["p50"],
            "invoke_ms": st["invoke"]["p50"],
            "non_model_ms": round(st["total"]["p50"] - st["invoke"]["p50"], 1),
            "stages_p50_ms": {k: v["p50"] for k, v in st.items()},
            "peak_rss_mb": res["peak_rss_mb"],
            "extra_rss_mb": round(res["peak_rss_mb"] - res["base_rss_mb"], 1),
        }
        row["extra_rss_per_rgb_byte"] = round(row["extra_rss_mb"] * 1.048576 / rgb_mb, 2)
        rows.append(row)
        print(
            f"{row['size']:>10} {mp:5.1f} MP  total {row['total_ms']:7.0f} ms  non-model {row['non_model_ms']:7.0f} ms"
            f"  peak +{row['extra_rss_mb']:6.0f} MB = {row['extra_rss_per_rgb_byte']:.2f} x RGB",
            flush=True,
        )
    mp = np.array([r["mp"] for r in rows])
    nm = np.array([r["non_model_ms"] for r in rows])
    slope, intercept = np.polyfit(mp, nm, 1)
    pred = slope * mp + intercept
    r2 = 1 - ((nm - pred) ** 2).sum() / ((nm - nm.mean()) ** 2).sum()
    fit = {
        "non_model_ms_per_mp": round(float(slope), 1),
        "non_model_fixed_ms": round(float(intercept), 1),
        "r2": round(float(r2), 4),
        "invoke_ms_median": float(np.median([r["invoke_ms"] for r in rows])),
        "max_extra_rss_per_rgb_byte": max(r["extra_rss_per_rgb_byte"] for r in rows[2:]),
    }
    OUT.mkdir(exist_ok=True)
    report = {"machine": machine(), "threads": args.threads, "rows": rows, "fit": fit}
    (OUT / "scaling.json").write_text(json.dumps(report, indent=2) + "\n")
    md = [
        f"Machine: {machine()}, {args.threads} threads, u2netp-int8, JPEG bytes -> cut-out PNG bytes, p50.",
        "",
        "| size | MP | total ms | invoke ms | everything else ms | peak RSS MB | extra RSS / RGB bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    md += [
        f"| {r['size']} | {r['mp']} | {r['total_ms']:.0f} | {r['invoke_ms']:.0f} | {r['non_model_ms']:.0f} | "
        f"{r['peak_rss_mb']:.0f} | {r['extra_rss_per_rgb_byte']:.2f} |"
        for r in rows
    ]
    md += [
        "",
        f"Fit: everything but the invoke = {fit['non_model_fixed_ms']} ms + {fit['non_model_ms_per_mp']} ms/MP "
        f"(R^2 {fit['r2']}); peak memory above the loaded model <= {fit['max_extra_rss_per_rgb_byte']} x the "
        "decoded RGB size (>= 2 MP).",
    ]
    (OUT / "scaling.md").write_text("\n".join(md) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        a1.plot(mp, [r["total_ms"] for r in rows], "o-", label="total")
        a1.plot(mp, nm, "s-", label="all but invoke")
        a1.plot(mp, pred, "--", label=f"fit {intercept:.0f} + {slope:.0f} ms/MP")
        a1.set_xlabel("megapixels")
        a1.set_ylabel("ms (p50)")
        a1.legend()
        a1.set_title("still path time")
        a2.plot(mp, [r["extra_rss_mb"] for r in rows], "o-", label="peak RSS above model")
        a2.plot(mp, mp * 3 / 1.048576, ":", label="decoded RGB size")
        a2.set_xlabel("megapixels")
        a2.set_ylabel("MB")
        a2.legend()
        a2.set_title("memory")
        fig.tight_layout()
        fig.savefig(OUT / "scaling.png", dpi=100)
    except ImportError:
        print("matplotlib not installed (pip install -e .[bench]): no plot", file=sys.stderr)
    print(json.dumps(fit, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
