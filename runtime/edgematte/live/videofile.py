"""Video files in and out (PyAV: FFmpeg's libraries, with wheels for x86_64 and aarch64 Linux).

Why PyAV: it ships FFmpeg inside its wheel (decoders for mp4/mov/webm/avi/mkv, and the encoders
we write with: libx264, libvpx-vp9 with alpha, PNG), so nothing is built on a Pi and no
system ffmpeg is needed; it gives frames as NumPy arrays, timestamps and the display rotation,
and lets audio packets be copied without re-encoding. OpenCV's VideoCapture cannot write alpha
or carry audio.

What is kept from the input: every frame's timestamp (so the frame rate, constant or variable),
the size, the display rotation (frames are matted upright, written back as stored, with the same
rotation in the output's metadata), and the audio (packets copied when the output container
takes the codec, re-encoded to AAC / Opus otherwise).

Outputs, by what they carry and the file's extension:
- a composite or a mask: .mp4 / .mov / .mkv (H.264), .webm (VP9), .avi (MPEG-4 Part 2);
- a video with alpha: .webm (VP9 with an alpha plane, yuva420p; browsers play it; the alpha is
  lossy: decoded, it is within 0.2 levels on average and 7 levels at the 99.9th percentile of
  what we wrote) or .mov (PNG frames in QuickTime: lossless, decoded exactly; editors and
  QuickTime read it). Not ProRes 4444: FFmpeg's prores_ks (as shipped in PyAV 18) was measured
  to flip isolated alpha pixels by 127 levels (8 per 640x360 frame, at slice edges). `read_rgba` decodes either
  (VP9's alpha needs the libvpx decoder: FFmpeg's own VP9 decoder drops it).
The output is written to a hidden temporary file beside it and renamed when complete; on any
error or Ctrl-C the temporary file is removed, so no half-written video is ever left.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from edgematte.errors import OptionError, OutputError, VideoError
from edgematte.files import TEMP_SUFFIX, _fsync_dir, same_file, temp_prefix
from edgematte.settings import VIDEO_CRF, VIDEO_PRESET

# Extension -> container format name, and what each container can carry.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
ALPHA_CONTAINERS = (".webm", ".mov")
# Audio codecs each container takes as they are (copied); otherwise re-encoded to the fallback.
AUDIO_COPY = {
    "mp4": {"aac", "mp3", "alac", "ac3", "opus", "flac"},
    "mov": {"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le"},
    "matroska": None,  # anything
    "webm": {"opus", "vorbis"},
    "avi": {"mp3", "ac3", "pcm_s16le"},
}
AUDIO_FALLBACK = {"mp4": "aac", "mov": "aac", "matroska": "aac", "webm": "libopus", "avi": "libmp3lame"}


def _av():  # type: ignore[no-untyped-def]
    try:
        import av
    except ImportError:  # pragma: no cover - the extra is missing
        raise OptionError('video files need PyAV: pip install "edgematte[video]"') from None
    av.logging.set_level(None)  # FFmpeg prints nothing: our errors say what went wrong, once
    return av


def _upright(a: np.ndarray, rotation: int) -> np.ndarray:
    """A stored frame turned as the display matrix says (rotation: degrees counter-clockwise)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(a, k)) if k else a


def _stored(a: np.ndarray, rotation: int) -> np.ndarray:
    """An upright frame turned back to the stored orientation (inverse of `_upright`)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(a, -k)) if k else a


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about its picture and sound."""

    width: int  # upright (displayed) size
    height: int
    rotation: int  # display rotation in degrees (0, 90, 180, 270)
    rate: Fraction  # average frames per second
    frames: int  # frame count from the header (0 when unknown)
    time_base: Fraction
    has_audio: bool
    codec: str


