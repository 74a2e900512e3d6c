"""The ``toymodels`` command line: one console script, one subcommand module each.

Subcommand modules expose ``register(subparsers)``; handlers take the parsed arguments
and return an exit code.  Library errors (``ConfigError``) become one line on stderr and
exit code 2, and so do file-system faults (``OSError``: a full disk, a folder removed
mid-run); nothing else prints tracebacks for bad input.  Warnings of category
``Notice`` are printed as one ``warning:`` line each, and a run whose cells diverged
(``DivergedCells``) exits 1.  An option given where it does nothing (a command's
``only_with`` list, :class:`cli.arguments.OnlyWith`) is refused like a bad value.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
import warnings
from collections.abc import Iterator

from toymodels.errors import ConfigError, DivergedCells, Notice

from .arguments import refuse_inapplicable

# Errors that only writing raises (disk full, quota, file too large, read-only).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}

# (module, attribute) providing ``register``; imported when the parser is built, while
# heavy libraries are imported inside the handlers so that ``--help`` stays fast.
COMMANDS = (
    "cli.phase_diagram_command",
    "cli.sweep_command",
    "cli.families_command",
    "cli.analytic_command",
    "cli.multitask_command",
    "cli.conflict_command",
    "cli.competition_command",
    "cli.figures_command",
    "cli.bench_command",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as a single line (and exit code 2), and shows
    help without the reStructuredText markup of the docstrings it quotes."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")

    # Descriptions are the commands' module docstrings, which mark code with ``double
    # backticks`` for the documentation; a terminal shows the text plain.
    def format_help(self) -> str:
        return super().format_help().replace("``", "")

    def format_usage(self) -> str:
        return super().format_usage().replace("``", "")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="toymodels",
        description="Phase diagrams of toy neural-network models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse already printed it
        return int(exc.code or 0)
    prefix = f"toymodels {args.command}"
    diverged: list[bool] = []
    try:
        # An option given where it does nothing is refused before any work.
        refuse_inapplicable(args)
        with _notices(prefix, diverged):
            code = int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of stdout left (``toymodels families | head``): stop quietly, with
        # stdout pointed at nothing so that the interpreter's final flush cannot fail too.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        print(f"{prefix}: error: {_os_error(exc, getattr(args, 'out', None))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    # Models that diverged are a result the caller must not mistake for success.
    return 1 if code == 0 and any(diverged) else code


@contextlib.contextmanager
def _notices(prefix: str, diverged: list[bool]) -> Iterator[None]:
    """Print each ``Notice`` warned inside the block as one line (Python's format takes
    two and names a source line the user never wrote); append to ``diverged`` whether it
    was a ``DivergedCells``.  Other warnings keep Python's handling."""
    with warnings.catch_warnings():
        # Every notice counts, even a repeat from the same line (e.g. two sweeps).
        warnings.simplefilter("always", Notice)
        show = warnings.showwarning

        def shown(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, Notice):
                return show(message, category, filename, lineno, file, line)
            diverged.append(issubclass(category, DivergedCells))
            text = " ".join(str(message).splitlines())
            print(f"{prefix}: warning: {text}", file=sys.stderr, flush=True)

        warnings.showwarning = shown  # restored by catch_warnings
        yield


def _os_error(exc: OSError, out) -> str:
    """One line: the file (when known) and the system's reason.  A failed write to an
    open file names no file; errors only writes raise are then placed in ``out``, the
    command's output folder."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename
    if where is not None and exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    if where is None and out is not None and exc.errno in _WRITE_ERRNOS:
        where = f"writing in {out}"
    text = reason if where is None else f"{where}: {reason}"
    return " ".join(str(text).splitlines())


if __name__ == "__main__":
    sys.exit(main())
