"""``toymodels multitask contexts`` and ``summaries.context_scaling``: the paper's
scaling claim (K = 3, 4, 5 contexts)."""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sweeps
from cli.main import main
from figures.context_panels import contexts_figure
from summaries.context_scaling import (
    PUBLISHED,
    census,
    closed_form_singular_values,
    run_specs,
    scaling_ratios,
    top_mean,
    winning_pathways,
)
from sweeps.spec import SweepSpec
from toymodels.contextual_data import OBJECTS, ContextualConfig, contextual_data


def test_scaling_ratios_of_constructed_values():
    out = scaling_ratios({3: 2.0, 4: 3.0, 5: None})
    assert out["3"] == {"ratio": 1.0, "predicted": 1.0, "k_minus_1_factor": 1.0}
    assert out["4"]["ratio"] == pytest.approx(1.5)
    assert out["4"]["predicted"] == pytest.approx(math.sqrt(9 / 8))
    assert out["5"] == {"ratio": None, "predicted": pytest.approx(math.sqrt(6 / 5)),
                        "k_minus_1_factor": 2.0}  # fmt: skip
    assert scaling_ratios({3: None, 4: 1.0})["4"]["ratio"] is None


def test_top_mean_over_pathways_and_seeds():
    values = {"a": [[3.0, 1.0], [5.0, 0.0], None], "b": [[1.0, 0.5]], "c": [9.0, 1.0]}
    assert top_mean(values, ["a", "b"]) == pytest.approx(3.0)
    assert top_mean(values, ["c"]) == pytest.approx(9.0)  # one value list (closed form)
    assert top_mean({"a": [None]}, ["a"]) is None


def _joint_fixed_point_top(k: int) -> list[float]:
    """The K − 1-context pathways' top singular values where gradient descent on them ends:
    the least-squares fit of what the exact least-squares common pathway leaves, solved
    directly (independent of ``analytics.reln_theory``)."""
    x, y, context = contextual_data(
        ContextualConfig(n_contexts=k, structure="same", context_scale=PUBLISHED[k].context_scale)
    )
    residual = y - y @ np.linalg.pinv(x) @ x  # the common pathway's end: least squares
    masks = list(itertools.combinations(range(k), k - 1))
    z = np.concatenate([x[:OBJECTS] * np.isin(context, m) for m in masks])
    joint = residual @ np.linalg.pinv(z)
    return [
        np.linalg.svd(joint[:, q * OBJECTS : (q + 1) * OBJECTS], compute_uv=False)[0]
        for q in range(len(masks))
    ]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_closed_form_pathways_end_at_sqrt_k_minus_1_over_k_of_the_hierarchy(k):
    closed = closed_form_singular_values(k, 8001)
    names = ["ctx" + "+".join(map(str, m)) for m in itertools.combinations(range(1, k + 1), k - 1)]
    assert sorted(closed) == sorted(["common", *names])
    # (K − 1) S/D = sqrt((K − 1)/K) σ₁(H − h̄), σ₁ = √7 (summaries.context_scaling)
    expected = math.sqrt((k - 1) / k) * math.sqrt(7)
    for name, direct in zip(names, _joint_fixed_point_top(k), strict=True):
        assert closed[name][0] == pytest.approx(expected, rel=1e-6)
        assert direct == pytest.approx(expected, rel=1e-6)


def _relu_run(bits: list[int], strength: list[float]) -> xr.Dataset:
    return xr.Dataset(
        {
            "unit_strength": (("seed", "unit"), np.array([strength])),
            "unit_contexts": (("seed", "unit"), np.array([bits], dtype=np.int32)),
        }
    )


def test_census_sorts_strong_units_by_how_many_contexts_they_serve():
    # K = 4: all, two K − 1, a pair, a single, a weak K − 1 unit (below 0.1 of the top)
    run = _relu_run([0b1111, 0b0111, 0b1110, 0b0011, 0b0100, 0b1011], [1, 1, 1, 1, 1, 0.05])
    assert census(run, k=4) == {
        "all": [1], "all_but_one": [2], "other_subsets": [1], "single": [1]
    }  # fmt: skip
    # K = 3: a pair is K − 1, no other subsets
    assert census(_relu_run([0b011, 0b111], [1, 1]), k=3)["all_but_one"] == [1]


