"""Rewrite MediaPipe's selfie segmenter .tflite into builtin ops only.

MediaPipe's files store fp16 constants behind DEQUANTIZE ops and end in the custom
op `Convolution2DTransposeBias`, which a plain LiteRT interpreter cannot resolve
(LiteRT runs them only because XNNPACK happens to know that op) and quantizers
reject. We fold the constants to fp32, replace the custom op with the builtin
TRANSPOSE_CONV (v3, bias input; same weight layout OHWI), prepend the x/255 input
scaling so every edgematte model takes raw RGB 0..255, and add a signature.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from tools.tflite_builder import BuiltinOp, BuiltinOptions, load_model, options, pack_model

CUSTOM_TRANSPOSE_CONV = b"Convolution2DTransposeBias"


class RewriteError(RuntimeError):
    pass


def _opcode_index(model: fb.ModelT, builtin: int, version: int) -> int:
    for i, c in enumerate(model.operatorCodes):
        if c.builtinCode == builtin and not c.customCode:
            c.version = max(c.version, version)
            return i
    code = fb.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _add_buffer(model: fb.ModelT, value: np.ndarray) -> int:
    buf = fb.BufferT()
    buf.data = np.frombuffer(np.ascontiguousarray(value).tobytes(), np.uint8).copy()
    model.buffers.append(buf)
    return len(model.buffers) - 1


def _add_tensor(model: fb.ModelT, name: str, shape: tuple[int, ...], ttype: int, value: np.ndarray | None) -> int:
    sg = model.subgraphs[0]
    t = fb.TensorT()
    t.name, t.shape, t.type = name.encode(), np.asarray(shape, np.int32), ttype
    t.buffer = _add_buffer(model, value) if value is not None else 0
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def fold_fp16_constants(model: fb.ModelT) -> int:
    """Replace DEQUANTIZE(fp16 constant) by an fp32 constant; returns how many were folded."""
    sg = model.subgraphs[0]
    kept, folded = [], 0
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if code.builtinCode == BuiltinOp.DEQUANTIZE:
            src, dst = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
            data = model.buffers[src.buffer].data
            if src.type == fb.TensorType.FLOAT16 and data is not None and len(data):
                value = np.frombuffer(np.asarray(data, np.uint8).tobytes(), np.float16).astype(np.float32)
                dst.buffer = _add_buffer(model, value)
                folded += 1
                continue
        kept.append(op)
    sg.operators = kept
    return folded


def replace_transpose_conv_bias(model: fb.ModelT) -> int:
    sg = model.subgraphs[0]
    idx = _opcode_index(model, BuiltinOp.TRANSPOSE_CONV, 3)
    n = 0
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if code.customCode != CUSTOM_TRANSPOSE_CONV:
            continue
        params = np.frombuffer(np.asarray(op.customOptions, np.uint8).tobytes(), np.int32)
        padding, stride_w, stride_h = (int(v) for v in params[:3])
        x, w, b = (int(i) for i in op.inputs)
        out_shape = sg.tensors[op.outputs[0]].shape
        shape_t = _add_tensor(
            model, "transpose_conv_output_shape", (4,), fb.TensorType.INT32, np.asarray(out_shape, np.int32)
        )
        op.opcodeIndex = idx
        op.inputs = np.asarray([shape_t, w, x, b], np.int32)
        op.customOptions = None
        op.builtinOptionsType = BuiltinOptions.TransposeConvOptions
        # MediaPipe stores TfLitePadding (1 = SAME, 2 = VALID); the schema enum is SAME = 0, VALID = 1.
        op.builtinOptions = options("TransposeConvOptions", padding=padding - 1, strideW=stride_w, strideH=stride_h)
        n += 1
    return n


def prepend_input_scale(model: fb.ModelT, scale: float, name: str = "image") -> None:
    """New float input `name` (raw 0..255) feeding x*scale into the old input."""
    sg = model.subgraphs[0]
    old = int(sg.inputs[0])
    shape = tuple(int(v) for v in sg.tensors[old].shape)
    new = _add_tensor(model, name, shape, fb.TensorType.FLOAT32, None)
    k = _add_tensor(model, "input_scale", (), fb.TensorType.FLOAT32, np.asarray(scale, np.float32))
    op = fb.OperatorT()
    op.opcodeIndex = _opcode_index(model, BuiltinOp.MUL, 1)
    op.inputs, op.outputs = np.asarray([new, k], np.int32), np.asarray([old], np.int32)
    op.builtinOptionsType, op.builtinOptions = BuiltinOptions.MulOptions, options("MulOptions")
    sg.operators.insert(0, op)
    sg.inputs = np.asarray([new], np.int32)


def compact(model: fb.ModelT) -> None:
    """Drop tensors, buffers and opcodes nothing refers to any more; renumber the rest."""
    sg = model.subgraphs[0]
    used_t = sorted(
        {int(i) for op in sg.operators for i in list(op.inputs) + list(op.outputs) if i >= 0}
        | {int(i) for i in sg.inputs}
        | {int(i) for i in sg.outputs}
    )
    tmap = {old: new for new, old in enumerate(used_t)}
    sg.tensors = [sg.tensors[i] for i in used_t]
    for op in sg.operators:
        op.inputs = np.asarray([tmap[int(i)] if i >= 0 else -1 for i in op.inputs], np.int32)
        op.outputs = np.asarray([tmap[int(i)] for i in op.outputs], np.int32)
    sg.inputs = np.asarray([tmap[int(i)] for i in sg.inputs], np.int32)
    sg.outputs = np.asarray([tmap[int(i)] for i in sg.outputs], np.int32)
    used_b = sorted({0} | {t.buffer for t in sg.tensors})
    bmap = {old: new for new, old in enumerate(used_b)}
    model.buffers = [model.buffers[i] for i in used_b]
    for t in sg.tensors:
        t.buffer = bmap[t.buffer]
    used_c = sorted({op.opcodeIndex for op in sg.operators})
    cmap = {old: new for new, old in enumerate(used_c)}
    model.operatorCodes = [model.operatorCodes[i] for i in used_c]
    for op in sg.operators:
        op.opcodeIndex = cmap[op.opcodeIndex]
    model.metadata = None
    model.metadataBuffer = None


def add_signature(model: fb.ModelT, input_name: str, output_name: str) -> None:
    sg = model.subgraphs[0]
    sig = fb.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = b"serving_default", 0
    i, o = fb.TensorMapT(), fb.TensorMapT()
    i.name, i.tensorIndex = input_name.encode(), int(sg.inputs[0])
    o.name, o.tensorIndex = output_name.encode(), int(sg.outputs[0])
    sig.inputs, sig.outputs = [i], [o]
    model.signatureDefs = [sig]


def rewrite_selfie(data: bytes) -> bytes:
    model = load_model(data)
    if len(model.subgraphs) != 1:
        raise RewriteError("expected one subgraph")
    fold_fp16_constants(model)
    if replace_transpose_conv_bias(model) != 1:
        raise RewriteError(f"expected one {CUSTOM_TRANSPOSE_CONV.decode()} op")
    prepend_input_scale(model, 1.0 / 255.0)
    compact(model)
    sg = model.subgraphs[0]
    sg.tensors[int(sg.outputs[0])].name = b"mask"
    add_signature(model, "image", "mask")
    model.description = b"edgematte: MediaPipe selfie segmenter, builtin ops only"
    if any(c.customCode for c in model.operatorCodes):
        raise RewriteError("custom ops left after rewrite")
    return pack_model(model)
