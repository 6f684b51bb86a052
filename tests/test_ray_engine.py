"""`edgematte remove --engine ray` on a real local Ray cluster: 200 photos with corrupt ones, a
worker actor killed with SIGKILL mid-run, a rerun, and the Dataset-in, Dataset-out function."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from edgematte.files import TEMP_SUFFIX  # noqa: E402

N_GOOD = 190


def _corrupt(folder: Path, good: bytes) -> list[str]:
    """Ten files that must fail one by one, never the job."""
    bad = {
        "empty.jpg": b"",
        "truncated.jpg": good[: len(good) // 2],
        "noise.png": os.urandom(3000),
        "text.webp": b"not an image at all",
        "header_only.png": b"\x89PNG\r\n\x1a\n",
        "cut_png.png": b"",
        "jpeg_no_eoi.jpg": good[:-200],
        "zero_dims.gif": b"GIF89a\x00\x00\x00\x00\x00\x00\x00;",
        "bmp_lie.bmp": b"BM" + b"\xff" * 60,
        "tiff_lie.tif": b"II*\x00" + b"\x00" * 20,
    }
    im = Image.new("RGB", (64, 64), (200, 10, 10))
    im.save(folder / "tmp_ok.png")
    data = (folder / "tmp_ok.png").read_bytes()
    (folder / "tmp_ok.png").unlink()
    bad["cut_png.png"] = data[: len(data) - 30]  # IEND and part of the data gone
    for name, blob in bad.items():
        (folder / name).write_bytes(blob)
    return sorted(bad)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, sample_jpg) -> tuple[Path, list[str]]:
    src = tmp_path_factory.mktemp("catalogue")
    base = Image.open(sample_jpg).convert("RGB")
    for i in range(N_GOOD):
        sub = src / f"shelf{i % 4}"
        sub.mkdir(exist_ok=True)
        w = 160 + (i % 5) * 16
        base.resize((w, w * 3 // 4)).rotate(i * 2).save(sub / f"p{i:03d}.jpg", quality=88)
    good = (src / "shelf0" / "p000.jpg").read_bytes()
    return src, _corrupt(src, good)


def _ray_workers() -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().startswith(b"ray::MapWorker(MapBatches(CutoutActor))"):
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def _manifest(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "edgematte-manifest.jsonl").read_text().splitlines()]


def test_a_catalogue_with_corrupt_files_and_a_killed_worker(tmp_path, catalogue):
    src, bad = catalogue
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "edgematte.cli", "remove", str(src), "-o", str(out), "--engine", "ray"]
    proc = subprocess.Popen([*cmd, "--workers", "2", "--threads", "1"], stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        end = time.monotonic() + 240
        while killed is None and proc.poll() is None and time.monotonic() < end:
            done = len(list(out.rglob("*.png"))) if out.exists() else 0
            workers = _ray_workers()
            if done >= 30 and workers:
                killed = workers[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert killed is not None, "no worker was killed (the run ended first)"
    assert proc.returncode == 2, err  # bad images fail one by one; the job completes
    rows = _manifest(out)
    sources = [Path(r["source"]).relative_to(src).as_posix() for r in rows]
    assert len(sources) == len(set(sources)) == N_GOOD + len(bad)  # every file exactly once
    failed = sorted(Path(r["source"]).name for r in rows if r["status"] == "failed")
    assert failed == bad
    assert all(r["error"] == "ImageError" and r["exit_code"] == 2 for r in rows if r["status"] == "failed")
    # A batch in flight on the killed worker was retried on a new one: outputs already written then
    # are skipped, never written twice or lost.
    assert {r["status"] for r in rows if r["status"] != "failed"} <= {"ok", "skipped"}
    assert len({r["worker"] for r in rows}) >= 3  # two workers and the restarted one
    outputs = sorted(out.rglob("*.png"))
    assert len(outputs) == N_GOOD and not list(out.rglob(f"*{TEMP_SUFFIX}"))
    for p in outputs[::19]:
        with Image.open(p) as im:
            im.load()
            assert im.mode == "RGBA"
    for r in rows:
        if r["status"] != "failed":
            assert Path(r["output"]).exists()
    assert len(err.strip().splitlines()) <= len(bad) + 3, err  # one line per bad file and a summary

    # A rerun redoes nothing: every output is skipped, the bad files fail again.
    mtimes = {p: p.stat().st_mtime_ns for p in outputs}
    rerun = subprocess.run([*cmd, "--workers", "1"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 2, rerun.stderr
    statuses = [r["status"] for r in _manifest(out)]
    assert statuses.count("skipped") == N_GOOD and statuses.count("failed") == len(bad)
    assert {p: p.stat().st_mtime_ns for p in outputs} == mtimes


def test_dataset_in_dataset_out(tmp_path, sample_jpg):
    from edgematte.batch import expand_inputs, plan
    from edgematte.ray_engine import CutoutSpec, jobs_dataset, remove_dataset

    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        Image.open(sample_jpg).resize((200, 150)).rotate(i * 9).save(src / f"m{i}.jpg")
    jobs = plan(expand_inputs([str(src)]), str(tmp_path / "out"), ".webp")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        ds = remove_dataset(jobs_dataset(jobs), CutoutSpec(mask_only=True, format="WEBP", threads=1), workers=2)
        assert isinstance(ds, ray.data.Dataset)
        rows = ds.take_all()
    finally:
        ray.shutdown()
    assert sorted(r["status"] for r in rows) == ["ok"] * 6
    for j in jobs:
        with Image.open(j.output) as im:
            assert im.format == "WEBP" and im.size == (200, 150)
            assert np.asarray(im.convert("L")).std() > 10  # a mask, not a blank
