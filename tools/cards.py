"""Model cards: the JSON written next to every shipped .tflite."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def tensor_summary(model: bytes) -> dict[str, dict[str, Any]]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    out = {}
    for kind, d in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        scale, zp = d["quantization"]
        entry: dict[str, Any] = {"shape": [int(v) for v in d["shape"]], "dtype": np.dtype(d["dtype"]).name}
        if scale:
            entry["quantization"] = {"scale": float(scale), "zero_point": int(zp)}
        out[kind] = entry
    return out


def op_counts(model: bytes) -> dict[str, int]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    counts: dict[str, int] = {}
    for op in it._get_ops_details():
        counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    return dict(sorted(counts.items()))


def write_card(folder: Path, name: str, model: bytes, card: dict[str, Any]) -> Path:
    """Write <name>.tflite and <name>.json; the card gets file, sha256, size, tensors and ops filled in."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.tflite"
    path.write_bytes(model)
    tensors = tensor_summary(model)
    full = {
        "name": name,
        **card,
        "file": path.name,
        "sha256": hashlib.sha256(model).hexdigest(),
        "bytes": len(model),
        "tflite_ops": op_counts(model),
        "built_with": {p: _version(p) for p in ("ai-edge-litert", "ai-edge-quantizer", "onnx", "onnxruntime", "numpy")},
    }
    full["input"] = {**card.get("input", {}), **tensors["input"]}
    full["output"] = {**card.get("output", {}), **tensors["output"]}
    out = folder / f"{name}.json"
    out.write_text(json.dumps(full, indent=2) + "\n")
    return out
