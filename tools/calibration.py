"""Reading a .tflite model's intermediate tensors on calibration images (for equalize, gptq, ranges).

The interpreter keeps every tensor (`experimental_preserve_all_tensors`) and runs LiteRT's
builtin reference kernels (no XNNPACK), so each intermediate value can be read after an invoke.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def interpreter(model: bytes, threads: int = 2):  # type: ignore[no-untyped-def]
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(
        model_content=model,
        num_threads=threads,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    it.allocate_tensors()
    return it


def feed(it, x: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Invoke on one input (1xHxWx3 float32 RGB 0..255); an int8 input is quantised as its tensor says."""
    d = it.get_input_details()[0]
    x = np.asarray(x).reshape(d["shape"])
    if d["dtype"] == np.int8:
        scale, zero = d["quantization"]
        x = np.clip(np.round(x.astype(np.float32) / scale + zero), -128, 127).astype(np.int8)
    it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()


def global_ranges(model: bytes, names: Iterable[str], images: Iterable[np.ndarray]) -> dict[str, tuple[float, float]]:
    """(min, max) of each named tensor over all `images`: the plain global range.

    ai-edge-quantizer's own calibration keeps a moving average (0.95) of each image's min and max,
    so the first image weighs 25% and a wider range seen later is cut (measured on u2netp: a
    tensor reaching 23 got a range of 12.7); its calibrate() result is overwritten with these.
    """
    it = interpreter(model)
    index = {t["name"]: t["index"] for t in it.get_tensor_details()}
    names = list(names)
    lo = dict.fromkeys(names, np.inf)
    hi = dict.fromkeys(names, -np.inf)
    for x in images:
        feed(it, x)
        for n in names:
            v = it.get_tensor(index[n])
            lo[n], hi[n] = min(lo[n], float(v.min())), max(hi[n], float(v.max()))
    return {n: (lo[n], hi[n]) for n in names}
