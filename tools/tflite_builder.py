"""Write TFLite flatbuffers from NumPy arrays and a list of builtin ops.

We build graphs ourselves (instead of going through TensorFlow) so the float
model is exactly the graph we want: NHWC end to end, no layout TRANSPOSEs, one
named signature that the quantizer and the runtime both rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb

BuiltinOp = fb.BuiltinOperator
BuiltinOptions = fb.BuiltinOptions
Padding = fb.Padding
Activation = fb.ActivationFunctionType

_DTYPES = {
    np.dtype(np.float32): fb.TensorType.FLOAT32,
    np.dtype(np.float16): fb.TensorType.FLOAT16,
    np.dtype(np.int32): fb.TensorType.INT32,
    np.dtype(np.int64): fb.TensorType.INT64,
    np.dtype(np.int8): fb.TensorType.INT8,
    np.dtype(np.uint8): fb.TensorType.UINT8,
    np.dtype(np.int16): fb.TensorType.INT16,
}

# Op versions the builtin kernels accept for float graphs with the features we use.
_VERSIONS = {
    BuiltinOp.CONV_2D: 1,
    BuiltinOp.DEPTHWISE_CONV_2D: 2,  # v2: dilation
    BuiltinOp.TRANSPOSE_CONV: 3,  # v3: bias input
    BuiltinOp.RESIZE_BILINEAR: 3,  # v3: half_pixel_centers
    BuiltinOp.FULLY_CONNECTED: 1,
}


def np_to_tensor_type(dtype: np.dtype) -> int:
    return _DTYPES[np.dtype(dtype)]


@dataclass
class GraphBuilder:
    """Accumulates tensors, constant buffers and operators of one subgraph."""

    tensors: list[Any] = field(default_factory=list)
    buffers: list[Any] = field(default_factory=lambda: [fb.BufferT()])  # buffer 0 is empty by convention
    operators: list[Any] = field(default_factory=list)
    opcodes: dict[tuple[int, str | None], int] = field(default_factory=dict)
    opcode_list: list[Any] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def _unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def tensor(self, name: str, shape: tuple[int, ...] | list[int], dtype: Any = np.float32) -> int:
        t = fb.TensorT()
        t.name = self._unique(name)
        t.shape = np.asarray(list(shape), dtype=np.int32)
        t.type = np_to_tensor_type(np.dtype(dtype))
        t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name: str, value: np.ndarray) -> int:
        value = np.ascontiguousarray(value)
        buf = fb.BufferT()
        buf.data = np.frombuffer(value.tobytes(), dtype=np.uint8).copy()
        self.buffers.append(buf)
        idx = self.tensor(name, value.shape, value.dtype)
        self.tensors[idx].buffer = len(self.buffers) - 1
        return idx

    def shape(self, idx: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self.tensors[idx].shape)

    def _opcode(self, op: int, custom: str | None = None, version: int | None = None) -> int:
        key = (op, custom)
        if key not in self.opcodes:
            code = fb.OperatorCodeT()
            code.builtinCode = op
            code.deprecatedBuiltinCode = min(op, 127)
            code.customCode = custom
            code.version = version or _VERSIONS.get(op, 1)
            self.opcodes[key] = len(self.opcode_list)
            self.opcode_list.append(code)
        return self.opcodes[key]

    def op(
        self,
        op: int,
        inputs: list[int],
        outputs: list[int],
        options_type: int = 0,
        options: Any = None,
    ) -> None:
        o = fb.OperatorT()
        o.opcodeIndex = self._opcode(op)
        o.inputs = np.asarray(inputs, dtype=np.int32)
        o.outputs = np.asarray(outputs, dtype=np.int32)
        o.builtinOptionsType = options_type
        o.builtinOptions = options
        self.operators.append(o)

    def finish(
        self,
        inputs: list[int],
        outputs: list[int],
        input_names: list[str],
        output_names: list[str],
        description: str = "edgematte",
    ) -> bytes:
        sub = fb.SubGraphT()
        sub.tensors = self.tensors
        sub.inputs = np.asarray(inputs, dtype=np.int32)
        sub.outputs = np.asarray(outputs, dtype=np.int32)
        sub.operators = self.operators
        sub.name = "main"
        sig = fb.SignatureDefT()
        sig.signatureKey = b"serving_default"
        sig.subgraphIndex = 0
        sig.inputs, sig.outputs = [], []
        for name, idx in zip(input_names, inputs, strict=True):
            m = fb.TensorMapT()
            m.name, m.tensorIndex = name, idx
            sig.inputs.append(m)
        for name, idx in zip(output_names, outputs, strict=True):
            m = fb.TensorMapT()
            m.name, m.tensorIndex = name, idx
            sig.outputs.append(m)
        model = fb.ModelT()
        model.version = 3
        model.description = description
        model.subgraphs = [sub]
        model.buffers = self.buffers
        model.operatorCodes = self.opcode_list
        model.signatureDefs = [sig]
        return pack_model(model)


def pack_model(model: Any) -> bytes:
    builder = flatbuffers.Builder(1024 * 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def load_model(data: bytes) -> Any:
    """The model as an object tree; buffers stored after the flatbuffer (offset/size, as
    ai-edge-quantizer writes large models) are read into `data`, so `pack_model` keeps them."""
    model = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for b in model.buffers:
        if b.offset and b.offset > 1:
            b.data = np.frombuffer(data[b.offset : b.offset + b.size], np.uint8).copy()
            b.offset, b.size = 0, 0
    return model


_NUMPY = {v: k for k, v in _DTYPES.items()}


def tensor_name(tensor: Any) -> str:
    return tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)


def is_constant(model: Any, tensor: Any) -> bool:
    return tensor.buffer != 0 and model.buffers[tensor.buffer].data is not None


def constant(model: Any, tensor: Any) -> np.ndarray:
    """A constant tensor's value (a copy), in its own dtype and shape."""
    raw = np.asarray(model.buffers[tensor.buffer].data, np.uint8).tobytes()
    return np.frombuffer(raw, _NUMPY[tensor.type]).reshape(tensor.shape).copy()


