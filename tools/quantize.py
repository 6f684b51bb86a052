"""Full-INT8 post-training quantisation with ai-edge-quantizer, calibrated on real photos.

Why ai-edge-quantizer (over TFLiteConverter's representative dataset or PT2E): it
works on the float .tflite our converter writes (no TensorFlow install), selects
layers to keep in float by a regex on their output tensor names, and writes int8
per-channel weights and int8 per-tensor activations that XNNPACK runs natively.

Calibration uses only `rembg_fixtures` (16 photos, no ground truth: animals, cars,
people, plants, anime) and a mirrored crop of each: never an image we report on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import cv2
import numpy as np

from evaluation import sets as evalsets


def _views(im: np.ndarray) -> list[np.ndarray]:
    """The photo and a mirrored 7/8 crop (32 inputs from 16 photos).

    Measured alternatives: adding exposure / contrast / colour / zoom / grey variants (128
    inputs) raised coco agreement (IoU 0.951 -> 0.955) but widened activation ranges enough to
    cost lemur_cc0 1.27 IoU points against float (bar: 1.0), so the plain views stay.
    """
    h, w = im.shape[:2]
    return [im, np.ascontiguousarray(im[h // 8 :, w // 8 :][:, ::-1])]


def calibration_images(hw: tuple[int, int], resize: str = "stretch") -> list[np.ndarray]:
    """Raw RGB float32 1xHxWx3 (0..255) inputs, prepared exactly as the runtime prepares them."""
    from edgematte.infer import prepare_input

    out = []
    for s in evalsets.calibration_samples():
        im = cv2.cvtColor(cv2.imread(str(s.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        for view in _views(im):
            x, _ = prepare_input(view, hw, resize)
            out.append(x.astype(np.float32)[None])
    return out


def exact_names_regex(names: Iterable[str]) -> str:
    """ai-edge-quantizer matches `re.search` against "name1;name2;" (an op's output tensor names)."""
    return "^(" + "|".join(re.escape(n) for n in names) + ");$"


def quantize_int8(
    float_model: bytes,
    calibration: list[np.ndarray],
    keep_float: list[str] | None = None,
    input_name: str = "image",
    global_ranges: bool = False,
) -> bytes:
    """Static INT8 (weights per-channel, activations per-tensor) except ops matching `keep_float` regexes.

    The input tensor's range is pinned to 0..255, so an int8 input with scale 1 and zero point
    -128 represents every pixel exactly (the runtime feeds `pixel - 128`). With `global_ranges`,
    every activation's range is its min and max over all calibration images
    (tools.calibration.global_ranges) instead of ai-edge-quantizer's moving average, which cuts
    ranges that only later images reach.
    """
    from ai_edge_quantizer import quantizer, recipe

    rp = recipe.static_wi8_ai8()
    for rx in keep_float or []:
        rp.append({"regex": rx, "operation": "*", "algorithm_key": "no_quantize"})
    qt = quantizer.Quantizer(float_model)
    qt.load_quantization_recipe(rp)
    if global_ranges:
        from tools.calibration import global_ranges as measure

        cal = qt.calibrate({"serving_default": [{input_name: calibration[0]}]})  # the tensors it wants
        for name, (lo, hi) in measure(float_model, list(cal), calibration).items():
            cal[name]["min"] = np.full_like(cal[name]["min"], lo)
            cal[name]["max"] = np.full_like(cal[name]["max"], hi)
    else:
        cal = qt.calibrate({"serving_default": [{input_name: x} for x in calibration]})
    cal[input_name]["min"][...] = 0.0
    cal[input_name]["max"][...] = 255.0
    result = qt.quantize(cal, enable_progress_report=False)
    return bytes(result.quantized_model)


def quantize_int8_faithful(
    float_model: bytes,
    calibration: list[np.ndarray],
    keep_float: list[str] | None = None,
    input_name: str = "image",
) -> bytes:
    """Static INT8 as `quantize_int8`, made to follow the float model more closely, in three steps:
    channel ranges equalised in float (tools/equalize.py), global activation ranges, and GPTQ
    weight rounding (tools/gptq.py). The same ops and graph as `quantize_int8`'s, so the same speed.

    Measured on u2netp (agreement of map > 0.5 with the float model, mean IoU per eval set, the
    same 320 x 320 inputs): grabcut50 0.9615 -> 0.9812, ebay_synth_products 0.9862 -> 0.9937,
    coco_mval_products 0.9478 -> 0.9740, cleargrasp_transparent 0.9822 -> 0.9858. Each step alone
    did less; bias correction (Nagel et al. 2019) measured worse in every form tried.
    """
    from tools.equalize import equalize
    from tools.gptq import gptq

    even, _ = equalize(float_model, calibration)
    int8 = quantize_int8(even, calibration, keep_float, input_name, global_ranges=True)
    return gptq(even, int8, calibration)


def int8_input_is_exact(model: bytes) -> bool:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    d = it.get_input_details()[0]
    scale, zp = d["quantization"]
    return d["dtype"] == np.int8 and abs(scale - 1.0) < 1e-6 and zp == -128


def weighted_ops(model: bytes) -> list[str]:
    """Output tensor names of the ops that carry weights (conv, depthwise, transpose conv, FC)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    names = {t["index"]: t["name"] for t in it.get_tensor_details()}
    kinds = {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED"}
    return [names[o["outputs"][0]] for o in it._get_ops_details() if o["op_name"] in kinds]


def _weight_only(float_model: bytes, keep_float: list[str]) -> bytes:
    from ai_edge_quantizer import quantizer, recipe

    rp = recipe.weight_only_wi8_afp32()
    if keep_float:
        rp.append({"regex": exact_names_regex(keep_float), "operation": "*", "algorithm_key": "no_quantize"})
    qt = quantizer.Quantizer(float_model)
    qt.load_quantization_recipe(rp)
    return bytes(qt.quantize(None, enable_progress_report=False).quantized_model)


def quantize_weights_mixed(
    float_model: bytes, calibration: list[np.ndarray], target_mae: float = 0.002, max_float: int = 12
) -> tuple[bytes, list[str]]:
    """INT8 weights everywhere except the layers whose weights the output is most sensitive to.

    Sensitivity of each weighted layer = output MAE (vs float) on the calibration images when
    only that layer's weights are INT8. Layers are kept float, worst first, until the whole
    model's calibration MAE is at most `target_mae`. Selection never sees an eval image.
    """
    from edgematte.engine import Engine

    def outputs(model: bytes) -> list[np.ndarray]:
        e = Engine(model, 1)  # one thread: bit-identical sums, so the layer ranking (and file) reproduces
        return [e.run(x[0].astype(np.uint8)) for x in calibration]

    ref = outputs(float_model)

    def mae(model: bytes) -> float:
        return float(np.mean([np.abs(a - b).mean() for a, b in zip(ref, outputs(model), strict=True)]))

    layers = weighted_ops(float_model)
    sensitivity = []
    for name in layers:
        others = [n for n in layers if n != name]
        sensitivity.append((round(mae(_weight_only(float_model, others)), 7), name))
    sensitivity.sort(key=lambda t: (-t[0], t[1]))
    keep: list[str] = []
    model = _weight_only(float_model, keep)
    for _, name in sensitivity[:max_float]:
        if mae(model) <= target_mae:
            break
        keep.append(name)
        model = _weight_only(float_model, keep)
    return model, keep