class VideoReader:
    """Frames of a video file, upright, as RGB arrays with their timestamps.

    Parameters
    ----------
    path
        Any file FFmpeg reads (mp4, mov, webm, avi, mkv, ...).
    """

    def __init__(self, path: str | os.PathLike):
        av = _av()
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such video file")
        try:
            self._c = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: not a video FFmpeg can read ({exc.strerror or exc})") from None
        if not self._c.streams.video:
            self._c.close()
            raise VideoError(f"{self.path}: has no video stream")
        self._v = self._c.streams.video[0]
        self._v.thread_type = "AUTO"
        # One decode iterator for the whole file: a second one would flush the decoder again,
        # and with frame threading a short clip's frames all arrive in the first one's flush.
        self._decoded = self._c.decode(self._v)
        first = None
        try:
            first = next(self._decoded)
        except (StopIteration, av.FFmpegError):
            self._c.close()
            raise VideoError(f"{self.path}: no decodable frame") from None
        self._first = first
        rot = round(first.rotation or 0) % 360
        w, h = first.width, first.height
        if rot in (90, 270):
            w, h = h, w
        rate = self._v.average_rate or self._v.guessed_rate or Fraction(30)
        self.info = VideoInfo(
            w,
            h,
            rot,
            Fraction(rate),
            int(self._v.frames or 0),
            Fraction(self._v.time_base),
            bool(self._c.streams.audio),
            self._v.codec_context.name,
        )

    def frames(self) -> Iterator[tuple[float, int, np.ndarray]]:
        """(timestamp_ms, pts, upright HxWx3 uint8 RGB) for every frame, in order (call once)."""
        av = _av()
        tb = self.info.time_base
        step = max(1, round(1 / (self.info.rate * tb)))  # one frame's duration in time-base ticks
        last_pts = None

        def one(f):  # type: ignore[no-untyped-def]
            nonlocal last_pts
            pts = f.pts if f.pts is not None else (0 if last_pts is None else last_pts + step)
            if last_pts is not None and pts <= last_pts:
                pts = last_pts + step  # broken or missing timestamps: one frame later
            last_pts = pts
            return float(pts * tb * 1000), pts, _upright(f.to_ndarray(format="rgb24"), self.info.rotation)

        yield one(self._first)
        try:
            for f in self._decoded:
                yield one(f)
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: decoding failed after {last_pts} ({exc.strerror or exc})") from None

    def close(self) -> None:
        """Close the file."""
        self._c.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def looped_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """A background video's frames, upright, from the start again when it ends (never empty)."""
    while True:
        with VideoReader(path) as r:
            for _, _, f in r.frames():
                yield f


def output_kind_ok(path: Path, alpha: bool) -> str:
    """The container format for an output path; OptionError when it cannot carry the output."""
    ext = path.suffix.lower()
    if ext not in CONTAINERS:
        raise OptionError(f"{path}: unknown video extension; use one of {', '.join(sorted(CONTAINERS))}")
    if alpha and ext not in ALPHA_CONTAINERS:
        raise OptionError(f"{path}: {ext} cannot carry alpha; use .webm (VP9 with alpha) or .mov (PNG frames)")
    return CONTAINERS[ext]


