"""Sizes that grow with the input, on every command that trains, and the processes a run
leaves behind.

The size guard (``sweeps._size_guard``) must see every allocation that grows with what the
user types, not only the stored results: a data set (the conflict task's P² pairs, any
finite data set), a step's examples, the square matrices of a family's metrics (pairs of
units or features), the parameters, the recorded steps, the final evaluation and the
lists of axis values.  Each case below is refused as ``tests/test_adversarial.py``
refuses bad input: exit code 2, one line saying what is too large, no traceback, nothing
written, within 10 s, run under an address-space cap of the current size + 8 GiB so that
an allocation the guard missed fails the case instead of exhausting the machine.

``kill -9`` of a run with worker processes must not leave the workers (or loky's resource
trackers) alive: they end within seconds of the process that started them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_adversarial import (
    _changes,
    _env,
    _snapshot,
    _verdict,
    bad,
    loky_workers,
    process_group,
    run_in_process,
)

# What a size refusal says: memory (cannot fit), --yes (large), or a stated range.
SIZE = r"memory|--yes|from 2 to \d+|above the limit|at most"
MEMORY = r"cannot be trained in memory|of memory for its results"
HUGE = "1000000000000"

CASES = [
    # -- data sets: the conflict task's P² pairs, any finite data set ----------------------
    ("conflict phase-diagram", bad("--items 1000 --width-range 1 2 --grid 2 --seeds 1 "
                                   "--epochs 2", "data set", allowed=MEMORY)),
    ("conflict phase-diagram", bad("--items 3000 --axis strength --grid 2 --seeds 1 --yes",
                                   "memory", allowed=MEMORY)),
    ("figures conflict-linear-width", bad("--set n_items=2000", "memory", allowed=MEMORY)),
    ("sweep run hidden-demo", bad("--set model.n_samples=1000000000 --set train.steps=2",
                                  "1,000,000,000 examples", allowed=MEMORY)),
    ("sweep run competition-clusters", bad("--set model.n_samples=1000000000",
                                           "1,000,000,000 examples", allowed=MEMORY)),
    # -- a step's examples -------------------------------------------------------------
    ("sweep run paper-2to1", bad("--set train.batch_size=1000000000 --set seeds=1",
                                 "1,000,000,000 examples", allowed=MEMORY)),
    # -- square matrices of metrics (pairs of units, features) and parameters ----------------
    ("competition phase-diagram", bad("--width 100000 --grid 2 --seeds 1 --steps 1",
                                      "unit x unit", allowed=MEMORY)),
    ("competition phase-diagram", bad("--task annealing --width 100000 --grid 2 --seeds 1 "
                                      "--steps 1 --yes", "unit x unit", allowed=MEMORY)),
    ("competition compare", bad("--width 100000 --seeds 1 --steps 1", "unit x unit",
                                allowed=MEMORY)),
    ("sweep run hidden-demo", bad("--set n_hidden=200000", "unit x unit", allowed=MEMORY)),
    ("sweep run paper-2to1", bad("--set n_features=1000000 --set seeds=1",
                                 "feature x feature", allowed=MEMORY)),
    ("figures intro-2d", bad("--set n_features=1000000", "feature x feature",
                             allowed=MEMORY)),
    ("multitask train", bad("--hidden 100000000 --seeds 1 --epochs 2", "memory",
                            allowed=MEMORY)),
    ("multitask train", bad("--model gdln --hidden 10000000 --seeds 1 --epochs 2", "memory",
                            allowed=MEMORY)),
    ("conflict phase-diagram", bad("--axis strength --width 100000000 --grid 2 --seeds 1 "
                                   "--init 1e-9", "memory", allowed=MEMORY)),
    # -- recorded steps --------------------------------------------------------------------
    ("multitask train", bad(f"--epochs {HUGE} --seeds 1 --hidden 4", "memory",
                            allowed=MEMORY)),
    ("multitask train", bad(f"--epochs {HUGE} --seeds 1 --hidden 4 --record-every {HUGE}",
                            "1,000,000,000,000 steps", allowed=SIZE)),
    ("conflict phase-diagram", bad(f"--epochs {HUGE} --grid 2 --seeds 1",
                                   "1,000,000,000,000 steps", allowed=SIZE)),
    ("sweep run paper-2to1", bad(f"--set train.steps={HUGE} --set train.record_every=1 "
                                 "--set seeds=1 --yes", "loss_trajectory", allowed=MEMORY)),
    # -- the final evaluation -------------------------------------------------------------
    ("sweep run paper-2to1", bad(f"--set train.eval_batch={HUGE} --set seeds=1 "
                                 "--set train.steps=5", "1,000,000,000,000 examples",
                                 allowed=SIZE)),
    # -- models (seeds): the results ------------------------------------------------------
    ("phase-diagram", bad(f"--seeds {HUGE} --grid 2 --yes", "memory", allowed=MEMORY)),
    ("multitask train", bad(f"--seeds {HUGE} --hidden 4 --yes", "memory", allowed=MEMORY)),
    ("conflict phase-diagram", bad(f"--seeds {HUGE} --grid 2 --yes", "memory",
                                   allowed=MEMORY)),
    ("competition phase-diagram", bad(f"--seeds {HUGE} --grid 2 --yes", "memory",
                                      allowed=MEMORY)),
    ("competition compare", bad(f"--seeds {HUGE} --yes", "memory", allowed=MEMORY)),
    ("figures intro-2d", bad(f"--set seeds={HUGE} --yes", "memory", allowed=MEMORY)),
    # -- lists of values, refused before they are built ---------------------------------------
    ("competition phase-diagram", bad("--grid 1", "1", allowed=SIZE)),
    ("competition phase-diagram", bad("--grid 1000000000", "1000000000", allowed=SIZE)),
    ("phase-diagram", bad("--grid 1000000000", "1000000000", allowed=SIZE)),
    ("conflict phase-diagram", bad("--grid 1000000000", "1000000000", allowed=SIZE)),
    ("sweep run paper-2to1", bad("--set axes.density.num=1000000000", "1000000000",
                                 allowed=SIZE)),
    ("figures intro-2d", bad("--set axes.density.num=1000000000", "1000000000",
                             allowed=SIZE)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "case"),
    [pytest.param(c, k, id=f"{c} {k.label}") for c, k in CASES],
)
def test_sizes_are_refused_before_anything_is_built(command, case, folders, capfd):
    work, _ = folders
    before = _snapshot(work)
    argv = [*command.split(), *case.argv, "--out", "out"]
    # MemoryError included: a traceback on a terminal
    code, err, elapsed, extra = run_in_process(argv, capfd, uncaught=BaseException)
    _verdict(case, code, err, elapsed, _changes(before, _snapshot(work)), extra)


def test_every_command_that_trains_has_size_cases():
    trains = {
        "phase-diagram", "multitask train", "conflict phase-diagram",
        "competition phase-diagram", "competition compare", "figures", "sweep run",
    }  # fmt: skip
    # "figures NAME" and "sweep run PRESET": the command is the words before the name.
    covered = {c.rsplit(" ", 1)[0] if c.split()[0] in ("figures", "sweep") else c for c, _ in CASES}
    assert trains <= covered, trains - covered


# -- processes ----------------------------------------------------------------------------
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_kill_9_of_a_run_leaves_no_worker_processes(folders):
    work, cache = folders
    argv = ["conflict", "phase-diagram", "--grid", "4", "--seeds", "2", "--epochs", "20000"]
    argv += ["--jobs", "2", "--quiet", "--out", "c"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *argv],
        cwd=work,
        env=_env(cache),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the workers are found by it
    )
    try:
        deadline = time.monotonic() + 120
        workers: list = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = loky_workers(proc.pid)
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be killed"
        assert len(workers) == 2, f"two loky workers did not start: {process_group(proc.pid)}"
        time.sleep(1.0)  # the workers are training
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        left = process_group(proc.pid)
        while left and time.monotonic() < killed + 10:
            time.sleep(0.1)
            left = process_group(proc.pid)
        assert not left, f"alive 10 s after kill -9 of their parent: {left}"
    finally:
        try:  # whatever is left of the group this test started
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# -- what the guard counts ------------------------------------------------------------------
def test_recorded_steps_are_counted_without_listing_them():
    from toymodels.train_config import TrainConfig

    for steps, every in [(1, 1), (7, 3), (300, 50), (10, 20), (8001, 100)]:
        train = TrainConfig(steps=steps, record_every=every)
        listed = train.record_steps()
        assert train.recorded_count() == len(listed)
        assert [s for s in range(-1, steps + 2) if train.is_recorded(s)] == list(listed)
    huge = TrainConfig(steps=10**12, record_every=1)
    assert huge.recorded_count() == 10**12 + 1  # instantly, where a list would need 36 TB


def _memory(preset: str, **changes):
    import sweeps
    from toymodels.memory import training_memory

    spec = sweeps.load_preset(preset).with_overrides(changes)
    point = spec.cell_point(0)
    return training_memory(spec.model_config(point), spec.train_config(point))


def test_the_square_matrices_of_a_layer_of_units_are_counted():
    # |cos| and the alike links of K units: K² float32 entries, SQUARE_COPIES of them.
    from toymodels.families.base import FLOAT_BYTES, SQUARE_COPIES

    for k in (100, 200):
        parts = _memory("hidden-demo", n_hidden=k).parts
        assert parts["unit x unit matrices"] == FLOAT_BYTES * SQUARE_COPIES * k * k
    small = _memory("competition-clusters", n_hidden=1000)
    large = _memory("competition-clusters", n_hidden=2000)
    assert large.parts["unit x unit matrices"] == 4 * small.parts["unit x unit matrices"]


def test_the_conflict_data_set_is_counted_with_its_float64_build():
    # 2(P−1)·P² entries: built in float64 (4 arrays at once), stacked in float64, held in
    # float32.
    for items in (6, 50):
        memory = _memory("conflict-linear-width", n_items=items)
        entries = 2 * (items - 1) * items**2
        assert memory.parts[f"its data set of {items**2:,} examples"] == entries * (32 + 8 + 4)
        assert memory.dims["sample"] == items**2


def test_the_estimate_covers_the_data_set_a_task_builds():
    # What the conflict task really allocates for one model's data set (inputs shared,
    # targets per model) is within the estimate.
    import numpy as np

    from toymodels.tasks import conflict

    items = 30
    config = conflict.ConflictConfig(n_items=items, conflict=0.5, view_ratio=0.7)
    x, y = conflict.conflict_data(config)
    built = x.nbytes + y.nbytes + np.stack([y]).nbytes + y.astype(np.float32).nbytes
    assert built <= conflict.Conflict.data_bytes(config) <= 4 * built
