"""Adversarial command-line input.

Every ``toymodels`` command is given bad input.  For each case the expected behaviour is:
exit code 2; exactly one line on stderr, naming the bad value (its text appears in the
line) and saying what is allowed; no traceback; nothing written (the command runs with
the working directory a fresh temporary folder, which must be unchanged afterwards, as
must any ``--out`` path; the analytics cache lives outside it); all within 10 seconds.

Most cases run in-process (``cli.main.main``) under a watchdog and an address-space
cap, so a missing check fails the case instead of hanging or exhausting the machine.
Cases that could hang where the watchdog cannot reach (explosive expressions, work in
background threads) run in a subprocess with a timeout and a memory limit, as do the
cases about what reaches a real terminal.  Ctrl-C during training must exit 130 with one
line and leave only complete files (a resumable sweep folder is fine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import cli.main as cli

ROOT = Path(cli.__file__).resolve().parents[1]
LIMIT = 10.0  # seconds a refusal may take
MEMORY_LIMIT = 12 * 2**30  # address space of a subprocess case (bytes)

# What-is-allowed patterns (case-insensitive regular expressions, any one must match).
DENSITY = r"\(0, ?1\]"
# an interval that states the allowed values, e.g. "outside [1e-06, 1e+06]"
INTERVAL = r"(?:outside|in|within|from) [\[(][-+.\de]+, ?[-+.\de]+[\])]"
POSITIVE = r"> ?0\b|positive|" + INTERVAL
AT_LEAST_1 = r">= ?\d+\b|at least \d+\b|> ?0\b|positive|from \d+ to \d+"  # a stated minimum
NONNEGATIVE = r">= ?0\b|non-?negative|negative|" + INTERVAL
INTEGER = r"integer|whole number|\bint\b"
FINITE = r"finite|" + INTERVAL
NAMES = r"allowed|choose from|one of|did you mean|presets?:|axes:|choices|known"
ORDER = r"below|less than|smaller|exceed|\bLO\b"
KEY_VALUE = r"key=value|e\.g\.|\blike\b"
REQUIRED = r"required|missing|expected"
FOLDER = r"\bfile\b|folder|director"
HUGE = r"--yes|memory|too (many|large|big|long)|at most|limit|exceed|maximum|from 2 to \d+"
UNRECOGNIZED = r"unrecognized|unknown|no arguments|takes no|did you mean|allowed"
JSON_TEXT = r"JSON|e\.g\."
NUMBER = (
    r"finite|integer|\bint\b|number|> ?0\b|>= ?\d|at least|positive|negative|"
    r"\(0, ?1\]|\[0, ?1\]|\d to \d|between|outside"
)
# Any hint at all (used only where the allowed values are spelled many ways).
HINT = (
    r"must|allowed|expected|outside|choose|at least|at most|needs?\b|only|between|"
    r"did you mean|e\.g\.|like|cannot|is not|does not|required|give|use"
)


def either(*patterns: str) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@dataclasses.dataclass(frozen=True)
class Bad:
    """One bad command line (after the command's own words)."""

    argv: tuple
    names: tuple  # texts the line must contain; a tuple entry: any one of its texts
    allowed: str  # regex for what is allowed
    files: tuple = ()  # (relative path, bytes, or None for a folder) created beforehand
    subprocess: bool = False

    @property
    def label(self) -> str:
        text = " ".join(a if isinstance(a, str) else repr(a) for a in self.argv) or "(nothing)"
        return text if len(text) <= 70 else text[:60] + f"...[{len(text)} chars]"


def bad(argv, *names, allowed=HINT, files=(), sub=False) -> Bad:
    argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
    return Bad(tuple(argv), names, allowed, tuple(files), sub)


AFILE = (("afile", b"a regular file, not a folder\n"),)


def under_file(out_option: str = "--out") -> list[Bad]:
    """``--out`` under a regular file, and ``--out`` a regular file."""
    return [
        bad([out_option, "afile/out"], "afile", allowed=FOLDER, files=AFILE),
        bad([out_option, "afile"], "afile", allowed=FOLDER, files=AFILE),
    ]


def with_prefix(prefix: list[str], cases: list[Bad]) -> list[Bad]:
    return [dataclasses.replace(c, argv=(*prefix, *c.argv)) for c in cases]


def non_finite(*options: str, after=()) -> list[Bad]:
    """``nan`` and ``inf`` in each numeric option (whatever its kind, a finite value, an
    integer or a range is allowed)."""
    return [
        bad([option, value, *after], value, allowed=NUMBER)
        for option in options
        for value in ("nan", "inf")
    ]


def unique(*groups: list[Bad]) -> list[Bad]:
    """The cases of ``groups`` in order, each command line once."""
    seen, out = set(), []
    for case in (c for group in groups for c in group):
        if case.argv not in seen:
            seen.add(case.argv)
            out.append(case)
    return out


# a large sweep: refused unless confirmed (or outright, when its results cannot fit)
LARGE = r"--yes|memory"


# -- toymodels phase-diagram ----------------------------------------------------------------
PHASE_DIAGRAM = [
    bad("--density-range 0 1", "density", "0", allowed=DENSITY),
    bad("--density-range -0.1 1", "-0.1", allowed=DENSITY),
    bad("--density-range 0.1 1.5", "1.5", allowed=DENSITY),
    bad("--density-range nan 1", "nan", allowed=either(DENSITY, FINITE)),
    bad("--density-range 0.1 inf", "inf", allowed=either(DENSITY, FINITE)),
    bad("--density-range 0.5 0.1", "0.5", "0.1", allowed=ORDER),
    bad("--density-range 0.3 0.3", "0.3", allowed=ORDER),
    bad("--density-range 0.1", "--density-range", allowed=r"2|two|expected"),
    bad("--importance-range -1 2", "-1", allowed=POSITIVE),
    bad("--importance-range 0 10", "importance", "0", allowed=POSITIVE),
    bad("--importance-range 0.1 nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--importance-range 0.1 inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--importance-range 5 5", "5", allowed=ORDER),
    bad("--grid 0", "grid", "0", allowed=AT_LEAST_1),
    bad("--grid -3", "-3", allowed=AT_LEAST_1),
    bad("--grid 2.5", "2.5", allowed=INTEGER),
    bad("--grid nan", "nan", allowed=INTEGER),
    bad("--seeds 0", "seeds", "0", allowed=AT_LEAST_1),
    bad("--seeds -1", "-1", allowed=AT_LEAST_1),
    bad("--steps 0", "steps", "0", allowed=AT_LEAST_1),
    bad("--steps -5", "-5", allowed=AT_LEAST_1),
    bad("--batch 0", "batch", "0", allowed=AT_LEAST_1),
    bad("--batch -1024", "-1024", allowed=AT_LEAST_1),
    bad("--lr 0", "lr", "0", allowed=POSITIVE),
    bad("--lr -0.01", "-0.01", allowed=POSITIVE),
    bad("--lr nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--lr inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--lr 1e999", "1e999", allowed=either(POSITIVE, FINITE)),
    bad("--features 4", "4", allowed=r"\b2\b|choose"),
    bad("--features 1", "features", "1", allowed=r"\b2\b|choose"),
    bad("--features two", "two", allowed=either(INTEGER, r"\b2\b|choose")),
    bad("--protocol turbo", "turbo", allowed=NAMES),
    bad("--jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("--jobs -1", "-1", allowed=AT_LEAST_1),
    bad("--root-seed -1", "seed", "-1", allowed=NONNEGATIVE),
    bad("--root-seed 1.5", "1.5", allowed=INTEGER),
    bad("--gird 4", "--gird", allowed=UNRECOGNIZED),
    *under_file(),
    bad(
        "--grid 4 --seeds 10000000000",
        ("10000000000", "10,000,000,000", "1e+10", "seeds"),
        allowed=HUGE,
    ),
    bad("--grid 100000", ("100000", "100,000", "grid"), allowed=HUGE),
    bad("--jobs 1 --steps 100000000", ("100000000", "100,000,000"), allowed=LARGE),
    bad(
        "--jobs 1 --seeds 10000000000 --yes",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
]
PHASE_DIAGRAM = unique(
    PHASE_DIAGRAM,
    non_finite("--grid", "--seeds", "--steps", "--batch", "--lr", "--root-seed", "--jobs"),
)


# -- toymodels sweep run --------------------------------------------------------------------
def spec_file(name: str, text: str | bytes, *names, allowed=HINT, sub=False) -> Bad:
    data = text.encode() if isinstance(text, str) else text
    return bad([name, "--out", "out"], *names, allowed=allowed, files=((name, data),), sub=sub)


def set_(*items: str, names, allowed=HINT, preset="paper-2to1", sub=False) -> Bad:
    argv = [preset, "--out", "out"]
    for item in items:
        argv += ["--set", item]
    return bad(argv, *names, allowed=allowed, sub=sub)


SWEEP_RUN = [
    # spec files
    spec_file("bad.toml", "name = \n[[[\n", "bad.toml", allowed=r"TOML|malformed|invalid"),
    spec_file("bad.json", '{"name": 1,', "bad.json", allowed=r"JSON|malformed|invalid"),
    spec_file("types.toml", 'name = "t"\nseeds = "ten"\n', "ten", allowed=INTEGER),
    spec_file("bool.toml", 'name = "b"\nseeds = true\n', "true", allowed=INTEGER),
    spec_file("unknown.toml", 'name = "u"\ncolour = "red"\n', "colour", allowed=NAMES),
    spec_file("model.toml", 'name = "m"\n[model]\ndensty = 0.5\n', "densty", allowed=NAMES),
    spec_file("empty.toml", "", "empty.toml", allowed=r"empty|no |missing|needs?\b|must"),
    spec_file("empty.json", "", "empty.json", allowed=r"JSON|empty"),
    spec_file(
        "garbage.toml",
        bytes(range(256)) * 4,
        "garbage.toml",
        allowed=r"UTF-?8|TOML|text|read|binary|decode",
    ),
    spec_file("list.json", "[1, 2]", ("list.json", "list"), allowed=r"table|object|mapping"),
    spec_file(
        "nan.toml",
        'name = "n"\n[model]\ndensity = nan\n',
        "nan",
        allowed=either(DENSITY, FINITE),
    ),
    spec_file("inf.toml", 'name = "i"\n[train]\nlr = inf\n', "inf", allowed=FINITE),
    spec_file("zero.toml", 'name = "z"\nseeds = 0\n', "seeds", "0", allowed=AT_LEAST_1),
    spec_file(
        "axis.toml", 'name = "a"\n[axes]\ndensity = "lots"\n', "lots", allowed=r"list|logspace"
    ),
    spec_file(
        "num.toml",
        'name = "a"\n[axes]\ndensity = { logspace = [0.1, 1.0], num = 0 }\n',
        "num",
        "0",
        allowed=AT_LEAST_1,
    ),
    spec_file("family.toml", 'name = "f"\nfamily = "quantum"\n', "quantum", allowed=NAMES),
    spec_file(
        "mn.toml",
        'name = "mn"\nn_features = 2\nn_hidden = 3\n',
        "n_hidden",
        "3",
        allowed=r"smaller|less|<",
    ),
    spec_file("name.toml", 'name = ""\n', "name", allowed=r"empty|give"),
    spec_file("betas.toml", 'name = "b"\n[train]\nbetas = [0.9]\n', "betas", allowed=r"two|2"),
    spec_file(
        "deep.toml",
        "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep.toml",
        allowed=r"TOML|nest|deep|malformed",
    ),
    spec_file(
        "deep.json",
        "[" * 100_000 + "]" * 100_000,
        "deep.json",
        allowed=r"JSON|nest|deep|malformed",
    ),
    spec_file(
        "huge.toml",
        'name = "h"\n[axes]\ndensity = { logspace = [0.01, 1.0], num = 1000000000 }\n',
        ("1000000000", "1,000,000,000", "1e+09", "num"),
        allowed=HUGE,
        sub=True,
    ),
    bad("specdir --out out", "specdir", allowed=r"spec|preset", files=(("specdir", None),)),
    bad("missing.toml --out out", "missing.toml", allowed=r"exist|not found|no such"),
    bad("paper-2to9 --out out", "paper-2to9", allowed=NAMES),
    bad(
        "oldrun --out oldrun",
        "spec.json",
        allowed=r"JSON|malformed|unreadable",
        files=(("oldrun", None), ("oldrun/spec.json", b"{")),
    ),
    # --set
    set_("foo", names=("foo",), allowed=KEY_VALUE),
    set_("=3", names=("=3",), allowed=KEY_VALUE),
    set_("colour=red", names=("colour",), allowed=NAMES),
    set_("model.densty=0.5", names=("densty",), allowed=NAMES),
    set_("train.stepz=3", names=("stepz",), allowed=NAMES),
    set_("seeds=ten", names=("ten",), allowed=INTEGER),
    set_("seeds=0", names=("seeds", "0"), allowed=AT_LEAST_1),
    set_("seeds=-1", names=("-1",), allowed=AT_LEAST_1),
    set_("seeds=2.5", names=("2.5",), allowed=INTEGER),
    set_("train.steps=-5", names=("-5",), allowed=AT_LEAST_1),
    set_("train.steps=0", names=("steps", "0"), allowed=AT_LEAST_1),
    set_("train.steps=1e400", names=(("1e400", "inf"),), allowed=either(INTEGER, FINITE)),
    set_("train.lr=nan", names=("nan",), allowed=either(POSITIVE, FINITE)),
    set_("train.lr=inf", names=("inf",), allowed=either(POSITIVE, FINITE)),
    set_("train.lr=-1", names=("-1",), allowed=POSITIVE),
    set_("train.lr=true", names=("true",), allowed=r"number"),
    set_('model.density="0.5"', names=("0.5",), allowed=r"number"),
    set_("name=", names=("name",), allowed=r"empty|give"),
    set_(
        "axes.density={ logspace = [0.01, 1.0], num = 5, step = 2 }",
        names=("step",),
        allowed=NAMES,
    ),
    set_("train.batch_size=0", names=("batch_size", "0"), allowed=AT_LEAST_1),
    set_("train.eval_batch=-1", names=("-1",), allowed=AT_LEAST_1),
    set_("train.betas=[0.9, 1.5]", names=("1.5",), allowed=r"\[0, 1\)|< ?1|below 1"),
    set_("axes.density.num=0", names=("num", "0"), allowed=AT_LEAST_1),
    set_("axes.density.num=-1", names=("-1",), allowed=AT_LEAST_1),
    set_("axes.density.num=2.5", names=("2.5",), allowed=INTEGER),
    set_("axes.density.logspace=[0, 1]", names=("logspace",), allowed=POSITIVE),
    set_("axes.density.logspace=[0.01, 1.5]", names=("1.5",), allowed=DENSITY),
    set_("axes.density=[0.5, nan]", names=("nan",), allowed=either(DENSITY, FINITE)),
    set_("axes.density=[]", names=("density",), allowed=r"at least one|empty"),
    set_("axes.density=[0.5, 0.5]", names=("0.5",), allowed=r"repeat|differ"),
    set_("axes.importance=[-1, 1]", names=("-1",), allowed=NONNEGATIVE),
    set_("axes.nonsense.num=3", names=("nonsense",), allowed=NAMES),
    set_("axes.nonsense=[1, 2]", names=("nonsense",), allowed=NAMES),
    set_("model.density=0", names=("density", "0"), allowed=DENSITY),
    set_("model.density=1.5", names=("1.5",), allowed=DENSITY),
    set_("model.density=-0.1", names=("-0.1",), allowed=DENSITY),
    set_("model.density=nan", names=("nan",), allowed=either(DENSITY, FINITE)),
    set_("model.density=inf", names=("inf",), allowed=either(DENSITY, FINITE)),
    set_("model.importance=-1", names=("-1",), allowed=NONNEGATIVE),
    set_("model.importance=nan", names=("nan",), allowed=FINITE),
    set_("family=quantum", names=("quantum",), allowed=NAMES),
    set_("task=dance", names=("dance",), allowed=NAMES),
    set_("train.optimizer=adamx", names=("adamx",), allowed=NAMES),
    set_("train.estimator=magic", names=("magic",), allowed=NAMES),
    set_("train.schedule=wave", names=("wave",), allowed=NAMES),
    set_("model.activation=swish", names=("swish",), allowed=NAMES, preset="hidden-demo"),
    set_("model.regulariser=l3", names=("l3",), allowed=NAMES),
    set_("model.regulariser=l2", "model.strength=-0.1", names=("-0.1",), allowed=NONNEGATIVE),
    set_("model.strength=0.1", names=("strength",), allowed=r"regulariser"),
    set_("n_hidden=0", names=("n_hidden", "0"), allowed=AT_LEAST_1),
    set_("n_features=0", names=("n_features", "0"), allowed=AT_LEAST_1),
    set_("n_hidden=2", names=("n_hidden", "2"), allowed=r"smaller|less|<"),
    set_("train.weight_decay=0.1", names=("weight_decay",), allowed=r"adamw"),
    set_("train.estimator=full", names=("full",), allowed=r"n_samples|finite"),
    set_("train.record_every=0", names=("record_every", "0"), allowed=AT_LEAST_1),
    set_("chunk_size=0", names=("chunk_size", "0"), allowed=AT_LEAST_1),
    set_("root_seed=-1", names=("root_seed", "-1"), allowed=NONNEGATIVE),
    set_(
        "seeds=10000000000",
        names=(("10000000000", "10,000,000,000", "1e+10", "seeds"),),
        allowed=HUGE,
    ),
    set_(
        "axes.density.num=10000",
        "axes.importance.num=10000",
        names=(("10000", "10,000", "100000000", "100,000,000", "1e+08", "1e+09"),),
        allowed=HUGE,
    ),
    bad(
        "paper-2to1 --out out --jobs 1 --set seeds=3000",
        ("seeds", "3000", "3,000", "1200000", "1,200,000"),
        allowed=LARGE,
    ),
    bad(
        "paper-2to1 --out out --jobs 1 --set train.steps=100000000",
        ("100000000", "100,000,000"),
        allowed=LARGE,
    ),
    bad(
        "paper-2to1 --out out --jobs 1 --set seeds=10000000000 --yes",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
    # options
    bad("paper-2to1 --out out --jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("paper-2to1 --out out --jobs -1", "-1", allowed=AT_LEAST_1),
    bad("paper-2to1 --out out --jobs two", "two", allowed=INTEGER),
    *with_prefix(["paper-2to1", "--out", "out"], non_finite("--jobs")),
    bad("paper-2to1 --out out --backend spark", "spark", allowed=NAMES),
    bad(
        "paper-2to1 --out out --scheduler tcp://127.0.0.1:1",
        "tcp://127.0.0.1:1",
        allowed=r"dask",
    ),
    *with_prefix(["paper-2to1"], under_file()),
    bad(["paper-2to1", "--out", ""], "out", allowed=r"empty|folder|director|path"),
    bad("paper-2to1", "--out", allowed=REQUIRED),
    bad("--out out", ("SPEC_OR_PRESET", "spec"), allowed=REQUIRED),
]

# -- toymodels sweep status -----------------------------------------------------------------
SWEEP_STATUS = [
    bad("nope", "nope", allowed=r"exist|sweep folder"),
    bad("afile", "afile", allowed=FOLDER, files=AFILE),
    bad("empty", "empty", allowed=r"spec\.json|sweep", files=(("empty", None),)),
    bad(
        "broken",
        "spec.json",
        allowed=r"JSON|unreadable|malformed",
        files=(("broken", None), ("broken/spec.json", b"{")),
    ),
    bad(
        "odd",
        "quantum",
        allowed=NAMES,
        files=(("odd", None), ("odd/spec.json", b'{"family": "quantum"}')),
    ),
    bad("", "DIR", allowed=REQUIRED),
    bad("one two", "two", allowed=UNRECOGNIZED),
]

# -- toymodels sweep presets ----------------------------------------------------------------
SWEEP_PRESETS = [
    bad("extra", "extra", allowed=UNRECOGNIZED),
    bad("--json", "--json", allowed=UNRECOGNIZED),
    bad("paper-2to1 --out out", "paper-2to1", allowed=UNRECOGNIZED),
]

# -- toymodels families ---------------------------------------------------------------------
FAMILIES = [
    bad("quantum", "quantum", allowed=NAMES),
    bad("RELU", "RELU", allowed=NAMES),
    bad("relu quantum", "quantum", allowed=NAMES),
    bad([""], '""', allowed=NAMES),
    bad("--jsn", "--jsn", allowed=UNRECOGNIZED),
]

# -- toymodels analytic ... ------------------------------------------------------------------
ANALYTIC_LOSSES = [
    bad("--features 1", "features", "1", allowed=r"\b2\b|\b3\b"),
    bad("--features 4", "4", allowed=r"\b2\b|\b3\b"),
    bad("--features nan", "nan", allowed=INTEGER),
    bad("--features two", "two", allowed=INTEGER),
    bad("", "--features", allowed=REQUIRED),
    bad("--features 2 --json --latex", ("--latex", "--json"), allowed=r"not allowed|with"),
    *non_finite("--features"),
]

ANALYTIC_BOUNDARIES = [
    bad("--features 2 --importance -1", "-1", allowed=POSITIVE),
    bad("--features 2 --importance 0", "importance", "0", allowed=POSITIVE),
    bad("--features 2 --importance nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--features 2 --importance 1e999", "1e999", allowed=either(POSITIVE, FINITE)),
    bad("--features 2 --importance 1 two", "two", allowed=r"number"),
    bad("--features 5 --importance 1", "5", allowed=r"\b2\b|\b3\b"),
    bad("--features 2", "--importance", allowed=REQUIRED),
]
ANALYTIC_BOUNDARIES = unique(
    ANALYTIC_BOUNDARIES,
    non_finite("--features", after=("--importance", "1")),
    with_prefix(["--features", "2"], non_finite("--importance")),
)


def loss(*argv, names, allowed=HINT, sub=False, W="[[1,-1]]") -> Bad:
    return bad(["--features", "2", "--W", W, *argv], *names, allowed=allowed, sub=sub)


LONG_SUM = "0, " + "p+" * 50_000 + "p"
ANALYTIC_LOSS = [
    bad("--features 0 --W [[1,-1]]", "features", "0", allowed=r"column|\b2\b"),
    bad("--features -2 --W [[1,-1]]", "-2", allowed=r"column|\b2\b"),
    bad("--features two --W [[1,-1]]", "two", allowed=INTEGER),
    bad("--features 5 --W [[1,0,0,0,0]]", "5", allowed=r"\b4\b|at most"),
    loss(names=("inf",), allowed=FINITE, W="[[1,inf]]"),
    loss(names=("W",), allowed=r"list|rows|e\.g\.|\blike\b", W=""),
    loss(names=("[]",), allowed=r"list|rows|e\.g\.|\blike\b", W="[]"),
    loss(names=("[[[1,-1]]]",), allowed=r"nested|\blike\b", W="[[[1,-1]]]"),
    loss(
        names=("__import__",),
        allowed=r"characters|allowed|symbol",
        W="[[__import__('os').system('touch pwned'), 1]]",
    ),
    loss("--b", "[0, nan]", names=("nan",), allowed=FINITE),
    loss("--b", "[1/0, 0]", names=("1/0",), allowed=FINITE),
    loss("--b", "[log(0), 0]", names=("log(0)",), allowed=FINITE),
    loss("--b", "[sqrt(-1), 0]", names=("sqrt(-1)",), allowed=r"real"),
    loss("--b", "[0, 0, 0]", names=("3",), allowed=r"column|\b2\b"),
    loss("--b", "[__import__, 0]", names=("__import__",), allowed=r"symbol|allowed"),
    loss(
        "--b",
        "[p.__class__, 0]",
        names=("__class__",),
        allowed=r"symbol|allowed|attribute|valid number",
    ),
    loss("--b", "[lambda: 0, 0]", names=("lambda",), allowed=r"characters|allowed|symbol"),
    loss("--b", "[(lambda x: x)(p), 0]", names=("lambda",), allowed=r"characters|allowed"),
    loss(
        "--b",
        "0, " + "(" * 1000 + "p" + ")" * 1000,
        names=("((((",),
        allowed=r"nest|\blike\b|valid|too|at most",
    ),
    loss(
        "--b",
        "0, " + "-" * 100_000 + "1",
        names=("----",),
        allowed=r"nest|long|valid|too|at most",
    ),
    loss(
        "--b",
        "9**9**9**9, 0",
        names=("9**9**9**9",),
        allowed=r"too (large|big)|exponent|allowed|at most|limit",
        sub=True,
    ),
    loss(
        "--b",
        "p**99999999, 0",
        names=("p**99999999",),
        allowed=r"too (large|big)|exponent|allowed|at most|limit",
        sub=True,
    ),
    loss(
        "--b",
        LONG_SUM,
        names=("p+p+p",),
        allowed=r"too long|characters|at most|limit",
        sub=True,
    ),
    loss("--at", "p=0.5,p=0.2", names=("p",), allowed=r"once|twice|repeat|duplicate|more than"),
    loss("--at", "p=0", names=("p=0",), allowed=DENSITY),
    loss("--at", "p=nan", names=("nan",), allowed=either(DENSITY, FINITE)),
    loss("--importance", "1,r", "--at", "p=0.1,r=-1", names=("-1",), allowed=NONNEGATIVE),
    loss("--at", "q=1", names=("q",), allowed=r"\bp\b|symbols"),
    loss("--at", "p", names=("p",), allowed=r"\blike\b|expected"),
    loss("--at", "", names=("--at",), allowed=r"\blike\b|expected"),
    loss("--importance", "1,-1", names=("-1",), allowed=either(NONNEGATIVE, POSITIVE)),
    loss("--importance", "1,nan", names=("nan",), allowed=FINITE),
    loss("--importance", "1,s", names=("s",), allowed=r"symbol"),
    loss("--family", "ReLU", names=("ReLU",), allowed=r"relu|linear"),
    *non_finite("--features", after=("--W", "[[1,-1]]")),
    loss("--at", "p=0.1,r=inf", "--importance", "1,r", names=("inf",), allowed=FINITE),
]

ANALYTIC_OPTIMUM_ = [
    bad("--features 2 --importance 0", "importance", "0", allowed=POSITIVE),
    bad("--features 2 --importance nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--features 1 --importance 1", "features", "1", allowed=r"\b2\b|\b3\b"),
    bad("--features 2 --importance 1 --starts -1", "-1", allowed=NONNEGATIVE),
    bad("--features 2 --importance 1 --starts nan", "nan", allowed=INTEGER),
    bad(
        "--features 2 --importance 1 --starts 10000000000",
        ("10000000000", "10,000,000,000", "starts"),
        allowed=HUGE,
        sub=True,
    ),
]
ANALYTIC_OPTIMUM = unique(
    ANALYTIC_OPTIMUM_,
    non_finite("--features", after=("--importance", "1")),
    with_prefix(["--features", "2"], non_finite("--importance")),
    with_prefix(["--features", "2", "--importance", "1"], non_finite("--starts")),
)

ANALYTIC_MODES = [
    bad("--contexts 2", "2", allowed=r"3 to 5|3-5|3 and 5|between"),
    bad("--contexts 6", "6", allowed=r"3 to 5|3-5|3 and 5|between"),
    bad("--contexts 3.5", "3.5", allowed=INTEGER),
    bad("--lr 0", "lr", "0", allowed=POSITIVE),
    bad("--lr -1", "-1", allowed=POSITIVE),
    bad("--lr nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--lr inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--init 0", "init", "0", allowed=POSITIVE),
    bad("--init -1", "-1", allowed=POSITIVE),
    bad("--init nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--hidden 0", "hidden", "0", allowed=AT_LEAST_1),
    bad("--hidden -5", "-5", allowed=AT_LEAST_1),
    bad("--structure tree", "tree", allowed=NAMES),
    bad("--inputs dense", "dense", allowed=NAMES),
]
ANALYTIC_MODES = unique(ANALYTIC_MODES, non_finite("--contexts", "--lr", "--init", "--hidden"))


def ct(*argv, names, allowed=HINT, centers="[[1,0],[-1,0]]", spread="0.3") -> Bad:
    return bad(["--centers", centers, "--spread", spread, *argv], *names, allowed=allowed)


ANALYTIC_CRITICAL_TEMPERATURE = [
    ct(names=("[[1,0],[-1,0",), allowed=JSON_TEXT, centers="[[1,0],[-1,0"),
    ct(names=("--centers",), allowed=JSON_TEXT, centers=""),
    ct(names=("nan",), allowed=FINITE, centers="[[1,NaN],[-1,0]]"),
    ct(names=("inf",), allowed=FINITE, centers="[[1,Infinity],[-1,0]]"),
    ct(names=(("1e400", "inf"),), allowed=FINITE, centers="[[1e400,0],[-1,0]]"),
    ct(names=("[1]",), allowed=r"same length|length|ragged", centers="[[1,0],[1]]"),
    ct(names=("[]",), allowed=r"non-empty|at least|rows", centers="[]"),
    ct(names=("[[]]",), allowed=r"non-empty|at least|rows|empty", centers="[[]]"),
    ct(names=("{}",), allowed=r"list|rows", centers="{}"),
    ct(names=("abc",), allowed=r"list|rows", centers='"abc"'),
    ct(names=("true",), allowed=r"number", centers="[[true,0],[-1,0]]"),
    ct("--weights", "[0.5]", names=("weights",), allowed=r"one per|centres|centers|entries"),
    ct("--weights", "[-1, 2]", names=("-1",), allowed=NONNEGATIVE),
    ct("--weights", "[0, 0]", names=("weights",), allowed=r"sum|> ?0|positive"),
    ct("--weights", "[NaN, 1]", names=("nan",), allowed=FINITE),
    ct("--weights", "[0.5,", names=("[0.5,",), allowed=JSON_TEXT),
    ct("--weights", "{}", names=("{}",), allowed=r"list"),
    ct(names=("spread", "0"), allowed=POSITIVE, spread="0"),
    ct(names=("-1",), allowed=POSITIVE, spread="-1"),
    ct(names=("nan",), allowed=either(POSITIVE, FINITE), spread="nan"),
    ct(names=("inf",), allowed=either(POSITIVE, FINITE), spread="inf"),
    bad("--spread 0.3", "--centers", allowed=REQUIRED),
]

# -- toymodels multitask train ---------------------------------------------------------------
MULTITASK_TRAIN = [
    bad("--contexts 3.5", "3.5", allowed=INTEGER),
    bad("--contexts nan", "nan", allowed=INTEGER),
    bad("--contexts -3", "-3", allowed=r"3 to 5|3-5|between"),
    bad("--hidden -1", "-1", allowed=AT_LEAST_1),
    bad("--seeds 0", "seeds", "0", allowed=AT_LEAST_1),
    bad("--epochs 0", "epochs", "0", allowed=AT_LEAST_1),
    bad("--epochs -1", "-1", allowed=AT_LEAST_1),
    bad("--lr nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--lr inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--init 0", "init", "0", allowed=POSITIVE),
    bad("--init inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--init -0.1", "-0.1", allowed=POSITIVE),
    bad("--record-every 0", "record", "0", allowed=AT_LEAST_1),
    bad("--root-seed -1", "-1", allowed=NONNEGATIVE),
    bad("--structure SAME", "SAME", allowed=NAMES),
    bad("--model GDLN", "GDLN", allowed=NAMES),
    bad("--model contextual_linear --gating pairs", "gating", allowed=r"gdln"),
    bad("--model gdln --gating ''", "gating", allowed=NAMES),
    *under_file(),
    bad(
        "--hidden 10000000000",
        ("10000000000", "10,000,000,000", "hidden"),
        allowed=HUGE,
    ),
    bad(
        "--seeds 10000000000",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
    bad("--jobs 1 --epochs 1000000000", ("1000000000", "1,000,000,000"), allowed=LARGE),
    bad("--jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("--jobs -1", "-1", allowed=AT_LEAST_1),
]
MULTITASK_TRAIN = unique(
    MULTITASK_TRAIN,
    non_finite(
        "--contexts",
        "--hidden",
        "--seeds",
        "--epochs",
        "--lr",
        "--init",
        "--record-every",
        "--root-seed",
        "--jobs",
    ),  # fmt: skip
)

# -- toymodels conflict phase-diagram --------------------------------------------------------
CONFLICT = r"\[0, ?1\]|finite"
CONFLICT_PHASE_DIAGRAM = [
    bad("--conflict-range nan 1", "nan", allowed=CONFLICT),
    bad("--conflict-range 0 inf", "inf", allowed=CONFLICT),
    bad("--conflict-range 0.5 0.5", "0.5", allowed=ORDER),
    bad("--conflict-range 0", "--conflict-range", allowed=r"2|two|expected"),
    bad("--ratio inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--axis strength --ratio-range 0.5 0.5", "0.5", allowed=ORDER),
    bad("--axis strength --ratio-range 1 nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--width-range -1 4", "-1", allowed=AT_LEAST_1),
    bad("--items 0", "items", "0", allowed=r">= ?2|at least 2"),
    bad("--items -3", "-3", allowed=r">= ?2|at least 2|>= ?1"),
    bad("--epochs 0", "epochs", "0", allowed=AT_LEAST_1),
    bad("--lr inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--lr -0.1", "-0.1", allowed=POSITIVE),
    bad("--init inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("--jobs -1", "-1", allowed=AT_LEAST_1),
    bad("--grid -1", "-1", allowed=AT_LEAST_1),
    bad("--grid 100000", ("100000", "100,000", "grid"), allowed=HUGE),
    bad("--jobs 1 --epochs 100000000", ("100000000", "100,000,000"), allowed=LARGE),
    bad("--root-seed -5", "-5", allowed=NONNEGATIVE),
    bad("--model LINEAR", "LINEAR", allowed=NAMES),
    *under_file(),
    bad(
        "--seeds 10000000000",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
    # Refused by the linear theory's small start before any size check: the line names
    # the items or width and the init that would fit.
    bad("--items 100000", ("100000", "100,000", "items"), allowed=HUGE + "|use init <"),
    bad(
        "--width-range 1 1000000000",
        ("1000000000", "1,000,000,000", "width"),
        allowed=HUGE + "|use init <",
    ),
]
CONFLICT_PHASE_DIAGRAM = unique(
    CONFLICT_PHASE_DIAGRAM,
    non_finite(
        "--grid",
        "--seeds",
        "--items",
        "--ratio",
        "--epochs",
        "--lr",
        "--init",
        "--root-seed",
        "--jobs",
    ),  # fmt: skip
    with_prefix(["--axis", "strength"], non_finite("--width")),
    [bad("--width-range 1 nan", "nan", allowed=NUMBER)],
)

# -- toymodels competition ... ---------------------------------------------------------------
COMPETITION_PHASE_DIAGRAM = [
    bad("--temperature-range 1 inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--temperature-range 0.5 0.5", "0.5", allowed=ORDER),
    bad("--strength-range nan 1", "nan", allowed=either(NONNEGATIVE, FINITE)),
    bad("--strength-range 0 inf", "inf", allowed=either(NONNEGATIVE, FINITE)),
    bad("--strength-range 1 0.5", "1", "0.5", allowed=ORDER),
    bad("--group-size 0", "group", "0", allowed=AT_LEAST_1),
    bad("--k 0", "k", "0", allowed=AT_LEAST_1),
    bad("--width 0", "width", "0", allowed=AT_LEAST_1),
    bad("--width -1", "-1", allowed=AT_LEAST_1),
    bad("--activation kwta --k 100", "100", allowed=r"n_hidden|<=|at most|\bK\b"),
    bad("--activation grouped_softmax --group-size 3", "3", allowed=r"divide"),
    bad("--volume revival --strength-range 0 2", "2", allowed=r"above|at most|<= ?1|up to 1"),
    bad("--volume dropout --strength-range 0 0.95", "0.95", allowed=r"0\.9\b"),
    bad("--volume entropy --activation lwta", "lwta", allowed=r"apply"),
    bad("--activation linear --volume anneal", "linear", allowed=r"temperature|apply"),
    bad("--activation ReLU", "ReLU", allowed=NAMES),
    bad("--task annealing --activation kwta", "kwta", allowed=r"apply|annealing"),
    bad("--lr inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--steps 0", "steps", "0", allowed=AT_LEAST_1),
    bad("--seeds 0", "seeds", "0", allowed=AT_LEAST_1),
    bad("--jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("--jobs -1", "-1", allowed=AT_LEAST_1),
    bad("--grid -2", "-2", allowed=AT_LEAST_1),
    bad("--grid 100000", ("100000", "100,000", "grid"), allowed=HUGE),
    *under_file(),
    bad(
        "--seeds 10000000000",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
    bad(
        "--width 10000000000",
        ("10000000000", "10,000,000,000", "width", "n_hidden"),
        allowed=HUGE,
    ),
    bad("--jobs 1 --steps 100000000", ("100000000", "100,000,000"), allowed=LARGE),
]
COMPETITION_COMMON = ("--seeds", "--steps", "--lr", "--width", "--group-size", "--k",
                      "--root-seed", "--jobs")  # fmt: skip
COMPETITION_PHASE_DIAGRAM = unique(
    COMPETITION_PHASE_DIAGRAM,
    non_finite(*COMPETITION_COMMON, "--grid"),
    [bad("--temperature-range nan 1", "nan", allowed=NUMBER)],
)

COMPETITION_COMPARE = [
    bad("--temperature nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--temperature inf", "inf", allowed=either(POSITIVE, FINITE)),
    bad("--temperature -1", "-1", allowed=POSITIVE),
    bad("--strength nan", "nan", allowed=either(NONNEGATIVE, FINITE)),
    bad("--strength inf", "inf", allowed=either(NONNEGATIVE, FINITE)),
    bad("--volume nope", "nope", allowed=NAMES),
    bad("--volume none --strength 0.5", "0.5", allowed=r"above|must be 0|only 0|at most"),
    bad("--volume revival --strength 1.5", "1.5", allowed=r"above|at most|<= ?1"),
    bad("--task nope", "nope", allowed=NAMES),
    bad("--width 0", "width", "0", allowed=AT_LEAST_1),
    bad("--k 0", "k", "0", allowed=AT_LEAST_1),
    bad("--group-size 0", "group", "0", allowed=AT_LEAST_1),
    bad("--width 7", "7", allowed=r"divide"),
    bad("--jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("--seeds 0", "seeds", "0", allowed=AT_LEAST_1),
    bad("--steps -1", "-1", allowed=AT_LEAST_1),
    *under_file(),
    bad(
        "--seeds 10000000000",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
]

COMPETITION_COMPARE = unique(
    COMPETITION_COMPARE,
    [
        bad("--jobs -1", "-1", allowed=AT_LEAST_1),
        bad("--jobs 1 --steps 100000000", ("100000000", "100,000,000"), allowed=LARGE),
    ],
    non_finite(*COMPETITION_COMMON),
)

COMPETITION_SHARES = [
    bad("", "root", allowed=REQUIRED),
    bad("nowhere", "nowhere", allowed=FOLDER),
    bad("afile", "afile", allowed=FOLDER, files=AFILE),
    bad(". --json afile/out.json", "afile/out.json", allowed=FOLDER, files=AFILE),
    bad(". --json .", "--json", allowed=FOLDER),
    bad("one two", "two", allowed=UNRECOGNIZED),
]
COMPETITION_LIST = [
    bad("extra", "extra", allowed=UNRECOGNIZED),
    bad("--jsn", "--jsn", allowed=UNRECOGNIZED),
    bad("--json extra", "extra", allowed=UNRECOGNIZED),
]

# competition prune and width (more in tests/test_competition_prune.py)
FRACTION = r"\[0, ?1\]"
COMPETITION_PRUNE = [
    bad("--fractions 1.5", "1.5", allowed=FRACTION),
    bad("--fractions -0.1", "-0.1", allowed=FRACTION),
    bad("--fractions nan", "nan", allowed=FRACTION),
    bad("--fractions --quiet", "--fractions", allowed=REQUIRED),
    bad("--activations --quiet", "--activations", allowed=REQUIRED),
    bad("--activations relu sigmoid", "sigmoid", allowed=NAMES),
    bad("--seeds 0", "seeds", "0", allowed=AT_LEAST_1),
    bad("--set n_hidden=0", "n_hidden", "0", allowed=AT_LEAST_1),
    *under_file(),
]
COMPETITION_WIDTH = [
    bad("--widths 0", "0", allowed=AT_LEAST_1),
    bad("--widths --quiet", "--widths", allowed=REQUIRED),
    bad("--activation sigmoid", "sigmoid", allowed=NAMES),
    bad("--volume nope", "nope", allowed=NAMES),
    bad("--strength nan", "nan", allowed=either(NONNEGATIVE, FINITE)),
    bad("--temperature -1", "-1", allowed=POSITIVE),
    *under_file(),
]


# -- toymodels figures ---------------------------------------------------------------------
def fig_set(*items: str, names, allowed=HINT, figure="intro-2d", sub=False) -> Bad:
    argv = [figure]
    for item in items:
        argv += ["--set", item]
    return bad(argv, *names, allowed=allowed, sub=sub)


FIGURES = [
    bad("phase-9to1", "phase-9to1", allowed=NAMES),
    bad("ALL", "ALL", allowed=NAMES),
    bad("intro-2d --scale huge", "huge", allowed=NAMES),
    bad("intro-2d --jobs 0", "jobs", "0", allowed=AT_LEAST_1),
    bad("intro-2d --jobs -1", "-1", allowed=AT_LEAST_1),
    fig_set("foo", names=("foo",), allowed=KEY_VALUE),
    fig_set("=3", names=("=3",), allowed=KEY_VALUE),
    fig_set("train.steps=-5", names=("-5",), allowed=AT_LEAST_1),
    fig_set("train.lr=nan", names=("nan",), allowed=either(POSITIVE, FINITE)),
    fig_set("seeds=0", names=("seeds", "0"), allowed=AT_LEAST_1),
    fig_set("axes.density.num=0", names=("num", "0"), allowed=AT_LEAST_1),
    fig_set("axes.density.num=-1", names=("-1",), allowed=AT_LEAST_1),
    fig_set("model.density=1.5", names=("1.5",), allowed=DENSITY),
    fig_set("n_hidden=0", names=("n_hidden", "0"), allowed=AT_LEAST_1, figure="multitask-loss"),
    fig_set("train.lr=-1", names=("-1",), allowed=POSITIVE, figure="all"),
    *with_prefix(["intro-2d"], under_file()),
    fig_set(
        "seeds=10000000000",
        names=(("10000000000", "10,000,000,000", "seeds"),),
        allowed=HUGE,
    ),
    fig_set(
        "axes.density.num=10000",
        "axes.importance.num=10000",
        names=(("10000", "10,000", "100000000", "100,000,000", "1e+08", "1e+09"),),
        allowed=HUGE,
        figure="phase-2to1",
    ),
    bad(
        "intro-2d --jobs 1 --set train.steps=100000000",
        ("100000000", "100,000,000"),
        allowed=LARGE,
    ),
    bad(
        "intro-2d --jobs 1 --yes --set seeds=10000000000",
        ("10000000000", "10,000,000,000", "seeds"),
        allowed=HUGE,
    ),
    *with_prefix(["intro-2d"], non_finite("--jobs")),
]

# -- toymodels bench -----------------------------------------------------------------------
BENCH_ = [
    bad("--features 0", "features", "0", allowed=AT_LEAST_1),
    bad("--hidden 0", "hidden", "0", allowed=AT_LEAST_1),
    bad("--models 0", "models", "0", allowed=AT_LEAST_1),
    bad("--batch 0", "batch", "0", allowed=AT_LEAST_1),
    bad("--threads 0", "threads", "0", allowed=AT_LEAST_1),
    bad("--repeats 0", "repeats", "0", allowed=AT_LEAST_1),
    bad("--steps 100", "100", allowed=r"200"),
    bad("--steps -1", "-1", allowed=either(AT_LEAST_1, r"200")),
    bad("--estimator magic", "magic", allowed=NAMES),
    bad("--estimator full", "full", allowed=r"n_samples|finite|sampled"),
    bad("--estimator exact --features 8", "8", allowed=r"\b4\b"),
    bad("--estimator patterns --features 20", "20", allowed=r"\b10\b"),
    bad("--features 2 --hidden 2", "hidden", "2", allowed=r"smaller|less|<"),
    bad("--density 0", "density", "0", allowed=DENSITY),
    bad("--density 1.5", "1.5", allowed=DENSITY),
    bad("--density -0.1", "-0.1", allowed=DENSITY),
    bad("--density nan", "nan", allowed=either(DENSITY, FINITE)),
    bad("--density inf", "inf", allowed=either(DENSITY, FINITE)),
    bad(
        "--models 10000000000",
        ("10000000000", "10,000,000,000", "models"),
        allowed=HUGE,
        sub=True,
    ),
    bad(
        "--features 100000",
        ("100000", "100,000", "features"),
        allowed=HUGE,
        sub=True,
    ),
]

# -- toymodels (no or unknown command) -------------------------------------------------------
BENCH = unique(
    BENCH_,
    non_finite(
        "--features",
        "--hidden",
        "--models",
        "--batch",
        "--steps",
        "--threads",
        "--density",
        "--repeats",
    ),  # fmt: skip
)

TOP_LEVEL = [
    bad("", "command", allowed=REQUIRED),
    bad("nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("sweep nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("analytic nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("multitask nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("conflict nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("competition nope", "nope", allowed=either(NAMES, r"invalid choice")),
    bad("analytic", ("COMMAND", "analytic_command"), allowed=REQUIRED),
]


ANALYTIC_ANATOMY = [
    bad("--W [[1,nan]]", "nan", allowed=FINITE),
    bad(["--W", "[[1,-1]]", "--importance=-1,1"], "-1", allowed=either(POSITIVE, NONNEGATIVE)),
    bad("--W [[1,-1]] --family tanh", "tanh", allowed=NAMES),
    bad("", "--W", allowed=REQUIRED),
    bad("--W [[1,-1]] --b [0]", "b", allowed=r"columns|entries"),
]

ANALYTIC_THOMSON = [
    bad("--features 1 --dims 2", "features", "1", allowed=r"from 2 to 50"),
    bad("--features 5 --dims 0", "dims", "0", allowed=r"from 1 to 10"),
    bad("--features 5 --dims 2 --starts 5000", "5000", allowed=r"from 1 to 4096"),
    bad("--features 50 --dims 10", "550", allowed=r"at most|above the 100"),
    bad("--features nan --dims 2", "nan", allowed=INTEGER),
    bad("--features 5 --dims 2 --norms loose", "loose", allowed=NAMES),
]

ANALYTIC_RELN = [
    bad("--contexts 6", "6", allowed=r"3 to 5|3-5|3 and 5|between"),
    bad("--lr 0", "lr", "0", allowed=POSITIVE),
    bad("--lr nan", "nan", allowed=either(POSITIVE, FINITE)),
    bad("--epochs 0", "0", allowed=AT_LEAST_1),
    bad("--record-every 0", "0", allowed=AT_LEAST_1),
    bad("--a0-common 0", "0", allowed=POSITIVE),
    bad("--a0-pathway -1", "-1", allowed=POSITIVE),
    bad("--context-scale 0", "context_scale", "0", allowed=r"\[0.001, 1000\]"),
    bad("--basis nope", "nope", allowed=NAMES),
    bad("--structure tree", "tree", allowed=NAMES),
    bad(["--pathways", "[[1,4]]"], "4", allowed=r"1 to 3"),
    bad(["--pathways", "[[1,2,2]]"], "[1, 2, 2]", allowed=r"repeats"),
    bad(["--pathways", "[[]]"], "[]", allowed=r"non-empty"),
    bad(["--pathways", "[]"], "[]", allowed=r"non-empty"),
    bad(["--pathways", "[[1,2],[2,1]]"], "[1, 2]", allowed=r"one pathway"),
    bad(["--pathways", "{"], "{", allowed=JSON_TEXT),
    bad(["--epochs", "100000000", "--record-every", "1"], "100000000", allowed=r"at most"),
]

MULTITASK_RELN = [
    bad("", "--run", allowed=REQUIRED),
    bad("--run /nonexistent-run", "/nonexistent-run", allowed=r"holds no run|spec\.json"),
    bad("--run /", "/", allowed=r"holds no run|spec\.json"),
]

MULTITASK_DEPTH = [
    bad("--layers 0", "layers", "0", allowed=r"from 1 to 2"),
    bad("--layers 3", "layers", "3", allowed=r"from 1 to 2"),
    bad("--hidden 300000", "300,000", allowed=r"memory|available"),
    bad("--gdln-init nan", "nan", allowed=either(POSITIVE, FINITE)),
]

MULTITASK_CONTEXTS = [
    bad("--seeds 0", "0", allowed=AT_LEAST_1),
    bad("--epochs x", "x", allowed=INTEGER),
    bad("--root-seed -1", "-1", allowed=NONNEGATIVE),
]

COMPETITION_DEPTH = [
    bad("--layers 0", "layers", "0", allowed=r"from 1 to 2"),
    bad("--first tanh", "tanh", allowed=NAMES),
    bad("--second relu+entropy", "relu", "entropy", allowed=r"does not apply"),
    bad("--width 300000", "300,000", allowed=r"memory|available"),
]

CASES: dict[str, list[Bad]] = {
    "phase-diagram": PHASE_DIAGRAM,
    "sweep run": SWEEP_RUN,
    "sweep status": SWEEP_STATUS,
    "sweep presets": SWEEP_PRESETS,
    "families": FAMILIES,
    "analytic losses": ANALYTIC_LOSSES,
    "analytic boundaries": ANALYTIC_BOUNDARIES,
    "analytic loss": ANALYTIC_LOSS,
    "analytic optimum": ANALYTIC_OPTIMUM,
    "analytic modes": ANALYTIC_MODES,
    "analytic critical-temperature": ANALYTIC_CRITICAL_TEMPERATURE,
    "analytic anatomy": ANALYTIC_ANATOMY,
    "analytic thomson": ANALYTIC_THOMSON,
    "analytic reln": ANALYTIC_RELN,
    "multitask reln": MULTITASK_RELN,
    "multitask depth": MULTITASK_DEPTH,
    "multitask contexts": MULTITASK_CONTEXTS,
    "multitask train": MULTITASK_TRAIN,
    "conflict phase-diagram": CONFLICT_PHASE_DIAGRAM,
    "competition phase-diagram": COMPETITION_PHASE_DIAGRAM,
    "competition compare": COMPETITION_COMPARE,
    "competition list": COMPETITION_LIST,
    "competition shares": COMPETITION_SHARES,
    "competition depth": COMPETITION_DEPTH,
    "competition prune": COMPETITION_PRUNE,
    "competition width": COMPETITION_WIDTH,
    "figures": FIGURES,
    "bench": BENCH,
    "": TOP_LEVEL,
}
PARAMS = []
for _command, _cases in CASES.items():
    for _i, _case in enumerate(_cases):
        _where = "sub" if _case.subprocess else "in"
        _id = f"{_command or 'toymodels'} #{_i:02d} [{_where}] {_case.label}"
        PARAMS.append(pytest.param(_command, _case, id=_id))


# -- running a case -------------------------------------------------------------------------
class Overtime(BaseException):
    """Raised in the main thread when an in-process case runs far past its limit."""


def _on_alarm(signum, frame):
    raise Overtime(f"still running after {LIMIT + 5:.0f} s")


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its kind, and for files size, mtime and content hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir",)
        else:
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[rel] = ("file", st.st_size, st.st_mtime_ns, digest)
    return found


def _changes(before: dict, after: dict) -> list[str]:
    out = [f"+{k}" for k in after if k not in before]
    out += [f"-{k}" for k in before if k not in after]
    out += [f"~{k}" for k in before if k in after and before[k] != after[k]]
    return out


def _make_files(root: Path, files) -> None:
    for rel, data in files:
        path = root / rel
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _shown(text: str, keep: int = 400) -> str:
    return repr(text if len(text) <= 2 * keep else f"{text[:keep]} [...] {text[-keep:]}")


def _verdict(case: Bad, code, err: str, elapsed: float, changed, extra=()) -> None:
    lines = err.splitlines()
    problems = []
    if code != 2:
        problems.append(f"exit code {code} (expected 2)")
    if len(lines) + len(extra) != 1:
        problems.append(f"{len(lines)} stderr lines (expected exactly 1)")
    problems += list(extra)
    if "Traceback" in err:
        problems.append("a traceback on stderr")
    low = err.lower()
    for name in case.names:
        alternatives = (name,) if isinstance(name, str) else name
        if not any(a.lower() in low for a in alternatives):
            problems.append(f"the line does not name {' or '.join(map(repr, alternatives))}")
    if not re.search(case.allowed, err, re.IGNORECASE):
        problems.append(f"the line does not say what is allowed (/{case.allowed}/)")
    if elapsed > LIMIT:
        problems.append(f"took {elapsed:.1f} s (limit {LIMIT:.0f} s)")
    if changed:
        problems.append(f"wrote {changed[:8]}{' ...' if len(changed) > 8 else ''}")
    assert not problems, "; ".join(problems) + f"\n  exit {code}\n  stderr {_shown(err)}"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@contextlib.contextmanager
def _memory_guard():
    """Cap this process's address space at its current size + 8 GiB while a case runs, so
    that a missing size check fails with MemoryError instead of exhausting the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status")
    size = re.search(r"VmSize:\s+(\d+)", status.read_text()) if status.exists() else None
    if size is None:
        yield
        return
    cap = int(size.group(1)) * 1024 + 8 * 2**30
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _env(cache: Path) -> dict[str, str]:
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "TOYMODELS_CACHE_DIR": str(cache)}


def _run_subprocess(cmd: list, cwd: Path, cache: Path, wait: float):
    """(exit code or None when killed, stdout, stderr, seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=_env(cache),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_memory,
    )
    try:
        out, err = proc.communicate(timeout=wait)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    elapsed = time.perf_counter() - start
    return code, out.decode(errors="replace"), err.decode(errors="replace"), elapsed


def run_in_process(argv, capfd, uncaught=Exception) -> tuple[int | None, str, float, list]:
    """``cli.main(argv)`` in this process under the time limit and the memory guard, with
    Python's default warning filters (what an interactive run shows): ``(exit code or
    None, stderr, seconds, what went wrong besides)``; an ``uncaught`` exception would be
    a traceback on a terminal."""
    extra = []
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT + 5)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught, _memory_guard():
            warnings.simplefilter("default")
            for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
                warnings.simplefilter("ignore", quiet)
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                code = cli.main(argv)
            except Overtime as exc:
                code, extra = None, [str(exc)]
            except uncaught as exc:
                code, extra = None, [f"uncaught {type(exc).__name__}: {str(exc)[:300]}"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - start
    err = capfd.readouterr().err
    extra += [f"warning reaches stderr: {w.category.__name__}: {w.message}" for w in caught]
    return code, err, elapsed, extra


@pytest.mark.parametrize(("command", "case"), PARAMS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(command, case, folders, capfd, caplog):
    work, cache = folders
    _make_files(work, case.files)
    before = _snapshot(work)
    argv = [*command.split(), *case.argv]
    if case.subprocess:
        cmd = [sys.executable, "-m", "cli.main", *argv]
        code, _, err, elapsed = _run_subprocess(cmd, work, cache, LIMIT + 2)
        extra = [] if code is not None else [f"killed after {elapsed:.0f} s"]
    else:
        code, err, elapsed, extra = run_in_process(argv, capfd)
        extra += [
            f"log record reaches stderr: {r.levelname}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= 30
        ]
    _verdict(case, code, err, elapsed, _changes(before, _snapshot(work)), extra)


def _leaf_commands(parser, prefix=()) -> list[str]:
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [" ".join(prefix)]
    return [
        leaf
        for name, child in subs[0].choices.items()
        for leaf in _leaf_commands(child, (*prefix, name))
    ]


def test_every_command_has_adversarial_cases():
    leaves = _leaf_commands(cli.build_parser())
    assert len(leaves) >= 18
    missing = [c for c in leaves if len(CASES.get(c, ())) < 3]
    assert not missing, f"commands with fewer than 3 adversarial cases: {missing}"


# -- what reaches a real terminal -----------------------------------------------------------
TERMINAL = [
    pytest.param(
        ["phase-diagram", "--grid", "0"], ("grid", "0"), AT_LEAST_1, (), id="phase-diagram grid 0"
    ),
    pytest.param(
        ["sweep", "run", "garbage.toml", "--out", "out"],
        ("garbage.toml",),
        r"UTF-?8|TOML|text|read|binary|decode",
        (("garbage.toml", bytes(range(256)) * 4),),
        id="sweep run binary spec",
    ),
    pytest.param(
        ["sweep", "run", b"\xff\xfe.toml", "--out", "out"],
        ((r"\udcff", r"\xff", "\ufffd", "\udcff", ".toml"),),
        r"exist|not found|no such",
        (),
        id="sweep run undecodable file name",
    ),
    pytest.param(
        ["families", b"\xff"],
        ((r"\udcff", r"\xff", "\ufffd", "\udcff"),),
        NAMES,
        (),
        id="families undecodable name",
    ),
    pytest.param(
        ["analytic", "loss", "--features", "2", "--W", "[[1,-1]]", "--b", "0, " + "-" * 100_000],
        ("----",),
        r"nest|long|valid|too|at most",
        (),
        id="analytic loss parser stack overflow",
    ),
]


@pytest.mark.parametrize(("argv", "names", "allowed", "files"), TERMINAL)
def test_no_traceback_reaches_the_terminal(argv, names, allowed, files, folders):
    work, cache = folders
    _make_files(work, files)
    before = _snapshot(work)
    cmd = [sys.executable, "-m", "cli.main", *argv]
    code, _, err, elapsed = _run_subprocess(cmd, work, cache, LIMIT + 2)
    case = Bad(tuple(argv), names, allowed, files)
    _verdict(case, code, err, elapsed, _changes(before, _snapshot(work)))


def test_the_console_script_prints_one_line(folders):
    exe = shutil.which("toymodels")
    if exe is None:
        pytest.skip("the toymodels console script is not installed")
    work, cache = folders
    _make_files(work, (("bad.toml", b"name = \n[[[\n"),))
    before = _snapshot(work)
    code, _, err, elapsed = _run_subprocess(
        [exe, "sweep", "run", "bad.toml", "--out", "out"], work, cache, LIMIT + 2
    )
    case = Bad((), ("bad.toml",), r"TOML|malformed|invalid")
    _verdict(case, code, err, elapsed, _changes(before, _snapshot(work)))


# -- Ctrl-C ---------------------------------------------------------------------------------
PNG_END = b"IEND\xaeB`\x82"


def _incomplete_files(root: Path) -> list[str]:
    """Files under ``root`` that are temporary, empty or cut short."""
    import numpy as np

    problems = []
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(root).as_posix()
        if path.name == ".lock":
            continue
        if path.name.endswith(".tmp") or path.name.startswith("."):
            problems.append(f"{rel}: temporary file left behind")
            continue
        data = path.read_bytes()
        try:
            if not data:
                raise ValueError("empty")
            if path.suffix == ".json":
                json.loads(data)
            elif path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as f:
                    for key in f.files:
                        f[key]
            elif path.suffix == ".nc":
                import xarray as xr

                with xr.open_dataset(path) as ds:
                    ds.load()
            elif path.suffix == ".png":
                if not (data.startswith(b"\x89PNG") and data.endswith(PNG_END)):
                    raise ValueError("truncated PNG")
            elif path.suffix == ".pdf":
                if not (data.startswith(b"%PDF") and b"%%EOF" in data[-64:]):
                    raise ValueError("truncated PDF")
            elif path.suffix in (".txt", ".html") and not data.endswith(b"\n"):
                raise ValueError("no final newline")
        except Exception as exc:  # any failure to read is a half-written file
            problems.append(f"{rel}: {type(exc).__name__}: {exc}")
    return problems


# Ctrl-C under load (the suite beside other work on 2 cores): the run waits for a sign
# that training is under way rather than a fixed time, and the clock starts at SIGINT.
# How long a stopped run may take to exit (seconds), how long to wait for training to
# start, and when to give up on an exit that never comes (then reported as a hang).
INTERRUPT_LIMIT = 20.0
READY_WAIT = 120.0
HANG_WAIT = 60.0


def _first_chunk(sweep: Path):
    """Ready when ``sweep`` holds a finished chunk: training is under way."""
    return lambda pid: any((sweep / "chunks").glob("chunk-*.npz"))


def process_group(pgid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process in process group ``pgid`` (reads
    ``/proc``: Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            found.append((int(entry.name), cmdline))
    return found


def loky_workers(pgid: int) -> list[tuple[int, str]]:
    """The loky worker processes of the run that leads process group ``pgid``."""
    return [p for p in process_group(pgid) if "popen_loky" in p[1]]


def _ignores_ctrl_c(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (``SigIgn`` in ``/proc/PID/status``): a
    loky worker does once its initializer has run, that is once it has started."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = re.search(r"^SigIgn:\s*([0-9a-f]+)", status, re.MULTILINE)
    return mask is not None and bool(int(mask.group(1), 16) >> (signal.SIGINT - 1) & 1)


def workers_started(pgid: int, count: int = 2) -> bool:
    """Whether ``count`` loky workers of the run leading ``pgid`` have started."""
    workers = loky_workers(pgid)
    return len(workers) == count and all(_ignores_ctrl_c(pid) for pid, _ in workers)


def _interrupt(argv: list[str], work: Path, cache: Path, ready, delay: float = 0.0):
    """Start ``toymodels argv``, press Ctrl-C (SIGINT to its process group) ``delay`` s after
    ``ready(pid)`` holds; (exit code or None when it hung, stderr, seconds from SIGINT to
    exit)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *argv],
        cwd=work,
        env=_env(cache),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_memory,
    )
    try:
        deadline = time.monotonic() + READY_WAIT
        while not ready(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"finished before Ctrl-C: {proc.communicate()}"
        assert ready(proc.pid), f"training did not start within {READY_WAIT:.0f} s"
        time.sleep(delay)
        assert proc.poll() is None, "finished before Ctrl-C; make the run longer"
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.perf_counter()
        try:
            _, err = proc.communicate(timeout=HANG_WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            return None, err.decode(errors="replace"), time.perf_counter() - sent
        return proc.returncode, err.decode(errors="replace"), time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        try:  # worker processes left in the group are ours to end
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _check_interrupted(code, err: str, seconds: float, work: Path, sweep: Path) -> None:
    import sweeps

    lines = err.splitlines()
    problems = []
    if code != 130:
        problems.append(f"exit code {code} (expected 130)")
    if len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines (expected exactly 1)")
    if "Traceback" in err:
        problems.append("a traceback on stderr")
    if "interrupt" not in err.lower():
        problems.append("the line does not say the run was interrupted")
    if seconds > INTERRUPT_LIMIT:
        problems.append(f"took {seconds:.1f} s to stop after Ctrl-C")
    problems += _incomplete_files(work)
    try:
        st = sweeps.status(sweep)
        if st.damaged_chunks:
            problems.append(f"{st.damaged_chunks} damaged chunk files")
    except Exception as exc:
        problems.append(f"the sweep folder is not resumable: {type(exc).__name__}: {exc}")
    assert not problems, "; ".join(problems) + f"\n  exit {code}\n  stderr {_shown(err)}"


def test_ctrl_c_during_a_sweep_run(folders):
    work, cache = folders
    argv = ["sweep", "run", "paper-2to1", "--out", "run", "--quiet"]
    for item in ("train.steps=2000", "axes.density.num=8", "axes.importance.num=8", "seeds=2",
                 "chunk_size=4"):  # fmt: skip
        argv += ["--set", item]
    code, err, seconds = _interrupt(argv, work, cache, _first_chunk(work / "run"))
    _check_interrupted(code, err, seconds, work, work / "run")


def test_ctrl_c_during_a_phase_diagram_with_worker_processes(folders):
    work, cache = folders
    argv = ["phase-diagram", "--grid", "12", "--seeds", "4", "--protocol", "paper"]
    argv += ["--steps", "3000", "--jobs", "2", "--quiet", "--out", "pd"]
    if Path("/proc/self/stat").exists():  # Ctrl-C once both workers run
        code, err, seconds = _interrupt(argv, work, cache, workers_started)
    else:
        spec = work / "pd" / "run" / "spec.json"
        code, err, seconds = _interrupt(argv, work, cache, lambda pid: spec.exists(), 2.5)
    _check_interrupted(code, err, seconds, work, work / "pd" / "run")


def test_ctrl_c_while_results_are_written_takes_effect_after_the_write(tmp_path, monkeypatch):
    """Ctrl-C inside the HDF5 write (where an interrupt once left a lock taken and the
    command hung with a temporary file behind) is held until the file is complete."""
    import sweeps
    from sweeps import _dataset

    spec = sweeps.load_preset("paper-2to1").with_overrides(
        {"train.steps": 5, "seeds": 1, "axes.density.num": 2, "axes.importance.num": 2}
    )
    ds = sweeps.run(spec, tmp_path / "run")
    read = _dataset.read_results
    pressed = []

    def interrupted_read(path):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the write and its check
        pressed.append(path)
        return read(path)

    monkeypatch.setattr(_dataset, "read_results", interrupted_read)
    target = tmp_path / "again.nc"
    with pytest.raises(KeyboardInterrupt):
        _dataset.write_results(ds, target)
    assert pressed, "the write never reached its check"
    monkeypatch.setattr(_dataset, "read_results", read)
    back = read(target)  # complete, and passes its digest
    assert float(back["loss"].sum()) == pytest.approx(float(ds["loss"].sum()))
    assert not list(tmp_path.glob(".*.tmp"))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
