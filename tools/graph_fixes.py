"""Exact ONNX graph rewrites that make a float model quantisation-friendly.

`split_constant_channel`: some trained nets grow a "bias channel": a conv output
channel that is almost constant (u2netp: Conv_765 channel 14 sits at ~226 +- 0.2 on
every image) and that a later conv multiplies by a huge weight to cancel a huge
bias (Conv_787: weight -5.57, bias 1361). Under INT8 this breaks twice: the per-tensor
activation scale is set by the constant channel (the 15 real channels lose 2 bits),
and the per-channel weight scale is set by the huge tap (the real weights round to
zero). Routing that one channel through its own tensors and its own conv, then
adding the two conv outputs, is exact in float and gives each part its own scale.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Ops that act on each channel independently, so a channel can be split off through them.
CHANNELWISE = {"Relu", "Resize", "Clip", "Sigmoid"}


class GraphFixError(RuntimeError):
    pass


def _init_map(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {i.name: i for i in model.graph.initializer}


def _add_init(model: onnx.ModelProto, name: str, value: np.ndarray) -> str:
    model.graph.initializer.append(numpy_helper.from_array(value, name))
    return name


def channel_counts(model: onnx.ModelProto, names: list[str]) -> dict[str, int]:
    """Channel counts (dim 1) of tensors, from onnx shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    dims = {vi.name: vi.type.tensor_type.shape.dim for vi in inferred.graph.value_info}
    out: dict[str, int] = {}
    for n in names:
        if n not in dims or not dims[n][1].dim_value:
            raise GraphFixError(f"channel count of {n} unknown")
        out[n] = dims[n][1].dim_value
    return out


