"""Where chunks run: in this process, in loky worker processes (joblib), or on Dask.

Every backend yields ``(chunk_index, arrays)`` as chunks finish, in any order; the
caller writes them.  Tasks are consumed lazily and at most a few per worker are in
flight, so memory does not grow with the size of the sweep.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from toymodels.errors import ConfigError, check_int, unknown_name

from ._execution import BACKENDS
from ._parent_watch import watch_parent
from ._plan import ChunkTask
from ._worker import train_chunk

# Tasks in flight per worker: one running, one queued, so a worker never idles waiting
# for the main process to hand it the next chunk.
_IN_FLIGHT_PER_WORKER = 2
# Seconds to wait for an existing Dask scheduler before giving up.
_CONNECT_TIMEOUT = 10

Result = tuple[int, dict[str, np.ndarray]]


def check_backend(backend: str, jobs: int, scheduler: str | None) -> None:
    if backend not in BACKENDS:
        raise unknown_name("backend", backend, BACKENDS)
    check_int("jobs", jobs, minimum=1)
    if scheduler is not None and backend != "dask":
        raise ConfigError(f"scheduler={scheduler!r} needs backend dask (--backend dask)")


def run_inline(
    tasks: Iterable[ChunkTask], step_progress: Callable[[int], None] | None, threads: int = 1
):
    """One chunk after another in this process (``jobs=1``, or a single chunk to train),
    with per-step progress; ``threads``: the cores a chunk may use (``train_chunk``)."""
    for task in tasks:
        yield task.index, train_chunk(task, progress=step_progress, threads=threads)


def run_loky(tasks: Iterable[ChunkTask], jobs: int) -> Iterator[Result]:
    from joblib import Parallel, delayed, parallel_config

    _quiet_resource_tracker()
    # Each worker watches this process from the moment it starts (see watch_parent).
    with parallel_config("loky", initializer=watch_parent, initargs=(os.getpid(),)):
        parallel = Parallel(
            n_jobs=jobs,
            return_as="generator_unordered",
            pre_dispatch=f"{_IN_FLIGHT_PER_WORKER}*n_jobs",
        )
    with warnings.catch_warnings():
        # Stopped early (Ctrl-C), joblib says it cancelled the chunks in flight (or left
        # finished ones unread): they are simply trained again on resume.  It says so when
        # its generator is closed, which therefore happens here, inside the filter.
        warnings.filterwarnings("ignore", _EXIT_EARLY)
        results = parallel(delayed(_indexed)(task) for task in tasks)
        try:
            yield from results
        finally:
            results.close()


_EXIT_EARLY = r"[0-9]+ tasks (which were still being processed|have been successfully executed)"


# A terminal's Ctrl-C signals the whole process group: the main process answers with one
# line and joblib stops the workers, after which loky's resource tracker (a process of its
# own) reports the killed workers' semaphores as leaked, in lines the user cannot act on.
# Its warnings are filtered through the environment it inherits.
_QUIET_TRACKER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def _quiet_resource_tracker() -> None:
    current = os.environ.get("PYTHONWARNINGS", "")
    if _QUIET_TRACKER not in current:
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, (current, _QUIET_TRACKER)))


def _indexed(task: ChunkTask) -> Result:
    return task.index, train_chunk(task)


@contextlib.contextmanager
def dask_client(jobs: int, scheduler: str | None):
    """A client of the cluster at ``scheduler``, or of a new LocalCluster with ``jobs``
    single-threaded worker processes (closed on exit)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=jobs,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        yield client


def run_dask(tasks: Iterable[ChunkTask], client) -> Iterator[Result]:
    from distributed import as_completed

    workers = max(1, sum(client.nthreads().values()))
    tasks = iter(tasks)
    pending = as_completed()
    for task in tasks:
        pending.add(client.submit(_indexed, task, pure=False))
        if pending.count() >= _IN_FLIGHT_PER_WORKER * workers:
            break
    for future in pending:
        result = future.result()
        future.release()
        next_task = next(tasks, None)
        if next_task is not None:
            pending.add(client.submit(_indexed, next_task, pure=False))
        yield result
