"""One entry's text (a number or an expression in ``p``/``r``) to an exact sympy value,
without evaluating it as Python.

The text is parsed with :mod:`ast`, every node is checked against a short table (numbers,
``p``/``r``, ``+ - * / **``, ``sqrt``/``exp``/``log``/``Rational``) and against size limits,
and only then is the sympy expression built from it node by node.  The limits come first
because some work cannot be interrupted once it starts: CPython computes ``9**9**9`` as
one big-integer power that no signal stops, and ``p**99999999`` makes sympy build a
polynomial with a hundred million coefficients.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from fractions import Fraction

import sympy

from toymodels.errors import ConfigError

from .symbols import SYMBOLS

# Names an entry may call besides the symbols: enough for closed-form biases such as
# sqrt(p)/2, and nothing that reaches Python beyond sympy's arithmetic.
_FUNCTIONS = {"sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "Rational": sympy.Rational}
_ARITY = {"sqrt": (1,), "exp": (1,), "log": (1, 2), "Rational": (1, 2)}
NON_FINITE = {"inf", "infinity", "nan", "oo", "zoo"}
_ALLOWED_CHARS = re.compile(r"^[0-9A-Za-z_+\-*/^().,\s\[\]]*$")
_DECIMAL = re.compile(r"^(?:\d[\d_]*)?(?:\.(?:\d[\d_]*)?)?(?:[eE]([+-]?\d[\d_]*))?$")

# -- limits, all checked on the syntax tree before anything is computed ------------------
# Characters in one option or entry: a 4x4 W of 15-digit decimals is ~300, a bias like
# "(1 - p)**3/2 + sqrt(p)/3" ~25.
ENTRY_MAX_TEXT = 1000
# Nesting: brackets, parentheses, function calls, unary signs and operators of different
# kinds (a flat sum a + b + c + ... is one level).  Closed forms need a handful; the cap
# keeps both Python's parser and the recursive checks below far from their stack limits.
ENTRY_MAX_DEPTH = 32
# Exponents must be numbers with |e| <= 16 and a denominator <= 16 (p**2, (1 - p)**3,
# p**(1/2), p**-1 ...).  A bias of degree d makes the loss a polynomial of degree about
# (n + 2)·d in p: at d = 16 the slowest case measured (n = 4, four biases of degree 16)
# takes 6 s, at 64 an n = 2 model already takes 5 s; the paper's biases have degree <= 1.
ENTRY_MAX_EXPONENT = 16
# The degree of an entry in p (or r), counting powers and products and a denominator's
# degree with the numerator's, and with fractional powers as a polynomial in p**(1/L), L
# their common denominator (p**16 + sqrt(p) has degree 32 in p**(1/2)): the bias's
# crossings with the ReLU's switching points are the roots of that polynomial.  Same cost
# argument as for single exponents; at degree 32 sympy's exact root refinement was seen
# to run for minutes.
ENTRY_MAX_DEGREE = 16
# Bits of the largest number an entry can produce (literals, their products and powers,
# exp of a number): 4096 bits ~ 1233 digits, far beyond any real entry, while every big
# integer operation at that size takes microseconds.
ENTRY_MAX_BITS = 4096
# The power of ten a decimal literal may carry (1e-300 .. 1e300): 1e-99999999 is a float
# 0.0 but an exact rational with a hundred-million-digit denominator.
ENTRY_MAX_DECIMAL_EXPONENT = 300
ENTRY_MAX_DIGITS = math.floor(ENTRY_MAX_BITS * math.log10(2))


def shown_text(text: str) -> str:
    """``text`` for a message: quoted, and cut short when long."""
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."


@dataclass(frozen=True)
class _Size:
    """What an expression can cost, bounded from its syntax without computing anything:
    its degree in the symbols, the common denominator ``root`` of the powers they appear
    in (``p**(1/2) + p**(1/3)`` is a polynomial in ``p**(1/6)``) and the bits of the
    largest number it can produce."""

    degree: Fraction
    bits: int
    root: int = 1

    @property
    def work(self) -> Fraction:
        """The degree as a polynomial in ``p**(1/root)``: what root finding works with."""
        return self.degree * self.root


def _exp_bits(bits: int) -> int:
    # |x| < 2^bits, so exp(x) < e^(2^bits) = 2^(1.45·2^bits); capped before 2^bits explodes.
    return math.ceil(1.45 * 2 ** min(bits, 16))


def _bits(value: Fraction) -> int:
    return value.numerator.bit_length() + value.denominator.bit_length()


_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _chain(node: ast.BinOp) -> list[tuple[type, ast.expr]]:
    """``a + b - c`` as ``[(Add, a), (Add, b), (Sub, c)]``: the left spine of operators of
    one kind, walked without recursion (a long flat sum is one level, not hundreds)."""
    kinds = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
    out = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, kinds):
        out.append((type(node.op), node.right))
        node = node.left
    out.append((ast.Add if kinds is _ADDITIVE else ast.Mult, node))
    return out[::-1]


class _Entry:
    """One entry's text: checked against the limits (:meth:`check`), then built (:meth:`build`)."""

    def __init__(self, text: str, name: str, symbols: tuple[str, ...]):
        self.text, self.name, self.symbols = text, name, symbols
        self.source = text.replace("^", "**")

    def error(self, why: str) -> ConfigError:
        return ConfigError(f"{self.name}={shown_text(self.text)} {why}")

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or "?"

    def parse(self) -> ast.expr:
        try:
            return ast.parse(self.source, mode="eval").body
        except (SyntaxError, ValueError) as exc:
            raise self.error(f"is not a valid number or expression ({exc.msg})") from None
        except (RecursionError, MemoryError):
            raise self.error(f"is nested too deeply; at most {ENTRY_MAX_DEPTH} levels") from None

    # -- checks ----------------------------------------------------------------------
    def number(self, node: ast.Constant) -> Fraction:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float | complex):
            raise self.error(f"has {self.segment(node)}, which is not a number")
        if isinstance(value, complex):
            raise self.error("is not a real number; complex literals are not allowed")
        if isinstance(value, int):
            return Fraction(value)
        text = self.segment(node)
        match = _DECIMAL.match(text)
        if not math.isfinite(value):
            raise self.error(f"is not finite ({text}); finite numbers are required")
        if not match:
            raise self.error(f"has the number {text!r}; write decimals like 0.25 or 1e-3")
        if match.group(1) is not None and abs(int(match.group(1))) > ENTRY_MAX_DECIMAL_EXPONENT:
            raise self.error(
                f"has the number {text}, whose power of ten is outside "
                f"-{ENTRY_MAX_DECIMAL_EXPONENT}..{ENTRY_MAX_DECIMAL_EXPONENT}"
            )
        return Fraction(text.replace("_", ""))

    def exponent(self, node: ast.expr) -> Fraction:
        """An exponent: a number, or +-*/ of numbers (``-1``, ``1/2``, ``(3/2)``)."""
        return self.constant(
            node,
            f"has the exponent {self.segment(node)}; exponents must be numbers from "
            f"-{ENTRY_MAX_EXPONENT} to {ENTRY_MAX_EXPONENT} with a denominator <= "
            f"{ENTRY_MAX_EXPONENT} (like p**2 or p**(1/2))",
        )

    def constant(self, node: ast.expr, why: str, depth: int = 0) -> Fraction:
        """A number written as +-*/ of literals, computed exactly (no powers: their size
        is what the limits are about); anything else is refused with ``why``."""
        if depth > ENTRY_MAX_DEPTH:
            raise self.error(why)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.constant(node.operand, why, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE):
            a = self.constant(node.left, why, depth + 1)
            b = self.constant(node.right, why, depth + 1)
            if isinstance(node.op, ast.Div) and b == 0:
                raise self.error(why)
            ops = {ast.Add: a.__add__, ast.Sub: a.__sub__, ast.Mult: a.__mul__}
            return ops.get(type(node.op), a.__truediv__)(b)
        raise self.error(why)

    def check(self, node: ast.expr, depth: int = 0) -> _Size:
        if depth > ENTRY_MAX_DEPTH:
            raise self.error(f"is nested too deeply; at most {ENTRY_MAX_DEPTH} levels are allowed")
        size = self._size(node, depth)
        if size.work > ENTRY_MAX_DEGREE:
            symbol = "/".join(self.symbols) or "its symbols"
            variable = symbol if size.root == 1 else f"{symbol}**(1/{size.root})"
            raise self.error(
                f"has degree {size.work} in {variable} (powers and products, a "
                f"denominator's counted too); at most {ENTRY_MAX_DEGREE}"
            )
        if size.bits > ENTRY_MAX_BITS:
            raise self.error(
                f"can produce numbers of more than {ENTRY_MAX_DIGITS} digits (at "
                f"{shown_text(self.segment(node))}); numbers are limited to about that size"
            )
        return size

    def _size(self, node: ast.expr, depth: int) -> _Size:
        if isinstance(node, ast.Constant):
            return _Size(Fraction(0), _bits(self.number(node)))
        if isinstance(node, ast.Name):
            return self.name_size(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self.check(node.operand, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = self.exponent(node.right)
            if abs(e) > ENTRY_MAX_EXPONENT or e.denominator > ENTRY_MAX_EXPONENT:
                raise self.error(
                    f"has the exponent {self.segment(node.right)}; exponents must be numbers "
                    f"from -{ENTRY_MAX_EXPONENT} to {ENTRY_MAX_EXPONENT} with a denominator <= "
                    f"{ENTRY_MAX_EXPONENT} (like p**2 or p**(1/2))"
                )
            base = self.check(node.left, depth + 1)
            return _Size(
                base.degree * abs(e),
                base.bits * max(1, abs(e.numerator)),
                base.root * e.denominator,
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE):
            sizes = [self.check(operand, depth + 1) for _, operand in _chain(node)]
            bits = sum(s.bits for s in sizes) + len(sizes)
            root = math.lcm(*(s.root for s in sizes))
            if isinstance(node.op, _ADDITIVE):
                return _Size(max(s.degree for s in sizes), bits, root)
            return _Size(sum(s.degree for s in sizes), bits, root)
        if isinstance(node, ast.BinOp):
            op = {ast.Mod: "%", ast.FloorDiv: "//"}.get(type(node.op), type(node.op).__name__)
            raise self.error(f"uses the operator {op}; only + - * / and ** are allowed")
        if isinstance(node, ast.Call):
            return self.call_size(node, depth)
        raise self.error(
            "is not a valid number or expression (numbers, "
            f"{', '.join(self.symbols) or 'no symbols'}, + - * / ** and sqrt, exp, log)"
        )

    def rational_why(self, node: ast.expr) -> str:
        return f"has {self.segment(node)} inside Rational; it takes numbers, like Rational(1, 3)"

    def name_size(self, node: ast.Name) -> _Size:
        word = node.id
        if word in self.symbols:
            return _Size(Fraction(1), 1)
        if word.lower() in NON_FINITE:
            raise self.error("is not finite; finite numbers are required")
        if word in _FUNCTIONS:
            raise self.error(f"uses {word} as a value; call it, like {word}(...)")
        allowed = ", ".join(self.symbols) if self.symbols else "none (numbers only)"
        raise self.error(f"uses unknown symbol {word!r}; allowed symbols: {allowed}")

    def call_size(self, node: ast.Call, depth: int) -> _Size:
        func = node.func.id if isinstance(node.func, ast.Name) else None
        if func not in _FUNCTIONS:
            raise self.error(
                f"calls {self.segment(node.func)}; only sqrt, exp, log and Rational are allowed"
            )
        if (
            node.keywords
            or len(node.args) not in _ARITY[func]
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            counts = " or ".join(map(str, _ARITY[func]))
            raise self.error(f"calls {func} wrongly; it takes {counts} plain argument(s)")
        if func == "Rational":
            # exact fractions of numbers only, like Rational(1, 3)
            values = [self.constant(a, self.rational_why(a)) for a in node.args]
            return _Size(Fraction(0), sum(_bits(v) for v in values))
        sizes = [self.check(a, depth + 1) for a in node.args]
        degree, bits = max(s.degree for s in sizes), sum(s.bits for s in sizes)
        root = math.lcm(*(s.root for s in sizes))
        if func == "sqrt":  # a power 1/2
            return _Size(degree / 2, bits, 2 * root)
        return _Size(degree, _exp_bits(bits) if func == "exp" else bits, root)

    # -- building (after the checks passed) -------------------------------------------
    def build(self, node: ast.expr) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            value = self.number(node)
            return sympy.Rational(value.numerator, value.denominator)
        if isinstance(node, ast.Name):
            return SYMBOLS[node.id]
        if isinstance(node, ast.UnaryOp):
            value = self.build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = self.exponent(node.right)
            return self.build(node.left) ** sympy.Rational(e.numerator, e.denominator)
        if isinstance(node, ast.BinOp):
            out = None
            for op, operand in _chain(node):
                value = self.build(operand)
                if out is None:
                    out = value
                elif op is ast.Add:
                    out = out + value
                elif op is ast.Sub:
                    out = out - value
                elif op is ast.Mult:
                    out = out * value
                else:
                    out = out / value
            return out
        func = node.func.id
        if func == "Rational":
            args = [self.constant(a, self.rational_why(a)) for a in node.args]
            return sympy.Rational(*(sympy.Rational(a.numerator, a.denominator) for a in args))
        return _FUNCTIONS[func](*(self.build(a) for a in node.args))


def check_text(text: str, name: str) -> None:
    """Length and bracket nesting, before Python's parser sees the text."""
    if len(text) > ENTRY_MAX_TEXT:
        raise ConfigError(
            f"{name}={shown_text(text)} is {len(text)} characters long; at most {ENTRY_MAX_TEXT}"
        )
    level = deepest = 0
    for char in text:
        level += (char in "([") - (char in ")]")
        deepest = max(deepest, level)
    if deepest > ENTRY_MAX_DEPTH:
        raise ConfigError(
            f"{name}={shown_text(text)} nests brackets {deepest} deep; at most {ENTRY_MAX_DEPTH}"
        )


def parse_entry(text: str, name: str, symbols: tuple[str, ...]) -> sympy.Expr:
    check_text(text, name)
    if not _ALLOWED_CHARS.match(text):
        raise ConfigError(
            f"{name}={shown_text(text)} has characters other than numbers, symbols, "
            "+ - * / ^ ( ) and function names"
        )
    entry = _Entry(text, name, symbols)
    tree = entry.parse()
    entry.check(tree)
    return entry.build(tree)
