"""The one still path: its stages, its typed errors, its batch and exit codes, its threads."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import edgematte
from edgematte.batch import BatchReport, CutoutWork, FileResult, Job, run_batch
from edgematte.decode import decode
from edgematte.errors import ImageTooLargeError, OptionError, SessionClosedError
from edgematte.still import Output, Session


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (with one tiny IDAT): a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the host's guard, not ours
def test_pixel_limit_is_ours_per_call_not_pillows_global():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError, match="over the 100 MP limit"):
        decode(_png_header_only(12000, 9000))  # 108 MP
    with pytest.raises(ImageTooLargeError, match="over the 1 MP limit"):
        decode(_png_header_only(1200, 1000), max_pixels=1_000_000)
    with pytest.raises(ImageTooLargeError, match="MAX_IMAGE_PIXELS"):
        decode(_png_header_only(20000, 20000), max_pixels=10**9)  # past Pillow's own, host-set guard
    assert before == Image.MAX_IMAGE_PIXELS


def test_closed_session_raises_a_typed_error(sample_jpg):
    s = Session("u2netp-int8", threads=1)
    s.close()
    for call in (lambda: s.matte(str(sample_jpg)), lambda: s.remove(str(sample_jpg)), lambda: s.decode(b"x")):
        with pytest.raises(SessionClosedError, match="closed"):
            call()
    assert issubclass(SessionClosedError, edgematte.EdgematteError)


def test_process_runs_every_stage_in_order_and_jpeg_is_composed_not_encoded_with_alpha(u2netp_session, sample_jpg):
    r = u2netp_session.process(sample_jpg.read_bytes(), Output(format="jpg"))
    assert list(r.timings.stages) == [
        "decode",
        "prepare",
        "invoke",
        "second_look",  # the mug fills under 80% of the frame: the model looks again at its crop
        "refine",
        "foreground",
        "full_res",
        "despill",
        "compose",
        "encode",
    ]
    assert r.matte.invokes == 2
    assert r.pixels.shape == (720, 960, 3)  # the compose stage flattened the cut-out onto white
    assert Image.open(__import__("io").BytesIO(r.data)).format == "JPEG"
    assert r.matte.model == "u2netp-int8"


def test_output_validates_up_front():
    with pytest.raises(OptionError):
        Output.of(mask_only=True, bg="white")
    with pytest.raises(OptionError, match="cannot write GIF"):
        Output(format="gif")
    with pytest.raises(OptionError, match="neither a colour"):
        Output.of(bg="no-such-file.jpg")


def test_an_unreadable_background_is_named_as_the_background(tmp_path):
    bad = tmp_path / "room.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(edgematte.ImageError, match="background image"):
        Output.of(bg=str(bad))


class _Exploding(CutoutWork):
    """A work whose process raises a bug (TypeError) on one file."""

    def process(self, job, image, timings):  # type: ignore[no-untyped-def]
        if job.source.name.startswith("bug"):
            raise TypeError("an internal mistake")
        return super().process(job, image, timings)


def test_batch_failures_are_typed_and_the_exit_code_is_the_most_serious(u2netp_session, sample_jpg, tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(sample_jpg.read_bytes())
    bug = tmp_path / "bug.jpg"
    bug.write_bytes(sample_jpg.read_bytes())
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 nothing")
    blocked = tmp_path / "blocked"
    blocked.write_bytes(b"a file where a folder must go")
    jobs = [
        Job(good, tmp_path / "out" / "good.png"),
        Job(broken, tmp_path / "out" / "broken.png"),
        Job(good, blocked / "cannot.png"),
        Job(bug, tmp_path / "out" / "bug.png"),
        Job(good, good),  # the input itself
    ]
    report = run_batch(jobs, _Exploding(u2netp_session, Output()))
    by = {(r.source, r.output): r for r in report.results}
    assert by[(str(good), str(tmp_path / "out" / "good.png"))].status == "ok"
    assert (tmp_path / "out" / "good.png").exists()
    assert by[(str(broken), str(tmp_path / "out" / "broken.png"))].exit_code == 2
    assert by[(str(good), str(blocked / "cannot.png"))].error == "OutputError"
    internal = by[(str(bug), str(tmp_path / "out" / "bug.png"))]
    assert internal.exit_code == 70 and "internal error: TypeError" in internal.message
    assert by[(str(good), str(good))].exit_code == 4
    assert report.exit_code() == 70
    assert good.read_bytes() == sample_jpg.read_bytes()  # never written over


def test_exit_code_severity():
    def rep(*codes: int) -> BatchReport:
        return BatchReport([FileResult("x", "y", "failed", exit_code=c) for c in codes])

    assert rep().exit_code() == 0
    assert rep(2, 2).exit_code() == 2
    assert rep(2, 4).exit_code() == 4
    assert rep(2, 5, 3).exit_code() == 3


def test_cli_batch_exit_codes_by_class(sample_jpg, tmp_path):
    from tests.test_cli import run

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(sample_jpg.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").mkdir()  # a folder where the output file must go: cannot write
    r = run("remove", str(tmp_path / "in"), "-o", str(out), "--overwrite", "--report", str(tmp_path / "r.json"))
    assert r.returncode == 4, r.stderr.decode()
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["exit_code"] == 4 and rep["files"][0]["error"] == "OutputError"
    src = tmp_path / "in" / "a.jpg"
    r = run("remove", str(src), "-o", str(src))  # without --overwrite too: refused, not "skipped"
    assert r.returncode == 4 and b"refusing to overwrite the input" in r.stderr


def test_debug_prints_the_traceback_of_an_internal_error(tmp_path, sample_jpg):
    code = f"""
