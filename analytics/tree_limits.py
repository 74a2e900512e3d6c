"""How large a stored expression tree may be, and the error for one that is not a tree
``stored_expressions.encode`` writes: shared by the sympy decoder
(``stored_expressions``) and the numpy evaluator (``tree_numeric``), so neither can be
laxer than the other, and sympy-free, so the evaluator loads without it."""

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


class Undecodable(ValueError):
    """A stored tree that is not one ``stored_expressions.encode`` writes."""