def split_constant_channel(model: onnx.ModelProto, conv_name: str, channel: int) -> onnx.ModelProto:
    """Split output `channel` of conv `conv_name` into its own branch (see module doc)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = _init_map(model)
    nodes = list(g.node)
    by_name = {n.name: n for n in nodes}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    prod = by_name[conv_name]
    if prod.op_type != "Conv":
        raise GraphFixError(f"{conv_name} is not a Conv")

    w = numpy_helper.to_array(inits[prod.input[1]])
    b = numpy_helper.to_array(inits[prod.input[2]]) if len(prod.input) > 2 else np.zeros(w.shape[0], w.dtype)
    keep = [c for c in range(w.shape[0]) if c != channel]
    tag = f"{conv_name}_c{channel}"
    new_nodes: list[onnx.NodeProto] = []

    main_out, side_out = prod.output[0], f"{tag}_side"
    new_nodes.append(
        helper.make_node(
            "Conv",
            [prod.input[0], _add_init(model, f"{tag}_w_main", w[keep]), _add_init(model, f"{tag}_b_main", b[keep])],
            [main_out],
            name=f"{conv_name}_main",
            **{a.name: helper.get_attribute_value(a) for a in prod.attribute},
        )
    )
    new_nodes.append(
        helper.make_node(
            "Conv",
            [
                prod.input[0],
                _add_init(model, f"{tag}_w_side", w[channel : channel + 1]),
                _add_init(model, f"{tag}_b_side", b[channel : channel + 1]),
            ],
            [side_out],
            name=f"{conv_name}_side",
            **{a.name: helper.get_attribute_value(a) for a in prod.attribute},
        )
    )
    replaced = {id(prod)}

    # Follow channel-wise ops (Shape readers only need H, W and keep reading the main branch).
    cur = main_out
    while True:
        users = [u for u in consumers.get(cur, []) if u.op_type != "Shape"]
        if len(users) != 1 or users[0].op_type not in CHANNELWISE:
            break
        op = users[0]
        side_next = f"{tag}_{op.name}_side"
        inputs = [side_out, *op.input[1:]]
        if op.op_type == "Resize" and len(op.input) > 3 and op.input[3]:
            # sizes is [N, C, H, W]: the side branch has one channel.
            sl = f"{tag}_{op.name}_hw"
            new_nodes.append(
                helper.make_node(
                    "Slice",
                    [
                        op.input[3],
                        _add_init(model, sl + "_s", np.array([2])),
                        _add_init(model, sl + "_e", np.array([4])),
                    ],
                    [sl],
                )
            )
            sizes = f"{tag}_{op.name}_sizes"
            new_nodes.append(
                helper.make_node("Concat", [_add_init(model, sl + "_nc", np.array([1, 1])), sl], [sizes], axis=0)
            )
            inputs[3] = sizes
        new_nodes.append(
            helper.make_node(
                op.op_type,
                inputs,
                [side_next],
                name=f"{op.name}_side",
                **{a.name: helper.get_attribute_value(a) for a in op.attribute},
            )
        )
        side_out, cur = side_next, op.output[0]

    users = consumers.get(cur, [])
    if len(users) != 1:
        raise GraphFixError(f"{cur}: expected one consumer after the channel-wise chain, found {len(users)}")
    cat = users[0]
    if cat.op_type == "Concat":
        if helper.get_attribute_value(cat.attribute[0]) != 1:
            raise GraphFixError(f"{cat.name}: concat not on channels")
        counts = channel_counts(model, [i for i in cat.input if i != cur])
        offset = 0
        for i in cat.input:
            if i == cur:
                break
            offset += counts[i]
        index = offset + channel
        cat_users = consumers.get(cat.output[0], [])
        if len(cat_users) != 1 or cat_users[0].op_type != "Conv":
            raise GraphFixError(f"{cat.name}: expected a single Conv consumer")
        conv = cat_users[0]
    elif cat.op_type == "Conv":
        index, conv = channel, cat
    else:
        raise GraphFixError(f"{cur}: consumer {cat.op_type} is not Concat or Conv")

    cw = numpy_helper.to_array(inits[conv.input[1]])
    cb = numpy_helper.to_array(inits[conv.input[2]]) if len(conv.input) > 2 else np.zeros(cw.shape[0], cw.dtype)
    ckeep = [c for c in range(cw.shape[1]) if c != index]
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    if attrs.get("group", 1) != 1:
        raise GraphFixError(f"{conv.name}: grouped consumer conv")
    ctag = f"{conv.name}_in{index}"
    main_y, side_y = f"{ctag}_main", f"{ctag}_side"
    # The big bias belongs with the constant channel it cancels.
    new_nodes.append(
        helper.make_node(
            "Conv",
            [conv.input[0], _add_init(model, f"{ctag}_w_main", cw[:, ckeep])],
            [main_y],
            name=f"{conv.name}_main",
            **attrs,
        )
    )
    new_nodes.append(
        helper.make_node(
            "Conv",
            [
                side_out,
                _add_init(model, f"{ctag}_w_side", cw[:, index : index + 1]),
                _add_init(model, f"{ctag}_b_side", cb),
            ],
            [side_y],
            name=f"{conv.name}_side",
            **attrs,
        )
    )
    new_nodes.append(helper.make_node("Add", [main_y, side_y], [conv.output[0]], name=f"{conv.name}_sum"))
    replaced.add(id(conv))

    out_nodes: list[onnx.NodeProto] = []
    for n in nodes:
        if id(n) in replaced:
            if n is prod:
                out_nodes.extend(new_nodes[:2])
            else:
                out_nodes.extend(new_nodes[2:])
            continue
        out_nodes.append(n)
    del g.node[:]
    g.node.extend(_toposort(out_nodes, {i.name for i in g.input} | set(inits) | {i.name for i in g.initializer}))
    return model


def _toposort(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    avail = set(available) | {""}
    pending = list(nodes)
    ordered: list[onnx.NodeProto] = []
    while pending:
        progressed = False
        rest = []
        for n in pending:
            if all(i in avail for i in n.input):
                ordered.append(n)
                avail.update(n.output)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            raise GraphFixError(f"cycle or missing input near {rest[0].name}")
        pending = rest
    return ordered
