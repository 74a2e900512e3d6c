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


# The keys each command's page promises of what it writes (docs/conflict.md,
# docs/competition.md, docs/multitask.md, docs/superposition.md), each checked in the
# summary the command writes (pinned in tests/data/summaries).
PROMISED = {
    "conflict-width": "conflict axis phase phase_fraction theory_phase dominance dominance_std "
    "theory_dominance explained theory_explained learn_time theory_learn_time agreement "
    "agreement_per_seed spread_at_no_conflict theory_tie thresholds settings",
    "competition-clusters": "temperature strength phase phase_fraction metrics metrics_mean "
    "critical_temperature thresholds settings",
    "competition-annealing": "temperature strength phase phase_fraction metrics metrics_mean "
    "critical_temperature theory_phase band agreement_outside_band "
    "agreement_per_seed_outside_band thresholds settings",
    "competition-compare": "rows settings",
    "multitask-relu": "final_loss census modes theory settings",
    "multitask-gdln": "final_loss module_singular_values modes theory settings",
    "phase-2to1": "features hidden density importance seeds empirical_phase "
    "empirical_phase_paper_rule theory_phase theory_candidate optimum_phase agreement "
    "agreement_paper_rule agreement_optimum theory_agrees_with_optimum selection_loss",
}
ROW_KEYS = (
    "activation volume loss max_abs_cos effective_rank usage_entropy dead_fraction n_distinct "
    "phase effective_units sample_entropy accuracy phase_fraction"
)


@pytest.mark.parametrize("case", sorted(PROMISED))
def test_every_key_the_docs_promise_is_written(case):
    written = json.loads((STORED / f"{case}.json").read_text())
    promised = {*PROMISED[case].split(), "diverged_models", "diverged_cells"}
    assert promised <= set(written), sorted(promised - set(written))
    if case == "competition-compare":
        for row in written["rows"]:
            assert set(ROW_KEYS.split()) <= set(row)


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
        summary = summarise(sweeps.run(spec, tmp_path / "run", jobs=1, progress=False))
    cells = spec.n_models // spec.seeds
    assert summary["diverged_models"] == spec.n_models
    assert summary["diverged_cells"] == cells