def test_k_minus_1_pathways_win_in_a_short_run(tmp_path):
    """A short version of the published K = 4 run (100 units, lr 4e-3, 1,001 epochs: the
    time scale of 4,000 epochs at 1e-3): the context pathways that win are the four on
    for three contexts, though units on for pairs exist."""
    spec = run_specs(4, 1, epochs=1001)["relu"]
    spec |= {"n_hidden": 100}
    spec["model"] |= {"init_std": 0.005 / 100}
    spec["train"] |= {"lr": 4e-3, "record_every": 1000}
    relu = sweeps.run(SweepSpec.from_dict(spec), tmp_path / "r", progress=False)
    assert winning_pathways(relu) == [[1, 2, 3], [1, 2, 4], [1, 3, 4], [2, 3, 4]]
    counts = census(relu)
    assert counts["all_but_one"][0] > 2 * counts["other_subsets"][0]
    assert counts["single"] == [0]


TINY = ["--seeds", "2", "--epochs", "3", "--quiet", "--jobs", "1"]


def test_contexts_command_writes_summary_and_figure_and_resumes(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["multitask", "contexts", *TINY, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["contexts"] == [3, 4, 5]
    gdln_pathways = {3: 7, 4: 5, 5: 6}  # common + singles + pairs; common + K − 1 ones
    for entry, k in zip(summary["per_contexts"], (3, 4, 5), strict=True):
        assert entry["contexts"] == k
        assert set(entry["census"]) == {"all", "all_but_one", "other_subsets", "single"}
        assert all(len(v) == 2 for v in entry["census"].values())
        assert isinstance(entry["winning_pathways"], list)
        trained = entry["pathway_singular_values"]
        assert len(trained) == gdln_pathways[k] and list(trained)[0] == "common"
        assert all(len(seeds) == 2 and len(seeds[0]) == OBJECTS for seeds in trained.values())
        closed = entry["closed_form_singular_values"]
        assert len(closed) == k + 1 and set(closed) - {"common"} <= set(trained)
        assert entry["settings"]["relu_hidden"] == PUBLISHED[k].relu_width
        assert sweeps.load(out / f"relu-{k}")["unit_strength"].sizes["unit"] == (
            PUBLISHED[k].relu_width
        )
    assert summary["diverged_models"] == 0 and summary["diverged_cells"] == 0
    assert set(summary["scaling"]) == {"gdln", "closed_form"}
    assert summary["scaling"]["closed_form"]["4"]["predicted"] == pytest.approx(math.sqrt(9 / 8))
    assert (out / "contexts.png").read_bytes()[:4] == b"\x89PNG"
    assert "K=5 over K=3" in capsys.readouterr().out
    runs = {k: (sweeps.load(out / f"relu-{k}"), sweeps.load(out / f"gdln-{k}")) for k in (3, 4, 5)}
    fig = contexts_figure(runs, summary)
    axes = fig.axes
    assert len(axes) == 9 and [ax.get_title() for ax in axes[:3]] == [
        f"K = {k} contexts" for k in (3, 4, 5)
    ]
    for col, k in enumerate((3, 4, 5)):
        bars = [p for p in axes[col].patches if p.get_gid() == "census_bars"]
        assert len(bars) == 4
        lines = axes[3 + col].get_lines()
        assert sum(line.get_gid() == "gdln_pathway" for line in lines) == gdln_pathways[k]
        assert sum(line.get_gid() == "closed_form_pathway" for line in lines) == k + 1
        assert sum(line.get_gid() == "loss" for line in axes[6 + col].get_lines()) == 2
    # Resumed: nothing retrained, the same summary.
    assert main(["multitask", "contexts", *TINY, "--out", str(out)]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["per_contexts"] == summary["per_contexts"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds"),
        (["--epochs", "x"], "--epochs"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["multitask", "contexts", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("toymodels multitask")
    assert not out.exists()


def test_a_foreign_out_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "c"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["multitask", "contexts", *TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.txt" in err[0] and "not empty" in err[0]
    assert [p.name for p in Path(out).iterdir()] == ["notes.txt"]
