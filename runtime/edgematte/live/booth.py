"""The booth's preview: a camera in, the background replaced live, stills on demand.

A capture thread reads the camera and hands every frame to a live-stream FrameMatter (newest
frame wins, so the preview is never behind the camera); its results are what the window, the
MJPEG stream and the recorded file show. `capture()` takes the newest full-size camera frame
through the high-quality still path (Session: the profile's matting or u2netp model) on its own
thread, while the preview keeps running, and writes the cut-out atomically.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgematte.compositing import Background
from edgematte.errors import OutputError
from edgematte.live.camera import Camera
from edgematte.live.modes import FrameMatter
from edgematte.live.stages import FrameResult


@dataclass
class Capture:
    """One still taken by the booth."""

    path: Path
    png: bytes
    width: int
    height: int
    seconds: float
    model: str


class Booth:
    """Live preview of a camera with the background replaced, and full-resolution stills.

    Parameters
    ----------
    camera
        The frame source (live/camera.Camera).
    background
        The preview's new background: a colour or an image. Default 'white'.
    still_model
        The still path's model for captures. Default 'portrait' (MODNet matting: hair).
    captures
        Folder the stills are written to. Default 'captures'.
    preview_long_side
        Frames larger than this are scaled down for the preview (not for the still). Default 1280.
    threads, profile
        As for Session. Default None: the device profile's.
    """

    def __init__(
        self,
        camera: Camera,
        background: Background = "white",
        still_model: str = "portrait",
        captures: str | Path = "captures",
        preview_long_side: int = 1280,
        threads: int | None = None,
        profile: str | None = None,
    ):
        from edgematte.still import Session

        self.camera = camera
        self.captures = Path(captures)
        self.preview_long_side = preview_long_side
        self.matter = FrameMatter.for_live_stream(
            self._on_result, background=background, threads=threads, profile=profile
        )
        self.session = Session(still_model, threads=threads, profile=profile)
        self._latest_frame: np.ndarray | None = None
        self._latest: FrameResult | None = None
        self._new_result = threading.Condition()
        self._listeners: list = []
        self.results = 0  # preview frames produced
        self.camera_frames = 0
        self._capture_lock = threading.Lock()
        self._captured = 0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._t0 = time.monotonic()

    # -- the preview ----------------------------------------------------------------------------

    def start(self) -> Booth:
        """Start reading the camera (returns at once)."""
        self._thread = threading.Thread(target=self._read_camera, name="edgematte-camera", daemon=True)
        self._thread.start()
        return self

    def _read_camera(self) -> None:
        import cv2

        try:
            for frame in self.camera.frames():
                self._latest_frame = frame
                self.camera_frames += 1
                h, w = frame.shape[:2]
                scale = self.preview_long_side / max(h, w)
                small = frame
                if scale < 1:
                    small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
                self.matter.matte_async(small, (time.monotonic() - self._t0) * 1000)
        except BaseException as exc:
            self._error = exc
        finally:
            with self._new_result:
                self._new_result.notify_all()

    def _on_result(self, result: FrameResult, frame: np.ndarray) -> None:
        import contextlib
        import queue

        with self._new_result:
            self._latest = result
            self.results += 1
            self._new_result.notify_all()
            for q in self._listeners:
                # A listener that cannot keep up loses frames; the preview does not wait for it.
                with contextlib.suppress(queue.Full):
                    q.put_nowait(result)

    def subscribe(self, size: int = 64):  # type: ignore[no-untyped-def]
        """A queue that receives every preview frame from now on (a recorder); bounded: a
        listener more than `size` frames behind misses frames rather than growing memory."""
        import queue

        q: queue.Queue = queue.Queue(size)
        with self._new_result:
            self._listeners.append(q)
        return q

    def latest_numbered(self) -> tuple[int, FrameResult | None]:
        """(frames produced so far, the newest frame), read together."""
        with self._new_result:
            return self.results, self._latest

    def wait_result(self, after: int, timeout: float = 10.0) -> FrameResult | None:
        """The newest preview frame once more than `after` have been produced (None on timeout)."""
        end = time.monotonic() + timeout
        with self._new_result:
            while self.results <= after:
                if self._error is not None:
                    raise self._error
                left = end - time.monotonic()
                if left <= 0 or (self._thread is not None and not self._thread.is_alive() and self.results <= after):
                    return None
                self._new_result.wait(min(left, 0.1))
            return self._latest

    @property
    def latest(self) -> FrameResult | None:
        """The newest preview frame (composite), or None before the first."""
        return self._latest

    @property
    def running(self) -> bool:
        """Whether the camera is still delivering."""
        return self._thread is not None and self._thread.is_alive()

    # -- the still ------------------------------------------------------------------------------

    def capture(self) -> Capture:
        """The newest full-size camera frame through the still path, written as a PNG cut-out.

        Runs on the caller's thread (the preview keeps going on its own); captures are taken one
        at a time. OutputError when no frame has arrived yet or the folder cannot be written.
        """
        from edgematte.files import write_atomic
        from edgematte.still import Output

        frame = self._latest_frame
        if frame is None:
            raise OutputError("no camera frame yet: nothing to capture")
        with self._capture_lock:
            t = time.perf_counter()
            png = self.session.process(frame, Output(format="PNG")).data  # the whole still path
            assert png is not None
            self._captured += 1
            name = time.strftime("capture-%Y%m%d-%H%M%S") + f"-{self._captured:03d}.png"
            path = write_atomic(self.captures / name, png)
            h, w = frame.shape[:2]
            return Capture(path, png, w, h, time.perf_counter() - t, self.session.model)

    # -- lifetime -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the camera (it is released on its own thread), the live worker and the models."""
        self.camera.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.matter.close()
        self.session.close()

    @property
    def error(self) -> BaseException | None:
        """What stopped the camera thread (None: nothing, or a clean stop)."""
        return None if self.camera.closed else self._error

    def stats(self) -> dict:
        """Frames from the camera, preview frames made, frames dropped, preview fps so far."""
        dt = time.monotonic() - self._t0
        return {
            "camera_frames": self.camera_frames,
            "preview_frames": self.results,
            "dropped": self.matter.dropped,
            "preview_fps": round(self.results / dt, 1) if dt > 0 else 0.0,
            "model": self.matter.card.name,
            "still_model": self.session.model,
            "captures": self._captured,
        }
