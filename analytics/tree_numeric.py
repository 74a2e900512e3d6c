"""A stored expression tree (``stored_expressions``) as a numpy function, without sympy.

``sympy.lambdify`` of a decoded tree costs the sympy import (~0.3 s) in every process
that only wants numbers from a cached closed form (``multitask train``, ``analytic modes``).
Here the tree itself is compiled, one node at a time, into nested numpy closures.  The
stance is ``stored_expressions``': a tree from the shared cache is data to check, never
text to run, so only the fixed node kinds below are accepted, within the same limits
(``tree_limits.TREE``: nodes, depth, digits, exponents), and anything else raises
:class:`Undecodable`, on which the caller derives afresh.  Kinds without a numeric meaning
here (``rootof``) are refused as well: the closed forms evaluated this way hold none.

The function takes its arguments in the order of ``names`` and broadcasts them as numpy
does; its values equal ``sympy.lambdify(names, decode(tree), "numpy")``'s up to rounding
(a product with a reciprocal instead of a quotient: an ulp or two per node).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from .tree_limits import NODE_METHODS, TREE, TreeReader, Undecodable

__all__ = ["NUMERIC_KINDS", "numeric"]

_RELATIONS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
_FUNCTIONS = {"exp": np.exp, "log": np.log}
_CONSTANTS = {"E": math.e, "pi": math.pi}
_TRUTHS = {"true": True, "false": False}
NUMERIC_KINDS = (
    *NODE_METHODS,
    *_RELATIONS,
    *_FUNCTIONS,
    *_CONSTANTS,
    *_TRUTHS,
)

# A compiled node: a function of the argument tuple, and whether it is a value (True)
# or a condition (False), so a condition is never added and a value never selects.
_Node = tuple[Callable[[tuple], object], bool]


def numeric(tree, names: Sequence[str]) -> Callable[..., np.ndarray]:
    """``tree`` as a function of the arguments ``names`` (in that order) on numpy arrays;
    :class:`Undecodable` for anything but a tree of :data:`NUMERIC_KINDS` within the
    limits naming only ``names``."""
    compiler = _Compiler(tuple(names))
    try:
        fn, is_value = compiler.node(tree, 0)
    except Undecodable:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise Undecodable(f"{type(exc).__name__}: {exc}") from None
    if not is_value:
        raise Undecodable("a stored expression must be a value, not a condition")
    n = len(names)

    def evaluate(*values) -> np.ndarray:
        if len(values) != n:
            raise TypeError(f"takes {n} arguments ({', '.join(names)}), got {len(values)}")
        return np.asarray(fn(tuple(np.asarray(v, dtype=float) for v in values)))

    return evaluate


class _Compiler(TreeReader):
    def __init__(self, names: tuple[str, ...]):
        super().__init__()
        self.index = {name: i for i, name in enumerate(names)}

    def node(self, tree, depth: int) -> _Node:
        self.enter(depth)
        if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
            raise Undecodable("a node must be a list [kind, ...]")
        kind, args = tree[0], tree[1:]
        if kind not in NUMERIC_KINDS:
            raise Undecodable(f"no numeric form for node kind {kind!r}")
        return getattr(self, "kind_" + _METHOD[kind])(kind, args, depth + 1)

    def value(self, tree, depth: int, where: str) -> Callable[[tuple], object]:
        fn, is_value = self.node(tree, depth)
        if not is_value:
            raise Undecodable(f"{where} needs an expression, got a condition")
        return fn

    def number(self, tree) -> Fraction:
        """An exponent: a literal ``int`` or ``rational`` node (all ``encode`` writes)."""
        self.nodes += 1
        if isinstance(tree, list) and len(tree) == 2 and tree[0] == "int":
            return Fraction(self.integer(tree[1]))
        if isinstance(tree, list) and len(tree) == 3 and tree[0] == "rational":
            return self.rational(tree[1:])
        raise Undecodable("an exponent must be an int or rational node")

    def rational(self, args) -> Fraction:
        return Fraction(*self.rational_parts(args))

    def kind_int(self, kind, args, depth) -> _Node:
        if len(args) != 1:
            raise Undecodable("int takes one string")
        x = float(self.integer(args[0]))  # OverflowError beyond a float: refused
        return (lambda env: x), True

    def kind_rational(self, kind, args, depth) -> _Node:
        x = float(self.rational(args))
        return (lambda env: x), True

    def kind_symbol(self, kind, args, depth) -> _Node:
        if len(args) != 1 or not isinstance(args[0], str) or args[0] not in self.index:
            raise Undecodable(f"unknown symbol {args!r}")
        i = self.index[args[0]]
        return operator.itemgetter(i), True

    def kind_constant(self, kind, args, depth) -> _Node:
        if args:
            raise Undecodable(f"{kind} takes no children")
        x = _CONSTANTS[kind]
        return (lambda env: x), True

    def kind_truth(self, kind, args, depth) -> _Node:
        if args:
            raise Undecodable(f"{kind} takes no children")
        x = _TRUTHS[kind]
        return (lambda env: x), False

    def kind_sum(self, kind, args, depth) -> _Node:
        if len(args) < 2:
            raise Undecodable(f"{kind} needs two or more terms")
        if kind == "add":
            terms = [self.value(t, depth, kind) for t in args]

            def total(env):
                out = terms[0](env)
                for term in terms[1:]:
                    out = out + term(env)
                return out

            return total, True
        # A product rounds as sympy's code printer writes it: the factors in the tree's
        # order, those with a negative exponent as one denominator, n1*n2*.../(d1*d2*...).
        above, below = [], []
        for tree in args:
            factor = self.denominator(tree, depth)
            if factor is None:
                above.append(self.value(tree, depth, kind))
            else:
                below.append(factor)

        def product(env):
            out = above[0](env) if above else 1.0
            for factor in above[1:]:
                out = out * factor(env)
            if below:
                den = below[0](env)
                for factor in below[1:]:
                    den = den * factor(env)
                out = out / den
            return out

        return product, True

    def denominator(self, tree, depth: int) -> Callable[[tuple], object] | None:
        """A ``pow`` node with a negative exponent, as its factor of a denominator
        (``base ** -e``); None for any other node."""
        if not (isinstance(tree, list) and len(tree) == 3 and tree[0] == "pow"):
            return None
        e = tree[2]
        if not (isinstance(e, list) and e[:1] in (["int"], ["rational"])):
            return None
        if not (len(e) > 1 and isinstance(e[1], str) and e[1].startswith("-")):
            return None
        self.enter(depth)  # the pow node
        base = self.value(tree[1], depth + 1, "pow")
        return self.power(base, -self.number(tree[2]))

    def power(self, base: Callable[[tuple], object], e: Fraction) -> Callable[[tuple], object]:
        """``base ** e`` as numpy's printer writes it: a square root for 1/2, an integer
        power for a positive integer, a float power otherwise (``x**(-2.0)``)."""
        if not (abs(e.numerator) <= TREE.exponent and e.denominator <= TREE.exponent):
            raise Undecodable(f"exponents must be rationals up to {TREE.exponent}")
        if e == 1:
            return base
        if e == Fraction(1, 2):
            return lambda env: np.sqrt(base(env))
        if e == Fraction(-1, 2):
            return lambda env: 1 / np.sqrt(base(env))
        exponent = int(e) if e.denominator == 1 and e > 0 else float(e)
        return lambda env: base(env) ** exponent

    def kind_pow(self, kind, args, depth) -> _Node:
        if len(args) != 2:
            raise Undecodable(f"pow takes 2 children, got {len(args)}")
        base = self.value(args[0], depth, kind)
        return self.power(base, self.number(args[1])), True

    def kind_function(self, kind, args, depth) -> _Node:
        if len(args) != 1:
            raise Undecodable(f"{kind} takes 1 child, got {len(args)}")
        arg, fn = self.value(args[0], depth, kind), _FUNCTIONS[kind]
        return (lambda env: fn(arg(env))), True

    def kind_relation(self, kind, args, depth) -> _Node:
        if len(args) != 2:
            raise Undecodable(f"{kind} takes 2 children, got {len(args)}")
        lhs, rhs = (self.value(t, depth, kind) for t in args)
        compare = _RELATIONS[kind]
        return (lambda env: compare(lhs(env), rhs(env))), False

    def kind_piecewise(self, kind, args, depth) -> _Node:
        pieces = []
        for pair in args:
            if not isinstance(pair, list) or len(pair) != 2:
                raise Undecodable("a piecewise takes [expression, condition] pairs")
            expr = self.value(pair[0], depth, kind)
            cond, is_value = self.node(pair[1], depth)
            if is_value:
                raise Undecodable("a piecewise condition must be a relation or true")
            pieces.append((expr, cond))
        if not pieces:
            raise Undecodable("a piecewise needs a piece")

        def evaluate(env):
            # the first piece whose condition holds, nan where none does (as lambdify)
            values = [expr(env) for expr, _ in pieces]
            conds = [cond(env) for _, cond in pieces]
            *arrays, _ = np.broadcast_arrays(*values, *conds, 0.0)
            n = len(values)
            return np.select(arrays[n:], arrays[:n], default=np.nan)

        return evaluate, True


_METHOD = {
    **NODE_METHODS,
    **dict.fromkeys(_CONSTANTS, "constant"),
    **dict.fromkeys(_TRUTHS, "truth"),
    **dict.fromkeys(_FUNCTIONS, "function"),
    **dict.fromkeys(_RELATIONS, "relation"),
}
