"""`video`, `preview` and `stream`: the moving-picture commands (live/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli.common import ProfileOpt, QuietOpt, ThreadsOpt, err

FrameModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="preview (the person model, fast), portrait (MODNet matting, best hair, ~1 s a frame) or u2netp.",
    ),
]
SmoothingOpt = Annotated[str, typer.Option("--smoothing", help="Temporal stage: adaptive (default), ema or none.")]


def _temporal(method: str):  # type: ignore[no-untyped-def]
    from edgematte.errors import OptionError
    from edgematte.settings import TemporalSettings

    try:
        return TemporalSettings(method=method)
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def video(
    source: Annotated[Path, typer.Argument(help="Input video (mp4, mov, webm, avi, mkv: anything FFmpeg reads).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output video: .webm (VP9) / .mov (PNG) keep alpha; .mp4/.mkv/.avi need --bg or --mask.",
        ),
    ],
    bg: Annotated[
        str | None, typer.Option("--bg", help="Composite onto a colour, an image, or another video (looped).")
    ] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Write the alpha as a greyscale mask video.")] = False,
    model: FrameModelOpt = "preview",
    smoothing: SmoothingOpt = "adaptive",
    no_audio: Annotated[bool, typer.Option("--no-audio", help="Leave the input's audio out.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Remove the background of a video: alpha video, composite, or mask (audio, fps, rotation kept)."""
    from edgematte.errors import OptionError

    if bg is not None and mask:
        raise OptionError("--bg and --mask exclude each other: a mask has no background")
    result = "composite" if bg is not None else ("alpha" if mask else "rgba")
    temporal = _temporal(smoothing)
    try:
        _video(source, output, result, temporal, model, bg, threads, profile, no_audio, overwrite, quiet)
    except KeyboardInterrupt:
        from edgematte.errors import EXIT_INTERRUPTED

        err(f"interrupted: {output} not written (its partial temporary file was removed)")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _video(source, output, result, temporal, model, bg, threads, profile, no_audio, overwrite, quiet) -> None:  # type: ignore[no-untyped-def]
    from edgematte.live.videofile import matte_video

    kw = dict(
        model=model,
        result=result,
        background=bg,
        temporal=temporal,
        threads=threads,
        profile=profile,
        audio=not no_audio,
        overwrite=overwrite,
    )
    if quiet:
        job = matte_video(source, output, **kw)  # type: ignore[arg-type]
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]:.1f} fps"),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(source.name, total=None, fps=0.0)
            t0 = time.perf_counter()

            def on_frame(done: int, expected: int) -> None:
                fps = done / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, completed=done, total=max(expected, done) if expected else None, fps=fps)

            job = matte_video(source, output, on_frame=on_frame, **kw)  # type: ignore[arg-type]
    if not quiet:
        typer.echo(
            f"{job.output}: {job.frames} frames in {job.seconds:.1f} s ({job.fps:.1f} fps), "
            f"model {job.model}, audio {job.audio}"
        )


