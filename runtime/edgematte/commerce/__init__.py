"""The seller workflow on top of the still path: marketplace canvases, platform resizing, scene
placement, and checks before upload (the photo) and after (the cut-out, the finished file).

Names load their module on first use, so `import edgematte.commerce` stays light.
"""

from __future__ import annotations

from edgematte.lazy import lazy_attributes

_LAZY = {
    "Made": "edgematte.commerce.api",
    "as_array": "edgematte.commerce.api",
    "check": "edgematte.commerce.api",
    "check_edges": "edgematte.commerce.api",
    "compliance": "edgematte.commerce.api",
    "compose": "edgematte.commerce.api",
    "place": "edgematte.commerce.api",
    "resize_for": "edgematte.commerce.api",
    "CheckReport": "edgematte.commerce.findings",
    "Finding": "edgematte.commerce.findings",
    "Preset": "edgematte.commerce.marketplace_presets",
    "get_preset": "edgematte.commerce.marketplace_presets",
    "presets": "edgematte.commerce.marketplace_presets",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
