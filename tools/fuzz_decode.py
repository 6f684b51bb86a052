"""A bounded coverage-guided fuzz run of the decode stage (atheris, libFuzzer's engine).

    pip install atheris==3.0.0          # x86_64 wheels only: a CI tool, not a dependency
    python tools/fuzz_decode.py -max_total_time=60 -rss_limit_mb=4096

Every input the fuzzer makes goes through `edgematte.decode.decode` (bytes in, the still path's
first stage) and, for files it opens, `decode_frames` and `check_jpeg_data`. Our own errors
(`EdgematteError`: a clear one-line message) are the expected answer to garbage; any other
exception, or a crash in a native decoder, stops the run with the input that caused it
(written to ./crash-<sha1>) and a non-zero exit. The seed corpus is generated here, one small
valid file per format we read, so the fuzzer starts from real headers.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports():
    from PIL import Image

    from edgematte.decode import check_jpeg_data, decode, decode_frames
    from edgematte.errors import EdgematteError

# Small limits keep each run fast and bound memory: a header claiming 60000x60000 is refused
# by our limit before any pixel is decoded.
MAX_PIXELS = 2_000_000


def seed_corpus(folder: Path) -> None:
    """One small valid file per readable format (and an animated GIF), written into `folder`."""
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.uint8)
    im = Image.fromarray(rgb)
    rgba = Image.fromarray(np.dstack([rgb, (x * 4).astype(np.uint8)]), "RGBA")
    for name, image, fmt, extra in [
        ("seed.jpg", im, "JPEG", {"quality": 80}),
        ("seed-progressive.jpg", im, "JPEG", {"progressive": True}),
        ("seed-grey.jpg", im.convert("L"), "JPEG", {}),
        ("seed.png", im, "PNG", {}),
        ("seed-rgba.png", rgba, "PNG", {}),
        ("seed-palette.png", im.convert("P"), "PNG", {}),
        ("seed.webp", rgba, "WEBP", {}),
        ("seed.tif", im, "TIFF", {}),
        ("seed.bmp", im, "BMP", {}),
        ("seed.gif", im.convert("P"), "GIF", {"save_all": True, "append_images": [im.rotate(90).convert("P")]}),
    ]:
        buf = io.BytesIO()
        image.save(buf, fmt, **extra)
        (folder / name).write_bytes(buf.getvalue())


def test_one_input(data: bytes) -> None:
    """The fuzz target: our errors are fine, anything else is a finding."""
    try:
        decode(data, MAX_PIXELS)
        decode_frames(data, MAX_PIXELS)
        if data[:2] == b"\xff\xd8":
            check_jpeg_data(data)
    except EdgematteError:
        pass


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="edgematte-fuzz-"))
    seed_corpus(corpus)
    atheris.Setup([sys.argv[0], *sys.argv[1:], str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
