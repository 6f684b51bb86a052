"""Raw frames on a pipe: RGB24 in on stdin, RGBA (or composited RGB, or a mask) out on stdout.

    ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - \
      | edgematte stream --size 1280x720 \
      | ffmpeg -f rawvideo -pix_fmt rgba -s 1280x720 -r 30 -i - out.webm

Frames go through video mode (temporal stage on), pipelined like `edgematte video`. A last
frame cut short is an error (exit 2): the stream was not WxH RGB24.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from edgematte.errors import VideoError


def read_frames(stream: BinaryIO, width: int, height: int, rate: float) -> Iterator[tuple[float, np.ndarray]]:
    """(timestamp_ms, HxWx3 frame) from raw RGB24 bytes; timestamps from the frame rate."""
    size = width * height * 3
    n = 0
    while True:
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            k = stream.readinto(view[got:])  # type: ignore[attr-defined]
            if not k:
                break
            got += k
        if got == 0:
            return
        if got < size:
            raise VideoError(
                f"the input ended inside frame {n + 1} ({got} of {size} bytes): not {width}x{height} RGB24?"
            )
        yield n * 1000.0 / rate, np.frombuffer(buf, np.uint8).reshape(height, width, 3)
        n += 1


def run_stream(
    stdin: BinaryIO,
    stdout: BinaryIO,
    width: int,
    height: int,
    *,
    output: str = "rgba",
    background: object = "white",
    model: str = "preview",
    rate: float = 30.0,
    threads: int | None = None,
    profile: str | None = None,
) -> int:
    """Matte a raw RGB24 stream frame by frame; returns the number of frames written.

    Parameters
    ----------
    stdin, stdout
        Binary streams (the process's own by default in the CLI).
    width, height
        The frames' size (the stream carries no header).
    output
        'rgba' (4 bytes a pixel), 'composite' (RGB24 over `background`) or 'alpha' (1 byte).
        Default 'rgba'.
    background
        For 'composite': a colour or an image. Default 'white'.
    model
        'preview' (default), 'portrait' or 'u2netp'.
    rate
        Frames per second of the stream (timestamps for the temporal stage). Default 30.
    threads, profile
        As for Session.
    """
    from edgematte.live.modes import FrameMatter

    n = 0
    with FrameMatter.for_video(
        model=model,
        output=output,
        background=background,
        threads=threads,
        profile=profile,  # type: ignore[arg-type]
    ) as m:
        for r in m.stream(read_frames(stdin, width, height, rate)):
            stdout.write(np.ascontiguousarray(r.pixels).data)
            n += 1
        stdout.flush()
    return n
