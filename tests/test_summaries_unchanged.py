"""Every command's summary on a small grid of every system is pinned.

Each case runs a command with small settings and compares what it writes
(``summary.json``, or ``compare.json``) with ``tests/data/summaries/<case>.json``.  Paths
to written files are compared relative to ``--out``.

The stored files were written on one kind of CPU arithmetic, named by
``arithmetic.txt`` (a hash of the weights a short training run ends with).  Where this
machine's arithmetic is the same, the files must be equal to the byte; elsewhere BLAS
kernels round the last bit differently, so numbers must agree within ``RTOL`` and every
label, key and shape must be equal.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path

import pytest

import summaries
import sweeps
from cli.main import main

STORED = Path(__file__).parent / "data" / "summaries"
# Float32 roundings of different BLAS kernels, grown over a few hundred training steps.
RTOL = 1e-4
CASES = {
    "phase-2to1": ["phase-diagram", "--grid", "3", "--seeds", "2", "--steps", "60"],
    "phase-3to2": [
        "phase-diagram", "--features", "3", "--grid", "2", "--seeds", "2", "--steps", "40",
    ],
    "multitask-relu": [
        "multitask", "train", "--seeds", "2", "--epochs", "300", "--hidden", "24",
        "--record-every", "50",
    ],
    "multitask-linear": [
        "multitask", "train", "--model", "contextual_linear", "--seeds", "2", "--epochs", "300",
        "--hidden", "24", "--record-every", "50",
    ],
    "multitask-gdln": [
        "multitask", "train", "--model", "gdln", "--seeds", "2", "--epochs", "300", "--hidden",
        "6", "--record-every", "50",
    ],
    "conflict-width": [
        "conflict", "phase-diagram", "--grid", "2", "--seeds", "2", "--epochs", "150",
    ],
    "conflict-strength": [
        "conflict", "phase-diagram", "--model", "relu", "--axis", "strength", "--grid", "2",
        "--seeds", "2", "--epochs", "150",
    ],
    "competition-clusters": [
        "competition", "phase-diagram", "--grid", "2", "--seeds", "2", "--steps", "40",
    ],
    "competition-annealing": [
        "competition", "phase-diagram", "--task", "annealing", "--grid", "2", "--seeds", "2",
        "--steps", "40",
    ],
    "competition-features": [
        "competition", "phase-diagram", "--task", "features", "--grid", "2", "--seeds", "2",
        "--steps", "40",
    ],
    "competition-compare": ["competition", "compare", "--seeds", "2", "--steps", "30"],
    "competition-compare-features": [
        "competition", "compare", "--task", "features", "--seeds", "2", "--steps", "30",
    ],
}  # fmt: skip


@cache
def arithmetic() -> str:
    """A hash of the weights 4 superposition models end with after 200 sampled Adam steps:
    equal on machines whose kernels round alike."""
    from toymodels import ModelConfig, TrainConfig, model_seed, train

    configs = [ModelConfig.superposition(density=p, importance=2.0) for p in (0.05, 0.3, 1.0, 0.1)]
    seeds = [model_seed(0, i, 0) for i in range(len(configs))]
    result = train(configs, TrainConfig(steps=200, batch_size=256), seeds)
    return hashlib.sha256(result.params["W"].tobytes()).hexdigest()[:16]


def written(out: Path) -> str:
    """The summary a command wrote into ``out``, paths made relative to it."""
    path = out / "summary.json"
    if not path.exists():
        path = out / "compare.json"
    return path.read_text().replace(f"{out}/", "OUT/")


def assert_close(found, stored, where: str = "") -> None:
    """Equal structure, keys, labels and shapes; numbers within ``RTOL``."""
    if isinstance(stored, dict):
        assert isinstance(found, dict) and found.keys() == stored.keys(), where
        for key in stored:
            assert_close(found[key], stored[key], f"{where}.{key}")
    elif isinstance(stored, list):
        assert isinstance(found, list) and len(found) == len(stored), where
        for i, (f, s) in enumerate(zip(found, stored, strict=True)):
            assert_close(f, s, f"{where}[{i}]")
    elif isinstance(stored, float) and not isinstance(found, bool):
        assert isinstance(found, int | float), where
        assert math.isclose(found, stored, rel_tol=RTOL, abs_tol=1e-9), (where, found, stored)
    else:
        assert found == stored, (where, found, stored)


# The library function that gives each case's summary without the command line.
LIBRARY = {
    "phase": summaries.superposition,
    "multitask": summaries.multitask,
    "conflict": summaries.conflict,
    "competition-compare": summaries.competition_compare,
    "competition": summaries.competition,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_is_unchanged(case, tmp_path):
    out = tmp_path / case
    assert main([*CASES[case], "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    found = written(out)
    stored = (STORED / f"{case}.json").read_text()
    if arithmetic() == (STORED / "arithmetic.txt").read_text().strip():
        assert found == stored
    else:
        assert_close(json.loads(found), json.loads(stored))
    # The same summary from Python, in one call on the stored results.
    summarise = next(f for prefix, f in LIBRARY.items() if case.startswith(prefix))
    expected = {k: v for k, v in json.loads(found).items() if k != "figures"}
    assert json.loads(json.dumps(summarise(sweeps.load(out / "run")))) == expected


if __name__ == "__main__":  # rewrite the stored summaries from this tree
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for case, argv in CASES.items():
            out = Path(tmp) / case
            assert main([*argv, "--jobs", "1", "--quiet", "--out", str(out)]) == 0
            (STORED / f"{case}.json").write_text(written(out))
    (STORED / "arithmetic.txt").write_text(arithmetic() + "\n")
    sys.exit(0)
