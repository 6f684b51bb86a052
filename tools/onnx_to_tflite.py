"""Convert a fixed-size ONNX vision model (NCHW) into a float TFLite graph (NHWC).

Why our own converter: the models we ship use a small set of ops (conv, pooling,
resize, concat, elementwise, normalisation). A direct mapping gives an NHWC graph
with no layout TRANSPOSEs, fused activations, the input normalisation folded into
the graph (the model takes raw RGB 0..255, so the runtime never normalises and an
INT8 input with scale 1 represents a pixel exactly), and it needs only `onnx`,
`onnxruntime` and the flatbuffer schema, not a 2.6 GB TensorFlow install.

How: onnxruntime runs the model once at the fixed input size; every tensor that
does not depend on the image (shape arithmetic, resize targets) becomes a constant,
and every image-dependent node is mapped to builtin TFLite ops. Unsupported ops
fail loudly with their name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import onnx
from onnx import numpy_helper

from tools.tflite_builder import Activation, BuiltinOp, BuiltinOptions, GraphBuilder, Padding, options

NCHW_TO_NHWC = (0, 2, 3, 1)
AXIS_NCHW_TO_NHWC = {0: 0, 1: 3, 2: 1, 3: 2}


class ConversionError(RuntimeError):
    pass


@dataclass(frozen=True)
class InputSpec:
    """The converted model's input: raw RGB 0..255 NHWC, normalised inside the graph as x*scale+offset."""

    height: int
    width: int
    scale: tuple[float, float, float]
    offset: tuple[float, float, float]


def imagenet_spec(height: int, width: int) -> InputSpec:
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return InputSpec(height, width, tuple(1.0 / (255.0 * std)), tuple(-mean / std))


def symmetric_spec(height: int, width: int) -> InputSpec:
    """RGB mapped to [-1, 1] (MODNet)."""
    return InputSpec(height, width, (1 / 127.5,) * 3, (-1.0,) * 3)


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _fixed_input_model(model: onnx.ModelProto, shape: list[int]) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, shape, strict=True):
        d.Clear()
        d.dim_value = v
    return model


