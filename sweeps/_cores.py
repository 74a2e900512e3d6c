"""The cores a run may use (light: the command line reads it for its ``--jobs`` default)."""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
