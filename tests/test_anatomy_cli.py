"""``toymodels analytic loss --by-sparsity`` and ``toymodels analytic anatomy`` through the
real entry point."""

import json

import pytest
import sympy

import analytics.loss_anatomy as anatomy
from analytics import p, r
from cli.main import main


@pytest.fixture(autouse=True)
def _fresh_memory(private_analytics_cache, monkeypatch):
    monkeypatch.setattr(anatomy, "_MEMORY", {})


def run(capsys, *argv):
    code = main(["analytic", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def parse(text):
    return sympy.parse_expr(text, local_dict={"p": p, "r": r})


def test_loss_by_sparsity_json_keeps_the_loss_and_adds_each_term(capsys):
    argv = ["loss", "--features", "2", "--W", "[[1,0]]", "--b", "[0,p/2]", "--importance", "1,r"]
    code, out, _ = run(capsys, *argv, "--by-sparsity", "--json", "--at", "p=0.1,r=2")
    assert code == 0
    obj = json.loads(out)
    assert parse(obj["loss"]) == sympy.expand(r * (p / 3 - p**2 / 4))
    assert obj["value"] == pytest.approx(2 * (0.1 / 3 - 0.01 / 4), rel=1e-12)
    rows = obj["by_sparsity"]
    assert [row["k"] for row in rows] == [0, 1, 2]
    # the dropped feature's bias p/2: L_0 = r p²/4, its mean answer on 1- and 2-sparse inputs
    expected = [r * p**2 / 4, r * (p**2 / 2 - p / 2 + sympy.Rational(1, 3))]
    expected.append(r * (p**2 / 4 - p / 2 + sympy.Rational(1, 3)))
    for row, want in zip(rows, expected, strict=True):
        assert sympy.expand(parse(row["loss"]) - want) == 0
        assert row["value"] == pytest.approx(float(want.subs({p: 0.1, r: 2})), rel=1e-12)
    total = sum(0.1 ** row["k"] * 0.9 ** (2 - row["k"]) * row["value"] for row in rows)
    assert total == pytest.approx(obj["value"], rel=1e-12)


def test_loss_by_sparsity_repeat_comes_from_the_disk_cache_fast(capsys):
    argv = ["loss", "--features", "4", "--W", "[[1,0.5,-0.3,0.2],[0.2,1,0.9,-1]]"]
    argv += ["--b", "[0.1,-0.2,0,0.05]", "--by-sparsity", "--json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    first = json.loads(out)
    anatomy._MEMORY.clear()
    import analytics.loss_derivation as engine

    engine._MEMORY.clear()
    code, out, _ = run(capsys, *argv)
    again = json.loads(out)
    assert first["by_sparsity_cache"] == "miss"
    assert again["cache"] == again["by_sparsity_cache"] == "disk"
    assert again["derivation_seconds"] < 1.0 and again["by_sparsity_seconds"] < 1.0
    assert again["by_sparsity"] == first["by_sparsity"]
    assert len(again["by_sparsity"]) == 5


def test_loss_by_sparsity_text_and_latex(capsys):
    argv = ["loss", "--features", "2", "--W", "[[1,-1]]", "--by-sparsity"]
    code, out, _ = run(capsys, *argv, "--at", "p=0.5")
    assert code == 0
    assert "L_0 = 0" in out and "L_2 = 1/3" in out and "0.333333333333" in out
    code, out, _ = run(capsys, *argv, "--latex")
    assert code == 0 and r"L_{2} = \frac{1}{3}" in out


def test_anatomy_json_per_feature_and_totals(capsys):
    argv = ["anatomy", "--W", "[[1,0.5,-0.3],[0.2,1,0.9]]", "--b", "[0.1,-0.2,0]"]
    code, out, _ = run(capsys, *argv, "--importance", "1,2,0.5", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["benefit"] == pytest.approx([0.0196, 0.005, 0.005], rel=1e-12)
    assert obj["interference"] == pytest.approx([0.64, 1.105, 0.28125], rel=1e-12)
    assert obj["benefit_total"] == pytest.approx(0.0296, rel=1e-12)
    assert obj["interference_total"] == pytest.approx(2.02625, rel=1e-12)


def test_anatomy_symbolic_bias_with_values_and_the_linear_family(capsys):
    code, out, _ = run(capsys, "anatomy", "--W", "[[1,0]]", "--b", "[0,p/2]", "--json")
    obj = json.loads(out)
    assert code == 0 and parse(obj["interference_total"]) == p**2 / 4
    code, out, _ = run(
        capsys, "anatomy", "--W", "[[1,0]]", "--b", "[0,p/2]", "--json", "--at", "p=0.1"
    )
    values = json.loads(out)["values"]
    assert values["benefit_total"] == pytest.approx(0.95**2, rel=1e-12)
    assert values["interference_total"] == pytest.approx(0.0025, rel=1e-12)
    code, out, _ = run(capsys, "anatomy", "--W", "[[1,-1]]", "--family", "linear", "--json")
    obj = json.loads(out)
    assert (obj["benefit_total"], obj["interference_total"]) == (0, 2)
    # exact text for a number that is no float, and its value beside it
    code, out, _ = run(capsys, "anatomy", "--W", "[[1,1/3]]", "--family", "linear", "--json")
    obj = json.loads(out)
    assert obj["interference"] == ["1/9", "1/9"]
    assert obj["values"]["interference_total"] == pytest.approx(2 / 9, rel=1e-15)


def test_anatomy_table(capsys):
    code, out, _ = run(capsys, "anatomy", "--W", "[[1,-1]]", "--family", "linear")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["feature", "benefit", "interference"]
    assert lines[-2].split() == ["total", "0", "2"]


@pytest.mark.parametrize(
    "argv",
    [
        ["anatomy", "--W", "[[1,nan]]"],
        ["anatomy", "--W", "[[1,inf]]"],
        ["anatomy", "--W", "[[1,0],[1]]"],
        ["anatomy", "--W", "[[1,0]]", "--b", "[1]"],
        ["anatomy", "--W", "[[1,0]]", "--importance", "1,-1"],
        ["anatomy", "--W", "[[1,0]]", "--family", "tanh"],
        ["anatomy", "--W", "[[1,0]]", "--b", "[0,p]", "--at", "r=1"],
        ["anatomy", "--W", "[[1,0,0,0,0]]"],
        ["loss", "--features", "2", "--W", "[[1,0]]", "--by-sparsity", "--b", "[0,q]"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_fractions_in_W_stay_exact(capsys):
    # W = [1, 1/3], linear: A = 1 - WᵀW, E(x - x')² = (Aμ)² + Σ_j A_ij² Var x_j by hand
    code, out, _ = run(
        capsys, "loss", "--features", "2", "--W", "[[1,1/3]]", "--family", "linear", "--json"
    )
    assert code == 0
    assert sympy.expand(parse(json.loads(out)["loss"]) - (-4 * p**2 / 27 + 82 * p / 243)) == 0
