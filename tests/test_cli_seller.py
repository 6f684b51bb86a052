"""The seller verbs (compose, resize, place, check) run as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.test_cli import run


@pytest.fixture(scope="module")
def shots(tmp_path_factory, sample_jpg):
    """Two product photos (one upscaled past Amazon's 1000 px) and a broken file."""
    root = tmp_path_factory.mktemp("shots")
    Image.open(sample_jpg).resize((1600, 1200)).save(root / "mug.jpg", quality=92)
    Image.open(sample_jpg).save(root / "mug-small.jpg", quality=92)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


def test_compose_folder_for_amazon_then_final_check_passes(shots, tmp_path):
    out = tmp_path / "amazon"
    r = run("compose", str(shots), "--preset", "amazon", "-o", str(out))
    assert r.returncode == 2  # the broken file failed; the others were made
    assert b"broken.jpg" in r.stderr and b"Traceback" not in r.stderr
    made = sorted(out.glob("*.jpg"))
    assert [p.name for p in made] == ["mug-small.jpg", "mug.jpg"]
    for p in made:
        im = Image.open(p)
        assert im.format == "JPEG" and im.width == im.height >= 1000
        assert np.asarray(im.convert("RGB"))[:5].min() == 255
    r = run("check", *map(str, made), "--final", "--preset", "amazon", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout.decode()
    reports = json.loads(r.stdout)
    assert len(reports) == 2 and all(x["passed"] for x in reports)


def test_check_photo_exits_1_on_a_hard_rule_and_writes_html_for_several(shots, tmp_path):
    small = shots / "mug-small.jpg"  # 960x720 < walmart's 1500x1500
    r = run("check", str(small), "--preset", "walmart")
    assert r.returncode == 1
    assert b"FAIL  resolution" in r.stdout and b"->" in r.stdout
    r = run("check", str(shots / "mug.jpg"), str(small), "--edges", "--crops", str(tmp_path / "crops"), cwd=tmp_path)
    assert r.returncode in (0, 1)
    html = (tmp_path / "edgematte-check.html").read_text()
    assert html.count("data:image/jpeg;base64") >= 2 and "mug-small.jpg" in html


def test_check_final_needs_a_preset(shots):
    r = run("check", str(shots / "mug.jpg"), "--final")
    assert r.returncode == 5 and b"--preset" in r.stderr


def test_resize_and_place(shots, tmp_path):
    r = run("resize", str(shots / "mug.jpg"), "--preset", "shopify", "-o", str(tmp_path / "s.jpg"))
    assert r.returncode == 0, r.stderr.decode()
    assert Image.open(tmp_path / "s.jpg").size == (2048, 2048)
    scene = np.zeros((900, 1600, 3), np.uint8)
    scene[:] = (170, 150, 120)
    scene[600:] = (120, 90, 60)  # a table
    Image.fromarray(scene).save(tmp_path / "room.jpg")
    r = run("place", str(shots / "mug.jpg"), "--scene", str(tmp_path / "room.jpg"), "-o", str(tmp_path / "p.jpg"))
    assert r.returncode == 0, r.stderr.decode()
    assert Image.open(tmp_path / "p.jpg").size == (1600, 900)
    r = run("place", str(shots / "mug.jpg"), "--scene", str(tmp_path / "nope.jpg"))
    assert r.returncode == 5 and b"--scene" in r.stderr
    r = run("place", str(shots / "mug.jpg"), "--scene", str(tmp_path / "room.jpg"), "--at", "2,3", "-o",
            str(tmp_path / "q.jpg"))  # fmt: skip
    assert r.returncode == 5 and b"--at" in r.stderr  # a bad option: 5, before any file is read
