"""Activation range equalisation: exact channel rescaling that makes per-tensor INT8 fit better.

TFLite quantises an activation tensor with one scale for all its channels. When one
channel peaks at 25 and its neighbour at 0.5, the neighbour gets two or three levels.
Scaling channel c of a conv output by s_c (weights row c and bias c) and dividing the
weights that read channel c by s_c is exact in float, because everything between
them is positively homogeneous and channel-wise (ReLU, max-pool, bilinear resize,
concatenation, residual addition). Choosing s_c ~ (target / range_c)^alpha pulls
channel ranges together (alpha trades activation resolution against the resolution
of the weights that absorb 1 / s_c; the weights are quantised per output channel).

Channels tied by a residual Add or by a Concat must share one scale: a union-find
over (tensor, channel) pairs builds those classes; a class that reaches a graph
output or any other op keeps scale 1.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import onnx
from onnx import numpy_helper

PASS_THROUGH = {"Relu", "MaxPool", "Resize"}  # channel-wise and positively homogeneous


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, x: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def channel_ranges(model: onnx.ModelProto, feeds: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of every 4-D tensor over the calibration feeds (NCHW)."""
    from tools.onnx_to_tflite import run_all_tensors

    out: dict[str, np.ndarray] = {}
    for x in feeds:
        for name, v in run_all_tensors(model, x).items():
            if v.ndim == 4 and v.dtype == np.float32:
                m = np.abs(v).max(axis=(0, 2, 3))
                out[name] = m if name not in out else np.maximum(out[name], m)
    return out


def equalize(
    model: onnx.ModelProto,
    ranges: dict[str, np.ndarray],
    alpha: float = 0.5,
    max_scale: float = 32.0,
) -> tuple[onnx.ModelProto, dict[str, float]]:
    """Return the rescaled model and a summary (classes scaled, median/max scale)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for n in g.node:
        for i in n.input:
            if i:
                consumers[i].append(n)
    channels = {k: len(v) for k, v in ranges.items()}
    uf = _UnionFind()
    frozen: set[tuple[str, int]] = set()
    sources: list[tuple[onnx.NodeProto, str]] = []  # convs whose output channels we may scale

    def n_ch(t: str) -> int:
        return channels.get(t, 0)

    for n in g.node:
        if n.op_type == "Conv" and n.output[0] in channels and n.input[1] in inits:
            sources.append((n, n.output[0]))
        if n.op_type in PASS_THROUGH and n.input[0] in channels and n.output[0] in channels:
            for c in range(n_ch(n.output[0])):
                uf.union((n.input[0], c), (n.output[0], c))
        elif n.op_type == "Add" and all(i in channels for i in n.input) and n.output[0] in channels:
            for c in range(n_ch(n.output[0])):
                uf.union((n.input[0], c), (n.output[0], c))
                uf.union((n.input[1], c), (n.output[0], c))
        elif n.op_type == "Concat" and n.output[0] in channels:
            off = 0
            for i in n.input:
                for c in range(n_ch(i)):
                    uf.union((i, c), (n.output[0], off + c))
                off += n_ch(i)

    # Any use other than pass-through ops, Add, Concat, a conv's data input or a Shape read freezes the class.
    outputs = {o.name for o in g.output}
    for t in channels:
        uses = consumers.get(t, [])
        ok = t not in outputs and all(
            u.op_type in PASS_THROUGH | {"Add", "Concat", "Shape"} or (u.op_type == "Conv" and u.input[0] == t)
            for u in uses
        )
        if t == g.input[0].name:
            ok = False
        if not ok:
            frozen.update((t, c) for c in range(n_ch(t)))
    # Every tensor in a class must be produced by a source conv or a pass-through/Add/Concat.
    producers = {o: n for n in g.node for o in n.output}
    for t in channels:
        p = producers.get(t)
        if p is None or p.op_type not in PASS_THROUGH | {"Add", "Concat", "Conv"}:
            frozen.update((t, c) for c in range(n_ch(t)))

    members: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for t in channels:
        for c in range(n_ch(t)):
            members[uf.find((t, c))].append((t, c))
    bad_roots = {uf.find(m) for m in frozen}
    target = float(np.median(np.concatenate([r[r > 0] for r in ranges.values()])))
    scale: dict[tuple[str, int], float] = {}
    for root, mem in members.items():
        if root in bad_roots:
            continue
        r = max(float(ranges[t][c]) for t, c in mem)
        if r <= 0:
            continue
        s = float(np.clip((target / r) ** alpha, 1.0 / max_scale, max_scale))
        for m in mem:
            scale[m] = s

    def arr(name: str) -> np.ndarray:
        return numpy_helper.to_array(inits[name]).astype(np.float32)

    def put(name: str, value: np.ndarray) -> None:
        inits[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))

    # Weights may be shared between convs; copy-on-write keeps each conv's own scaling.
    used_names: defaultdict[str, int] = defaultdict(int)
    for n in g.node:
        if n.op_type == "Conv":
            for i in n.input[1:]:
                used_names[i] += 1
    for n in g.node:
        if n.op_type != "Conv":
            continue
        for k, i in enumerate(n.input[1:], start=1):
            if i and used_names[i] > 1:
                new = f"{i}__{n.name}"
                g.initializer.append(numpy_helper.from_array(arr(i), new))
                inits[new] = g.initializer[-1]
                n.input[k] = new

    applied = []
    for n in g.node:
        if n.op_type != "Conv" or n.input[1] not in inits:
            continue
        w = arr(n.input[1])
        changed = False
        out_t, in_t = n.output[0], n.input[0]
        so = np.array([scale.get((out_t, c), 1.0) for c in range(w.shape[0])], np.float32)
        if np.any(so != 1.0):
            w *= so[:, None, None, None]
            if len(n.input) > 2 and n.input[2]:
                put(n.input[2], arr(n.input[2]) * so)
            changed = True
            applied.extend(so[so != 1.0].tolist())
        group = next((onnx.helper.get_attribute_value(a) for a in n.attribute if a.name == "group"), 1)
        si = np.array([scale.get((in_t, c), 1.0) for c in range(w.shape[1] * group)], np.float32)
        if np.any(si != 1.0):
            if group == 1:
                w /= si[None, :, None, None]
            else:  # depthwise: input channel c feeds output channel c
                w /= si.reshape(w.shape[0], 1, 1, 1)
            changed = True
        if changed:
            put(n.input[1], w)
    summary = {
        "classes_scaled": float(len({uf.find(m) for m in scale})),
        "median_scale": float(np.median(applied)) if applied else 1.0,
        "max_scale": float(np.max(applied)) if applied else 1.0,
        "min_scale": float(np.min(applied)) if applied else 1.0,
    }
    return model, summary
