"""pibooth plugin: every capture cut out by edgematte and put on a new background.

pibooth finds it through the `pibooth` entry point once edgematte is installed next to it (or
name this file in `[GENERAL] plugins`). Its options, in pibooth.cfg (`pibooth --config`):

    [EDGEMATTE]
    enabled = True          # False: captures are used as taken
    model = portrait        # MODNet matting, made for people; 'product' = u2netp, for objects
    background = white      # a colour (white, #RRGGBB, r,g,b or (r, g, b)) or an image path
    threads = 0             # 0: the device profile's (4 on boards); fewer leave a core to the UI

How a sequence runs:

1. `pibooth_startup`: the model loads in a worker thread (and runs once on a tiny image, so the
   first guest does not pay for it) while pibooth shows its wait screen.
2. `state_capture_exit`, after each capture: the camera's own post-processing (crop, resize,
   flip, effect) turns it into the PIL image pibooth would make later anyway, on pibooth's
   thread (camera drivers are not thread-safe), and the worker starts cutting it out. It runs
   during the countdown of the next capture. The camera hands that same image back when pibooth
   asks for its captures, so nothing is downloaded or decoded twice.
3. `pibooth_setup_picture_factory`, before any other plugin sets the factory up (`tryfirst`, so
   a layout plugin such as pibooth-picture-template reads the composites too): the factory's
   captures are swapped for their composites, waiting for the ones still running. The raw
   folder keeps the captures as taken; the final picture (and the animation) get the composites.

A capture that cannot be cut out is logged and used as taken: the booth never stops for it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pibooth
from PIL import Image

import edgematte
from edgematte.colors import looks_like_colour

if TYPE_CHECKING:
    from edgematte.still import Output, Session

__version__ = edgematte.__version__

LOGGER = logging.getLogger("pibooth.edgematte")  # under pibooth's logger: its console and log file

SECTION = "EDGEMATTE"
# Option -> (default, description, menu label, menu choices); pibooth writes these into pibooth.cfg.
OPTIONS: dict[str, tuple[Any, str, str | None, list[str] | None]] = {
    "enabled": (
        True,
        "Cut out the people in each capture and put them on the background below",
        "Remove background",
        ["True", "False"],
    ),
    "model": (
        "portrait",
        "edgematte model: 'portrait' (MODNet matting, for people) or 'product' (u2netp, for objects)",
        "Cut-out model",
        ["portrait", "product"],
    ),
    "background": (
        "white",
        "New background: a colour (white, #RRGGBB, r,g,b or (r, g, b)) or an image path",
        None,
        None,
    ),
    "threads": (
        0,
        "Threads for the cut-out (0: the device profile's); fewer leave a core to the countdown",
        "Cut-out threads",
        ["0", "1", "2", "3", "4"],
    ),
}
# Long side of the warm-up image: the smallest photo that runs every stage once (model load,
# first invoke), in the captures' orientation (MODNet has a twin model for portrait photos).
WARMUP_LONG_SIDE = 128


@dataclass(frozen=True)
class Options:
    """The [EDGEMATTE] options, read once per sequence.

    Parameters
    ----------
    enabled
        Cut out the captures. Default True (installing the plugin is the opt-in).
    model
        Model name, family or alias for `edgematte.Session`. Default 'portrait': MODNet
        matting, trained on people, so hair edges stay soft.
    background
        What the people are put on: a colour ('white', '#RRGGBB', 'r,g,b' or an (r, g, b)
        tuple) or an image path (scaled to cover each capture). Default 'white', like pibooth's
        own picture background.
    threads
        Threads for inference and the kernels. Default None: the device profile's.
    """

    enabled: bool = True
    model: str = "portrait"
    background: str | tuple[int, ...] = "white"
    threads: int | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> Options:
        """The options in pibooth's configuration.

        Parameters
        ----------
        cfg
            pibooth's `PiConfigParser` (after `pibooth_configure`, so every option has a
            default). A relative background path is taken from the configuration's folder, as
            pibooth does for its own paths; a pibooth-style colour tuple is accepted too.
        """
        background = cfg.gettyped(SECTION, "background")
        if isinstance(background, tuple | list):
            background = tuple(background)
        elif not looks_like_colour(str(background)):
            background = cfg.getpath(SECTION, "background")
        threads = _option(cfg.getint, "threads")
        return cls(
            enabled=_option(cfg.getboolean, "enabled"),
            model=cfg.get(SECTION, "model").strip() or OPTIONS["model"][0],
            background=background,
            threads=threads if threads > 0 else None,
        )


def _option(read: Any, name: str) -> Any:
    """An option read with `read` (cfg.getint, cfg.getboolean), or its default when unreadable."""
    try:
        return read(SECTION, name)
    except ValueError as exc:
        default = OPTIONS[name][0]
        LOGGER.warning("[%s] %s: %s; using %r", SECTION, name, exc, default)
        return default


class CaptureWorker:
    """One thread that cuts out the captures in the order they were taken, model loaded once.

    Parameters
    ----------
    options
        What to load and the background to use. The model loads in the worker thread, so the
        booth's UI starts at once; the first capture waits for it only if it comes first.
    capture_size
        (width, height) of the captures, for the warm-up's orientation. Default (4, 3): landscape.
    """

    def __init__(self, options: Options, capture_size: tuple[int, int] = (4, 3)):
        w, h = capture_size
        scale = WARMUP_LONG_SIDE / max(w, h, 1)
        self._warmup_size = (max(16, round(w * scale)), max(16, round(h * scale)))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgematte")
        # id(capture) -> (capture, its composite to come): the capture is kept so its id stays unique.
        self._jobs: dict[int, tuple[Image.Image, Future[Image.Image]]] = {}
        self._session: Session | None = None
        self._session_key: tuple[str, int | None] | None = None
        self._output: Output | None = None
        self.options = options
        self._pool.submit(self._load, options)

    def configure(self, options: Options) -> None:
        """Use new options (after pibooth's settings menu); a new model loads in the worker.

        Parameters
        ----------
        options
            The options now in force. Unchanged options cost nothing.
        """
        if options != self.options:
            self.options = options
            self._pool.submit(self._load, options)

    def submit(self, capture: Image.Image) -> None:
        """Start cutting out a capture (a no-op for one already submitted).

        Parameters
        ----------
        capture
            The capture as pibooth will lay it out (the camera's post-processed PIL image).
        """
        job = self._jobs.get(id(capture))
        if job is None or job[0] is not capture:
            self._jobs[id(capture)] = (capture, self._pool.submit(self._cut_out, capture))

    def composite(self, capture: Image.Image) -> Image.Image:
        """The capture on the new background, waiting for its job (started now if it was not).

        Parameters
        ----------
        capture
            A capture given to `submit`, or any other (then cut out now).

        Returns
        -------
        PIL.Image.Image
            The composite (RGB, the capture's size), or the capture itself when it could not be
            cut out (the reason is logged).
        """
        try:
            self.submit(capture)
            return self._jobs[id(capture)][1].result()
        except Exception as exc:  # cancelled by a reset, or the worker is shut down
            LOGGER.warning("capture used as taken (%s)", exc or type(exc).__name__)
            return capture

    def forget(self) -> None:
        """Drop the jobs of the sequence that ended (those not started yet are cancelled)."""
        for _, future in self._jobs.values():
            future.cancel()
        self._jobs.clear()

    def close(self) -> None:
        """Stop the worker (after the job under way) and release the model."""
        self.forget()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- in the worker thread ---------------------------------------------------------------

    def _load(self, options: Options) -> None:
        if not options.enabled:
            return
        from edgematte.still import Output, Session

        key = (options.model, options.threads)
        if self._session_key != key:
            if self._session is not None:
                self._session.close()
            self._session, self._session_key = None, key
            try:
                t = time.perf_counter()
                session = Session(options.model, threads=options.threads)
                session.process(
                    Image.new("RGB", self._warmup_size, (128, 128, 128)), Output.of(bg="white", format=None)
                )
                self._session = session
                LOGGER.info("%s ready in %.1f s", session.model, time.perf_counter() - t)
            except Exception as exc:
                LOGGER.error("model '%s' cannot run (%s); captures are used as taken", options.model, exc)
        try:
            self._output = Output.of(bg=options.background, format=None)
        except Exception as exc:
            self._output = None
            LOGGER.error("[%s] background: %s; captures are used as taken", SECTION, exc)

    def _cut_out(self, capture: Image.Image) -> Image.Image:
        session, output = self._session, self._output
        if session is None or output is None:
            return capture  # the reason was logged when the options were loaded
        try:
            t = time.perf_counter()
            # The pixels as pibooth lays them out: pibooth ignores EXIF orientation, so must the cut-out.
            rgb = capture if capture.mode == "RGB" else capture.convert("RGB")
            result = session.process(np.asarray(rgb), output)
            LOGGER.info("%dx%d capture cut out in %.2f s", *capture.size, time.perf_counter() - t)
            return Image.fromarray(result.pixels, "RGB")
        except Exception as exc:
            # Our own errors are the user's to fix (a message says how); anything else is a bug: traceback.
            bug = not isinstance(exc, edgematte.EdgematteError)
            LOGGER.error("%dx%d capture used as taken: %s", *capture.size, exc, exc_info=bug)
            return capture


class EarlyCaptures:
    """A pibooth camera's captures, post-processed when taken and handed back to `get_captures`.

    pibooth's cameras (`BaseCamera`) keep raw captures (a stream, a frame, a file on a DSLR) and
    post-process them all in `get_captures()` at the end of the sequence. To cut a capture out
    during the next countdown its image is needed now, and making it twice is not an option (a
    DSLR may delete the file from its card once downloaded), so the camera's
    `_post_process_capture` is wrapped: an image made here is returned as is, once.

    Parameters
    ----------
    camera
        The application's camera (`app.camera`). One without pibooth's capture buffer (a
        custom camera plugin) is left alone: its captures are then cut out when the final
        picture is built, without the head start.
    """

    def __init__(self, camera: Any):
        self.camera = camera
        self._made: dict[int, tuple[Any, Image.Image]] = {}  # id(raw capture) -> (raw capture, image)
        self._post_process = getattr(camera, "_post_process_capture", None)
        self.supported = isinstance(getattr(camera, "_captures", None), list) and callable(self._post_process)
        if self.supported:
            camera._post_process_capture = self._handed_back
        else:
            name = type(camera).__name__
            LOGGER.info("%s has no capture buffer: cut-outs start after the last capture", name)

    def take_latest(self) -> Image.Image | None:
        """The image of the capture just taken, or None (none new, or an unsupported camera)."""
        if not self.supported or not self.camera._captures:
            return None
        raw = self.camera._captures[-1]
        if id(raw) in self._made:
            return None  # already taken (an exit after a failed capture)
        image = self._post_process(raw)
        self._made[id(raw)] = (raw, image)
        return image

    def forget(self) -> None:
        """Drop images not handed back (a sequence that ended early)."""
        self._made.clear()

    def _handed_back(self, raw: Any) -> Image.Image:
        made = self._made.pop(id(raw), None)
        if made is not None and made[0] is raw:
            return made[1]
        return self._post_process(raw)


def quiet_numba() -> None:
    """Keep Numba's compiler trace (thousands of DEBUG lines per kernel) out of `pibooth -v`.

    A level set on purpose (not NOTSET) is left as it is.
    """
    numba_logger = logging.getLogger("numba")
    if numba_logger.level == logging.NOTSET:
        numba_logger.setLevel(logging.INFO)


class _Booth:
    """The plugin's state for the running pibooth (pibooth runs one application per process)."""

    def __init__(self) -> None:
        self.worker: CaptureWorker | None = None
        self.captures: EarlyCaptures | None = None

    def configure(self, cfg: Any, camera: Any = None) -> Options:
        options = Options.from_config(cfg)
        if self.worker is None and options.enabled:
            size = getattr(camera, "resolution", None) or (4, 3)
            self.worker = CaptureWorker(options, tuple(size))
        elif self.worker is not None:
            self.worker.configure(options)
        return options

    def reset(self) -> None:
        if self.worker is not None:
            self.worker.forget()
        if self.captures is not None:
            self.captures.forget()

    def active(self) -> CaptureWorker | None:
        worker = self.worker
        return worker if worker is not None and worker.options.enabled else None


_booth = _Booth()


# -- pibooth hooks (names and arguments are pibooth's hookspecs) --------------------------------


@pibooth.hookimpl
def pibooth_configure(cfg: Any) -> None:
    """Declare the [EDGEMATTE] options (pibooth writes them, with their help, into pibooth.cfg).

    Parameters
    ----------
    cfg
        pibooth's `PiConfigParser`.
    """
    for name, (default, description, menu_name, menu_choices) in OPTIONS.items():
        with contextlib.suppress(ValueError):  # declared already: pibooth keeps options for the whole process
            cfg.add_option(SECTION, name, default, description, menu_name, menu_choices)


@pibooth.hookimpl
def pibooth_startup(cfg: Any, app: Any) -> None:
    """Start the worker and load the model in it (pibooth's wait screen shows meanwhile).

    Parameters
    ----------
    cfg
        pibooth's configuration (the [EDGEMATTE] options).
    app
        The application; its camera's captures are made early from now on.
    """
    quiet_numba()
    _booth.configure(cfg, app.camera)
    if _booth.captures is None or _booth.captures.camera is not app.camera:
        _booth.captures = EarlyCaptures(app.camera)


@pibooth.hookimpl
def state_wait_enter(cfg: Any, app: Any) -> None:
    """Start each sequence clean, with the options in force (the settings menu returns here).

    Parameters
    ----------
    cfg
        pibooth's configuration.
    app
        The application (its camera's resolution sets the warm-up's orientation).
    """
    _booth.reset()
    _booth.configure(cfg, app.camera)


@pibooth.hookimpl
def state_failsafe_enter() -> None:
    """Drop the jobs of a sequence that failed (pibooth drops its captures too)."""
    _booth.reset()


@pibooth.hookimpl(trylast=True)
def state_capture_exit(app: Any) -> None:
    """Start cutting out the capture just taken; it runs during the next countdown.

    `trylast`: pibooth's camera plugin stops the preview first.

    Parameters
    ----------
    app
        The application (its camera holds the capture).
    """
    worker, captures = _booth.active(), _booth.captures
    if worker is None or captures is None or captures.camera is not app.camera:
        return
    try:
        capture = captures.take_latest()
    except Exception as exc:  # the camera's own post-processing failed: pibooth will meet it again
        LOGGER.error("capture not available early (%s); it is cut out at the end", exc)
        return
    if capture is not None:
        worker.submit(capture)


@pibooth.hookimpl(tryfirst=True)
def pibooth_setup_picture_factory(factory: Any) -> None:
    """Swap the factory's captures for their composites, before other plugins set it up.

    Returns None, so pibooth (and any layout plugin) goes on setting up this factory, or one of
    its own made from these captures (the hook is `firstresult`).

    Parameters
    ----------
    factory
        pibooth's default `PictureFactory` for this sequence (or for one capture of the
        animation); its `_images` are the captures pibooth plugins read and replace.
    """
    worker = _booth.active()
    images = getattr(factory, "_images", None)
    if worker is None or not images:
        return
    factory._images = tuple(worker.composite(image) for image in images)


@pibooth.hookimpl
def state_processing_exit() -> None:
    """Free the sequence's composites once the final picture is made."""
    _booth.reset()


@pibooth.hookimpl
def pibooth_cleanup() -> None:
    """Stop the worker and release the model when pibooth quits."""
    if _booth.worker is not None:
        _booth.worker.close()
    _booth.worker = None
    _booth.captures = None
