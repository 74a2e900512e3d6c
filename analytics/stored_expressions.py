"""Sympy expressions as plain JSON trees, read back without running any code.

The disk cache (``analytics._cache``) is a folder other processes can write to, so a
stored expression is data to check, never text to evaluate: ``parse_expr``/``sympify``
evaluate Python, and a cached ``p + 0*len(str(__import__('os').system(...)))`` would run.
Here an expression is a tree of JSON lists ``[kind, ...]`` whose kinds come from a fixed
table (:data:`KINDS`) of the node types the derivations produce; :func:`decode` rebuilds it
with sympy's constructors, one node at a time, and refuses anything else.

Decoding is bounded as well (:data:`TREE`, from ``tree_limits``, which ``tree_numeric``'s
numpy evaluator shares), since a tampered tree could ask for expensive
work: at most ``TREE.nodes`` nodes and ``TREE.depth`` levels; integers of at most
``TREE.digits`` digits and ``TREE.total_digits`` in all (so whatever sympy combines while
rebuilding stays small); every rebuilt node is checked again (numbers within
``TREE.digits``, exponents within ``TREE.exponent``: a product of many powers of ``p``
must not become ``p**10**9``, which would hang the first evaluation); roots of polynomials
of degree at most ``TREE.root_degree``.  Each limit is far above what a derivation within
``analytics.inputs``' limits produces (loss degrees ~100, crossing polynomials of degree
<= 16), and :func:`encode` returns None for an expression outside them, which is then
simply not cached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import sympy

from .symbols import SYMBOLS
from .tree_limits import NODE_METHODS, TREE, TreeLimits, TreeReader, Undecodable

__all__ = ["KINDS", "TREE", "TreeLimits", "Undecodable", "decode", "encode"]


_TREE_BITS = math.ceil(TREE.digits * math.log2(10))
# The variable sympy writes root-of-polynomial nodes in (only the coefficients matter).
_ROOT_VARIABLE = sympy.Symbol("x")


# kind -> (sympy class to recognise, number of children or None for any)
_RELATIONS = {
    "<": sympy.StrictLessThan,
    "<=": sympy.LessThan,
    ">": sympy.StrictGreaterThan,
    ">=": sympy.GreaterThan,
}
_FUNCTIONS = {"exp": sympy.exp, "log": sympy.log}
_CONSTANTS = {"E": sympy.E, "pi": sympy.pi, "true": sympy.true, "false": sympy.false}
KINDS = (
    *NODE_METHODS,
    "rootof",
    *_RELATIONS,
    *_FUNCTIONS,
    *_CONSTANTS,
)


# -- encoding -----------------------------------------------------------------------------
def encode(
    expr: sympy.Basic, symbols: Mapping[str, sympy.Symbol] = SYMBOLS, printed: bool = False
) -> list | None:
    """``expr`` as a JSON tree, or None when it holds a node outside the table or the
    limits (or would not decode to exactly ``expr``).  ``symbols``: the symbols it may
    hold, by name (default: ``p`` and ``r``); :func:`decode` must be given the same.
    ``printed``: list the terms of a sum and the factors of a product in the order sympy's
    printers (and so ``lambdify``) write them, which ``tree_numeric`` follows to round as
    ``lambdify`` does (decoding is the same either way)."""
    try:
        tree = _encode(expr, 0, [0], symbols, printed)
        decoded = decode(tree, symbols)
    except (ValueError, RecursionError):  # Undecodable, or an integer too long for str()
        return None
    return tree if decoded == expr else None


def _encode(
    expr, depth: int, count: list[int], symbols: Mapping[str, sympy.Symbol], printed: bool
) -> list:
    count[0] += 1
    if depth > TREE.depth or count[0] > TREE.nodes:
        raise Undecodable("too large to store")
    sub = lambda e: _encode(e, depth + 1, count, symbols, printed)  # noqa: E731
    if expr.is_Integer:
        return ["int", str(int(expr))]
    if expr.is_Rational:
        return ["rational", str(int(expr.p)), str(int(expr.q))]
    if expr.is_Symbol:
        if symbols.get(expr.name) != expr:
            raise Undecodable(f"symbol {expr} is not one of {sorted(symbols)}")
        return ["symbol", expr.name]
    for kind, value in _CONSTANTS.items():
        if expr == value and type(expr) is type(value):
            return [kind]
    if expr.is_Add:
        return ["add", *map(sub, expr.as_ordered_terms() if printed else expr.args)]
    if expr.is_Mul:
        return ["mul", *map(sub, expr.as_ordered_factors() if printed else expr.args)]
    if expr.is_Pow:
        return ["pow", sub(expr.base), sub(expr.exp)]
    for kind, cls in _FUNCTIONS.items():
        if type(expr) is cls:
            return [kind, *map(sub, expr.args)]
    for kind, cls in _RELATIONS.items():
        if type(expr) is cls:
            return [kind, sub(expr.lhs), sub(expr.rhs)]
    if isinstance(expr, sympy.Piecewise):
        return ["piecewise", *([sub(e), sub(c)] for e, c in expr.args)]
    if isinstance(expr, sympy.CRootOf):
        coeffs = [str(int(c)) for c in expr.poly.all_coeffs()]
        return ["rootof", coeffs, int(expr.index)]
    raise Undecodable(f"no stored form for {type(expr).__name__}")


# -- decoding -----------------------------------------------------------------------------
def decode(tree, symbols: Mapping[str, sympy.Symbol] = SYMBOLS) -> sympy.Basic:
    """The expression a tree written by :func:`encode` stands for; :class:`Undecodable`
    for anything else (wrong types, unknown kinds or symbols, sizes beyond the limits)."""
    try:
        return _Decoder(symbols).node(tree, 0)
    except Undecodable:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise Undecodable(f"{type(exc).__name__}: {exc}") from None


def _expression(value, where: str) -> None:
    if not isinstance(value, sympy.Expr):
        raise Undecodable(f"{where} needs an expression, got {type(value).__name__}")


def _bounded(expr: sympy.Basic) -> sympy.Basic:
    """Refuse a rebuilt node whose numbers or exponents sympy grew beyond the limits."""
    for node in (expr, *expr.args):
        if node.is_Rational:
            if int(node.p).bit_length() + int(node.q).bit_length() > 2 * _TREE_BITS:
                raise Undecodable(f"a number beyond {TREE.digits} digits")
        elif node.is_Pow:
            e = node.exp
            if not (e.is_Rational and abs(e.p) <= TREE.exponent and e.q <= TREE.exponent):
                raise Undecodable(f"an exponent beyond {TREE.exponent}")
    return expr


class _Decoder(TreeReader):
    def __init__(self, symbols: Mapping[str, sympy.Symbol]):
        super().__init__()
        self.symbols = symbols

    def node(self, tree, depth: int) -> sympy.Basic:
        self.enter(depth)
        if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
            raise Undecodable("a node must be a list [kind, ...]")
        kind, args = tree[0], tree[1:]
        build = getattr(self, "kind_" + _METHOD.get(kind, "unknown"))
        return _bounded(build(kind, args, depth + 1))

    def children(self, kind: str, args: list, n: int, depth: int) -> list:
        if len(args) != n:
            raise Undecodable(f"{kind} takes {n} children, got {len(args)}")
        return [self.node(t, depth) for t in args]

    def kind_unknown(self, kind, args, depth):
        raise Undecodable(f"unknown node kind {kind!r}")

    def kind_int(self, kind, args, depth):
        if len(args) != 1:
            raise Undecodable("int takes one string")
        return sympy.Integer(self.integer(args[0]))

    def kind_rational(self, kind, args, depth):
        return sympy.Rational(*self.rational_parts(args))

    def kind_symbol(self, kind, args, depth):
        if len(args) != 1 or not isinstance(args[0], str) or args[0] not in self.symbols:
            raise Undecodable(f"unknown symbol {args!r}")
        return self.symbols[args[0]]

    def kind_constant(self, kind, args, depth):
        if args:
            raise Undecodable(f"{kind} takes no children")
        return _CONSTANTS[kind]

    def kind_sum(self, kind, args, depth):
        terms = [self.node(t, depth) for t in args]
        if len(terms) < 2:
            raise Undecodable(f"{kind} needs two or more terms")
        for term in terms:
            _expression(term, kind)
        return sympy.Add(*terms) if kind == "add" else sympy.Mul(*terms)

    def kind_pow(self, kind, args, depth):
        base, exp = self.children(kind, args, 2, depth)
        _expression(base, kind)
        if not (exp.is_Rational and abs(exp.p) <= TREE.exponent and exp.q <= TREE.exponent):
            raise Undecodable(f"exponents must be rationals up to {TREE.exponent}")
        if base.is_Rational:
            # sympy computes a numeric power at once: bound its size before it does
            bits = int(base.p).bit_length() + int(base.q).bit_length()
            if bits * abs(int(exp.p)) > 2 * _TREE_BITS:
                raise Undecodable(f"a numeric power beyond {TREE.digits} digits")
        return sympy.Pow(base, exp)

    def kind_function(self, kind, args, depth):
        (arg,) = self.children(kind, args, 1, depth)
        _expression(arg, kind)
        return _FUNCTIONS[kind](arg)

    def kind_relation(self, kind, args, depth):
        lhs, rhs = self.children(kind, args, 2, depth)
        _expression(lhs, kind)
        _expression(rhs, kind)
        return _RELATIONS[kind](lhs, rhs)

    def kind_piecewise(self, kind, args, depth):
        pairs = []
        for pair in args:
            if not isinstance(pair, list) or len(pair) != 2:
                raise Undecodable("a piecewise takes [expression, condition] pairs")
            expr, cond = self.node(pair[0], depth), self.node(pair[1], depth)
            _expression(expr, kind)
            if not isinstance(cond, sympy.logic.boolalg.Boolean):
                raise Undecodable("a piecewise condition must be a relation or true")
            pairs.append((expr, cond))
        if not pairs:
            raise Undecodable("a piecewise needs a piece")
        return sympy.Piecewise(*pairs)

    def kind_rootof(self, kind, args, depth):
        if len(args) != 2:
            raise Undecodable("rootof takes [coefficients], index")
        coeffs, index = args
        if not isinstance(coeffs, list) or not 2 <= len(coeffs) <= TREE.root_degree + 1:
            raise Undecodable(f"a root needs 2 to {TREE.root_degree + 1} coefficients")
        if isinstance(index, bool) or not isinstance(index, int):
            raise Undecodable("a root's index must be an integer")
        poly = sympy.Poly([self.integer(c) for c in coeffs], _ROOT_VARIABLE)
        if poly.degree() < 1 or not 0 <= index < poly.degree():
            raise Undecodable("a root's index must name one of its polynomial's roots")
        return sympy.CRootOf(poly, index)


_METHOD = {
    **NODE_METHODS,
    "rootof": "rootof",
    **dict.fromkeys(_CONSTANTS, "constant"),
    **dict.fromkeys(_FUNCTIONS, "function"),
    **dict.fromkeys(_RELATIONS, "relation"),
}