def preview(
    camera: Annotated[
        str, typer.Option("--camera", help="Camera index (0), device (/dev/video0) or a video file played as a camera.")
    ] = "0",
    bg: Annotated[str, typer.Option("--bg", help="The new background: a colour or an image.")] = "white",
    serve: Annotated[
        str | None, typer.Option("--serve", help="Serve the preview as MJPEG at HOST:PORT (e.g. 127.0.0.1:8090).")
    ] = None,
    window: Annotated[bool, typer.Option("--window", help="Show a window (needs a display).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Record the preview to a video file.")] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", help="Camera resolution WxH: the still is taken at it (default: the camera's)."),
    ] = None,
    still_model: Annotated[
        str, typer.Option("--still-model", help="Model for captured stills: portrait (MODNet) or u2netp.")
    ] = "portrait",
    captures: Annotated[Path, typer.Option("--captures", help="Folder for captured stills.")] = Path("captures"),
    frames: Annotated[
        int | None,
        typer.Option("--frames", min=1, help="Stop after this many preview frames (default: run until Ctrl-C)."),
    ] = None,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="A file camera starts again at its end.")] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the --output recording if it exists.")
    ] = False,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Live preview with the background replaced: a window, an MJPEG stream, or a file; stills on demand."""
    from edgematte.errors import OptionError, OutputError
    from edgematte.live.booth import Booth
    from edgematte.live.camera import Camera, parse_size
    from edgematte.live.window import has_display, run_window

    if not (serve or window or output):
        if not has_display():
            raise OptionError("no display here: use --serve 127.0.0.1:8090 (a kiosk browser) or -o preview.mp4")
        window = True
    if output is not None and output.exists() and not overwrite:
        raise OutputError(f"{output}: already exists; pass --overwrite to replace it")
    cam = Camera(camera, parse_size(size), loop=loop)
    booth = Booth(cam, background=bg, still_model=still_model, captures=captures, threads=threads, profile=profile)
    server = None
    recorder = _Recorder(booth, output, cam.rate, frames) if output is not None else None
    recorded = None
    try:
        booth.start()
        if serve:
            from edgematte.live.mjpeg import parse_address
            from edgematte.live.mjpeg import serve as start_server

            host, port = parse_address(serve)
            if host not in ("127.0.0.1", "localhost", "::1"):
                typer.echo(f"edgematte: warning: serving the camera on {host}, beyond this machine", err=True)
            server = start_server(booth, host, port)
            h, p = server.server_address[:2]
            typer.echo(f"preview: http://{h}:{p}/  (stream /stream.mjpg, still: POST /capture)", err=True)
        if window:

            def told(c) -> None:  # type: ignore[no-untyped-def]
                typer.echo(
                    f"still: {c.path} ({c.width}x{c.height}, {c.seconds:.2f} s)"
                    if hasattr(c, "path")
                    else f"edgematte: error: {c}",
                    err=True,
                )

            run_window(booth, frames, told)
        else:
            while frames is None or booth.results < frames:
                if booth.wait_result(booth.results, timeout=1.0) is None and not booth.running:
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a preview without --frames ends: the recording so far is kept
    finally:
        try:
            if recorder is not None:
                recorded = recorder.close()  # written up to here, renamed into place
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            stats = booth.stats()
            booth.stop()
    typer.echo(
        f"preview: {stats['preview_frames']} frames ({stats['preview_fps']} fps, {stats['dropped']} dropped), "
        f"{stats['captures']} stills" + (f", {recorder.written} recorded to {recorded}" if recorded else ""),  # type: ignore[union-attr]
        err=True,
    )


class _Recorder:
    """Every preview frame into a video file at its arrival time, on a thread of its own."""

    def __init__(self, booth, path: Path, rate: float, limit: int | None):  # type: ignore[no-untyped-def]
        import queue
        import threading

        from edgematte.live.videofile import output_kind_ok

        output_kind_ok(path, False)  # a bad extension fails now, not after the first frame
        self.path, self.rate, self.limit = path, rate, limit
        self.written = 0
        self._w = None
        self._error: BaseException | None = None
        self._q: queue.Queue = booth.subscribe()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, name="edgematte-record", daemon=True)
        self._t.start()

    def _run(self) -> None:
        import queue

        while not (self._stop.is_set() and self._q.empty()):
            try:
                r = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            if self._error is None and (self.limit is None or self.written < self.limit):
                try:
                    self._write(r.pixels, r.timestamp_ms)
                except BaseException as exc:
                    self._error = exc

    def _write(self, pixels, ms: float) -> None:  # type: ignore[no-untyped-def]
        from fractions import Fraction

        from edgematte.live.videofile import VideoInfo, VideoWriter

        if self._w is None:
            h, w = pixels.shape[:2]
            info = VideoInfo(w, h, 0, Fraction(round(self.rate * 1000), 1000), 0, Fraction(1, 1000), False, "")
            self._w = VideoWriter(self.path, info, "rgb")
            self._t0 = ms
        pts = max(self._last + 1, round(ms - self._t0)) if self.written else 0
        self._last = pts
        self._w.write(pixels, pts)
        self.written += 1

    def close(self) -> Path | None:
        """Write what is queued, finish the file and rename it into place (None: nothing recorded)."""
        self._stop.set()
        self._t.join()
        if self._error is not None:
            if self._w is not None:
                self._w.abort()
            raise self._error
        return self._w.close() if self._w is not None else None


def stream(
    size: Annotated[str, typer.Option("--size", help="Frame size WxH of the raw RGB24 input (required).")],
    bg: Annotated[
        str | None, typer.Option("--bg", help="Write RGB24 composited onto this colour or image instead of RGBA.")
    ] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Write the alpha only (1 byte a pixel).")] = False,
    rate: Annotated[float, typer.Option("--rate", min=1, max=1000, help="Frames per second of the input.")] = 30.0,
    model: FrameModelOpt = "preview",
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Raw RGB24 frames on stdin -> RGBA (or --bg composited RGB24, or --mask) frames on stdout."""
    from edgematte.errors import OptionError
    from edgematte.live.camera import parse_size
    from edgematte.live.rawstream import run_stream

    if bg is not None and mask:
        raise OptionError("--bg and --mask exclude each other")
    if sys.stdout.isatty():
        raise OptionError("stdout is a terminal: pipe the frames into a file or another program")
    w, h = parse_size(size)  # type: ignore[misc]
    output = "composite" if bg is not None else ("alpha" if mask else "rgba")
    try:
        run_stream(
            sys.stdin.buffer,
            sys.stdout.buffer,
            w,
            h,
            output=output,
            background=bg or "white",
            model=model,
            rate=rate,
            threads=threads,
            profile=profile,
        )
    except BrokenPipeError:
        err("the reader of stdout went away")
        raise typer.Exit(4) from None
    except KeyboardInterrupt:
        from edgematte.errors import EXIT_INTERRUPTED

        err("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def register(app: typer.Typer) -> None:
    """Add `video`, `preview` and `stream` to the app."""
    for fn in (video, preview, stream):
        app.command()(fn)
