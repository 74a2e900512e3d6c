"""The ``toymodels`` program: :func:`cli.main.main` run as a process of its own (the
console script and ``python -m cli``).

What only a whole process may decide lives here rather than in ``main``, which tests and
scripts also call inside their own process: how Python's cyclic garbage collector runs.
A command imports torch, xarray, dask and matplotlib, about a million objects, and every
full collection walks them all: 0.05–0.1 s each, five in a default ``multitask train``,
and one more as the interpreter exits (0.13 s).  The young generations are collected as
usual, so short-lived cycles are still freed promptly.
"""

from __future__ import annotations

import gc

from .main import main

# Young-generation passes between two full collections (Python's default: 10).  A command
# is one short process: what survives the young generations is mostly the libraries it
# imported, which a full collection cannot free.
FULL_COLLECTION_AFTER = 1000


def run() -> int:
    """Run the command line (``sys.argv``) and return its exit code."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
    code = main()
    # Everything the command made is written: the interpreter's last full collection at
    # exit would only walk the libraries' objects again, so they are set aside first.
    gc.freeze()
    return code
