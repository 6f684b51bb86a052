"""The MediaPipe custom-op rewrite, on a tiny model built like MediaPipe's selfie files.

The real files come from the mediapipe wheel (tools/sources.py); here a 3-op model with
fp16 constants behind DEQUANTIZE and a `Convolution2DTransposeBias` custom op is written
from scratch, run as-is by LiteRT (XNNPACK knows the custom op), rewritten to builtin ops,
and the outputs compared.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flatbuffers")

from ai_edge_litert import schema_py_generated as fb

from edgematte.engine import Engine
from tools.mediapipe_rewrite import rewrite_selfie
from tools.tflite_builder import BuiltinOp, GraphBuilder, pack_model

rng = np.random.default_rng(5)


def mediapipe_like_model() -> bytes:
    b = GraphBuilder()
    x = b.tensor("input_1", (1, 6, 6, 4))
    w16 = b.const("segment/Kernel", (rng.standard_normal((1, 2, 2, 4)) * 0.5).astype(np.float16))
    b16 = b.const("segment/Bias", np.array([0.1], np.float16))
    w = b.tensor("segment/Kernel_dequantize", (1, 2, 2, 4))
    bias = b.tensor("segment/Bias_dequantize", (1,))
    b.op(BuiltinOp.DEQUANTIZE, [w16], [w])
    b.op(BuiltinOp.DEQUANTIZE, [b16], [bias])
    seg = b.tensor("segment", (1, 12, 12, 1))
    o = fb.OperatorT()
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = BuiltinOp.CUSTOM
    code.customCode = b"Convolution2DTransposeBias"
    b.opcode_list.append(code)
    o.opcodeIndex = len(b.opcode_list) - 1
    o.inputs = np.asarray([x, w, bias], np.int32)
    o.outputs = np.asarray([seg], np.int32)
    o.customOptions = np.frombuffer(np.array([1, 2, 2], np.int32).tobytes(), np.uint8)  # SAME, stride 2x2
    b.operators.append(o)
    out = b.tensor("activation_10", (1, 12, 12, 1))
    b.op(BuiltinOp.LOGISTIC, [seg], [out])
    for op in b.operators:  # DEQUANTIZE of fp16 needs version 2
        if b.opcode_list[op.opcodeIndex].builtinCode == BuiltinOp.DEQUANTIZE:
            b.opcode_list[op.opcodeIndex].version = 2
    sub = fb.SubGraphT()
    sub.tensors, sub.operators = b.tensors, b.operators
    sub.inputs, sub.outputs = np.asarray([x], np.int32), np.asarray([out], np.int32)
    model = fb.ModelT()
    model.version, model.subgraphs, model.buffers, model.operatorCodes = 3, [sub], b.buffers, b.opcode_list
    return pack_model(model)


def test_rewrite_is_exact_and_builtin_only():
    src = mediapipe_like_model()
    try:
        ref = Engine(src, 1)
    except Exception as exc:
        pytest.skip(f"this LiteRT build cannot run the custom op: {exc}")
    new = rewrite_selfie(src)
    model = fb.ModelT.InitFromPackedBuf(bytearray(new), 0)
    assert not any(c.customCode for c in model.operatorCodes)
    assert {c.builtinCode for c in model.operatorCodes} >= {BuiltinOp.TRANSPOSE_CONV}
    ours = Engine(new, 1)
    assert ours.input.shape == (1, 6, 6, 4)
    for _ in range(3):
        x = rng.random((6, 6, 4), dtype=np.float32)
        ref._it.set_tensor(ref.input.index, x[None])
        ref._it.invoke()
        a = ref._it.get_tensor(ref.output.index)[0, :, :, 0]
        ours._it.set_tensor(ours.input.index, (x * 255.0)[None])  # rewritten model takes 0..255
        ours._it.invoke()
        b = ours._it.get_tensor(ours.output.index)[0, :, :, 0]
        np.testing.assert_allclose(a, b, atol=1e-5)
