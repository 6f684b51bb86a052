"""The second look (looks.py): the subject's crop looked at again and merged with the first look."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgematte import looks
from edgematte.kernels.sampling import resize_map
from edgematte.settings import one_look, still_settings_for


def test_subject_crop_is_the_padded_box_in_working_pixels():
    m = np.zeros((100, 100), np.float32)
    m[40:60, 20:30] = 0.9  # rows 40..59, columns 20..29 at the model's resolution
    crop = looks.subject_crop(m, (200, 400), pad=0.1)  # the working image is 2x taller, 4x wider
    # box: rows 80..120, columns 80..120; pad 10% + 2 px on every side
    assert (crop.top, crop.bottom, crop.left, crop.right) == (74, 126, 74, 126)
    assert crop.area_fraction(200, 400) == pytest.approx(52 * 52 / 80000)


def test_subject_crop_clips_to_the_image_and_none_without_a_subject():
    m = np.zeros((10, 10), np.float32)
    assert looks.subject_crop(m, (50, 50), 0.15) is None
    m[0:10, 0:10] = 1.0
    c = looks.subject_crop(m, (50, 70), 0.15)
    assert (c.top, c.bottom, c.left, c.right) == (0, 50, 0, 70)


def test_merge_averages_where_the_looks_agree_and_the_surer_decides_where_they_do_not():
    first = np.array([0.7, 0.9, 0.6, 0.2, 0.5, 0.1], np.float32)
    second = np.array([0.9, 0.7, 0.1, 0.95, 0.5, 0.3], np.float32)
    got = looks.merge_confident(first, second)
    np.testing.assert_allclose(got, [0.8, 0.8, 0.1, 0.95, 0.5, 0.2], atol=1e-6)
    assert got.dtype == np.float32


def test_merge_looks_keeps_the_first_look_outside_the_crop():
    rng = np.random.default_rng(1)
    first = rng.random((32, 32), dtype=np.float32)
    second = rng.random((32, 32), dtype=np.float32)
    crop = looks.Crop(10, 30, 5, 25)
    out = looks.merge_looks(first, second, crop, (64, 48))
    up = resize_map(first, 48, 64)
    outside = np.ones((64, 48), bool)
    outside[10:30, 5:25] = False
    assert out.shape == (64, 48)
    assert np.array_equal(out[outside], up[outside])
    close = resize_map(second, 20, 20)
    np.testing.assert_allclose(out[10:30, 5:25], looks.merge_confident(up[10:30, 5:25], close))


def _scene(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A textured grey backdrop with one red ellipse-ish product inside `box` (top, bottom, left, right)."""
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(190, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    t, b, l, r = box
    cv2.ellipse(img, ((l + r) // 2, (t + b) // 2), ((r - l) // 2, (b - t) // 2), 0, 0, 360, (200, 30, 40), -1)
    return img


def test_a_small_subject_gets_a_second_invoke_and_a_filling_one_does_not(u2netp_session):
    small = u2netp_session.matte(_scene(480, 640, (160, 320, 220, 420)))  # ~8% of the frame: no wide look
    assert small.invokes == 2 and "second_look" in small.timings.stages and "wide_look" not in small.timings.stages
    assert small.mask_lowres.shape == (480, 640)  # merged at the working size
    big = u2netp_session.matte(_scene(480, 640, (5, 475, 5, 635)))
    assert big.invokes == 1 and "second_look" not in big.timings.stages


def test_one_look_and_frames_take_a_single_invoke(u2netp_session):
    photo = _scene(480, 640, (200, 280, 280, 380))  # ~2% of the frame: a photo would take the wide look too
    assert u2netp_session.matte(photo, one_look(u2netp_session.settings)).invokes == 1
    seen: list[tuple[int, ...]] = []

    def temporal(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        seen.append(y.shape)
        return y

    m = u2netp_session.matte(photo, temporal=temporal)
    assert m.invokes == 1 and seen == [(320, 320)]  # the temporal stage sees the model's own map


def test_mirror_averaging_doubles_both_looks(u2netp_session):
    from dataclasses import replace

    st = u2netp_session.settings
    best = st.with_(infer=replace(st.infer, tta_flip=True))
    assert u2netp_session.matte(_scene(480, 640, (160, 320, 220, 420)), best).invokes == 4


def test_subject_share_and_wider_subject():
    m = np.zeros((10, 20), np.float32)
    m[:2, :5] = 0.7
    m[5, 5] = 0.5  # not above 0.5
    assert looks.subject_share(m) == pytest.approx(10 / 200)
    wide = np.zeros((5, 5), np.float32)
    wide[0, :2] = 0.9  # 2 / 25 = 8% of the frame, at its own resolution
    assert looks.wider_subject(m, wide)
    assert not looks.wider_subject(wide, m)
    assert not looks.wider_subject(m, m)  # ties keep the first look
    everything = np.ones((5, 5), np.float32)
    assert looks.wider_subject(m, everything) and not looks.wider_subject(m, everything, most=0.9)


def test_the_wide_look_runs_only_when_the_first_look_finds_almost_nothing(u2netp_session):
    blank = np.full((480, 640, 3), 128, np.uint8)  # nothing to find at any size
    m = u2netp_session.matte(blank)
    assert "wide_look" in m.timings.stages and m.invokes == 2  # looked, found no more: the first map stands
    assert m.mask_lowres.shape == (320, 320)
    filling = u2netp_session.matte(_scene(480, 640, (5, 475, 5, 635)))
    assert "wide_look" not in filling.timings.stages


def test_the_wide_look_is_the_same_model_at_another_size(sample_jpg):
    """A model of another family (the selfie segmenter) never borrows u2netp's coarse variant."""
    from edgematte import Session

    with Session("selfie-general-fp32") as s:
        assert s.settings.infer.wide_look
        m = s.matte(np.full((480, 640, 3), 128, np.uint8))
        assert "wide_look" not in m.timings.stages and m.invokes == 1


def test_defaults_second_look_for_segmentation_only():
    assert still_settings_for("segmentation").infer.second_look
    assert still_settings_for("segmentation").infer.wide_look
    assert still_settings_for("segmentation", best=True).infer.second_look
    assert not still_settings_for("matting").infer.second_look
    assert not still_settings_for("matting").infer.wide_look
    assert not one_look(still_settings_for("segmentation")).infer.second_look
    assert not one_look(still_settings_for("segmentation")).infer.wide_look


@pytest.mark.needs_eval
def test_the_second_look_finds_thin_parts_the_first_look_lost(u2netp_session):
    """grabcut50's 304074, a mountain goat small against a rock face: its legs and horns are a few
    pixels wide at 320 x 320; the crop sees them (IoU ~0.83 -> ~0.97)."""
    from bench import quality
    from evaluation import metrics
    from evaluation import sets as evalsets

    sample = next(s for s in evalsets.samples("grabcut50") if s.name == "304074")
    rgb, gt = quality.read_pair(sample)
    once = metrics.iou(u2netp_session.matte(rgb, one_look(u2netp_session.settings)).alpha, gt, sample.ignore)
    twice = metrics.iou(u2netp_session.matte(rgb).alpha, gt, sample.ignore)
    assert twice > once + 0.1, (once, twice)


@pytest.mark.needs_eval
def test_the_wide_look_finds_a_subject_the_first_look_missed(u2netp_session):
    """grabcut50's scissors: at 320 x 320 the open blades read as background; at 160 x 160 they do not."""
    from bench import quality
    from evaluation import metrics
    from evaluation import sets as evalsets

    sample = next(s for s in evalsets.samples("grabcut50") if s.name == "scissors")
    rgb, gt = quality.read_pair(sample)
    once = metrics.iou(u2netp_session.matte(rgb, one_look(u2netp_session.settings)).alpha, gt, sample.ignore)
    m = u2netp_session.matte(rgb)
    assert "wide_look" in m.timings.stages
    assert metrics.iou(m.alpha, gt, sample.ignore) > once + 0.5, once


def test_the_profile_decides_the_looks_unless_the_caller_does():
    from edgematte import Session
    from edgematte.errors import OptionError

    assert Session("u2netp-int8", profile="desktop-x86").settings.infer.second_look
    assert not Session("u2netp-int8", profile="pi5").settings.infer.second_look  # budgets set for one invoke
    assert Session("u2netp-int8", profile="pi5", looks=2).settings.infer.second_look
    assert not Session("u2netp-int8", profile="desktop-x86", looks=1).settings.infer.second_look
    with pytest.raises(OptionError, match="looks must be 1 or 2"):
        Session("u2netp-int8", looks=3)


def test_remove_looks_option(tmp_path, sample_jpg):
    from tests.test_cli import run

    r = run("remove", str(sample_jpg), "-o", str(tmp_path / "a.png"), "--looks", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").exists()
    r = run("remove", str(sample_jpg), "-o", str(tmp_path / "b.png"), "--looks", "3")
    assert r.returncode == 2 and not (tmp_path / "b.png").exists()
    assert b"--looks" in r.stderr
