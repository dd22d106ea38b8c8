"""Random metrics built from the metric file's vocabulary: the engine and its second opinion never disagree, and
nothing but a verdict or a clear InvalidArgument comes out (no traceback, no exit 3).

Each metric is -(1 + A^2) dt^2 + dx^2 + (2 + B^2) dy^2 + 2 C dt dy / 5 with A, B, C random expressions of t, x
(exp, log, sin, cos, sqrt, atan, tanh, Bessel J, Lambert W, powers with a symbolic exponent, an undetermined
function f(x)), so every generator kind and both charts are exercised together.
"""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from nnqg.derivations import InvalidArgument
from nnqg.derivations._curvature import Metric, check

T, X, Y = sp.symbols("t x y", real=True)
K = sp.Symbol("k", positive=True)
F = sp.Function("f")(X)
LEAVES = [T, X, K, F, sp.Integer(2), sp.Rational(1, 3)]
UNARY = [
    lambda a: sp.exp(a / 3), lambda a: sp.log(2 + a**2), lambda a: sp.sin(X) * a, lambda a: sp.cos(T) + a,
    lambda a: sp.sqrt(1 + a**2), lambda a: sp.atan(a), lambda a: sp.tanh(a), lambda a: sp.besselj(1, a),
    lambda a: sp.LambertW(1 + a**2), lambda a: (1 + a**2) ** K, lambda a: (2 + a**2) ** sp.Rational(1, 3),
]


def _expr(depth: int) -> st.SearchStrategy:
    if depth == 0:
        return st.sampled_from(LEAVES)
    sub = _expr(depth - 1)
    return st.one_of(
        st.sampled_from(LEAVES),
        st.tuples(st.sampled_from(UNARY), sub).map(lambda p: p[0](p[1])),
        st.tuples(sub, sub).map(lambda p: p[0] + p[1]),
        st.tuples(sub, sub).map(lambda p: p[0] * p[1]),
    )


@given(_expr(2), _expr(2), _expr(1))
@settings(max_examples=min(settings().max_examples, 25), deadline=None)
def test_engine_and_second_opinion_agree_on_random_metrics(a, b, c):
    g = sp.Matrix([[-(1 + a**2), 0, c / 5], [0, 1, 0], [c / 5, 0, 2 + b**2]])
    try:
        m = Metric("random", (T, X, Y), g, (K,))
        res = check(m, "ricci_flat", seed=7)
    except InvalidArgument:
        return  # e.g. degenerate, or not real at any sample point: a clear refusal
    assert res.second_opinion is not None
    assert res.holds == (not res.nonzero)
