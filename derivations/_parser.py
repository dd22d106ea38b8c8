r"""A restricted formula parser: user strings -> SymPy, without evaluating Python.

The string is parsed by :func:`ast.parse` in ``eval`` mode and the tree is walked with a whitelist:
numbers, the names the caller allows, the operators ``+ - * / **`` and unary minus, and calls of the functions
in :data:`FUNCTIONS`. Anything else (attributes, subscripts, lambdas, comprehensions, keywords, strings,
dunder names, huge exponents, deep nesting) is rejected with :class:`InvalidArgument` naming the input.
``eval``, ``sympify`` and ``parse_expr`` are never called on the raw string: all three evaluate Python.

Numbers mean exactly what is written: decimal literals only (``12``, ``0.5``, ``1e-3``, ``2.5E+4``), each read as
the exact rational it denotes (``0.1`` is 1/10); hexadecimal, octal, binary, ``1_000`` and ``#`` comments, which
Python would accept and silently reinterpret or drop, are refused, and so is any number outside float64's normal
range (``0 < |x| < 1e-300`` or ``|x| > 1e300``: ``1e-400`` would become 0 in the numeric checks).

Size limits, so that exact algebra on an accepted formula stays bounded: at most :data:`MAX_LENGTH` characters,
:data:`MAX_NODES` syntax nodes and :data:`MAX_DEPTH` levels of nesting; exponents at most :data:`MAX_EXPONENT` in
size; total degree at most :data:`MAX_DEGREE` (powers multiply: ``((q+1)**64)**64`` has degree 4096; a function
value such as ``sin(q)`` counts as one variable); functions nested at most :data:`MAX_FUNCTION_DEPTH` deep. Work
that still explodes is stopped by :func:`nnqg.derivations._budget.budget`.

>>> q = sp.Symbol("q", real=True)
>>> parse_formula("q**2/2 + sin(q)", {"q": q}, what="--potential")
q**2/2 + sin(q)
>>> parse_formula("__import__('os')", {"q": q}, what="--potential")
Traceback (most recent call last):
...
nnqg.derivations._errors.InvalidArgument: --potential: '__import__('os')' is not an allowed formula: the function '__import__' is not allowed (allowed names: q; ...)
"""

from __future__ import annotations

import ast
import math
import re
from typing import Callable, Mapping

import sympy as sp

from ._errors import InvalidArgument

FUNCTIONS: dict[str, object] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "Abs": sp.Abs,
}
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}
MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_EXPONENT = 64
MAX_NODES = 500
MAX_DEGREE = 64
MAX_FUNCTION_DEPTH = 8
#: smallest and largest non-zero magnitude of a number (float64's normal range, rounded inwards)
MIN_MAGNITUDE, MAX_MAGNITUDE = sp.Rational(1, 10**300), sp.Integer(10) ** 300
#: a decimal literal: digits, an optional fraction, an optional exponent (no 0x/0o/0b, no underscores)
_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_BINOPS = {ast.Add: sp.Add, ast.Sub: None, ast.Mult: sp.Mul, ast.Div: None, ast.Pow: sp.Pow}


class _Reject(Exception):
    pass


