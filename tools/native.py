"""Build the C library (native/) and call it from Python through ctypes: what the parity tests and
bench/native.py use to hold every C stage to the Python one.

`build()` runs native/Makefile into a folder of its own per configuration (compiler, flags,
sanitizers); `Native` loads the shared library (and the example thread pool) and wraps each
function with NumPy arrays in and out. Nothing here is part of the runtime.
"""

from __future__ import annotations

import ctypes as C  # noqa: N812  (C reads as the C side of each call)
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NATIVE = Path(__file__).resolve().parent.parent / "native"
INTER_LINEAR, INTER_AREA = 1, 3
STATUS = {0: "ok", 1: "invalid argument", 2: "sizes do not fit together", 3: "workspace too small"}


def build(cc: str = "cc", opt: str = "-O3", san: str = "", build_dir: Path | None = None) -> Path:
    """Build native/ with `make` into `build_dir` (default native/build/<cc>-<flags>); returns it.

    Raises RuntimeError with make's output when the build fails (or no compiler is found).
    """
    if shutil.which(cc) is None:
        raise RuntimeError(f"no C compiler '{cc}' on PATH")
    tag = "-".join(x.strip("-").replace("=", "").replace(",", "") for x in (cc, *opt.split(), *san.split()))
    out = build_dir or NATIVE / "build" / tag
    cmd = ["make", "-s", "-C", str(NATIVE), f"CC={cc}", f"OPT={opt}", f"SAN={san}", f"BUILD={out}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return out


class Image(C.Structure):
    """em_image."""

    _fields_ = [
        ("data", C.c_void_p),
        ("width", C.c_int),
        ("height", C.c_int),
        ("channels", C.c_int),
        ("stride", C.c_ssize_t),
    ]


class Threads(C.Structure):
    """em_threads."""

    _fields_ = [("run", C.c_void_p), ("pool", C.c_void_p)]


class RefineSettings(C.Structure):
    """em_refine_settings."""

    _fields_ = [
        ("radius", C.c_int),
        ("eps", C.c_float),
        ("alpha_gain", C.c_float),
        ("hard_window", C.c_int),
        ("hard_lo", C.c_float),
        ("hard_hi", C.c_float),
    ]


class ForegroundSettings(C.Structure):
    """em_foreground_settings."""

    _fields_ = [
        ("enabled", C.c_int),
        ("scale", C.c_double),
        ("radius_fraction", C.c_double),
        ("fine_radius_fraction", C.c_double),
        ("eps", C.c_float),
    ]


class StillSettings(C.Structure):
    """em_still_settings."""

    _fields_ = [
        ("work_long_side", C.c_int),
        ("normalise_peak", C.c_int),
        ("peak_floor", C.c_float),
        ("refine", RefineSettings),
        ("foreground", ForegroundSettings),
    ]


class LiveSettings(C.Structure):
    """em_live_settings."""

    _fields_ = [("work_long_side", C.c_int), ("refine", RefineSettings), ("smoothing", C.c_float)]


class Letterbox(C.Structure):
    """em_letterbox."""

    _fields_ = [("top", C.c_int), ("left", C.c_int), ("height", C.c_int), ("width", C.c_int)]


def image(a: np.ndarray) -> Image:
    """An em_image over a uint8 HxW or HxWxC array (its own strides: views work)."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]  # a one-channel axis carries no stride worth reading
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or a.strides[-1] != 1:
        raise ValueError(f"need a uint8 HxW / HxWxC array with contiguous pixels, got {a.dtype} {a.shape}")
    channels = 1 if a.ndim == 2 else a.shape[2]
    if a.ndim == 3 and a.strides[1] != channels:
        raise ValueError("pixels must be packed (channel-interleaved) within a row")
    return Image(a.ctypes.data, a.shape[1], a.shape[0], channels, a.strides[0])


def _f32(a: np.ndarray) -> C.c_void_p:
    assert a.dtype == np.float32 and a.flags.c_contiguous
    return C.c_void_p(a.ctypes.data)


@dataclass
class Workspace:
    """A reusable byte buffer handed to the library as its workspace."""

    buf: np.ndarray

    @classmethod
    def of(cls, size: int) -> Workspace:
        return cls(np.empty(max(1, size), np.uint8))

    @property
    def ptr(self) -> C.c_void_p:
        return C.c_void_p(self.buf.ctypes.data)

    @property
    def size(self) -> int:
        return int(self.buf.size)


class NativeError(RuntimeError):
    """A C function returned an error status."""


class Native:
    """The C library, loaded from a build folder (see `build`).

    Parameters
    ----------
    folder
        Where libedgematte.so and libem_pool.so are.
    threads
        Threads of the example pool for the functions that take em_threads. Default 1: the
        calling thread only.
    """

    def __init__(self, folder: Path, threads: int = 1):
        self.lib = C.CDLL(str(Path(folder) / "libedgematte.so"))
        self.pool_lib = C.CDLL(str(Path(folder) / "libem_pool.so"))
        self._declare()
        self._pool = None
        self.threads_struct: Threads | None = None
        self.set_threads(threads)
        self._workspaces: dict[int, Workspace] = {}

    def workspace(self, size: int) -> Workspace:
        """A workspace of `size` bytes, allocated once per size and reused (as an app would)."""
        if size not in self._workspaces:
            self._workspaces[size] = Workspace.of(size)
        return self._workspaces[size]

    def _declare(self) -> None:
        L, P = self.lib, self.pool_lib
        vp, i, sz, f = C.c_void_p, C.c_int, C.c_size_t, C.c_float
        Ip = C.POINTER(Image)
        L.em_version.restype = i
        L.em_status_string.restype = C.c_char_p
        L.em_status_string.argtypes = [i]
        for name in ("em_still_settings_default",):
            getattr(L, name).argtypes = [C.POINTER(StillSettings), i]
        L.em_live_settings_default.argtypes = [C.POINTER(LiveSettings)]
        L.em_work_size.argtypes = [i, i, i, C.POINTER(i), C.POINTER(i)]
        L.em_resize_workspace_size.restype = sz
        L.em_resize_workspace_size.argtypes = [i, i, i, i, i, i]
        L.em_resize_u8.argtypes = [Ip, Ip, i, vp, sz]
        L.em_working_workspace_size.restype = sz
        L.em_working_workspace_size.argtypes = [i, i, i, i]
        L.em_working_image.argtypes = [Ip, Ip, Ip, vp, sz, vp]
        L.em_prepare_workspace_size.restype = sz
        L.em_prepare_workspace_size.argtypes = [i, i, i, i]
        L.em_prepare_input.argtypes = [Ip, i, i, i, i, vp, C.POINTER(Letterbox), vp, sz]
        L.em_model_map.argtypes = [vp, vp, i, f, i, i, C.POINTER(Letterbox), i, f, vp]
        L.em_still_workspace_size.restype = sz
        L.em_still_workspace_size.argtypes = [i, i, i, i, i, i, C.POINTER(StillSettings)]
        L.em_still_refine.argtypes = [Ip, Ip, Ip, vp, i, i, C.POINTER(StillSettings), Ip, vp, sz, vp]
        L.em_composite_colour.argtypes = [Ip, Ip, vp, Ip, vp]
        L.em_composite_image.argtypes = [Ip, Ip, Ip, Ip, vp]
        L.em_live_workspace_size.restype = sz
        L.em_live_workspace_size.argtypes = [i, i, i, i, i, i, C.POINTER(LiveSettings)]
        L.em_live_frame.argtypes = [Ip, Ip, vp, i, i, C.POINTER(LiveSettings), Ip, Ip, vp, sz, vp]
        L.em_temporal_smooth.argtypes = [vp, vp, sz, f, i]
        L.em_resize_map.argtypes = [vp, i, i, vp, i, i]
        L.em_guided_workspace_size.restype = sz
        L.em_guided_workspace_size.argtypes = [i, i]
        L.em_guided_coefficients.argtypes = [Ip, vp, i, f, vp, vp, sz, vp]
        L.em_hardness_workspace_size.restype = sz
        L.em_hardness_workspace_size.argtypes = [i, i]
        L.em_edge_hardness.argtypes = [vp, i, i, i, f, f, vp, vp, sz]
        L.em_sharpen_hard_edges.argtypes = [vp, vp, sz, f]
        L.em_apply_upsampled.argtypes = [Ip, vp, i, i, Ip, Ip, vp]
        L.em_cell_state.argtypes = [Ip, vp]
        L.em_foreground_workspace_size.restype = sz
        L.em_foreground_workspace_size.argtypes = [i, i]
        L.em_foreground_means.argtypes = [vp, vp, i, i, i, i, f, vp, vp, sz, vp]
        L.em_cutout_workspace_size.restype = sz
        L.em_cutout_workspace_size.argtypes = [i, i, i, i, i, i]
        L.em_cutout_rgba.argtypes = [Ip, Ip, vp, i, i, vp, i, i, vp, Ip, i, vp, sz, vp]
        L.em_composite_cells_workspace_size.restype = sz
        L.em_composite_cells_workspace_size.argtypes = [i, i, i]
        L.em_composite_cells.argtypes = [Ip, vp, i, i, vp, Ip, Ip, vp, sz, vp]
        P.em_pool_create.restype = vp
        P.em_pool_create.argtypes = [i]
        P.em_pool_destroy.argtypes = [vp]

    # -- threads -------------------------------------------------------------------------------

    def set_threads(self, n: int) -> None:
        """Use the example pool with n threads (1: the calling thread, no pool)."""
        if self._pool:
            self.pool_lib.em_pool_destroy(self._pool)
            self._pool = None
        if n > 1:
            self._pool = self.pool_lib.em_pool_create(n)
            run = C.cast(self.pool_lib.em_pool_parallel_for, C.c_void_p)
            self.threads_struct = Threads(run, self._pool)
        else:
            self.threads_struct = None

    def _threads(self) -> C.c_void_p | None:
        return C.cast(C.pointer(self.threads_struct), C.c_void_p) if self.threads_struct is not None else None

    def close(self) -> None:
        """Stop the pool."""
        self.set_threads(1)

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            raise NativeError(f"{what}: {STATUS.get(status, status)}")

    # -- settings ------------------------------------------------------------------------------

    def still_settings(self, matting: bool = False) -> StillSettings:
        """em_still_settings_default."""
        s = StillSettings()
        self.lib.em_still_settings_default(C.byref(s), int(matting))
        return s

    def live_settings(self) -> LiveSettings:
        """em_live_settings_default."""
        s = LiveSettings()
        self.lib.em_live_settings_default(C.byref(s))
        return s

    # -- prepare -------------------------------------------------------------------------------

    def work_size(self, w: int, h: int, long_side: int) -> tuple[int, int]:
        """em_work_size."""
        ww, wh = C.c_int(), C.c_int()
        self.lib.em_work_size(w, h, long_side, C.byref(ww), C.byref(wh))
        return ww.value, wh.value

    def resize_u8(self, src: np.ndarray, width: int, height: int, interpolation: int) -> np.ndarray:
        """em_resize_u8 (src HxW or HxWxC)."""
        src3 = src if src.ndim == 3 else src[..., None]
        out = np.empty((height, width, src3.shape[2]), np.uint8)
        ws = Workspace.of(
            self.lib.em_resize_workspace_size(src3.shape[1], src3.shape[0], width, height, src3.shape[2], interpolation)
        )
        s, d = image(np.ascontiguousarray(src3) if src3.strides[1] != src3.shape[2] else src3), image(out)
        self._check(self.lib.em_resize_u8(C.byref(s), C.byref(d), interpolation, ws.ptr, ws.size), "em_resize_u8")
        return out if src.ndim == 3 else out[..., 0]

    def working_image(self, photo: np.ndarray, alpha: np.ndarray | None, long_side: int) -> np.ndarray:
        """em_working_image."""
        H, W = photo.shape[:2]
        ww, wh = self.work_size(W, H, long_side)
        out = np.empty((wh, ww, 3), np.uint8)
        ws = self.workspace(self.lib.em_working_workspace_size(W, H, ww, wh))
        p, o = image(photo), image(out)
        a = C.byref(image(alpha)) if alpha is not None else None
        st = self.lib.em_working_image(C.byref(p), a, C.byref(o), ws.ptr, ws.size, self._threads())
        self._check(st, "em_working_image")
        return out

    def prepare_input(
        self, work: np.ndarray, model_hw: tuple[int, int], letterbox: bool, as_int8: bool
    ) -> tuple[np.ndarray, Letterbox]:
        """em_prepare_input: the model input (uint8 pixels; int8 models' bytes as pixel ^ 0x80)."""
        mh, mw = model_hw
        out = np.empty((mh, mw, 3), np.uint8)
        box = Letterbox()
        ws = Workspace.of(self.lib.em_prepare_workspace_size(work.shape[1], work.shape[0], mw, mh))
        w = image(work)
        st = self.lib.em_prepare_input(
            C.byref(w), mw, mh, int(letterbox), int(as_int8), out.ctypes.data, C.byref(box), ws.ptr, ws.size
        )
        self._check(st, "em_prepare_input")
        return out, box

    def model_map(
        self,
        output: np.ndarray,
        box: Letterbox,
        scale: float = 1.0,
        zero_point: int = 0,
        normalise_peak: bool = False,
        peak_floor: float = 0.25,
    ) -> np.ndarray:
        """em_model_map of a model's output (HxW float32, int8 or uint8)."""
        mh, mw = output.shape[:2]
        out = np.empty((box.height, box.width), np.float32)
        o = np.ascontiguousarray(output.reshape(mh, mw))
        fl = o.ctypes.data if o.dtype == np.float32 else None
        q = o.ctypes.data if o.dtype != np.float32 else None
        st = self.lib.em_model_map(
            fl, q, int(o.dtype == np.uint8), scale, zero_point, mw, C.byref(box), int(normalise_peak), peak_floor,
            out.ctypes.data,
        )  # fmt: skip
        self._check(st, "em_model_map")
        return out

    # -- the still path after the model ---------------------------------------------------------

    def still_refine(
        self,
        photo: np.ndarray,
        photo_alpha: np.ndarray | None,
        work: np.ndarray,
        model_map: np.ndarray,
        settings: StillSettings,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """em_still_refine: the RGBA cut-out (into `out` when given: a reused HxWx4 buffer)."""
        H, W = photo.shape[:2]
        mh, mw = model_map.shape
        rgba = out if out is not None else np.empty((H, W, 4), np.uint8)
        size = self.lib.em_still_workspace_size(W, H, work.shape[1], work.shape[0], mw, mh, C.byref(settings))
        ws = self.workspace(size)
        p, w, o = image(photo), image(work), image(rgba)
        a = C.byref(image(photo_alpha)) if photo_alpha is not None else None
        m = np.ascontiguousarray(model_map, np.float32)
        st = self.lib.em_still_refine(
            C.byref(p), a, C.byref(w), _f32(m), mw, mh, C.byref(settings), C.byref(o), ws.ptr, ws.size, self._threads()
        )
        self._check(st, "em_still_refine")
        return rgba

    def live_frame(self, frame: np.ndarray, work: np.ndarray, model_map: np.ndarray, settings: LiveSettings,
                   bg: np.ndarray) -> np.ndarray:  # fmt: skip
        """em_live_frame: the frame over `bg` (after infer and the temporal stage)."""
        H, W = frame.shape[:2]
        mh, mw = model_map.shape
        out = np.empty((H, W, 3), np.uint8)
        ws = Workspace.of(
            self.lib.em_live_workspace_size(W, H, work.shape[1], work.shape[0], mw, mh, C.byref(settings))
        )
        f, w, b, o = image(frame), image(work), image(bg), image(out)
        m = np.ascontiguousarray(model_map, np.float32)
        st = self.lib.em_live_frame(
            C.byref(f), C.byref(w), _f32(m), mw, mh, C.byref(settings), C.byref(b), C.byref(o), ws.ptr, ws.size,
            self._threads(),
        )  # fmt: skip
        self._check(st, "em_live_frame")
        return out

    def temporal_smooth(self, model_map: np.ndarray, state: np.ndarray | None, smoothing: float) -> np.ndarray:
        """em_temporal_smooth: the smoothed map (state updated in place when given)."""
        m = np.ascontiguousarray(model_map, np.float32).copy()
        st = state if state is not None else np.empty_like(m)
        self.lib.em_temporal_smooth(_f32(m), _f32(st), m.size, smoothing, int(state is not None))
        return m

    # -- stages ---------------------------------------------------------------------------------

    def resize_map(self, m: np.ndarray, width: int, height: int) -> np.ndarray:
        """em_resize_map."""
        src = np.ascontiguousarray(m, np.float32)
        out = np.empty((height, width), np.float32)
        self._check(self.lib.em_resize_map(_f32(src), src.shape[1], src.shape[0], _f32(out), width, height), "map")
        return out

    def guided_coefficients(self, work: np.ndarray, p: np.ndarray, radius: int, eps: float) -> np.ndarray:
        """em_guided_coefficients."""
        h, w = p.shape
        coef = np.empty((h, w, 4), np.float32)
        ws = Workspace.of(self.lib.em_guided_workspace_size(w, h))
        wk = image(work)
        pp = np.ascontiguousarray(p, np.float32)
        st = self.lib.em_guided_coefficients(
            C.byref(wk), _f32(pp), radius, eps, _f32(coef), ws.ptr, ws.size, self._threads()
        )
        self._check(st, "em_guided_coefficients")
        return coef

    def edge_hardness(self, p: np.ndarray, window: int, lo: float, hi: float) -> np.ndarray:
        """em_edge_hardness."""
        h, w = p.shape
        out = np.empty((h, w), np.float32)
        ws = Workspace.of(self.lib.em_hardness_workspace_size(w, h))
        pp = np.ascontiguousarray(p, np.float32)
        st = self.lib.em_edge_hardness(_f32(pp), w, h, window, lo, hi, _f32(out), ws.ptr, ws.size)
        self._check(st, "em_edge_hardness")
        return out

    def sharpen_hard_edges(self, coef: np.ndarray, hardness: np.ndarray, gain: float) -> np.ndarray:
        """em_sharpen_hard_edges (on a copy)."""
        out = np.ascontiguousarray(coef, np.float32).copy()
        hh = np.ascontiguousarray(hardness, np.float32)
        self.lib.em_sharpen_hard_edges(_f32(out), _f32(hh), hh.size, gain)
        return out

    def apply_upsampled(self, img: np.ndarray, coef: np.ndarray, source_alpha: np.ndarray | None) -> np.ndarray:
        """em_apply_upsampled."""
        H, W = img.shape[:2]
        out = np.empty((H, W), np.uint8)
        c = np.ascontiguousarray(coef, np.float32)
        im, o = image(img), image(out)
        a = C.byref(image(source_alpha)) if source_alpha is not None else None
        st = self.lib.em_apply_upsampled(C.byref(im), _f32(c), c.shape[1], c.shape[0], a, C.byref(o), self._threads())
        self._check(st, "em_apply_upsampled")
        return out

    def cell_state(self, alpha_work: np.ndarray) -> np.ndarray:
        """em_cell_state."""
        out = np.empty(alpha_work.shape, np.uint8)
        a = image(np.ascontiguousarray(alpha_work))
        self._check(self.lib.em_cell_state(C.byref(a), out.ctypes.data), "em_cell_state")
        return out

    def foreground_means(
        self, guide: np.ndarray, alpha: np.ndarray, r_wide: int, r_fine: int, eps: float
    ) -> np.ndarray:
        """em_foreground_means."""
        h, w = alpha.shape
        out = np.empty((h, w, 6), np.float32)
        ws = Workspace.of(self.lib.em_foreground_workspace_size(w, h))
        g, a = np.ascontiguousarray(guide, np.float32), np.ascontiguousarray(alpha, np.float32)
        st = self.lib.em_foreground_means(
            _f32(g), _f32(a), w, h, r_wide, r_fine, eps, _f32(out), ws.ptr, ws.size, self._threads()
        )
        self._check(st, "em_foreground_means")
        return out

    def cutout_rgba(
        self,
        img: np.ndarray,
        coef: np.ndarray,
        means: np.ndarray,
        state: np.ndarray,
        source_alpha: np.ndarray | None,
        estimate: bool,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """em_cutout_rgba (into `out` when given: a reused HxWx4 buffer; every pixel is written)."""
        H, W = img.shape[:2]
        rgba = out if out is not None else np.empty((H, W, 4), np.uint8)
        ch, cw = state.shape
        mh, mw = means.shape[:2]
        ws = self.workspace(self.lib.em_cutout_workspace_size(W, H, cw, ch, mw, mh))
        c, m, s = np.ascontiguousarray(coef, np.float32), np.ascontiguousarray(means, np.float32), state
        im, o = image(img), image(rgba)
        a = C.byref(image(source_alpha)) if source_alpha is not None else None
        st = self.lib.em_cutout_rgba(
            C.byref(im), C.byref(o), _f32(c), cw, ch, _f32(m), mw, mh, np.ascontiguousarray(s).ctypes.data, a,
            int(estimate), ws.ptr, ws.size, self._threads(),
        )  # fmt: skip
        self._check(st, "em_cutout_rgba")
        return rgba

    def composite_colour(self, fg: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
        """em_composite_colour."""
        out = np.empty((*fg.shape[:2], 3), np.uint8)
        col = (C.c_uint8 * 3)(*colour)
        f, a, o = image(fg), image(alpha), image(out)
        st = self.lib.em_composite_colour(C.byref(f), C.byref(a), C.cast(col, C.c_void_p), C.byref(o), self._threads())
        self._check(st, "em_composite_colour")
        return out

    def composite_image(self, fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """em_composite_image."""
        out = np.empty((*fg.shape[:2], 3), np.uint8)
        f, a, b, o = image(fg), image(alpha), image(bg), image(out)
        st = self.lib.em_composite_image(C.byref(f), C.byref(a), C.byref(b), C.byref(o), self._threads())
        self._check(st, "em_composite_image")
        return out

    def composite_cells(self, frame: np.ndarray, coef: np.ndarray, state: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """em_composite_cells."""
        H, W = frame.shape[:2]
        ch, cw = state.shape
        out = np.empty((H, W, 3), np.uint8)
        ws = Workspace.of(self.lib.em_composite_cells_workspace_size(W, H, cw))
        c = np.ascontiguousarray(coef, np.float32)
        f, b, o = image(frame), image(bg), image(out)
        st = self.lib.em_composite_cells(
            C.byref(f), _f32(c), cw, ch, np.ascontiguousarray(state).ctypes.data, C.byref(b), C.byref(o), ws.ptr,
            ws.size, self._threads(),
        )  # fmt: skip
        self._check(st, "em_composite_cells")
        return out


def read_pam(path: Path) -> np.ndarray:
    """The HxWx4 pixels of a PAM (P7, RGB_ALPHA) file, as native/examples/em_cutout writes them."""
    b = Path(path).read_bytes()
    i = b.index(b"ENDHDR\n") + 7
    hdr = b[:i].decode().split()
    w, h = int(hdr[hdr.index("WIDTH") + 1]), int(hdr[hdr.index("HEIGHT") + 1])
    return np.frombuffer(b[i:], np.uint8).reshape(h, w, 4)


def default_native(threads: int = 1) -> Native:
    """Build (if needed) the default configuration and load it."""
    return Native(build(os.environ.get("CC", "cc")), threads)
