"""What every ``toymodels`` command shares about its arguments.

- Argument types (sweeps' and analytics' alike): each rejects a bad value with one line
  naming the value and what is allowed.  ``label`` prefixes the value in the message (e.g.
  ``"importance "``) where the option's name alone would leave the reader guessing which
  number was wrong.  :func:`declared` makes one from a model field's declared check, so a
  bound is written once.
- :func:`add_contextual_options` and :func:`add_sweep_options`: options several commands
  share.
- :func:`train_into_out`: ``--out`` checked before any work (:func:`check_output_folder`),
  the spec built and its sweep trained into ``--out/run``.
- :class:`OnlyWith` and :func:`refuse_inapplicable`: a command declares which options
  apply only to some of its choices (an axis, a model, an activation), and an option
  given where it does nothing is refused before any work instead of being ignored.
- Argument types carry ``allowed``, the values they accept in words, which each option's
  help quotes (``tests/test_cli_help.py`` checks every option of every command).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toymodels.limits import LEARNING_RATE, ROOT_SEED


def headline(doc: str) -> str:
    """A command's description for ``--help``: the first paragraph of its module's
    docstring, on one line (its first line alone can stop mid-sentence), without the
    docstring's code quotes."""
    return " ".join(doc.strip().split("\n\n")[0].replace("``", "").split())


def _parse(text: str, convert: type, kind: str, label: str):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{label}{text!r} is not {kind}") from None


def positive_int(text: str, label: str = "") -> int:
    value = _parse(text, int, "an integer", label)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{label}{value} must be an integer >= 1")
    return value


def nonnegative_int(text: str, label: str = "") -> int:
    value = _parse(text, int, "an integer", label)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{label}{value} must be an integer >= 0")
    return value


def positive_float(text: str, label: str = "") -> float:
    value = _parse(text, float, "a number", label)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{label}{text} must be a finite number > 0")
    return value


def allowing(allowed: str):
    """Mark an argument type with ``allowed``: the values it accepts, in words, for
    ``--help`` to show."""

    def mark(parse):
        parse.allowed = allowed
        return parse

    return mark


def declared(check, name: str) -> Callable[[str], Any]:
    """An argument type from a field's declared check (``toymodels.limits``,
    ``toymodels.fields``): the text read as the check's kind, then the check itself, so a
    bound is written once for the spec files and the command line alike."""
    from toymodels.errors import ConfigError

    kinds = {int: (int, "an integer"), float: (float, "a number")}
    convert, kind = kinds.get(check.kind, (str, "text"))

    def parse(text: str):
        value = _parse(text, convert, kind, f"{name} ")
        try:
            return check.apply(name, value)
        except ConfigError as exc:
            message = str(exc)
            if isinstance(value, float) and not math.isfinite(value) and text not in message:
                message += f" (given as {text})"  # "1e999" was read as inf: say what was typed
            raise argparse.ArgumentTypeError(message) from None

    parse.allowed = check.allowed
    return parse


# The bounds of every config's ``lr`` and every spec's ``root_seed``, as argument types.
learning_rate = declared(LEARNING_RATE, "lr")
root_seed = declared(ROOT_SEED, "root_seed")


def add_learning_rate(p, default: float | None, default_text: str | None = None) -> None:
    """``--lr``, with its bound and default (``default_text`` when it comes from elsewhere,
    e.g. a preset) in its help."""
    said = default_text if default_text is not None else f"{default:g}"
    p.add_argument(
        "--lr",
        type=learning_rate,
        default=default,
        help=f"learning rate, {learning_rate.allowed} (default {said})",
    )


def add_root_seed(p) -> None:
    """``--root-seed``: the root every model's seed is spawned from."""
    p.add_argument(
        "--root-seed",
        type=root_seed,
        default=0,
        help=f"root of every model's seed, {root_seed.allowed} (default 0)",
    )


