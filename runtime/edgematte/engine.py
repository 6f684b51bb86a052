"""LiteRT interpreter wrapper: load, threads, tensor I/O, quantisation. Nothing image-specific.

ai-edge-litert is the interpreter we ship against (XNNPACK on by default, fast INT8).
tflite-runtime is accepted as a fallback only if LiteRT is missing: it is 2023-era,
needs numpy<2 and serves INT8 graphs without XNNPACK (about 8x slower).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgematte.errors import ModelError
from edgematte.settings import MAX_DEFAULT_THREADS


def _interpreter_class() -> tuple[Any, str]:
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter, "tflite-runtime"
    except ImportError as exc:
        raise ModelError("no TFLite interpreter: install ai-edge-litert (pip install ai-edge-litert)") from exc


@contextlib.contextmanager
def _quiet_native_info() -> Iterator[None]:
    """Drop LiteRT's "INFO: Created ... XNNPACK delegate" line (C++ logging has no Python switch);
    every other line the runtime writes to stderr while loading is passed through."""
    if os.environ.get("EDGEMATTE_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if not line.startswith("INFO: Created TensorFlow Lite XNNPACK delegate"):
                    print(line, file=sys.stderr)


def default_threads() -> int:
    """All cores up to settings.MAX_DEFAULT_THREADS (4: XNNPACK barely scales beyond it here)."""
    return max(1, min(MAX_DEFAULT_THREADS, os.cpu_count() or 1))


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor of a loaded model, as the interpreter reports it."""

    index: int  # the interpreter's tensor index (for set_tensor / get_tensor)
    shape: tuple[int, ...]  # e.g. (1, H, W, 3): batch first
    dtype: np.dtype  # float32, int8 or uint8 (the model's own, not what the caller passes)
    scale: float  # real = (q - zero_point) * scale for a quantised tensor; 0.0 when not quantised
    zero_point: int

    @property
    def quantized(self) -> bool:
        """True when the tensor is not float32 (its values need `scale` and `zero_point`)."""
        return self.dtype != np.float32


class Engine:
    """One interpreter for one model file; `run` is serialised (an interpreter is not re-entrant)."""

    def __init__(self, model: str | os.PathLike | bytes, threads: int | None = None):
        """Load a model and allocate its tensors.

        Parameters
        ----------
        model
            A .tflite path, or its bytes (tools and tests).
        threads
            Interpreter threads. Default None: `default_threads()` (all cores up to 4: XNNPACK
            barely scales beyond it on these models).
        """
        self.path = Path("<bytes>") if isinstance(model, bytes) else Path(model)
        self.threads = threads or default_threads()
        cls, self.backend = _interpreter_class()
        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(self.path)}
        try:
            with _quiet_native_info():
                self._it = cls(**source, num_threads=self.threads)
                self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path.name}: cannot load in {self.backend} ({exc})") from exc
        self.input = self._spec(self._it.get_input_details()[0])
        self.output = self._spec(self._it.get_output_details()[0])
        self._lock = threading.Lock()

    @staticmethod
    def _spec(d: dict) -> TensorSpec:
        scale, zp = d.get("quantization", (0.0, 0))
        return TensorSpec(
            int(d["index"]), tuple(int(v) for v in d["shape"]), np.dtype(d["dtype"]), float(scale), int(zp)
        )

    @property
    def input_hw(self) -> tuple[int, int]:
        """The model's input (height, width) in px."""
        return self.input.shape[1], self.input.shape[2]

    def quantize_input(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 HxWx3 pixels -> the input tensor (1xHxWx3) in the model's own dtype.

        A float32 model gets the pixel values 0..255 as they are; int8 and uint8 models with
        scale 1 (zero point -128 or 0) take a shift or the pixels themselves without a float
        copy; any other quantisation is computed as round(x / scale + zero_point), clipped.

        Parameters
        ----------
        rgb
            HxWx3 uint8, already resized to `input_hw`.
        """
        spec = self.input
        if spec.dtype == np.float32:
            return rgb.astype(np.float32)[None]
        if spec.dtype == np.int8 and abs(spec.scale - 1.0) < 1e-6 and spec.zero_point == -128:
            return (rgb.view(np.int8) ^ np.int8(-128))[None]  # x - 128 without a widening copy
        if spec.dtype == np.uint8 and abs(spec.scale - 1.0) < 1e-6 and spec.zero_point == 0:
            return rgb[None]
        info = np.iinfo(spec.dtype)
        q = np.round(rgb.astype(np.float32) / spec.scale + spec.zero_point)
        return np.clip(q, info.min, info.max).astype(spec.dtype)[None]

    def run(self, rgb: np.ndarray) -> np.ndarray:
        """Invoke on a prepared HxWx3 uint8 image; returns the first output as float32 HxW (or HxWxC).

        Thread-safe: calls on one Engine are serialised by its lock.

        Parameters
        ----------
        rgb
            HxWx3 uint8 at `input_hw` (made C-contiguous here if it is not).

        Returns
        -------
        The first output without its batch axis, dequantised to float32; a trailing channel
        axis of 1 is dropped (HxW).
        """
        x = self.quantize_input(np.ascontiguousarray(rgb))
        with self._lock:
            self._it.set_tensor(self.input.index, x)
            self._it.invoke()
            y = self._it.get_tensor(self.output.index)
        spec = self.output
        y = y[0]
        if spec.quantized:
            y = (y.astype(np.float32) - spec.zero_point) * spec.scale
        else:
            y = y.astype(np.float32, copy=False)
        return y[..., 0] if y.ndim == 3 and y.shape[-1] == 1 else y

    def run_tensors(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Invoke on a ready input tensor and return every output by name (detectors: boxes and scores).

        Thread-safe like `run`.

        Parameters
        ----------
        x
            The whole input tensor (1xHxWxC) in the model's dtype, normalised as its card says.

        Returns
        -------
        Each output's name -> a copy of its tensor, batch axis kept.
        """
        with self._lock:
            self._it.set_tensor(self.input.index, np.ascontiguousarray(x, dtype=self.input.dtype))
            self._it.invoke()
            return {d["name"]: self._it.get_tensor(d["index"]).copy() for d in self._it.get_output_details()}

    def invoke_only(self) -> None:
        """Invoke on whatever is in the input tensor (latency measurement)."""
        with self._lock:
            self._it.invoke()
