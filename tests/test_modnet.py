"""MODNet portrait matting through our runtime: orientation pairs, soft hair, foreground colours.

Thresholds are the figures measured with `python -m bench.portrait_report` (bench/results/
portrait.json) minus a margin, on the real models and the real lemur_cc0 / grabcut50 images.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import quality
from edgematte import Session
from evaluation import metrics
from evaluation import sets as evalsets

# modnet-int8 pair + our refinement, measured here (bench.portrait_report's functions, profile pi5):
PEOPLE_IOU = 0.7379  # grabcut50 person*, 8 images
LEMUR_SAD = 2.469  # lemur_cc0, 9 exact composites (u2netp-int8: 6.13)
FG_RATIO = 0.75  # our foreground colours vs keeping the photo's: 0.0083 vs 0.0136 measured (0.61)


@pytest.fixture(scope="module")
def modnet():
    """The boards' variant (full INT8); x86 runs the fp16 pair, INT8 measured slower there."""
    return Session("modnet", threads=2, profile="pi5")


def test_modnet_resolves_to_a_matting_pair(modnet):
    assert modnet.card.kind == "matting" and modnet.model == "modnet-int8"
    x86 = Session("portrait", profile="desktop-x86")
    assert x86.model == "modnet-fp16" and x86.matte(np.zeros((600, 400, 3), np.uint8)).model == "modnet-fp16-portrait"
    assert modnet.settings.refine.alpha_gain == 1.0  # the model's soft alpha is kept
    tall = np.full((600, 400, 3), 128, np.uint8)
    wide = np.full((400, 600, 3), 128, np.uint8)
    # The Matte names the model that actually ran: each photo goes to the twin of its orientation.
    assert modnet.matte(tall).model == "modnet-int8-portrait"
    assert modnet.matte(wide).model == "modnet-int8"
    assert modnet.model == "modnet-int8"
    assert Session("portrait", profile="pi4").model == "modnet-int8-small"


@pytest.mark.needs_eval
def test_people_iou_and_lemur_alpha_with_refinement(modnet):
    res = quality.evaluate(lambda rgb: modnet.matte(rgb).alpha, sets=["grabcut50"], select=lambda s: s.is_person)
    assert res["grabcut50"].mean("iou") >= PEOPLE_IOU - 0.01
    samples = {s.name: s for s in evalsets.samples("lemur_cc0")}
    black, _ = quality.read_pair(samples["lemur_synth_black"])
    sads, fg_err, photo_err, soft, gt_soft = [], [], [], [], []
    for name, s in samples.items():
        if name == "lemur_real":
            continue
        rgb, gt = quality.read_pair(s)
        m = modnet.matte(rgb)
        sads.append(metrics.score(m.alpha, gt).sad)
        fg_err.append(metrics.premultiplied_error(m.cutout_rgb, gt, black))
        photo_err.append(metrics.premultiplied_error(rgb, gt, black))
        soft.append(float(((m.alpha > 12) & (m.alpha < 243)).mean()))
        gt_soft.append(float(((gt > 12) & (gt < 243)).mean()))
    assert np.mean(sads) <= LEMUR_SAD + 0.5
    assert np.mean(fg_err) < np.mean(photo_err) * FG_RATIO  # the old background's colour is removed
    # Fur keeps its fractional alpha: as many soft pixels as the exact GT (measured 4.6% vs 4.4%;
    # u2netp-int8 with the same refinement: 2.6%).
    assert abs(np.mean(soft) / np.mean(gt_soft) - 1) < 0.3


@pytest.mark.needs_eval
def test_cli_remove_with_modnet(tmp_path):
    from PIL import Image

    from tests.test_cli import run

    s = next(x for x in evalsets.samples("grabcut50") if x.name == "person3")
    out = tmp_path / "p.png"
    r = run("remove", str(s.image), "--model", "modnet", "-o", str(out))
    assert r.returncode == 0, r.stderr.decode()
    a = np.asarray(Image.open(out))[..., 3]
    assert a.shape == Image.open(s.image).size[::-1] and 0.05 < (a > 127).mean() < 0.95
