"""Per-channel activation range equalisation of a float graph, before INT8 quantisation.

Why: an INT8 activation tensor has one scale for all its channels. In u2netp every decoder
stage concatenates a skip connection with the upsampled stage below, and ai-edge-quantizer puts
both on one grid; a skip branch whose channels reach 4x the range of its neighbours leaves them
a quarter of the levels (measured up to 4.5x coarser than their own range would need). Scaling
channels to similar ranges before quantising spreads the levels evenly.

How: every CONV_2D output channel c is multiplied by a positive factor s_c (its weights and
bias), and every conv that reads that channel divides the matching input-channel weights by
s_c. In float this changes nothing: ReLU, max-pool, bilinear resize and concatenation commute
with positive per-channel factors, and an ADD ties the channels of its two operands to one
factor. Channels that reach anything else (the graph's input or output, a MUL, a constant ADD,
the sigmoid) keep factor 1. The factors come from the channels' ranges on calibration images,
s_c = (median range of its tensor / range_c) ^ alpha, clipped to [1/max_factor, max_factor], over
that median range (every tensor's median channel then reaches about 1):
the cross-layer equalisation of Nagel et al. ("Data-Free Quantization Through Weight
Equalization and Bias Correction", ICCV 2019) driven by measured activation ranges, with a
migration strength alpha as in SmoothQuant (Xiao et al., ICML 2023).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tools.tflite_builder import constant, conv_ops, is_constant, load_model, op_names, pack_model, set_constant

# Ops a per-channel positive factor passes through unchanged, channel for channel.
_PASS_THROUGH = {"MAX_POOL_2D", "RESIZE_BILINEAR", "QUANTIZE", "DEQUANTIZE"}

Channel = tuple[str, int, int]  # ("conv" | "fixed", tensor index, channel)


class _Groups:
    """Union-find over channels: an ADD's two operands share one factor per channel."""

    def __init__(self) -> None:
        self.parent: dict[Channel, Channel] = {}

    def find(self, a: Channel) -> Channel:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: Channel, b: Channel) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a


def channel_map(model: Any) -> tuple[dict[int, list[Channel]], _Groups, set[Channel]]:
    """Which conv output channel every channel of every tensor carries.

    Returns (tensor index -> its channels, the ADD groups, the groups that must keep factor 1).
    """
    g = model.subgraphs[0]
    kinds = op_names(model)
    carried: dict[int, list[Channel]] = {}
    groups = _Groups()
    fixed: set[Channel] = set()

    def channels_of(t: int) -> list[Channel]:
        if t not in carried:  # the graph input or a constant: not ours to scale
            carried[t] = [("fixed", t, k) for k in range(int(g.tensors[t].shape[-1]))]
            fixed.update(carried[t])
        return carried[t]

    for op in g.operators:
        kind = kinds[op.opcodeIndex]
        ins, out = [int(i) for i in op.inputs], int(op.outputs[0])
        variable = [t for t in ins if t >= 0 and not is_constant(model, g.tensors[t])]
        if kind == "CONV_2D":
            carried[out] = [("conv", out, k) for k in range(int(g.tensors[out].shape[-1]))]
        elif kind in _PASS_THROUGH:
            carried[out] = channels_of(ins[0])
        elif kind == "CONCATENATION":
            carried[out] = [c for t in ins for c in channels_of(t)]
        elif kind == "ADD" and len(variable) == 2:
            a, b = channels_of(variable[0]), channels_of(variable[1])
            for x, y in zip(a, b, strict=True):
                groups.union(x, y)
            carried[out] = a
        else:  # MUL, an ADD of a constant, LOGISTIC, ...: every channel in and out stays as it is
            for t in variable:
                fixed.update(channels_of(t))
            carried[out] = [("fixed", out, k) for k in range(int(g.tensors[out].shape[-1]))]
            fixed.update(carried[out])
    for t in g.outputs:
        fixed.update(channels_of(int(t)))
    return carried, groups, {groups.find(c) for c in fixed}


def channel_ranges(model: bytes, images: Iterable[np.ndarray]) -> dict[int, np.ndarray]:
    """Per-channel max |x| of every 4-D float tensor of `model` over `images` (1xHxWx3 float32)."""
    from tools.calibration import feed, interpreter

    it = interpreter(model)
    tensors = [t["index"] for t in it.get_tensor_details() if len(t["shape"]) == 4 and t["dtype"] == np.float32]
    out: dict[int, np.ndarray] = {}
    for x in images:
        feed(it, x)
        for t in tensors:
            try:
                a = it.get_tensor(t)
            except ValueError:  # a tensor the interpreter did not keep
                continue
            out[t] = np.maximum(out.get(t, 0.0), np.abs(a).max(axis=(0, 1, 2)))
    return out


def equalize(
    float_model: bytes, images: list[np.ndarray], alpha: float = 0.5, max_factor: float = 8.0
) -> tuple[bytes, int]:
    """The same function in float with channel ranges evened out (module notes).

    Parameters
    ----------
    float_model
        A float .tflite (CONV_2D weights O x kh x kw x I, NHWC activations).
    images
        Calibration inputs (1xHxWx3 float32, as the model takes them): where the ranges come from.
    alpha
        How far each channel moves toward its tensor's median range: 1 all the way, 0 not at all.
        Default 0.5: on u2netp's calibration photos it gave the lowest output error of the INT8
        model against float (0.3 and 0.7 measured higher, 1.0 clearly higher: fully equalised
        channels hand the error on to the weights of the convs that read them).
    max_factor
        No channel is scaled by more than this or less than its inverse. Default 8: a nearly dead
        channel is not blown up into noise.

    Returns
    -------
    (model, scaled) where scaled is the number of channel groups given a factor other than 1.
    Every conv output tensor is also brought to a median channel range of about 1, so tensors that
    meet in a concatenation start from comparable ranges.
    """
    model = load_model(float_model)
    g = model.subgraphs[0]
    carried, groups, fixed = channel_map(model)
    ranges = channel_ranges(float_model, images)
    group_range: dict[Channel, float] = {}
    for t, channels in carried.items():
        if t in ranges:
            for c, r in zip(channels, ranges[t], strict=True):
                k = groups.find(c)
                group_range[k] = max(group_range.get(k, 0.0), float(r))
    factor: dict[Channel, float] = dict.fromkeys(fixed, 1.0)
    for conv in conv_ops(model):
        roots = [groups.find(c) for c in carried[conv.y]]
        r = np.array([group_range.get(k, 0.0) for k in roots])
        median = float(np.median(r[r > 0])) if (r > 0).any() else 1.0
        for k, rk in zip(roots, r, strict=True):
            if k in factor:
                continue
            # Toward the tensor's median by alpha, then the whole tensor brought to a median of ~1
            # (so tensors that meet in a concatenation start from comparable ranges).
            toward = 1.0 if rk <= 1e-6 * median else float(np.clip((median / rk) ** alpha, 1 / max_factor, max_factor))
            factor[k] = toward / median
    for conv in conv_ops(model):
        wt, bt = g.tensors[conv.w], g.tensors[conv.b]
        w = constant(model, wt).astype(np.float64)
        out_f = np.array([factor.get(groups.find(c), 1.0) for c in carried[conv.y]])
        in_f = np.array([factor.get(groups.find(c), 1.0) for c in carried.get(conv.x, [])] or np.ones(w.shape[-1]))
        set_constant(model, wt, w * out_f[:, None, None, None] / in_f[None, None, None, :])
        set_constant(model, bt, constant(model, bt).astype(np.float64) * out_f)
    return pack_model(model), sum(1 for v in factor.values() if v != 1.0)
