"""``toymodels bench`` and the benchmark scripts, with tiny arguments."""

import json
import runpy
import sys
from pathlib import Path

import pytest

from benchmarks import compare_straightforward, competition_speed
from cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_bench_json_reports_throughput_and_memory(capsys):
    code = main(
        [
            "bench",
            "--models",
            "3",
            "--batch",
            "16",
            "--steps",
            "200",
            "--repeats",
            "1",
            "--threads",
            "2",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instance_steps_per_s"] > 0
    assert out["peak_rss_mib"] >= out["rss_before_mib"] > 0
    assert out["models"] == 3 and out["threads"] == 2 and out["estimator"] == "sampled"
    assert out["seconds_per_step"] == pytest.approx(3 / out["instance_steps_per_s"])


def test_bench_text_output_names_the_numbers(capsys):
    assert (
        main(
            [
                "bench",
                "--models",
                "2",
                "--batch",
                "8",
                "--steps",
                "200",
                "--repeats",
                "1",
                "--estimator",
                "exact",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "instance_steps_per_s" in out and "peak memory" in out and "estimator=exact" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--steps", "50"], "steps 50 must be an integer from 200 to 100,000"),
        (["--steps", "1000000"], "steps 1000000 must be an integer from 200 to 100,000"),
        (["--models", "10000000000"], "models 10000000000 is above the limit of 1,000,000"),
        (["--features", "100000", "--batch", "100000"], "x --features 100000 needs about"),
        (["--estimator", "exakt"], 'did you mean "exact"'),
        (["--features", "8", "--estimator", "exact"], "n_features <= 4"),
        (["--features", "2", "--hidden", "2"], "n_hidden=2"),
    ],
)
def test_bench_rejects_bad_input_in_one_line(argv, message, capsys):
    assert main(["bench", "--models", "2", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_straightforward_loop_is_timed():
    t = compare_straightforward.straightforward(2, 1, 3, batch=16, steps=2, threads=1)
    assert t.method == "straightforward" and t.threads == 1 and len(t.runs) == 1
    assert t.instance_steps_per_s > 0


def test_engine_needs_a_steady_state_window():
    with pytest.raises(ValueError, match="200 steps"):
        compare_straightforward.engine(2, 1, 2, batch=8, steps=100)


def test_benchmark_script_writes_its_table(tmp_path, monkeypatch, capsys):
    md, js = tmp_path / "table.md", tmp_path / "table.json"
    argv = [
        "compare_straightforward.py",
        "--scale",
        "0.0001",
        "--repeats",
        "1",
        "--straightforward-steps",
        "1",
        "--in-process",
        "--engine-steps",
        "200",
        "--batch",
        "8",
        "--markdown",
        str(md),
        "--json",
        str(js),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "benchmarks" / "compare_straightforward.py"), run_name="__main__")
    assert stop.value.code == 0
    rows = json.loads(js.read_text())["rows"]
    assert [(r["features"], r["hidden"]) for r in rows] == [(2, 1), (20, 5), (200, 20)]
    assert all(
        r["ratio"]
        == pytest.approx(
            r["engine_instance_steps_per_s"] / r["straightforward_instance_steps_per_s"]
        )
        for r in rows
    )
    table = [line for line in md.read_text().splitlines() if line.startswith("|")]
    assert len(table) == 5  # header, separator, three sizes
    assert "engine" in capsys.readouterr().out


def test_competition_timings_and_script(tmp_path, capsys):
    e = competition_speed.engine(4, 3, batch=16, steps=200, threads=2, repeats=1, clusters=3)
    s = competition_speed.straightforward(4, 3, batch=16, steps=2, threads=1, clusters=3)
    for t, method in ((e, "engine"), (s, "straightforward")):
        assert (t.method, t.family, t.activation) == (method, "competition", "softmax")
        assert (t.features, t.hidden, t.models, t.batch) == (2, 4, 3, 16)
        assert t.instance_steps_per_s > 0 and len(t.runs) == 1
        assert t.seconds_per_step == pytest.approx(3 / t.instance_steps_per_s)
    assert e.threads == 2 and s.threads == 1
    with pytest.raises(ValueError, match="200 steps"):
        competition_speed.engine(4, 2, batch=8, steps=100)
    with pytest.raises(ValueError, match="the notebook loop is written for softmax, relu"):
        competition_speed.straightforward(4, 2, batch=8, steps=1, activation="kwta")
    with pytest.raises(ValueError, match="layout"):
        competition_speed.straightforward(4, 2, batch=8, steps=1, layout="nope")
    for layout in competition_speed.LAYOUTS:
        t = competition_speed.straightforward(4, 3, batch=16, steps=2, threads=1, layout=layout)
        assert t.instance_steps_per_s > 0 and t.models == 3

    script = runpy.run_path(str(ROOT / "benchmarks" / "competition_speed.py"))
    md, js = tmp_path / "table.md", tmp_path / "table.json"
    argv = ["--layouts", "--units", "2", "8", "--models", "2", "--batch", "8",
            "--engine-steps", "200", "--straightforward-steps", "1", "--repeats", "1",
            "--in-process", "--markdown", str(md), "--json", str(js)]  # fmt: skip
    assert script["main"](argv) == 0
    rows = json.loads(js.read_text())["rows"]
    assert [(r["units"], r["models"]) for r in rows] == [(2, 2), (8, 2)]
    for r in rows:
        assert r["ratio"] == pytest.approx(
            r["engine_instance_steps_per_s"] / r["straightforward_instance_steps_per_s"]
        )
        assert r["ratio_vs_notebook"] == pytest.approx(
            r["engine_instance_steps_per_s"] / r["notebook_instance_steps_per_s"]
        )
    assert len([line for line in md.read_text().splitlines() if line.startswith("|")]) == 4
    assert "engine" in capsys.readouterr().out
    assert [script["default_models"](k) for k in (4, 16, 64)] == [2048, 2048, 512]


def test_competition_survey_times_every_activation_and_volume_control(tmp_path):
    """The default run: one row per activation and control, each relative to ReLU."""
    from toymodels import ACTIVATIONS
    from toymodels.volumes import VOLUMES

    for name in ACTIVATIONS:  # the straightforward loop writes out every activation
        t = competition_speed.straightforward(4, 2, batch=8, steps=1, threads=1,
                                              activation=name, layout="model-first")  # fmt: skip
        assert t.instance_steps_per_s > 0 and t.activation == name
    js = tmp_path / "survey.json"
    argv = ["--units", "4", "--models", "2", "--batch", "8", "--straightforward-steps", "1",
            "--threads", "1", "--in-process", "--json", str(js)]  # fmt: skip
    assert competition_speed.main(argv) == 0
    report = json.loads(js.read_text())
    rows = {(r["activation"], r["volume"]): r for r in report["rows"]}
    assert {a for a, v in rows if v == "none"} == set(ACTIVATIONS)
    assert {v for a, v in rows if a == "softmax"} == set(VOLUMES)
    assert {("lwta", "revival"), ("kwta", "revival")} <= set(rows)
    assert rows["relu", "none"]["engine_vs_relu"] == 1.0
    assert rows["relu", "none"]["straightforward_vs_relu"] == 1.0
    for (activation, volume), r in rows.items():
        assert r["units"] == 4 and r["models"] == 2 and r["engine_ms_per_step"] > 0
        on_data = ("entropy", "dropout", "batchnorm", "learned_tau")
        gradient = "autograd" if volume in on_data else "hand"
        assert r["gradient"] == gradient, (activation, volume)
        if volume == "none":
            assert r["engine_speedup"] == pytest.approx(
                r["straightforward_ms_per_step"] / r["engine_ms_per_step"]
            )
        else:
            assert r["straightforward_ms_per_step"] is None and r["engine_speedup"] is None


def test_a_workload_times_in_a_fresh_process_as_in_this_one():
    from benchmarks.fresh_process import run

    loop = compare_straightforward.straightforward
    fresh = run(loop, 2, 1, 3, 16, 2, threads=1)
    here = run(loop, 2, 1, 3, 16, 2, threads=1, fresh=False)
    assert set(fresh) == set(here) == set(compare_straightforward.Timing.__dataclass_fields__)
    for t in (fresh, here):
        assert (t["method"], t["models"], t["threads"], t["steps"]) == ("straightforward", 3, 1, 2)
        assert t["instance_steps_per_s"] > 0 and len(t["runs"]) == 1


def test_multitask_script_reports_both_timings(tmp_path, capsys):
    from benchmarks import multitask_speed

    js = tmp_path / "multitask.json"
    argv = ["--seeds", "2", "--epochs", "3", "--repeats", "2", "--in-process", "--json", str(js)]
    assert multitask_speed.main(argv) == 0
    rows = json.loads(js.read_text())["rows"]
    assert [(r["hidden_layers"], r["hidden"]) for r in rows] == [(1, 700), (2, 420)]
    for row in rows:
        assert (row["seeds"], row["epochs"]) == (2, 3)
        assert len(row["straightforward_seconds"]) == len(row["engine_seconds"]) == 2
        median = sum(row["engine_seconds"]) / 2  # the median of two runs
        assert row["engine_seed_epochs_per_s"] == pytest.approx(6 / median)
        assert row["speedup"] == pytest.approx(
            row["engine_seed_epochs_per_s"] / row["straightforward_seed_epochs_per_s"]
        )
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 4 and "engine speed-up" in table[0] and "2 × 420" in table[3]


def test_revision_script_compares_the_two_trees(tmp_path, monkeypatch, capsys):
    # The trees' engines stand in as fixed rates: this tree twice as fast as the base.
    from contextlib import contextmanager

    from benchmarks import compare_revisions

    calls = []

    def fake_run(references, *job, repeats, tree):
        calls.append(("this" if tree == compare_revisions.ROOT else "base", job[2]))
        assert references == compare_revisions.ENGINE_REFERENCES and repeats == 1
        return {"instance_steps_per_s": (200.0 if tree == compare_revisions.ROOT else 100.0)}

    @contextmanager
    def fake_worktree(rev):
        assert rev == "abc123"
        yield tmp_path

    monkeypatch.setattr(compare_revisions, "run", fake_run)
    monkeypatch.setattr(compare_revisions, "_worktree", fake_worktree)
    js = tmp_path / "revisions.json"
    argv = ["--base", "abc123", "--repeats", "2", "--threads", "1", "--json", str(js)]
    assert compare_revisions.main(argv) == 0
    assert calls[:4] == [("base", 4000), ("this", 4000), ("this", 4000), ("base", 4000)]
    rows = json.loads(js.read_text())["rows"]
    assert [(r["models"], r["estimator"]) for r in rows] == [
        (4000, "sampled"), (100, "sampled"), (20, "sampled"), (16000, "exact"),
    ]  # fmt: skip
    assert all(r["ratio"] == 2.0 and r["runs"] == {"base": [100.0] * 2, "this": [200.0] * 2}
               for r in rows)  # fmt: skip
    assert "| 2 → 1 | 16,000 | exact | 100 | 200 | 2.000× |" in capsys.readouterr().out
