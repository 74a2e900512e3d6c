"""Run a sweep: plan chunks, train the missing ones in parallel, consolidate.

Everything is validated before the output folder is touched.  Finished chunks are kept
across runs (resume), and since the chunk plan and every model's seed depend on the spec
alone, results are bit-identical for any ``jobs``, backend, or kill-and-resume history
(Elhage et al. 2022's protocol trains each grid point's models independently, so
parallelising across chunks changes nothing but the wall time).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import storage
from ._backends import check_backend, dask_client, run_dask, run_inline, run_loky
from ._dataset import consolidate, write_results
from ._plan import chunk_tasks, plan_chunks
from .spec import SweepSpec

# progress(done, total): work done so far in model-steps (models x training steps),
# called when the run starts (done = work of resumed chunks), as work finishes, and at
# the end.  Model-steps weigh chunks by their cost when steps is an axis.
Progress = Callable[[int, int], None]


def run(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool | Progress | None = None,
):
    """Train every model of ``spec`` into ``out_dir`` (resuming what is there) and return
    the results dataset (see :func:`sweeps.load`).

    ``jobs`` worker processes (loky) or Dask workers of a new LocalCluster; with
    ``backend="dask"`` and ``scheduler="tcp://HOST:PORT"`` the chunks run on an existing
    cluster.  ``progress=True`` draws a bar with ETA on stderr; a callable receives
    ``(done, total)`` model-steps instead.
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec, got {type(spec).__name__}")
    check_backend(backend, jobs, scheduler)
    folder = Path(out_dir)
    storage.check_folder(folder, spec)
    chunks = plan_chunks(spec)
    if backend == "dask":
        with dask_client(jobs, scheduler) as client:  # connect before creating anything
            return _run(spec, folder, chunks, progress, lambda t, n: run_dask(t, client))

    def loky(tasks, n_todo):
        # Worker processes cost seconds to start (torch imports): none for a single chunk.
        return run_loky(tasks, min(jobs, n_todo)) if jobs > 1 and n_todo > 1 else None

    return _run(spec, folder, chunks, progress, loky)


def _run(spec, folder: Path, chunks, progress, execute):
    """``execute(tasks, n_todo)`` yields finished chunks, or is None to train in-process."""
    storage.create_folder(folder, spec)
    with storage.locked(folder):
        storage.remove_temporaries(folder)
        storage.check_folder(folder, spec)  # again: another run may have created it meanwhile
        results_path = folder / storage.RESULTS_FILE
        # A consolidated sweep is finished (its chunk files may have been deleted since).
        todo = (
            []
            if results_path.is_file()
            else [c for c in chunks if storage.read_chunk(folder, c, spec) is None]
        )
        cost = _costs(spec, chunks)
        report, close = _progress(progress, sum(cost.values()))
        try:
            done = sum(cost[c.index] for c in chunks) - sum(cost[c.index] for c in todo)
            report(done)
            if not results_path.is_file():
                tasks = chunk_tasks(spec, todo)
                steps = _StepCounter(report, done)
                results = execute(tasks, len(todo)) or run_inline(tasks, steps)
                for index, arrays in results:
                    storage.write_chunk(folder, index, arrays)
                    done += cost[index]
                    steps.base, steps.partial = done, 0
                    report(done)
                ds = consolidate(spec, lambda c: _verified(folder, c, spec))
                write_results(ds, results_path)
        finally:
            close()
    return storage.load(folder)


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
