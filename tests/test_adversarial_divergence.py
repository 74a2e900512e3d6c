"""Divergence, non-finite numbers and overflow, under hostile input, on every command.

- Every JSON the tool writes or prints parses under a strict parser (one that refuses
  ``NaN`` and ``Infinity``): a non-finite number is ``null``.
- A diverged model's metrics are NaN in every family (measured on NaN or infinite
  weights, a metric can come out as a plausible number), and the commands' reports show
  an all-diverged cell's best-seed metrics as null, labelled ``diverged``.
- A run in which every seed of some cell diverged still writes its summary and figures,
  prints one ``warning:`` line and exits 1, on every command that trains.
- A learning rate beyond float32, Adam's first step beyond it, and a root seed beyond
  int64 are refused by every command and spec: one line naming the value and the range,
  exit code 2, nothing written, within 10 s.  So is a spent ``--time-limit`` of every
  analytic subcommand, however tiny, without a traceback or a death by SIGALRM.
- A score that is missing says why (no cell to take it over, or every cell diverged).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import cli.main as cli
import sweeps
from toymodels import FAMILIES, TASKS, ModelConfig, TrainConfig, model_seed, strict_json
from toymodels.engine import build_model, measure
from toymodels.limits import FLOAT32_MAX, FLOAT32_TINY
from toymodels.recording import probe_batch, snapshot

ROOT = Path(cli.__file__).resolve().parents[1]
LIMIT = 10.0  # seconds a refusal may take
# A learning rate inside the bound whose first step overflows every model: float32's
# largest numbers, for plain gradient descent and for Adam (whose first step is lr/0.1).
SGD_BLOWUP, ADAM_BLOWUP = "3e38", "3e37"
LR_RANGE = r"outside \[1\.17549e-38, 3\.40282e\+38\]"
SEED_RANGE = r">= 0 and at most 9223372036854775807"


def strict_loads(text: str):
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity``."""

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _strict_files(out: Path) -> list[Path]:
    """Every JSON file under ``out``, each parsed strictly; the paths."""
    found = sorted(out.rglob("*.json"))
    for path in found:
        strict_loads(path.read_text(encoding="utf-8"))
    return found


# -- the encoder ----------------------------------------------------------------------------
def test_strict_json_writes_every_non_finite_number_as_null():
    data = {
        "nan": float("nan"),
        "inf": [float("inf"), -float("inf"), 1.5],
        "numpy": {"scalar": np.float32("nan"), "array": np.array([[np.nan, 2.0], [np.inf, 0]])},
        "ints": (np.int64(3), np.bool_(True), 2**70),
        7: "a key that is not text",
    }
    parsed = strict_loads(strict_json.dumps(data, indent=1))
    assert parsed == {
        "nan": None,
        "inf": [None, None, 1.5],
        "numpy": {"scalar": None, "array": [[None, 2.0], [None, 0.0]]},
        "ints": [3, True, 2**70],
        "7": "a key that is not text",
    }
    # Python's own encoder writes what a strict parser refuses: the reason for all this.
    with pytest.raises(ValueError, match="NaN"):
        strict_loads(json.dumps({"loss": float("nan")}))


# -- a diverged model's metrics, in every family ------------------------------------------------
CASES = [(f, t) for f, cls in FAMILIES.items() for t in cls.tasks]


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f}-{t}" for f, t in CASES])
def test_a_diverged_models_metrics_are_nan_in_every_family(family, task):
    # Two models; the first gets a NaN in one parameter and +inf in another entry, as
    # an overflowing update leaves it.  Its every metric must be NaN, final and recorded,
    # and the second model's must be what it measures alone.
    config = ModelConfig.build(family, task)
    cls = FAMILIES[family]
    train_cfg = TrainConfig(eval_batch=256, estimator=cls.estimators[0])
    seeds = [model_seed(5, 0, 0), model_seed(5, 1, 0)]
    model = build_model([config, config], seeds, train_cfg)
    params = [p for p in model.parameters() if p.numel()]  # a one-layer network's Wh is empty
    with torch.no_grad():
        params[0].view(2, -1)[0, 0] = float("nan")
        params[-1].view(2, -1)[0, -1] = float("inf")
    found = measure(model, train_cfg.eval_batch)
    alone = measure(build_model([config], seeds[1:], train_cfg), train_cfg.eval_batch)
    names = {*cls.metrics, *TASKS[task].outputs}
    assert set(found.metrics) == names
    for name in names:
        value = found.metrics[name]
        assert value.dtype.kind == "f", name
        assert np.isnan(value[0]).all(), f"{name} of the diverged model: {value[0]}"
        np.testing.assert_allclose(value[1], alone.metrics[name][0], rtol=1e-5, err_msg=name)
    recorded = snapshot(model, probe_batch(model, 256), True, False)
    for name in names:
        assert torch.isnan(recorded[name][0]).all(), name


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_metric_is_stored_as_a_float_so_that_it_can_be_nan(family):
    cls = FAMILIES[family]
    outputs = {**cls.metrics, **{k: v for t in cls.tasks for k, v in TASKS[t].outputs.items()}}
    assert {k: o.dtype for k, o in outputs.items() if np.dtype(o.dtype).kind != "f"} == {}


