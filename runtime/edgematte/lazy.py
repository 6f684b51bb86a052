"""Package attributes that import their module on first use (PEP 562), so importing a package
costs nothing for the parts a caller never touches."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(
    namespace: dict[str, Any], table: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's `__getattr__` and `__dir__` for names that live in other modules.

    Parameters
    ----------
    namespace
        The package's `globals()`: a name, once loaded, is stored there so later look-ups are
        plain attribute reads.
    table
        Public name -> the module that defines it.
    """
    package = namespace["__name__"]

    def module_getattr(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted(set(namespace) | set(table))

    return module_getattr, module_dir
