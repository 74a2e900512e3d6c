"""The command layer's guards: output folders checked before any work, file-system faults
and notices as one line, checks made before training that the report would otherwise
fail after it, the shared ``--jobs``/``--yes`` options and plain ``--help``."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path

import pytest

import cli.main as cli
import sweeps
from sweeps._execution import available_cores
from toymodels.errors import ConfigError, DivergedCells, Notice
from toymodels.files import check_writable

REPO = Path(__file__).resolve().parents[1]

# Every command that writes, with options that would make it quick if it ran.
WRITERS = {
    "phase-diagram": ["phase-diagram", "--grid", "2", "--seeds", "1", "--steps", "2"],
    "sweep run": ["sweep", "run", "paper-2to1", "--set", "seeds=1", "--set", "train.steps=2"],
    "multitask train": ["multitask", "train", "--hidden", "4", "--seeds", "1", "--epochs", "2"],
    "conflict phase-diagram": ["conflict", "phase-diagram", "--grid", "2", "--seeds", "1"],
    "competition phase-diagram": ["competition", "phase-diagram", "--grid", "2", "--seeds", "1"],
    "competition compare": ["competition", "compare", "--seeds", "1", "--steps", "2"],
    "figures": ["figures", "intro-2d", "--set", "seeds=1", "--set", "train.steps=2"],
}
# The commands that keep their sweep in --out/run.
RUN_FOLDER = [k for k in WRITERS if k not in ("sweep run", "figures")]


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -- toymodels.files.check_writable ------------------------------------------------------
def test_check_writable_names_the_path_and_what_is_wrong(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    check_writable(tmp_path / "new" / "deeper")  # made later: its parent is writable
    with pytest.raises(ConfigError, match=r"^--out .*afile is a file; give a folder$"):
        check_writable(tmp_path / "afile")
    with pytest.raises(ConfigError, match=r"afile/sub: .*afile is not a folder"):
        check_writable(tmp_path / "afile" / "sub")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="is a link to nothing"):
        check_writable(tmp_path / "dangling", option="--dir")
    # What the kernel answers for a folder this process may not write in (root may write
    # anywhere, so the answer is simulated here and real in the subprocess test below).
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"new/deeper: .* is not writable; give a folder"):
        check_writable(tmp_path / "new" / "deeper")


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_under_a_file_or_a_file_is_refused_before_any_work(command, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    for out, needle in [("afile/sub", "afile is not a folder"), ("afile", "is a file")]:
        code = cli.main([*WRITERS[command], "--out", str(tmp_path / out), "--quiet"])
        err = _one_line(capsys.readouterr().err)
        assert code == 2 and needle in err and err.startswith("toymodels ")
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]
    assert (tmp_path / "afile").read_text() == "mine"


def _unprivileged(folder: Path):
    """How to run Python here so that permission bits apply (root ignores them): as the
    user nobody, or else as root without capabilities; None if neither can import the
    package (e.g. Python installed under /root, which nobody cannot read)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOME": str(folder),
        "MPLCONFIGDIR": str(folder),
        "TOYMODELS_CACHE_DIR": str(folder / "cache"),
    }
    if os.geteuid() != 0:
        return [], {}, env
    ways = [([], {"user": 65534, "group": 65534, "extra_groups": []})]
    if shutil.which("setpriv"):
        ways.append((["setpriv", "--inh-caps=-all", "--bounding-set=-all"], {}))
    for prefix, user in ways:
        try:
            done = subprocess.run(
                [*prefix, sys.executable, "-c", "import cli.main"],
                cwd=folder, env=env, capture_output=True, timeout=120, **user,
            )  # fmt: skip
        except OSError:  # nobody may not execute this interpreter at all
            continue
        if done.returncode == 0:
            return prefix, user, env
    return None


SCRIPT = """
import contextlib, io, json, sys
from cli.main import main
found = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    found.append([code, err.getvalue()])
print(json.dumps(found))
"""


