"""``toymodels analytic reln``: its JSON, its default pathways and its refusals."""

import json

import pytest

from cli.main import main


def test_reln_json_has_the_loss_and_every_pathways_modes(capsys):
    argv = ["analytic", "reln", "--epochs", "3000", "--record-every", "1000", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epoch"] == [0, 1000, 2000, 3000]
    # the published closed form: 105.6, 47.3, 23.1, 8.35
    assert out["loss"] == pytest.approx([105.6, 47.3, 23.1, 8.35], rel=5e-3)
    assert [p["contexts"] for p in out["pathways"]] == [[1, 2, 3], [1, 2], [1, 3], [2, 3]]
    assert [p["a0"] for p in out["pathways"]] == [5e-9, 5e-5, 5e-5, 5e-5]
    common = out["pathways"][0]["modes"]
    assert common[0]["s"] == pytest.approx(1.1427, abs=5e-5)
    for p in out["pathways"]:
        for m in p["modes"]:
            assert m["asymptote"] == pytest.approx(m["s"] / m["d"])


def test_reln_takes_any_masks_and_the_published_four_context_set(capsys):
    argv = ["analytic", "reln", "--contexts", "4", "--structure", "same", "--context-scale",
            "1.1", "--pathways", "[[1,2,3,4],[1,2],[3]]", "--epochs", "100", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["contexts"] for p in out["pathways"]] == [[1, 2, 3, 4], [1, 2], [3]]
    assert out["epoch"] == [0, 100] and out["context_scale"] == 1.1


def test_reln_basis_choices_are_the_librarys(capsys):
    from analytics.reln_theory import BASES
    from cli.analytic_reln import BASES as offered

    assert offered == BASES
    argv = ["analytic", "reln", "--basis", "fixed_point", "--epochs", "100000", "--json"]
    assert main([*argv, "--record-every", "100000"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["basis"] == "fixed_point" and out["loss"][-1] < 1e-6  # the fixed point fits


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pathways", "[[1,4]]"], "names context 4; the contexts are 1 to 3"),
        (["--pathways", "[[1,2],[2,1]]"], "both serve contexts [1, 2]"),
        (["--pathways", "[[]]"], "non-empty list of contexts"),
        (["--pathways", "[1,2]"], "pathway 1 (1) must be"),
        (["--pathways", "{"], "is not valid JSON"),
        (["--context-scale", "0"], "context_scale=0 is outside"),
        (["--epochs", "100000000", "--record-every", "1"], "at most 100,000"),
    ],
)
def test_reln_refuses_bad_input_in_one_line(extra, message, capsys):
    assert main(["analytic", "reln", *extra, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
