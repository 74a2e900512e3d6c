"""Tasks: the Gaussian mixture's distribution, normal and index draws from random words,
finite data sets and their mini-batches, and losses against direct computations."""

import os

import numpy as np
import pytest
import scipy.stats
import torch

from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.families import FAMILIES
from toymodels.random_words import UniformBlocks, index_from_bits, normal_from_bits
from toymodels.seeds import STREAM_DATA
from toymodels.tasks import TASKS, Batch

SEED = int(os.environ.get("TOYMODELS_TEST_SEED", "0"))
SIGMAS = 5.0
KS_ALPHA = 1e-6


def _words(shape, root=SEED):
    seeds = [np.random.SeedSequence(root, spawn_key=(i, 0)) for i in range(shape[0])]
    return UniformBlocks(seeds, STREAM_DATA, shape[1:]).next()


def test_normal_values_from_words():
    z = normal_from_bits(_words((2, 4, 50_000))).double()
    assert scipy.stats.kstest(z[0, 0].numpy(), "norm").pvalue > KS_ALPHA
    assert scipy.stats.kstest(z[1, 3].numpy(), "norm").pvalue > KS_ALPHA
    # the two values of a Box-Muller pair, and different rows, are uncorrelated
    for a, b in ((z[0, 0], z[0, 1]), (z[0, 1], z[0, 2])):
        corr = np.corrcoef(a.numpy(), b.numpy())[0, 1]
        assert abs(corr) <= SIGMAS / np.sqrt(a.numel())
    assert z.abs().max() < 7.0


@pytest.mark.parametrize("count", [2, 7, 24])
def test_indices_from_words_are_uniform(count):
    idx = index_from_bits(_words((1, 100_000)), count)
    assert idx.dtype == torch.int64 and idx.min() >= 0 and idx.max() < count
    observed = torch.bincount(idx.flatten(), minlength=count).numpy()
    assert scipy.stats.chisquare(observed).pvalue > KS_ALPHA


def _clusters(batch, rows=40_000, **fields):
    configs = [ModelConfig.build("hidden", "clusters", **fields)] * batch
    task = TASKS["clusters"](
        [c.data for c in configs], [model_seed(SEED, i, 0) for i in range(batch)]
    )
    shape = task.sample_shape(configs[0].data, rows)
    return task, task.draw(_words((batch, *shape)))


@pytest.mark.parametrize(
    "fields",
    [
        {"n_features": 3, "n_clusters": 3, "spread": 0.5, "separation": 2.0},
        {
            "n_features": 2,
            "n_clusters": 3,
            "spread": 0.2,
            "centers": [[0.0, 0.0], [1.0, -1.0], [3.0, 0.5]],
            "weights": [0.6, 0.3, 0.1],
        },
    ],
)
def test_gaussian_mixture_distribution(fields):
    task, batch = _clusters(2, **fields)
    config = task.configs[0]
    centers = np.array(config.center_matrix())
    probabilities = np.array(config.probabilities())
    x, labels = batch.x[0].double().numpy(), batch.labels[0].numpy()
    n = len(labels)
    for c, (centre, prob) in enumerate(zip(centers, probabilities, strict=True)):
        mine = labels == c
        assert abs(mine.mean() - prob) <= SIGMAS * np.sqrt(prob * (1 - prob) / n)
        points = x[:, mine]
        se = config.spread / np.sqrt(mine.sum())
        np.testing.assert_allclose(points.mean(1), centre, atol=SIGMAS * se)
        assert points.std(1) == pytest.approx(np.full(len(centre), config.spread), rel=0.05)
    # models draw their own examples
    assert not torch.equal(batch.x[0], batch.x[1])


def test_cross_entropy_and_accuracy_against_direct_computation():
    task, batch = _clusters(2, rows=64, n_features=3, n_clusters=3)
    logits = torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(1))
    loss = task.loss(logits, batch, 1.0 / 64)
    direct = [
        torch.nn.functional.cross_entropy(logits[k].T, batch.labels[k]).item() for k in range(2)
    ]
    np.testing.assert_allclose(loss.numpy(), direct, rtol=1e-6)
    accuracy = task.metrics(logits, batch)["accuracy"]
    np.testing.assert_allclose(
        accuracy.numpy(), (logits.argmax(1) == batch.labels).double().mean(1).numpy()
    )


