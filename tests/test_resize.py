"""The exact resizes: Numba kernel == NumPy reference == cv2.resize, value for value."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgematte.kernels.resize import (
    _scales,
    resize_area_u8,
    resize_area_u8_reference,
    resize_linear_u8,
    resize_linear_u8_reference,
)

rng = np.random.default_rng(2024)

AREA = (resize_area_u8, resize_area_u8_reference, cv2.INTER_AREA)
LINEAR = (resize_linear_u8, resize_linear_u8_reference, cv2.INTER_LINEAR)


def _image(h: int, w: int, c: int) -> np.ndarray:
    return rng.integers(0, 256, (h, w, c) if c else (h, w), dtype=np.uint8)


def _check(x: np.ndarray, width: int, height: int, path: tuple) -> None:
    kernel, reference, interp = path
    want = cv2.resize(x, (width, height), interpolation=interp)
    got = kernel(x, width, height)
    ref = reference(x, width, height)
    assert got.dtype == np.uint8
    assert got.shape == (height, width, *x.shape[2:])
    np.testing.assert_array_equal(got.reshape(want.shape), want)
    np.testing.assert_array_equal(ref, got)


@pytest.mark.parametrize(
    "src,dst,c",
    [
        ((97, 71), (40, 30), 3),  # non-integer both ways (float32 weights)
        ((128, 96), (50, 37), 1),
        ((61, 45), (17, 9), 0),  # 2-D input
        ((90, 64), (60, 63), 4),
        ((77, 55), (1, 1), 3),  # one output pixel
        ((490, 49), (10, 1), 3),  # 49x: 1 / (1 / 49) is not an integer, so the weighted path
    ],
)
def test_area_downscale_is_exact(src, dst, c):
    _check(_image(src[1], src[0], c), *dst, AREA)


@pytest.mark.parametrize(
    "src,dst,c",
    [
        ((64, 48), (32, 24), 3),  # 2 x 2: (s + 2) >> 2
        ((64, 48), (32, 24), 2),  # 2 x 2 with two channels: rint(s * 0.25f), as OpenCV
        ((96, 48), (32, 24), 3),  # 3 x 2
        ((60, 60), (15, 15), 1),  # 4 x 4
        ((64, 48), (64, 24), 3),  # 1 x 2
    ],
)
def test_area_integer_factors_are_exact(src, dst, c):
    _check(_image(src[1], src[0], c), *dst, AREA)


def test_area_upscale_takes_the_linear_variant():
    _check(_image(15, 20, 3), 64, 48, AREA)
    _check(_image(40, 30, 3), 20, 70, AREA)  # down in x, up in y


@pytest.mark.parametrize(
    "src,dst,c",
    [
        ((25, 19), (80, 80), 3),
        ((1, 1), (16, 16), 3),
        ((3, 2), (40, 30), 1),
        ((60, 40), (30, 90), 3),  # down in x, up in y
        ((64, 48), (32, 24), 3),  # 2 x 2 down: OpenCV takes the area box
        ((50, 37), (23, 11), 0),
    ],
)
def test_linear_is_exact(src, dst, c):
    _check(_image(src[1], src[0], c), *dst, LINEAR)


def test_the_integer_path_is_the_rounded_box_mean():
    x = _image(48, 64, 3)
    s = x.reshape(24, 2, 32, 2, 3).astype(np.int32).sum(axis=(1, 3))
    np.testing.assert_array_equal(resize_area_u8(x, 32, 24), (s + 2) >> 2)
    assert _scales(64, 32)[3] and _scales(300, 100)[3]
    assert not _scales(49, 1)[3]  # 48.99999999999999


def test_same_size_is_a_copy_and_views_are_accepted():
    x = _image(20, 30, 3)
    y = resize_area_u8(x, 30, 20)
    assert y is not x
    np.testing.assert_array_equal(y, x)
    view = _image(40, 60, 3)[::2, ::2]  # not contiguous
    _check(view, 13, 7, AREA)
    _check(view, 45, 33, LINEAR)