import os
os.environ["EDGEMATTE_DEBUG"] = "1"
from pathlib import Path
from edgematte.batch import CutoutWork, Job, run_batch
from edgematte.still import Output, Session

class Bug(CutoutWork):
    def process(self, job, image, timings):
        raise KeyError("boom")

s = Session("u2netp-int8", threads=1)
r = run_batch([Job(Path({str(sample_jpg)!r}), Path({str(tmp_path / "o.png")!r}))], Bug(s, Output()))
print(r.exit_code())
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.stdout.strip().endswith("70")
    assert "Traceback" in r.stderr and "KeyError" in r.stderr


def test_threading_layer_is_pinned_and_threadsafe():
    from numba import threading_layer

    from edgematte import kernels
    from edgematte.kernels.composite import composite_colour

    composite_colour(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), np.zeros(3, np.uint8))
    assert threading_layer() == kernels.THREADING_LAYER
    try:
        import numba.np.ufunc.omppool  # noqa: F401
    except ImportError:  # no libgomp on this machine: the serialised fallback
        assert kernels.THREADING_LAYER == "workqueue" and kernels.SERIALISE_LAUNCHES
    else:
        assert kernels.THREADING_LAYER == "omp" and not kernels.SERIALISE_LAUNCHES


@pytest.mark.parametrize("layer", ["omp", "workqueue"])
def test_kernels_run_from_two_threads_at_once(layer):
    """The batch's writer, a server's workers and the main thread may launch kernels together;
    under workqueue (no libgomp on the board) launches are serialised instead of aborting."""
    code = """
import threading
import numpy as np
from edgematte.kernels.composite import composite_colour, composite_reference
rng = np.random.default_rng(0)
fg = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
a = rng.integers(0, 256, (600, 800), dtype=np.uint8)
c = np.array([255, 255, 255], np.uint8)
want = composite_reference(fg, a, c)
bad = []
def work():
    for _ in range(30):
        if not np.array_equal(composite_colour(fg, a, c), want):
            bad.append(1)
ts = [threading.Thread(target=work) for _ in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
from numba import threading_layer
print(threading_layer(), len(bad))
"""
    env = {**__import__("os").environ, "NUMBA_THREADING_LAYER": layer}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [layer, "0"]


def test_seller_verbs_encode_in_the_batch_writer(u2netp_session, sample_jpg, tmp_path):
    """compose's encode, quality search and verification run in the writer thread, not the caller's."""
    import threading

    from edgematte.commerce.api import ComposeVerb, VerbWork
    from edgematte.commerce.marketplace_presets import get_preset

    seen: list[str] = []

    class Spy(ComposeVerb):
        def finish(self, c, timings=None):  # type: ignore[no-untyped-def]
            seen.append(threading.current_thread().name)
            return super().finish(c, timings)

    big = tmp_path / "mug.jpg"
    Image.open(sample_jpg).resize((1600, 1200)).save(big)
    verb = Spy(u2netp_session, get_preset("amazon"))
    report = run_batch([Job(big, tmp_path / "mug.amazon.jpg")], VerbWork(verb))
    assert report.exit_code() == 0 and seen == ["edgematte-write"]
    assert "encode" in report.results[0].stages_ms and Path(tmp_path / "mug.amazon.jpg").exists()
