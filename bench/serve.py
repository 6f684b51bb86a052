"""The service under load, against rembg's server, in one run: `python -m bench.serve`.

1. Load: N requests (default 1,000) from 8 concurrent clients on loopback, real photos from
   ../shared/eval (grabcut50, ebay_synth_products, coco_mval_products, cycled), each
   `POST /api/remove` with model=u2netp (rembg's own API, so both servers get the same request
   and answer with a full-size PNG cut-out). Failures (anything but 200 and the designed 429),
   p50 / p95 latency, throughput, and the server's resident memory sampled every 0.25 s: its
   value at request 100 and at the end, so the growth says whether memory levels off.
   The same load against `rembg s --no-ui` (rembg 2.0.86, u2netp, onnxruntime), started from a
   venv this script makes (bench/.venv-rembg: rembg's server needs fastapi, aiohttp, asyncer).
2. Hostile requests against our server: each must get its 4xx, and the service must answer a
   normal request afterwards.
3. A booth still: a 12 MP capture through `type=person&size=full` (the matting model), median.

Writes bench/results/serve.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from PIL import Image

from edgematte.serve.metrics import resident_bytes
from evaluation import sets as evalsets
from evaluation.machine import machine

OUT = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parent.parent
REMBG_VENV = Path(__file__).resolve().parent / ".venv-rembg"
REMBG_PINS = [
    "rembg==2.0.86",
    "onnxruntime==1.32.0",
    "fastapi==0.163.2",
    "uvicorn==0.54.0",
    "python-multipart==0.0.34",
    "aiohttp==3.14.5",
    "asyncer==0.0.18",
    "click==8.5.1",
    "filetype==1.2.0",
    "watchdog==7.1.0",
    "tqdm==4.70.1",
]
SETS = ("grabcut50", "ebay_synth_products", "coco_mval_products")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photos() -> list[bytes]:
    out = []
    for name in SETS:
        for s in evalsets.samples(name):
            out.append(Path(s.image).read_bytes())
    return out


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return time.perf_counter() - t0
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def rembg_python() -> Path:
    py = REMBG_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REMBG_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *REMBG_PINS], check=True)
    return py


def start_ours(port: int, workers: int | None) -> subprocess.Popen:
    args = [sys.executable, "-m", "edgematte", "serve", "--port", str(port), "--queue", "16"]
    if workers:
        args += ["--workers", str(workers)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_rembg(port: int) -> subprocess.Popen:
    from tools.sources import fetch

    home = Path(tempfile.mkdtemp(prefix="u2net-"))
    shutil.copy(fetch("u2netp"), home / "u2netp.onnx")  # rembg's own u2netp (same md5): no download
    env = dict(os.environ, U2NET_HOME=str(home))
    py = rembg_python()
    code = "import sys; from rembg.cli import main; sys.argv = ['rembg'] + sys.argv[1:]; main()"
    return subprocess.Popen(
        [str(py), "-c", code, "s", "--no-ui", "--host", "127.0.0.1", "--port", str(port), "--log_level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def load(url: str, pid: int, images: list[bytes], n: int, clients: int) -> dict:
    """n POSTs of /api/remove from `clients` threads; latency, statuses and memory over the run."""
    lock = threading.Lock()
    next_i = 0
    done = 0
    records: list[tuple[int, float]] = []  # (status, seconds)
    memory: list[tuple[int, int]] = []  # (requests done, rss bytes)
    stop = threading.Event()

    def client() -> None:
        nonlocal next_i, done
        session = requests.Session()
        while True:
            with lock:
                if next_i >= n:
                    return
                i = next_i
                next_i += 1
            t = time.perf_counter()
            try:
                r = session.post(
                    f"{url}/api/remove", files={"file": images[i % len(images)]}, data={"model": "u2netp"}, timeout=300
                )
                status = r.status_code
                if status == 429:
                    time.sleep(float(r.headers.get("Retry-After", "1")))
            except requests.RequestException:
                status = -1
            with lock:
                records.append((status, time.perf_counter() - t))
                done += 1

    def sample() -> None:
        while not stop.is_set():
            memory.append((done, resident_bytes(pid)))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    ok = sorted(s for st, s in records if st == 200)
    at_100 = next((m for d, m in memory if d >= 100), memory[0][1])
    end = memory[-1][1]
    return {
        "requests": n,
        "clients": clients,
        "ok": len(ok),
        "designed_429": sum(1 for st, _ in records if st == 429),
        "failures": sum(1 for st, _ in records if st not in (200, 429)),
        "p50_s": round(ok[len(ok) // 2], 3) if ok else None,
        "p95_s": round(ok[int(len(ok) * 0.95) - 1], 3) if ok else None,
        "throughput_rps": round(len(ok) / wall, 3),
        "wall_s": round(wall, 1),
        "rss_at_100_mb": round(at_100 / 2**20, 1),
        "rss_end_mb": round(end / 2**20, 1),
        "rss_peak_mb": round(max(m for _, m in memory) / 2**20, 1),
        "rss_growth_100_to_end_mb": round((end - at_100) / 2**20, 1),
    }


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def hostile(url: str) -> list[dict]:
    """Each hostile request, its status and code; the service must still answer afterwards."""
    sample = (REPO / "runtime" / "edgematte" / "data" / "sample.jpg").read_bytes()
    api = f"{url}/v1.0/removebg"
    cases = [
        ("wrong content type", lambda: requests.post(api, data=b"abc", headers={"Content-Type": "text/plain"})),
        (
            "truncated multipart",
            lambda: requests.post(
                api,
                data=b'--b\r\nContent-Disposition: form-data; name="image_file"; filename="a.jpg"\r\n\r\n'
                + sample[:3000],
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            ),
        ),
        ("0-byte file", lambda: requests.post(api, files={"image_file": b""})),
        (
            "decompression bomb (20000x20000 PNG, 50 KB)",
            lambda: requests.post(api, files={"image_file": _png(Image.new("1", (20000, 20000)))}),
        ),
        ("60 MP image", lambda: requests.post(api, files={"image_file": _png(Image.new("L", (7746, 7746)))})),
        ("non-image", lambda: requests.post(api, files={"image_file": b"%PDF-1.4 not an image" * 100})),
        (
            "huge form field (2 MB)",
            lambda: requests.post(api, files={"image_file": sample}, data={"size": "x" * 2_000_000}),
        ),
        ("body over the limit (30 MB)", lambda: requests.post(api, files={"image_file": b"\0" * 30_000_000})),
        ("URL to 127.0.0.1 (URLs enabled)", lambda: requests.post(api, data={"image_url": "http://127.0.0.1/a.png"})),
        ("slow upload (1 byte / 0.5 s)", lambda: slow_upload(url)),
    ]
    out = []
    for name, call in cases:
        t = time.perf_counter()
        r = call()
        status, code = r if isinstance(r, tuple) else (r.status_code, r.json()["errors"][0]["code"])
        out.append({"request": name, "status": status, "code": code, "seconds": round(time.perf_counter() - t, 2)})
    after = requests.post(api, files={"image_file": sample}, timeout=120)
    out.append({"request": "a normal request afterwards", "status": after.status_code, "code": "", "seconds": 0.0})
    return out


def slow_upload(url: str) -> tuple[int, str]:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"POST /v1.0/removebg HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
        )
        sock.settimeout(0.5)
        answer = b""
        t0 = time.time()
        while time.time() - t0 < 120 and b"\r\n\r\n" not in answer:
            try:
                sock.sendall(b"x")
                answer += sock.recv(65536)
            except TimeoutError:
                pass
            except OSError:
                break
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else -1
    code = "request_timeout" if b"request_timeout" in answer else ""
    return status, code


def booth_still(url: str, runs: int) -> dict:
    """A 12 MP capture (a grabcut50 person scaled to 4000x3000) through type=person, size=full."""
    s = next(x for x in evalsets.samples("grabcut50") if x.name == "person1")
    im = Image.open(s.image).convert("RGB").resize((4000, 3000), Image.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = requests.post(
            f"{url}/v1.0/removebg",
            files={"image_file": buf.getvalue()},
            data={"type": "person", "size": "full", "bg_color": "ffffff"},
            timeout=300,
        )
        assert r.status_code == 200, r.text
        times.append(time.perf_counter() - t)
    return {
        "size": "4000x3000",
        "model": r.headers["X-Model"],
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "times_s": [round(t, 3) for t in times],
    }


def markdown(res: dict) -> str:
    ours, theirs = res["load"]["edgematte"], res["load"].get("rembg")
    lines = [
        "# bench.serve: the service under load, hostile requests, a booth still",
        "",
        f"Machine: {res['machine']}. Command: `{res['command']}`. {ours['requests']} requests of "
        f"`POST /api/remove` (model=u2netp, full-size PNG) from {ours['clients']} clients on loopback, real "
        "photos from grabcut50, ebay_synth_products and coco_mval_products, cycled.",
        "",
        "| server | requests | ok | 429 | failures | p50 s | p95 s | req/s | RSS at 100 MB | RSS end MB | peak MB "
        "| growth MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in res["load"].items():
        lines.append(
            f"| {name} | {r['requests']} | {r['ok']} | {r['designed_429']} | {r['failures']} | {r['p50_s']} | "
            f"{r['p95_s']} | {r['throughput_rps']} | {r['rss_at_100_mb']} | {r['rss_end_mb']} | {r['rss_peak_mb']} | "
            f"{r['rss_growth_100_to_end_mb']} |"
        )
    if theirs:
        lines += [
            "",
            f"Throughput ratio (ours / rembg): {ours['throughput_rps'] / theirs['throughput_rps']:.2f}x; "
            f"resident memory at the end (ours / rembg): {ours['rss_end_mb'] / theirs['rss_end_mb']:.2f}x.",
        ]
    lines += ["", "## Hostile requests", "", "| request | status | code | seconds |", "|---|---|---|---|"]
    for h in res["hostile"]:
        lines.append(f"| {h['request']} | {h['status']} | {h['code']} | {h['seconds']} |")
    b = res["booth_still"]
    lines += [
        "",
        "## A booth still",
        "",
        f"{b['size']} capture, type=person size=full on white ({b['model']}): median {b['median_s']} s "
        f"over {b['runs']} runs ({b['times_s']}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rembg-requests", type=int, default=None, help="rembg's share (default: --requests)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None, help="our --workers (default: the service's)")
    ap.add_argument("--no-rembg", action="store_true")
    ap.add_argument("--still-runs", type=int, default=3)
    args = ap.parse_args(argv)
    if not evalsets.available():
        print("eval images not found", file=sys.stderr)
        return 2
    images = photos()
    res: dict = {"machine": machine(), "command": "python -m bench.serve " + " ".join(argv or sys.argv[1:]), "load": {}}
    port = free_port()
    proc = start_ours(port, args.workers)
    try:
        url = f"http://127.0.0.1:{port}"
        res["startup_s"] = round(wait_up(f"{url}/healthz", proc), 2)
        res["load"]["edgematte"] = load(url, proc.pid, images, args.requests, args.clients)
        print("edgematte", res["load"]["edgematte"], flush=True)
    finally:
        proc.terminate()
        proc.wait(60)
    if not args.no_rembg:
        port = free_port()
        proc = start_rembg(port)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_up(f"{url}/api", proc)
            n = args.rembg_requests or args.requests
            res["load"]["rembg"] = load(url, proc.pid, images, n, args.clients)
            print("rembg", res["load"]["rembg"], flush=True)
        finally:
            proc.terminate()
            proc.wait(60)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgematte", "serve", "--port", str(port), "--allow-urls", "--read-timeout", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(f"{url}/healthz", proc)
        res["hostile"] = hostile(url)
        res["booth_still"] = booth_still(url, args.still_runs)
    finally:
        proc.terminate()
        proc.wait(60)
    OUT.mkdir(exist_ok=True)
    (OUT / "serve.json").write_text(json.dumps(res, indent=2) + "\n")
    (OUT / "serve.md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
