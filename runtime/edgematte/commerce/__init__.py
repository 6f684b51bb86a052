"""The seller workflow on top of `remove()`: marketplace canvases, platform resizing, scene
placement, and checks before upload (the photo) and after (the cut-out, the finished file)."""

from edgematte.commerce.api import Made, as_array, check, check_edges, compliance, compose, place, resize_for
from edgematte.commerce.findings import CheckReport, Finding
from edgematte.commerce.presets import Preset, get_preset, presets

__all__ = [
    "CheckReport",
    "Finding",
    "Made",
    "Preset",
    "as_array",
    "check",
    "check_edges",
    "compliance",
    "compose",
    "get_preset",
    "place",
    "presets",
    "resize_for",
]
