"""``toymodels phase-diagram`` end to end: files, summary keys, resume, bad input."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import xarray as xr

import cli.main as cli
import sweeps

LABELS = {"not_represented", "dedicated", "superposition"}


@pytest.fixture
def main(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("cli.phase_diagram_command",))
    return cli.main


def _tiny(out, *extra):
    return [
        "phase-diagram",
        "--grid",
        "4",
        "--seeds",
        "2",
        "--steps",
        "300",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


def test_n2_writes_figure_summary_and_results(main, tmp_path, capsys):
    out = tmp_path / "pd"
    assert main(_tiny(out)) == 0
    printed = capsys.readouterr().out
    assert "agreement with theory: best-of-N" in printed
    for name in ("phase_diagram.png", "phase_diagram.pdf", "summary.json"):
        assert (out / name).stat().st_size > 1000 or name == "summary.json"
    assert (out / "phase_diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["features"] == 2 and summary["hidden"] == 1 and summary["seeds"] == 2
    assert len(summary["density"]) == len(summary["importance"]) == 4
    assert summary["density"][0] == pytest.approx(0.01) and summary["density"][-1] == 1.0
    assert summary["importance"][0] == pytest.approx(0.1)
    for key in ("empirical_phase", "empirical_phase_paper_rule", "theory_phase", "optimum_phase"):
        grid = np.asarray(summary[key])
        assert grid.shape == (4, 4), key
        assert set(grid.ravel()) <= LABELS, key
    # Dense and important: dedicated; sparse: superposition; dense, unimportant: dropped.
    theory = np.asarray(summary["theory_phase"])
    assert theory[-1, -1] == "dedicated" and theory[0, 2] == "superposition"
    assert theory[-1, 0] == "not_represented"
    empirical = np.asarray(summary["empirical_phase"])
    agreement = float((empirical == theory).mean())
    assert summary["agreement"] == pytest.approx(agreement)
    assert summary["agreement"] >= 0.75
    assert 0.0 <= summary["agreement_paper_rule"] <= 1.0
    assert summary["theory_agrees_with_optimum"] >= 0.75

    results = sweeps.load(out / "run")
    assert isinstance(results, xr.Dataset)
    assert sorted(results["density"].values) == pytest.approx(sorted(summary["density"]))
    assert results.sizes["seed"] == 2
    spec = json.loads(results.attrs["spec"])
    assert spec["train"]["steps"] == 300 and spec["train"]["estimator"] == "exact"
    assert "protocol fast (exact estimator, 300 steps" in spec["description"]


def test_rerun_resumes_without_retraining(main, tmp_path, capsys):
    out = tmp_path / "pd"
    assert main(_tiny(out, "--no-optimum")) == 0
    first = json.loads((out / "summary.json").read_text())
    chunks = sorted((out / "run").rglob("*.npz"))
    stamps = [p.stat().st_mtime_ns for p in chunks]
    assert main(_tiny(out, "--no-optimum")) == 0
    assert [p.stat().st_mtime_ns for p in chunks] == stamps
    assert json.loads((out / "summary.json").read_text()) == first
    assert "optimum_phase" not in first
    # Other settings in the same folder are refused, not mixed in.
    assert main(_tiny(out, "--no-optimum", "--seeds", "3")) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_n3_small_grid(main, tmp_path):
    out = tmp_path / "pd3"
    assert main(_tiny(out, "--features", "3", "--grid", "3", "--no-optimum")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["features"] == 3 and summary["hidden"] == 2
    assert np.asarray(summary["theory_phase"]).shape == (3, 3)
    assert (out / "phase_diagram.png").exists()
    # Every seed's phase: the shares per cell sum to 1, and the per-seed agreement is the
    # share of (cell, seed) pairs whose own phase is the theory's.
    fraction = np.stack([np.asarray(v) for v in summary["phase_fraction"].values()], -1)
    np.testing.assert_allclose(fraction.sum(-1), 1.0)
    import sweeps

    each = sweeps.load(out / "run")["phase_model"].transpose("density", "importance", "seed")
    theory = np.asarray(summary["theory_phase"])[..., None]
    assert summary["agreement_each_seed"] == pytest.approx(float((each.values == theory).mean()))


BAD = {
    "grid 0": (["--grid", "0"], "grid 0 must be an integer from 2 to 1000"),
    "grid 1": (["--grid", "1"], "grid 1 must be an integer from 2 to 1000"),
    "density below the limit": (["--density-range", "1e-300", "1"], "LO must be at least 1e-06"),
    "importance too wide": (["--importance-range", "1e-300", "1e300"], "must lie within [1e-06"),
    "features 1": (["--features", "1"], "invalid choice: 1"),
    "negative steps": (["--steps", "-5"], "-5 must be an integer >= 1"),
    "density above 1": (["--density-range", "0.1", "1.5"], "density=1.5 is outside (0, 1]"),
    "density 0": (["--density-range", "0", "1"], "density=0 is outside (0, 1]"),
    "density nan": (["--density-range", "nan", "1"], "density=nan is not finite"),
    "reversed range": (["--density-range", "0.5", "0.1"], "LO must be below HI"),
    "negative importance": (["--importance-range", "-1", "2"], "must be a finite number > 0"),
    "jobs 0": (["--jobs", "0"], "0 must be an integer >= 1"),
    "seeds text": (["--seeds", "ten"], "'ten' is not an integer"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_no_output(case, main, tmp_path, capsys):
    args, expected = BAD[case]
    out = tmp_path / "pd"
    assert main(["phase-diagram", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not out.exists()


def test_console_script_is_installed():
    exe = shutil.which("toymodels")
    assert exe is not None, "pip install the package to get the toymodels command"
    done = subprocess.run([exe, "phase-diagram", "--grid", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    listed = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("phase-diagram", "sweep", "analytic", "figures", "bench"):
        assert command in listed