def at_least(lo: int, label: str) -> Callable[[str], int]:
    """An argument type for an integer >= ``lo``."""

    def parse(text: str) -> int:
        value = _parse(text, int, "an integer", label)
        if value < lo:
            raise argparse.ArgumentTypeError(f"{label}{value} must be an integer >= {lo}")
        return value

    parse.allowed = f"an integer >= {lo}"
    return parse


def between(lo: int, hi: int, label: str) -> Callable[[str], int]:
    """An argument type for an integer from ``lo`` to ``hi``."""

    def parse(text: str) -> int:
        value = _parse(text, int, "an integer", label)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"{label}{value} must be an integer from {lo:,} to {hi:,}"
            )
        return value

    parse.allowed = f"{lo:,} to {hi:,}"
    return parse


def at_most(hi: int, label: str) -> Callable[[str], int]:
    """An argument type for an integer from 1 to ``hi``."""

    def parse(text: str) -> int:
        value = positive_int(text, label)
        if value > hi:
            raise argparse.ArgumentTypeError(f"{label}{value} is above the limit of {hi:,}")
        return value

    parse.allowed = f"1 to {hi:,}"
    return parse


# A phase diagram's points per axis: one point has no cell edges to draw and the theory's
# boundaries need a range; beyond a thousand, a grid is a million cells, hours of training
# for a picture no finer than the screen.
GRID_POINTS = (2, 1000)


@allowing(f"{GRID_POINTS[0]} to {GRID_POINTS[1]}")
def grid_points(text: str) -> int:
    """Points per axis of a phase diagram, within :data:`GRID_POINTS`."""
    value = _parse(text, int, "an integer", "grid ")
    lo, hi = GRID_POINTS
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(
            f"grid {value} must be an integer from {lo} to {hi} (points per axis)"
        )
    return value


def add_contextual_options(parser: argparse.ArgumentParser) -> None:
    """``--contexts`` and ``--structure`` of the contextual task (its declared bounds and
    choices)."""
    from toymodels.limits import N_CONTEXTS, STRUCTURES

    parser.add_argument(
        "--contexts",
        type=declared(N_CONTEXTS, "contexts"),
        default=3,
        help=f"contexts K, {N_CONTEXTS.allowed} (default 3)",
    )
    parser.add_argument(
        "--structure",
        choices=STRUCTURES,
        default="different",
        help="same: the hierarchy in every context block; different: hierarchy, ring, "
        "regrouped (default different)",
    )


