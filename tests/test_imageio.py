"""Decoding every kind of input to 8-bit sRGB, encoding, and writes that never lose data."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image, ImageCms

from edgematte.decode import decode
from edgematte.encode import encode
from edgematte.errors import ImageError, ImageTooLargeError, OptionError, OutputError
from edgematte.files import write_atomic
from edgematte.formats import format_for_path
from tests.iccgen import rgb_profile

rng = np.random.default_rng(3)


def _bytes(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int = 40, h: int = 30) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)
    return np.dstack([np.tile(x, (h, 1)), np.tile(y[:, None], (1, w)), np.full((h, w), 90.0)]).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_round_trip(fmt):
    rgb = _gradient()
    kw = {"lossless": True} if fmt == "WEBP" else {}
    d = decode(_bytes(Image.fromarray(rgb), fmt, **kw))
    np.testing.assert_array_equal(d.rgb, rgb)
    assert d.alpha is None and d.rgb.flags["C_CONTIGUOUS"] and d.rgb.dtype == np.uint8


def test_jpeg_decodes_close():
    rgb = _gradient()
    d = decode(_bytes(Image.fromarray(rgb), "JPEG", quality=95))
    assert np.abs(d.rgb.astype(int) - rgb).mean() < 2


def test_exif_orientation_is_applied():
    rgb = _gradient(40, 30)
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW to display
    d = decode(_bytes(im, "JPEG", exif=exif.tobytes(), quality=95))
    assert d.rgb.shape == (40, 30, 3)
    ref = np.asarray(Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_270))
    assert np.abs(d.rgb.astype(int) - ref).mean() < 3


def test_greyscale_palette_and_cmyk_become_rgb():
    grey = decode(_bytes(Image.fromarray(_gradient()[..., 0], "L"), "PNG"))
    assert grey.rgb.shape == (30, 40, 3) and (grey.rgb[..., 0] == grey.rgb[..., 2]).all()
    pal = decode(_bytes(Image.fromarray(_gradient()).convert("P"), "PNG"))
    assert pal.rgb.shape == (30, 40, 3)
    cmyk = decode(_bytes(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=100))
    assert cmyk.rgb[4, 4, 0] > 200 and cmyk.rgb[4, 4, 1] < 60 and cmyk.rgb[4, 4, 2] < 60  # cyan-free: red


def test_sixteen_bit_grey_is_scaled_not_clipped():
    a = (np.linspace(0, 65535, 64).reshape(8, 8)).astype(np.uint16)
    d = decode(_bytes(Image.fromarray(a), "PNG"))
    assert d.rgb[0, 0, 0] == 0 and d.rgb[-1, -1, 0] == 255 and 120 <= d.rgb[4, 0, 0] <= 135


def test_sixteen_bit_array_input():
    a = np.full((4, 5, 3), 32768, np.uint16)
    assert decode(a).rgb[0, 0, 0] == 128


def test_palette_transparency_becomes_alpha():
    im = Image.fromarray(_gradient()).convert("P")
    idx = im.getpixel((0, 0))
    d = decode(_bytes(im, "PNG", transparency=idx))
    assert d.alpha is not None and d.alpha.min() == 0


def test_rgba_alpha_is_kept_and_opaque_alpha_dropped():
    rgba = np.dstack([_gradient(), np.full((30, 40), 255, np.uint8)])
    rgba[:5, :5, 3] = 0
    d = decode(_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert d.alpha is not None and d.alpha[0, 0] == 0 and d.alpha[10, 10] == 255
    rgba[..., 3] = 255
    assert decode(_bytes(Image.fromarray(rgba, "RGBA"), "PNG")).alpha is None


def test_gif_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    d = decode(buf.getvalue())
    assert d.rgb[5, 5, 0] > 200 and d.rgb[5, 5, 2] < 50


def test_icc_profile_is_converted_to_srgb():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:] = (60, 150, 80)
    im = Image.fromarray(rgb)
    plain = decode(_bytes(im, "PNG"))
    srgb = decode(_bytes(im, "PNG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()))
    wide = decode(_bytes(im, "PNG", icc_profile=rgb_profile()))
    assert not plain.icc_converted and srgb.icc_converted and wide.icc_converted
    assert np.abs(srgb.rgb.astype(int) - rgb).max() <= 2  # sRGB -> sRGB is (near) identity
    # Adobe RGB's green is more saturated than sRGB's: the same numbers mean a greener colour.
    g = wide.rgb[4, 4].astype(int)
    assert g[1] - g[0] > 150 - 60 + 10


def test_pixel_limit_refuses_before_decoding():
    big = _bytes(Image.new("L", (3000, 3000)), "PNG")
    with pytest.raises(ImageTooLargeError, match="over the 5 MP limit"):
        decode(big, max_pixels=5_000_000)


@pytest.mark.parametrize("data,match", [(b"", "empty"), (b"not an image at all", "not a readable image")])
def test_bad_bytes_raise_image_error(data, match):
    with pytest.raises(ImageError, match=match):
        decode(data)


def test_truncated_file_raises_image_error(tmp_path):
    good = _bytes(Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")
    p = tmp_path / "cut.jpg"
    p.write_bytes(good[: len(good) // 3])
    with pytest.raises(ImageError):
        decode(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        decode(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        decode(tmp_path)


def test_bad_array_shape():
    with pytest.raises(ImageError, match="shape"):
        decode(np.zeros((4, 4, 2), np.uint8))


def test_encode_formats_and_kinds():
    rgb = _gradient()
    alpha = np.zeros((30, 40), np.uint8)
    alpha[10:20, 10:30] = 255
    rgba = np.dstack([rgb, alpha])
    png = Image.open(io.BytesIO(encode(rgba, "png")))
    assert png.mode == "RGBA" and np.asarray(png)[0, 0, 3] == 0
    assert np.array_equal(np.asarray(png), rgba)
    for fmt in ("webp", "TIFF"):
        assert Image.open(io.BytesIO(encode(rgba, fmt))).mode == "RGBA"
    jpg = Image.open(io.BytesIO(encode(rgb, "jpg")))
    assert jpg.format == "JPEG" and jpg.size == (40, 30)
    mask = Image.open(io.BytesIO(encode(alpha, "PNG")))
    assert mask.mode == "L" and np.array_equal(np.asarray(mask), alpha)
    with pytest.raises(OptionError, match="no alpha channel"):
        encode(rgba, "JPEG")  # composing is the compose stage's job, never the encoder's
    with pytest.raises(OptionError):
        format_for_path("out.xyz")


def test_png_with_an_embedded_srgb_profile_decodes_the_same():
    rgb = _gradient()
    im = Image.open(io.BytesIO(encode(rgb, "PNG", icc_srgb=True)))
    assert im.info.get("icc_profile") and np.array_equal(np.asarray(im), rgb)


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "out.png"
    write_atomic(p, b"first")
    write_atomic(p, b"second")
    assert p.read_bytes() == b"second"
    assert [f.name for f in p.parent.iterdir()] == ["out.png"]


def test_write_atomic_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"original")
    with pytest.raises(OutputError, match="overwrite the input"):
        write_atomic(src, b"x", protect=[src])
    link = tmp_path / "alias.png"
    os.symlink(src, link)
    with pytest.raises(OutputError):
        write_atomic(link, b"x", protect=[src])
    assert src.read_bytes() == b"original"


def test_write_atomic_unwritable_target(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_bytes(b"x")
    with pytest.raises(OutputError, match="cannot write"):
        write_atomic(not_a_folder / "x.png", b"x")
