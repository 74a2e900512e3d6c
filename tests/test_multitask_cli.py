"""``toymodels multitask train`` and ``toymodels analytic modes``."""

import json

import pytest

import sweeps
from cli.main import main

SMALL = ["--hidden", "16", "--epochs", "300", "--seeds", "2", "--record-every", "50", "--quiet"]


@pytest.mark.parametrize("model", ["contextual_relu", "gdln"])
def test_train_writes_run_summary_and_figures(model, tmp_path, capsys):
    out = tmp_path / "mt"
    assert (
        main(["multitask", "train", "--model", model, *SMALL, "--lr", "0.01", "--out", str(out)])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    ds = sweeps.load(out / "run")
    assert list(ds["step"].values) == [0, 50, 100, 150, 200, 250, 300]
    assert summary["final_loss"] == pytest.approx(ds["loss"].values.tolist())
    assert len(summary["modes"]) == 2 and len(summary["modes"][0]) == 10
    assert (
        summary["settings"] | {"model": model, "epochs": 300, "seeds": 2, "lr": 0.01}
        == summary["settings"]
    )
    if model == "gdln":
        assert list(summary["module_singular_values"]) == [
            "common", "ctx1", "ctx2", "ctx3", "ctx1+2", "ctx1+3", "ctx2+3"
        ]  # fmt: skip
        assert (out / "pathways.png").read_bytes()[:4] == b"\x89PNG"
    else:
        census = summary["census"]
        assert set(census) == {"all", "subset", "single"} and len(census["all"]) == 2
        assert census["all"] == ds["units_all"].values.tolist()
        assert (out / "mds.png").is_file() and (out / "census.pdf").is_file()
    theory = summary["theory"]
    assert theory["tau"] == pytest.approx(1 / (24 * 0.01))
    assert [m for m in theory["s"]] == sorted(theory["s"], reverse=True)


@pytest.mark.parametrize(
    "bad",
    [
        ["--contexts", "2"],
        ["--contexts", "6"],
        ["--hidden", "0"],
        ["--lr", "0"],
        ["--lr", "-1e-3"],
        ["--model", "transformer"],
        ["--structure", "tree"],
        ["--init", "nan"],
        ["--model", "contextual_relu", "--gating", "pairs"],
        ["--model", "gdln", "--gating", "triples"],
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(bad, tmp_path, capsys):
    out = tmp_path / "mt"
    assert main(["multitask", "train", *bad, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()


def test_analytic_modes_json(capsys):
    assert main(["analytic", "modes", "--contexts", "3", "--structure", "different", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["tau"] == pytest.approx(1 / (24 * 1e-3))
    assert found["a0"] == pytest.approx((0.005 / 700) ** 2 * 700 / 2)
    modes = found["modes"]
    assert len(modes) == 10 and [m["s"] for m in modes] == sorted(
        (m["s"] for m in modes), reverse=True
    )
    for m in modes:
        assert m["asymptote"] == pytest.approx(m["s"] / m["d"])
    assert modes[0]["s"] == pytest.approx(1.1427, abs=1e-4)  # the published ring's
    assert "frac" in found["latex"]["a"] and set(found["latex"]) >= {"a", "asymptote", "half_time"}
    assert main(["analytic", "modes", "--contexts", "4", "--structure", "same", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["modes"]) > 0