def test_finite_data_set_and_its_minibatches():
    configs = [ModelConfig.build("hidden", "clusters", n_samples=50, spread=s) for s in (0.3, 0.6)]
    seeds = [model_seed(SEED, i, 0) for i in range(2)]
    task = TASKS["clusters"]([c.data for c in configs], seeds)
    data = task.data_set
    assert data.x.shape == (2, 2, 50) and data.labels.shape == (2, 50)
    assert task.data_set is data  # drawn once
    # the data set is the first 50 examples of each model's own stream
    again = TASKS["clusters"]([configs[1].data], seeds[1:]).data_set
    torch.testing.assert_close(again.x[0], data.x[1])
    # a mini-batch picks examples of the data set
    mini = task.minibatch(_words((2, 30)))
    for k in range(2):
        columns = {tuple(col) for col in data.x[k].T.tolist()}
        assert all(tuple(col) in columns for col in mini.x[k].T.tolist())
    assert task.row_weight(50) == pytest.approx(1 / 50)


def test_full_batch_training_minimises_the_data_set_loss():
    configs = [ModelConfig.build("hidden", "features", n_features=4, n_hidden=2, n_samples=32)]
    seeds = [model_seed(SEED, 0, 0)]
    cfg = TrainConfig(steps=200, lr=0.05, optimizer="sgd", estimator="full", record_every=100)
    result = train(configs, cfg, seeds)
    # the recorded loss at the last step is the loss on the data set
    assert result.trajectory["loss"][0, -1] == pytest.approx(result.train_loss[0], rel=1e-6)
    assert result.trajectory["loss"][0, -1] < result.trajectory["loss"][0, 0]
    # and is the loss computed directly from the stored parameters
    model = FAMILIES["hidden"](configs, seeds)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.as_tensor(result.params[name]))
        data = model.task.data_set
        direct = (model.task.importance.unsqueeze(-1) * (model(data.x) - data.x) ** 2).sum(1)
    assert result.train_loss[0] == pytest.approx(direct.mean().item(), rel=1e-5)


def test_full_batch_needs_a_finite_data_set_and_the_exact_loss_a_distribution():
    from toymodels import ConfigError, build_model

    stream = [ModelConfig.build("hidden", "features")]
    with pytest.raises(ConfigError, match="set n_samples > 0"):
        build_model(stream, [model_seed(0, 0, 0)], TrainConfig(estimator="full"))
    finite = [ModelConfig.superposition(n_samples=10)]
    with pytest.raises(ConfigError, match="not a finite data set"):
        build_model(finite, [model_seed(0, 0, 0)], TrainConfig(estimator="exact"))


def test_batch_take_picks_per_model_examples():
    x = torch.arange(24.0).view(2, 3, 4)
    labels = torch.arange(8).view(2, 4)
    index = torch.tensor([[3, 0], [1, 1]])
    picked = Batch(x, labels=labels).take(index)
    torch.testing.assert_close(picked.x[0], x[0][:, [3, 0]])
    torch.testing.assert_close(picked.x[1], x[1][:, [1, 1]])
    assert picked.labels.tolist() == [[3, 0], [5, 5]]


def _task_cases():
    """Every task, with the first family that learns it."""
    seen = {}
    for family, cls in FAMILIES.items():
        for task in cls.tasks:
            seen.setdefault(task, family)
    return sorted(seen.items())


@pytest.mark.parametrize(("task", "family"), _task_cases())
def test_a_tasks_rows_and_output_gradient_agree_with_the_whole(task, family):
    """``Task.rows`` gives the loss of those models alone, and ``loss_and_output_grad``
    (by hand where a task writes it) equals autograd of ``loss``."""
    from toymodels.engine import build_model
    from toymodels.tasks.base import Task

    specs = FAMILIES[family]
    configs = [ModelConfig.build(family, task) for _ in range(4)]
    train_cfg = TrainConfig(steps=1, batch_size=32, estimator=specs.estimators[0])
    model = build_model(configs, [model_seed(SEED, i, 0) for i in range(4)], train_cfg)
    t = model.task
    if t.is_finite:
        batch = t.data_set
    else:
        batch = t.draw(_words((4, *t.sample_shape(t.configs[0], 32))))
    weight = t.row_weight(batch.x.shape[-1])
    gen = torch.Generator().manual_seed(SEED)
    out = model(batch.x) + 0.1 * torch.randn(model(batch.x).shape, generator=gen)
    whole = t.loss(out, batch, weight)
    rows = slice(1, 3)
    part = Batch(*(None if v is None else v[rows] for v in (batch.x, batch.y, batch.labels)))
    torch.testing.assert_close(t.rows(rows).loss(out[rows], part, weight), whole[rows])
    loss, grad = t.loss_and_output_grad(out, batch, weight)
    auto_loss, auto_grad = Task.loss_and_output_grad(t, out, batch, weight)
    torch.testing.assert_close(loss, auto_loss)
    torch.testing.assert_close(grad, auto_grad)
