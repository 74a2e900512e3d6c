"""How the engine cuts work (groups of models, cache-sized chunks, evaluation slices) never
changes a number."""

import numpy as np
import pytest

import toymodels.engine as engine
import toymodels.estimators.base as base
import toymodels.estimators.exact as exact
from toymodels import ModelConfig, TrainConfig, model_seed

CONFIGS = [
    ModelConfig.superposition(density=p, importance=r) for p in (1.0, 0.2, 0.03) for r in (0.3, 3.0)
]
SEEDS = [model_seed(4, i, 0) for i in range(len(CONFIGS))]


def _train(cfg, threads=1, progress=None):
    return engine.train(CONFIGS, cfg, SEEDS, threads=threads, progress=progress)


def _assert_same(a, b):
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    np.testing.assert_array_equal(a.loss, b.loss)
    if a.loss_exact is not None:
        np.testing.assert_array_equal(a.loss_exact, b.loss_exact)


@pytest.mark.parametrize("estimator", ["sampled", "patterns", "exact"])
def test_groups_chunks_and_evaluation_slices_change_nothing(estimator, monkeypatch):
    cfg = TrainConfig(steps=40, batch_size=64, estimator=estimator, eval_batch=300)
    whole = _train(cfg)
    monkeypatch.setattr(base, "GROUP_BYTES", 1)  # one model per group
    monkeypatch.setattr(exact, "EXACT_GROUP_MODELS", 1)
    monkeypatch.setattr(base, "SAMPLE_CHUNK_BYTES", 1)  # one model per chunk
    monkeypatch.setattr(engine, "_EVAL_SLICE_BYTES", 1)  # evaluate one model at a time
    seen = []
    cut = _train(cfg, threads=2, progress=seen.append)
    _assert_same(whole, cut)
    assert sum(seen) == cfg.steps * len(CONFIGS)


def test_groups_come_in_multiples_of_the_threads_and_bound_their_size():
    cfg = TrainConfig(batch_size=1024)
    most = base.Estimator.group_models(CONFIGS[0], cfg)
    assert most * 128 * 1024 <= base.GROUP_BYTES  # 128 KiB of random words per model
    groups = engine._groups(10 * most + 1, CONFIGS[0], cfg, threads=2)
    assert len(groups) % 2 == 0 and max(len(g) for g in groups) <= most
    assert sorted(np.concatenate(groups)) == list(range(10 * most + 1))
    assert len(engine._groups(3, CONFIGS[0], cfg, threads=4)) == 3  # never empty groups
