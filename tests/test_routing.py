"""`--model auto` (routing.py): portraits to the matting model, everything else to u2netp.

Real models and real eval photos; the quality of auto against each model alone is measured by
`python -m bench.quality_report`, the routing's accuracy by `python -m bench.routing`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from evaluation import sets as evalsets

from .conftest import read_rgb

EVAL = evalsets.eval_root()
PORTRAIT = EVAL / "grabcut50" / "images" / "person8.png"  # a face large in the frame, long hair (a soft edge)
FULL_BODY = EVAL / "grabcut50" / "images" / "person5.jpg"  # a small face: u2netp measured better
needs_eval = pytest.mark.needs_eval


@pytest.fixture(scope="module")
def auto():
    from edgematte import Session

    return Session(threads=2, profile="desktop-x86")


def test_the_default_is_auto_and_names_both_models(auto):
    from edgematte.models import resolve

    assert auto.model == "auto" and auto.auto
    assert auto.models == [resolve("product", "desktop-x86").name, resolve("portrait", "desktop-x86").name]
    assert auto.card.family == "u2netp" and auto.person_card is not None and auto.person_card.kind == "matting"


def test_a_named_model_is_not_routed(sample_jpg):
    from edgematte import Session

    s = Session("u2netp-int8", threads=1)
    assert not s.auto and s.model == "u2netp-int8" and s.models == ["u2netp-int8"]
    m = s.matte(sample_jpg)
    assert m.model == "u2netp-int8" and "route" not in m.timings.stages


def test_a_product_goes_to_u2netp_and_the_matting_model_waits(sample_jpg):
    from edgematte import Session

    s = Session(threads=2, profile="desktop-x86")
    m = s.matte(sample_jpg)
    assert m.model == s.card.name and "route" in m.timings.stages
    assert list(s._stages or {}) == [s.card.name]  # MODNet is loaded at the first portrait only


@needs_eval
def test_a_portrait_goes_to_the_matting_model_and_a_full_body_photo_to_u2netp(auto):
    portrait = auto.matte(read_rgb(PORTRAIT))
    assert portrait.model.startswith(auto.person_card.name)  # or its orientation twin (-portrait)
    assert portrait.invokes >= 2  # u2netp's look(s), then the matting model's one look
    assert "route" in portrait.timings.stages
    body = auto.matte(read_rgb(FULL_BODY))
    assert body.model == auto.card.name and body.invokes <= 2  # u2netp only


@needs_eval
def test_the_router_says_portrait_only_for_big_faces():
    from edgematte.routing import PERSON, PRODUCT, PersonDetector

    d = PersonDetector()
    assert d.kind(read_rgb(PORTRAIT)) == PERSON
    assert d.kind(read_rgb(FULL_BODY)) == PRODUCT
    for s in evalsets.samples("ebay_synth_products")[:6]:
        assert d.kind(read_rgb(s.image)) == PRODUCT, s.name


@needs_eval
def test_studio_mode_leaves_portraits_alone():
    from edgematte import Session

    s = Session(threads=2, profile="desktop-x86", studio=True)
    assert s.settings.studio.enabled and s.person_settings is not None and not s.person_settings.studio.enabled
    m = s.matte(read_rgb(PORTRAIT))
    assert m.model.startswith("modnet") and m.studio == "" and "studio" not in m.timings.stages


@needs_eval
def test_the_batch_summary_and_report_say_which_model_each_photo_went_to(sample_jpg, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.open(sample_jpg).save(src / "mug.jpg")
    # As it is: MODNet's matte of a re-encoded copy loses a part (then u2netp's map is kept).
    shutil.copy(PORTRAIT, src / "portrait.jpg")
    report = tmp_path / "report.json"
    args = ["remove", str(src), "-o", str(tmp_path / "out"), "--profile", "desktop-x86", "--report", str(report)]
    r = subprocess.run(
        [sys.executable, "-m", "edgematte.cli", *args],
        capture_output=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr.decode()
    files = {f["source"].rsplit("/", 1)[-1]: f for f in json.loads(report.read_text())["files"]}
    assert files["mug.jpg"]["model"].startswith("u2netp") and files["portrait.jpg"]["model"].startswith("modnet")
    summary = r.stderr.decode().strip().splitlines()[-1]
    assert "2 done" in summary and "auto: " in summary and "modnet" in summary and "u2netp" in summary


def test_same_subject_compares_maps_of_any_resolution_over_the_whole_photo():
    from edgematte.routing import same_subject

    seg = np.zeros((320, 320), np.float32)
    seg[80:240, 100:220] = 0.9  # a stretched square map
    mat = np.zeros((384, 512), np.float32)
    mat[96:288, 160:352] = 1.0  # the same box at another resolution
    assert same_subject(seg, mat)
    other = np.zeros((384, 512), np.float32)
    other[0:150, 0:200] = 1.0  # something else in the photo
    assert not same_subject(seg, other)
    assert same_subject(np.zeros((8, 8)), np.zeros((16, 16)))  # nothing anywhere: no disagreement


@needs_eval
def test_a_face_by_a_product_keeps_u2netp_when_the_matting_model_cuts_out_someone_else(auto):
    # COCO's phone photo: a face the router sees, but the labelled subject is the phone.
    phone = next(s for s in evalsets.samples("coco_mval_products") if s.name.startswith("cell-phone01"))
    m = auto.matte(read_rgb(phone.image))
    assert m.model == auto.card.name and m.invokes >= 2  # both models ran; u2netp's map was kept


def test_soft_edge_width_is_the_soft_band_per_pixel_of_outline():
    from edgematte.routing import soft_edge_width

    hard = np.zeros((100, 100), np.float32)
    hard[20:80, 20:80] = 1.0
    assert soft_edge_width(hard) == 0.0  # no soft pixel at all
    assert soft_edge_width(np.zeros((50, 50), np.float32)) == 0.0  # no subject
    ramp = np.tile(np.clip((np.arange(100, dtype=np.float32) - 40) / 20, 0, 1), (100, 1))  # 20 px ramp
    assert 14 < soft_edge_width(ramp) < 18  # 0.1..0.9 of a 20 px ramp: 16 px wide, one outline pixel per row


@needs_eval
def test_an_unsure_face_goes_to_the_matting_model_only_with_fur_or_hair(auto):
    """lemur_cc0's face scores ~0.74 (unsure): the selfie segmenter agrees and MODNet's matte is soft
    (fur), so MODNet's matte is kept. grabcut50's elephant statue scores ~0.67: its outline is hard,
    so u2netp's map stands."""
    from edgematte.decode import decode
    from edgematte.routing import PERSON, PRODUCT, UNSURE

    lemur = EVAL / "lemur_cc0" / "images" / "lemur_real.png"
    statue = EVAL / "grabcut50" / "images" / "elefant.png"
    for path in (lemur, statue):
        assert auto.route(decode(str(path))) == UNSURE, path.name
    m = auto.matte(read_rgb(lemur))
    assert m.model.startswith(auto.person_card.name) and m.kind == PERSON
    s = auto.matte(read_rgb(statue))
    assert s.model == auto.card.name and s.kind == PRODUCT


@needs_eval
def test_a_confident_portrait_keeps_the_matting_model_without_the_soft_edge_check(auto):
    """rembg's girl-3: a confident face and long hair, but a hard body outline, so MODNet's soft band
    averages ~2.4 px all round (under SOFT_EDGE_PX): the soft-edge check is for unsure faces only."""
    from edgematte.decode import decode
    from edgematte.routing import PERSON, PORTRAIT

    path = EVAL / "rembg_fixtures" / "examples" / "girl-3.jpg"
    assert auto.route(decode(str(path))) == PORTRAIT
    m = auto.matte(read_rgb(path))
    assert m.model.startswith(auto.person_card.name) and m.kind == PERSON
