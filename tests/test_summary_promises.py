"""What the documentation promises of every summary: ``diverged_models`` and
``diverged_cells`` (the cells every seed of which diverged), counted alike everywhere."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import summaries
import sweeps
from summaries.seed_selection import diverged_counts

STORED = Path(__file__).parent / "data" / "summaries"


def test_a_cell_counts_as_diverged_only_when_every_seed_did():
    diverged = np.array([[[True, True], [True, False]], [[False, False], [True, True]]])
    ds = xr.Dataset({"diverged": (("a", "b", "seed"), diverged)})
    assert diverged_counts(ds) == {"diverged_models": 5, "diverged_cells": 2}
    one_cell = xr.Dataset({"diverged": (("seed",), np.array([True, True]))})
    assert diverged_counts(one_cell) == {"diverged_models": 2, "diverged_cells": 1}


@pytest.mark.parametrize("path", sorted(STORED.glob("*.json")), ids=lambda p: p.stem)
def test_every_command_s_summary_reports_diverged_models_and_cells(path):
    # The stored summaries are what each command writes (tests/test_summaries_unchanged.py)
    written = json.loads(path.read_text())
    assert written["diverged_models"] == 0 and written["diverged_cells"] == 0


# Tiny runs whose every model diverges (a learning rate far past stability).
DIVERGING = {
    "conflict": (
        "conflict-linear-width",
        {"axes.conflict": [0.0, 1.0], "axes.n_hidden": [1, 3], "train.lr": 10.0},
        summaries.conflict,
    ),
    "competition": (
        "competition-clusters",
        {"axes.temperature": [0.1, 1.0], "axes.volume_strength": [0.0, 0.1], "train.lr": 1e30},
        summaries.competition,
    ),
    "multitask": (
        "multitask-linear",
        {"n_hidden": 6, "train.lr": 10.0, "train.record_every": 10},
        summaries.multitask,
    ),
}


@pytest.mark.parametrize("system", sorted(DIVERGING))
def test_diverged_cells_count_the_cells_every_seed_of_which_diverged(system, tmp_path):
    preset, changes, summarise = DIVERGING[system]
    spec = sweeps.load_preset(preset).with_overrides(
        {"seeds": 2, "train.steps": 5 if system == "competition" else 30, **changes}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the diverged-cells notice
        summary = summarise(sweeps.run(spec, tmp_path / "run", progress=False))
    cells = spec.n_models // spec.seeds
    assert summary["diverged_models"] == spec.n_models
    assert summary["diverged_cells"] == cells