# -- every command that trains, every model diverged --------------------------------------------
# Each command once, and through ``sweep run`` the families whose command is tried with
# their sibling (contextual_relu beside contextual_linear, two_view_relu beside
# two_view_linear); the test above measures every family.
DIVERGING = {
    "phase-diagram": f"phase-diagram --protocol paper --steps 5 --grid 2 --seeds 2 "
    f"--lr {ADAM_BLOWUP} --no-optimum",
    "multitask-linear": f"multitask train --model contextual_linear --lr {SGD_BLOWUP} "
    "--epochs 5 --hidden 4 --seeds 2 --record-every 1",
    "multitask-gdln": f"multitask train --model gdln --lr {SGD_BLOWUP} --epochs 5 --hidden 4 "
    "--seeds 2 --record-every 1",
    "multitask-relu": f"multitask train --lr {SGD_BLOWUP} --epochs 5 --hidden 4 --seeds 2 "
    "--record-every 1",
    "conflict-linear": f"conflict phase-diagram --lr {SGD_BLOWUP} --grid 2 --seeds 2 --epochs 5",
    "competition": f"competition phase-diagram --lr {ADAM_BLOWUP} --grid 2 --seeds 2 --steps 5",
    "competition-annealing": f"competition phase-diagram --task annealing --lr {ADAM_BLOWUP} "
    "--grid 2 --seeds 2 --steps 5",
    "competition-compare": f"competition compare --lr {ADAM_BLOWUP} --seeds 2 --steps 3 --json",
    "sweep-competition": f"sweep run competition-clusters --set train.lr={ADAM_BLOWUP} "
    "--set train.steps=3 --set seeds=2 --set axes.temperature=[0.1,1.0] "
    "--set axes.volume_strength=[0.0]",
    "sweep-conflict": f"sweep run conflict-relu-width --set train.lr={SGD_BLOWUP} "
    "--set train.steps=3 --set seeds=2 --set axes.conflict=[0.0,1.0] --set axes.n_hidden=[2]",
    "sweep-multitask": f"sweep run multitask-relu --set train.lr={SGD_BLOWUP} "
    "--set train.steps=3 --set seeds=2 --set n_hidden=4",
    "figures-mds": "figures multitask-mds --set train.lr=1e30 --set train.steps=5 "
    "--set n_hidden=4 --set seeds=2",
}


def _run(argv: list[str], capsys) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err, time.perf_counter() - start


