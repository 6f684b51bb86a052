"""Every Numba kernel against its plain-NumPy reference (same maths, written the obvious way)."""

from __future__ import annotations

import numpy as np
import pytest

from edgematte.kernels.box import box_mean, box_mean_reference
from edgematte.kernels.composite import composite_cells, composite_colour, composite_image, composite_reference
from edgematte.kernels.cutout import cell_state, cutout_rgba, cutout_rgba_reference
from edgematte.kernels.foreground import (
    foreground_means,
    fuse,
    fuse_reference,
    local_means,
    local_means_reference,
)
from edgematte.kernels.guided import (
    apply_upsampled,
    apply_upsampled_reference,
    edge_hardness,
    guided_coefficients,
    guided_coefficients_reference,
    sharpen_hard_edges,
    sharpen_hard_edges_reference,
)

rng = np.random.default_rng(42)


@pytest.mark.parametrize("shape,r", [((37, 53, 3), 4), ((64, 48, 13), 1), ((5, 7, 2), 9), ((1, 1, 1), 3)])
def test_box_mean_matches_reference(shape, r):
    x = rng.random(shape, dtype=np.float32)
    np.testing.assert_allclose(box_mean(x, r), box_mean_reference(x, r), atol=5e-5)


def test_box_mean_keeps_constants_at_borders():
    x = np.full((20, 30, 2), 0.7, np.float32)
    np.testing.assert_allclose(box_mean(x, 6), 0.7, atol=1e-6)


def _smooth_field(h: int, w: int, c: int) -> np.ndarray:
    base = rng.random((h // 4 + 2, w // 4 + 2, c), dtype=np.float32)
    import cv2

    return cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, c)


def test_guided_coefficients_match_reference():
    guide = np.clip(_smooth_field(40, 56, 3) + 0.05 * rng.random((40, 56, 3), dtype=np.float32), 0, 1)
    p = np.clip(_smooth_field(40, 56, 1)[..., 0], 0, 1)
    ours = guided_coefficients(guide, p, 3, 1e-3)
    ref = guided_coefficients_reference(guide, p, 3, 1e-3)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=1e-3)


def test_guided_filter_reproduces_a_mask_that_is_linear_in_the_guide():
    # If p = a . I + b exactly, the filter returns p (up to the eps shrinkage).
    guide = rng.random((30, 30, 3), dtype=np.float32)
    p = (0.2 * guide[..., 0] + 0.5 * guide[..., 2] + 0.1).astype(np.float32)
    coef = guided_coefficients(guide, p, 2, 1e-6)
    q = (coef[..., :3] * guide).sum(-1) + coef[..., 3]
    np.testing.assert_allclose(q, p, atol=2e-3)


@pytest.mark.parametrize("with_alpha", [False, True])
def test_apply_upsampled_matches_reference(with_alpha):
    image = rng.integers(0, 256, (73, 91, 3), dtype=np.uint8)
    coef = _smooth_field(19, 23, 4) * np.array([0.6, 0.3, 0.2, 0.2], np.float32)
    src = rng.integers(0, 256, (73, 91), dtype=np.uint8)
    ours = apply_upsampled(image, coef, src if with_alpha else np.empty((1, 1), np.uint8), with_alpha)
    ref = apply_upsampled_reference(image, coef, src if with_alpha else None)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1


def test_sharpen_hard_edges_matches_reference_and_keeps_the_half_level():
    coef = _smooth_field(12, 15, 4)
    hard = rng.random((12, 15), dtype=np.float32)
    np.testing.assert_allclose(
        sharpen_hard_edges(coef, hard, 3.0), sharpen_hard_edges_reference(coef, hard, 3.0), atol=1e-5
    )
    # a pixel whose filtered alpha is exactly 0.5 stays 0.5 whatever the contrast
    c = np.zeros((1, 1, 4), np.float32)
    c[..., 3] = 0.5
    assert sharpen_hard_edges(c, np.ones((1, 1), np.float32), 5.0)[0, 0, 3] == pytest.approx(0.5)


def test_edge_hardness_separates_a_step_from_a_ramp():
    step = np.zeros((20, 40), np.float32)
    step[:, 20:] = 1
    ramp = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (20, 1))
    assert edge_hardness(step, 9, 0.3, 0.8)[10, 20] == 1.0
    assert edge_hardness(ramp, 9, 0.3, 0.8).max() == 0.0


def test_local_means_match_reference():
    img = rng.random((33, 47, 3), dtype=np.float32)
    other = rng.random((33, 47, 3), dtype=np.float32)
    a = np.clip(_smooth_field(33, 47, 1)[..., 0], 0, 1)
    np.testing.assert_allclose(
        local_means(img, other, a, 5, 1e-4), local_means_reference(img, other, a, 5, 1e-4), atol=1e-4, rtol=1e-4
    )


def test_fuse_matches_reference():
    img = rng.random((21, 34, 3), dtype=np.float32)
    a = rng.random((21, 34), dtype=np.float32)
    m = rng.random((21, 34, 6), dtype=np.float32)
    np.testing.assert_allclose(fuse(img, a, m), fuse_reference(img, a, m), atol=1e-5)


