"""Quality bars of the full still pipeline with the shipped INT8 u2netp, on real eval images.

Reference figures are rembg 2.0.86 with u2netp measured on the same images (evaluation/metrics.py
reproduces them: IoU 0.7994 / 0.8503 / 0.4544 / 0.3803, edge MAE 0.1196 / 0.1351).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import cv2
import numpy as np
import pytest

from bench import quality
from evaluation import metrics
from evaluation import sets as evalsets

REMBG_IOU = {
    "grabcut50": 0.800,
    "ebay_synth_products": 0.850,
    "coco_mval_products": 0.454,
    "cleargrasp_transparent": 0.380,
}
REMBG_EDGE = {"grabcut50": 0.120, "ebay_synth_products": 0.135}
# Our lead with u2netp's default still path (wide and second look, despill), measured by
# bench.quality_report and kept here with a margin: IoU points over rembg, and how much lower the
# edge-band error is. The INT8 model follows its float original closely (its card), so on
# ebay_synth_products, where rembg runs that same float model, IoU is level with it.
IOU_LEAD = {"grabcut50": 0.02, "ebay_synth_products": 0.0, "coco_mval_products": 0.005, "cleargrasp_transparent": 0.02}
EDGE_REDUCTION = {"grabcut50": 0.25, "ebay_synth_products": 0.18}

pytestmark = pytest.mark.needs_eval


@pytest.fixture(scope="module")
def results(u2netp_session):
    return quality.evaluate(lambda rgb: u2netp_session.matte(rgb).alpha, sets=list(REMBG_IOU))


@pytest.mark.parametrize("set_name", list(REMBG_IOU))
def test_iou_leads_rembg(results, set_name):
    assert results[set_name].mean("iou") >= REMBG_IOU[set_name] + IOU_LEAD[set_name]


@pytest.mark.parametrize("set_name", list(REMBG_EDGE))
def test_edge_band_error_below_rembg(results, set_name):
    assert results[set_name].mean("edge_mae") <= REMBG_EDGE[set_name] * (1 - EDGE_REDUCTION[set_name])


@pytest.mark.parametrize("set_name", list(REMBG_IOU))
def test_the_second_look_beats_one_look(u2netp_session, results, set_name):
    """The default (second look) against the previous default on the same photos: no set loses
    more than 0.3 IoU points (coco's cluttered tables are a tie), and grabcut50 and cleargrasp gain."""
    from edgematte.settings import one_look

    once = one_look(u2netp_session.settings)
    before = quality.evaluate(lambda rgb: u2netp_session.matte(rgb, once).alpha, sets=[set_name])[set_name]
    assert results[set_name].mean("iou") >= before.mean("iou") - 0.003
    if set_name in ("grabcut50", "cleargrasp_transparent"):
        assert results[set_name].mean("iou") >= before.mean("iou") + 0.01


def test_foreground_estimation_removes_old_background_on_lemur(u2netp_session):
    """lemur_cc0 composites have exact alpha; on the black one the image *is* a*F. Using the GT alpha,
    our foreground colours must cut the premultiplied colour error of the raw photo by half or more."""
    from edgematte.kernels.cutout import cutout_rgba
    from edgematte.kernels.foreground import foreground_means

    root = evalsets.eval_root() / "lemur_cc0"
    ref = cv2.cvtColor(cv2.imread(str(root / "images" / "lemur_synth_black.png")), cv2.COLOR_BGR2RGB)
    errs_raw, errs_est = [], []
    for s in evalsets.samples("lemur_cc0"):
        if s.name == "lemur_real":
            continue  # pseudo-GT only
        rgb = cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB)
        a = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
        h, w = a.shape
        st = u2netp_session.settings.foreground
        means = foreground_means(
            rgb.astype(np.float32) / 255,
            a.astype(np.float32) / 255,
            round(min(h, w) * st.radius_fraction),
            round(min(h, w) * st.fine_radius_fraction),
            st.eps,
        )
        coef = np.zeros((h, w, 4), np.float32)
        coef[..., 3] = a / 255.0  # the exact alpha, so only the colour estimate is tested
        rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])
        cutout_rgba(rgb, rgba, coef, means, np.ones((h, w), np.uint8), np.empty((1, 1), np.uint8), False, True)
        fg = np.ascontiguousarray(rgba[..., :3])
        errs_raw.append(metrics.premultiplied_error(rgb, a, ref))
        errs_est.append(metrics.premultiplied_error(fg, a, ref))
    assert np.mean(errs_est) < 0.5 * np.mean(errs_raw), (np.mean(errs_est), np.mean(errs_raw))


def test_fur_keeps_soft_alpha_where_a_global_contrast_would_not(u2netp_session):
    """Soft where the subject is soft: inside lemur_cc0's fractional-alpha band (exact GT), our alpha
    stays fractional far more often than with the same contrast applied everywhere."""
    st = u2netp_session.settings
    global_gain = st.with_(refine=replace(st.refine, hard_lo=-1.0, hard_hi=0.0))  # hardness 1 everywhere
    ours, flat = [], []
    for s in evalsets.samples("lemur_cc0"):
        if s.name == "lemur_real":
            continue
        gt = cv2.imread(str(s.gt), cv2.IMREAD_GRAYSCALE)
        band = (gt > 10) & (gt < 245)
        for settings, acc in ((None, ours), (global_gain, flat)):
            a = u2netp_session.matte(str(s.image), settings).alpha
            acc.append(np.mean(((a > 10) & (a < 245))[band]))
    assert np.mean(ours) > 0.15
    assert np.mean(ours) > 1.5 * np.mean(flat), (np.mean(ours), np.mean(flat))