@pytest.mark.parametrize("case", DIVERGING, ids=list(DIVERGING))
def test_a_run_whose_every_model_diverged_reports_it_and_exits_1(case, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [*DIVERGING[case].split(), "--out", str(out), "--jobs", "1", "--quiet"]
    code, stdout, err, _ = _run(argv, capsys)
    lines = err.strip().splitlines()
    command = argv[0] if argv[0] != "figures" else "figures"
    assert code == 1, err
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith(f"toymodels {command}: warning: "), err
    assert "diverged" in lines[0] and "every seed diverged" in lines[0]
    # What the command writes: its summary, its figures, every JSON strict.
    written = _strict_files(out)
    assert written
    if command != "sweep":
        assert list(out.rglob("*.png"))
    if "--json" in argv:
        strict_loads(stdout)
    runs = [p.parent for p in out.rglob("results.nc")]
    assert runs
    for run in runs:
        ds = sweeps.load(run)
        assert bool(ds["diverged"].all())
        family = FAMILIES[ds.attrs["family"]]
        metrics = {*family.metrics, *TASKS[ds.attrs["task"]].outputs}
        for name in metrics:
            assert bool(ds[name].isnull().all()), f"{name} of a diverged model is not NaN"
        if "phase_best" in ds:
            assert (ds["phase_best"] == "diverged").all()
        _check_phase_map_key(ds)
    summaries = [p for p in written if p.name in ("summary.json", "compare.json")]
    for path in summaries:
        _check_all_diverged_summary(strict_loads(path.read_text()))


def _check_phase_map_key(ds) -> None:
    """A phase map of diverged cells says what its blank cells mean."""
    from figures.style import DIVERGED_KEY

    family = ds.attrs["family"]
    axes = [d for d in ds["phase_best"].dims] if "phase_best" in ds else []
    if len(axes) != 2 or min(ds.sizes[d] for d in axes) < 2:  # no map to draw
        return
    if family.startswith("two_view"):
        from figures.conflict_panels import conflict_diagram
        from summaries.conflict_summary import theory_for

        fig = conflict_diagram(ds, theory_for(ds))
    elif family == "competition" and set(axes) == {"temperature", "volume_strength"}:
        from figures.competition_panels import competition_diagram

        fig = competition_diagram(ds)
    else:
        return
    assert DIVERGED_KEY in [t.get_text() for t in fig.legends[0].texts]


def _check_all_diverged_summary(summary: dict) -> None:
    """Nothing in a summary of an all-diverged run looks like a measured number."""
    if "phase" in summary:
        assert {p for row in summary["phase"] for p in row} == {"diverged"}
    for name, grid in summary.get("metrics", {}).items():  # the best seed's, per cell
        assert {v for row in grid for v in row} == {None}, name
    for row in summary.get("rows", []):  # competition compare
        assert row["phase"] == "diverged"
        measured = {k: v for k, v in row.items() if k not in ("activation", "volume", "phase")}
        assert all(v is None for k, v in measured.items() if k != "phase_fraction"), row
    if "census" in summary:
        assert {v for seeds in summary["census"].values() for v in seeds} == {None}
    if "final_loss" in summary:
        assert summary["final_loss"] == [None] * len(summary["final_loss"])


def test_a_partly_diverged_multitask_run_draws_the_other_seeds_and_says_so(tmp_path):
    from figures import multitask_panels as mt
    from summaries.multitask_summary import prediction_for, summarise

    argv = "multitask train --epochs 20 --hidden 6 --seeds 3 --record-every 5 --jobs 1 --quiet"
    assert cli.main([*argv.split(), "--out", str(tmp_path / "out")]) == 0
    ds = sweeps.load(tmp_path / "out" / "run").load()
    # Seed 0 diverged: as the engine leaves it, its metrics NaN and its flag set.
    ds["diverged"][0] = True
    for name in ds.data_vars:
        if "seed" in ds[name].dims and ds[name].dtype.kind == "f" and name != "diverged":
            ds[name][{"seed": 0}] = np.nan
    prediction = prediction_for(ds)
    summary = summarise(ds, prediction)
    strict_loads(strict_json.dumps(summary))
    assert summary["census"]["all"][0] is None and None not in summary["census"]["all"][1:]
    assert summary["theory"]["max_relative_difference"] is not None
    note = "1 of 3 seeds diverged (not drawn)"
    for fig in (mt.mode_trajectories(ds, prediction), mt.census_bars(ds)):
        assert note in [t.get_text() for t in fig.axes[0].texts]
    loss = mt.loss_curves({"relu": ds}, prediction)
    assert any(
        note[: -len(" (not drawn)")] in t.get_text() for t in loss.axes[0].get_legend().texts
    )
    mds = mt.mds_snapshots(ds)  # seed 0 diverged: the first seed that did not is drawn
    assert "seed 1" in mds.legends[0].get_title().get_text()
    assert all(ax.collections for ax in mds.axes)


# -- missing scores say why ----------------------------------------------------------------------
def test_a_score_missing_for_want_of_cells_does_not_blame_divergence(tmp_path, capsys):
    argv = (
        "conflict phase-diagram --axis strength --ratio-range 0.999 1.001 --conflict-range "
        "0.5 1 --grid 2 --seeds 2 --epochs 5 --jobs 1 --quiet"
    )
    code, out, err, _ = _run([*argv.split(), "--out", str(tmp_path / "out")], capsys)
    assert code == 0 and err == ""
    assert "dominance spread over seeds at conflict 0: none (the grid has no cell at" in out
    assert "diverged" not in out


def test_a_missing_score_says_why():
    from cli.reports import shown

    assert shown(None) == "none (every cell diverged)"
    assert shown(None, missing="no cell lies outside that band") == (
        "none (no cell lies outside that band)"
    )
    assert shown(0.25, ".2f", "never shown") == "0.25"


# -- refused before any work: learning rates and root seeds -------------------------------------
def _refusal_cases() -> list[tuple[str, tuple, str]]:
    """(argv, texts the line must name, what-is-allowed pattern)."""
    lr_commands = {
        "phase-diagram": "phase-diagram",
        "multitask": "multitask train",
        "conflict": "conflict phase-diagram",
        "competition": "competition phase-diagram",
        "compare": "competition compare",
    }
    cases = []
    for command in lr_commands.values():
        for lr in ("1e39", "1e300", "1e-39", "1e-308"):
            cases.append((f"{command} --lr {lr}", ("lr", f"{float(lr):g}"), LR_RANGE))
        for seed in (str(2**64), "-1"):
            cases.append((f"{command} --root-seed {seed}", ("root_seed", seed), SEED_RANGE))
    # Adam's first step lr/(1 - beta1) beyond float32, the rate itself inside it.
    for command in ("competition phase-diagram", "competition compare"):
        cases.append((f"{command} --lr 1e38", ("lr=1e+38", "3.40282e+37"), r"at most"))
    cases += [
        ("analytic modes --lr 1e-308", ("lr", "1e-308"), LR_RANGE),
        ("analytic modes --lr 1e308", ("lr", "1e+308"), LR_RANGE),
        ("sweep run paper-2to1 --set train.lr=1e300", ("lr", "1e+300"), LR_RANGE),
        ("sweep run paper-2to1 --set train.lr=1e-39", ("lr", "1e-39"), LR_RANGE),
        ("sweep run paper-2to1 --set train.lr=1e38", ("lr=1e+38",), r"at most"),
        ("sweep run multitask-gdln --set train.lr=1e39", ("lr", "1e+39"), LR_RANGE),
        (f"sweep run paper-2to1 --set root_seed={2**64}", ("root_seed", str(2**64)), SEED_RANGE),
        ("sweep run paper-2to1 --set root_seed=-1", ("root_seed", "-1"), SEED_RANGE),
        ("figures multitask-mds --set train.lr=1e300", ("lr", "1e+300"), LR_RANGE),
        (f"figures intro-2d --set root_seed={2**63}", ("root_seed", str(2**63)), SEED_RANGE),
    ]
    return cases


REFUSALS = _refusal_cases()


def _spec_file(tmp_path: Path, kind: str, text: str) -> Path:
    path = tmp_path / f"spec.{kind}"
    path.write_text(text)
    return path


SPEC_FILES = {
    "toml-root-seed": ("toml", f'name = "x"\nfamily = "relu"\nroot_seed = {2**64}\n'),
    "json-root-seed": ("json", json.dumps({"name": "x", "family": "relu", "root_seed": 2**63})),
    "toml-lr": ("toml", 'name = "x"\nfamily = "relu"\n[train]\nlr = 1e39\n'),
    "json-lr": ("json", json.dumps({"name": "x", "family": "relu", "train": {"lr": 1e-40}})),
}


def _check_refusal(code, err: str, elapsed: float, names, allowed: str, changed) -> None:
    lines = err.strip().splitlines()
    problems = []
    if code != 2:
        problems.append(f"exit code {code}")
    if len(lines) != 1 or "Traceback" in err or "Warning" in err:
        problems.append(f"{len(lines)} stderr lines")
    for name in names:
        if name.lower() not in err.lower():
            problems.append(f"does not name {name!r}")
    if not re.search(allowed, err):
        problems.append(f"does not say what is allowed (/{allowed}/)")
    if elapsed > LIMIT:
        problems.append(f"took {elapsed:.1f} s")
    if changed:
        problems.append(f"wrote {changed}")
    assert not problems, f"{problems}: {err!r}"


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(("argv", "names", "allowed"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_an_impossible_rate_or_seed_is_refused_before_any_work(
    argv, names, allowed, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path.parent / "cache"))
    before = _listing(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err, elapsed = _run([*argv.split(), "--out", "out"], capsys)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    _check_refusal(
        code, err, elapsed, names, allowed, sorted(set(_listing(tmp_path)) - set(before))
    )


@pytest.mark.parametrize("case", SPEC_FILES)
def test_a_spec_file_with_an_impossible_rate_or_seed_is_refused(case, tmp_path, capsys):
    kind, text = SPEC_FILES[case]
    path = _spec_file(tmp_path, kind, text)
    before = _listing(tmp_path)
    code, _, err, elapsed = _run(["sweep", "run", str(path), "--out", str(tmp_path / "o")], capsys)
    name = "root_seed" if "root" in case else "lr"
    allowed = SEED_RANGE if "root" in case else LR_RANGE
    _check_refusal(
        code, err, elapsed, (name,), allowed, sorted(set(_listing(tmp_path)) - set(before))
    )


def test_the_bounds_are_float32s_and_int64s():
    info = torch.finfo(torch.float32)
    assert (FLOAT32_MAX, FLOAT32_TINY) == (info.max, info.tiny)
    from toymodels.limits import ROOT_SEED

    assert ROOT_SEED.apply("root_seed", int(np.iinfo(np.int64).max)) == 2**63 - 1


def test_the_largest_root_seed_trains_and_is_stored(tmp_path):
    # The top of the range must really be storable: the results file keeps it.
    argv = [
        "sweep", "run", "paper-2to1", "--out", str(tmp_path / "run"), "--quiet", "--jobs", "1",
        "--set", f"root_seed={2**63 - 1}", "--set", "train.steps=5", "--set", "seeds=1",
        "--set", "axes.density=[0.5]", "--set", "axes.importance=[1.0]",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    ds = sweeps.load(tmp_path / "run")
    assert int(ds.attrs["root_seed"]) == 2**63 - 1


def test_the_largest_rates_train_without_an_overflow_error():
    # The top of the range is applied: Adam's first step just at float32's largest
    # number, plain gradient descent at it.  The models blow up, and are diverged.
    from toymodels import train

    config = ModelConfig.build("competition", "clusters")
    seeds = [model_seed(0, 0, 0)]
    for kw in ({"lr": FLOAT32_MAX * 0.1 * (1 - 1e-9)}, {"lr": FLOAT32_MAX, "optimizer": "sgd"}):
        result = train([config], TrainConfig(steps=2, batch_size=16, eval_batch=64, **kw), seeds)
        assert not all(np.isfinite(v).all() for v in result.params.values())
        assert all(np.isnan(v).all() for v in result.metrics.values())


# -- time limits -------------------------------------------------------------------------------
ANALYTIC = {
    "losses": "--features 2",
    "boundaries": "--features 2 --importance 1",
    "loss": "--features 2 --W [[1,0]] --b [0,0]",
    "optimum": "--features 2 --importance 1",
    "modes": "",
    "critical-temperature": "--centers [[1,0],[0,1]] --spread 0.3",
}


# Every subcommand at a limit shorter than arming the timer takes, and the case found
# first (a budget that runs out inside the computation).
LIMITS = [(name, "1e-9") for name in ANALYTIC] + [("critical-temperature", "1e-5")]


@pytest.mark.parametrize(("subcommand", "limit"), LIMITS)
def test_a_tiny_time_limit_ends_in_one_line(subcommand, limit, tmp_path):
    # In a subprocess: an alarm that escapes kills the process that armed it.
    cmd = [sys.executable, "-m", "cli", "analytic", subcommand, *ANALYTIC[subcommand].split()]
    cmd += ["--time-limit", limit]
    env = {"PYTHONPATH": str(ROOT), "TOYMODELS_CACHE_DIR": str(tmp_path / "cache")}
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, env={**_base_env(), **env}, cwd=tmp_path
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, -signal.SIGALRM, proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(
        rf"took longer than the time limit of {limit.replace('e-', 'e-0')} s", lines[0]
    )
    assert "--time-limit" in lines[0]
    assert time.perf_counter() - start < 60


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}


# -- JSON printed by the commands that print it ------------------------------------------------
PRINTED = [
    "families --json",
    "competition list --json",
    "analytic modes --json",
    "analytic critical-temperature --centers [[1,0],[-1,0]] --spread 0.3 --json",
    "bench --models 4 --steps 200 --repeats 1 --batch 16 --threads 1 --json",
]


@pytest.mark.parametrize("argv", PRINTED)
def test_printed_json_is_strict(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err, _ = _run(argv.split(), capsys)
    assert code == 0, err
    strict_loads(out)
