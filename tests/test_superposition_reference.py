"""Superposition results are pinned: the ``paper-2to1`` preset at a 4x4 grid, 2 seeds and
300 steps (and the same with the exact and patterns estimators, and ``paper-3to2`` at 3x3
with 200 steps) give arrays bit-identical to a stored reference.

The BLAS kernels torch calls round the last bit differently on different CPUs, so there
is one reference per kind of arithmetic seen: ``superposition-reference.npz``, which the
engine wrote before the family contract existed, and
``superposition-reference-mkl-avx512.npz``, the same runs on a CPU where MKL takes its
AVX-512 kernels (they differ by float32 roundings, at most 4e-6 relative, with the same
phase labels).  A run must equal one of them to the bit."""

from pathlib import Path

import numpy as np
import pytest

import sweeps
from toymodels.phases.extra_feature import LABELS

REFERENCES = sorted((Path(__file__).parent / "data").glob("superposition-reference*.npz"))
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
    differences = {}
    for path in REFERENCES:
        with np.load(path) as reference:
            differing = [
                name
                for name in VARIABLES
                if found[name].dtype != reference[f"{tag}/{name}"].dtype
                or not np.array_equal(found[name].values, reference[f"{tag}/{name}"])
            ]
        if not differing:
            return
        differences[path.name] = differing
    pytest.fail(f"{tag}: no stored reference is bit-identical; arrays that differ: {differences}")
