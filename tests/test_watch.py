"""`edgematte watch`: a real watcher process on a real folder, files copied in slowly, restarts,
SIGKILL at random moments, moving and deleting inputs, bad files and clashes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgematte.files import TEMP_SUFFIX
from edgematte.watch import LOG_NAME, WatchLog, move_without_replacing, open_for_writing
from tests.conftest import default_sigint


def _start(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edgematte.cli", "watch", str(src), "-o", str(out), "--settle", "0.6", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def _run_once(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "edgematte.cli", "watch", str(src), "-o", str(out), "--once", "--settle", "0.3"]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=300)


def _wait(cond, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


def _log(out: Path) -> list[dict]:
    lines = (out / LOG_NAME).read_text().splitlines() if (out / LOG_NAME).exists() else []
    return [json.loads(x) for x in lines if x.strip()]


def _oks(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rec in _log(out):
        if rec["status"] == "ok":
            counts[Path(rec["source"]).name] = counts.get(Path(rec["source"]).name, 0) + 1
    return counts


def _stop(p: subprocess.Popen) -> tuple[str, str]:
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return out, err


def _photo(sample_jpg: Path, path: Path, i: int, size: tuple[int, int] = (800, 600)) -> bytes:
    Image.open(sample_jpg).resize(size).rotate(i * 7).save(path, quality=90)
    return path.read_bytes()


def _decodes(p: Path) -> np.ndarray:
    with Image.open(p) as im:
        im.load()
        return np.asarray(im)


def _no_temps(*folders: Path) -> None:
    for f in folders:
        assert not [p for p in f.rglob("*") if p.name.endswith(TEMP_SUFFIX)], f


@pytest.mark.parametrize("how", ["inotify", "polling"])
def test_slow_copies_are_read_only_when_complete(tmp_path, sample_jpg, how):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    big = tmp_path / "big.jpg"
    data = _photo(sample_jpg, big, 1, (2400, 1800))
    w = _start(src, out, *(["--polling"] if how == "polling" else []))
    try:
        # Kept open, written in 24 chunks over ~5 s, with one stall longer than --settle halfway
        # (only the open-for-writing check holds it back then).
        with open(src / "kept_open.jpg", "wb") as f:
            for n, k in enumerate(range(0, len(data), len(data) // 24 + 1)):
                f.write(data[k : k + len(data) // 24 + 1])
                f.flush()
                time.sleep(1.5 if n == 12 else 0.15)
        # Opened and closed per chunk, pausing less than --settle between chunks.
        part = len(data) // 6 + 1
        for k in range(0, len(data), part):
            with open(src / "reopened.jpg", "ab") as f:
                f.write(data[k : k + part])
            time.sleep(0.3)
        _wait(lambda: len(_oks(out)) == 2)
        stdout, stderr = _stop(w)
    finally:
        w.kill()
    assert _oks(out) == {"kept_open.jpg": 1, "reopened.jpg": 1}, stdout
    assert not [r for r in _log(out) if r["status"] in ("failed", "changed")]
    from edgematte import remove

    want = np.asarray(remove(Image.open(big)))
    for name in ("kept_open", "reopened"):
        got = _decodes(out / f"{name}.png")
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1  # the whole photo, not a part of it
    assert (src / "kept_open.jpg").read_bytes() == data
    assert f"({how};" in stderr


def test_restart_redoes_nothing_and_misses_nothing(tmp_path, sample_jpg):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "day1").mkdir(parents=True)
    w = _start(src, out)
    try:
        for i in range(3):
            _photo(sample_jpg, src / "day1" / f"p{i}.jpg", i)
        _wait(lambda: len(_oks(out)) == 3)
    finally:
        w.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop, with its summary
        _, err = w.communicate(timeout=120)
    assert w.returncode == 130 and "stopped: 3 done, 0 skipped, 0 failed" in err, err
    first = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    # Arrive while nothing watches; one of the finished ones is replaced by a new capture.
    for i in range(3, 5):
        _photo(sample_jpg, src / f"p{i}.jpg", i)
    time.sleep(0.05)
    _photo(sample_jpg, src / "day1" / "p0.jpg", 40)
    r = _run_once(src, out)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sorted(Path(x.split()[1]).name for x in lines) == ["p0.jpg", "p3.jpg", "p4.jpg"], lines
    assert all(x.startswith("ok ") for x in lines)
    assert _oks(out) == {"p0.jpg": 2, "p1.jpg": 1, "p2.jpg": 1, "p3.jpg": 1, "p4.jpg": 1}
    assert (out / "day1" / "p1.png").stat().st_mtime_ns == first[out / "day1" / "p1.png"]  # not redone
    assert (out / "day1" / "p0.png").stat().st_mtime_ns != first[out / "day1" / "p0.png"]  # the new capture
    assert (out / "p4.png").exists()
    r = _run_once(src, out)  # nothing left to do
    assert r.returncode == 0 and r.stdout == "", r.stdout


def test_sigkill_at_random_moments_then_resume(tmp_path, sample_jpg):
    src, out, done = tmp_path / "in", tmp_path / "out", tmp_path / "done"
    src.mkdir()
    rng = random.Random(7)
    digests: dict[str, str] = {}
    n = 0
    for _ in range(4):
        w = _start(src, out, "--move-done", str(done))
        time.sleep(rng.uniform(2.0, 4.0))  # model load, then files arriving and being processed
        for _ in range(3):
            data = _photo(sample_jpg, tmp_path / "staging.jpg", n, (2000, 1500))
            digests[f"c{n}.jpg"] = hashlib.sha256(data).hexdigest()
            os.replace(tmp_path / "staging.jpg", src / f"c{n}.jpg")  # a camera's rename into place
            n += 1
            time.sleep(rng.uniform(0.0, 0.8))
        time.sleep(rng.uniform(0.0, 1.5))
        w.kill()
        w.wait()
    r = _run_once(src, out, "--move-done", str(done))
    assert r.returncode == 0, r.stderr
    _no_temps(src, out, done)
    assert not list(src.glob("*.jpg"))  # every input moved, once its output was written
    moved = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in done.iterdir()}
    assert moved == digests  # byte-identical, none lost, none twice
    outputs = sorted(p.name for p in out.glob("*.png"))
    assert outputs == sorted(f"c{i}.png" for i in range(n))
    for p in out.glob("*.png"):
        assert _decodes(p).shape == (1500, 2000, 4)
    assert all(v == 1 for v in _oks(out).values()), _oks(out)  # killed before its 'ok': redone, else never


def test_move_done_never_replaces_and_delete_input(tmp_path, sample_jpg):
    src, out, done = tmp_path / "in", tmp_path / "out", tmp_path / "done"
    src.mkdir()
    done.mkdir()
    (done / "a.jpg").write_bytes(b"an earlier capture with the same name")
    _photo(sample_jpg, src / "a.jpg", 1)
    r = _run_once(src, out, "--move-done", str(done))
    assert r.returncode == 0, r.stderr
    assert (done / "a.jpg").read_bytes() == b"an earlier capture with the same name"
    assert (done / "a.1.jpg").exists() and not (src / "a.jpg").exists()
    _photo(sample_jpg, src / "b.jpg", 2)
    r = _run_once(src, out, "--delete-input")
    assert r.returncode == 0, r.stderr
    assert not (src / "b.jpg").exists() and (out / "b.png").exists()
    assert [x["status"] for x in _log(out)][-1] == "deleted"


def test_bad_files_clashes_and_one_watcher_per_folder(tmp_path, sample_jpg):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    good = _photo(sample_jpg, src / "x.jpg", 1)
    (src / "broken.jpg").write_bytes(good[: len(good) // 3])
    _photo(sample_jpg, tmp_path / "x.png", 2)
    Image.open(tmp_path / "x.png").save(src / "x.png")
    (src / "notes.txt").write_text("not an image")
    r = _run_once(src, out)
    assert r.returncode == 5, r.stderr  # the worst failure: the clash (an option: 5) over the bad image (2)
    assert "broken.jpg" in r.stderr and "--keep-ext" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 4  # start, 2 errors, summary: one line each
    assert (out / "x.png").exists() and not (out / "broken.png").exists()
    r = _run_once(src, out)  # unchanged bad files are not tried again
    assert r.returncode == 0 and r.stdout == "", r.stderr
    (src / "broken.jpg").write_bytes(good)  # replaced by a good copy: tried again
    r = _run_once(src, out)
    assert r.returncode == 0 and "ok" in r.stdout and (out / "broken.png").exists()
    w = _start(src, out)
    try:
        _wait(lambda: (out / ".edgematte-watch.lock").exists() and w.poll() is None and _log(out), 60)
        time.sleep(3)
        r = _run_once(src, out)
        assert r.returncode == 5 and "another edgematte watch" in r.stderr
    finally:
        _stop(w)


def test_preset_composes_for_the_marketplace(tmp_path, sample_jpg):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _photo(sample_jpg, src / "shoe.jpg", 0)
    r = _run_once(src, out, "--preset", "amazon")
    assert r.returncode == 0, r.stderr
    img = _decodes(out / "shoe.jpg")
    assert img.shape[2] == 3 and (img[:5, :5] == 255).all()


def test_log_survives_a_line_cut_short(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text('{"source": "a.jpg", "output": "a.png", "status": "ok", "size": 1, "mtime_ns": 2}\n{"source": "b.j')
    log = WatchLog(p)
    assert set(log.last) == {"a.jpg"} and log.owner == {"a.png": "a.jpg"}
    log.add("failed", Path("c.jpg"), None, None, message="bad")
    log.close()
    lines = p.read_text().splitlines()
    assert json.loads(lines[-1])["source"] == "c.jpg"
    assert set(WatchLog(p).last) == {"a.jpg", "c.jpg"}


def test_open_for_writing_and_move(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    b.write_bytes(b"b")
    with open(a, "wb") as f:
        f.write(b"x")
        assert open_for_writing({a, b}) == {a}
    assert open_for_writing({a, b}) == set()
    dst = tmp_path / "d"
    first = move_without_replacing(a, dst)
    (tmp_path / "a.jpg").write_bytes(b"y")
    second = move_without_replacing(tmp_path / "a.jpg", dst)
    assert (first.name, second.name) == ("a.jpg", "a.1.jpg")
    assert first.read_bytes() == b"x" and second.read_bytes() == b"y"


def test_names_used_again_and_outputs_gone(tmp_path, sample_jpg):
    src, out, done = tmp_path / "in", tmp_path / "out", tmp_path / "done"
    src.mkdir()
    _photo(sample_jpg, src / "IMG_0001.jpg", 1)
    assert _run_once(src, out, "--move-done", str(done)).returncode == 0
    first = (out / "IMG_0001.png").read_bytes()
    # The camera's counter starts again: a new photo with the same name gets its own output.
    _photo(sample_jpg, src / "IMG_0001.jpg", 30)
    r = _run_once(src, out, "--move-done", str(done))
    assert r.returncode == 0, r.stderr
    assert (out / "IMG_0001.png").read_bytes() == first and (out / "IMG_0001.1.png").exists()
    assert sorted(p.name for p in done.iterdir()) == ["IMG_0001.1.jpg", "IMG_0001.jpg"]
    # Finished without --delete-input; its output removed since: a restart with --delete-input
    # makes the output again before it deletes anything.
    _photo(sample_jpg, src / "keep.jpg", 2)
    assert _run_once(src, out).returncode == 0
    (out / "keep.png").unlink()
    r = _run_once(src, out, "--delete-input")
    assert r.returncode == 0, r.stderr
    assert (out / "keep.png").exists() and not (src / "keep.jpg").exists()


def test_paths_as_typed_do_not_matter_and_bad_layouts_are_refused(tmp_path, sample_jpg):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _photo(sample_jpg, src / "a.jpg", 1)
    args = [sys.executable, "-m", "edgematte.cli", "watch", "in", "-o", "out", "--once", "--settle", "0.3"]
    assert subprocess.run(args, cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    mtime = (out / "a.png").stat().st_mtime_ns
    r = _run_once(src, out)  # absolute paths this time: the same files, nothing redone
    assert r.returncode == 0 and r.stdout == "", r.stdout
    assert (out / "a.png").stat().st_mtime_ns == mtime
    r = _run_once(src, src.parent)  # the watched folder inside the output folder
    assert r.returncode == 5 and "inside the -o folder" in r.stderr


def test_a_move_cut_short_is_finished_not_duplicated(tmp_path):
    src = tmp_path / "a.jpg"
    src.write_bytes(b"photo")
    done = tmp_path / "done"
    done.mkdir()
    os.link(src, done / "a.jpg")  # linked, then the power went before the unlink
    dst = move_without_replacing(src, done)
    assert dst == done / "a.jpg" and not src.exists() and [p.name for p in done.iterdir()] == ["a.jpg"]