class VideoWriter:
    """Frames out to a video file, atomically, with the source's timing, rotation and audio.

    Parameters
    ----------
    path
        The output (its extension picks the container and codec, see the module notes).
    info
        The source's VideoInfo: size, rotation, time base and rate are kept.
    kind
        'rgb' (a composite), 'gray' (a mask) or 'rgba' (a video with alpha).
    audio_from
        The source path whose audio is carried over. Default None: no audio.
    protect
        Paths that must never be replaced (the inputs).
    crf
        Quality for H.264 / VP9 (lower is better). Default settings.VIDEO_CRF.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        info: VideoInfo,
        kind: str,
        audio_from: str | os.PathLike | None = None,
        protect: list[str | os.PathLike] | None = None,
        crf: int = VIDEO_CRF,
    ):
        av = _av()
        self.path = Path(path)
        self.info, self.kind = info, kind
        self.format = output_kind_ok(self.path, kind == "rgba")
        for p in protect or []:
            if self.path.exists() and same_file(self.path, p):
                raise OutputError(f"{self.path}: refusing to overwrite the input; choose another output path")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=TEMP_SUFFIX, dir=self.path.parent)
            os.close(fd)
            self._c = av.open(self._tmp, "w", format=self.format)
        except (OSError, av.FFmpegError) as exc:
            raise OutputError(f"{self.path}: cannot write here ({getattr(exc, 'strerror', None) or exc})") from None
        self._done = False
        self._last_pts = -1
        self._audio: _AudioCarrier | None = None
        try:
            self._v = self._video_stream(crf)
            self._audio = _AudioCarrier(self._c, audio_from, self.format) if audio_from and info.has_audio else None
        except BaseException:
            self.abort()
            raise

    def _video_stream(self, crf: int):  # type: ignore[no-untyped-def]
        i = self.info
        # AVI has one frame rate and no display matrix: frames are written upright at 1/rate.
        self._avi = self.format == "avi"
        self._rotation = 0 if self._avi else i.rotation
        self._time_base = Fraction(1) / i.rate if self._avi else i.time_base
        turned = self._rotation in (90, 270)
        w, h = (i.height, i.width) if turned else (i.width, i.height)  # stored size
        ext = self.path.suffix.lower()
        odd = w % 2 or h % 2
        if self.kind == "rgba":
            if ext == ".webm":
                s = self._c.add_stream("libvpx-vp9", rate=i.rate)
                s.pix_fmt = "yuva420p"
                # The alpha plane is coded at the colour's quantiser: CRF 18, not 30, keeps the
                # edges (measured: mean 0.16 levels, 99.9th percentile 7, vs 0.25 / 11 at 30).
                s.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
            else:  # lossless PNG frames in QuickTime (see the module notes: not ProRes 4444)
                s = self._c.add_stream("png", rate=i.rate)
                s.pix_fmt = "rgba"
            self._fmt = "rgba"
        elif ext == ".webm":
            s = self._c.add_stream("libvpx-vp9", rate=i.rate)
            s.pix_fmt = "yuv420p"
            s.options = {"crf": str(crf + 12), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
            self._fmt = "rgb24" if self.kind == "rgb" else "gray"
        elif ext == ".avi":
            s = self._c.add_stream("mpeg4", rate=i.rate)
            s.pix_fmt = "yuv420p"
            s.options = {"qscale": "3"}
            self._fmt = "rgb24" if self.kind == "rgb" else "gray"
        else:
            s = self._c.add_stream("libx264", rate=i.rate)
            s.pix_fmt = "yuv444p" if odd else "yuv420p"  # 4:2:0 needs even sizes
            s.options = {"crf": str(crf), "preset": VIDEO_PRESET}
            self._fmt = "rgb24" if self.kind == "rgb" else "gray"
        if odd and s.pix_fmt in ("yuv420p", "yuva420p") and ext != ".mp4":
            self._c.close()
            raise OptionError(
                f"{self.path}: {w}x{h} has an odd side, which {ext} with 4:2:0 cannot hold; "
                + ("use .mov (PNG frames)" if self.kind == "rgba" else "use .mp4, .mkv or .mov")
            )
        s.width, s.height = w, h
        s.time_base = self._time_base
        s.codec_context.time_base = self._time_base
        if self._rotation:
            s.set_display_rotation(self._rotation)
        return s

    def write(self, pixels: np.ndarray, pts: int) -> None:
        """One upright frame (HxWx3 composite, HxW mask or HxWx4 RGBA uint8) at the source's pts."""
        av = _av()
        a = _stored(pixels, self._rotation)
        if self._fmt == "gray" and a.ndim == 3:
            a = np.ascontiguousarray(a[..., 0])
        if self._avi:  # one frame rate: frame indices, strictly increasing (a VFR source may collide)
            pts = max(round(pts * self.info.time_base * self.info.rate), self._last_pts + 1)
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(a), format=self._fmt)
        frame.pts, frame.time_base = pts, self._time_base
        try:
            for p in self._v.encode(frame):
                self._mux_video(p)
        except av.FFmpegError as exc:
            raise OutputError(f"{self.path}: encoding failed ({exc.strerror or exc})") from None

    @property
    def audio_mode(self) -> str:
        """'copied', 're-encoded' or 'none': what happens to the source's audio."""
        if self._audio is None:
            return "none"
        return "copied" if self._audio.copy else "re-encoded"

    def _mux_video(self, packet) -> None:  # type: ignore[no-untyped-def]
        if self._audio is not None and packet.pts is not None:
            self._audio.until(float(packet.pts * packet.time_base))
        self._c.mux(packet)

    def close(self) -> Path:
        """Flush the encoders, carry the remaining audio, then rename into place. Returns the path."""
        av = _av()
        try:
            for p in self._v.encode():
                self._mux_video(p)
            if self._audio is not None:
                self._audio.until(float("inf"))
                self._audio.close()
            self._c.close()
            with open(self._tmp, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
        except (OSError, av.FFmpegError) as exc:
            self.abort()
            raise OutputError(f"{self.path}: write failed ({getattr(exc, 'strerror', None) or exc})") from None
        except BaseException:
            self.abort()
            raise
        self._done = True
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Drop the partial output (on an error or Ctrl-C): the temporary file is removed."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._c.close()
        if self._audio is not None:
            with contextlib.suppress(Exception):
                self._audio.close_input()
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)


