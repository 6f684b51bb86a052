"""The conversion path on small graphs built here: ONNX -> TFLite float -> INT8, against onnxruntime.

These run in CI in seconds, so a broken converter is caught without rebuilding the real models.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="conversion extra not installed (pip install -e .[convert])")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_quantizer")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgematte.engine import Engine  # noqa: E402
from tools.fp16 import to_fp16  # noqa: E402
from tools.graph_fixes import split_constant_channel  # noqa: E402
from tools.onnx_to_tflite import InputSpec, convert_onnx  # noqa: E402
from tools.quantize import quantize_int8  # noqa: E402

rng = np.random.default_rng(0)
H, W = 35, 45  # odd sizes: exercises ceil-mode pooling and explicit stride-2 padding


def _init(name: str, shape: tuple[int, ...], scale: float = 0.3) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def small_net() -> onnx.ModelProto:
    """Conv+Relu, ceil-mode MaxPool, dilated conv, stride-2 conv, depthwise, BN, InstanceNorm, Clip,
    shape-driven Resize back up, Concat, residual Add, 1x1 conv, Sigmoid: the ops our models use."""
    n, inits = [], []

    def conv(x, cin, cout, k, name, pads, stride=1, dil=1, group=1, bias=True):
        inits.append(_init(name + "_w", (cout, cin // group, k, k)))
        ins = [x, name + "_w"]
        if bias:
            inits.append(_init(name + "_b", (cout,), 0.1))
            ins.append(name + "_b")
        n.append(
            helper.make_node(
                "Conv",
                ins,
                [name],
                kernel_shape=[k, k],
                pads=[pads] * 4,
                strides=[stride] * 2,
                dilations=[dil] * 2,
                group=group,
            )
        )
        return name

    x = conv("input", 3, 8, 3, "c1", 1)
    n.append(helper.make_node("Relu", [x], ["r1"]))
    n.append(helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
    x = conv("p1", 8, 8, 3, "c2", 2, dil=2)
    n.append(helper.make_node("Relu", [x], ["r2"]))
    x = conv("r2", 8, 8, 3, "c3", 1, stride=2)  # ONNX pads 1/1: not TFLite SAME on even input
    x = conv(x, 8, 8, 3, "dw", 1, group=8)
    for nm, v in (("g", 1.2), ("be", 0.1), ("m", 0.05), ("v", 0.9)):
        inits.append(
            numpy_helper.from_array(np.full(8, v, np.float32) + rng.random(8, dtype=np.float32) * 0.1, "bn_" + nm)
        )
    n.append(helper.make_node("BatchNormalization", [x, "bn_g", "bn_be", "bn_m", "bn_v"], ["bn"], epsilon=1e-5))
    inits += [_init("in_s", (8,), 1.0), _init("in_b", (8,), 0.2)]
    n.append(helper.make_node("InstanceNormalization", ["bn", "in_s", "in_b"], ["inn"], epsilon=1e-5))
    inits += [
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6.0, np.float32), "hi"),
    ]
    n.append(helper.make_node("Clip", ["inn", "lo", "hi"], ["clip"]))
    # Resize to the size of r1 computed at run time (Shape -> Slice -> Concat), as PyTorch exports do.
    n.append(helper.make_node("Shape", ["r1"], ["shp"]))
    inits += [
        numpy_helper.from_array(np.array([2], np.int64), "s2"),
        numpy_helper.from_array(np.array([4], np.int64), "s4"),
        numpy_helper.from_array(np.array([1, 8], np.int64), "nc"),
    ]
    n.append(helper.make_node("Slice", ["shp", "s2", "s4"], ["hw"]))
    n.append(helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0))
    n.append(
        helper.make_node(
            "Resize",
            ["clip", "", "", "sizes"],
            ["up"],
            mode="linear",
            coordinate_transformation_mode="pytorch_half_pixel",
        )
    )
    n.append(helper.make_node("Concat", ["up", "r1"], ["cat"], axis=1))
    x = conv("cat", 16, 8, 3, "c4", 1)
    n.append(helper.make_node("Add", [x, "r1"], ["res"]))
    n.append(helper.make_node("Relu", ["res"], ["r4"]))
    n.append(
        helper.make_node(
            "Resize",
            ["r4", "", "", "full"],
            ["upfull"],
            mode="linear",
            coordinate_transformation_mode="pytorch_half_pixel",
        )
    )
    inits.append(numpy_helper.from_array(np.array([1, 8, H, W], np.int64), "full"))
    x = conv("upfull", 8, 1, 1, "head", 0)
    n.append(helper.make_node("Sigmoid", [x], ["out"]))
    g = helper.make_graph(
        n,
        "small",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, H, W])],
        inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


SPEC = InputSpec(H, W, (1 / 255,) * 3, (-0.5,) * 3)  # x / 255 - 0.5 inside the graph


def _photos(k: int) -> list[np.ndarray]:
    """Smooth colour fields with edges: closer to photos than white noise."""
    import cv2

    out = []
    for _ in range(k):
        base = cv2.resize(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
        cv2.circle(base, (int(rng.integers(5, W - 5)), int(rng.integers(5, H - 5))), 8, (255, 40, 40), -1)
        out.append(base)
    return out


def _ort(model: onnx.ModelProto, rgb: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = (rgb.astype(np.float32) / 255.0 - 0.5).transpose(2, 0, 1)[None]
    return sess.run(["out"], {"input": x})[0][0, 0]


@pytest.fixture(scope="module")
def model_and_float():
    m = small_net()
    onnx.checker.check_model(m)
    return m, convert_onnx(m, SPEC, output_aliases=["mask"])


def test_float_conversion_matches_onnxruntime(model_and_float):
    m, tfl = model_and_float
    e = Engine(tfl, 1)
    assert e.input.shape == (1, H, W, 3) and e.output.shape == (1, H, W, 1)
    for rgb in _photos(4):
        np.testing.assert_allclose(e.run(rgb), _ort(m, rgb), atol=2e-5)


def test_int8_is_close_to_onnxruntime(model_and_float):
    m, tfl = model_and_float
    calib = [x.astype(np.float32)[None] for x in _photos(24)]
    q = quantize_int8(tfl, calib)
    e = Engine(q, 1)
    assert e.input.dtype == np.int8 and e.input.scale == pytest.approx(1.0) and e.input.zero_point == -128
    errs = [np.abs(e.run(rgb) - _ort(m, rgb)).mean() for rgb in _photos(6)]
    assert np.mean(errs) < 0.02, errs


def test_fp16_weights_match_float(model_and_float):
    m, tfl = model_and_float
    half = to_fp16(tfl)
    assert len(half) < len(tfl)
    e = Engine(half, 1)
    for rgb in _photos(2):
        np.testing.assert_allclose(e.run(rgb), _ort(m, rgb), atol=3e-3)


def test_split_constant_channel_is_exact():
    """A conv channel that is nearly constant, cancelled by a huge weight downstream (u2netp's trap)."""
    n, inits = [], []
    w1 = (rng.standard_normal((4, 3, 3, 3)) * 0.01).astype(np.float32)
    b1 = np.array([0.1, 200.0, 0.2, 0.3], np.float32)  # channel 1: a learned constant ~200
    w2 = (rng.standard_normal((5, 4, 3, 3)) * 0.2).astype(np.float32)
    w2[:, 1, 1, 1] = -5.0
    b2 = np.full(5, 1000.0, np.float32)
    inits += [numpy_helper.from_array(a, k) for a, k in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    n.append(helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="C1"))
    n.append(helper.make_node("Relu", ["c1"], ["r1"], name="R1"))
    n.append(helper.make_node("Conv", ["r1", "w2", "b2"], ["out"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="C2"))
    g = helper.make_graph(
        n,
        "t",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 5, 16, 16])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    fixed = split_constant_channel(m, "C1", 1)
    assert sum(node.op_type == "Conv" for node in fixed.graph.node) == 4
    x = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
    run = lambda mm: ort.InferenceSession(mm.SerializeToString(), providers=["CPUExecutionProvider"]).run(  # noqa: E731
        ["out"], {"input": x}
    )[0]
    np.testing.assert_allclose(run(fixed), run(m), atol=2e-3)


def test_unsupported_op_fails_loudly():
    from tools.onnx_to_tflite import ConversionError

    n = [helper.make_node("Softplus", ["input"], ["out"])]
    g = helper.make_graph(
        n,
        "t",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    with pytest.raises(ConversionError, match="Softplus"):
        convert_onnx(
            helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), InputSpec(8, 8, (1.0,) * 3, (0.0,) * 3)
        )


def test_patches_times_weights_is_the_convolution():
    """im2col (tools/gptq.py) against the TFLite convolution itself: stride 1 dilated and stride 2, SAME."""
    from tools.gptq import patches
    from tools.tflite_builder import ConvOp

    x = rng.standard_normal((9, 11, 4)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 4)).astype(np.float32)
    for stride, dil in (((1, 1), (2, 2)), ((2, 2), (1, 1))):
        conv = ConvOp(0, 0, 0, 0, 0, "c", dil, stride, True)
        got = patches(x, conv, (3, 3)) @ w.reshape(5, -1).T
        ref = _tflite_conv(x, w, stride, dil)
        np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=1e-4)


