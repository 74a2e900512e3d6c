"""Writing figures: PNG and PDF side by side, atomically, in the house style."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toymodels.files import atomic_write

from .style import house_style

FORMATS = ("png", "pdf")


def save(fig, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` to ``stem.png`` and ``stem.pdf`` (house-style resolution and margins),
    each atomically."""
    stem = Path(stem)
    with house_style():
        return [
            atomic_write(
                stem.with_name(f"{stem.name}.{fmt}"),
                lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt),
            )
            for fmt in formats
        ]
