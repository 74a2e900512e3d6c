"""A wall-clock budget for one heavy step (a derivation, an optimum), ending in one
``ConfigError`` line instead of a process that runs on at 100% CPU.

``analytics.inputs`` refuses up front what is known to be unbounded (huge powers, deep
nesting, long text); what slips through is ordinary sympy or torch work that happens to be
slow, and that work runs Python bytecode, so a signal can stop it.  :func:`time_limit`
arms ``SIGALRM`` with ``setitimer`` and raises from the handler.

- The exception raised in the handler derives from ``BaseException``, so the
  ``except Exception`` clauses inside sympy cannot swallow it; the timer also repeats
  every ``REPEAT`` seconds in case a bare ``except:`` does.
- Signals are delivered to the main thread only, so elsewhere (a worker thread) and on
  platforms without ``setitimer`` the budget is a no-op.
- A timer already armed by the caller is restored afterwards, minus the time spent.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

from toymodels.errors import ConfigError

# Seconds between repeated alarms once the budget is spent (see the module docstring).
REPEAT = 0.25


class _Expired(BaseException):
    """Raised from the alarm handler; carries the budget that ran out."""

    def __init__(self, owner: object):
        super().__init__("time limit reached")
        self.owner = owner


def available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None, what: str, hint: str = ""):
    """Run the body for at most ``seconds`` (None: no limit); past that, stop it with a
    one-line ``ConfigError`` naming ``what`` and the limit, followed by ``hint``."""
    if seconds is None or not available():
        yield
        return
    owner = object()
    state = {"active": True}

    def handler(signum, frame):
        if state["active"]:
            raise _Expired(owner)

    start = time.monotonic()
    # The alarm can fire anywhere from the moment it is armed until it is disarmed,
    # however short the budget (``--time-limit 1e-9`` fires inside ``setitimer``): both
    # happen inside the ``try`` whose ``except`` turns the alarm into the one-line error,
    # so it never escapes as a traceback, nor leaves a repeating timer armed for the
    # default handler, which kills the process.
    previous_timer = signal.getitimer(signal.ITIMER_REAL)
    previous_handler = signal.signal(signal.SIGALRM, handler)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT)
            yield
        finally:
            state["active"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired as exc:
        state["active"] = False  # a repeat while this is reported must not raise again
        if exc.owner is not owner:
            raise
        raise ConfigError(
            f"{what} took longer than the time limit of {seconds:g} s{hint}"
        ) from None
    finally:
        state["active"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        delay, interval = previous_timer
        if delay > 0:
            signal.setitimer(
                signal.ITIMER_REAL, max(delay - (time.monotonic() - start), 1e-3), interval
            )