def test_read_only_out_is_refused_in_one_line_for_every_writer():
    # A folder nobody (or capability-less root) can traverse: pytest's own tmp is 0700.
    folder = Path(tempfile.mkdtemp(prefix="toymodels-ro-"))
    try:
        folder.chmod(0o755)
        how = _unprivileged(folder)
        if how is None:
            pytest.skip(
                "no unprivileged Python can import the package here (neither user 65534 "
                "nor root without capabilities via setpriv), so permission bits cannot apply"
            )
        prefix, user, env = how
        read_only = folder / "ro"
        read_only.mkdir(mode=0o555)
        read_only.chmod(0o555)  # mkdir's mode is masked by the umask
        argvs = [
            [*argv, "--out", str(out), "--quiet"]
            for argv in WRITERS.values()
            for out in (read_only, read_only / "new")
        ]
        done = subprocess.run(
            [*prefix, sys.executable, "-c", SCRIPT, json.dumps(argvs)],
            cwd=folder, env=env, capture_output=True, text=True, timeout=300, **user,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for argv, (code, err) in zip(argvs, json.loads(done.stdout), strict=True):
            assert code == 2, (argv, err)
            assert "ro is not writable; give a folder you can write in" in _one_line(err)
        assert list(read_only.iterdir()) == []
    finally:
        for path in (folder / "ro", folder):
            with contextlib.suppress(OSError):
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


# -- folders that hold something else -------------------------------------------------------
@pytest.mark.parametrize("command", RUN_FOLDER)
def test_a_folder_holding_other_files_is_refused(command, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli.main([*WRITERS[command], "--out", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"--out {out} is not empty and holds no earlier output of toymodels {command}" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # An earlier output of a command (its run/spec.json) passes this check; the sweep's
    # own check then compares the settings (here another sweep's, so it is refused too).
    (out / "run").mkdir()
    (out / "run" / "spec.json").write_text(sweeps.load_preset("hidden-demo").to_json())
    assert cli.main([*WRITERS[command], "--out", str(out), "--quiet"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "holds a different sweep" in err and "not empty" not in err


# -- file-system faults and notices in main -------------------------------------------------
@pytest.fixture
def fake(monkeypatch):
    """``toymodels fake [--out DIR]`` whose handler is ``handle`` (set by the test)."""
    module = types.ModuleType("fake_command")
    handle = {}

    def register(sub):
        p = sub.add_parser("fake")
        p.add_argument("--out", default=None)
        p.set_defaults(handler=lambda args: handle["run"](args))

    module.register = register
    monkeypatch.setitem(sys.modules, "fake_command", module)
    monkeypatch.setattr(cli, "COMMANDS", ("fake_command",))
    return handle


def _raise(exc):
    def run(args):
        raise exc

    return run


def test_os_errors_escaping_a_handler_are_one_line_exit_2(fake, capsys):
    cases = [
        (
            OSError(errno.ENOSPC, "No space left on device"),
            ["--out", "runs/x"],
            "toymodels fake: error: writing in runs/x: No space left on device\n",
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "runs/x/chunks"),
            [],
            "toymodels fake: error: runs/x/chunks: No such file or directory\n",
        ),
        (
            OSError("chunk file c.npz failed its check"),
            [],
            "toymodels fake: error: chunk file c.npz failed its check\n",
        ),
    ]
    for exc, extra, expected in cases:
        fake["run"] = _raise(exc)
        assert cli.main(["fake", *extra]) == 2
        assert capsys.readouterr().err == expected


def test_a_closed_stdout_ends_quietly(fake, capsys):
    fake["run"] = _raise(BrokenPipeError(errno.EPIPE, "Broken pipe"))
    assert cli.main(["fake"]) == 1
    assert capsys.readouterr().err == ""


def test_notices_are_one_line_each_and_diverged_cells_exit_1(fake, capsys):
    def warn(*notices, code=0):
        def run(args):
            for category, text in notices:
                warnings.warn(text, category, stacklevel=2)
            return code

        return run

    fake["run"] = warn((Notice, "jobs=64 is capped\nto 2 cores"), (Notice, "again"))
    assert cli.main(["fake"]) == 0
    assert capsys.readouterr().err == (
        "toymodels fake: warning: jobs=64 is capped to 2 cores\ntoymodels fake: warning: again\n"
    )
    fake["run"] = warn((DivergedCells, "3 cells diverged"))
    assert cli.main(["fake"]) == 1
    assert capsys.readouterr().err == "toymodels fake: warning: 3 cells diverged\n"
    fake["run"] = warn((DivergedCells, "3 cells diverged"), code=4)  # a failure stays one
    assert cli.main(["fake"]) == 4
    assert capsys.readouterr().err == "toymodels fake: warning: 3 cells diverged\n"
    # Other warnings keep Python's handling (here pytest's, which records them).
    fake["run"] = warn((UserWarning, "plain"))
    with pytest.warns(UserWarning, match="plain"):
        assert cli.main(["fake"]) == 0
    assert "toymodels fake: warning" not in capsys.readouterr().err


# -- --jobs and --yes, the same everywhere --------------------------------------------------
class _Stop(Exception):
    pass


SWEEP_COMMANDS = {
    **{k: v for k, v in WRITERS.items() if k != "figures"},
    "figures": ["figures", "intro-2d", "--set", "seeds=1", "--set", "train.steps=2"],
}


@pytest.mark.parametrize("command", sorted(SWEEP_COMMANDS))
def test_jobs_and_yes_reach_sweeps_run(command, tmp_path, monkeypatch):
    calls = []

    def run(spec, out, **kwargs):
        calls.append((spec, kwargs))
        raise _Stop

    monkeypatch.setattr(sweeps, "run", run)
    argv = [*SWEEP_COMMANDS[command], "--out", str(tmp_path / "out"), "--quiet"]
    with pytest.raises(_Stop):
        cli.main(argv)
    assert calls[0][1]["jobs"] == available_cores() and calls[0][1]["yes"] is False
    with pytest.raises(_Stop):
        cli.main([*argv, "--jobs", "3", "--yes"])
    assert calls[1][1]["jobs"] == 3 and calls[1][1]["yes"] is True
    if command == "sweep run":  # what --set changed is in the stored description
        assert calls[0][0].description.endswith("; changed by --set: seeds=1, train.steps=2")


def _subcommands(parser: argparse.ArgumentParser, path=()):
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, (*path, name))


def test_help_is_plain_text_and_every_jobs_option_says_it_is_capped():
    paths = list(_subcommands(cli.build_parser()))
    assert len(paths) > 20
    for path in paths:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main([*path, "--help"]) == 0
        text = out.getvalue()
        assert "usage: toymodels" in text and "``" not in text, path
        if "--jobs" in text:
            assert f"default: the {available_cores()} cores available" in text, path
            assert "is capped" in " ".join(text.split()) and "--yes" in text, path


def test_families_show_their_docstrings_as_plain_text(capsys):
    assert cli.main(["families"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("relu: ReLU(Wᵀ W x + b): ") and "``" not in text
    assert cli.main(["families", "--json"]) == 0
    assert "``" not in capsys.readouterr().out


# -- checked before training, not after -----------------------------------------------------
def test_multitask_refuses_a_start_its_closed_form_cannot_describe(tmp_path, capsys):
    out = tmp_path / "mt"
    argv = ["multitask", "train", "--hidden", "8", "--epochs", "5", "--seeds", "1"]
    assert cli.main([*argv, "--init", "10", "--quiet", "--out", str(out)]) == 2
    assert "init^2 * hidden / 2 = 400" in _one_line(capsys.readouterr().err)
    assert not out.exists()


def test_figures_check_every_sweep_before_training_any(tmp_path, capsys):
    from cli.figures_command import run_dir

    out = tmp_path / "figs"
    tiny = ["--quiet", "--jobs", "1", "--set", "seeds=1", "--set", "train.steps=2"]
    # A phase figure needs 2 values per axis (one trained, then failed while plotting).
    code = cli.main(
        ["figures", "phase-2to1", "--out", str(out), *tiny, "--set", "axes.density.num=1"]
    )
    assert code == 2
    assert "axes.density needs at least 2 values" in _one_line(capsys.readouterr().err)
    assert not out.exists()
    # A stored sweep of other settings for the second figure stops the first from training.
    overrides = ["seeds=1", "train.steps=2"]  # what --set gave
    stored = run_dir(out, "default", "intro-2d", overrides)
    stored.mkdir(parents=True)
    (stored / "spec.json").write_text(sweeps.load_preset("hidden-demo").to_json())
    assert cli.main(["figures", "wtw-sparsity", "intro-2d", "--out", str(out), *tiny]) == 2
    err = _one_line(capsys.readouterr().err)
    assert err.startswith("toymodels figures: error: intro-2d: --out ") and "delete" in err
    assert sorted(p.name for p in (out / "runs" / "default").iterdir()) == [stored.name]


# -- a stored description says what was trained ---------------------------------------------
def test_overrides_that_change_the_sweep_are_recorded_in_its_description():
    spec = sweeps.load_preset("paper-2to1")
    assert spec.description.endswith("10 seeds, 10,000 Adam steps")
    changed = spec.with_overrides({"seeds": 3, "train.steps": 200, "train.lr": 0.001})
    # train.lr is the preset's value already: not a change.
    assert changed.description == spec.description + "; changed by --set: seeds=3, train.steps=200"
    assert changed.identity() != spec.identity()
    assert spec.with_overrides({"seeds": 10}).description == spec.description
    assert spec.with_overrides({"seeds": 3, "description": "mine"}).description == "mine"
    removed = spec.with_overrides({"axes.importance": None, "family": "linear"})
    assert removed.description.endswith("changed by --set: axes.importance removed, family=linear")