@pytest.mark.parametrize("estimate,with_alpha", [(True, False), (True, True), (False, False)])
def test_cutout_rgba_matches_reference(estimate, with_alpha):
    import cv2

    image = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    coef = _smooth_field(16, 20, 4) * np.array([0.8, 0.4, 0.3, 1.0], np.float32) - np.array([0, 0, 0, 0.3], np.float32)
    coef[:4, :5] = [0, 0, 0, 2.0]  # a solid opaque corner
    coef[-4:, -5:] = [0, 0, 0, -1.0]  # a solid clear corner
    means = rng.random((8, 10, 6), dtype=np.float32)  # half the coefficient grid, as in the pipeline
    a_work = apply_upsampled(
        cv2.resize(image, (20, 16), interpolation=cv2.INTER_AREA), coef, np.empty((1, 1), np.uint8), False
    )
    state = cell_state(a_work)
    assert {0, 1, 255} <= set(np.unique(state).tolist())
    src = np.full((64, 80), 255, np.uint8)
    src[:20, :30] = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    cutout_rgba(
        image, rgba, coef, means, state, src if with_alpha else np.empty((1, 1), np.uint8), with_alpha, estimate
    )
    ref = cutout_rgba_reference(image, coef, means, state, src if with_alpha else None, estimate)
    a = rgba[..., 3]
    assert (a == 0).any() and (a == 255).any() and ((a > 0) & (a < 255)).any()
    assert np.abs(rgba.astype(int) - ref.astype(int)).max() <= 1
    opaque = a == 255
    np.testing.assert_array_equal(rgba[opaque][:, :3], image[opaque])  # opaque pixels keep their colour
    assert (
        rgba[..., :3][
            (
                state[np.minimum(((np.arange(64) + 0.5) / 4).astype(int), 15)][
                    :, np.minimum(((np.arange(80) + 0.5) / 4).astype(int), 19)
                ]
                == 0
            )
        ]
        == 0
    ).all()  # clear cells: transparent black


def test_foreground_removes_the_old_background_from_a_synthetic_blend():
    # I = a F + (1 - a) B with constant F and B along a 12 px soft edge: the estimate must be
    # close to F where the raw colour is far from it.
    h, w = 60, 120
    F, B = np.array([200, 40, 30], np.float32), np.array([20, 160, 230], np.float32)
    ramp = np.tile(np.clip((np.arange(w) - 54) / 12.0, 0, 1), (h, 1)).astype(np.float32)
    img = (ramp[..., None] * F + (1 - ramp[..., None]) * B).round().astype(np.uint8)
    alpha = (ramp * 255).round().astype(np.uint8)
    means = foreground_means(img.astype(np.float32) / 255, alpha.astype(np.float32) / 255, 30, 3, 1e-4)
    coef = np.zeros((h, w, 4), np.float32)
    coef[..., 3] = ramp  # alpha = ramp exactly (no dependence on the image)
    rgba = np.dstack([img, np.full((h, w), 255, np.uint8)])
    cutout_rgba(img, rgba, coef, means, np.ones((h, w), np.uint8), np.empty((1, 1), np.uint8), False, True)
    fg = rgba[..., :3]
    band = (alpha > 25) & (alpha < 230)
    raw_err = np.abs(img[band].astype(np.float32) - F).mean()
    est_err = np.abs(fg[band].astype(np.float32) - F).mean()
    assert raw_err > 60
    assert est_err < raw_err / 6


@pytest.mark.parametrize("bg", ["colour", "image"])
def test_composites_match_reference(bg):
    fg = rng.integers(0, 256, (31, 29, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (31, 29), dtype=np.uint8)
    alpha[0, :5] = [0, 255, 0, 255, 128]
    if bg == "colour":
        c = np.array([255, 255, 255], np.uint8)
        np.testing.assert_array_equal(composite_colour(fg, alpha, c), composite_reference(fg, alpha, c))
    else:
        b = rng.integers(0, 256, (31, 29, 3), dtype=np.uint8)
        np.testing.assert_array_equal(composite_image(fg, alpha, b), composite_reference(fg, alpha, b))


def test_composite_cells_matches_alpha_then_blend():
    import cv2

    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    coef = _smooth_field(12, 16, 4) * np.array([0.5, 0.3, 0.2, 1.2], np.float32) - np.array([0, 0, 0, 0.4], np.float32)
    coef[:3, :4] = [0, 0, 0, 2.0]
    coef[-3:, -4:] = [0, 0, 0, -1.0]
    a_work = apply_upsampled(
        cv2.resize(frame, (16, 12), interpolation=cv2.INTER_AREA), coef, np.empty((1, 1), np.uint8), False
    )
    state = cell_state(a_work)
    out = composite_cells(frame, coef, state, bg)
    ref_rgba = cutout_rgba_reference(frame, coef, np.zeros((2, 2, 6), np.float32), state, None, False)
    a = ref_rgba[..., 3:].astype(np.float64) / 255.0
    ref = (a * frame + (1 - a) * bg + 0.5).astype(np.uint8)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 2
