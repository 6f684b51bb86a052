"""Our multi-core PNG writer: bit-exact round trips through Pillow's decoder, any shape and thread count."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from edgematte.png import adler32_combine, encode_png

rng = np.random.default_rng(9)


def test_adler32_combine_matches_zlib():
    a, b = rng.bytes(5000), rng.bytes(7777)
    assert adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    assert adler32_combine(1, zlib.adler32(b), len(b)) == zlib.adler32(b)


@pytest.mark.parametrize("shape", [(37, 53, 4), (1, 1, 3), (100, 7), (2, 3, 4), (301, 203, 3)])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_round_trip_is_exact(shape, threads):
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    im = Image.open(io.BytesIO(encode_png(x, threads=threads)))
    assert im.info.get("srgb") is not None
    np.testing.assert_array_equal(np.asarray(im), x)


def test_flat_transparent_regions_compress_to_almost_nothing():
    x = np.zeros((1000, 1000, 4), np.uint8)
    assert len(encode_png(x)) < 50_000  # 4 MB of pixels
