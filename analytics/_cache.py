"""A small on-disk cache of derived results, shared by every process on the machine.

Folder: ``$TOYMODELS_CACHE_DIR`` or ``~/.cache/toymodels/analytics``.  One JSON file per
entry named by a hash of its key; the key is stored inside too, so a hash collision or a
stale format reads as a miss.  Writes go to a temporary file in the same folder and are
renamed into place, so a crash never leaves a half-written entry; a corrupt or unreadable
file is treated as a miss (and overwritten by the next store).  The cache is an
optimisation only: an unwritable folder just means nothing is stored.

Why JSON files and not ``joblib.Memory``: the folder is shared by every process on the
machine, and ``joblib.Memory`` stores pickles, which run arbitrary code when loaded; a JSON
entry cannot.  Reading is strict: a file above ``MAX_BYTES``, nesting deep enough to
exhaust the parser, and the non-standard ``NaN``/``Infinity`` (or a number that overflows
to one) all read as a miss, so a payload holds only finite numbers, strings, lists and
objects.  What a caller makes of them is checked by the caller, which must never hand a
stored string to anything that evaluates it (``loss_derivation`` stores expressions as
``stored_expressions`` trees; ``optimum`` checks every array's shape and finiteness).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from pathlib import Path

from toymodels.files import atomic_write

ENV_VAR = "TOYMODELS_CACHE_DIR"
DEFAULT_DIR = Path("~/.cache/toymodels/analytics")
# The largest entry read (the biggest real one, a 200x200 optimum map, is ~10 MB).
MAX_BYTES = 64 * 2**20


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()


def _path(kind: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return cache_dir() / kind / f"{digest}.json"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise ValueError(f"non-finite number {text}")
    return value


def _no_constant(text: str):
    raise ValueError(f"non-standard JSON constant {text}")


def read_entry(kind: str, key: str) -> dict | None:
    """The payload stored under ``key``, or None (missing, corrupt, too large, not
    strict JSON, or another key)."""
    try:
        # non-blocking, and regular files only: a FIFO or device planted under an entry's
        # name must not stall the reader
        fd = os.open(_path(kind, key), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, encoding="utf-8") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = fh.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            return None
        entry = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except (OSError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    payload = entry.get("payload")
    return payload if isinstance(payload, dict) else None


def write_entry(kind: str, key: str, payload: dict) -> None:
    """Atomically write ``payload`` under ``key`` (silently skipped when not writable)."""
    try:
        text = json.dumps({"key": key, "payload": payload}, allow_nan=False)
    except ValueError:  # a non-finite number would be written as non-standard JSON
        return
    try:
        atomic_write(_path(kind, key), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError:
        pass
