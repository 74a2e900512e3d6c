"""Run a sweep: plan chunks, train the missing ones in parallel, consolidate.

Everything is validated before the output folder is touched.  Finished chunks are kept
across runs (resume), and since the chunk plan and every model's seed depend on the spec
alone, results are bit-identical for any ``jobs``, backend, or kill-and-resume history
(Elhage et al. 2022's protocol trains each grid point's models independently, so
parallelising across chunks changes nothing but the wall time).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from toymodels.errors import DivergedCells, Notice

from . import storage
from ._backends import check_backend, dask_client, run_dask, run_inline, run_loky
from ._dataset import consolidate, write_results
from ._execution import available_cores
from ._plan import chunk_tasks, plan_chunks
from ._size_guard import check_size
from .spec import SweepSpec

# progress(done, total): work done so far in model-steps (models x training steps),
# called when the run starts (done = work of resumed chunks), as work finishes, and at
# the end.  Model-steps weigh chunks by their cost when steps is an axis.
SweepProgress = Callable[[int, int], None]


def run(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool | SweepProgress | None = None,
    yes: bool = False,
):
    """Train every model of ``spec`` into ``out_dir`` (resuming what is there) and return
    the results dataset (see :func:`sweeps.load`).

    ``jobs`` worker processes (loky) or Dask workers of a new LocalCluster; with
    ``backend="dask"`` and ``scheduler="tcp://HOST:PORT"`` the chunks run on an existing
    cluster.  ``progress=True`` draws a bar with ETA on stderr; a callable receives
    ``(done, total)`` model-steps instead.  A sweep above the size guard
    (``sweeps._size_guard``) starts only with ``yes=True``; one whose results cannot fit in
    memory never does.  Models whose loss or parameters are not finite are labelled
    ``diverged`` and reported by a :class:`toymodels.errors.Notice` warning
    (:class:`~toymodels.errors.DivergedCells` when every seed of a cell diverged).
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec, got {type(spec).__name__}")
    check_backend(backend, jobs, scheduler)
    if scheduler is None:  # workers on this machine: more than its cores only slows it
        jobs = _capped(jobs)
    folder = Path(out_dir)
    storage.check_folder(folder, spec)
    check_size(spec, jobs, yes)
    chunks = plan_chunks(spec)
    if backend == "dask":
        with dask_client(jobs, scheduler) as client:  # connect before creating anything
            results = _run(spec, folder, chunks, progress, lambda t, n: run_dask(t, client))
    else:

        def loky(tasks, n_todo):
            # Worker processes cost seconds to start (torch imports): none for one chunk,
            # which is trained here on the jobs' cores where that changes no number.
            return run_loky(tasks, min(jobs, n_todo)) if jobs > 1 and n_todo > 1 else None

        results = _run(spec, folder, chunks, progress, loky, jobs)
    warn_diverged(results)
    return results


def _capped(jobs: int) -> int:
    cores = available_cores()
    if jobs > cores:
        warnings.warn(
            f"jobs={jobs} is more than the {cores} cores available; using {cores}",
            Notice,
            stacklevel=3,
        )
        return cores
    return jobs


def warn_diverged(results) -> None:
    """One warning when models diverged; a :class:`DivergedCells` one when whole cells did."""
    diverged = results["diverged"]
    count = int(diverged.sum())
    if not count:
        return
    axes = [d for d in diverged.dims if d != "seed"]
    whole = diverged.all("seed") if "seed" in diverged.dims else diverged
    cells = int(whole.sum())
    what = (
        f"{count} of {diverged.size} models diverged (non-finite loss or parameters); they "
        "are labelled diverged and left out of every phase and ranking"
    )
    if not cells:
        warnings.warn(what, Notice, stacklevel=3)
        return
    index = np.argwhere(whole.values)[0]
    first = {a: whole[a].values[i] for a, i in zip(axes, index, strict=True)}
    where = ", ".join(f"{k}={_short(v)}" for k, v in first.items()) or "the only cell"
    warnings.warn(
        f"{what}; every seed diverged in {cells} of {whole.size} cells (first: {where}); "
        "a smaller lr or init_scale may help",
        DivergedCells,
        stacklevel=3,
    )


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)


def _run(spec, folder: Path, chunks, progress, execute, threads: int = 1):
    """``execute(tasks, n_todo)`` yields finished chunks, or is None to train in-process
    (on ``threads`` cores: ``sweeps._worker.train_chunk``)."""
    storage.create_folder(folder, spec)
    with storage.locked(folder):
        storage.remove_temporaries(folder)
        storage.check_folder(folder, spec)  # again: another run may have created it meanwhile
        # From here on the folder's spec.json (the same identity, by the check, but maybe
        # another name or description): sweeps.load rebuilds a damaged results.nc from it
        # and the chunks, and must get the same file.
        spec = storage.stored_spec(folder)
        # A consolidated sweep whose results.nc passes its check is finished (its chunk
        # files may have been deleted since); a damaged one is rebuilt from the chunks.
        finished = storage.results_if_intact(folder)
        todo = (
            []
            if finished is not None
            else [c for c in chunks if storage.read_chunk(folder, c, spec) is None]
        )
        cost = _costs(spec, chunks)
        report, close = _progress(progress, sum(cost.values()))
        try:
            done = sum(cost[c.index] for c in chunks) - sum(cost[c.index] for c in todo)
            report(done)
            if finished is None:
                tasks = chunk_tasks(spec, todo)
                steps = _StepCounter(report, done)
                results = execute(tasks, len(todo)) or run_inline(tasks, steps, threads)
                try:
                    for index, arrays in results:
                        storage.write_chunk(folder, index, arrays, spec)
                        done += cost[index]
                        steps.base, steps.partial = done, 0
                        report(done)
                finally:
                    # Stopped early (Ctrl-C, a full disk): the workers are stopped now,
                    # not whenever the generator happens to be collected.
                    results.close()
                ds = consolidate(spec, lambda c: _verified(folder, c, spec))
                finished = write_results(ds, folder / storage.RESULTS_FILE)
        finally:
            close()
    return finished


def _verified(folder: Path, chunk, spec: SweepSpec):
    arrays = storage.read_chunk(folder, chunk, spec)
    if arrays is None:  # written moments ago: only a failing disk or a concurrent edit
        raise OSError(f"chunk file {storage.chunk_path(folder, chunk.index)} failed its check")
    return arrays


def _costs(spec: SweepSpec, chunks) -> dict[int, int]:
    steps = spec.axis("steps")
    if steps is None:
        return {c.index: c.size * spec.train.steps for c in chunks}
    return {
        c.index: c.size * spec.cell_point(int(c.models[0]) // spec.seeds)["steps"] for c in chunks
    }


class _StepCounter:
    """Per-step progress of a chunk trained in this process (``jobs=1``): ``base`` is the
    work of finished chunks, ``partial`` the current chunk's steps so far."""

    def __init__(self, report, base: int):
        self.report, self.base, self.partial = report, base, 0

    def __call__(self, model_steps: int) -> None:
        self.partial += model_steps
        self.report(self.base + self.partial)


def _progress(progress, total: int):
    """(report(done), close()) for ``progress``: None/False, True (a bar) or a callable."""
    if progress is None or progress is False:
        return (lambda done: None), (lambda: None)
    if progress is True:
        from ._progress import ProgressBar

        bar = ProgressBar(total)
        return bar.update, bar.close
    return (lambda done: progress(done, total)), (lambda: None)
