"""Where a sweep's workers run: the cores this process may use, and the backends that
start workers (light: the command line reads both for its options)."""

from __future__ import annotations

import os

# loky: worker processes on this machine; dask: workers of a Dask cluster.
BACKENDS = ("loky", "dask")


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
