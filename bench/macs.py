"""Multiply-accumulates per invoke, counted from a .tflite graph (the basis of on-paper budgets).

conv: H_out W_out C_out (C_in / groups) k_h k_w; depthwise: H_out W_out C_out k_h k_w;
transpose conv: H_in W_in C_in C_out k_h k_w; fully connected: N_in N_out. Elementwise ops,
pooling and resizes are memory-bound and left out (they add < 3% on these models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def count_macs(model: str | Path | bytes) -> dict[str, int]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model) if isinstance(model, bytes) else Interpreter(model_path=str(model))
    it.allocate_tensors()
    shape = {t["index"]: tuple(int(v) for v in t["shape"]) for t in it.get_tensor_details()}
    out: dict[str, int] = {}
    for op in it._get_ops_details():
        name = op["op_name"]
        ins, outs = list(op["inputs"]), list(op["outputs"])
        if name == "CONV_2D":
            _, ho, wo, co = shape[outs[0]]
            _, kh, kw, ci = shape[ins[1]]
            macs = ho * wo * co * ci * kh * kw
        elif name == "DEPTHWISE_CONV_2D":
            _, ho, wo, co = shape[outs[0]]
            _, kh, kw, _ = shape[ins[1]]
            macs = ho * wo * co * kh * kw
        elif name == "TRANSPOSE_CONV":
            co, kh, kw, ci = shape[ins[1]]
            _, hi, wi, _ = shape[ins[2]]
            macs = hi * wi * ci * co * kh * kw
        elif name == "FULLY_CONNECTED":
            n_out, n_in = shape[ins[1]]
            macs = n_out * n_in * int(np.prod(shape[outs[0]][:-1]))
        else:
            continue
        out[name] = out.get(name, 0) + macs
    out["total"] = sum(out.values())
    return out


if __name__ == "__main__":
    import json
    import sys

    from edgematte.models import cards

    rows = {n: count_macs(c.path)["total"] for n, c in cards().items()}
    json.dump({n: round(v / 1e9, 3) for n, v in rows.items()}, sys.stdout, indent=2)
    print()
