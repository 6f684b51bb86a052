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

from evaluation import sets as evalsets
from evaluation.machine import machine
from tools import sources
from tools.cards import write_card
from tools.validate import ModelRunner, compare, latency_ms, people_and_fur

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
    reference: bytes | None = None  # the float graph at this variant's input size (default: the family's fp32)
    resize: str | None = None  # overrides the family's resize mode
    input_extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"pair": "<other orientation>"}
    # Why a variant ships although its agreement with float misses the bar (its accuracy against
    # ground truth must still be within the bar on every set: tests/test_models.py checks it).
    bar_exception: str = ""


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
    kind: str = "segmentation"  # or "matting": the runtime keeps the model's soft alpha
    compare_sets: tuple[str, ...] | None = None  # eval sets for accuracy vs float (default: all with GT)
    keep: Callable[[evalsets.Sample], bool] | None = None  # which images of those sets count
    keep_note: str = ""
    only: str = ""  # the --only key that builds it, when it is not the family's name


def _eval_images(n: int) -> list[np.ndarray]:
    imgs = []
    for set_name in evalsets.BINARY_SETS:
        for s in evalsets.samples(set_name)[:n]:
            imgs.append(cv2.cvtColor(cv2.imread(str(s.image)), cv2.COLOR_BGR2RGB))
    return imgs


# ---- u2netp ---------------------------------------------------------------------------------
U2NETP_SPLITS = [("Conv_765", 14), ("Conv_898", 12)]
U2NETP_INT8_METHOD = (
    "tools.quantize.quantize_int8_faithful: channel ranges equalised in float (tools/equalize.py, "
    "alpha 0.5), global min/max activation ranges over the calibration inputs, GPTQ weight rounding "
    "(tools/gptq.py, damp 0.01) on the same per-channel grid"
)


def u2netp_calibration_note(inputs: int) -> str:
    return (
        f"rembg_fixtures: {inputs // 2} photos + a mirrored crop of each = {inputs} inputs, global min/max "
        "ranges, input range pinned to 0..255"
    )