class _AudioCarrier:
    """The source's audio into the output, interleaved with the video by time."""

    def __init__(self, out, source: str | os.PathLike, container_format: str):  # type: ignore[no-untyped-def]
        av = _av()
        self._in = av.open(str(source))
        self._ins = self._in.streams.audio[0]
        self._packets = self._in.demux(self._ins)
        self._out = out
        codec = self._ins.codec_context.name
        allowed = AUDIO_COPY[container_format]
        self.copy = allowed is None or codec in allowed
        if self.copy:
            self._outs = out.add_stream_from_template(self._ins)
            self._decoder = self._resampler = None
        else:
            name = AUDIO_FALLBACK[container_format]
            rate = 48000 if name == "libopus" else (self._ins.rate or 48000)
            self._outs = out.add_stream(name, rate=rate)
            self._outs.layout = self._ins.layout.name if self._ins.layout else "stereo"
            self._resampler = av.AudioResampler(
                format=self._outs.codec_context.format.name, layout=self._outs.layout.name, rate=rate
            )

    def until(self, seconds: float) -> None:
        """Mux the source's audio up to `seconds` (all of it for inf)."""
        av = _av()
        for packet in self._packets:
            if packet.dts is None and packet.size == 0:
                continue
            t = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
            if self.copy:
                packet.stream = self._outs
                self._out.mux(packet)
            else:
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    continue
                for f in frames:
                    for rf in self._resampler.resample(f):
                        for p in self._outs.encode(rf):
                            self._out.mux(p)
            if t > seconds:
                return

    def close(self) -> None:
        if not self.copy:
            for rf in self._resampler.resample(None):
                for p in self._outs.encode(rf):
                    self._out.mux(p)
            for p in self._outs.encode():
                self._out.mux(p)
        self._in.close()

    def close_input(self) -> None:
        """Close the source file (after an abort)."""
        self._in.close()


