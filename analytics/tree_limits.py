"""How large a stored expression tree may be, the error for one that is not a tree
``stored_expressions.encode`` writes, and the reader that keeps count while a tree is
read (:class:`TreeReader`): shared by the sympy decoder (``stored_expressions``) and the
numpy evaluator (``tree_numeric``), so neither can be laxer than the other, and
sympy-free, so the evaluator loads without it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TreeLimits:
    """How large a stored tree may be when it is read (see ``stored_expressions``)."""

    nodes: int = 100_000
    depth: int = 64
    digits: int = 2000  # of one integer
    total_digits: int = 5_000_000  # of every number in the tree
    exponent: int = 1024  # numerator and denominator of a power
    root_degree: int = 32  # of a root-of-polynomial node


TREE = TreeLimits()

# How a stored integer is written: a decimal string within ``TREE.digits``.
INTEGER = re.compile(rf"^-?[0-9]{{1,{TREE.digits}}}$")


# The method (``kind_<method>``) each reader reads these node kinds with; a reader adds the
# kinds it names itself (constants, functions, relations, ...).
NODE_METHODS = {
    "int": "int",
    "rational": "rational",
    "symbol": "symbol",
    "add": "sum",
    "mul": "sum",
    "pow": "pow",
    "piecewise": "piecewise",
}


class Undecodable(ValueError):
    """A stored tree that is not one ``stored_expressions.encode`` writes."""


class TreeReader:
    """What every reader of a stored tree counts as it goes: nodes, depth and digits,
    each within ``TREE``; a reader subclasses it with how it builds each kind of node."""

    def __init__(self):
        self.nodes = 0
        self.digits = 0

    def enter(self, depth: int) -> None:
        """Count one more node at ``depth``, within the limits."""
        self.nodes += 1
        if depth > TREE.depth:
            raise Undecodable(f"nested deeper than {TREE.depth}")
        if self.nodes > TREE.nodes:
            raise Undecodable(f"more than {TREE.nodes} nodes")

    def integer(self, text) -> int:
        if not isinstance(text, str) or not INTEGER.match(text):
            raise Undecodable(f"an integer must be a string of at most {TREE.digits} digits")
        self.digits += len(text)
        if self.digits > TREE.total_digits:
            raise Undecodable(f"more than {TREE.total_digits} digits in all")
        return int(text)

    def rational_parts(self, args) -> tuple[int, int]:
        """``(numerator, denominator > 0)`` of a ``rational`` node's two strings."""
        if len(args) != 2:
            raise Undecodable("rational takes two strings")
        num, den = self.integer(args[0]), self.integer(args[1])
        if den <= 0:
            raise Undecodable("a rational needs a positive denominator")
        return num, den
