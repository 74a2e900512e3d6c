"""Steps on several cores give the same numbers: every family that declares its step
thread-exact (``ToyModel.thread_exact_step``) trains bitwise alike on one and two intra-op
threads, trajectory and metrics included; the engine grants the threads only where that
holds; and a sweep of one chunk, trained in-process on ``--jobs`` cores, stores the same
results whatever ``jobs``."""

from dataclasses import replace

import numpy as np
import pytest

import sweeps
import sweeps._backends
from sweeps.spec import SweepSpec
from toymodels import FAMILIES, ModelConfig, TrainConfig, model_seed, train
from toymodels.engine import step_thread_count

EXACT = [(f, t) for f, cls in FAMILIES.items() if cls.thread_exact_step for t in cls.tasks]
# The sizes each family trains at by default (the contextual task's 700 units): large
# enough that torch splits the products and element-wise passes over the threads.
TRAIN = TrainConfig(steps=30, lr=2e-3, optimizer="sgd", estimator="full", record_every=10)


def _configs(family: str, task: str, **fields) -> list[ModelConfig]:
    base = ModelConfig.build(family, task, **fields)
    return [base.replace(init_std=base.arch.init_std * (1 + 0.5 * i)) for i in range(3)]


def _assert_same(a, b) -> None:
    for part in ("params", "metrics", "trajectory"):
        x, y = getattr(a, part), getattr(b, part)
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=f"{part} {k}")
    np.testing.assert_array_equal(a.loss, b.loss)


@pytest.mark.parametrize(("family", "task"), EXACT, ids=[f"{f}-{t}" for f, t in EXACT])
def test_thread_exact_steps_give_the_same_numbers_on_two_threads(family, task):
    configs = _configs(family, task, init_std=0.02)
    assert step_thread_count(configs[0], TRAIN, 2) == 2
    seeds = [model_seed(3, 0, r) for r in range(len(configs))]
    one = train(configs, TRAIN, seeds, step_threads=1)
    two = train(configs, TRAIN, seeds, step_threads=2)
    _assert_same(one, two)
    assert np.isfinite(one.loss).all() and not np.array_equal(one.loss, np.zeros(3))


def test_deep_contextual_steps_are_thread_exact_too():
    configs = _configs("contextual_relu", "contextual", n_layers=2, n_hidden=64, init_std=0.1)
    seeds = [model_seed(4, 0, r) for r in range(len(configs))]
    _assert_same(
        train(configs, TRAIN, seeds, step_threads=1), train(configs, TRAIN, seeds, step_threads=2)
    )


def test_threads_are_granted_only_where_they_change_no_number():
    relu = ModelConfig.build("contextual_relu", "contextual")
    assert step_thread_count(relu, TRAIN, 2) == 2
    assert step_thread_count(relu, TRAIN, 1) == 1
    # another estimator, a weight penalty, or a family that does not declare it: one thread
    assert step_thread_count(relu, replace(TRAIN, estimator="sampled"), 2) == 1
    penalised = ModelConfig.build("contextual_relu", "contextual", regulariser="l2")
    assert step_thread_count(penalised, TRAIN, 2) == 1
    assert not FAMILIES["competition"].thread_exact_step
    other = ModelConfig.build("competition", FAMILIES["competition"].tasks[0])
    assert step_thread_count(other, TRAIN, 2) == 1


def test_a_one_chunk_sweep_trains_on_the_jobs_cores_and_stores_the_same(tmp_path, monkeypatch):
    spec = SweepSpec.from_dict(
        {
            "name": "threads",
            "family": "contextual_relu",
            "task": "contextual",
            "n_hidden": 96,
            "seeds": 3,
            "model": {"init_std": 0.05},
            "train": {
                "steps": 40,
                "lr": 1e-2,
                "optimizer": "sgd",
                "estimator": "full",
                "record_every": 20,
            },
        }
    )
    granted = []
    original = sweeps._backends.train_chunk

    def spying(task, progress=None, threads=1):
        granted.append(threads)
        return original(task, progress, threads)

    monkeypatch.setattr("sweeps._backends.train_chunk", spying)
    one = sweeps.run(spec, tmp_path / "one", jobs=1)
    two = sweeps.run(spec, tmp_path / "two", jobs=2)
    assert granted == [1, 2]
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, two[name].values, err_msg=name)
