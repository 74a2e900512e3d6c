"""Options given where they do nothing: refused, never ignored.

An option that applies only to some choices of its command (an axis, a model, a protocol,
an activation or volume control, making figures rather than listing them) and a ``--set``
of a value a sweep's axis sets in every cell are refused like bad values: exit code 2,
exactly one line on stderr naming the option and what it applies to, no traceback,
nothing written (the working directory, a fresh temporary folder, is unchanged), all
within 10 seconds.  Every option a command declares in its ``only_with`` list has a case
here, so a new declaration cannot go untested.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import time
from pathlib import Path

import pytest

import cli.competition_command as competition
import cli.main as cli

LIMIT = 10.0  # seconds a refusal may take

# (command, arguments, texts the line must contain, texts it must not contain)
CASES = [
    # conflict: each second axis has its own options
    ("conflict phase-diagram", "--ratio-range 0.5 2", ["--ratio-range", "--axis strength",
     "--axis width", "--ratio"], []),
    ("conflict phase-diagram", "--axis strength --width-range 1 4", ["--width-range",
     "--axis width", "--axis strength"], []),
    ("conflict phase-diagram", "--width 3", ["--width", "--axis strength", "--width-range"], []),
    ("conflict phase-diagram", "--axis strength --ratio 2", ["--ratio", "--axis width"], []),
    # phase-diagram: the fast protocol's exact loss samples no batches
    ("phase-diagram", "--batch 64", ["--batch", "--protocol paper", "--protocol fast"], []),
    # multitask: only the GDLN has gated pathways
    ("multitask train", "--gating pairs", ["--gating", "--model gdln",
     "--model contextual_relu"], []),
    ("multitask train", "--model contextual_linear --gating single", ["--gating",
     "--model contextual_linear"], []),
    # competition: settings an activation or a volume control reads
    ("competition phase-diagram", "--group-size 4", ["--group-size", "grouped_softmax",
     "lwta", "softmax"], []),
    ("competition phase-diagram", "--activation lwta --k 2", ["--k", "kwta",
     "--activation lwta"], []),
    ("competition phase-diagram", "--task annealing --group-size 2", ["--group-size",
     "softmax"], ["model.group_size"]),
    ("competition phase-diagram", "--activation relu --volume none --temperature-range 1 2",
     ["--temperature-range", "--activation relu"], []),
    ("competition phase-diagram", "--volume none --strength-range 0 1", ["--strength-range",
     "--volume none"], []),
    ("competition compare", "--volume none --strength 0.5", ["--strength", "--volume none"],
     ["relu", "cells with"]),
    ("competition compare", "--strength 0.5", ["--strength", "volume control none"],
     ["relu", "cells with"]),
    ("competition compare", "--volume dropout --k 2", ["--k", "kwta", "--volume dropout",
     "softmax"], []),
    ("competition compare", "--volume dropout --group-size 2", ["--group-size",
     "--volume dropout"], []),
    # a refusal of the layer's values names the options given, not "the spec"
    ("competition compare", "--volume dropout --strength 0.95", ["--strength 0.95",
     "--volume dropout", "0.9"], ["the spec"]),
    # figures: --list names the figures and exits; --set of a value a sweep's axis sets
    ("figures", "--list intro-2d", ["NAME", "--list"], []),
    ("figures", "--list --set seeds=2", ["--set", "--list"], []),
    ("figures", "conflict-linear-width --set n_hidden=4", ["n_hidden=4", "axes.n_hidden",
     "conflict-linear-width"], []),
    ("figures", "phase-2to1 --set model.importance=2", ["model.importance=2",
     "axes.importance", "phase-2to1"], []),
    ("figures", "candidate-losses --set seeds=2", ["--set", "candidate-losses"], []),
    ("figures", "multitask-mds --set model.view_ratio=2", ["model.view_ratio",
     "multitask-mds", "contextual_relu"], []),
    ("sweep run", "paper-2to1 --out run --set model.density=0.1", ["model.density=0.1",
     "axes.density"], []),
    ("sweep run", "paper-2to1 --out run --set axes.lr=[0.01,0.02] --set train.lr=0.1",
     ["train.lr=0.1", "axes.lr"], []),
    # analytic loss: --latex prints the loss alone, so a value at a point would be dropped
    ("analytic loss", "--features 2 --W [[1,-1]] --latex --at p=0.1,r=1", ["--at",
     "--latex"], []),
]  # fmt: skip


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def _refused(argv: list[str], work: Path, capfd) -> str:
    """Run ``argv`` in ``work``; check exit 2, one line, no traceback, nothing written and
    the time; return the line."""
    before = _snapshot(work)
    start = time.perf_counter()
    code = cli.main(argv)
    elapsed = time.perf_counter() - start
    captured = capfd.readouterr()
    err = captured.err
    assert code == 2, (code, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"toymodels {argv[0]}: error: "), err
    assert captured.out == "", captured.out
    assert _snapshot(work) == before, "wrote files"
    assert elapsed < LIMIT, f"took {elapsed:.1f} s"
    return err


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path / "cache"))
    return folder


@pytest.mark.parametrize(
    ("command", "args", "named", "unnamed"),
    CASES,
    ids=[f"{c} {a}"[:70] for c, a, _, _ in CASES],
)
def test_an_option_that_does_not_apply_is_refused(command, args, named, unnamed, work, capfd):
    err = _refused([*command.split(), *shlex.split(args)], work, capfd)
    for text in named:
        assert text in err, (text, err)
    for text in unnamed:
        assert text not in err, (text, err)


def test_compare_refuses_a_temperature_no_compared_activation_reads(work, capfd, monkeypatch):
    # Every volume control keeps softmax today; were one to keep only activations without
    # a temperature, --temperature would do nothing, and is refused.
    monkeypatch.setattr(competition, "applicable_activations", lambda *a: ["relu", "linear"])
    err = _refused(["competition", "compare", "--temperature", "0.5"], work, capfd)
    assert "--temperature" in err and "relu, linear" in err and "softmax" in err


def _declared() -> set[tuple[str, str]]:
    """(command, option) of every option some command declares as applying only to some
    of its choices."""
    found = set()

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for rule in parser._defaults.get("only_with", ()):
            found.add((" ".join(words), rule.option))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*words, name))

    walk(cli.build_parser(), ())
    return found


def test_every_declared_option_has_a_case():
    covered = {(c, opt) for c, a, _, _ in CASES for opt in shlex.split(a) if opt != "--out"}
    covered |= {("figures", "NAME"), ("competition compare", "--temperature")}
    missing = _declared() - covered
    assert not missing, f"declared in only_with without a case here: {sorted(missing)}"
    assert len(_declared()) >= 17


def test_the_same_options_are_accepted_where_they_apply(work, capfd):
    # The mirror of the refusals: each option, where it applies, gets past the check (and
    # is then refused by a bad --out, so nothing trains).
    (work / "afile").write_text("x")
    for argv in (
        "conflict phase-diagram --axis strength --ratio-range 0.5 2 --width 3",
        "conflict phase-diagram --width-range 1 4 --ratio 0.5",
        "phase-diagram --protocol paper --batch 64",
        "multitask train --model gdln --gating pairs",
        "competition phase-diagram --activation grouped_softmax --group-size 4",
        "competition compare --volume entropy --strength 0.1 --group-size 2",
    ):
        err = _refused([*shlex.split(argv), "--out", "afile/out"], work, capfd)
        assert "afile" in err and "applies only" not in err, err
