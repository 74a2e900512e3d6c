"""Benchmarks of toymodels' training engine: one timing harness, and one module per
system's benchmark built on it, each runnable as ``python -m benchmarks.<module>``.

The harness:

- :mod:`.fresh_process`: run a function, named by an importable reference, in a fresh
  process (optionally another tree's) or in this one;
- :mod:`.alternation`: time contestants in alternation (each in a fresh process),
  swapping who goes first, and summarise them by medians;
- :mod:`.steady_state`: the :class:`Timing` record and steady-state throughput of the
  engine and of a straightforward loop;
- :mod:`.resident_memory`: peak resident memory;
- :mod:`.result_tables`, :mod:`.script_options`: the markdown/JSON tables and the
  options every script shares.

The benchmarks: :mod:`.compare_straightforward` (the superposition engine beside the
straightforward loop; its ``engine`` is what ``toymodels bench`` reports),
:mod:`.compare_revisions` (the engine beside another git revision's),
:mod:`.multitask_speed` (contextual networks) and :mod:`.competition_speed` (the
competition family).  They are not imported here, so running one with ``-m`` does not
find it imported already.
"""

from .alternation import alternate, alternate_runs, median_rate, summary
from .fresh_process import reference, resolve, run
from .resident_memory import peak_memory, reset_peak_memory
from .result_tables import Column, markdown_table, publish
from .steady_state import Timing, step_times, time_engine, time_loop

__all__ = [
    "Column",
    "Timing",
    "alternate",
    "alternate_runs",
    "markdown_table",
    "median_rate",
    "peak_memory",
    "publish",
    "reference",
    "reset_peak_memory",
    "resolve",
    "run",
    "step_times",
    "summary",
    "time_engine",
    "time_loop",
]
