"""A small on-disk cache of derived results, shared by every process on the machine.

Folder: ``$TOYMODELS_CACHE_DIR`` or ``~/.cache/toymodels/analytics``.  One JSON file per
entry named by a hash of its key; the key is stored inside too, so a hash collision or a
stale format reads as a miss.  Writes go to a temporary file in the same folder and are
renamed into place, so a crash never leaves a half-written entry; a corrupt or unreadable
file is treated as a miss (and overwritten by the next store).  The cache is an
optimisation only: an unwritable folder just means nothing is stored.

Why JSON files and not ``joblib.Memory``: the folder is shared by every process on the
machine, and ``joblib.Memory`` stores pickles, which run arbitrary code when loaded; a JSON
entry cannot.  (What a caller does with a stored string is the caller's responsibility.)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from toymodels.files import atomic_write

ENV_VAR = "TOYMODELS_CACHE_DIR"
DEFAULT_DIR = Path("~/.cache/toymodels/analytics")


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()


def _path(kind: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return cache_dir() / kind / f"{digest}.json"


def load(kind: str, key: str) -> dict | None:
    """The payload stored under ``key``, or None (missing, corrupt or another key)."""
    try:
        with open(_path(kind, key), encoding="utf-8") as fh:
            entry = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    payload = entry.get("payload")
    return payload if isinstance(payload, dict) else None


def store(kind: str, key: str, payload: dict) -> None:
    """Atomically write ``payload`` under ``key`` (silently skipped when not writable)."""
    text = json.dumps({"key": key, "payload": payload})
    try:
        atomic_write(_path(kind, key), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError:
        pass
