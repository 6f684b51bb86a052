"""The kiosk page's live preview: one frame in (a small JPEG), its person mask out (a PNG).

The page sends the camera's frame at 256 px (LiveSettings.work_long_side) and composites the
mask itself, so the network carries ~15 KB per frame each way and the device runs only the
preview stages (the selfie segmenter, guided filter, the temporal stage) on a dedicated
thread: the live preview never waits behind a 12 MP still, and a still never waits for it.
"""

from __future__ import annotations

import threading

import numpy as np

from edgematte.serve.replies import ApiError

NEW_CLIP_MS = 2000  # a gap this long between frames is another page or a camera restart: start afresh
MAX_SIDE = 1024  # px: a preview frame larger than this is not a preview frame


class KioskLive:
    """The live matter for the kiosk page (VIDEO mode: temporal smoothing across frames).

    Parameters
    ----------
    threads
        Threads for the preview stages. Default 1: the preview shares the device with stills.
    profile
        Device profile. Default None: detected.
    """

    def __init__(self, threads: int = 1, profile: str | None = None):
        self._threads = threads
        self._profile = profile
        self._matter = None
        self._last_ts = -1.0
        self._last_size: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _open(self):  # type: ignore[no-untyped-def]
        from edgematte.live.modes import FrameMatter

        if self._matter is None:
            self._matter = FrameMatter.for_video(output="alpha", threads=self._threads, profile=self._profile)
        return self._matter

    def mask_png(self, jpeg: bytes, timestamp_ms: float) -> bytes:
        """The frame's mask as an RGBA PNG (white, alpha = mask), same size as the frame.

        Parameters
        ----------
        jpeg
            The frame (any image file the decoder reads), at most MAX_SIDE px on its long side.
        timestamp_ms
            The page's clock; a value that does not increase, or jumps by more than NEW_CLIP_MS
            (a reload, a second page, a camera restart), starts a new clip. The temporal state
            is one for the service: it serves one kiosk page at a time.
        """
        from edgematte.decode import decode
        from edgematte.encode import encode

        image = decode(jpeg, MAX_SIDE * MAX_SIDE)
        if max(image.size) > MAX_SIDE:
            raise ApiError(
                413, f"a preview frame is at most {MAX_SIDE} px long; this one is {image.size}", "file_too_large"
            )
        with self._lock:
            matter = self._open()
            jump = timestamp_ms - self._last_ts > NEW_CLIP_MS
            if timestamp_ms <= self._last_ts or jump or image.size != self._last_size:
                matter.reset()
            self._last_ts, self._last_size = timestamp_ms, image.size
            result = matter.matte_for_video(image.rgb, timestamp_ms)
        alpha = result.alpha
        rgba = np.full((*alpha.shape, 4), 255, np.uint8)
        rgba[..., 3] = alpha
        return encode(rgba, "PNG")

    def close(self) -> None:
        """Release the preview model."""
        with self._lock:
            if self._matter is not None:
                self._matter.close()
                self._matter = None