def parse_formula(text: object, names: Mapping[str, sp.Basic], *, what: str,
                  functions: Mapping[str, Callable[..., sp.Expr]] | None = None,
                  symbolic_exponents: bool = False) -> sp.Expr:
    """Parse ``text`` into a SymPy expression using only ``names``, :data:`FUNCTIONS` and :data:`CONSTANTS`.

    ``what`` names the input in error messages (e.g. ``"--potential"`` or ``"metric t_t"``). A caller may add
    ``functions`` (name -> builder called with the built arguments; an :class:`InvalidArgument` it raises is
    reported as the reason) and allow ``symbolic_exponents`` (``r**k``).
    """
    extra = dict(functions or {})
    allowed = ", ".join(sorted(names)) or "(none)"
    fn = ", ".join(sorted([*FUNCTIONS, *extra], key=str.lower))
    hint = f"(allowed names: {allowed}; functions: {fn}; constants: {', '.join(sorted(CONSTANTS))})"

    def fail(reason: str) -> InvalidArgument:
        raw = text if isinstance(text, str) else str(text)
        # one paragraph: control and non-printable characters are shown escaped, never as line breaks
        shown = raw if raw.isprintable() else repr(raw)[1:-1]
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return InvalidArgument(f"{what}: '{shown}' is not an allowed formula: {reason} {hint}")

    if not isinstance(text, str):
        raise fail(f"expected a string, got {type(text).__name__}")
    if not text.strip():
        raise fail("it is empty")
    if len(text) > MAX_LENGTH:
        raise fail(f"it is longer than {MAX_LENGTH} characters")
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise fail(f"it contains the non-ASCII character {bad!r} (U+{ord(bad):04X})")
    if "#" in text:
        raise fail("'#' is not allowed (a Python comment would silently drop the rest of the formula)")
    if text.count("(") > MAX_DEPTH or text.count("[") or text.count("{"):
        # ast.parse itself can exhaust the C stack on pathological nesting; refuse before parsing.
        if text.count("[") or text.count("{"):
            raise fail("brackets [] and braces {} are not allowed")
        raise fail(f"it nests more than {MAX_DEPTH} parentheses")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise fail(f"it is not valid syntax ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise fail("it cannot be parsed") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise fail(f"it has more than {MAX_NODES} syntax nodes")

    def build(node: ast.AST, depth: int) -> sp.Expr:
        return _finite_real(_build(node, depth))

    def _build(node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise _Reject(f"it nests deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Expression):
            return build(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _Reject(f"the constant {v!r} is not a real number")
            literal = ast.get_source_segment(text, node) or ""
            if not _DECIMAL.fullmatch(literal):
                raise _Reject(f"the number {literal!r} is not a plain decimal number (hexadecimal, octal, binary "
                              f"and '_' separators are not accepted; write it in decimal digits)")
            if isinstance(v, int) and abs(v) > 10**15:
                raise _Reject(f"the integer {literal} has more than 15 digits; write it as a power (10**19) or in "
                              f"e-notation (1e19), which are exact too")
            return _in_range(sp.Rational(literal), literal)
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _Reject(f"the name {node.id!r} is not allowed")
            if node.id in names:
                return names[node.id]  # type: ignore[return-value]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise _Reject(f"the name {node.id!r} is not allowed")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = build(node.operand, depth + 1)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a = build(node.left, depth + 1)
            b = build(node.right, depth + 1)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                if b == 0:
                    raise _Reject("it divides by zero")
                return a / b
            if not b.is_number:
                if not symbolic_exponents:
                    raise _Reject("exponents must be numbers")
                return sp.Pow(a, b)
            if abs(float(b)) > MAX_EXPONENT:
                raise _Reject(f"the exponent {b} exceeds {MAX_EXPONENT} in size")
            if a.is_number and a != 0:
                # refuse numbers beyond float range before SymPy builds them exactly (nested powers explode)
                mag = abs(float(b)) * abs(float(sp.log(sp.Abs(a), 10).evalf(15)))
                if mag > 300:
                    raise _Reject(f"a power is too large (about 10^{mag:.0f})")
            if a == 0 and b.is_negative:
                raise _Reject("it raises zero to a negative power")
            return sp.Pow(a, b)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in extra and not node.keywords:
                built = [build(x, depth + 1) for x in node.args]
                try:
                    return extra[node.func.id](*built)
                except InvalidArgument as exc:
                    raise _Reject(str(exc)) from None
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                if isinstance(node.func, ast.Name):
                    raise _Reject(f"the function {node.func.id!r} is not allowed")
                raise _Reject("only the listed functions may be called (no attribute access, no calls of "
                              "expressions)")
            if node.keywords or len(node.args) != 1:
                raise _Reject(f"{node.func.id}() takes exactly one positional argument")
            return FUNCTIONS[node.func.id](build(node.args[0], depth + 1))  # type: ignore[operator]
        what = {"Attribute": "attribute access", "Lambda": "lambda", "Subscript": "subscripts",
                "Compare": "comparisons", "BoolOp": "and/or", "IfExp": "if-expressions",
                "NamedExpr": "assignment expressions", "Starred": "star-arguments"}.get(type(node).__name__,
                                                                                      type(node).__name__)
        raise _Reject(f"{what} is not allowed in a formula")

    try:
        expr = build(tree, 0)
    except _Reject as exc:
        raise fail(str(exc)) from None
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise fail(f"it could not be built ({type(exc).__name__})") from None
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise fail("it evaluates to an infinity or NaN")
    try:
        for num in expr.atoms(sp.Number):
            _in_range(num, str(sp.N(num, 3)))
        _bounded(expr)
    except _Reject as exc:
        raise fail(str(exc)) from None
    return expr


def _in_range(num: sp.Number, shown: str) -> sp.Number:
    """``num`` unless it lies outside float64's normal range (a tiny number would become 0 numerically)."""
    a = abs(num)
    if a > MAX_MAGNITUDE:
        raise _Reject(f"the number {shown} is beyond the float64 range (|x| > 1e300)")
    if a != 0 and a < MIN_MAGNITUDE:
        raise _Reject(f"the number {shown} is below the float64 range (0 < |x| < 1e-300; it would become 0 in "
                      f"the numeric checks)")
    return num


def _bounded(expr: sp.Expr) -> None:
    """Refuse a total degree above :data:`MAX_DEGREE` or functions nested deeper than :data:`MAX_FUNCTION_DEPTH`.

    The degree is that of the expression as a polynomial in its symbols and function values (each function value,
    e.g. ``sin(q)``, counts as one more variable of degree 1; a power ``b**e`` with a number ``e`` has degree
    ``|e| deg(b)``, fractional ``e`` included)."""
    def visit(e: sp.Basic, fdepth: int) -> sp.Rational:
        if e.is_Atom:
            return sp.S.Zero if e.is_number else sp.S.One
        if isinstance(e, sp.Function):
            if fdepth + 1 > MAX_FUNCTION_DEPTH:
                raise _Reject(f"functions are nested more than {MAX_FUNCTION_DEPTH} deep")
            for a in e.args:
                visit(a, fdepth + 1)
            return sp.S.One
        if e.is_number:
            for a in e.args:  # e.g. sqrt(2)*pi: degree 0; only function nesting matters inside
                visit(a, fdepth)
            return sp.S.Zero
        if isinstance(e, sp.Pow) and e.exp.is_number:
            d = abs(sp.Rational(str(e.exp))) * visit(e.base, fdepth) if e.exp.is_Rational else \
                abs(sp.Rational(float(e.exp))) * visit(e.base, fdepth)
        elif isinstance(e, sp.Mul):
            d = sum((visit(a, fdepth) for a in e.args), sp.S.Zero)
        else:  # Add, and anything else: the largest degree of its parts
            d = max((visit(a, fdepth) for a in e.args), default=sp.S.Zero)
        if d > MAX_DEGREE:
            raise _Reject(f"its total degree is {d}, above the limit of {MAX_DEGREE} (powers multiply: "
                          f"(b**m)**n has degree m*n)")
        return d

    visit(expr, 0)


def _finite_real(e: sp.Expr) -> sp.Expr:
    """A number-valued subexpression (no free symbols) must evaluate to a finite real within float64 range:
    ``exp(1000)`` or ``exp(exp(...))`` would otherwise be carried exactly into a derivation and blow up there,
    and ``sqrt(-1)`` or ``log(-1)`` would make a potential complex."""
    if not isinstance(e, sp.Basic) or not e.is_number:
        return e
    try:
        ev = e.evalf(15)
        v = complex(ev)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        raise _Reject(f"the constant {_shown(e)} cannot be evaluated to a real number") from None
    if ev.is_real and ev != 0 and abs(ev) < MIN_MAGNITUDE:  # exp(-1000): would be 0 in float64
        raise _Reject(f"the constant {_shown(e)} is below the float64 range (about {sp.N(ev, 3)}; it would become 0 in "
                      f"the numeric checks)")
    if not (math.isfinite(v.real) and math.isfinite(v.imag)):
        raise _Reject(f"the constant {_shown(e)} is infinite, NaN or beyond the float64 range")
    if v.imag != 0.0:
        raise _Reject(f"the constant {_shown(e)} is not real (it is {v:.6g})")
    if abs(v.real) > 1e300:
        raise _Reject(f"the constant {_shown(e)} is beyond the float64 range (|x| > 1e300)")
    return e


def _shown(e: sp.Expr) -> str:
    t = str(e)
    return t if len(t) <= 40 else f"{sp.N(e, 3)}"
