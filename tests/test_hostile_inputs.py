"""Inputs a hostile (or unlucky) user gives us, generated here: each fails as our one-line error
with its exit code, never as a bare Python exception or a silently wrong cut-out."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

import edgematte
from edgematte.decode import decode
from edgematte.errors import ImageError


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgematte.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def _photo(w: int = 320, h: int = 240) -> Image.Image:
    """A photo-like picture (smooth gradients and a disc), so JPEG data spans many blocks."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, ((x - w / 2) ** 2 + (y - h / 2) ** 2 < (h / 3) ** 2) * 200], -1)
    return Image.fromarray(rgb.astype(np.uint8))


def _text_bomb_png() -> bytes:
    """A valid 64x64 PNG whose zTXt chunk inflates to 20 MB, past Pillow's MAX_TEXT_CHUNK."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * (20 * 1024 * 1024), zip=True)
    buf = io.BytesIO()
    _photo(64, 64).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _truncated_jpeg_with_eoi(source: Image.Image) -> bytes:
    """The first third of a JPEG with an EOI marker appended: libjpeg decodes it as mostly grey."""
    buf = io.BytesIO()
    source.save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    return data[: len(data) // 3] + b"\xff\xd9"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_jpg) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "bomb.png").write_bytes(_text_bomb_png())
    (root / "cut.jpg").write_bytes(_truncated_jpeg_with_eoi(Image.open(sample_jpg)))
    (root / "junk.jpg").write_bytes(b"this is a note, not a photo")
    return root


def test_a_png_text_chunk_bomb_is_an_image_error_everywhere(hostile, sample_jpg):
    data = (hostile / "bomb.png").read_bytes()
    for source in (data, hostile / "bomb.png", str(hostile / "bomb.png")):
        with pytest.raises(ImageError, match="not a readable image"):
            edgematte.remove(source)
    with pytest.raises(ImageError):
        edgematte.remove(sample_jpg, bg=data)


@pytest.mark.parametrize("command", [["check"], ["check", "--preset", "amazon"], ["remove"]])
def test_the_cli_names_a_text_chunk_bomb_in_one_line_exit_2(hostile, tmp_path, command):
    r = run(*command, str(hostile / "bomb.png"), *(["-o", str(tmp_path / "o.png")] if command == ["remove"] else []))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert "unexpected" not in r.stderr and any("bomb.png: not a readable image" in line for line in lines)


def test_a_truncated_jpeg_ending_in_eoi_is_refused_not_cut_out_grey(hostile):
    data = (hostile / "cut.jpg").read_bytes()
    for source in (data, hostile / "cut.jpg"):
        with pytest.raises(ImageError, match="corrupt or truncated"):
            decode(source)


def test_a_truncated_jpeg_is_refused_on_the_pillow_path_too(sample_jpg):
    """A grey JPEG goes through Pillow, which is silent about corrupt data: checked as well."""
    data = _truncated_jpeg_with_eoi(Image.open(sample_jpg).convert("L"))
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode(data)


@pytest.mark.parametrize("command", [["remove"], ["compose", "--preset", "amazon"]])
def test_the_cli_fails_a_truncated_jpeg_writes_nothing_and_prints_only_our_line(hostile, tmp_path, command):
    out = tmp_path / "out.png"
    r = run(*command, str(hostile / "cut.jpg"), "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert not out.exists()
    ours = [line for line in r.stderr.splitlines() if "corrupt or truncated" in line]
    assert ours and not [line for line in r.stderr.splitlines() if line.startswith("Corrupt JPEG data")]


def test_an_intact_jpeg_decodes_as_before(sample_jpg):
    fast = decode(sample_jpg).rgb
    slow = np.asarray(Image.open(sample_jpg).convert("RGB"))
    assert fast.shape == slow.shape and np.abs(fast.astype(int) - slow).mean() < 1.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_for_every_code(orientation):
    im = _photo(96, 64)
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    ours = decode(buf.getvalue()).rgb
    theirs = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGB"))
    assert ours.shape == theirs.shape and ours.flags.c_contiguous
    assert np.abs(ours.astype(int) - theirs).mean() < 1.0


def test_check_never_prints_a_python_object_repr(hostile):
    r = run("check", str(hostile / "junk.jpg"))
    assert r.returncode == 2, r.stderr
    assert "BytesIO" not in r.stderr and "<" not in r.stderr and "junk.jpg: not a readable image" in r.stderr


def test_a_second_run_over_a_folder_never_cuts_out_the_first_runs_outputs(tmp_path, sample_jpg):
    Image.open(sample_jpg).resize((240, 180)).save(tmp_path / "teddy.jpg")
    first = run("remove", str(tmp_path))
    assert first.returncode == 0, first.stderr
    second = run("remove", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teddy.cutout.png", "teddy.jpg"]
    # A file named explicitly is the user's choice, even one of our outputs.
    third = run("remove", str(tmp_path / "teddy.cutout.png"))
    assert third.returncode == 0 and (tmp_path / "teddy.cutout.cutout.png").exists()


def test_output_onto_the_input_is_refused_with_exit_4_and_nothing_written(tmp_path, sample_jpg):
    src = tmp_path / "a.png"
    Image.open(sample_jpg).resize((240, 180)).save(src)
    before = src.read_bytes()
    r = run("remove", str(src), "-o", str(src))
    assert r.returncode == 4 and "refusing to overwrite the input" in r.stderr
    assert src.read_bytes() == before


@pytest.fixture()
def small_jpg(tmp_path, sample_jpg) -> Path:
    src = tmp_path / "mug.jpg"
    Image.open(sample_jpg).resize((240, 180)).save(src)
    return src


def test_a_report_that_cannot_be_written_still_gets_the_summary_and_exit_4(small_jpg, tmp_path):
    blocker = tmp_path / "note.txt"
    blocker.write_text("a file where the report's folder would be")
    r = run("remove", str(small_jpg), "-o", str(tmp_path / "out.png"), "--report", str(blocker / "r.json"))
    assert r.returncode == 4, r.stderr
    assert (tmp_path / "out.png").exists()
    assert "note.txt is a file, not a folder" in r.stderr and "1 done, 0 skipped, 0 failed" in r.stderr


def test_dash_o_dash_writes_one_image_to_stdout_and_refuses_several(small_jpg, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "edgematte.cli", "remove", str(small_jpg), "-o", "-"], capture_output=True, timeout=600
    )
    assert r.returncode == 0, r.stderr
    assert Image.open(io.BytesIO(r.stdout)).mode == "RGBA" and not (tmp_path / "-").exists()
    for command in (["remove", str(small_jpg), str(small_jpg.with_name("b.jpg"))], ["compose", str(small_jpg)]):
        r2 = run(*command, "-o", "-", cwd=tmp_path)
        assert r2.returncode == 5 and "standard output" in r2.stderr and not (tmp_path / "-").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_a_write_failure_exit_4(small_jpg):
    with open("/dev/full", "wb") as full:
        r = subprocess.run(
            [sys.executable, "-m", "edgematte.cli", "remove", "-"],
            stdin=small_jpg.open("rb"),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    assert r.returncode == 4 and "standard output: write failed" in r.stderr and "unexpected" not in r.stderr


def _heic(tmp_path: Path, orientation: int = 1) -> tuple[Path, np.ndarray]:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    im = _photo(160, 120)
    exif = im.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.heic"
    im.save(path, quality=95, exif=exif.tobytes())
    return path, np.asarray(ImageOps.exif_transpose(_with_orientation(im, orientation)))


def _with_orientation(im: Image.Image, orientation: int) -> Image.Image:
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "PNG", exif=exif.tobytes())
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("orientation", [1, 6, 8, 3])
def test_a_heic_phone_photo_decodes_upright(tmp_path, orientation):
    path, upright = _heic(tmp_path, orientation)
    ours = decode(path).rgb
    assert ours.shape == upright.shape
    assert np.abs(ours.astype(int) - upright).mean() < 6.0  # lossy HEVC at quality 95


def test_heic_photos_are_found_in_folders_and_cut_out(tmp_path):
    _heic(tmp_path)
    _photo().save(tmp_path / "shot.avif", "AVIF")
    r = run("remove", str(tmp_path), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["phone.png", "shot.png"]


def test_a_heic_without_the_extra_is_refused_by_name_exit_2(tmp_path):
    path, _ = _heic(tmp_path)
    code = (
        "import sys; sys.modules['pillow_heif'] = None; sys.argv = ['edgematte', 'remove', sys.argv[1]]; "
        "from edgematte.cli import main; main()"
    )
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2, r.stderr
    assert "HEIC/HEIF" in r.stderr and "edgematte[heic]" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def _folder(tmp_path: Path, names: list[str]) -> Path:
    d = tmp_path / "shots"
    d.mkdir()
    for n in names:
        _photo(160, 120).save(d / n)
    return d


def test_a_folder_batched_into_itself_resumes_and_reruns(tmp_path):
    d = _folder(tmp_path, ["a.jpg", "b.jpg"])
    for extra in ([], [], ["--overwrite"]):
        r = run("remove", str(d), "-o", str(d), *extra)
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in d.iterdir()) == ["a.jpg", "a.png", "b.jpg", "b.png"]


def test_a_same_stem_pair_is_named_and_keep_ext_runs_the_folder(tmp_path):
    d = _folder(tmp_path, ["x.jpg", "x.gif", "y.png"])
    r = run("remove", str(d), "-o", str(tmp_path / "out"))
    assert r.returncode == 5 and "x.gif" in r.stderr and "x.jpg" in r.stderr and "--keep-ext" in r.stderr
    for _ in range(2):  # and again into the same folder: our outputs are never inputs
        r = run("remove", str(d), "-o", str(d), "--keep-ext")
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in d.iterdir()) == ["x.gif", "x.gif.png", "x.jpg", "x.jpg.png", "y.png", "y.png.png"]


def test_an_original_that_shares_an_output_name_is_never_overwritten(tmp_path):
    """x.jpg and an original x.png batched into their own folder: x.png is not ours, so the pair
    is refused, even with --overwrite, and the original is untouched."""
    d = _folder(tmp_path, ["x.jpg", "x.png"])
    before = (d / "x.png").read_bytes()
    r = run("remove", str(d), "-o", str(d), "--overwrite")
    assert r.returncode == 5 and "--keep-ext" in r.stderr
    assert (d / "x.png").read_bytes() == before


def test_every_output_format_carries_our_software_tag(tmp_path, sample_jpg):
    from edgematte.encode import is_our_output

    for suffix in (".png", ".webp", ".jpg", ".tif"):
        out = tmp_path / f"cut{suffix}"
        r = run("remove", str(sample_jpg), "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert is_our_output(out), suffix
    assert not is_our_output(sample_jpg)


@pytest.mark.parametrize("damage", ["flipped byte", "cut short"])
def test_a_damaged_png_is_named_in_one_line_with_no_libpng_output(tmp_path, damage):
    buf = io.BytesIO()
    _photo(320, 240).save(buf, "PNG")  # RGB: the OpenCV fast path
    data = bytearray(buf.getvalue())
    if damage == "flipped byte":
        data[data.find(b"IDAT") + 100] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    (tmp_path / "bad.png").write_bytes(bytes(data))
    r = run("remove", str(tmp_path / "bad.png"), "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [line for line in r.stderr.strip().splitlines() if "bad.png:" in line]
    assert "libpng" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".tif"])
def test_an_animated_or_multi_page_image_is_cut_out_with_a_warning(tmp_path, suffix):
    frames = [_photo(160, 120).rotate(a) for a in (0, 20, 40)]
    src = tmp_path / f"anim{suffix}"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100)
    r = run("remove", str(src), "-o", str(tmp_path / "o.png"))
    assert r.returncode == 0, r.stderr
    assert "only the first of its 3 frames or pages is used" in r.stderr and (tmp_path / "o.png").exists()


@pytest.mark.parametrize("suffix", [".png", ".webp", ".gif"])
def test_all_frames_writes_an_animated_cut_out_with_every_frame(tmp_path, suffix):
    frames = [_photo(160, 120).rotate(a) for a in (0, 30, 60, 90)]
    src = tmp_path / f"sticker-in{suffix}"  # animated PNG and WebP in, the same out
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=[80, 120, 80, 120], loop=0)
    out = tmp_path / ("sticker.png" if suffix == ".gif" else f"sticker{suffix}")
    r = run("remove", str(src), "-o", str(out), "--all-frames")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.n_frames == 4 and im.size == (160, 120)
        alphas, durations = [], []
        for i in range(4):
            im.seek(i)
            im.load()
            durations.append(im.info.get("duration"))
            alphas.append(np.asarray(im.convert("RGBA"))[:, :, 3])
    assert durations == [80, 120, 80, 120]
    assert all(a.min() < 128 for a in alphas)  # each frame is a cut-out, not the photo
    assert not np.array_equal(alphas[0], alphas[2])  # of its own frame (the disc moved)
    r2 = run("remove", str(src), "-o", str(tmp_path / "s.jpg"), "--all-frames")
    assert r2.returncode == 5 and "--all-frames" in r2.stderr


def test_a_gif_cut_short_after_its_first_frame_is_an_image_error():
    """Found by tools/fuzz_decode.py: counting the frames of such a GIF raised IndexError."""
    frames = [_photo(64, 48).convert("P"), _photo(64, 48).rotate(90).convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    data = buf.getvalue()
    first_end = data.find(b"\x21\xf9", data.find(b"\x2c")) + 1  # just inside the second frame's header
    for cut in range(first_end, first_end + 12):
        with contextlib.suppress(ImageError):  # a clean decode of the first frame is fine too
            decode(data[:cut])


def test_the_html_batch_report_shows_failures_first_with_before_and_after(tmp_path):
    d = _folder(tmp_path, ["a.jpg", "b.png"])
    (d / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    page = tmp_path / "report.html"
    r = run("remove", str(d), "-o", str(tmp_path / "out"), "--html", str(page))
    assert r.returncode == 2, r.stderr
    text = page.read_text()
    assert text.index("FAILED") < text.index(">OK<") and "broken.jpg" in text
    assert text.count("<img") == 4  # before and after for the two that worked; none for the broken one
    assert "2 done, 0 skipped, 1 failed" in text


def test_a_cut_out_thumbnail_sits_on_a_checkerboard(tmp_path):
    import base64

    from edgematte.thumbnails import thumbnail_img

    rgba = np.zeros((64, 64, 4), np.uint8)  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    tag = thumbnail_img(tmp_path / "clear.png")
    jpeg = base64.b64decode(tag.split("base64,")[1].split('"')[0])
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    assert grey.min() < 215 and grey.max() > 245  # both squares, not black