def read_rgba(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decode a video with alpha that we wrote (WebM VP9 or MOV PNG): upright HxWx4 uint8.

    VP9's alpha plane is read with the libvpx decoder (FFmpeg's own VP9 decoder drops it).
    """
    av = _av()
    with VideoReader(path) as r:
        rotation = r.info.rotation  # the libvpx decoder's frames do not carry the display matrix
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if s.codec_context.name == "vp9":
            dec = av.CodecContext.create("libvpx-vp9", "r")
            for packet in c.demux(s):  # the last packet is the empty one that flushes the decoder
                for f in dec.decode(packet):
                    yield _upright(f.to_ndarray(format="rgba"), rotation)
        else:
            for f in c.decode(s):
                yield _upright(f.to_ndarray(format="rgba"), rotation)


_QUEUE_FRAMES = 4  # frames decoded ahead / waiting for the encoder: bounded memory


def _ahead(items):  # type: ignore[no-untyped-def]
    """Iterate `items` on a thread of its own, up to _QUEUE_FRAMES ahead of the consumer."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(_QUEUE_FRAMES)
    done = object()
    stop = threading.Event()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for x in items:
                if not put((x, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer
            put((done, exc))

    t = threading.Thread(target=run, name="edgematte-decode", daemon=True)
    t.start()
    try:
        while True:
            x, exc = q.get()
            if x is done:
                if exc is not None:
                    raise exc
                return
            yield x
    finally:  # close() this generator before closing what `items` reads from
        stop.set()
        t.join(timeout=30)


class _Behind:
    """Calls `write(*args)` on a thread of its own, in order, at most _QUEUE_FRAMES behind."""

    def __init__(self, write):  # type: ignore[no-untyped-def]
        import queue
        import threading

        self._write = write
        self._q: queue.Queue = queue.Queue(_QUEUE_FRAMES)
        self._error: BaseException | None = None
        self._t = threading.Thread(target=self._run, name="edgematte-encode", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self._write(*item)
                except BaseException as exc:
                    self._error = exc

    def put(self, *args: object) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(args)

    def finish(self) -> None:
        """Wait for every frame to be written; raise the writer's error if it had one."""
        self._q.put(None)
        self._t.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Drop what is queued and stop (on an error or Ctrl-C)."""
        self._error = self._error or RuntimeError("stopped")
        with contextlib.suppress(Exception):
            while True:
                self._q.get_nowait()
        self._q.put(None)
        self._t.join(timeout=30)


@dataclass
class VideoJob:
    """What `matte_video` did: frames, seconds, and where it wrote."""

    output: Path
    frames: int
    seconds: float
    model: str
    audio: str  # 'copied', 're-encoded' or 'none'

    @property
    def fps(self) -> float:
        """Frames per second over the whole job (decode, matte, encode)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def matte_video(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    model: str = "preview",
    result: str = "rgba",
    background: object = None,
    temporal: object = None,
    threads: int | None = None,
    profile: str | None = None,
    audio: bool = True,
    overwrite: bool = False,
    on_frame: object = None,
) -> VideoJob:
    """A whole video through video mode, decoded and encoded with PyAV.

    Parameters
    ----------
    source
        The input video (anything FFmpeg reads).
    output
        The output file; its extension picks container and codec (module notes).
    model
        'preview' (the person model, fast; the default), 'portrait' (MODNet matting, for
        quality offline renders) or 'u2netp' (any salient object).
    result
        'rgba' (a video with alpha: .webm or .mov), 'composite' (over `background`) or 'alpha'
        (a mask video). Default 'rgba'.
    background
        For 'composite': a colour, an image path, or a video path (its frames, looped).
    temporal
        TemporalSettings. Default None: adaptive.
    threads, profile
        As for Session. Default None: the device profile's.
    audio
        Carry the source's audio over. Default True.
    overwrite
        Replace an existing output. Default False: an existing output is refused (OutputError).
    on_frame
        Called as on_frame(frames_done, frames_expected) after every frame (a progress bar).
    """
    import time

    from edgematte.live.modes import FrameMatter, MatterOptions, RunningMode

    out = Path(output)
    src = Path(source)
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists; pass --overwrite to replace it")
    if out.exists() and same_file(out, src):
        raise OutputError(f"{out}: refusing to overwrite the input video; choose another output path")
    output_kind_ok(out, result == "rgba")
    bg_frames = None
    bg_option: object = "white"
    if result == "composite":
        if background is None:
            raise OptionError("a composite needs --bg (a colour, an image or a video)")
        bg_path = Path(str(background))
        if bg_path.suffix.lower() in CONTAINERS:  # a video: its frames, looped
            if not bg_path.is_file():
                raise OptionError(f"--bg {bg_path}: no such video file")
            VideoReader(bg_path).close()  # unreadable backgrounds fail here, blamed on the background
            bg_frames = looped_frames(bg_path)
        else:
            bg_option = background
    t0 = time.perf_counter()
    with VideoReader(src) as reader:
        options = MatterOptions(
            running_mode=RunningMode.VIDEO,
            model=model,
            output=result,
            background=bg_option,  # type: ignore[arg-type]
            temporal=temporal,
            threads=threads,
            profile=profile,  # type: ignore[arg-type]
        )
        kind = {"rgba": "rgba", "composite": "rgb", "alpha": "gray"}[result]
        with FrameMatter.create_from_options(options) as matter:
            writer = VideoWriter(out, reader.info, kind, src if audio else None, protect=[src])
            n = 0
            # Decoding runs ahead on one thread and encoding behind on another (FFmpeg releases the
            # GIL in both), so the matting rarely waits for either; each queue holds a few frames.
            encoder = _Behind(writer.write)
            ahead = None
            try:
                pts_of: dict[float, int] = {}

                def frames():  # type: ignore[no-untyped-def]
                    for ts, pts, f in reader.frames():
                        pts_of[ts] = pts
                        yield ts, f

                ahead = _ahead(frames())
                for r in matter.stream(ahead, bg_frames):
                    encoder.put(r.pixels, pts_of.pop(r.timestamp_ms))
                    n += 1
                    if on_frame is not None:
                        on_frame(n, reader.info.frames)  # type: ignore[operator]
                encoder.finish()
                writer.close()
            except BaseException:
                encoder.stop()
                writer.abort()
                raise
            finally:
                if ahead is not None:
                    ahead.close()  # the decode thread stops before the reader closes the file
            return VideoJob(out, n, time.perf_counter() - t0, matter.card.name, writer.audio_mode)
