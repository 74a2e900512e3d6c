"""Data of the sampling estimators: the paper's distribution, and streams that depend on a
model's own seed only."""

import os

import numpy as np
import pytest
import scipy.stats
import torch

from toymodels import random_words
from toymodels.random_words import (
    UniformBlocks,
    sparse_coefficients,
    sparse_from_bits,
    uniform_from_bits,
)

SEED = int(os.environ.get("TOYMODELS_TEST_SEED", "0"))
SIGMAS = 5.0
KS_ALPHA = 1e-6


def _seeds(count, root=SEED):
    return [np.random.SeedSequence(root, spawn_key=(i, 0)) for i in range(count)]


@pytest.mark.parametrize("p", [1.0, 0.3, 0.01])
def test_sparse_features_follow_the_paper_distribution(p):
    # Active with probability p, then Uniform[0, 1], independently per entry.
    blocks = UniformBlocks(_seeds(2), 1, (3, 20_000))
    density = torch.tensor([[p, p, p], [p, 1.0, p]])
    x = sparse_from_bits(blocks.next(), *sparse_coefficients(density)).double()
    active = x[0] > 0
    count = active.numel()
    assert abs(active.double().mean().item() - p) <= SIGMAS * np.sqrt(p * (1 - p) / count) + 1e-9
    assert bool((x[1, 1] > 0).all())  # density 1: always active
    values = x[0][active].numpy()
    assert values.max() <= 1.0
    assert scipy.stats.kstest(values, "uniform").pvalue > KS_ALPHA
    if p < 1:  # masks of different features and examples are independent
        a, b = active[0].double(), active[1].double()
        corr = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
        assert abs(corr.item()) <= SIGMAS / np.sqrt(a.numel())


def test_uniform_values_are_uniform():
    u = uniform_from_bits(UniformBlocks(_seeds(1), 1, (50_000,)).next()).double().numpy()
    assert u.min() >= 0.0 and u.max() <= 1.0
    assert scipy.stats.kstest(u.ravel(), "uniform").pvalue > KS_ALPHA


def test_streams_do_not_depend_on_batch_mates_or_block_length(monkeypatch):
    shape = (3, 7)  # an odd number of words per step
    together = UniformBlocks(_seeds(3), 1, shape)
    steps_together = [together.next().clone() for _ in range(9)]
    monkeypatch.setattr(
        random_words, "MIN_WORDS_PER_CALL", 50
    )  # blocks of 2 steps instead of ~1560
    alone = UniformBlocks(_seeds(3)[1:2], 1, shape)
    assert alone.max_block == 2 and together.max_block > 100
    for step in steps_together:
        np.testing.assert_array_equal(alone.next()[0].numpy(), step[1].numpy())


def test_streams_differ_between_models_and_purposes():
    a = UniformBlocks(_seeds(2), 1, (64,)).next()
    b = UniformBlocks(_seeds(2), 2, (64,)).next()
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(a[0], b[0])


def test_group_memory_is_bounded():
    # The random-number block of one model stays small, so a group of models is cheap.
    assert UniformBlocks.block_bytes((2, 1024)) <= 4 * random_words.MIN_WORDS_PER_CALL
    assert UniformBlocks.block_bytes((200, 1024)) == 4 * 200 * 1024
