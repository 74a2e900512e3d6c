"""Registries: what sweep files and the command line pick by name, as plain dicts from the
``name`` each entry declares to the entry (families, volume controls, phase rules)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def by_name(*entries: T) -> dict[str, T]:
    """``{entry.name: entry}`` in the order given; two entries may not share a name."""
    registry: dict[str, T] = {}
    for entry in entries:
        if entry.name in registry:
            raise ValueError(f"two entries are named {entry.name!r}")
        registry[entry.name] = entry
    return registry