def _tflite_conv(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], dil: tuple[int, int]) -> np.ndarray:
    """LiteRT's own CONV_2D (SAME padding) on x, as the reference for im2col."""
    from tools.tflite_builder import BuiltinOp, BuiltinOptions, GraphBuilder, Padding, options

    b = GraphBuilder()
    inp = b.tensor("image", (1, *x.shape))
    wt, bias = b.const("w", w), b.const("b", np.zeros(len(w), np.float32))
    out = b.tensor("mask", (1, -(-x.shape[0] // stride[0]), -(-x.shape[1] // stride[1]), len(w)))
    o = options(
        "Conv2DOptions",
        padding=Padding.SAME,
        strideH=stride[0],
        strideW=stride[1],
        dilationHFactor=dil[0],
        dilationWFactor=dil[1],
    )
    b.op(BuiltinOp.CONV_2D, [inp, wt, bias], [out], BuiltinOptions.Conv2DOptions, o)
    e = Engine(b.finish([inp], [out], ["image"], ["mask"]), 1)
    return e.run_tensors(x[None])["mask"][0]


def test_equalize_is_exact_in_float(model_and_float):
    """Per-channel factors moved between convs (tools/equalize.py) leave the float function as it was."""
    from tools.equalize import equalize

    _, tfl = model_and_float
    calib = [x.astype(np.float32)[None] for x in _photos(8)]
    even, scaled = equalize(tfl, calib)
    assert scaled > 0
    a, b = Engine(tfl, 1), Engine(even, 1)
    for rgb in _photos(3):
        np.testing.assert_allclose(b.run(rgb), a.run(rgb), atol=1e-4)


def test_gptq_rounding_beats_nearest_on_the_layer_output():
    from tools.gptq import gptq_round

    x = rng.standard_normal((2000, 36)) @ rng.standard_normal((36, 36))  # correlated inputs, as activations are
    w = rng.standard_normal((8, 36))
    scale = np.abs(w).max(axis=1) / 127
    h = x.T @ x / len(x)
    nearest = np.round(w / scale[:, None])
    q = gptq_round(w, h, scale)
    assert q.dtype == np.int32 and np.abs(q).max() <= 127

    def err(codes: np.ndarray) -> float:
        return float(np.linalg.norm((w - codes * scale[:, None]) @ x.T))

    assert err(q) < 0.8 * err(nearest)


def test_faithful_int8_keeps_the_graph_and_follows_float(model_and_float):
    """quantize_int8_faithful (equalise, global ranges, GPTQ): the same ops as quantize_int8's, and as
    close to the float model on photos it was not calibrated on (on this toy net the two are within
    a few percent of each other; on u2netp the faithful one halved the error: its card)."""
    from tools.quantize import quantize_int8_faithful
    from tools.tflite_builder import load_model, op_names

    _, tfl = model_and_float
    calib = [x.astype(np.float32)[None] for x in _photos(24)]
    plain, faithful = quantize_int8(tfl, calib), quantize_int8_faithful(tfl, calib)

    def ops(model: bytes) -> list[str]:
        mm = load_model(model)
        return sorted(op_names(mm)[op.opcodeIndex] for op in mm.subgraphs[0].operators)

    assert ops(faithful) == ops(plain)
    f, p, q = Engine(tfl, 1), Engine(plain, 1), Engine(faithful, 1)
    photos = _photos(8)
    err_plain = np.mean([np.abs(p.run(rgb) - f.run(rgb)).mean() for rgb in photos])
    err_faithful = np.mean([np.abs(q.run(rgb) - f.run(rgb)).mean() for rgb in photos])
    assert err_faithful < 0.02 and err_faithful < 1.1 * err_plain, (err_faithful, err_plain)
