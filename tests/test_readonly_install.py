"""A kiosk image: the package on a read-only filesystem, the kernel cache in a writable folder.

`edgematte warmup` must compile every kernel any command uses, into EDGEMATTE_CACHE_DIR (or the
per-user cache when that is unset), so that later runs compile nothing: no new or rewritten
cache file after every command has run once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "runtime" / "edgematte" / "data" / "sample.jpg"


def _copy_install(site: Path) -> None:
    """What a wheel installs: the package, its data and the models inside it (no __pycache__)."""
    shutil.copytree(ROOT / "runtime" / "edgematte", site / "edgematte", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", site / "edgematte" / "models", ignore=shutil.ignore_patterns("*.md"))


@pytest.fixture
def read_only_site(tmp_path):
    """The package copied and made read-only: a read-only bind mount as root (root ignores file
    modes), file modes otherwise."""
    src = tmp_path / "src"
    _copy_install(src)
    if os.geteuid() == 0:
        site = tmp_path / "site"
        site.mkdir()
        ok = subprocess.run(["mount", "--bind", str(src), str(site)], capture_output=True).returncode == 0
        ok = ok and subprocess.run(["mount", "-o", "remount,bind,ro", str(site)], capture_output=True).returncode == 0
        if not ok:
            subprocess.run(["umount", str(site)], capture_output=True)
            pytest.skip("cannot make a read-only bind mount here")
    else:
        site = src
        for p in sorted(site.rglob("*"), reverse=True):
            p.chmod(0o555 if p.is_dir() else 0o444)
        site.chmod(0o555)
    assert not os.access(site / "edgematte" / "kernels", os.W_OK)
    yield site
    if os.geteuid() == 0:
        subprocess.run(["umount", str(site)], check=True)
    else:
        for p in [src, *src.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


def _run(site: Path, env_extra: dict[str, str], *args: str, stdin: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "EDGEMATTE_"))}
    env.update(PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1", EDGEMATTE_NO_TUNING="1", **env_extra)
    r = subprocess.run([sys.executable, "-m", "edgematte.cli", *args], input=stdin, capture_output=True, env=env,
                       cwd=site.parent, timeout=600)  # fmt: skip
    assert r.returncode == 0, f"{args}: {r.stderr.decode(errors='replace')[-2000:]}"
    return r.stdout


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_warmup_into_a_cache_dir_then_no_command_compiles(read_only_site, tmp_path):
    av = pytest.importorskip("av")
    from evaluation.clips import person_clip, write_clip

    cache = tmp_path / "cache"
    env = {"EDGEMATTE_CACHE_DIR": str(cache)}
    out = _run(read_only_site, env, "warmup").decode()
    assert str(cache / "numba") in out
    before = _snapshot(cache)
    assert any(k.endswith(".nbc") for k in before) and any(k.endswith(".nbi") for k in before)
    assert not list(read_only_site.rglob("*.nbi"))

    work = tmp_path / "work"
    work.mkdir()
    clip = work / "clip.mp4"
    write_clip(clip, [f.rgb[::4, ::4].copy() for f in person_clip().frames[:6]], rate=10)
    bg = work / "bg.png"
    from PIL import Image

    Image.fromarray(np.full((90, 160, 3), (30, 90, 200), np.uint8)).save(bg)
    frame = np.asarray(Image.open(SAMPLE).convert("RGB").resize((160, 120)))
    runs: list[tuple[str, ...]] = [
        ("remove", str(SAMPLE), "-o", str(work / "a.png")),
        ("remove", str(SAMPLE), "-o", str(work / "b.jpg"), "--bg", "white"),
        ("remove", str(SAMPLE), "-o", str(work / "c.jpg"), "--bg", str(bg)),
        ("remove", str(SAMPLE), "-o", str(work / "d.png"), "--mask-only"),
        ("remove", str(SAMPLE), "-o", str(work / "e.png"), "--model", "portrait"),
        ("compose", str(SAMPLE), "-o", str(work / "f.jpg"), "--preset", "amazon"),
        ("video", str(clip), "-o", str(work / "g.mp4"), "--bg", "green", "-q"),
        ("video", str(clip), "-o", str(work / "h.mp4"), "--bg", str(bg), "-q"),
        ("video", str(clip), "-o", str(work / "i.webm"), "-q"),
        ("video", str(clip), "-o", str(work / "j.mp4"), "--mask", "-q"),
        ("preview", "--camera", str(clip), "--no-loop", "--frames", "4", "-o", str(work / "k.mp4"), "--bg", str(bg)),
    ]
    for args in runs:
        _run(read_only_site, env, *args)
    for extra in ((), ("--bg", "white"), ("--mask",)):
        _run(read_only_site, env, "stream", "--size", "160x120", *extra, stdin=frame.tobytes() * 3)
    after = _snapshot(cache)
    compiled = sorted(k for k in after if after[k] != before.get(k))
    assert not compiled, f"compiled after warmup (warmup misses these): {compiled}"
    assert av is not None


def test_without_a_cache_dir_a_read_only_install_uses_the_user_cache(read_only_site, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    out = _run(read_only_site, {"HOME": str(home), "XDG_CACHE_HOME": ""}, "warmup").decode()
    assert str(home / ".cache" / "edgematte" / "numba") in out
    assert list((home / ".cache" / "edgematte" / "numba").rglob("*.nbc"))
