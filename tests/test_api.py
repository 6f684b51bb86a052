"""The public API on the real model: input kinds in, the same kinds out, typed errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import edgematte
from edgematte import ImageError, ModelError, OptionError, OutputError


def test_bytes_in_png_bytes_out(sample_jpg, u2netp_session):
    out = edgematte.remove(sample_jpg.read_bytes(), session=u2netp_session)
    im = Image.open(io.BytesIO(out))
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == (960, 720)
    a = np.asarray(im)[..., 3]
    assert a[360, 450] == 255 and a[20, 20] == 0  # the mug is kept, the backdrop removed
    assert a[360, 695] == 0  # the hole inside the handle is background


def test_pil_in_pil_out_and_mask_and_composite(sample_jpg, u2netp_session):
    im = Image.open(sample_jpg)
    cut = edgematte.remove(im, session=u2netp_session)
    assert isinstance(cut, Image.Image) and cut.mode == "RGBA"
    mask = edgematte.remove(im, mask_only=True, session=u2netp_session)
    assert mask.mode == "L"
    comp = edgematte.remove(im, bg="#00ff00", session=u2netp_session)
    assert comp.mode == "RGB" and comp.getpixel((5, 5)) == (0, 255, 0)


def test_array_in_array_out(sample_jpg, u2netp_session):
    arr = np.asarray(Image.open(sample_jpg).convert("RGB"))
    out = edgematte.remove(arr, session=u2netp_session)
    assert isinstance(out, np.ndarray) and out.shape == (720, 960, 4) and out.dtype == np.uint8


def test_composite_on_an_image_background(sample_jpg, u2netp_session, tmp_path):
    scene = np.zeros((100, 300, 3), np.uint8)
    scene[:] = (10, 20, 200)
    p = tmp_path / "scene.png"
    Image.fromarray(scene).save(p)
    out = edgematte.remove(Image.open(sample_jpg), bg=str(p), session=u2netp_session)
    px = np.asarray(out)
    assert tuple(px[5, 5]) == (10, 20, 200)


def test_path_in_written_atomically_and_never_over_input(sample_jpg, u2netp_session, tmp_path):
    out = edgematte.remove(str(sample_jpg), output=tmp_path / "mug.webp", session=u2netp_session)
    assert Image.open(out).mode == "RGBA"
    copy = tmp_path / "in.png"
    copy.write_bytes(sample_jpg.read_bytes())
    with pytest.raises(OutputError):
        edgematte.remove(str(copy), output=copy, session=u2netp_session)
    assert copy.read_bytes() == sample_jpg.read_bytes()


def test_source_alpha_is_respected(u2netp_session, sample_jpg):
    rgba = np.asarray(Image.open(sample_jpg).convert("RGBA")).copy()
    rgba[:, :480, 3] = 0  # left half already transparent
    out = edgematte.remove(rgba, session=u2netp_session)
    assert out[:, :480, 3].max() == 0
    assert out[360, 520, 3] == 255


def test_errors_are_typed(u2netp_session):
    with pytest.raises(ImageError):
        edgematte.remove(b"garbage", session=u2netp_session)
    with pytest.raises(OptionError):
        edgematte.remove(np.zeros((8, 8, 3), np.uint8), bg="not-a-colour-or-file", session=u2netp_session)
    with pytest.raises(ModelError, match="unknown model"):
        edgematte.Session("no-such-model")
    assert issubclass(ImageError, edgematte.EdgematteError)


def test_session_reuse_and_timings(u2netp_session, sample_jpg):
    m = u2netp_session.matte(str(sample_jpg))
    assert {"decode", "prepare", "invoke", "refine", "foreground"} <= set(m.timings.stages)
    assert u2netp_session.model == "u2netp-int8"


def test_corrupt_model_file_is_refused(tmp_path, monkeypatch):
    import json
    import shutil

    from edgematte import models

    src = models.models_dir()
    for f in ("u2netp-int8.json", "u2netp-int8.tflite"):
        shutil.copy(src / f, tmp_path / f)
    data = bytearray((tmp_path / "u2netp-int8.tflite").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "u2netp-int8.tflite").write_bytes(bytes(data))
    card = json.loads((tmp_path / "u2netp-int8.json").read_text())
    monkeypatch.setenv("EDGEMATTE_MODELS", str(tmp_path))
    models._cards.cache_clear()
    models._verified.clear()
    try:
        with pytest.raises(ModelError, match="does not match its card"):
            edgematte.Session(card["name"])
    finally:
        models._cards.cache_clear()
