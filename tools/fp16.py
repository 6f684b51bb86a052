"""FP16 weights: the standard TFLite "float16 quantization" layout.

Every float32 constant feeding a conv / depthwise / transpose-conv / fully-connected
op is stored as float16 and expanded by a DEQUANTIZE op. GPU delegates consume the
fp16 weights directly; XNNPACK folds the DEQUANTIZE at load and computes in fp32 (or
fp16 where the CPU has it). Half the file size, unchanged graph otherwise.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from tools.tflite_builder import BuiltinOp, load_model, pack_model

WEIGHT_OPS = {BuiltinOp.CONV_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.TRANSPOSE_CONV, BuiltinOp.FULLY_CONNECTED}
MIN_ELEMENTS = 16  # tiny constants (shapes, scalars) stay fp32: nothing to gain


def to_fp16(data: bytes) -> bytes:
    model = load_model(data)
    sg = model.subgraphs[0]
    code_of = [c.builtinCode for c in model.operatorCodes]
    deq_index = None
    for i, c in enumerate(model.operatorCodes):
        if c.builtinCode == BuiltinOp.DEQUANTIZE:
            deq_index = i
    if deq_index is None:
        code = fb.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = BuiltinOp.DEQUANTIZE
        code.version = 2  # v2: fp16 input
        model.operatorCodes.append(code)
        deq_index = len(model.operatorCodes) - 1
    else:
        model.operatorCodes[deq_index].version = max(model.operatorCodes[deq_index].version, 2)

    converted: dict[int, int] = {}  # fp32 tensor index -> same tensor (now fed by DEQUANTIZE)
    new_ops = []
    for op in sg.operators:
        if code_of[op.opcodeIndex] in WEIGHT_OPS:
            for ti in op.inputs:
                ti = int(ti)
                if ti < 0 or ti in converted:
                    continue
                t = sg.tensors[ti]
                buf = model.buffers[t.buffer]
                if t.type != fb.TensorType.FLOAT32 or buf.data is None or len(buf.data) < 4 * MIN_ELEMENTS:
                    continue
                values = np.frombuffer(np.asarray(buf.data, np.uint8).tobytes(), np.float32)
                half = fb.BufferT()
                half.data = np.frombuffer(values.astype(np.float16).tobytes(), np.uint8).copy()
                model.buffers.append(half)
                h = fb.TensorT()
                h.name = (t.name or b"w") + b"_fp16"
                h.shape = np.asarray(t.shape, np.int32)
                h.type = fb.TensorType.FLOAT16
                h.buffer = len(model.buffers) - 1
                sg.tensors.append(h)
                t.buffer = 0  # now computed by DEQUANTIZE
                deq = fb.OperatorT()
                deq.opcodeIndex = deq_index
                deq.inputs = np.asarray([len(sg.tensors) - 1], np.int32)
                deq.outputs = np.asarray([ti], np.int32)
                new_ops.append(deq)
                converted[ti] = ti
    sg.operators = new_ops + list(sg.operators)
    # Drop the now-unreferenced fp32 buffers' bytes (keep indices stable).
    used = {t.buffer for t in sg.tensors}
    for i, buf in enumerate(model.buffers):
        if i not in used and i != 0:
            buf.data = None
    return pack_model(model)