def run_all_tensors(model: onnx.ModelProto, feed: np.ndarray) -> dict[str, np.ndarray]:
    """Run onnxruntime once, returning every intermediate tensor by name."""
    import onnxruntime as ort

    probe = onnx.ModelProto.FromString(model.SerializeToString())
    inferred = onnx.shape_inference.infer_shapes(probe)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in inferred.graph.value_info}
    existing = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for out in node.output:
            if out and out not in existing and out in types:
                probe.graph.output.append(onnx.helper.make_tensor_value_info(out, types[out], None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values = sess.run(names, {probe.graph.input[0].name: feed})
    return dict(zip(names, values, strict=True))


class OnnxToTflite:
    """One conversion: ONNX graph + fixed input size -> TFLite flatbuffer bytes."""

    def __init__(self, model: onnx.ModelProto, spec: InputSpec, outputs: list[str] | None = None):
        self.spec = spec
        self.model = _fixed_input_model(model, [1, 3, spec.height, spec.width])
        g = self.model.graph
        self.input_name = g.input[0].name
        self.output_names = outputs or [o.name for o in g.output]
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        rng = np.random.default_rng(0)
        feed = rng.standard_normal((1, 3, spec.height, spec.width)).astype(np.float32)
        self.values = run_all_tensors(self.model, feed)
        self.values[self.input_name] = feed
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in g.node:
            for i in node.input:
                self.consumers[i].append(node)
        self.dynamic = self._find_dynamic()
        self.b = GraphBuilder()
        self.tensors: dict[str, int] = {}  # ONNX name -> TFLite tensor index (NHWC for rank 4)
        self.skip: set[str] = set()  # nodes folded into a predecessor

    # ---- graph analysis -------------------------------------------------------------
    def _find_dynamic(self) -> set[str]:
        dynamic = {self.input_name}
        for node in self.model.graph.node:
            if node.op_type == "Shape":
                continue
            if any(i in dynamic for i in node.input if i):
                dynamic.update(o for o in node.output if o)
        return dynamic

    def _needed_nodes(self) -> list[onnx.NodeProto]:
        """Dynamic nodes that contribute to the requested outputs."""
        producer = {o: n for n in self.model.graph.node for o in n.output}
        needed: set[int] = set()
        stack = list(self.output_names)
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen or name not in self.dynamic or name not in producer:
                continue
            seen.add(name)
            node = producer[name]
            needed.add(id(node))
            stack.extend(i for i in node.input if i)
        return [n for n in self.model.graph.node if id(n) in needed]

    def const_value(self, name: str) -> np.ndarray:
        if name in self.consts:
            return self.consts[name]
        if name in self.values and name not in self.dynamic:
            return self.values[name]
        raise ConversionError(f"tensor {name} is image-dependent where a constant is needed")

    def onnx_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.values[name].shape)

    def tfl_shape(self, name: str) -> tuple[int, ...]:
        s = self.onnx_shape(name)
        return tuple(s[i] for i in NCHW_TO_NHWC) if len(s) == 4 else s

    # ---- emission helpers ---------------------------------------------------------------
    def out_tensor(self, name: str) -> int:
        idx = self.b.tensor(name, self.tfl_shape(name))
        self.tensors[name] = idx
        return idx

    def inp(self, name: str, like: str | None = None) -> int:
        """TFLite tensor for an ONNX input; constants are laid out to broadcast like `like`."""
        if name in self.tensors:
            return self.tensors[name]
        value = np.asarray(self.const_value(name), dtype=np.float32)
        if like is not None and len(self.onnx_shape(like)) == 4:
            value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(NCHW_TO_NHWC)
        return self.b.const(name, value)

    def _single_consumer(self, name: str) -> onnx.NodeProto | None:
        users = self.consumers.get(name, [])
        if len(users) == 1 and name not in self.output_names:
            return users[0]
        return None

    def fused_activation(self, out: str) -> tuple[int, str]:
        """Fuse a Relu/Relu6 that follows tensor `out`; returns (activation, final output name)."""
        nxt = self._single_consumer(out)
        if nxt is None:
            return Activation.NONE, out
        if nxt.op_type == "Relu":
            self.skip.add(id(nxt))
            return Activation.RELU, nxt.output[0]
        if nxt.op_type == "Clip":
            lo, hi = self._clip_bounds(nxt)
            if lo == 0.0 and hi == 6.0:
                self.skip.add(id(nxt))
                return Activation.RELU6, nxt.output[0]
        return Activation.NONE, out

    def _clip_bounds(self, node: onnx.NodeProto) -> tuple[float, float]:
        a = _attrs(node)
        lo = a.get("min", -np.inf)
        hi = a.get("max", np.inf)
        if len(node.input) > 1 and node.input[1]:
            lo = float(self.const_value(node.input[1]))
        if len(node.input) > 2 and node.input[2]:
            hi = float(self.const_value(node.input[2]))
        return float(lo), float(hi)

    @staticmethod
    def _same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int, int]:
        eff = (k - 1) * d + 1
        out = -(-size // s)
        total = max((out - 1) * s + eff - size, 0)
        return out, total // 2, total - total // 2

    def _padding_mode(
        self,
        in_hw: tuple[int, int],
        k: list[int],
        s: list[int],
        d: list[int],
        pads: list[int],
        out_hw: tuple[int, int],
        pooling: bool = False,
    ) -> tuple[int, list[int] | None]:
        """SAME or VALID if they reproduce the ONNX pads, else VALID after an explicit PAD.

        For max-pooling, padded cells never win, so SAME also covers ceil_mode's implicit
        extra cells at the end: only the output size and the leading pad must agree.
        """
        same = [self._same_pads(in_hw[i], k[i], s[i], d[i]) for i in range(2)]
        if all(same[i][0] == out_hw[i] and same[i][1] == pads[i] for i in range(2)) and (
            pooling or all(same[i][2] == pads[i + 2] for i in range(2))
        ):
            return Padding.SAME, None
        valid = [(in_hw[i] - ((k[i] - 1) * d[i] + 1)) // s[i] + 1 for i in range(2)]
        if not any(pads) and valid == list(out_hw):
            return Padding.VALID, None
        return Padding.VALID, pads

    def _pad(self, src: int, pads: list[int], name: str, value: float = 0.0) -> int:
        n, h, w, c = self.b.shape(src)
        t, left, bottom, right = pads[0], pads[1], pads[2], pads[3]
        out = self.b.tensor(name + "_pad", (n, h + t + bottom, w + left + right, c))
        paddings = self.b.const(name + "_paddings", np.array([[0, 0], [t, bottom], [left, right], [0, 0]], np.int32))
        if value == 0.0:
            self.b.op(BuiltinOp.PAD, [src, paddings], [out], BuiltinOptions.PadOptions, options("PadOptions"))
        else:
            cval = self.b.const(name + "_padval", np.array(value, np.float32))
            self.b.op(
                BuiltinOp.PADV2, [src, paddings, cval], [out], BuiltinOptions.PadV2Options, options("PadV2Options")
            )
        return out

    # ---- op handlers ------------------------------------------------------------------------
    def conv(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        w = self.const_value(node.input[1]).astype(np.float32)
        bias = (
            self.const_value(node.input[2]).astype(np.float32)
            if len(node.input) > 2 and node.input[2]
            else np.zeros(w.shape[0], np.float32)
        )
        group = a.get("group", 1)
        k = list(a.get("kernel_shape", w.shape[2:]))
        s = list(a.get("strides", [1, 1]))
        d = list(a.get("dilations", [1, 1]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        act, out_name = self.fused_activation(node.output[0])
        src = self.inp(node.input[0])
        in_hw = self.tfl_shape(node.input[0])[1:3]
        out_hw = self.tfl_shape(node.output[0])[1:3]
        padding, explicit = self._padding_mode(in_hw, k, s, d, pads, out_hw)
        if explicit is not None:
            src = self._pad(src, explicit, node.output[0])
        out = self.b.tensor(out_name, self.tfl_shape(node.output[0]))
        self.tensors[out_name] = out
        cin = self.tfl_shape(node.input[0])[3]
        bias_t = self.b.const(node.output[0] + "_bias", bias)
        if group == 1:
            wt = self.b.const(node.input[1], w.transpose(0, 2, 3, 1))  # OIHW -> OHWI
            opt = options(
                "Conv2DOptions",
                padding=padding,
                strideH=s[0],
                strideW=s[1],
                dilationHFactor=d[0],
                dilationWFactor=d[1],
                fusedActivationFunction=act,
            )
            self.b.op(BuiltinOp.CONV_2D, [src, wt, bias_t], [out], BuiltinOptions.Conv2DOptions, opt)
        elif group == cin and w.shape[1] == 1:
            mult = w.shape[0] // cin
            wt = self.b.const(node.input[1], w.transpose(1, 2, 3, 0))  # [O,1,kh,kw] -> [1,kh,kw,O]
            opt = options(
                "DepthwiseConv2DOptions",
                padding=padding,
                strideH=s[0],
                strideW=s[1],
                depthMultiplier=mult,
                dilationHFactor=d[0],
                dilationWFactor=d[1],
                fusedActivationFunction=act,
            )
            self.b.op(BuiltinOp.DEPTHWISE_CONV_2D, [src, wt, bias_t], [out], BuiltinOptions.DepthwiseConv2DOptions, opt)
        else:
            raise ConversionError(f"{node.name}: grouped conv with group={group} is not supported")

    def maxpool(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        k, s = list(a["kernel_shape"]), list(a.get("strides", [1, 1]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        src = self.inp(node.input[0])
        in_hw = self.tfl_shape(node.input[0])[1:3]
        out_hw = self.tfl_shape(node.output[0])[1:3]
        padding, explicit = self._padding_mode(in_hw, k, s, [1, 1], pads, out_hw, pooling=True)
        if explicit is not None:
            # ceil_mode pads past the end; pooling windows never see pad values when SAME matches,
            # so only a true mismatch reaches here.
            raise ConversionError(f"{node.name}: MaxPool padding {pads} (ceil={a.get('ceil_mode')}) not expressible")
        act, out_name = self.fused_activation(node.output[0])
        out = self.b.tensor(out_name, self.tfl_shape(node.output[0]))
        self.tensors[out_name] = out
        opt = options(
            "Pool2DOptions",
            padding=padding,
            strideH=s[0],
            strideW=s[1],
            filterHeight=k[0],
            filterWidth=k[1],
            fusedActivationFunction=act,
        )
        self.b.op(BuiltinOp.MAX_POOL_2D, [src], [out], BuiltinOptions.Pool2DOptions, opt)

    def global_avg_pool(self, node: onnx.NodeProto) -> None:
        src = self.inp(node.input[0])
        axes = self.b.const(node.output[0] + "_axes", np.array([1, 2], np.int32))
        out = self.out_tensor(node.output[0])
        self.b.op(
            BuiltinOp.MEAN, [src, axes], [out], BuiltinOptions.ReducerOptions, options("ReducerOptions", keepDims=True)
        )

    def resize(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        mode = a.get("mode", b"nearest").decode()
        ctm = a.get("coordinate_transformation_mode", b"half_pixel").decode()
        out_shape = self.tfl_shape(node.output[0])
        if min(out_shape[1:3]) == 1 and ctm == "pytorch_half_pixel":
            raise ConversionError(f"{node.name}: pytorch_half_pixel to size 1 differs from half_pixel")
        src = self.inp(node.input[0])
        size = self.b.const(node.output[0] + "_size", np.array(out_shape[1:3], np.int32))
        out = self.out_tensor(node.output[0])
        align = ctm == "align_corners"
        half = ctm in ("half_pixel", "pytorch_half_pixel")
        if mode == "linear":
            opt = options("ResizeBilinearOptions", alignCorners=align, halfPixelCenters=half)
            self.b.op(BuiltinOp.RESIZE_BILINEAR, [src, size], [out], BuiltinOptions.ResizeBilinearOptions, opt)
        elif mode == "nearest":
            opt = options("ResizeNearestNeighborOptions", alignCorners=align, halfPixelCenters=half)
            self.b.op(
                BuiltinOp.RESIZE_NEAREST_NEIGHBOR, [src, size], [out], BuiltinOptions.ResizeNearestNeighborOptions, opt
            )
        else:
            raise ConversionError(f"{node.name}: Resize mode {mode} not supported")

    def concat(self, node: onnx.NodeProto) -> None:
        axis = _attrs(node)["axis"]
        rank = len(self.onnx_shape(node.output[0]))
        axis = axis % rank
        if rank == 4:
            axis = AXIS_NCHW_TO_NHWC[axis]
        srcs = [self.inp(i, like=node.output[0]) for i in node.input]
        out = self.out_tensor(node.output[0])
        self.b.op(
            BuiltinOp.CONCATENATION,
            srcs,
            [out],
            BuiltinOptions.ConcatenationOptions,
            options("ConcatenationOptions", axis=axis),
        )

    _BINARY: ClassVar[dict[str, tuple[int, int, str]]] = {
        "Add": (BuiltinOp.ADD, BuiltinOptions.AddOptions, "AddOptions"),
        "Sub": (BuiltinOp.SUB, BuiltinOptions.SubOptions, "SubOptions"),
        "Mul": (BuiltinOp.MUL, BuiltinOptions.MulOptions, "MulOptions"),
        "Div": (BuiltinOp.DIV, BuiltinOptions.DivOptions, "DivOptions"),
    }

    def binary(self, node: onnx.NodeProto) -> None:
        op, opt_type, opt_name = self._BINARY[node.op_type]
        lhs = self.inp(node.input[0], like=node.output[0])
        rhs = self.inp(node.input[1], like=node.output[0])
        act, out_name = self.fused_activation(node.output[0])
        out = self.b.tensor(out_name, self.tfl_shape(node.output[0]))
        self.tensors[out_name] = out
        self.b.op(op, [lhs, rhs], [out], opt_type, options(opt_name, fusedActivationFunction=act))

    def unary(self, node: onnx.NodeProto) -> None:
        ops = {"Relu": BuiltinOp.RELU, "Sigmoid": BuiltinOp.LOGISTIC, "Tanh": BuiltinOp.TANH}
        src = self.inp(node.input[0])
        out = self.out_tensor(node.output[0])
        self.b.op(ops[node.op_type], [src], [out])

    def clip(self, node: onnx.NodeProto) -> None:
        lo, hi = self._clip_bounds(node)
        src = self.inp(node.input[0])
        if lo == 0.0 and hi == 6.0:
            out = self.out_tensor(node.output[0])
            self.b.op(BuiltinOp.RELU6, [src], [out])
            return
        shape = self.tfl_shape(node.output[0])
        cur = src
        if np.isfinite(lo):
            nxt = self.b.tensor(node.output[0] + "_lo", shape)
            self.b.op(BuiltinOp.MAXIMUM, [cur, self.b.const(node.output[0] + "_min", np.array(lo, np.float32))], [nxt])
            cur = nxt
        if np.isfinite(hi):
            nxt = self.b.tensor(node.output[0] + "_hi", shape)
            self.b.op(BuiltinOp.MINIMUM, [cur, self.b.const(node.output[0] + "_max", np.array(hi, np.float32))], [nxt])
            cur = nxt
        self.tensors[node.output[0]] = cur

    def batchnorm(self, node: onnx.NodeProto) -> None:
        eps = _attrs(node).get("epsilon", 1e-5)
        gamma, beta, mean, var = (self.const_value(i).astype(np.float64) for i in node.input[1:5])
        scale = gamma / np.sqrt(var + eps)
        shift = beta - mean * scale
        self._affine(node.input[0], node.output[0], scale, shift)

    def _affine(self, src_name: str, out_name: str, scale: np.ndarray, shift: np.ndarray) -> None:
        src = self.inp(src_name)
        shape = self.tfl_shape(out_name)
        mid = self.b.tensor(out_name + "_scaled", shape)
        self.b.op(
            BuiltinOp.MUL,
            [src, self.b.const(out_name + "_scale", scale.astype(np.float32))],
            [mid],
            BuiltinOptions.MulOptions,
            options("MulOptions"),
        )
        act, final = self.fused_activation(out_name)
        out = self.b.tensor(final, self.tfl_shape(out_name))
        self.tensors[final] = out
        self.b.op(
            BuiltinOp.ADD,
            [mid, self.b.const(out_name + "_shift", shift.astype(np.float32))],
            [out],
            BuiltinOptions.AddOptions,
            options("AddOptions", fusedActivationFunction=act),
        )

    def instancenorm(self, node: onnx.NodeProto) -> None:
        """y = (x - mean_hw) / sqrt(var_hw + eps) * gamma + beta, from builtin ops."""
        eps = _attrs(node).get("epsilon", 1e-5)
        gamma = self.const_value(node.input[1]).astype(np.float32)
        beta = self.const_value(node.input[2]).astype(np.float32)
        name = node.output[0]
        src = self.inp(node.input[0])
        shape = self.tfl_shape(name)
        n, _, _, c = shape
        axes = self.b.const(name + "_axes", np.array([1, 2], np.int32))
        red = options("ReducerOptions", keepDims=True)
        mean = self.b.tensor(name + "_mean", (n, 1, 1, c))
        self.b.op(BuiltinOp.MEAN, [src, axes], [mean], BuiltinOptions.ReducerOptions, red)
        centred = self.b.tensor(name + "_centred", shape)
        self.b.op(BuiltinOp.SUB, [src, mean], [centred], BuiltinOptions.SubOptions, options("SubOptions"))
        sq = self.b.tensor(name + "_sq", shape)
        self.b.op(BuiltinOp.MUL, [centred, centred], [sq], BuiltinOptions.MulOptions, options("MulOptions"))
        var = self.b.tensor(name + "_var", (n, 1, 1, c))
        self.b.op(BuiltinOp.MEAN, [sq, axes], [var], BuiltinOptions.ReducerOptions, red)
        var_eps = self.b.tensor(name + "_vareps", (n, 1, 1, c))
        self.b.op(
            BuiltinOp.ADD,
            [var, self.b.const(name + "_eps", np.array(eps, np.float32))],
            [var_eps],
            BuiltinOptions.AddOptions,
            options("AddOptions"),
        )
        inv = self.b.tensor(name + "_rstd", (n, 1, 1, c))
        self.b.op(BuiltinOp.RSQRT, [var_eps], [inv])
        gain = self.b.tensor(name + "_gain", (n, 1, 1, c))
        self.b.op(
            BuiltinOp.MUL,
            [inv, self.b.const(name + "_gamma", gamma.reshape(1, 1, 1, c))],
            [gain],
            BuiltinOptions.MulOptions,
            options("MulOptions"),
        )
        scaled = self.b.tensor(name + "_normed", shape)
        self.b.op(BuiltinOp.MUL, [centred, gain], [scaled], BuiltinOptions.MulOptions, options("MulOptions"))
        act, final = self.fused_activation(node.output[0])
        out = self.b.tensor(final, shape)
        self.tensors[final] = out
        self.b.op(
            BuiltinOp.ADD,
            [scaled, self.b.const(name + "_beta", beta.reshape(1, 1, 1, c))],
            [out],
            BuiltinOptions.AddOptions,
            options("AddOptions", fusedActivationFunction=act),
        )

    def slice(self, node: onnx.NodeProto) -> None:
        in_shape = self.onnx_shape(node.input[0])
        starts = self.const_value(node.input[1]).tolist()
        ends = self.const_value(node.input[2]).tolist()
        axes = (
            self.const_value(node.input[3]).tolist()
            if len(node.input) > 3 and node.input[3]
            else list(range(len(starts)))
        )
        steps = self.const_value(node.input[4]).tolist() if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        if any(st != 1 for st in steps):
            raise ConversionError(f"{node.name}: strided Slice not supported")
        begin = [0] * len(in_shape)
        size = list(in_shape)
        for ax, st, en in zip(axes, starts, ends, strict=True):
            ax %= len(in_shape)
            dim = in_shape[ax]
            st = max(0, min(dim, st + dim if st < 0 else st))
            en = max(0, min(dim, en + dim if en < 0 else en))
            begin[ax], size[ax] = st, en - st
        if len(in_shape) == 4:
            begin = [begin[i] for i in NCHW_TO_NHWC]
            size = [size[i] for i in NCHW_TO_NHWC]
        src = self.inp(node.input[0])
        out = self.out_tensor(node.output[0])
        self.b.op(
            BuiltinOp.SLICE,
            [
                src,
                self.b.const(node.output[0] + "_begin", np.array(begin, np.int32)),
                self.b.const(node.output[0] + "_size", np.array(size, np.int32)),
            ],
            [out],
            BuiltinOptions.SliceOptions,
            options("SliceOptions"),
        )

    def reshape(self, node: onnx.NodeProto) -> None:
        in_shape = self.onnx_shape(node.input[0])
        out_shape = self.onnx_shape(node.output[0])
        # Layout-free only when the NCHW and NHWC orders agree, i.e. spatial dims are 1.
        for s in (in_shape, out_shape):
            if len(s) == 4 and (s[2] != 1 or s[3] != 1):
                raise ConversionError(f"{node.name}: Reshape of a spatial tensor {in_shape}->{out_shape}")
        src = self.inp(node.input[0])
        out = self.out_tensor(node.output[0])
        new = self.b.const(node.output[0] + "_shape", np.array(self.tfl_shape(node.output[0]), np.int32))
        self.b.op(
            BuiltinOp.RESHAPE,
            [src, new],
            [out],
            BuiltinOptions.ReshapeOptions,
            options("ReshapeOptions", newShape=np.array(self.tfl_shape(node.output[0]), np.int32)),
        )

    def matmul(self, node: onnx.NodeProto) -> None:
        w = self.const_value(node.input[1]).astype(np.float32)  # [K, M]
        if len(self.onnx_shape(node.input[0])) != 2:
            raise ConversionError(f"{node.name}: MatMul on rank>2 input")
        src = self.inp(node.input[0])
        act, out_name = self.fused_activation(node.output[0])
        out = self.b.tensor(out_name, self.tfl_shape(node.output[0]))
        self.tensors[out_name] = out
        wt = self.b.const(node.input[1], np.ascontiguousarray(w.T))
        bias = self.b.const(node.output[0] + "_bias", np.zeros(w.shape[1], np.float32))
        self.b.op(
            BuiltinOp.FULLY_CONNECTED,
            [src, wt, bias],
            [out],
            BuiltinOptions.FullyConnectedOptions,
            options("FullyConnectedOptions", fusedActivationFunction=act),
        )

    def expand(self, node: onnx.NodeProto) -> None:
        """Broadcasting elementwise consumers make an explicit Expand unnecessary."""
        users = self.consumers.get(node.output[0], [])
        if users and all(u.op_type in self._BINARY for u in users) and node.output[0] not in self.output_names:
            self.tensors[node.output[0]] = self.inp(node.input[0])
            return
        src = self.inp(node.input[0])
        out = self.out_tensor(node.output[0])
        self.b.op(
            BuiltinOp.BROADCAST_TO,
            [src, self.b.const(node.output[0] + "_shape", np.array(self.tfl_shape(node.output[0]), np.int32))],
            [out],
        )

    def identity(self, node: onnx.NodeProto) -> None:
        self.tensors[node.output[0]] = self.inp(node.input[0])

    # ---- driver -------------------------------------------------------------------------------
    def handlers(self) -> dict[str, Callable[[onnx.NodeProto], None]]:
        return {
            "Conv": self.conv,
            "MaxPool": self.maxpool,
            "GlobalAveragePool": self.global_avg_pool,
            "Resize": self.resize,
            "Upsample": self.resize,
            "Concat": self.concat,
            "Add": self.binary,
            "Sub": self.binary,
            "Mul": self.binary,
            "Div": self.binary,
            "Relu": self.unary,
            "Sigmoid": self.unary,
            "Tanh": self.unary,
            "Clip": self.clip,
            "BatchNormalization": self.batchnorm,
            "InstanceNormalization": self.instancenorm,
            "Slice": self.slice,
            "Reshape": self.reshape,
            "Flatten": self.reshape,
            "MatMul": self.matmul,
            "Expand": self.expand,
            "Identity": self.identity,
            "Dropout": self.identity,
        }

    def convert(self, output_aliases: list[str] | None = None) -> bytes:
        spec = self.spec
        raw = self.b.tensor("image", (1, spec.height, spec.width, 3))
        scaled = self.b.tensor("image_scaled", (1, spec.height, spec.width, 3))
        self.b.op(
            BuiltinOp.MUL,
            [raw, self.b.const("rgb_scale", np.array(spec.scale, np.float32))],
            [scaled],
            BuiltinOptions.MulOptions,
            options("MulOptions"),
        )
        normed = self.b.tensor("image_normalised", (1, spec.height, spec.width, 3))
        self.b.op(
            BuiltinOp.ADD,
            [scaled, self.b.const("rgb_offset", np.array(spec.offset, np.float32))],
            [normed],
            BuiltinOptions.AddOptions,
            options("AddOptions"),
        )
        self.tensors[self.input_name] = normed
        handlers = self.handlers()
        for node in self._needed_nodes():
            if id(node) in self.skip:
                continue
            fn = handlers.get(node.op_type)
            if fn is None:
                raise ConversionError(f"op {node.op_type} ({node.name}) has no TFLite mapping")
            fn(node)
        outs = [self.tensors[o] for o in self.output_names]
        aliases = output_aliases or self.output_names
        return self.b.finish([raw], outs, ["image"], aliases)


def convert_onnx(
    model: onnx.ModelProto, spec: InputSpec, outputs: list[str] | None = None, output_aliases: list[str] | None = None
) -> bytes:
    return OnnxToTflite(model, spec, outputs).convert(output_aliases)
