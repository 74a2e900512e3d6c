"""What the commands write beside their runs, and how they print a summary's scores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from toymodels.files import atomic_write


def write_json(path: Path, data: dict, indent: int = 2) -> None:
    """``data`` as JSON at ``path``, atomically."""
    text = json.dumps(data, indent=indent)
    atomic_write(path, lambda tmp: tmp.write_text(text))


def save_figures(out: Path, figures: Mapping[str, object]) -> list[str]:
    """Each figure as ``out/<name>.png`` and ``.pdf``; the paths written."""
    from figures import save

    return [str(p) for name, fig in figures.items() for p in save(fig, out / name)]


def phase_counts(phases: list[list[str]]) -> str:
    """``label count, ...`` of a summary's grid of phase labels, labels in order."""
    counts: dict[str, int] = {}
    for row in phases:
        for label in row:
            counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def shown(value: float | None, spec: str = ".3f") -> str:
    """A summary's score for the terminal: ``None`` (nothing to score: every cell or
    seed diverged) is said in words."""
    return "none (every cell diverged)" if value is None else format(value, spec)
