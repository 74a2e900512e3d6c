"""What the commands write beside their runs, and how they print a summary's scores."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from toymodels import strict_json
from toymodels.files import atomic_write


def write_json(path: Path, data: dict, indent: int = 2) -> None:
    """``data`` as strict JSON at ``path`` (a non-finite number as ``null``), atomically."""
    text = strict_json.dumps(data, indent=indent)
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


def shown(value: float | None, spec: str = ".3f", missing: str = "every cell diverged") -> str:
    """A summary's score for the terminal; ``None`` (nothing to score) is said in words,
    ``missing`` saying why, since a score can be missing for more than one reason (every
    cell diverged, or the grid has no cell the score is taken over)."""
    return f"none ({missing})" if value is None else format(value, spec)
