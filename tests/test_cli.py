"""The `edgematte` command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgematte.cli", *args], input=stdin, capture_output=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory, sample_jpg) -> Path:
    """A small tree of inputs: two good photos in nested folders and one broken file."""
    root = tmp_path_factory.mktemp("in")
    (root / "a" / "b").mkdir(parents=True)
    Image.open(sample_jpg).save(root / "a" / "mug.jpg")
    Image.open(sample_jpg).resize((480, 360)).save(root / "a" / "b" / "small.png")
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    return root


def test_single_file_to_png(sample_jpg, tmp_path):
    out = tmp_path / "mug.png"
    r = run("remove", str(sample_jpg), "-o", str(out))
    assert r.returncode == 0, r.stderr.decode()
    im = Image.open(out)
    assert im.mode == "RGBA" and im.size == (960, 720)
    assert b"Traceback" not in r.stderr and b"XNNPACK" not in r.stderr


def test_folder_mirrors_tree_reports_bad_file_and_resumes(photos, tmp_path):
    out = tmp_path / "out"
    r = run("remove", str(photos / "a"), "-o", str(out), "--report", str(tmp_path / "report.json"))
    assert r.returncode == 2  # one bad file
    err = r.stderr.decode()
    assert "broken.jpg" in err and "Traceback" not in err
    assert (out / "mug.png").exists() and (out / "b" / "small.png").exists()
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["counts"] == {"ok": 2, "skipped": 0, "failed": 1}
    before = (out / "mug.png").stat().st_mtime_ns
    r2 = run("remove", str(photos / "a" / "mug.jpg"), str(photos / "a" / "b"), "-o", str(out))
    assert r2.returncode == 0 and "skipped" in r2.stderr.decode()
    assert (out / "mug.png").stat().st_mtime_ns == before
    r3 = run("remove", str(photos / "a" / "mug.jpg"), "-o", str(out), "--overwrite", "-q")
    assert r3.returncode == 0 and (out / "mug.png").stat().st_mtime_ns != before


def test_glob_mask_only_and_jpeg_on_colour(photos, tmp_path):
    r = run("remove", str(photos / "a" / "*.jpg"), "-o", str(tmp_path / "g"), "--mask-only", "-q")
    assert r.returncode == 2  # broken.jpg matches the glob too
    assert Image.open(tmp_path / "g" / "mug.png").mode == "L"
    r = run("remove", str(photos / "a" / "mug.jpg"), "-o", str(tmp_path / "w.jpg"), "--bg", "white")
    assert r.returncode == 0
    px = np.asarray(Image.open(tmp_path / "w.jpg"))
    assert (px[5, 5] >= 253).all()


def test_stdin_to_stdout(sample_jpg):
    r = run("remove", "-", stdin=sample_jpg.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    assert Image.open(io.BytesIO(r.stdout)).mode == "RGBA"


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["remove", "/no/such/file.jpg"], 2, "no such file"),
        (["remove", "{sample}", "--bg", "#12"], 5, "neither a colour"),
        (["remove", "{sample}", "--model", "nope"], 3, "unknown model"),
        (["remove", "{sample}", "-o", "{tmp}/x.gif"], 5, "unknown output type"),
    ],
)
def test_user_errors_are_one_line(args, code, needle, sample_jpg, tmp_path):
    args = [a.format(sample=sample_jpg, tmp=tmp_path) for a in args]
    r = run(*args)
    err = r.stderr.decode().strip()
    assert r.returncode == code, err
    assert needle in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_never_overwrites_the_input(sample_jpg, tmp_path):
    src = tmp_path / "in.png"
    Image.open(sample_jpg).save(src)
    before = src.read_bytes()
    r = run("remove", str(src), "-o", str(src), "--overwrite")
    assert r.returncode != 0 and "overwrite the input" in r.stderr.decode()
    assert src.read_bytes() == before


def test_models_and_warmup():
    r = run("models")
    assert r.returncode == 0 and b"u2netp-int8" in r.stdout
    r = run("models", "--json")
    assert "u2netp-int8" in json.loads(r.stdout)
    r = run("warmup")
    assert r.returncode == 0 and b"kernels compiled" in r.stdout


def test_bench_runs_a_profile_and_reports_against_its_budgets(tmp_path):
    """The device check works end to end; whether it passes is the machine's business (bench/)."""
    out = tmp_path / "pi5.json"
    r = run("bench", "--profile", "pi5", "--runs", "1", "--json", str(out))
    assert r.returncode in (0, 1), r.stderr.decode()
    report = json.loads(out.read_text())
    assert report["profile"] == "pi5"
    assert {c["job"] for c in report["checks"]} == {"still_12mp", "portrait_12mp", "preview_720p"}
    assert b"still_12mp" in r.stdout and (b"PASS" in r.stdout or b"FAIL" in r.stdout)
    assert run("bench", "--profile", "nosuchboard").returncode == 5
