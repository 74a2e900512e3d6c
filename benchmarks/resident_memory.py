"""The process's resident memory and its high-water mark, in MiB (Linux ``/proc``, with
``getrusage`` as the fallback for the mark elsewhere)."""

from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# Writing this to clear_refs resets the high-water mark (proc(5)).
_RESET_PEAK = "5"


def _status_mib(key: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def reset_peak_memory() -> float:
    """Reset the process's resident high-water mark (Linux); return current RSS in MiB."""
    try:
        _CLEAR_REFS.write_text(_RESET_PEAK)
    except OSError:
        pass
    return _status_mib("VmRSS") or 0.0


def peak_memory(floor: float = 0.0) -> float:
    """Resident high-water mark in MiB since :func:`reset_peak_memory` (or process start),
    at least ``floor`` (the kernel updates the mark lazily, so it can lag a recent read of
    the resident size)."""
    peak = _status_mib("VmHWM")
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return max(peak, _status_mib("VmRSS") or 0.0, floor)
