"""A small on-disk cache of derived results, shared by every process on the machine.

Folder: ``$TOYMODELS_CACHE_DIR`` or ``~/.cache/toymodels/analytics``.  One JSON file per
entry named by a hash of its key; the key is stored inside too, so a hash collision or a
stale format reads as a miss.  Writes go to a temporary file in the same folder and are
renamed into place, so a crash never leaves a half-written entry; a corrupt or unreadable
file is treated as a miss (and overwritten by the next store).  The cache is an
optimisation only: an unwritable folder just means nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

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
    path = _path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "payload": payload}, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass
