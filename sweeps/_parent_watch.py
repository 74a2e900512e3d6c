"""Worker processes that end with the process that started them, and leave Ctrl-C to it.

Light on purpose (the standard library only): a loky worker unpickles its initializer,
:func:`watch_parent`, by importing this module, and the watch should start before the
worker spends seconds importing torch for its first chunk.
"""

from __future__ import annotations

import os
import signal
import threading
import time

# How often a loky worker checks that the process that started it is alive (seconds): a
# killed run's workers end within about this long.
_PARENT_POLL = 0.5


# The parents this worker watches already (the initializer runs once per worker; a second
# watch would be a second thread doing the same).
_watched: list[int] = []


def watch_parent(parent: int) -> None:
    """End this worker process within :data:`_PARENT_POLL` s of ``parent``'s death (the
    loky workers' initializer).  loky's workers are told to stop by the process that
    started them; killed with ``kill -9`` it can tell them nothing, and they (and loky's
    resource trackers, which live while the workers hold their pipes) would train on for
    minutes with nobody to take their results.  A daemon thread polls: a worker is
    re-parented when its parent dies (``getppid`` changes); one that was not its parent's
    child to begin with, or started after it died, probes the parent's pid instead."""
    if parent in _watched:
        return
    _watched.append(parent)
    # Ctrl-C is the parent's to answer: it stops the pool, and a worker that raised
    # KeyboardInterrupt too would only print its own traceback beside the one-line notice.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    child = os.getppid() == parent

    def alive() -> bool:
        if child:
            return os.getppid() == parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except OSError:  # exists, but not ours to signal
            return True
        return True

    def watch() -> None:
        while alive():
            time.sleep(_PARENT_POLL)
        os._exit(1)  # nothing to clean up that the parent would read

    threading.Thread(target=watch, name="toymodels-parent-watch", daemon=True).start()
