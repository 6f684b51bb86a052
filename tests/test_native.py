"""The C library (native/) against the Python runtime, stage by stage and whole, on real images.

Built here with the machine's C compiler (skipped with a reason when there is none). Integer
stages (resize, working image, model input, cell states, compositing) must be bit-exact; float
stages within one uint8 level of the Numba kernels (which use fast-math); the whole C still path
on LiteRT's C API within 2 alpha levels of `Session.matte` on >= 99.9% of pixels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgematte.infer import ModelStage, prepare_input, working_image
from edgematte.kernels import composite, cutout, guided
from edgematte.kernels import foreground as fgk
from edgematte.kernels.resize import resize_area_u8, resize_linear_u8
from edgematte.kernels.sampling import resize_map
from edgematte.models import resolve
from edgematte.refine import NO_ALPHA, fit, foreground
from edgematte.settings import LiveSettings, as_in_c, still_settings_for
from edgematte.timings import Timings
from evaluation import sets as evalsets
from tests.conftest import read_rgb
from tools import native

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


@pytest.fixture(scope="module")
def lib() -> native.Native:
    n = native.Native(native.build("cc"))
    yield n
    n.close()


@pytest.fixture(scope="module")
def photo(sample_jpg) -> np.ndarray:
    if evalsets.available():
        s = next(x for x in evalsets.samples("grabcut50") if x.name == "person1")
        return np.ascontiguousarray(cv2.resize(read_rgb(s.image), (1600, 1200), interpolation=cv2.INTER_CUBIC))
    return read_rgb(sample_jpg)


def _smooth_map(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    m = cv2.GaussianBlur(np.random.default_rng(seed).random(shape).astype(np.float32), (0, 0), 8)
    return ((m - m.min()) / (m.max() - m.min())).astype(np.float32)


def test_c_unit_tests_pass():
    out = native.build("cc")
    r = subprocess.run([str(out / "em_test")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_defaults_are_settings_py(lib):
    """The C defaults are read from the same numbers (settings.py) the Python runtime uses."""
    for kind, matting in (("segmentation", False), ("matting", True)):
        py, c = still_settings_for(kind), lib.still_settings(matting)
        assert c.work_long_side == 640 and bool(c.normalise_peak) == py.infer.normalise_peak
        assert c.peak_floor == np.float32(py.infer.peak_floor)
        for f in ("radius", "eps", "alpha_gain", "hard_window", "hard_lo", "hard_hi"):
            assert getattr(c.refine, f) == np.float32(getattr(py.refine, f)), f
        for f in ("scale", "radius_fraction", "fine_radius_fraction"):
            assert getattr(c.foreground, f) == getattr(py.foreground, f), f
        assert c.foreground.eps == np.float32(py.foreground.eps) and bool(c.foreground.enabled)
    live, pl = lib.live_settings(), LiveSettings()
    assert live.work_long_side == pl.work_long_side and live.smoothing == np.float32(pl.temporal.ema_weight)
    assert live.refine.eps == np.float32(pl.refine.eps) and live.refine.alpha_gain == pl.refine.alpha_gain


@pytest.mark.parametrize(
    "size,mode",
    [((640, 480), "area"), ((333, 250), "area"), ((800, 600), "area"), ((1, 1), "area"), ((2100, 1700), "linear")],
)
def test_resize_is_bit_exact(lib, photo, size, mode):
    w, h = size
    if mode == "area":
        want, got = resize_area_u8(photo, w, h), lib.resize_u8(photo, w, h, native.INTER_AREA)
    else:
        small = resize_area_u8(photo, 97, 61)
        want, got = resize_linear_u8(small, w, h), lib.resize_u8(small, w, h, native.INTER_LINEAR)
    assert np.array_equal(want, got)
    grey = np.ascontiguousarray(photo[..., 1])
    assert np.array_equal(resize_area_u8(grey, w, h), lib.resize_u8(grey, w, h, native.INTER_AREA))


def test_strided_views_give_the_same_pixels(lib, photo):
    view = photo[100:900, 200:1400]  # rows keep the full photo's stride
    assert not view.flags.c_contiguous
    assert np.array_equal(lib.resize_u8(view, 320, 213, native.INTER_AREA), resize_area_u8(view, 320, 213))


def test_working_image_and_model_input_are_bit_exact(lib, photo):
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :400] = 0
    alpha[:, 400:420] = 128
    for a in (None, alpha):
        work = working_image(photo, a, 640)
        assert np.array_equal(lib.working_image(photo, a, 640), work)
    for hw, mode in (
        ((320, 320), "stretch"),
        ((384, 512), "letterbox"),
        ((512, 384), "letterbox"),
        ((144, 256), "stretch"),
    ):
        x, box = prepare_input(work, hw, mode)
        y, cbox = lib.prepare_input(work, hw, mode == "letterbox", as_int8=True)
        assert np.array_equal(x ^ np.uint8(0x80), y)  # int8 input: pixel - 128
        assert (box.top, box.left, box.height, box.width) == (cbox.top, cbox.left, cbox.height, cbox.width)


def test_model_map_matches_the_infer_stage(lib, photo):
    """Dequantise, cut the letterbox, normalise the peak: as ModelStage.predict does."""
    card = resolve("u2netp-int8")
    stage = ModelStage(card, 2)
    work = working_image(photo, None, 640)
    _, box = prepare_input(work, card.input_hw, card.resize)
    raw = stage._engines[0][1]._it  # the interpreter: its quantised output
    pred = stage.predict(work, still_settings_for("segmentation").infer, Timings())
    q = raw.get_tensor(stage._engines[0][1].output.index)[0, ..., 0]
    spec = stage._engines[0][1].output
    got = lib.model_map(q, native.Letterbox(box.top, box.left, box.height, box.width), spec.scale, spec.zero_point,
                        normalise_peak=True)  # fmt: skip
    np.testing.assert_allclose(got, pred.map, atol=1e-6)


def test_refine_stages_against_numba(lib, photo):
    s = still_settings_for("segmentation")
    work = working_image(photo, None, 640)
    m = _smooth_map((320, 320))
    wh, ww = work.shape[:2]
    p = resize_map(m, ww, wh)
    assert np.array_equal(lib.resize_map(m, ww, wh), p)  # no fast-math on either side: same bits
    hard = guided.edge_hardness(p, 9, 0.2, 0.8)
    np.testing.assert_array_equal(lib.edge_hardness(p, 9, 0.2, 0.8), hard)
    coef = guided.guided_coefficients(work.astype(np.float32) / 255, p, 2, 1e-4)
    ccoef = lib.guided_coefficients(work, p, 2, 1e-4)
    # Coefficients of ill-conditioned windows differ in float; what they make must not.
    a_py = guided.apply_upsampled(work, coef, NO_ALPHA, False)
    a_c = lib.apply_upsampled(work, ccoef, None)
    assert np.abs(a_py.astype(int) - a_c).max() <= 1
    sharp = guided.sharpen_hard_edges(coef, hard, 4.0)
    np.testing.assert_allclose(lib.sharpen_hard_edges(coef, hard, 4.0), sharp, rtol=1e-6, atol=1e-6)
    f = fit(work, m, s.refine)
    assert np.array_equal(lib.cell_state(f.alpha), f.state)
    src_alpha = np.random.default_rng(3).integers(0, 256, photo.shape[:2], dtype=np.uint8)
    for sa in (None, src_alpha):
        a_py = guided.apply_upsampled(photo, f.coef, NO_ALPHA if sa is None else sa, sa is not None)
        assert np.abs(a_py.astype(int) - lib.apply_upsampled(photo, f.coef, sa)).max() <= 1


def test_foreground_and_cutout_against_numba(lib, photo):
    s = still_settings_for("segmentation")
    work = working_image(photo, None, 640)
    f = fit(work, _smooth_map((320, 320), 1), s.refine)
    fh, fw = work.shape[0] // 2, work.shape[1] // 2
    fguide = resize_area_u8(work, fw, fh).astype(np.float32) / np.float32(255)
    fa = resize_area_u8(f.alpha, fw, fh).astype(np.float32) / np.float32(255)
    m_py = fgk.foreground_means(fguide, fa, 15, 3, 1e-4)
    np.testing.assert_allclose(lib.foreground_means(fguide, fa, 15, 3, 1e-4), m_py, atol=1e-4)
    means = foreground(f, s.foreground)
    for estimate in (True, False):
        rgba = cv2.cvtColor(photo, cv2.COLOR_RGB2RGBA)
        cutout.cutout_rgba(photo, rgba, f.coef, means, f.state, NO_ALPHA, False, estimate)
        c = lib.cutout_rgba(photo, f.coef, means, f.state, None, estimate)
        assert np.abs(rgba.astype(int) - c).max() <= 1


def test_compositing_is_exact_and_cells_within_one(lib, photo):
    rng = np.random.default_rng(5)
    alpha = rng.integers(0, 256, photo.shape[:2], dtype=np.uint8)
    bg = rng.integers(0, 256, photo.shape, dtype=np.uint8)
    col = np.array([0, 177, 64], np.uint8)
    assert np.array_equal(
        lib.composite_colour(photo, alpha, (0, 177, 64)), composite.composite_colour(photo, alpha, col)
    )
    assert np.array_equal(lib.composite_image(photo, alpha, bg), composite.composite_image(photo, alpha, bg))
    work = working_image(photo, None, 320)
    f = fit(work, _smooth_map((144, 256), 2), LiveSettings().refine)
    want = composite.composite_cells(photo, f.coef, f.state, bg)
    assert np.abs(lib.composite_cells(photo, f.coef, f.state, bg).astype(int) - want).max() <= 1


def test_live_frame_and_temporal_stage(lib, photo):
    s = LiveSettings()
    frame = np.ascontiguousarray(cv2.resize(photo, (1280, 720)))
    work = working_image(frame, None, s.work_long_side)
    prev, cur = _smooth_map((144, 256), 3), _smooth_map((144, 256), 4)
    state = prev.copy()
    smoothed = lib.temporal_smooth(cur, state, s.temporal.ema_weight)
    np.testing.assert_array_equal(smoothed, np.float32(0.5) * prev + np.float32(0.5) * cur)
    assert np.array_equal(state, smoothed)
    bg = np.zeros_like(frame)
    bg[:] = (0, 177, 64)
    f = fit(work, smoothed, s.refine)
    want = composite.composite_cells(frame, f.coef, f.state, bg)
    got = lib.live_frame(frame, work, smoothed, lib.live_settings(), bg)
    assert np.abs(got.astype(int) - want).max() <= 1


def test_results_do_not_depend_on_threads(photo):
    one, two = native.Native(native.build("cc"), 1), native.Native(native.build("cc"), 2)
    try:
        work = working_image(photo, None, 640)
        m = _smooth_map((320, 320), 6)
        s = one.still_settings(False)
        a, b = one.still_refine(photo, None, work, m, s), two.still_refine(photo, None, work, m, s)
        assert np.array_equal(a, b)
        assert np.array_equal(one.working_image(photo, None, 640), two.working_image(photo, None, 640))
    finally:
        one.close()
        two.close()


def test_still_refine_matches_the_session_after_the_model(lib, photo):
    """em_still_refine on the map the Session's model made = Session.matte's cut-out: the stages
    compose (the hard-edge contrast multiplies float differences by up to 4), so within 2 levels,
    and more than 1 level on under 0.1% of pixels."""
    from edgematte.still import Session

    session = Session("u2netp-int8", threads=2)
    session.settings = as_in_c(session.settings)  # the library has no despill step
    m = session.matte(photo)
    work = working_image(photo, None, 640)
    c = lib.still_refine(photo, None, work, m.mask_lowres, lib.still_settings(False))
    diff = np.abs(c[..., 3].astype(int) - m.alpha)
    assert diff.max() <= 2 and (diff > 1).mean() < 0.001
    premult = np.abs(c[..., :3].astype(int) * c[..., 3:] - m.rgba[..., :3].astype(int) * m.rgba[..., 3:]) / 255
    assert premult.max() <= 3 and (premult > 1).mean() < 0.001  # colours where they show (alpha-weighted)


@pytest.mark.needs_eval
@pytest.mark.parametrize("model", ["u2netp-int8", "modnet-int8"])
def test_the_whole_still_path_in_c_on_litert(tmp_path, model):
    """em_cutout (LiteRT's C API + the library) vs Session.matte, on real photos of both orientations."""
    import ai_edge_litert
    from PIL import Image

    from edgematte.still import Session

    out = native.build("cc")
    litert = Path(ai_edge_litert.__file__).parent / "libLiteRt.so"
    session = Session(model, threads=2)
    session.settings = as_in_c(session.settings)  # em_cutout: one look, no despill (see edgematte.h)
    extra = (
        ["--matting", "--portrait", str(REPO / "models" / "modnet-int8-portrait.tflite")] if "modnet" in model else []
    )
    picks = [s for s in evalsets.samples("grabcut50") if s.name in ("person1", "teddy", "scissors", "flower")]
    for s in picks:
        rgb = read_rgb(s.image)
        Image.fromarray(rgb).save(tmp_path / "in.ppm")
        files = [str(REPO / "models" / f"{model}.tflite"), str(tmp_path / "in.ppm"), str(tmp_path / "out.pam")]
        cmd = [str(out / "em_cutout"), "--threads", "2", "--litert", str(litert), *extra, *files]
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        assert r.returncode == 0, r.stderr
        c = native.read_pam(tmp_path / "out.pam")
        diff = np.abs(c[..., 3].astype(int) - session.matte(rgb).alpha)
        assert (diff <= 2).mean() >= 0.999, (s.name, diff.max(), (diff > 2).mean())
        assert c.shape[:2] == rgb.shape[:2]


def test_native_builds_warning_free_with_clang():
    if shutil.which("clang") is None:
        pytest.skip("clang not installed (.ci/run installs it)")
    out = native.build("clang")
    r = subprocess.run([str(out / "em_test")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (37, 23), (641, 479)])
def test_synthetic_ramps_and_tiny_odd_sizes(lib, size):
    """An exact alpha ramp (the map is linear in x) through the whole refine on tiny and odd photos."""
    w, h = size
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    photo = np.dstack([(x * 255).astype(np.uint8), np.full((h, w), 90, np.uint8), ((1 - x) * 255).astype(np.uint8)])
    photo = np.ascontiguousarray(photo)
    s = still_settings_for("segmentation")
    work = working_image(photo, None, s.work_long_side)
    f = fit(work, x, s.refine)
    means = foreground(f, s.foreground)
    rgba = cv2.cvtColor(photo, cv2.COLOR_RGB2RGBA)
    cutout.cutout_rgba(photo, rgba, f.coef, means, f.state, NO_ALPHA, False, True)
    c = lib.still_refine(photo, None, work, x, lib.still_settings(False))
    assert np.abs(c[..., 3].astype(int) - rgba[..., 3]).max() <= 2