def set_constant(model: Any, tensor: Any, value: np.ndarray) -> None:
    """Replace a constant tensor's value (same shape; cast to the tensor's dtype)."""
    arr = np.ascontiguousarray(np.asarray(value).astype(_NUMPY[tensor.type]))
    if tuple(arr.shape) != tuple(tensor.shape):
        raise ValueError(f"{tensor_name(tensor)}: shape {arr.shape}, expected {tuple(tensor.shape)}")
    model.buffers[tensor.buffer].data = np.frombuffer(arr.tobytes(), np.uint8).copy()


def op_names(model: Any) -> list[str]:
    """Each operator code's builtin name ('CONV_2D', ...), by opcode index."""
    names = {v: k for k, v in vars(BuiltinOp).items() if not k.startswith("_")}
    return [names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes]


@dataclass(frozen=True)
class ConvOp:
    """A CONV_2D of the first subgraph: its index and tensors, and what im2col needs to know."""

    index: int
    x: int  # input tensor index
    w: int  # weights, O x kh x kw x I
    b: int  # bias
    y: int  # output tensor index
    name: str  # the output tensor's name (what the quantizer's regexes and our layer tables key on)
    dilation: tuple[int, int]
    stride: tuple[int, int]
    same: bool  # SAME padding


def conv_ops(model: Any) -> list[ConvOp]:
    g = model.subgraphs[0]
    kinds = op_names(model)
    out = []
    for i, op in enumerate(g.operators):
        if kinds[op.opcodeIndex] != "CONV_2D":
            continue
        o = op.builtinOptions
        x, w, b = (int(v) for v in op.inputs[:3])
        y = int(op.outputs[0])
        out.append(
            ConvOp(
                i,
                x,
                w,
                b,
                y,
                tensor_name(g.tensors[y]),
                (o.dilationHFactor, o.dilationWFactor),
                (o.strideH, o.strideW),
                o.padding == Padding.SAME,
            )
        )
    return out


def options(cls_name: str, **fields: Any) -> Any:
    """Build a `<cls_name>T` options object, e.g. options("Conv2DOptions", strideW=1)."""
    obj = getattr(fb, cls_name + "T")()
    for key, value in fields.items():
        if not hasattr(obj, key):
            raise AttributeError(f"{cls_name} has no field {key}")
        setattr(obj, key, value)
    return obj
