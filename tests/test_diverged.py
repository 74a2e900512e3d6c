"""Diverged models: a non-finite loss or parameter gets the phase ``diverged``, takes no
part in best-of-N, the paper rule or the reports' agreement, and is reported."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sweeps
from cli.main import main
from sweeps._dataset import _diverged
from toymodels.errors import DivergedCells, Notice

TINY = {
    "train.steps": 20,
    "seeds": 2,
    "axes.density": [0.1, 1.0],
    "axes.importance": [1.0],
}


def _spec(**changes):
    return sweeps.load_preset("paper-2to1").with_overrides({**TINY, **changes})


def test_a_model_with_nan_parameters_but_a_finite_loss_is_diverged():
    arrays = {
        "loss": np.array([0.1, 0.2, np.inf]),
        "W": np.array([[[1.0, np.nan]], [[1.0, 2.0]], [[1.0, 2.0]]]),
        "norm": np.array([[np.nan], [1.0], [1.0]]),  # a metric, not a parameter
    }
    np.testing.assert_array_equal(_diverged(arrays, {"W", "b"}), [True, False, True])


def test_an_overflowing_initialisation_labels_its_cells_diverged(tmp_path):
    # init_scale 1e300 overflows float32 weights to inf at once; init_scale 1 trains
    # normally.  One sweep holds both, so only the 1e300 cells are diverged.
    spec = _spec(**{"axes.init_scale": [1.0, 1e300]})
    with pytest.warns(DivergedCells, match=r"4 of 8 models .*2 of 4 cells.*init_scale=1e\+300"):
        ds = sweeps.run(spec, tmp_path / "run")
    bad = ds.sel(init_scale=1e300)
    assert bad["diverged"].all() and not ds.sel(init_scale=1.0)["diverged"].any()
    assert (bad["phase_best"] == "diverged").all() and (bad["phase_paper"] == "diverged").all()
    assert (bad["phase_model"] == "diverged").all()
    assert float(bad["phase_fraction"].sel(phase="diverged").min()) == 1.0
    good = ds.sel(init_scale=1.0)
    assert "diverged" not in good["phase_model"].values
    assert float(good["phase_fraction"].sel(phase="diverged").max()) == 0.0
    assert ds.attrs["diverged_models"] == 4


def test_every_seed_diverged_gives_one_warning_line_and_exit_1(tmp_path, capsys):
    code = main(
        ["sweep", "run", "paper-2to1", "--out", str(tmp_path / "run"), "--quiet"]
        + [f"--set={k}={v}" for k, v in {**TINY, "train.init_scale": 1e300}.items()]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("toymodels sweep: warning: 4 of 4 models diverged")
    assert "every seed diverged in 2 of 2 cells" in err[0]
    ds = sweeps.load(tmp_path / "run")
    assert (ds["phase_best"] == "diverged").all()


def test_the_phase_report_leaves_diverged_cells_out_of_the_agreement(tmp_path):
    from analytics import theory_map
    from summaries.superposition_summary import summarise

    spec = _spec(**{"axes.init_scale": [1.0, 1e300]})
    with pytest.warns(DivergedCells):
        ds = sweeps.run(spec, tmp_path / "run")
    for scale, cells in ((1e300, 2), (1.0, 0)):
        part = ds.sel(init_scale=scale)
        theory = theory_map(2, part.density.values, part.importance.values)
        summary = summarise(part, optimum=False)
        assert summary["diverged_cells"] == cells and summary["diverged_models"] == 2 * cells
        if cells:  # nothing to compare: no score rather than 0 or a score over garbage
            assert summary["agreement"] is None and summary["agreement_paper_rule"] is None
        else:
            expected = float((part.phase_best.values == np.asarray(theory.phase)).mean())
            assert summary["agreement"] == expected


def test_some_diverged_seeds_warn_without_failing(tmp_path):
    # At lr 1e9 with fresh samples, seed 0 of this cell overflows within 20 steps and
    # seed 1 does not: a plain Notice (the cell keeps a phase), not DivergedCells.
    spec = _spec(**{"train.lr": 1e9, "axes.density": [0.1]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = sweeps.run(spec, tmp_path / "run")
    kinds = [type(w.message) for w in caught if issubclass(w.category, Notice)]
    assert kinds == [Notice]
    assert "1 of 2 models diverged" in str(caught[0].message)
    assert ds["diverged"].values.ravel().tolist() == [True, False]
    assert ds["phase_best"].item() == ds["phase_model"].values.ravel()[1] != "diverged"


def test_a_missing_score_is_said_in_words():
    from cli.reports import shown

    assert shown(None) == "none (every cell diverged)"
    assert shown(0.98765) == "0.988" and shown(0.0123, ".2g") == "0.012"


@pytest.mark.parametrize(
    "preset, changes",
    [
        ("competition-clusters", {"axes.temperature.num": 2, "axes.volume_strength.num": 2}),
        ("multitask-gdln", {}),
        ("hidden-demo", {}),
    ],
)
def test_families_whose_metrics_take_singular_values_survive_a_diverged_model(
    preset, changes, tmp_path
):
    # Their metrics call an SVD, which LAPACK refuses on NaN input for the whole batch:
    # before, one overflowing model stopped the sweep with a LinAlgError.
    spec = sweeps.load_preset(preset).with_overrides(
        {"train.init_scale": 1e300, "train.steps": 5, "seeds": 1, **changes}
    )
    with pytest.warns(DivergedCells):
        ds = sweeps.run(spec, tmp_path / "run")
    assert ds["diverged"].all()
    if "phase_best" in ds:
        assert (ds["phase_best"] == "diverged").all()


def test_singular_values_are_nan_only_for_matrices_with_non_finite_entries():
    import torch

    from toymodels.linear_algebra import singular_values

    m = torch.tensor([[[3.0, 0.0], [0.0, 4.0]], [[1.0, float("nan")], [0.0, 1.0]]])
    s = singular_values(m)
    assert s[0].tolist() == [4.0, 3.0] and torch.isnan(s[1]).all()
