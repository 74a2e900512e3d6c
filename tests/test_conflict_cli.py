"""``toymodels conflict phase-diagram`` and the conflict figures of ``toymodels figures``."""

import json

import numpy as np
import pytest

import sweeps
from cli.main import main

SMALL = ["--grid", "3", "--seeds", "2", "--epochs", "400", "--lr", "0.01", "--quiet"]


@pytest.fixture(scope="module")
def width_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("conflict") / "width"
    assert main(["conflict", "phase-diagram", *SMALL, "--out", str(out)]) == 0
    return out


def test_phase_diagram_writes_run_figure_and_summary(width_run):
    out = width_run
    assert (out / "phase_diagram.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "phase_diagram.pdf").read_bytes()[:4] == b"%PDF"
    summary = json.loads((out / "summary.json").read_text())
    ds = sweeps.load(out / "run")
    assert summary["conflict"] == [0.0, 0.5, 1.0]
    assert summary["axis"] == [1, 6, 12]  # widths 1 to 2(6-1)+2, distinct integers
    assert ds["conflict"].values.tolist() == summary["conflict"]
    assert ds["n_hidden"].values.tolist() == summary["axis"]
    for key in ("phase", "theory_phase", "dominance", "dominance_std"):
        assert np.shape(summary[key]) == (3, 3), key
    assert np.shape(summary["explained"]) == (3, 3, 2)
    assert summary["phase"] == ds["phase_best"].transpose("conflict", "n_hidden").values.tolist()
    np.testing.assert_allclose(
        summary["dominance_std"],
        ds["dominance"].std("seed").transpose("conflict", "n_hidden").values,
        rtol=1e-5,
        atol=1e-9,
    )
    fractions = summary["phase_fraction"]
    assert set(fractions) == {"learn_everything", "winner_take_all", "not_learned", "diverged"}
    assert summary["diverged_models"] == 0 and not any(map(any, fractions["diverged"]))
    np.testing.assert_allclose(sum(np.array(v) for v in fractions.values()), 1.0)
    # κ = 1 in a width-1 layer: task A (the stronger view) wins, as the theory says
    assert summary["phase"][2][0] == summary["theory_phase"][2][0] == "winner_take_all"
    assert summary["phase"][0] == ["learn_everything"] * 3
    assert summary["agreement"] == pytest.approx(
        np.mean(np.array(summary["phase"]) == np.array(summary["theory_phase"]))
    )
    assert summary["spread_at_no_conflict"] < 0.01
    settings = summary["settings"]
    assert settings | {"axis": "width", "view_ratio": 0.7, "seeds": 2, "epochs": 400} == settings
    description = json.loads(ds.attrs["spec"])["description"]  # what was trained
    assert "3 x 3 grid" in description and "2 seeds, 400 epochs" in description


def test_rerunning_resumes_and_gives_the_same_summary(width_run, capsys):
    before = json.loads((width_run / "summary.json").read_text())
    assert main(["conflict", "phase-diagram", *SMALL, "--out", str(width_run)]) == 0
    after = json.loads((width_run / "summary.json").read_text())
    assert after == before


def test_strength_axis_with_relu(tmp_path):
    out = tmp_path / "strength"
    args = ["--model", "relu", "--axis", "strength", "--ratio-range", "0.5", "2", "--width", "3"]
    assert main(["conflict", "phase-diagram", *SMALL, *args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    np.testing.assert_allclose(summary["axis"], [0.5, 1.0, 2.0])
    assert summary["settings"]["model"] == "two_view_relu"
    assert summary["settings"]["width"] == 3 and summary["settings"]["view_ratio"] is None
    # at κ = 0 view 1's dominance is g1²/(g1²+g2²) = 1/(1+ρ²) in the theory
    np.testing.assert_allclose(
        np.array(summary["theory_dominance"])[0], 1 / (1 + np.array([0.25, 1.0, 4.0]))
    )


@pytest.mark.parametrize(
    "bad",
    [
        ["--conflict-range", "-0.1", "1"],
        ["--conflict-range", "0", "1.5"],
        ["--conflict-range", "0.6", "0.2"],
        ["--axis", "strength", "--width", "0"],
        ["--width-range", "0", "4"],
        ["--width-range", "5", "2"],
        ["--ratio", "0"],
        ["--ratio", "-2"],
        ["--ratio", "nan"],
        ["--axis", "strength", "--ratio-range", "0", "4"],
        ["--axis", "strength", "--ratio-range", "2", "1"],
        ["--width", "3"],
        ["--axis", "strength", "--ratio", "0.5"],
        ["--items", "1"],
        ["--grid", "0"],
        ["--grid", "1"],
        ["--width-range", "3", "3"],
        ["--ratio", "5000"],
        ["--axis", "strength", "--ratio-range", "1e100", "1e200"],
        ["--init", "1e200"],
        ["--init", "0.5"],
        ["--seeds", "0"],
        ["--model", "tanh"],
        ["--axis", "depth"],
        ["--lr", "0"],
        ["--epochs", "-5"],
        ["--init", "0"],
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(bad, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["conflict", "phase-diagram", *bad, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_conflict_figures_from_tiny_runs(tmp_path):
    out = tmp_path / "figs"
    tiny = ["--quiet", "--jobs", "1", "--set", "train.steps=60", "--set", "seeds=2"]
    tiny += ["--set", "train.record_every=20", "--set", "axes.conflict.num=3"]
    names = ["conflict-linear-width", "conflict-relu-strength"]
    assert main(["figures", *names, "--out", str(out), *tiny]) == 0
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_figure_panels_and_theory_line(width_run):
    from figures.conflict_panels import conflict_diagram
    from summaries.conflict_summary import theory_for

    ds = sweeps.load(width_run / "run")
    fig = conflict_diagram(ds, theory_for(ds))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "trained phase (best of N)",
        "fraction of seeds winner-take-all",
        "theory phase",
        "dominance of view 1 (mean)",
        "dominance spread (std over seeds)",
        "theory dominance of view 1",
    ]
    drawn = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "boundary"]
    assert len(drawn) == 6


def test_the_command_bounds_view_ratios_with_the_task_fields_check():
    import argparse

    from cli import conflict_command as command
    from toymodels.tasks.conflict import ConflictConfig

    check = ConflictConfig.field_specs()["view_ratio"].check
    for value in check.bad:
        if isinstance(value, float):
            with pytest.raises(argparse.ArgumentTypeError, match="outside|not finite"):
                command._RATIO(str(value))
    assert command._RATIO("1000") == 1000.0 and command._RATIO("0.001") == 0.001
