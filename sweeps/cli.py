"""The ``toymodels`` command line: one console script, one subcommand module each.

Subcommand modules expose ``register(subparsers)``; handlers take the parsed arguments
and return an exit code.  Library errors (``ConfigError``) become one line on stderr and
exit code 2; nothing else prints tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from toymodels.errors import ConfigError

# (module, attribute) providing ``register``; imported when the parser is built, while
# heavy libraries are imported inside the handlers so that ``--help`` stays fast.
COMMANDS = (
    "sweeps.commands.phase_diagram",
    "sweeps.commands.sweep",
    "sweeps.commands.families",
    "sweeps.commands.analytic",
    "sweeps.commands.multitask",
    "sweeps.commands.conflict",
    "sweeps.commands.competition",
    "sweeps.commands.figures",
    "sweeps.commands.bench",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as a single line (and exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


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
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"toymodels {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"toymodels {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
