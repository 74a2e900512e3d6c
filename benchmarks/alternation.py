"""Timing several contestants in alternation, and the medians that compare them.

Each repeat times every contestant once, and every other repeat in the reverse order, so
a drift in the machine's load, or a cache one warms for the next, hits all alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

from .fresh_process import run

T = TypeVar("T")
RATE = "instance_steps_per_s"


def alternate(contestants: Mapping[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """``{name: [result of each repeat]}``: every contestant called ``repeats`` times,
    in the given order on even repeats (0, 2, ...) and in reverse on odd ones."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: at least one run is needed")
    order = list(contestants)
    results: dict[str, list[T]] = {name: [] for name in order}
    for repeat in range(repeats):
        for name in order if repeat % 2 == 0 else order[::-1]:
            results[name].append(contestants[name]())
    return results


def alternate_runs(
    workloads: Mapping[str, partial], repeats: int, fresh: bool = True
) -> dict[str, list[Any]]:
    """:func:`alternate` over workloads given as ``partial(function, *args, **kwargs)``
    of module-level functions, each call run by :func:`benchmarks.fresh_process.run`
    (in a fresh process unless ``fresh`` is false); the results as plain data."""
    calls = {
        name: partial(run, w.func, *w.args, fresh=fresh, **w.keywords)
        for name, w in workloads.items()
    }
    return alternate(calls, repeats)


def median_rate(timings: Iterable[Mapping]) -> float:
    """The median instance-steps per second of several timings (as plain data)."""
    return statistics.median(t[RATE] for t in timings)


def summary(
    models: int,
    timings: Mapping[str, list[Mapping]],
    per_step: Iterable[str] = (),
    peak: Iterable[str] = (),
) -> dict:
    """The fields every comparison reports of its contestants' timings: per contestant
    ``<name>_instance_steps_per_s`` (the median) and ``<name>_runs`` (every run); for
    those in ``per_step`` the median's ``<name>_ms_per_step`` for all ``models``, for
    those in ``peak`` the largest ``<name>_peak_rss_mib``."""
    rates = {name: median_rate(ts) for name, ts in timings.items()}
    return (
        {f"{name}_{RATE}": rate for name, rate in rates.items()}
        | {f"{name}_ms_per_step": 1e3 * models / rates[name] for name in per_step}
        | {f"{name}_peak_rss_mib": max(t["peak_rss_mib"] for t in timings[name]) for name in peak}
        | {f"{name}_runs": [t[RATE] for t in ts] for name, ts in timings.items()}
    )
