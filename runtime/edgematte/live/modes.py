"""Running modes for frames, in the shape of MediaPipe Tasks: image, video and live stream.

    from edgematte import FrameMatter, MatterOptions, RunningMode
    with FrameMatter.for_video(output="composite", background="white") as m:
        for t_ms, frame in frames:
            out = m.matte_for_video(frame, t_ms).pixels

- IMAGE: every frame on its own (no temporal state). For a photo at full quality use
  `edgematte.Session` (the still path); this mode is for frames you want matted alike.
- VIDEO: frames in order with increasing timestamps; the temporal stage (live/temporal.py)
  carries state from one to the next. The same frames give the same results on every run.
  `stream()` pipelines a whole sequence: the next frame's invoke runs while this one is
  refined and composited (identical results, more frames per second on 2+ cores).
- LIVE_STREAM: `matte_async` hands frames over from a camera thread and returns at once; a
  worker mattes them and calls `result_callback(result, frame)`. When the worker is busy the
  newest frame replaces the waiting one (counted in `dropped`): latency stays one frame, memory
  stays bounded, however fast the camera is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from edgematte.compositing import Backdrop, Background
from edgematte.errors import OptionError, SessionClosedError
from edgematte.live.stages import OUTPUTS, FrameResult, PreviewStages, stages_for
from edgematte.live.temporal import Stabiliser
from edgematte.settings import LiveSettings, TemporalSettings


class RunningMode(StrEnum):
    """How frames arrive: one by one unrelated, as a video, or pushed live from a camera."""

    IMAGE = "image"
    VIDEO = "video"
    LIVE_STREAM = "live_stream"


ResultCallback = Callable[[FrameResult, np.ndarray], None]


@dataclass(frozen=True)
class MatterOptions:
    """Everything a FrameMatter is created from.

    Parameters
    ----------
    running_mode
        IMAGE, VIDEO or LIVE_STREAM (RunningMode or its value). Default IMAGE.
    model
        'preview' (the person model, fast), 'portrait' (MODNet matting: slow, best hair) or
        'u2netp' (any salient object), or an exact model name. Default 'preview'.
    output
        'composite' (over `background`), 'rgba' (cut-out) or 'alpha' (mask). Default 'composite'.
    background
        A colour name / hex / RGB tuple, or an image (path, array, PIL) scaled to cover. Default
        'white'. A video's own frames can be passed per call instead (`matte_for_video`).
    temporal
        The temporal stage (TemporalSettings). Default None: adaptive mixing in video and live
        modes; image mode never has one.
    threads
        Threads for inference and kernels. Default None: the device profile's.
    profile
        Device profile. Default None: detected.
    result_callback
        LIVE_STREAM only (required there): called on the worker thread with (result, frame).
    live
        The person model's numbers (LiveSettings). Default None: LiveSettings().
    """

    running_mode: RunningMode | str = RunningMode.IMAGE
    model: str = "preview"
    output: str = "composite"
    background: Background = "white"
    temporal: TemporalSettings | None = None
    threads: int | None = None
    profile: str | None = None
    result_callback: ResultCallback | None = None
    live: LiveSettings | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "running_mode", RunningMode(self.running_mode))
        except ValueError:
            raise OptionError(f"running mode {self.running_mode!r}: image, video or live_stream expected") from None
        if self.output not in OUTPUTS:
            raise OptionError(f"output {self.output!r}: one of {', '.join(OUTPUTS)} expected")
        live = self.running_mode is RunningMode.LIVE_STREAM
        if live and self.result_callback is None:
            raise OptionError("live-stream mode needs a result_callback")
        if not live and self.result_callback is not None:
            raise OptionError("result_callback is for live-stream mode only")


class FrameMatter:
    """Frames in, matted frames out, in one running mode (create it from MatterOptions).

    Parameters
    ----------
    options
        The mode, model, output and background (MatterOptions).
    """

    def __init__(self, options: MatterOptions):
        self.options = options
        self.mode = RunningMode(options.running_mode)
        self._stages = stages_for(options.model, options.threads, options.profile, options.live)
        self.card = self._stages.card
        self._backdrop = Backdrop.parse(options.background) if options.output == "composite" else None
        temporal = options.temporal or (options.live.temporal if options.live else TemporalSettings())
        self._stabiliser = None if self.mode is RunningMode.IMAGE else Stabiliser(temporal)
        self._last_ms: float | None = None
        self._closed = False
        self._lock = threading.Lock()  # one frame at a time through the stages
        self.dropped = 0  # live stream: frames replaced by a newer one before they were matted
        self.processed = 0
        self._error: BaseException | None = None  # live stream: the worker's first failure
        self._busy = False  # live stream: the worker is matting a frame or in the callback
        if self.mode is RunningMode.LIVE_STREAM:
            self._slot: tuple[np.ndarray, float] | None = None
            self._wake = threading.Condition()
            self._worker = threading.Thread(target=self._live_worker, name="edgematte-live", daemon=True)
            self._worker.start()

    # -- creation -------------------------------------------------------------------------------

    @classmethod
    def create_from_options(cls, options: MatterOptions) -> FrameMatter:
        """A FrameMatter for these options (the mode is `options.running_mode`)."""
        return cls(options)

    @classmethod
    def for_images(cls, **options: object) -> FrameMatter:
        """Image mode: `FrameMatter.for_images(model='preview', output='alpha')` (MatterOptions' fields)."""
        return cls(MatterOptions(running_mode=RunningMode.IMAGE, **options))  # type: ignore[arg-type]

    @classmethod
    def for_video(cls, **options: object) -> FrameMatter:
        """Video mode: frames with increasing timestamps, temporal state (MatterOptions' fields)."""
        return cls(MatterOptions(running_mode=RunningMode.VIDEO, **options))  # type: ignore[arg-type]

    @classmethod
    def for_live_stream(cls, result_callback: ResultCallback, **options: object) -> FrameMatter:
        """Live-stream mode: frames pushed by `matte_async`, results to `result_callback(result, frame)`."""
        return cls(
            MatterOptions(running_mode=RunningMode.LIVE_STREAM, result_callback=result_callback, **options)  # type: ignore[arg-type]
        )

    # -- the three modes ------------------------------------------------------------------------

    def _check(self, mode: RunningMode, call: str) -> None:
        if self._closed:
            raise SessionClosedError("this FrameMatter was closed; create a new one")
        if self.mode is not mode:
            raise OptionError(f"{call} is for {mode.value} mode; this FrameMatter runs in {self.mode.value} mode")

    def _next_timestamp(self, timestamp_ms: float) -> None:
        if self._last_ms is not None and timestamp_ms <= self._last_ms:
            raise OptionError(f"timestamp {timestamp_ms} ms is not after the previous frame's ({self._last_ms} ms)")
        self._last_ms = timestamp_ms

    @staticmethod
    def _frame(frame: np.ndarray) -> np.ndarray:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            got = getattr(frame, "shape", type(frame).__name__)
            raise OptionError(f"a frame is an HxWx3 uint8 RGB array (got {got})")
        return frame

    def _run(self, frame: np.ndarray, timestamp_ms: float, background: np.ndarray | None) -> FrameResult:
        backdrop = background if background is not None else self._backdrop
        with self._lock:
            r = self._stages.frame(frame, self._stabiliser, self.options.output, backdrop, timestamp_ms)
            self.processed += 1
            return r

    def matte(self, image: np.ndarray, background: np.ndarray | None = None) -> FrameResult:
        """IMAGE mode: one frame on its own.

        Parameters
        ----------
        image
            HxWx3 uint8 RGB.
        background
            This frame's background image (composite output). Default None: the options'.
        """
        self._check(RunningMode.IMAGE, "matte")
        return self._run(self._frame(image), 0.0, background)

    def matte_for_video(
        self, frame: np.ndarray, timestamp_ms: float, background: np.ndarray | None = None
    ) -> FrameResult:
        """VIDEO mode: the next frame of a video.

        Parameters
        ----------
        frame
            HxWx3 uint8 RGB.
        timestamp_ms
            The frame's time; must increase from frame to frame (OptionError otherwise).
        background
            This frame's background image (a background video's frame). Default None: the options'.
        """
        self._check(RunningMode.VIDEO, "matte_for_video")
        self._frame(frame)
        self._next_timestamp(timestamp_ms)
        return self._run(frame, timestamp_ms, background)

    def stream(
        self, frames: Iterable[tuple[float, np.ndarray]], backgrounds: Iterable[np.ndarray] | None = None
    ) -> Iterator[FrameResult]:
        """VIDEO mode over a whole sequence of (timestamp_ms, frame), pipelined.

        With the person model, frame t+1's prepare and invoke run on a second thread (one core)
        while frame t goes through temporal, refine and compose (the other cores); the results
        equal `matte_for_video` called frame by frame (tested). Other models run frame by frame.

        Parameters
        ----------
        frames
            (timestamp_ms, HxWx3 uint8 RGB) in order.
        backgrounds
            One background image per frame (a background video), or None: the options'.
        """
        self._check(RunningMode.VIDEO, "stream")
        bgs = iter(backgrounds) if backgrounds is not None else None
        if not isinstance(self._stages, PreviewStages):
            for ts, f in frames:
                yield self.matte_for_video(f, ts, next(bgs) if bgs is not None else None)
            return
        from concurrent.futures import ThreadPoolExecutor

        stages = self._stages
        with ThreadPoolExecutor(1, thread_name_prefix="edgematte-invoke") as pool:
            pending = None
            for ts, f in frames:
                self._frame(f)
                self._next_timestamp(ts)
                nxt = (ts, pool.submit(stages.predict, f, True))
                if pending is not None:
                    yield self._finish(pending, bgs)
                pending = nxt
            if pending is not None:
                yield self._finish(pending, bgs)

    def _finish(self, pending, bgs) -> FrameResult:  # type: ignore[no-untyped-def]
        ts, fut = pending
        p = fut.result()
        bg = next(bgs) if bgs is not None else None
        backdrop = bg if bg is not None else self._backdrop
        with self._lock:
            stages: PreviewStages = self._stages  # type: ignore[assignment]
            r = stages.finish(p, self._stabiliser, self.options.output, backdrop, ts, max(1, stages.threads - 1))
            self.processed += 1
            return r

    def matte_async(self, frame: np.ndarray, timestamp_ms: float) -> None:
        """LIVE_STREAM mode: hand a camera frame over and return at once.

        Parameters
        ----------
        frame
            HxWx3 uint8 RGB. Not copied: do not write into it afterwards (cameras hand out a new
            buffer per frame).
        timestamp_ms
            The frame's time; must increase (OptionError otherwise).

        The result reaches `result_callback(result, frame)` on the worker thread. A frame still
        waiting when a newer one arrives is dropped (`dropped` counts them). If matting a frame
        or the callback raised, the worker stops and this call raises that error.
        """
        self._check(RunningMode.LIVE_STREAM, "matte_async")
        if self._error is not None:
            raise self._error
        self._frame(frame)
        self._next_timestamp(timestamp_ms)
        with self._wake:
            if self._slot is not None:
                self.dropped += 1
            self._slot = (frame, timestamp_ms)
            self._wake.notify()

    def _live_worker(self) -> None:
        callback = self.options.result_callback
        while True:
            with self._wake:
                while self._slot is None and not self._closed:
                    self._wake.wait()
                if self._slot is None:  # closed with nothing waiting
                    return
                frame, ts = self._slot
                self._slot = None
                self._busy = True
            try:
                result = self._run(frame, ts, None)
                callback(result, frame)  # type: ignore[misc]
            except BaseException as exc:  # raised again by the next matte_async / wait_idle
                self._error = exc
                return
            finally:
                with self._wake:
                    self._busy = False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """LIVE_STREAM: wait until the waiting frame (if any) was taken and matted. True if idle."""
        import time

        if self.mode is not RunningMode.LIVE_STREAM:
            raise OptionError(f"wait_idle is for live_stream mode; this FrameMatter runs in {self.mode.value} mode")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._wake:
                idle = self._slot is None and not self._busy
            if self._error is not None:
                raise self._error
            if idle:
                return True
            time.sleep(0.002)
        return False

    # -- lifetime -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the temporal state and the last timestamp (a seek, a scene cut, a new clip)."""
        with self._lock:
            if self._stabiliser is not None:
                self._stabiliser.reset()
            self._last_ms = None

    def close(self) -> None:
        """Stop the live worker (after the frame it is on) and release the models."""
        if self._closed:
            return
        self._closed = True
        if self.mode is RunningMode.LIVE_STREAM:
            with self._wake:
                self._slot = None
                self._wake.notify_all()
            if threading.current_thread() is not self._worker:
                self._worker.join(timeout=30)
        self._stages.close()

    def __enter__(self) -> FrameMatter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["FrameMatter", "FrameResult", "MatterOptions", "RunningMode"]