def build_u2netp(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
    import onnx
    import onnxruntime as ort

    from tools.fp16 import to_fp16
    from tools.graph_fixes import split_constant_channel
    from tools.onnx_to_tflite import convert_onnx, imagenet_spec
    from tools.quantize import calibration_images, quantize_int8_faithful

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
    calibration = calibration_images((320, 320))
    int8 = quantize_int8_faithful(fp32, calibration, keep_float=[side_float])
    quant_common = {"calibration": u2netp_calibration_note(len(calibration)), "method": U2NETP_INT8_METHOD}
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
            ["pi5", "jetson-orin-nano", "android-arm64", "desktop-x86"],
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


# The slow-board variant: u2netp at a smaller square input (MACs scale with the area: 19.76 G x
# (160/320)^2 = 4.94 G), for the Raspberry Pi 4's still budget (bench/BUDGETS.md). Measured against
# the float model at the same size (the card's bar) and against ground truth next to u2netp-int8.
U2NETP_SMALL = 160


def build_u2netp_small(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
    import onnx
    import onnxruntime as ort

    from tools.graph_fixes import split_constant_channel
    from tools.onnx_to_tflite import convert_onnx, imagenet_spec
    from tools.quantize import calibration_images, quantize_int8_faithful

    s = U2NETP_SMALL
    original = onnx.load(str(src))
    graph = original
    for conv, ch in U2NETP_SPLITS:
        graph = split_constant_channel(graph, conv, ch)
    fp32 = convert_onnx(graph, imagenet_spec(s, s), outputs=["1959"], output_aliases=["mask"])
    # The source ONNX pins its input to 320x320 (every inner size follows from Shape ops): pin it
    # to this size for onnxruntime's reference run.
    for tensor in (*original.graph.input, *original.graph.output):
        for d in (2, 3):
            tensor.type.tensor_type.shape.dim[d].dim_value = s
    sess = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    runner = ModelRunner(fp32, "stretch")
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    worst = 0.0
    for rgb in _eval_images(3):
        x = cv2.resize(rgb, (s, s), interpolation=cv2.INTER_AREA)
        ref = sess.run(["1959"], {"input.1": ((x / 255.0 - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)})
        worst = max(worst, float(np.abs(ref[0][0, 0] - runner.engine.run(x)).max()))
    calibration = calibration_images((s, s))
    int8 = quantize_int8_faithful(fp32, calibration, keep_float=[".*_side.*"])
    built = [
        Built(
            "u2netp-int8-small",
            "int8",
            int8,
            ["pi4"],
            {
                "scheme": "as u2netp-int8 (full INT8, the two split-off constant channels float), at this input size",
                "graph_fixes": [f"split_constant_channel({c}, {k})" for c, k in U2NETP_SPLITS],
                "calibration": u2netp_calibration_note(len(calibration)) + ", at this input size",
                "method": U2NETP_INT8_METHOD,
            },
            f"Slow boards (Raspberry Pi 4): {s}x{s}, {(s / 320) ** 2:.2f}x the MACs of u2netp-int8; coarser "
            "masks (accuracy_vs_float.sets: gt_iou here vs u2netp-int8's card), the guided filter restores "
            "full-resolution edges. Elsewhere the wide look of u2netp-int8 (InferSettings.wide_look_model).",
            reference=fp32,
        )
    ]
    exact = {
        "reference": f"onnxruntime on the source ONNX with its input pinned to {s}x{s}, same input",
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


# ---- MODNet ------------------------------------------------------------------------------------
# (height, width), multiples of 32. 4:3 because camera stills are 4:3 (3:2 and 16:9 stretch
# little); the landscape/portrait pair lets every photo keep its shape. The small one is for
# Pi-class boards: ~4x fewer MACs.
MODNET_SIZES = {"landscape": (384, 512), "portrait": (512, 384), "small": (192, 256)}


def build_modnet(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
    import onnx
    import onnxruntime as ort

    from tools.fp16 import to_fp16
    from tools.onnx_to_tflite import convert_onnx, symmetric_spec
    from tools.quantize import calibration_images, quantize_int8

    original = onnx.load(str(src))
    floats = {
        k: convert_onnx(original, symmetric_spec(h, w), outputs=["output"], output_aliases=["mask"])
        for k, (h, w) in MODNET_SIZES.items()
    }
    sess = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"])
    worst = 0.0
    for key, (h, w) in MODNET_SIZES.items():
        runner = ModelRunner(floats[key], "stretch")
        for rgb in _eval_images(2):
            x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
            ref = sess.run(["output"], {"input": (x / 127.5 - 1.0).transpose(2, 0, 1)[None].astype(np.float32)})
            worst = max(worst, float(np.abs(ref[0][0, 0] - runner.engine.run(x)).max()))
    int8 = {k: quantize_int8(floats[k], calibration_images(MODNET_SIZES[k])) for k in MODNET_SIZES}
    q_int8 = {
        "scheme": "full INT8: int8 per-channel symmetric weights, int8 per-tensor asymmetric activations (the 16 "
        "InstanceNorms included: measured within the bar, so nothing is kept float), int8 input (scale 1, "
        "zero point -128)",
        "calibration": "rembg_fixtures: 16 photos + a mirrored crop of each = 32 inputs, at this input size",
    }
    boards = ["pi5", "jetson-orin-nano", "android-arm64", "desktop-x86"]
    fp16 = to_fp16(floats["landscape"])  # the portrait one is made in place below
    built = [
        Built("modnet-fp32", "fp32", floats["landscape"], ["desktop-x86"], {"scheme": "none (float32)"},
              "The float original (exact rewrite of the ONNX graph); letterboxes portrait photos.",
              resize="letterbox"),
        Built("modnet-fp16", "fp16", fp16, ["android-arm64", "desktop-x86"],
              {"scheme": "float16 weights + DEQUANTIZE; float32 compute on CPU"},
              "x86 CPUs (INT8 measured slower there: the 33 MEAN ops of InstanceNorm run outside XNNPACK's int8 "
              "fast path) and GPU delegates; landscape photos (pairs with modnet-fp16-portrait).",
              reference=floats["landscape"], input_extra={"orientation": "landscape", "pair": "modnet-fp16-portrait"}),
        Built("modnet-fp16-portrait", "fp16", to_fp16(floats["portrait"]), ["android-arm64", "desktop-x86"],
              {"scheme": "float16 weights + DEQUANTIZE; float32 compute on CPU"},
              "Portrait-orientation photos (pairs with modnet-fp16).",
              reference=floats["portrait"], input_extra={"orientation": "portrait", "pair": "modnet-fp16"}),
        Built("modnet-int8", "int8", int8["landscape"], boards, q_int8,
              "Portrait stills on CPU boards; landscape photos (pairs with modnet-int8-portrait).",
              reference=floats["landscape"], input_extra={"orientation": "landscape", "pair": "modnet-int8-portrait"}),
        Built("modnet-int8-portrait", "int8", int8["portrait"], boards, q_int8,
              "Portrait-orientation photos (pairs with modnet-int8).",
              reference=floats["portrait"], input_extra={"orientation": "portrait", "pair": "modnet-int8"}),
        Built("modnet-int8-small", "int8", int8["small"], ["pi4"], q_int8,
              "Pi-class boards: 192x256, ~4x fewer MACs; the guided filter restores full-resolution edges.",
              reference=floats["small"], input_extra={"orientation": "landscape"}),
    ]  # fmt: skip
    exact = {
        "reference": "onnxruntime on the source ONNX, same input size, for each of the three sizes",
        "max_abs_diff_fp32": round(worst, 7),
        "images": 8 * len(MODNET_SIZES),
    }
    return floats["landscape"], built, exact


# ---- MediaPipe face detector (routing: is the subject a person?) --------------------------------
def build_face_detector(src: Path) -> tuple[bytes, list[Built], dict[str, Any]]:
    """Shipped as MediaPipe made it: builtin ops only, 230 KB, ~6 ms; nothing to convert or quantise."""
    original = src.read_bytes()
    built = [
        Built(
            "face-short-range-fp16",
            "fp16",
            original,
            ["pi4", "pi5", "jetson-orin-nano", "desktop-x86", "android-arm64"],
            {"scheme": "as shipped by MediaPipe: float16 weights + DEQUANTIZE, float32 activations"},
            "Routes --model auto and type=auto (routing.py): a big enough face says the photo is a portrait.",
            reference=original,
        )
    ]
    exact = {"reference": "the source file itself (shipped unchanged)", "max_abs_diff_fp32": 0.0, "images": 0}
    return original, built, exact


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
    "u2netp-small": Family(
        "u2netp",
        "u2netp",
        "salient object / product cut-out (general objects), slow boards",
        "stretch",
        IMAGENET_NORM,
        "probability 0..1 that a pixel belongs to the salient object (U^2-Net-p d0, sigmoid)",
        build_u2netp_small,
        {
            "macs": f"{19.76 * (U2NETP_SMALL / 320) ** 2:.2f} G per invoke at {U2NETP_SMALL}x{U2NETP_SMALL} "
            "(19.76 G at 320 x the area ratio; `python -m bench.macs`)"
        },
        only="u2netp-small",
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
    "face-short-range": Family(
        "face-short-range",
        "face_short_range",
        "face detection within ~2 m (routing: person or not)",
        "letterbox",
        "caller: x / 127.5 - 1 (RGB to [-1, 1])",
        "first output: 896 anchors x 16 box regressors; second: 896 face scores (logits)",
        build_face_detector,
        {"anchors": "BlazeFace SSD: strides 8, 16, 16, 16 over 128x128, 2 + 6 anchors per cell (896)"},
        kind="detector",
        compare_sets=(),
    ),
    "modnet": Family(
        "modnet",
        "modnet",
        "portrait matting (people: hair keeps its soft alpha)",
        "stretch",
        "in graph: x / 127.5 - 1 (RGB to [-1, 1])",
        "alpha 0..1 (MODNet matte)",
        build_modnet,
        {"macs": "see `python -m bench.macs` (about 1.7 G at 384x512, 0.43 G at 192x256)"},
        kind="matting",
        compare_sets=("grabcut50", "lemur_cc0"),
        keep=people_and_fur,
        keep_note="people and fur only (grabcut50 person*, every lemur_cc0 image); ",
    ),
}


def build_family(fam: Family, out: Path, log: Callable[[str], None]) -> list[Path]:
    src_info = sources.SOURCES[fam.source]
    t0 = time.time()
    src = sources.fetch(fam.source)
    log(f"[{fam.family}] source {src_info.requirement}:{src_info.member} verified")
    fp32, built, exact = fam.build(src)
    log(f"[{fam.family}] float graph built, max |diff| vs source {exact['max_abs_diff_fp32']:.2e}")
    written = []
    for b in built:
        resize = b.resize or fam.resize
        reference = ModelRunner(b.reference or fp32, resize)
        acc = (
            compare(reference, ModelRunner(b.model, resize), fam.compare_sets, fam.keep)
            if b.variant != "fp32" and fam.kind != "detector"
            else None
        )
        lat = {f"threads_{n}": latency_ms(b.model, n) for n in (1, 2)}
        card: dict[str, Any] = {
            "family": fam.family,
            "variant": b.variant,
            "kind": fam.kind,
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
                "resize": resize,
                "normalisation": fam.normalisation,
                **b.input_extra,
            },
            "output": {"name": "mask", "meaning": fam.output_meaning},
            "quantization": b.quantization,
            "conversion_exactness": exact,
            "accuracy_vs_float": (
                {"note": "this is the float original"}
                if acc is None and fam.kind != "detector"
                else {"note": "the source model shipped unchanged: nothing to compare", "passes": True}
                if acc is None
                else {
                    "method": fam.keep_note
                    + "model-level, each eval image prepared as at run time; maps upsampled to the image; "
                    "agree_* = this variant vs the fp32 variant (threshold 0.5); gt_* = vs ground truth "
                    "(grabcut50: 128 ignored); bar: gt_iou >= gt_iou_float - 0.01, gt_mae <= gt_mae_float "
                    "+ 0.01, agree_mae <= 0.01",
                    "sets": {k: v.as_dict() for k, v in acc.items()},
                    "passes": all(v.passes() for v in acc.values()),
                    **({"exception": b.bar_exception} if b.bar_exception else {}),
                }
            ),
            "latency_ms": {"invoke_median": lat, "machine": machine(), "runtime": "ai-edge-litert (XNNPACK)"},
            **fam.extra,
            "command": COMMAND.format(family=fam.only or fam.family),
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
