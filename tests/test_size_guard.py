"""The size guard: sweeps that cannot fit in memory are refused, large ones need
``yes``, absurd grids are refused while the spec is read, ``jobs`` is capped at the cores;
all before anything is written."""

from __future__ import annotations

import math
import time

import pytest

import sweeps
from sweeps import _size_guard
from sweeps._execution import available_cores
from sweeps._size_guard import LARGE_MODELS, check_size, estimate, seconds_per_model_step
from toymodels.errors import ConfigError, Notice

TINY = {"train.steps": 20, "seeds": 2, "axes.density.num": 3, "axes.importance.num": 2}


def _spec(**changes):
    return sweeps.load_preset("paper-2to1").with_overrides({**TINY, **changes})


def test_results_that_cannot_fit_in_memory_are_refused_before_anything_is_written(tmp_path):
    spec = _spec(seeds=10_000_000_000)
    with pytest.raises(
        ConfigError,
        match=r"needs about .* of memory for its results \(6 cells x 10,000,000,000 seeds, ",
    ):
        sweeps.run(spec, tmp_path / "run", yes=True)  # yes does not override memory
    assert not (tmp_path / "run").exists()


def test_a_large_sweep_needs_yes_and_says_how_large(tmp_path):
    # 1000 x 1000 x 2 seeds = 2,000,000 models, above LARGE_MODELS.
    spec = _spec(**{"axes.density.num": 1000, "axes.importance.num": 1000})
    assert spec.n_models == 2_000_000 > LARGE_MODELS
    with pytest.raises(ConfigError) as err:
        sweeps.run(spec, tmp_path / "run", jobs=1)
    message = str(err.value)
    assert message.startswith("this sweep is large: 2,000,000 models x 20 steps, about ")
    assert "rerun with --yes" in message and "\n" not in message
    assert not (tmp_path / "run").exists()
    check_size(spec, 1, yes=True)  # confirmed: no refusal


def test_a_small_sweep_passes_without_timing_anything(monkeypatch):
    def fail(spec):
        raise AssertionError("timed a small sweep")

    monkeypatch.setattr(_size_guard, "seconds_per_model_step", fail)
    check_size(_spec(), 1, yes=False)


def test_the_memory_estimate_covers_the_results(tmp_path):
    spec = _spec(**{"train.record_every": 5, "axes.density.num": 20, "axes.importance.num": 20})
    ds = sweeps.run(spec, tmp_path / "run")
    size = estimate(spec)
    held = size.memory_bytes / _size_guard.RESULT_COPIES
    # At least what the dataset holds, and not wildly more (bookkeeping only).
    assert ds.nbytes <= held <= 2 * ds.nbytes
    assert size.models == 800 and size.model_steps == 800 * 20


def test_the_time_estimate_is_the_measured_speed(tmp_path):
    # One chunk of 12 models for 400 steps: the per-model-step time measured on a few
    # steps predicts the training time within a factor of 3 (timing noise, warm-up).
    spec = _spec(**{"train.steps": 400})
    per = seconds_per_model_step(spec)
    start = time.perf_counter()
    sweeps.run(spec, tmp_path / "run")
    took = time.perf_counter() - start
    predicted = per * spec.n_models * 400
    assert predicted / 3 < took < 3 * predicted + 1.0  # + set-up and consolidation


def test_absurd_grids_are_refused_while_the_spec_is_read():
    with pytest.raises(ConfigError, match=r"axes.density.num=1000000000 is above the limit"):
        _spec(**{"axes.density.num": 1_000_000_000})
    with pytest.raises(ConfigError, match=r"the axes make 100,000,000 cells \(10000 x 10000\)"):
        _spec(**{"axes.density.num": 10_000, "axes.importance.num": 10_000})


def test_jobs_above_the_cores_are_capped_with_a_notice(tmp_path):
    cores = available_cores()
    with pytest.warns(Notice, match=rf"jobs={cores + 7} is more than the {cores} cores"):
        ds = sweeps.run(_spec(), tmp_path / "run", jobs=cores + 7)
    assert math.isfinite(float(ds["loss"].max()))