def test_fringe_shift_sees_the_old_backdrop():
    """A grey disc on red with a soft edge: its true colours give no shift, the photo's own
    colours in the soft band (red mixed in) a clear shift toward red, on white and on black."""
    h = w = 160
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 80, xx - 80)
    gt = (np.clip((50 - r) / 4 + 0.5, 0, 1) * 255).round().astype(np.uint8)  # ~4 px soft edge
    a = gt.astype(np.float32)[..., None] / 255
    grey, red = np.array([120, 120, 120], np.float32), np.array([220, 30, 30], np.float32)
    photo = (a * grey + (1 - a) * red).round().astype(np.uint8)
    clean = np.dstack([np.broadcast_to(grey.astype(np.uint8), (h, w, 3)), gt])
    dirty = np.dstack([photo, gt])
    for bg in ((255, 255, 255), (0, 0, 0)):
        assert abs(metrics.fringe_shift(photo, clean, gt, bg)) < 1.0
        assert metrics.fringe_shift(photo, dirty, gt, bg) > 3.0  # ~4.5: a 4 px ring in a 17 px band


def test_despill_takes_alpha_only_from_backdrop_coloured_soft_pixels():
    """A red product edge on a blue backdrop: soft pixels of pure backdrop colour lose their alpha,
    soft pixels of mixed colour keep it, and nothing opaque changes."""
    from edgematte.despill import despill
    from edgematte.settings import ForegroundSettings

    h, w = 8, 8
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = (20, 40, 200)  # backdrop
    rgb[:, 4] = (110, 30, 120)  # a true half-and-half edge
    rgb[:, 5:] = (200, 20, 30)  # product
    rgba = np.dstack([rgb, np.zeros((h, w), np.uint8)])
    rgba[:, 3, 3] = 100  # spill: backdrop colour, alpha 100
    rgba[:, 4, 3] = 115  # the colour says 0.49: at or above the filter's alpha, so it stays
    rgba[:, 5:, 3] = 255
    means = np.zeros((4, 4, 6), np.float32)
    means[..., :3] = np.array([200, 20, 30], np.float32) / 255
    means[..., 3:] = np.array([20, 40, 200], np.float32) / 255
    before = rgba.copy()
    n = despill(rgb, rgba, means, ForegroundSettings())
    assert n == h  # the spilt column
    assert (rgba[:, 3, 3] == 0).all()
    assert np.array_equal(rgba[:, 4], before[:, 4])  # alpha is never raised
    assert np.array_equal(rgba[:, 5:], before[:, 5:])


def test_despill_is_continuous_at_its_cut_offs():
    """Backdrop-coloured soft pixels just below and just above `despill_below` (and around the
    separation cut-off) get nearly the same alpha: no cut-off turns a last-bit difference
    between two CPUs into a jump of a hundred levels."""
    from edgematte.despill import despill
    from edgematte.settings import ForegroundSettings

    s = ForegroundSettings()

    def after(alpha: int, backdrop: tuple[int, int, int]) -> int:
        rgb = np.zeros((2, 2, 3), np.uint8)
        rgb[:] = backdrop  # the pixel has the backdrop's own colour: full correction = alpha 0
        rgba = np.dstack([rgb, np.full((2, 2), alpha, np.uint8)])
        means = np.zeros((2, 2, 6), np.float32)
        means[..., :3] = np.array([200, 20, 30], np.float32) / 255
        means[..., 3:] = np.array(backdrop, np.float32) / 255
        despill(rgb, rgba, means, s)
        return int(rgba[0, 0, 3])

    cut = round(255 * s.despill_below)
    half = round(255 * s.despill_ramp / 2) + 6
    steps = [after(a, (20, 40, 200)) for a in range(cut - half, cut + half + 1)]
    assert steps[0] == 0 and steps[-1] == cut + half  # fully judged far below, untouched far above
    assert max(abs(x - y) for x, y in itertools.pairwise(steps)) <= 4  # no jump at the cut-off
    # Separation: the subject colour vs backdrops ever closer to it, around despill_separation.
    f = np.array([200, 20, 30], np.float32)
    away = np.array([-1.0, 1.0, 1.0], np.float32) / np.sqrt(3)
    seps = np.linspace(1 - 1.5 * s.despill_ramp, 1 + 1.5 * s.despill_ramp, 41) * s.despill_separation * 255
    out = [after(90, tuple(np.clip(f + d * away, 0, 255).round().astype(int))) for d in seps]
    assert out[0] == 90 and out[-1] < 20
    # The backdrop is rounded to whole levels: steps of a few levels, never the whole 90 at once.
    assert max(abs(x - y) for x, y in itertools.pairwise(out)) <= 15


def test_despill_lowers_the_fringe_and_keeps_iou(u2netp_session):
    """The default (despill on) against despill off, on ebay_synth_products: the fringe on white
    drops, IoU and edge-band error do not get worse."""
    st = u2netp_session.settings
    off = st.with_(foreground=replace(st.foreground, despill=False))
    rows = {True: [], False: []}
    for s in evalsets.samples("ebay_synth_products")[:20]:
        rgb, gt = quality.read_pair(s)
        for on, settings in ((True, None), (False, off)):
            m = u2netp_session.matte(rgb, settings)
            sc = metrics.score(m.alpha, gt)
            rows[on].append((sc.iou, sc.edge_mae, metrics.fringe_shift(rgb, m.rgba, gt, (255, 255, 255))))
    on, no = np.mean(rows[True], axis=0), np.mean(rows[False], axis=0)
    assert on[0] >= no[0] - 0.002 and on[1] <= no[1] + 0.001
    assert on[2] < no[2]
