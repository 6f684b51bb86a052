"""Rebuild every shipped model from its source wheel: `python -m tools.build_models [--only FAMILY]`.

For each family: fetch and verify the source, build the float graph, derive the
FP16 and INT8 variants, check each against the float original on ../shared/eval,
time it at 1 and 2 threads, and write <name>.tflite + <name>.json into models/.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import evalsets
from tools import sources
from tools.cards import machine, write_card
from tools.validate import ModelRunner, compare, latency_ms

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
COMMAND = "python -m tools.build_models --only {family}"

IMAGENET_NORM = "in graph: (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] (ImageNet)"


@dataclass
class Built:
    name: str
    variant: str
    model: bytes
    profiles: list[str]
    quantization: dict[str, Any]
    note: str = ""


@dataclass
class Family:
    family: str
    source: str
    task: str
    resize: str
    normalisation: str
    output_meaning: str
    build: Callable[[Path], tuple[bytes, list[Built], dict[str, Any]]]
    extra: dict[str, Any] = field(default_factory=dict)


def _eval_images(n: int) -> list[np.ndarray]:
    imgs = []
    for set_name in evalsets.BINARY_SETS:
        for s in evalsets.samples(set_name)[:n]:
            imgs.append(cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB))
    return imgs


# ---- u2netp ---------------------------------------------------------------------------------
U2NETP_SPLITS = [("Conv_765", 14), ("Conv_898", 12)]


def build_u2netp(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
    import onnx
    import onnxruntime as ort

    from tools.fp16 import to_fp16
    from tools.graph_fixes import split_constant_channel
    from tools.onnx_to_tflite import convert_onnx, imagenet_spec
    from tools.quantize import calibration_images, quantize_int8

    original = onnx.load(str(src))
    graph = original
    for conv, ch in U2NETP_SPLITS:
        graph = split_constant_channel(graph, conv, ch)
    fp32 = convert_onnx(graph, imagenet_spec(320, 320), outputs=["1959"], output_aliases=["mask"])

    # Exactness of conversion + rewrite against the ONNX original (onnxruntime).
    sess = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    runner = ModelRunner(fp32, "stretch")
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    worst = 0.0
    for rgb in _eval_images(3):
        x = cv2.resize(rgb, (320, 320), interpolation=cv2.INTER_AREA)
        ref = sess.run(["1959"], {"input.1": ((x / 255.0 - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)})
        ours = runner.engine.run(x)
        worst = max(worst, float(np.abs(ref[0][0, 0] - ours).max()))

    side_float = ".*_side.*"  # the split-off constant channels (see tools/graph_fixes.py)
    int8 = quantize_int8(fp32, calibration_images((320, 320)), keep_float=[side_float])
    quant_common = {
        "calibration": "rembg_fixtures: 16 photos + a mirrored crop of each = 32 inputs, min/max "
        "ranges, input range pinned to 0..255"
    }
    built = [
        Built(
            "u2netp-fp32",
            "fp32",
            fp32,
            ["desktop-x86"],
            {"scheme": "none (float32)"},
            "Exact rewrite of the ONNX graph; kept for reference and for CPUs where INT8 is not faster.",
        ),
        Built(
            "u2netp-fp16",
            "fp16",
            to_fp16(fp32),
            ["android-arm64"],
            {"scheme": "float16 weights + DEQUANTIZE (TFLite fp16 layout); float32 compute on CPU"},
            "For GPU delegates (phones); on CPU it runs as fp32 with half the file size.",
        ),
        Built(
            "u2netp-int8",
            "int8",
            int8,
            ["pi4", "pi5", "jetson-orin-nano", "android-arm64", "desktop-x86"],
            {
                "scheme": "full INT8: int8 per-channel symmetric weights, int8 per-tensor asymmetric activations, "
                "int8 input (scale 1, zero point -128 = pixel - 128), int8 output",
                "float_layers": "the two split-off constant channels (Conv_765 ch14, Conv_898 ch12) and the convs "
                "that read them: 2 x (1-channel conv + resize + 1-input-channel conv)",
                "graph_fixes": [f"split_constant_channel({c}, {k})" for c, k in U2NETP_SPLITS],
                **quant_common,
            },
            "Default model for product/object cut-outs on every profile.",
        ),
    ]
    exact = {
        "reference": "onnxruntime on the source ONNX, same 320x320 input",
        "max_abs_diff_fp32": round(worst, 7),
        "images": 12,
    }
    return fp32, built, exact


# ---- MediaPipe selfie -------------------------------------------------------------------------
def _selfie_builder(source_name: str) -> Callable[[Path], tuple[bytes, list[Built], dict[str, Any]]]:
    def build(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
        from edgematte.engine import Engine
        from tools.fp16 import to_fp16
        from tools.mediapipe_rewrite import rewrite_selfie
        from tools.quantize import calibration_images, quantize_weights_mixed

        original = src.read_bytes()
        fp32 = rewrite_selfie(original)
        # Exactness: the original file (LiteRT resolves its custom op through XNNPACK) on x/255
        # against our builtin-op rewrite on raw pixels.
        ref = Engine(src, 2)
        ours = ModelRunner(fp32, "stretch").engine
        h, w = ours.input_hw
        worst = 0.0
        for rgb in _eval_images(3):
            x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
            ref._it.set_tensor(ref.input.index, (x.astype(np.float32) / 255.0)[None])
            ref._it.invoke()
            a = ref._it.get_tensor(ref.output.index)[0, :, :, 0]
            worst = max(worst, float(np.abs(a - ours.run(x)).max()))
        name = source_name.replace("_", "-")
        mixed, float_layers = quantize_weights_mixed(fp32, calibration_images((h, w)), target_mae=0.001)
        built = [
            Built(
                f"{name}-fp32",
                "fp32",
                fp32,
                ["pi4", "pi5", "jetson-orin-nano", "desktop-x86", "android-arm64"],
                {"scheme": "none (float32); fp16 constants of the original folded to fp32"},
                "Fastest on every CPU we measured: the graph is small enough that INT8 does not pay.",
            ),
            Built(
                f"{name}-fp16",
                "fp16",
                to_fp16(fp32),
                ["android-arm64"],
                {"scheme": "float16 weights + DEQUANTIZE (the original MediaPipe layout, builtin ops only)"},
                "For GPU delegates (phones).",
            ),
            Built(
                f"{name}-mixed",
                "mixed",
                mixed,
                ["android-arm64"],
                {
                    "scheme": "mixed: int8 per-channel symmetric weights (expanded to float at load), float32 "
                    "activations; the most sensitive layers keep float weights",
                    "float_layers": float_layers,
                    "selection": "per-layer sensitivity (output MAE vs float when only that layer is int8) on the "
                    "calibration photos; layers kept float, worst first, until the whole model's "
                    "calibration MAE <= 0.001",
                    "why_not_static_int8": "static INT8 (int8 activations) agrees with float at IoU 0.55-0.91 "
                    "and runs 4-10x slower than fp32 on x86 XNNPACK (measured)",
                },
                "Smallest file (int8 weights) for size-bound apps; same speed as fp32 on CPU.",
            ),
        ]
        exact = {
            "reference": "the source .tflite (custom op via XNNPACK) on x / 255",
            "max_abs_diff_fp32": round(worst, 7),
            "images": 12,
        }
        return fp32, built, exact

    return build


FAMILIES = {
    "u2netp": Family(
        "u2netp",
        "u2netp",
        "salient object / product cut-out (general objects)",
        "stretch",
        IMAGENET_NORM,
        "probability 0..1 that a pixel belongs to the salient object (U^2-Net-p d0, sigmoid)",
        build_u2netp,
        {"macs": "19.8 G per invoke at 320x320 (TFLite converter estimate, shared/notes/conversion.md)"},
    ),
    "selfie-general": Family(
        "selfie-general",
        "selfie_general",
        "person segmentation (selfie, live preview)",
        "stretch",
        "in graph: x / 255",
        "probability 0..1 that a pixel belongs to a person",
        _selfie_builder("selfie_general"),
    ),
    "selfie-landscape": Family(
        "selfie-landscape",
        "selfie_landscape",
        "person segmentation, 16:9 frames (live preview)",
        "stretch",
        "in graph: x / 255",
        "probability 0..1 that a pixel belongs to a person",
        _selfie_builder("selfie_landscape"),
    ),
}


def build_family(fam: Family, out: Path, log: Callable[[str], None]) -> list[Path]:
    src_info = sources.SOURCES[fam.source]
    t0 = time.time()
    src = sources.fetch(fam.source)
    log(f"[{fam.family}] source {src_info.requirement}:{src_info.member} verified")
    fp32, built, exact = fam.build(src)
    log(f"[{fam.family}] float graph built, max |diff| vs source {exact['max_abs_diff_fp32']:.2e}")
    reference = ModelRunner(fp32, fam.resize)
    written = []
    for b in built:
        acc = compare(reference, ModelRunner(b.model, fam.resize)) if b.variant != "fp32" else None
        lat = {f"threads_{n}": latency_ms(b.model, n) for n in (1, 2)}
        card: dict[str, Any] = {
            "family": fam.family,
            "variant": b.variant,
            "task": fam.task,
            "profiles": b.profiles,
            "note": b.note,
            "source": {
                "package": src_info.package,
                "version": src_info.version,
                "path_in_wheel": src_info.member,
                "md5": src_info.md5,
                "sha256": src_info.sha256,
                "upstream": src_info.upstream,
            },
            "licence": src_info.licence,
            "input": {
                "name": "image",
                "layout": "NHWC",
                "range": "RGB 0..255 (sRGB)",
                "resize": fam.resize,
                "normalisation": fam.normalisation,
            },
            "output": {"name": "mask", "meaning": fam.output_meaning},
            "quantization": b.quantization,
            "conversion_exactness": exact,
            "accuracy_vs_float": (
                {"note": "this is the float original"}
                if acc is None
                else {
                    "method": "model-level, each eval image prepared as at run time; maps upsampled to the image; "
                    "agree_* = this variant vs the fp32 variant (threshold 0.5); gt_* = vs ground truth "
                    "(grabcut50: 128 ignored); bar: gt_iou >= gt_iou_float - 0.01, gt_mae <= gt_mae_float "
                    "+ 0.01, agree_mae <= 0.01",
                    "sets": {k: v.as_dict() for k, v in acc.items()},
                    "passes": all(v.passes() for v in acc.values()),
                }
            ),
            "latency_ms": {"invoke_median": lat, "machine": machine(), "runtime": "ai-edge-litert (XNNPACK)"},
            **fam.extra,
            "command": COMMAND.format(family=fam.family),
        }
        written.append(write_card(out, b.name, b.model, card))
        passes = "" if acc is None else f", bar {'met' if card['accuracy_vs_float']['passes'] else 'NOT met'}"
        log(
            f"[{fam.family}] {b.name}: {len(b.model) / 1e6:.2f} MB, {lat['threads_1']} / {lat['threads_2']} ms "
            f"(1/2 threads){passes}"
        )
    log(f"[{fam.family}] done in {time.time() - t0:.0f} s")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", action="append", choices=sorted(FAMILIES), help="build only these families")
    ap.add_argument("--out", type=Path, default=MODELS)
    args = ap.parse_args(argv)
    if not evalsets.available():
        print(f"eval images not found at {evalsets.eval_root()} (set EDGEMATTE_EVAL)", file=sys.stderr)
        return 2
    for name in args.only or list(FAMILIES):
        build_family(FAMILIES[name], args.out, lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
