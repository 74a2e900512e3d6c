"""``toymodels competition`` (phase-diagram, compare, list) and ``toymodels analytic
critical-temperature`` from the command line."""

import json

import numpy as np
import pytest

import sweeps
from analytics import critical_temperature
from cli.main import main

SMALL = ["--grid", "3", "--seeds", "2", "--steps", "300", "--quiet"]


@pytest.fixture(scope="module")
def annealing_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("competition") / "annealing"
    args = ["--task", "annealing", "--activation", "softmax", "--volume", "anneal"]
    assert main(["competition", "phase-diagram", *args, *SMALL, "--out", str(out)]) == 0
    return out


def test_phase_diagram_writes_run_figure_and_summary(annealing_run):
    out = annealing_run
    assert (out / "phase_diagram.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "phase_diagram.pdf").read_bytes()[:4] == b"%PDF"
    summary = json.loads((out / "summary.json").read_text())
    ds = sweeps.load(out / "run")
    tc = critical_temperature([[1, 0], [0, 1]], 0.3).value
    assert summary["critical_temperature"] == pytest.approx(tc) == pytest.approx(1.18)
    # the τ axis spans τ_c/4 to 4 τ_c, the λ axis 0 to the control's typical strength
    np.testing.assert_allclose(summary["temperature"], [tc / 4, tc, 4 * tc])
    np.testing.assert_allclose(summary["strength"], [0.0, 2.0, 4.0])
    assert ds["temperature"].values.tolist() == summary["temperature"]
    assert np.shape(summary["phase"]) == (3, 3)
    for name in ("max_abs_cos", "effective_rank", "usage_entropy", "effective_units",
                 "sample_entropy", "dead_fraction", "n_distinct"):  # fmt: skip
        assert np.shape(summary["metrics"][name]) == (3, 3), name
    fractions = summary["phase_fraction"]
    assert set(fractions) == {"redundant", "specialised", "collapsed", "diverged"}
    assert summary["diverged_models"] == 0 and not any(map(any, fractions["diverged"]))
    np.testing.assert_allclose(sum(np.array(v) for v in fractions.values()), 1.0)
    assert (
        summary["phase"]
        == ds["phase_best"].transpose("temperature", "volume_strength").values.tolist()
    )
    # far from τ_c the prototypes have settled: split at τ_c/4, together at 4 τ_c
    assert summary["phase"][0] == ["specialised"] * 3
    assert summary["phase"][2] == ["redundant"] * 3
    assert summary["metrics"]["n_distinct"][0] == [2, 2, 2]
    assert summary["agreement_outside_band"] == 1.0
    settings = summary["settings"]
    assert settings | {"task": "annealing", "activation": "softmax", "volume": "anneal"} == settings
    assert settings["seeds"] == 2 and settings["steps"] == 300


def test_rerunning_resumes_and_gives_the_same_summary(annealing_run):
    before = json.loads((annealing_run / "summary.json").read_text())
    args = ["--task", "annealing", "--activation", "softmax", "--volume", "anneal"]
    assert main(["competition", "phase-diagram", *args, *SMALL, "--out", str(annealing_run)]) == 0
    assert json.loads((annealing_run / "summary.json").read_text()) == before


def test_clusters_diagram_has_no_theory_line(tmp_path):
    out = tmp_path / "clusters"
    args = ["--activation", "grouped_softmax", "--volume", "logdet", "--group-size", "5"]
    assert main(["competition", "phase-diagram", *args, *SMALL, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["critical_temperature"] is None and "theory_phase" not in summary
    np.testing.assert_allclose(summary["temperature"], [0.01, 0.316227766, 10.0])
    np.testing.assert_allclose(summary["strength"], [0.0, 0.05, 0.1])
    assert summary["settings"]["group_size"] == 5
    # the default task: 6 clusters on a ring of radius 2, 10 units
    data = summary["settings"]["data"]
    assert (data["n_clusters"], data["layout"], data["separation"]) == (6, "ring", 2.0)
    assert summary["settings"]["n_hidden"] == 10
    # the majority phase and how speckled it is, beside the best-of-N phase
    assert np.shape(summary["majority_phase"]) == np.shape(summary["phase"]) == (3, 3)
    for i, row in enumerate(summary["majority_phase"]):
        for j, label in enumerate(row):
            share = summary["majority_share"][i][j]
            fractions = [summary["phase_fraction"][k][i][j] for k in summary["phase_fraction"]]
            assert share == max(fractions) == summary["phase_fraction"][label][i][j]
    assert 0 <= summary["isolated_cells"] <= 1
    assert 0 <= summary["isolated_cells_best_of_n"] <= 1


def test_the_two_cluster_preset_stays_reachable(tmp_path, capsys):
    out = tmp_path / "two"
    args = ["--task", "two-clusters", "--volume", "none", "--grid", "2", "--seeds", "1"]
    assert main(["competition", "phase-diagram", *args, "--steps", "50", "--quiet",
                 "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    data = summary["settings"]["data"]
    assert (data["n_clusters"], data["layout"], data["spread"]) == (2, "axes", 0.5)
    assert summary["settings"]["n_hidden"] == 8 and summary["settings"]["task"] == "clusters"
    capsys.readouterr()
    # competition shares reads the folder of diagrams: 2 × 1 cells × 1 seed, none at λ = 0
    assert main(["competition", "shares", str(tmp_path), "--json", str(tmp_path / "s.json")]) == 0
    table = capsys.readouterr().out
    assert "| softmax + none | 1/0/1 |" in table
    numbers = json.loads((tmp_path / "s.json").read_text())
    low = numbers["bands"]["softmax + none"]["shares"]["low τ 0.01–0.027"]
    assert low["models"] == 1
    assert sum(low[p]["models"] for p in ("redundant", "specialised", "collapsed")) == 1


def test_volume_none_has_a_single_strength(tmp_path):
    out = tmp_path / "none"
    args = ["--activation", "relu", "--volume", "none", "--grid", "2"]
    assert main(["competition", "phase-diagram", *args, *SMALL[2:], "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strength"] == [0.0] and np.shape(summary["phase"]) == (2, 1)


def test_compare_prints_one_row_per_applicable_activation(tmp_path, capsys):
    out = tmp_path / "compare"
    args = ["--task", "clusters", "--seeds", "2", "--steps", "200", "--quiet", "--json"]
    assert main(["competition", "compare", *args, "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["activation"] for r in rows] == [
        "relu", "softmax", "log_softmax", "solu", "solu_ln", "grouped_softmax", "lwta",
        "kwta", "l2_norm", "parallel", "residual_softmax", "linear",
    ]  # fmt: skip
    keys = {"activation", "volume", "loss", "max_abs_cos", "effective_rank", "usage_entropy",
            "dead_fraction", "n_distinct", "phase"}  # fmt: skip
    for row in rows:
        assert keys <= set(row) and row["volume"] == "none"
        assert row["phase"] in ("redundant", "specialised", "collapsed")
        assert 0 <= row["dead_fraction"] <= 1 and row["loss"] > 0
    assert json.loads((out / "compare.json").read_text())["rows"] == rows
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    # a control that only soft activations take keeps only those
    out = tmp_path / "entropy"
    args = ["--volume", "entropy", "--strength", "0.1", "--seeds", "1", "--steps", "200"]
    assert main(["competition", "compare", *args, "--quiet", "--json", "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["activation"] for r in rows] == [
        "softmax",
        "log_softmax",
        "solu",
        "solu_ln",
        "grouped_softmax",
        "l2_norm",
        "parallel",
        "residual_softmax",
    ]
    assert {r["volume"] for r in rows} == {"entropy"}


def test_list_names_every_activation_and_volume_control(capsys):
    from toymodels.activations import ACTIVATIONS
    from toymodels.volumes import VOLUMES

    assert main(["competition", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed["activations"]] == list(ACTIVATIONS)
    assert [v["name"] for v in listed["volumes"]] == list(VOLUMES)
    assert all(a["description"] for a in listed["activations"] + listed["volumes"])


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (["--temperature-range", "0", "1"], "temperature=0 is outside [1e-06, 1e+06]"),
        (["--temperature-range", "-1", "1"], "temperature=-1 is outside [1e-06, 1e+06]"),
        (["--temperature-range", "nan", "1"], "temperature=nan is not finite"),
        (["--temperature-range", "1e-300", "1e300"], "temperature=1e-300 is outside"),
        (["--temperature-range", "2", "1"], "LO must be below HI"),
        (["--strength-range", "-0.1", "1"], "volume_strength=-0.1 is outside [0, 1e+06]"),
        (
            ["--volume", "logdet", "--strength-range", "0", "1e300"],
            "volume_strength=1e+300 is outside",
        ),
        (
            ["--task", "annealing", "--volume", "anneal", "--strength-range", "0", "100"],
            "beyond float32's range above λ = 89.94 at temperature 0.295",
        ),
        (["--activation", "grouped_softmax", "--width", "7"], "does not divide n_hidden=7"),
        (["--activation", "lwta", "--group-size", "3"], "does not divide n_hidden=10"),
        (["--activation", "kwta", "--k", "11"], "k_active=11 > n_hidden=10"),
        (["--activation", "relu", "--volume", "entropy"], "does not apply to relu"),
        (["--activation", "lwta", "--volume", "anneal"], "no temperature to anneal"),
        (["--task", "annealing", "--activation", "relu"], "does not apply to the annealing"),
        (["--task", "annealing", "--volume", "weightnorm"], "prototype points"),
        (
            ["--volume", "dropout", "--strength-range", "0", "1"],
            "dropout allows strengths up to 0.9",
        ),
        (
            ["--volume", "none", "--strength-range", "0", "1"],
            "applies only with a volume control other than none",
        ),
        (["--activation", "nope"], 'unknown activation "nope"'),
        (["--volume", "nope"], 'unknown volume control "nope"'),
        (["--task", "nope"], "invalid choice"),
        (["--grid", "0"], "grid 0 must be an integer from 2 to 1000"),
        (["--grid", "1"], "grid 1 must be an integer from 2 to 1000"),
        (["--seeds", "x"], "is not an integer"),
        (["--lr", "nan"], "lr=nan is not finite"),
    ],
)
def test_bad_phase_diagram_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path, capsys, bad, needle
):
    out = tmp_path / "out"
    assert main(["competition", "phase-diagram", *bad, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (["--strength", "-1"], "volume_strength=-1 is outside [0, 1e+06]"),
        (["--temperature", "0"], "temperature=0 is outside [1e-06, 1e+06]"),
        (["--temperature", "1e300"], "temperature=1e+300 is outside [1e-06, 1e+06]"),
        (["--volume", "anneal", "--strength", "100"], "beyond float32's range above λ = 88.72"),
        (["--volume", "dropout", "--strength", "0.95"], "above 0.9"),
        (["--task", "annealing", "--volume", "logdet"], "units are prototype points"),
    ],
)
def test_bad_compare_input_is_one_line_exit_2(tmp_path, capsys, bad, needle):
    out = tmp_path / "out"
    assert main(["competition", "compare", *bad, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_wilson_interval_hand_values():
    from summaries.phase_shares import wilson_interval

    # 0 of 10: the upper end is z²/(n + z²) = 3.8415/13.8415
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    # 5 of 10: symmetric about 1/2, half-width z·√(1/40 + z²/400)/(1 + z²/10)
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    lo, hi = wilson_interval(30, 100)
    assert lo < 0.3 < hi and hi - lo < 0.19


def test_majority_phase_and_isolated_cells_by_hand():
    from summaries.majority_phase import isolated_cells, majority_phase

    fractions = {
        "redundant": np.array([[0.6, 0.4], [0.2, 0.0]]),
        "specialised": np.array([[0.4, 0.4], [0.8, 0.0]]),
        "collapsed": np.array([[0.0, 0.2], [0.0, 1.0]]),
    }
    best = np.array([["specialised", "specialised"], ["redundant", "collapsed"]])
    phase, share = majority_phase(fractions, best)
    # a tie goes to the best seed's phase when it is among the tied
    assert phase.tolist() == [["redundant", "specialised"], ["specialised", "collapsed"]]
    np.testing.assert_allclose(share, [[0.6, 0.4], [0.8, 1.0]])
    # a lone cell in a 3 x 3 block is isolated; a straight boundary is not
    grid = np.full((3, 3), "a")
    grid[1, 1] = "b"
    assert isolated_cells(grid).tolist() == [[False] * 3, [False, True, False], [False] * 3]
    halves = np.array([["a", "a", "b", "b"]] * 4)
    assert not isolated_cells(halves).any()
    # a one-column diagram: only a cell that agrees with neither neighbour
    column = np.array([["a"], ["a"], ["b"], ["a"], ["a"]])
    assert isolated_cells(column)[:, 0].tolist() == [False, False, True, False, False]
