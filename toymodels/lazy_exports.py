"""Package attributes imported on first use, so that importing a package stays light.

The command line imports ``toymodels``, ``analytics`` and ``sweeps`` to register its
commands; their heavy dependencies (torch, sympy, xarray) load only when a name that needs
them is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, homes: Mapping[str, str], exported: list[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: attribute ``name`` is read from module
    ``homes[name]`` (absolute) on first use; ``dir()`` lists ``exported``."""

    def __getattr__(name: str):
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exported)

    return __getattr__, __dir__
