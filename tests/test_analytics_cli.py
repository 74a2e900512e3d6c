"""Smoke tests of ``toymodels analytic ...`` through the real entry point."""

import json

import pytest
import sympy

import analytics.loss_derivation as engine
from analytics import p, r
from cli.main import main

pytestmark = pytest.mark.usefixtures("private_analytics_cache")


def run(capsys, *argv):
    code = main(["analytic", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def parse(text):
    return sympy.parse_expr(text, local_dict={"p": p, "r": r})


@pytest.mark.parametrize("n", [2, 3])
def test_losses_json(capsys, n):
    code, out, err = run(capsys, "losses", "--features", str(n), "--json")
    assert code == 0 and err == ""
    cands = json.loads(out)["candidates"]
    assert len(cands) == {2: 3, 3: 4}[n]
    for c in cands:
        assert set(c) >= {"name", "W", "b", "loss", "latex", "phase"}
        assert len(c["W"]) == n - 1 and all(len(row) == n for row in c["W"])
        assert len(c["b"]) == n
        assert parse(c["loss"]).free_symbols <= {p, r}
    first = cands[0]
    assert first["b"][-1] == "p/2" and first["phase"] == "not_represented"
    assert sympy.expand(parse(first["loss"]) - r * (p / 3 - p**2 / 4)) == 0


def test_losses_latex_and_table(capsys):
    code, out, _ = run(capsys, "losses", "--features", "3", "--latex")
    assert code == 0 and out.startswith("\\begin{align*}") and out.count("&=") == 4
    code, out, _ = run(capsys, "losses", "--features", "2")
    assert code == 0 and "[1,-1]" in out and "superposition" in out


def test_boundaries_json(capsys):
    code, out, _ = run(
        capsys, "boundaries", "--features", "2", "--importance", "0.1", "2", "--json"
    )
    assert code == 0
    data = json.loads(out)["boundaries"]
    assert [b["importance"] for b in data] == [0.1, 2.0]
    (t,) = data[0]["transitions"]
    assert t["density"] == pytest.approx(0.16) and (t["from"], t["to"]) == ("[1,-1]", "[1,0]")
    assert t["slope_jump"] == pytest.approx(-1 / 30)
    assert parse(t["slope_jump_exact"]) == sympy.Rational(-1, 30)
    code, out, _ = run(capsys, "boundaries", "--features", "3", "--importance", "0.5")
    assert code == 0 and "p = 0.444444" in out


def test_loss_json_with_value(capsys):
    argv = ["loss", "--features", "2", "--W", "[[1,-1]]", "--importance", "1,r", "--json"]
    code, out, _ = run(capsys, *argv, "--at", "p=0.1,r=2")
    assert code == 0
    data = json.loads(out)
    assert sympy.expand(parse(data["loss"]) - (1 + r) * p**2 / 6) == 0
    assert data["value"] == pytest.approx(3 * 0.01 / 6, rel=1e-15)
    assert data["cache"] == "miss" and data["derivation_seconds"] >= 0
    assert "frac" in data["latex"]
    engine._MEMORY.clear()  # a new process: the disk cache answers
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out)["cache"] == "disk" and "value" not in json.loads(out)


def test_loss_piecewise_bias_latex_and_text(capsys):
    argv = ["loss", "--features", "2", "--W", "[[1, -0.5]]", "--b", "[0, p/2 - 0.1]"]
    code, out, _ = run(capsys, *argv, "--latex")
    assert code == 0 and "\\begin{cases}" in out
    code, out, _ = run(capsys, *argv, "--family", "linear", "--at", "p=0.3")
    assert code == 0 and out.startswith("loss = ") and "value at p=0.3" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["loss", "--features", "3", "--W", "[[1,-1]]"],
        ["loss", "--features", "2", "--W", "[[1,nan]]"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--b", "[0, q]"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--importance", "1,2,3"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--at", "p=1.5"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--at", "p=0"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--importance", "1,r", "--at", "p=0.5"],
        ["loss", "--features", "2", "--W", "[[1,-1],[2]]"],
        ["loss", "--features", "2", "--W", "[[1,-1]]", "--family", "sigmoid"],
        ["losses", "--features", "1"],
        ["boundaries", "--features", "2", "--importance", "-1"],
        ["boundaries", "--features", "2", "--importance", "inf"],
        ["optimum", "--features", "4", "--importance", "1"],
        ["losses", "--features", "2", "--json", "--latex"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_optimum_json(capsys):
    code, out, _ = run(
        capsys, "optimum", "--features", "2", "--importance", "10", "--starts", "2", "--json"
    )
    assert code == 0
    (entry,) = json.loads(out)["optimum"]
    assert entry["importance"] == 10.0
    assert entry["density"] == pytest.approx(0.181, abs=2e-3)
    assert entry["density"] == round(entry["density"], 3)
    assert (entry["from"], entry["to"], entry["side"]) == ("superposition", "dedicated", "above")
    assert len(entry["W"]) == 1 and len(entry["W"][0]) == 2 and len(entry["b"]) == 2
    assert entry["candidate_transitions"][0]["density"] == pytest.approx(0.16)
