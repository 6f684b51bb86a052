"""Light imports: `import edgematte` and `edgematte --help` load none of the runtime's heavy parts,
and importing or using edgematte leaves the host's Pillow settings as they were."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numba", "cv2", "ai_edge_litert", "edgematte.still", "edgematte.kernels")


def _loaded_after(code: str) -> dict:
    """Run `code` in a fresh interpreter; return which heavy modules it loaded."""
    probe = code + f"\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_edgematte_is_light():
    loaded = _loaded_after("import edgematte\nfrom edgematte import remove, ImageError, StillSettings, __version__")
    assert not any(loaded.values()), loaded


def test_help_is_light():
    code = (
        "import sys\nimport edgematte.cli\nfrom edgematte.cli import main\n"
        "def _raise(code):\n    raise SystemExit(code)\n"
        "edgematte.cli._exit_now = _raise  # main() ends the process without teardown: keep it alive here\n"
        "for argv in (['e', '--help'], ['e', 'remove', '--help'], ['e', 'compose', '--help']):\n"
        "    sys.argv = argv\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert e.code in (0, None), e.code\n"
    )
    loaded = _loaded_after(code)
    assert not any(loaded.values()), loaded


def test_using_a_name_loads_the_runtime():
    loaded = _loaded_after("import edgematte\nedgematte.Session")
    assert loaded["edgematte.still"] and loaded["cv2"]


def test_pillow_global_limit_is_untouched(sample_jpg):
    code = (
        "from PIL import Image\nbefore = Image.MAX_IMAGE_PIXELS\nimport edgematte\n"
        f"edgematte.remove({str(sample_jpg)!r}, model='u2netp-int8')\n"
        "assert Image.MAX_IMAGE_PIXELS == before, (before, Image.MAX_IMAGE_PIXELS)\n"
    )
    _loaded_after(code)
