"""A benchmark's results as a markdown table and a JSON report, written the same way by
every benchmark: the table is printed, and also saved with ``--markdown``; the
measurements behind it are saved with ``--json``."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from toymodels import strict_json

# How every throughput table's note begins.
RATE_NOTE = "Instance-steps per second (models × steps / s)"


@dataclass(frozen=True)
class Column:
    """One column: its title, its cell as a ``str.format`` template over a row's fields
    (``"{models:,}"``), and whether it holds numbers (right-aligned)."""

    title: str
    cell: str
    numeric: bool = True


def rates(titles: Mapping[str, str]) -> list[Column]:
    """A column per contestant ``{name: title}`` with its median instance-steps per second
    (the ``<name>_instance_steps_per_s`` of :func:`benchmarks.alternation.summary`)."""
    return [
        Column(title, f"{{{name}_instance_steps_per_s:,.0f}}") for name, title in titles.items()
    ]


def ratio(title: str, key: str, bold: bool = False) -> Column:
    """A speed ratio, ``1.2×``; bold for the ratio a table is about."""
    cell = f"{{{key}:.1f}}×"
    return Column(title, f"**{cell}**" if bold else cell)


def per_step(title: str, before: str, after: str) -> Column:
    """Milliseconds per step of all models, ``before → after``."""
    return Column(title, f"{{{before}_ms_per_step:.0f}} → {{{after}_ms_per_step:.1f}}")


def peak(title: str, first: str, second: str) -> Column:
    """Peak resident MiB of two contestants, ``first / second``."""
    return Column(title, f"{{{first}_peak_rss_mib:.0f}} / {{{second}_peak_rss_mib:.0f}}")


def markdown_table(columns: Sequence[Column], rows: Iterable[dict], note: str) -> str:
    """The table, one line per row, then a blank line and ``note`` (what was measured,
    and how)."""
    lines = [
        "| " + " | ".join(c.title for c in columns) + " |",
        "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|",
    ]
    lines += ["| " + " | ".join(c.cell.format_map(row) for c in columns) + " |" for row in rows]
    return "\n".join([*lines, "", note])


def machine() -> str:
    """Where the numbers were measured, for a table's note."""
    import torch

    return f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def load_average() -> float:
    """The 1-minute load average (NaN where the system does not keep one)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def publish(
    table: str,
    rows: list[dict],
    markdown: Path | None,
    json_path: Path | None,
    argv: Sequence[str] | None = None,
    **context,
) -> None:
    """Print ``table``; write it to ``markdown`` and ``{"command", **context, "rows"}`` to
    ``json_path`` where given (``command`` is ``argv``, or this process's command line)."""
    print(table)
    if markdown is not None:
        markdown.write_text(table + "\n")
    if json_path is not None:
        command = list(sys.argv if argv is None else argv)
        report = {"command": command, **context, "rows": rows}
        json_path.write_text(strict_json.dumps(report, indent=1) + "\n")