# -- options of every command that trains a sweep -------------------------------------------
def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs`` (default: the cores available) and ``--yes``, passed to ``sweeps.run`` as
    ``jobs=args.jobs, yes=args.yes``."""
    from sweeps._execution import available_cores

    cores = available_cores()
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=cores,
        metavar="J",
        help=f"worker processes (default: the {cores} cores available; more than the "
        "cores available is capped to them); a sweep of one chunk runs in this process, its "
        "steps on J cores where that changes no number",
    )
    parser.add_argument(
        "--yes", action="store_true", help="start a sweep above the size guard (refused without)"
    )


def train_into_out(args: argparse.Namespace, command: str, build: Callable):
    """``(spec, results)`` of a command that keeps its sweep in ``args.out/run``: ``--out``
    checked before any work (:func:`check_output_folder`), the spec ``build(args)`` (which
    validates, so a bad value fails before anything is written), then its sweep trained
    there (resuming it) with the options :func:`add_sweep_options` added and ``--quiet``."""
    from sweeps import run

    check_output_folder(args.out, command)
    spec = build(args)
    results = run(spec, args.out / "run", jobs=args.jobs, progress=not args.quiet, yes=args.yes)
    return spec, results


def job_cores(args: argparse.Namespace) -> int:
    """The cores ``--jobs`` grants on this machine (it is capped to those available)."""
    from sweeps._execution import available_cores

    return min(args.jobs, available_cores())


# -- output folders -------------------------------------------------------------------------
def train_runs(args: argparse.Namespace, runs: Mapping) -> dict:
    """Several sweeps of one command, ``runs`` as ``key → (spec, folder)``: every folder
    and size checked before any trains (nothing half-done on bad settings), then each
    trained there in turn (resuming it) with the options :func:`add_sweep_options` added
    and ``--quiet``; ``key → results``."""
    from sweeps import run
    from sweeps._size_guard import check_size
    from sweeps.storage import check_folder

    cores = job_cores(args)
    for spec, folder in runs.values():
        check_folder(folder, spec)
        check_size(spec, cores, args.yes)
    return {
        key: run(spec, folder, jobs=args.jobs, progress=not args.quiet, yes=args.yes)
        for key, (spec, folder) in runs.items()
    }


def check_output_folder(out: Path, command: str) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written, or a non-empty one
    that holds no earlier output of ``command`` (whose sweep is ``out/run``).

    An earlier output (``out/run/spec.json``) is resumed; ``sweeps.run`` then refuses it if
    it was made with other settings.  A folder holding only ``run`` is left for
    ``sweeps.run`` to judge (a run killed before it wrote ``spec.json`` leaves that).
    """
    from toymodels.errors import ConfigError
    from toymodels.files import check_writable

    check_writable(out)
    check_writable(out / "run")
    if not out.is_dir() or (out / "run" / "spec.json").is_file():
        return
    if [p.name for p in out.iterdir()] not in ([], ["run"]):
        raise ConfigError(
            f"--out {out} is not empty and holds no earlier output of toymodels {command} "
            f"({out / 'run' / 'spec.json'} missing); give a new or empty folder"
        )


# -- options that apply only to some choices ------------------------------------------------
@dataclass(frozen=True)
class OnlyWith:
    """``option`` does something only where ``holds(args)``: ``needs`` says where ("with
    --axis strength"; text, or a function giving it, so that ``--help`` imports no
    registry) and ``chosen(args)`` what the user chose instead, both for the error line;
    ``hint`` what to use there.

    A command lists them in ``set_defaults(only_with=(...))``, and ``cli.main`` refuses an
    option given where it does not apply before the command does any work.  "Given" is a
    value other than the option's default of None (or False for a flag), so an option
    listed here has such a default and states its real default in its help."""

    option: str
    holds: Callable[[argparse.Namespace], bool]
    needs: str | Callable[[], str]
    chosen: Callable[[argparse.Namespace], str]
    hint: str = ""
    #: the attribute the option sets, where it is not the option's name (a positional)
    attribute: str = ""

    @property
    def dest(self) -> str:
        return self.attribute or self.option.lstrip("-").replace("-", "_")

    def refusal(self, args: argparse.Namespace) -> str | None:
        value = getattr(args, self.dest)
        if value is None or value is False or value == [] or self.holds(args):
            return None
        needs = self.needs if isinstance(self.needs, str) else self.needs()
        hint = f"; {self.hint}" if self.hint else ""
        given = self.option if value is True else f"{self.option} {as_typed(value)}"
        return f"{given} applies only {needs}, not with {self.chosen(args)}{hint}"


def refuse_inapplicable(args: argparse.Namespace) -> None:
    """Refuse (``ConfigError``) the first option of the command's ``only_with`` list that
    was given where it does nothing."""
    from toymodels.errors import ConfigError

    for rule in getattr(args, "only_with", ()):
        refusal = rule.refusal(args)
        if refusal is not None:
            raise ConfigError(refusal)


def chose(args: argparse.Namespace, option: str, default: str) -> str:
    """What the user chose for ``option`` in words: ``--option VALUE`` when given, else
    ``default`` (e.g. "the default activation softmax")."""
    value = getattr(args, option.lstrip("-").replace("-", "_"))
    return f"{option} {as_typed(value)}" if value is not None else default


def as_typed(value) -> str:
    """An option's value as typed: numbers in ``g`` format, several values by spaces."""
    if isinstance(value, list | tuple):
        return " ".join(as_typed(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
