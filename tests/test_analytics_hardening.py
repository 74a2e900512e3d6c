"""Hostile input to the analytics: a cache that others can write, expressions built to
hang the process, and every `toymodels analytic` option fed values it must refuse."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sympy

import analytics.loss_derivation as engine
from analytics import _cache, inputs, optimum, p, r, stored_expressions
from analytics.time_budget import time_limit
from cli.main import build_parser, main
from toymodels.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ANTIPODAL = ["loss", "--features", "2", "--W", "[[1,-1]]"]


pytestmark = pytest.mark.usefixtures("private_analytics_cache")


def run(capsys, *argv):
    code = main(["analytic", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def cache_files(tmp_path) -> list[Path]:
    return [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]


def loss_entry(tmp_path) -> Path:
    (entry,) = (tmp_path / "cache" / "loss").glob("*.json")
    return entry


# -- the cache cannot run code ------------------------------------------------------------
def test_a_tampered_cached_loss_runs_nothing_and_is_recomputed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, *ANTIPODAL, "--json")
    assert code == 0 and json.loads(out)["cache"] == "miss"
    entry = loss_entry(tmp_path)
    data = json.loads(entry.read_text())
    data["payload"]["loss"] = "p + 0*len(str(__import__('os').system('touch pwned')))"
    entry.write_text(json.dumps(data))
    engine._MEMORY.clear()  # a new process: only the disk entry is left

    code, out, err = run(capsys, *ANTIPODAL, "--json")
    assert code == 0 and err == ""
    assert not (tmp_path / "pwned").exists()
    result = json.loads(out)
    assert result["cache"] == "miss"  # unreadable, so derived again ...
    assert sympy.parse_expr(result["loss"], local_dict={"p": p}) == p**2 / 3
    rewritten = json.loads(entry.read_text())["payload"]["loss"]  # ... and overwritten
    assert stored_expressions.decode(rewritten) == p**2 / 3


def _nested(depth: int):
    tree = ["symbol", "p"]
    for _ in range(depth):
        tree = ["exp", tree]
    return tree


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda e: "{ not json",
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": "p**2/3"}}),  # text
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": 42}}),
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": ["eval", "p"]}}),
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": ["symbol", "x"]}}),
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": ["int", 3]}}),
        lambda e: json.dumps({**e, "payload": {**e["payload"], "loss": _nested(200)}}),
        lambda e: "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser goes
        # cheap to store, expensive to rebuild or to evaluate afterwards
        lambda e: json.dumps(
            {**e, "payload": {**e["payload"], "loss": ["pow", ["int", "9" * 2000], ["int", "99"]]}}
        ),
        lambda e: json.dumps(
            {
                **e,
                "payload": {
                    **e["payload"],
                    "loss": ["mul", *[["pow", ["symbol", "p"], ["int", "1024"]]] * 2000],
                },
            }
        ),
        lambda e: json.dumps({**e, "payload": {**e["payload"], "derived_seconds": "fast"}}),
        lambda e: json.dumps(e).replace('"derived_seconds": ', '"derived_seconds": NaN, "x": '),
    ],
    ids=[
        "garbage",
        "old-text-format",
        "number",
        "unknown-node",
        "unknown-symbol",
        "integer-not-string",
        "deep-tree",
        "deep-json",
        "huge-power",
        "exponent-overflow",
        "seconds-string",
        "nan",
    ],
)
def test_a_corrupt_cache_entry_is_a_miss_and_rewritten(tmp_path, corrupt):
    first = engine.derive_loss([[1, -0.5]], [0, "p/2 - 1/10"])
    entry = loss_entry(tmp_path)
    entry.write_text(corrupt(json.loads(entry.read_text())))
    engine._MEMORY.clear()
    start = time.perf_counter()
    again = engine.derive_loss([[1, -0.5]], [0, "p/2 - 1/10"])
    assert time.perf_counter() - start < 5
    assert again.cache == "miss" and again.expr == first.expr
    assert stored_expressions.decode(json.loads(entry.read_text())["payload"]["loss"]) == first.expr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_in_place_of_an_entry_does_not_block(tmp_path):
    first = engine.derive_loss([[1, 2]])
    entry = loss_entry(tmp_path)
    entry.unlink()
    os.mkfifo(entry)  # opening it for reading would wait for a writer forever
    engine._MEMORY.clear()
    assert engine.derive_loss([[1, 2]]).expr == first.expr
    assert entry.is_file()  # replaced by a real entry


# Biases chosen so that the derivations between them produce every kind of stored node:
# piecewise losses with rational, algebraic (root of a cubic) and transcendental breaks.
ROUND_TRIP = [
    ([[1, -0.5]], [0, "p/2 - 0.1"], None),
    ([[1, -1]], ["-p**3 + p/2 - 0.05", 0], None),  # a break at a root of a cubic
    ([[1, -1]], ["exp(p)/10 - 0.15", 0], ["sqrt(r)", "r**2"]),
    ([[1, -1]], ["log(p)/10 + 0.05", 0], None),
    ([[1, -1]], ["exp(1)*p - 1", "sqrt(p) - 1/2"], None),
    ([[1, -1, 0.5]], [0, 0, "p/4"], [1, 1, "r"]),
]


def test_every_stored_kind_round_trips_exactly():
    seen = set()

    def kinds(tree):
        if not isinstance(tree, list) or not tree:
            return
        if tree[0] == "rootof":  # [kind, [coefficients], index]
            seen.add("rootof")
            return
        if isinstance(tree[0], str):
            seen.add(tree[0])
            tree = tree[1:]
        for child in tree:  # a piecewise's [expression, condition] pairs too
            kinds(child)

    exprs = [engine.derive_loss(W, b, imp).expr for W, b, imp in ROUND_TRIP]
    # kinds the derivations above do not produce, so that the whole table is covered
    exprs.append(sympy.Piecewise((sympy.pi, (p <= r) & (p > 0)), (p, sympy.false), (1, p >= r)))
    for expr in exprs:
        tree = stored_expressions.encode(expr)
        assert tree is not None, expr
        kinds(tree)
        back = stored_expressions.decode(json.loads(json.dumps(tree)))
        assert back == expr and back.free_symbols == expr.free_symbols
    produced = {"int", "rational", "symbol", "add", "mul", "pow", "piecewise", "rootof"}
    assert produced | {"<", "true", "exp", "log", "E"} <= seen
    # anything outside the table is simply not stored (derived again next time)
    assert stored_expressions.encode(sympy.sin(p)) is None
    assert stored_expressions.encode(sympy.Float(0.5) * p) is None


def test_the_optimum_caches_read_only_what_they_wrote(tmp_path):
    grid = dict(n_features=2, density=[0.1, 0.5], importance=[1.0], starts=0)
    first = optimum.optimum_map(**grid)
    (entry,) = (tmp_path / "cache" / "optimum_map").glob("*.json")
    good = json.loads(entry.read_text())
    for bad_W in ['"nan"', "[[[[1.0, true]]], [[[1.0, 1.0]]]]", "[[1, 2]]", '{"a": 1}']:
        broken = json.loads(entry.read_text())
        broken["payload"]["W"] = json.loads(bad_W)
        entry.write_text(json.dumps(broken))
        again = optimum.optimum_map(**grid)  # recomputed, not a crash or NaNs
        np.testing.assert_array_equal(again.W, first.W)
        assert json.loads(entry.read_text()) == good
    entry.write_text(json.dumps(good).replace("[[[[", "[[[[NaN, ", 1))
    assert np.isfinite(optimum.optimum_map(**grid).W).all()

    fields = {
        "density": 0.2,
        "below": "superposition",
        "above": "dedicated",
        "density_below": 0.19,
        "density_above": 0.21,
        "W_below": [[1.0, -1.0]],
        "b_below": [0.0, 0.0],
        "W_above": [[0.0, 1.0]],
        "b_above": [0.1, 0.0],
        "loss_below": 0.1,
        "loss_above": 0.1,
    }
    assert optimum._switches_from_json([fields], 2)[0].W_above.shape == (1, 2)
    for bad in [
        "switches",
        ["not a dict"],
        [{**fields, "extra": 1}],
        [{**fields, "below": "__import__"}],
        [{**fields, "density": "0.2"}],
        [{**fields, "density": 0.5}],  # outside its own bracket
        [{**fields, "W_above": [[0.0, 1.0, 2.0]]}],
        [{**fields, "loss_below": float("nan")}],
        [{**fields, "b_below": [True, 0.0]}],
        [fields] * 100,
    ]:
        with pytest.raises(optimum._Malformed):
            optimum._switches_from_json(bad, 2)


def test_the_cache_reads_only_strict_finite_json(tmp_path):
    _cache.write_entry("probe", "k", {"x": [1.5, 2]})
    assert _cache.read_entry("probe", "k") == {"x": [1.5, 2]}
    (path,) = (tmp_path / "cache" / "probe").glob("*.json")
    for text in ['{"key": "k", "payload": {"x": NaN}}', '{"key": "k", "payload": {"x": 1e999}}']:
        path.write_text(text)
        assert _cache.read_entry("probe", "k") is None
    _cache.write_entry("probe", "k", {"x": float("inf")})  # not written as non-standard JSON
    assert _cache.read_entry("probe", "k") is None


# -- inputs that would hang before any check ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("9**9**9**9", "9**9**9"),
        ("p**99999999", "99999999"),
        ("p**(2**3)", "2**3"),
        ("((9**16)**16)**16", "digits"),
        ("exp(exp(100))", "digits"),
        ("p**16*p**16", "degree 32"),
        ("p**16 + sqrt(p)", "degree 32 in p**(1/2)"),
        ("(p**(1/16) + p**(1/15) + p**(1/13))/3", "p**(1/3120)"),
        ("1e-99999999", "power of ten"),
        ("-" * 500 + "p", "nested too deeply"),
        ("(" * 40 + "p" + ")" * 40, "40 deep"),
        ("p + " * 300 + "p", "characters long"),
    ],
)
def test_expensive_expressions_are_refused_before_evaluation(text, named):
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="b") as info:
        inputs.exact(text, "b[0]", ("p",))
    assert time.perf_counter() - start < 1
    message = str(info.value)
    assert "\n" not in message and named in message


def test_closed_form_biases_stay_exact():
    for text, expected in [
        ("sqrt(p)/2", sympy.sqrt(p) / 2),
        ("p**2", p**2),
        ("(1-p)**3", (1 - p) ** 3),
        ("p^2/3", p**2 / 3),
        ("p**(1/2) + p**(1/3)", sympy.sqrt(p) + sympy.cbrt(p)),
        ("p**-1/20", 1 / (20 * p)),
        ("1e-3 + 0.25*p", sympy.Rational(1, 1000) + p / 4),
        (
            "Rational(1, 3) - exp(-p) + log(1 + p)",
            sympy.Rational(1, 3) - sympy.exp(-p) + sympy.log(1 + p),
        ),
        ("p**8 + sqrt(p)", p**8 + sympy.sqrt(p)),  # degree 16 in sqrt(p): the limit
    ]:
        assert inputs.exact(text, "b[0]", ("p",)) == expected
    # a sympy value from Python gets the same exponent limit
    with pytest.raises(ConfigError, match="exponent"):
        inputs.exact(p**99999999, "b[0]", ("p",))


@pytest.mark.parametrize(
    ("bias", "p0", "constant"),
    [
        # before: a traceback from Poly(..., domain="QQ") on the irrational coefficient e
        ("exp(1)*p - 1", 1 / (2 * sympy.E), "-1/2"),
        # before: refused as "not finite" (solveset's EmptySet read as a pole)
        ("exp(-p) - 0.6", sympy.log(2), "-1/10"),
        # before: a TypeError traceback from solveset
        ("p**(1/2) + p**(1/3) - 0.5", sympy.Rational(1, 64), "-1/8"),
    ],
)
def test_biases_that_used_to_crash_derive_correctly(bias, p0, constant):
    # at density p0 the loss with bias b(p) is the loss with the constant bias b(p0)
    loss = engine.exact_loss([[1, -1]], [bias, 0])
    fixed = engine.exact_loss([[1, -1]], [constant, 0])
    assert float(loss.subs(p, p0)) == pytest.approx(float(fixed.subs(p, p0)), rel=1e-12)


def test_a_negative_importance_expression_is_refused():
    with pytest.raises(ConfigError, match="negative"):
        engine.derive_loss([[1, -1]], None, [1, "-r"])


# -- the command line -------------------------------------------------------------------------
BAD = [
    ([*ANTIPODAL, "--b", "9**9**9**9, 0"], "9**9**9"),
    ([*ANTIPODAL, "--b", "p**99999999, 0"], "99999999"),
    ([*ANTIPODAL, "--W", "[[1, 1e-400]]"], "1e-400"),
    (["loss", "--features", "2", "--W", "[[1," + "9" * 5000 + "]]"], "5006 characters"),
    ([*ANTIPODAL, "--at", "p=0.5,p=0.2"], "p twice"),
    ([*ANTIPODAL, "--importance", "1,-r"], "-r"),
    ([*ANTIPODAL, "--importance", "1,r**99"], "r**99"),
    ([*ANTIPODAL, "--importance", "1,r", "--at", "p=0.5"], "value for r"),
    ([*ANTIPODAL, "--time-limit", "0"], "time limit 0"),
    (["optimum", "--features", "2", "--importance", "1", "--starts", "100000000"], "100000000"),
    (["boundaries", "--features", "2", "--importance", *["1"] * 101], "101 values"),
    (["modes", "--init", "1e300"], "init=1e+300"),
    (["modes", "--init", "1e-300"], "a0"),
    (["critical-temperature", "--centers", "[[1,0],[-1,0]]", "--spread", "1e200"], "1e+200"),
    (["critical-temperature", "--centers", "[[1," + "9" * 4000 + "]]", "--spread", "1"], "4001"),
    (["critical-temperature", "--centers", "[[1," + "9" * 5000 + "]]", "--spread", "1"], "5000"),
    (["critical-temperature", "--centers", "[" * 20000 + "]" * 20000, "--spread", "1"], "deeply"),
    (["critical-temperature", "--centers", json.dumps([[0] * 2000]), "--spread", "1"], "2000"),
    (
        ["critical-temperature", "--centers", "[[1],[2]]", "--spread", "1"]
        + ["--weights", "[1e308, 1e308]"],
        "weights",
    ),
]


@pytest.mark.parametrize(("argv", "named"), BAD, ids=[f"{i}" for i in range(len(BAD))])
def test_bad_input_is_one_line_naming_it(tmp_path, capsys, argv, named):
    start = time.perf_counter()
    code, out, err = run(capsys, *argv)
    assert time.perf_counter() - start < 10
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("toymodels analytic")
    assert named in lines[0]
    assert cache_files(tmp_path) == []  # nothing written


def test_huge_power_comes_back_within_ten_seconds_without_traceback(tmp_path):
    env = {**os.environ, "TOYMODELS_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "analytic", *ANTIPODAL, "--b", "9**9**9**9, 0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=10,
    )
    assert time.perf_counter() - start < 10
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "9**9**9" in done.stderr


def test_a_step_over_the_time_limit_stops_with_one_line(tmp_path, capsys):
    before = signal.getsignal(signal.SIGALRM)
    argv = ["loss", "--features", "4", "--W", "[[1,-1,0.5,0.25],[0,1,1,-1]]"]
    start = time.perf_counter()
    code, out, err = run(capsys, *argv, "--time-limit", "0.05")
    assert time.perf_counter() - start < 2  # the derivation alone takes ~0.8 s
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert "deriving the exact loss" in line and "time limit of 0.05 s" in line
    assert "--time-limit" in line
    assert cache_files(tmp_path) == []
    # the alarm is disarmed and the previous handler back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before


def test_the_time_budget_is_a_no_op_off_the_main_thread():
    ran = []

    def work():
        with time_limit(0.001, "work"):
            time.sleep(0.02)
            ran.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert ran == [True]


def test_every_analytic_subcommand_has_a_plain_description():
    parser = build_parser()
    analytic = parser._subparsers._group_actions[0].choices["analytic"]
    commands = analytic._subparsers._group_actions[0].choices
    assert set(commands) >= {"losses", "boundaries", "loss", "optimum", "modes"}
    for name, sub in commands.items():
        assert sub.description, name
        texts = [sub.description] + [a.help or "" for a in sub._actions]
        assert not any("``" in t for t in texts), name
        assert any(a.dest == "time_limit" for a in sub._actions), name


def test_at_refuses_a_repeated_symbol():
    assert inputs.point("p=0.5,r=2") == {"p": 0.5, "r": 2.0}
    with pytest.raises(ConfigError, match="gives r twice"):
        inputs.point("r=1, p=0.5, r=2")
    assert math.isfinite(inputs.point("p=1")["p"])
