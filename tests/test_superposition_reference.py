"""Superposition results are pinned: the ``paper-2to1`` preset at a 4x4 grid, 2 seeds and
300 steps (and the same with the exact and patterns estimators, and ``paper-3to2`` at 3x3
with 200 steps) give arrays bit-identical to ``tests/data/superposition-reference.npz``,
which the engine wrote before the family contract existed."""

from pathlib import Path

import numpy as np
import pytest

import sweeps
from toymodels.phases.extra_feature import LABELS

REFERENCE = Path(__file__).parent / "data" / "superposition-reference.npz"
VARIABLES = (
    "W", "b", "loss", "loss_exact", "norm", "interference", "dimensionality",
    "phase_model", "phase_paper", "phase_best", "phase_fraction",
)  # fmt: skip
RUNS = {
    "sampled": ("paper-2to1", 4, 300, {}),
    "exact": ("paper-2to1", 4, 300, {"train.estimator": "exact"}),
    "patterns": ("paper-2to1", 4, 300, {"train.estimator": "patterns"}),
    "3to2": ("paper-3to2", 3, 200, {}),
}


@pytest.mark.parametrize("tag", sorted(RUNS))
def test_superposition_arrays_are_bit_identical_to_the_reference(tag, tmp_path):
    preset, grid, steps, extra = RUNS[tag]
    spec = sweeps.load_preset(preset).with_overrides(
        {
            "axes.density.num": grid,
            "axes.importance.num": grid,
            "seeds": 2,
            "train.steps": steps,
            **extra,
        }
    )
    results = sweeps.run(spec, tmp_path / tag)
    # The reference predates the "diverged" phase: no model diverges here, so its column
    # is zero and the rule's own columns are unchanged.
    assert not results["diverged"].any()
    assert not results["phase_fraction"].sel(phase="diverged").any()
    found = {name: results[name] for name in VARIABLES}
    found["phase_fraction"] = results["phase_fraction"].sel(phase=list(LABELS))
    with np.load(REFERENCE) as reference:
        for name in VARIABLES:
            stored = reference[f"{tag}/{name}"]
            assert found[name].dtype == stored.dtype, name
            np.testing.assert_array_equal(found[name].values, stored, err_msg=name)
