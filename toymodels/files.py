"""Crash-safe file writing shared by every package that writes results, and the check
that an output folder can be written at all."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import ConfigError


def check_writable(path: str | Path, option: str = "--out") -> None:
    """Refuse (one-line :class:`ConfigError`) an output folder that cannot be made or
    written: ``path`` itself, if it exists, must be a folder, and its nearest existing
    ancestor a folder this process may write in.

    Called before any work, so a bad ``--out`` fails in a second rather than after
    training.  ``os.access`` asks the kernel, which also answers "no" on a read-only file
    system; the check cannot foresee a full disk (the command line reports that as it
    happens).
    """
    if not str(path).strip():  # Path("") is the current folder: never what was meant
        raise ConfigError(f"{option} is empty; give a folder")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file; give a folder")
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"{option} {path} is a link to nothing; give a folder")
    ancestor = path
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor != path and not ancestor.is_dir():
        raise ConfigError(f"{option} {path}: {ancestor} is not a folder; give a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if _read_only(ancestor) else "is not writable"
        what = f"{option} {path}" if ancestor == path else f"{option} {path}: {ancestor}"
        raise ConfigError(f"{what} {why}; give a folder you can write in")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): say "not writable"
        return False


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never half of one, and a killed process
    leaves at most a hidden ``.*.tmp`` file.  The temporary name is unique in the same
    folder (a rename is atomic only within one file system) and created by ``write``
    itself, so it gets the usual permissions rather than ``mkstemp``'s owner-only ones.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # The rename is durable only once the folder entry is on disk.
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) inside the block is held until the block ends, then raised as
    ``KeyboardInterrupt``.  For writes through libraries that hold locks of their own
    (h5py's, xarray's around HDF5): a ``KeyboardInterrupt`` raised inside them can leave
    such a lock taken, and the clean-up that follows waits on it for ever, so the command
    neither ends nor says why.  The write then finishes (seconds at most) and the
    interrupt takes effect after it.  Signals can be handled in the main thread only;
    elsewhere the block runs as is."""
    if threading.current_thread() is not threading.main_thread() or _held:
        yield  # not ours to handle, or an outer block holds them already
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: _held.append(signum))
    _held.append(0)  # marks the block as active
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        received = len(_held) > 1
        _held.clear()
    if received:
        raise KeyboardInterrupt


# While interrupts_deferred holds Ctrl-C: a marker, then one entry per SIGINT received.
_held: list[int] = []
