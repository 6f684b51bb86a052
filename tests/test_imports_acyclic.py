"""The package dependency graph stays acyclic: runtime <- evaluation <- tools <- bench (tests may use all).

Checked by parsing the source with `ast` (nothing is imported), so it runs in well under a second and
catches lazy imports inside functions as well as top-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def imported_packages(source: str, filename: str = "<string>") -> set[str]:
    """Top-level package names a module imports: `import a.b`, `from a.b import c`, `import_module("a.b")`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])  # relative imports stay inside their own package
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value.split(".")[0])
    return found


def violations(folder: str, forbidden: set[str]) -> list[str]:
    root = REPO / folder
    files = sorted(root.rglob("*.py"))
    assert files, f"no Python files under {root}"
    out = []
    for path in files:
        bad = imported_packages(path.read_text(encoding="utf-8"), str(path)) & forbidden
        out += [f"{path.relative_to(REPO)} imports {name}" for name in sorted(bad)]
    return out


def test_parser_sees_every_import_form():
    # Guards the check itself: a parser that missed an import form would let every test below pass.
    src = "import bench.quality\nfrom tools.cards import write_card\ndef f():\n    import evaluation\n"
    src += "import importlib\nimportlib.import_module('numpy.linalg')\nfrom . import sibling\n"
    assert imported_packages(src) == {"bench", "tools", "evaluation", "importlib", "numpy"}


def test_tools_does_not_import_bench():
    # Guards model conversion (tools/) from depending on the benchmarks: bench/ builds on tools/, not back.
    assert violations("tools", {"bench"}) == []


def test_evaluation_imports_neither_tools_nor_bench():
    # Guards the shared eval sets and metrics as a leaf that tools/, bench/ and the tests can all use.
    assert violations("evaluation", {"tools", "bench"}) == []


def test_runtime_imports_no_dev_packages():
    # Guards the installable wheel (runtime/edgematte/), which ships without tools/, bench/ or evaluation/.
    assert violations("runtime/edgematte", {"tools", "bench", "evaluation"}) == []
