"""A batch killed at any moment (SIGKILL, a power cut) or stopped with Ctrl-C loses nothing:
resumed, it leaves no partial, empty or undecodable output and no temporary file behind."""

from __future__ import annotations

import hashlib
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

from edgematte.files import STALE_AFTER_S, TEMP_SUFFIX, remove_stale_temps, temp_prefix
from tests.conftest import default_sigint


def _batch(src: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edgematte.cli", "remove", str(src), "-o", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _check_outputs(out: Path) -> list[Path]:
    """Every visible output decodes completely; returns them."""
    done = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    for p in done:
        assert p.stat().st_size > 0, p
        with Image.open(p) as im:
            im.load()
            assert im.mode == "RGBA"
    return done


@pytest.fixture()
def photos(tmp_path, sample_jpg) -> Path:
    """Ten 4 MP photos, so that each output takes a while to write."""
    src = tmp_path / "in"
    src.mkdir()
    base = Image.open(sample_jpg).resize((2400, 1800))
    for i in range(10):
        base.rotate(i * 3).save(src / f"big_{i}.jpg", quality=92)
    return src


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)] if folder.exists() else []


def test_sigkill_at_random_moments_then_resume_loses_nothing(photos, tmp_path):
    out = tmp_path / "out"
    before = _digests(photos)
    rng = random.Random(20261203)
    for _ in range(4):
        proc = _batch(photos, out)
        time.sleep(rng.uniform(1.5, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _check_outputs(out) if out.exists() else None
    # Kills rarely land inside the few milliseconds a write takes, so also leave what one that
    # did would leave: a killed writer's temporary file next to an output it never finished.
    out.mkdir(exist_ok=True)
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    target = out / "big_9.png"
    prefix = temp_prefix(target).replace(f"-{os.getpid()}.", f"-{killed.pid}.")
    (out / (prefix + "k1ll3d" + TEMP_SUFFIX)).write_bytes(b"\x89PNG half")
    final = _batch(photos, out)
    assert final.wait(timeout=600) == 0, final.stderr.read() if final.stderr else ""
    assert [p.name for p in _check_outputs(out)] == [f"big_{i}.png" for i in range(10)]
    assert _temps(out) == [], "a resumed batch removes the temporary files of the killed ones"
    assert _digests(photos) == before


def test_ctrl_c_stops_cleanly_with_a_summary_and_resumes(photos, tmp_path):
    out = tmp_path / "out"
    before = _digests(photos)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgematte.cli", "remove", str(photos), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and any(out.glob("*.png"))):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert code == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert _temps(out) == []
    _check_outputs(out)
    again = _batch(photos, out)
    assert again.wait(timeout=600) == 0
    assert len(_check_outputs(out)) == 10 and _temps(out) == []
    assert _digests(photos) == before


def test_only_dead_writers_temporaries_are_removed(tmp_path):
    target = tmp_path / "a.png"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = tmp_path / (temp_prefix(target) + "x1" + TEMP_SUFFIX)
        theirs_dead = tmp_path / (temp_prefix(target).replace(f"-{os.getpid()}.", f"-{dead.pid}.") + "x2" + TEMP_SUFFIX)
        theirs_alive = tmp_path / (
            temp_prefix(target).replace(f"-{os.getpid()}.", f"-{alive.pid}.") + "x3" + TEMP_SUFFIX
        )
        other_host_old = tmp_path / (".a.png.elsewhere-12." + "x4" + TEMP_SUFFIX)
        other_host_new = tmp_path / (".a.png.elsewhere-13." + "x5" + TEMP_SUFFIX)
        unrelated = tmp_path / (".b.png.h-1.x6" + TEMP_SUFFIX)
        for p in (mine, theirs_dead, theirs_alive, other_host_old, other_host_new, unrelated):
            p.write_bytes(np.zeros(10, np.uint8).tobytes())
        old = time.time() - STALE_AFTER_S - 10
        os.utime(other_host_old, (old, old))
        removed = remove_stale_temps([target])
        assert sorted(removed) == sorted([theirs_dead, other_host_old])
        assert mine.exists() and theirs_alive.exists() and other_host_new.exists() and unrelated.exists()
    finally:
        alive.kill()
        alive.wait()
