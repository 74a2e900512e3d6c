"""The benchmarks' timing harness: alternation, medians, fresh processes, memory and the
tables, on stand-in functions (nothing here is timed for speed)."""

import argparse
import json
import os
import sys
import textwrap
import types
from pathlib import Path

import pytest

from benchmarks import alternation, fresh_process, result_tables, steady_state
from benchmarks.resident_memory import peak_memory, reset_peak_memory
from benchmarks.script_options import at_least

ROOT = Path(__file__).resolve().parents[1]


# -- alternation -------------------------------------------------------------------------------
def test_alternation_swaps_who_goes_first_every_other_repeat():
    calls = []

    def contestant(name):
        def call():
            calls.append(name)
            return f"{name}{sum(c == name for c in calls)}"

        return call

    results = alternation.alternate({k: contestant(k) for k in "abc"}, repeats=3)
    assert calls == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert results == {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"], "c": ["c1", "c2", "c3"]}
    with pytest.raises(ValueError, match="repeats=0"):
        alternation.alternate({"a": contestant("a")}, repeats=0)


def _timing(rate, peak):
    return {"instance_steps_per_s": rate, "peak_rss_mib": peak}


def test_summary_gives_medians_per_step_times_peaks_and_every_run():
    timings = {
        "loop": [_timing(10.0, 300), _timing(30.0, 500), _timing(20.0, 400)],
        "engine": [_timing(400.0, 250), _timing(100.0, 260)],
    }
    row = alternation.summary(200, timings, per_step=["engine"], peak=["loop"])
    assert row == {
        "loop_instance_steps_per_s": 20.0,
        "engine_instance_steps_per_s": 250.0,  # the median of an even count: the midpoint
        "engine_ms_per_step": 800.0,  # 200 models at 250 instance-steps/s
        "loop_peak_rss_mib": 500,
        "loop_runs": [10.0, 30.0, 20.0],
        "engine_runs": [400.0, 100.0],
    }
    assert alternation.median_rate(timings["loop"]) == 20.0


# -- the tables --------------------------------------------------------------------------------
COLUMNS = [
    result_tables.Column("name", "{name}", numeric=False),
    result_tables.Column("models", "{models:,}"),
]
ROWS = [{"name": "loop", "models": 1234}, {"name": "engine", "models": 98765}]


def test_markdown_table_aligns_numbers_right_and_ends_with_its_note():
    table = result_tables.markdown_table(COLUMNS, ROWS, "Measured here.")
    assert table.splitlines() == [
        "| name | models |",
        "|---|---:|",
        "| loop | 1,234 |",
        "| engine | 98,765 |",
        "",
        "Measured here.",
    ]


def test_the_summary_columns_read_the_summary_fields():
    row = alternation.summary(
        100,
        {"loop": [_timing(400.0, 812.4)], "engine": [_timing(4000.0, 300.6)]},
        per_step=["loop", "engine"],
        peak=["loop", "engine"],
    ) | {"ratio": 10.0}
    columns = [
        *result_tables.rates({"loop": "loop, 2 threads", "engine": "engine"}),
        result_tables.ratio("engine ÷ loop", "ratio", bold=True),
        result_tables.ratio("plain", "ratio"),
        result_tables.per_step("ms per step: loop → engine", "loop", "engine"),
        result_tables.peak("peak RSS MiB: loop / engine", "loop", "engine"),
    ]
    header, _, line, *_ = result_tables.markdown_table(columns, [row], "").splitlines()
    assert header == (
        "| loop, 2 threads | engine | engine ÷ loop | plain | ms per step: loop → engine "
        "| peak RSS MiB: loop / engine |"
    )
    # 100 models at 400 and 4,000 instance-steps/s take 250 and 25 ms per step.
    assert line == "| 400 | 4,000 | **10.0×** | 10.0× | 250 → 25.0 | 812 / 301 |"


def test_publish_prints_the_table_and_writes_both_files(tmp_path, capsys):
    md, js = tmp_path / "t.md", tmp_path / "t.json"
    result_tables.publish("| a |", ROWS, md, js, ["--x", "1"], load_average=(0.5, 0.7))
    assert capsys.readouterr().out == "| a |\n"
    assert md.read_text() == "| a |\n"
    report = json.loads(js.read_text())
    assert report == {"command": ["--x", "1"], "load_average": [0.5, 0.7], "rows": ROWS}
    assert list(report) == ["command", "load_average", "rows"]


def test_publish_writes_nothing_unasked(tmp_path, capsys):
    result_tables.publish("| a |", ROWS, None, None)
    assert capsys.readouterr().out == "| a |\n" and list(tmp_path.iterdir()) == []


# -- fresh processes ---------------------------------------------------------------------------
PROBE = """
import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Answer:
    pid: int
    scaled: tuple
    label: str = "probe"


def answer(x, factor=2):
    return Answer(os.getpid(), tuple(v * factor for v in x))


def where():
    return __file__


def fail(size):
    raise ValueError(f"bad size {size}")
"""


@pytest.fixture
def probe_tree(tmp_path, monkeypatch):
    """A tree holding the module ``benchmark_probe`` (and a module that fails to import),
    importable in this process too."""
    (tmp_path / "benchmark_probe.py").write_text(textwrap.dedent(PROBE))
    (tmp_path / "benchmark_broken.py").write_text("import no_such_dependency_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_fresh_process_is_another_process_and_in_process_is_this_one():
    assert fresh_process.run(os.getpid) != os.getpid()
    assert fresh_process.run(os.getpid, fresh=False) == os.getpid()


def test_both_modes_answer_the_same_plain_data(probe_tree):
    fresh = fresh_process.run("benchmark_probe:answer", [1, 2], factor=3, tree=probe_tree)
    here = fresh_process.run("benchmark_probe:answer", [1, 2], factor=3, fresh=False)
    assert fresh["pid"] != here["pid"] == os.getpid()
    for result in (fresh, here):
        assert {k: v for k, v in result.items() if k != "pid"} == {
            "scaled": [3, 6],
            "label": "probe",
        }


def test_the_fresh_process_imports_the_tree_it_is_given(probe_tree):
    found = fresh_process.run("benchmark_probe:where", tree=probe_tree)
    assert Path(found).resolve() == (probe_tree / "benchmark_probe.py").resolve()


def test_the_first_reference_the_tree_holds_is_used(probe_tree):
    # A missing module, and a module of that name without the function (an older tree's
    # script of the same name), both pass on to the next reference.
    refs = (
        "no_such_module_for_benchmarks:engine",
        "benchmark_probe:engine",
        "benchmark_probe:where",
    )
    assert Path(fresh_process.run(refs, tree=probe_tree)).parent == probe_tree
    assert fresh_process.resolve(refs).__name__ == "where"
    with pytest.raises(ModuleNotFoundError, match="none of .* is in this tree"):
        fresh_process.resolve(refs[:2])


def test_a_module_that_fails_to_import_is_an_error_not_a_fallback(probe_tree):
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_anywhere"):
        fresh_process.resolve(("benchmark_broken:f", "benchmark_probe:where"))


def test_a_failing_function_names_its_error(probe_tree):
    with pytest.raises(RuntimeError, match="benchmark_probe:fail .*ValueError: bad size 7"):
        fresh_process.run("benchmark_probe:fail", 7, tree=probe_tree)


def test_another_tree_needs_a_fresh_process(probe_tree):
    with pytest.raises(ValueError, match="fresh process"):
        fresh_process.run("benchmark_probe:where", fresh=False, tree=probe_tree)


@pytest.mark.parametrize("bad", ["no_colon", "a:b:c", ":where", "benchmark_probe:", ()])
def test_references_are_written_module_colon_name(bad):
    with pytest.raises(ValueError, match="module:qualname"):
        fresh_process.run(bad)


def test_a_function_is_named_by_its_importable_module():
    assert fresh_process.reference(alternation.alternate) == "benchmarks.alternation:alternate"
    with pytest.raises(ValueError, match="module-level"):
        fresh_process.reference(lambda: None)


@pytest.mark.parametrize("spec", [None, "benchmarks.compare_straightforward"])
def test_a_script_function_is_named_by_the_module_it_would_import_as(spec, monkeypatch):
    # A benchmark run as ``python benchmarks/x.py`` (no spec) or ``python -m benchmarks.x``.
    main = types.ModuleType("__main__")
    main.__file__ = str(ROOT / "benchmarks" / "compare_straightforward.py")
    main.__spec__ = None if spec is None else types.SimpleNamespace(name=spec)

    def engine():
        pass

    engine.__module__, engine.__qualname__ = "__main__", "engine"
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert fresh_process.reference(engine) == "benchmarks.compare_straightforward:engine"


# -- steady state and memory -------------------------------------------------------------------
def test_step_times_times_the_steps_after_the_warm_up():
    calls = []
    times = steady_state.step_times(lambda: calls.append(1), 4)
    assert len(calls) == steady_state.STRAIGHTFORWARD_WARMUP + 4 and len(times) == 4
    assert all(t >= 0 for t in times)


def test_the_engine_refuses_a_window_too_short_to_time():
    steady_state.check_engine_steps(steady_state.ENGINE_MIN_STEPS)
    with pytest.raises(ValueError, match="steps=199: the engine needs at least 200 steps"):
        steady_state.check_engine_steps(199)


def test_peak_memory_sees_an_allocation():
    before = reset_peak_memory()
    block = b"\x01" * (64 << 20)  # written, so every page is resident
    assert peak_memory(before) >= before + 60
    assert peak_memory(1e9) == 1e9  # never below the floor
    del block


def test_timing_keeps_the_field_order_of_the_bench_json():
    assert list(steady_state.Timing.__dataclass_fields__) == [
        "method", "features", "hidden", "models", "batch", "steps", "threads", "estimator",
        "instance_steps_per_s", "seconds_per_step", "peak_rss_mib", "rss_before_mib", "runs",
        "family", "activation",
    ]  # fmt: skip


# -- options -----------------------------------------------------------------------------------
def test_counts_below_their_least_are_refused_by_name():
    parse = at_least(200)
    assert parse("200") == 200
    with pytest.raises(argparse.ArgumentTypeError, match="199: must be at least 200"):
        parse("199")
    with pytest.raises(argparse.ArgumentTypeError, match="'x' is not an integer"):
        parse("x")
