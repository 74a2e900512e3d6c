"""The command-line options every benchmark script shares, named and checked alike."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from .steady_state import ENGINE_MIN_STEPS


def at_least(least: int) -> Callable[[str], int]:
    """An argument type: an integer no smaller than ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value}: must be at least {least}")
        return value

    return parse


def add_timing_options(parser: argparse.ArgumentParser, engine_threads: int | None) -> None:
    """``--repeats`` and the engine's ``--threads`` (default ``engine_threads``, or all
    cores when None)."""
    parser.add_argument("--repeats", type=at_least(1), default=3, help="alternating runs (3)")
    if engine_threads is None:
        default, text = os.cpu_count() or 1, "default: all cores"
    else:
        default, text = engine_threads, f"default {engine_threads}"
    parser.add_argument(
        "--threads", type=at_least(1), default=default, help=f"engine threads ({text})"
    )


def add_step_options(parser: argparse.ArgumentParser, engine_steps: int) -> None:
    """Steps per run of the straightforward loop and of the engine."""
    parser.add_argument(
        "--straightforward-steps",
        type=at_least(1),
        default=15,
        help="timed steps of the straightforward loop per run (15)",
    )
    parser.add_argument(
        "--engine-steps",
        type=at_least(ENGINE_MIN_STEPS),
        default=engine_steps,
        help=f"engine steps per run, >= {ENGINE_MIN_STEPS} ({engine_steps})",
    )


def alternation_note(args: argparse.Namespace, engine_threads: bool) -> str:
    """What the options of :func:`add_timing_options` and :func:`add_step_options` made
    of the timings, for a table's note."""
    on = f" on {args.threads} threads" if engine_threads else ""
    return (
        f"medians of {args.repeats} alternating runs ({args.straightforward_steps} timed "
        f"steps of the straightforward loop, {args.engine_steps} steps of the engine{on})"
    )


def add_output_options(parser: argparse.ArgumentParser, in_process: bool = True) -> None:
    """``--in-process`` (where the script can time without fresh processes), ``--markdown``
    and ``--json``."""
    if in_process:
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="time everything in this process (quicker; memory figures then accumulate)",
        )
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
