"""Frame sources for the preview: a camera (OpenCV / V4L2), or a video file played as a camera.

A file plays at its own frame rate (frames are held back to their timestamps, as a camera
delivers them) and loops, so a booth can be tried, and tested, without a camera.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgematte.errors import OptionError, VideoError


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'1920x1080' -> (1920, 1080); None stays None. OptionError for anything else."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise OptionError(f"size {text!r}: WIDTHxHEIGHT expected, e.g. 1280x720") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise OptionError(f"size {text!r}: each side must be 16..16384")
    return w, h


class Camera:
    """Frames from a camera or a file, as HxWx3 uint8 RGB, until `close()`.

    Parameters
    ----------
    spec
        A camera index ('0'), a device ('/dev/video0'), or a video file played as a camera.
    size
        (width, height) to ask a camera for: the still is taken at this size, so give the
        sensor's full resolution. Default None: the camera's default. Files keep their size.
    loop
        Files only: start again at the end. Default True (a kiosk demo runs forever).
    realtime
        Files only: deliver frames at the file's rate. Default True (as a camera would); False
        delivers them as fast as they decode.
    """

    def __init__(self, spec: str, size: tuple[int, int] | None = None, loop: bool = True, realtime: bool = True):
        self.spec, self.size, self.loop, self.realtime = spec, size, loop, realtime
        self.is_file = not (spec.isdigit() or spec.startswith("/dev/video"))
        self._closed = False
        self._reading = False
        self._cap = None
        if self.is_file:
            from edgematte.live.videofile import VideoReader

            if not Path(spec).is_file():
                raise VideoError(f"camera {spec!r}: no such device or video file")
            with VideoReader(spec) as r:
                self.rate = float(r.info.rate)
                self.frame_size = (r.info.width, r.info.height)
        else:
            import cv2

            index: int | str = int(spec) if spec.isdigit() else spec
            cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
            if not cap.isOpened():
                raise VideoError(f"camera {spec!r}: cannot be opened (is it connected, and is it free?)")
            if size is not None:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            self._cap = cap
            self.rate = float(cap.get(cv2.CAP_PROP_FPS) or 30.0)
            self.frame_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def frames(self) -> Iterator[np.ndarray]:
        """Frames as they come; ends when closed (or at a file's end with loop=False)."""
        if self.is_file:
            yield from self._file_frames()
            return
        import cv2

        self._reading = True
        try:
            while not self._closed:
                ok, bgr = self._cap.read()  # type: ignore[union-attr]
                if not ok:
                    if self._closed:
                        return
                    raise VideoError(f"camera {self.spec!r}: stopped delivering frames")
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            self._cap.release()  # type: ignore[union-attr]  # on the thread that reads (OpenCV wants that)

    def _file_frames(self) -> Iterator[np.ndarray]:
        from edgematte.live.videofile import VideoReader

        while not self._closed:
            start = time.monotonic()
            with VideoReader(self.spec) as r:
                first = None
                for ts, _, f in r.frames():
                    if self._closed:
                        return
                    first = ts if first is None else first
                    if self.realtime:
                        wait = start + (ts - first) / 1000 - time.monotonic()
                        if wait > 0:
                            time.sleep(wait)
                    yield f
            if not self.loop:
                return

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def close(self) -> None:
        """Stop delivering frames; the device is released by the thread reading it (or now, if
        none is)."""
        self._closed = True
        if self._cap is not None and not self._reading:
            self._cap.release()
