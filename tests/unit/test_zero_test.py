"""decide_zero: proves true identities of commensurate trigonometric functions and square roots, never a false
one, and leaves undecided what it cannot decide (a square radicand)."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, strategies as st

from nnqg.derivations._curvature import is_zero_exact
from nnqg.derivations._zero_test import decide_zero

x, y = sp.symbols("x y", real=True)
C = 1 + 3 * sp.sin(2 * sp.pi * x) / 10 + sp.cos(4 * sp.pi * x) / 20  # the regression speed profile


def test_identities_of_multiple_angles_and_roots_are_proven():
    assert decide_zero(sp.cos(4 * sp.pi * x) - 1 + 2 * sp.sin(2 * sp.pi * x) ** 2) is True
    assert decide_zero(sp.sin(3 * x) - 3 * sp.sin(x) + 4 * sp.sin(x) ** 3) is True
    assert decide_zero(sp.tan(2 * x) - 2 * sp.tan(x) / (1 - sp.tan(x) ** 2)) is True
    assert decide_zero(sp.exp(3 * y) - sp.exp(y) ** 3 + sp.exp(y / 2) ** 2 - sp.exp(y)) is True
    # one radicand written two ways (factored and expanded), and L^3 = B L
    q = C**2 - y**2
    assert decide_zero(sp.sqrt(q) ** 3 - sp.expand(q) * sp.sqrt(sp.expand(q))) is True
    assert decide_zero(1 / sp.sqrt(q) - sp.sqrt(sp.expand(q)) / q) is True


def test_false_identities_are_refused():
    assert decide_zero(sp.cos(4 * sp.pi * x) - 1 + 2 * sp.sin(2 * sp.pi * x) ** 2 + sp.Rational(1, 10**40)) is False
    assert decide_zero(sp.sin(3 * x) - 3 * sp.sin(x) + 4 * sp.sin(x) ** 3 * (1 + sp.Rational(1, 10**9))) is False
    q = C**2 - y**2
    assert decide_zero(sp.sqrt(q) - sp.sqrt(sp.expand(q)) * (1 + sp.cos(4 * sp.pi * x) / 10**12)) is False
    # sqrt(q) + sqrt(q) is not 0: the root is one symbol, not cancelled against itself with a sign
    assert decide_zero(sp.sqrt(q) + sp.sqrt(sp.expand(q))) is False


def test_a_square_radicand_is_left_undecided_not_proven():
    z = sp.Symbol("z")  # no sign: sqrt(z^2) = |z| is not z
    assert decide_zero(sp.sqrt(z**2) - z) is None


def test_other_functions_are_generators_but_never_grounds_for_false():
    # log, atan obey identities the field does not know: a true identity built on them is never refused
    x, y = sp.symbols("x y", positive=True)
    assert decide_zero((sp.log(x * y) - sp.log(x) - sp.log(y)) * sp.sin(2 * x)) is None
    assert decide_zero(sp.atan(x) + sp.atan(1 / x) - sp.pi / 2) is None
    assert is_zero_exact((sp.log(x * y) - sp.log(x) - sp.log(y)) * sp.sin(2 * x))
    f = sp.Function("f")
    assert decide_zero(f(x) * (sp.sin(2 * x) - 2 * sp.sin(x) * sp.cos(x))) is True


def test_is_zero_exact_uses_the_decision():
    assert is_zero_exact(sp.sin(4 * sp.pi * x) - 4 * sp.sin(sp.pi * x) * sp.cos(sp.pi * x) * sp.cos(2 * sp.pi * x))
    assert not is_zero_exact(sp.sin(4 * sp.pi * x) - 4 * sp.sin(sp.pi * x) * sp.cos(sp.pi * x))


@given(st.lists(st.tuples(st.integers(-4, 4), st.integers(-3, 3), st.integers(-3, 3)), min_size=1, max_size=4),
       st.integers(1, 5))
def test_agrees_with_expand_trig_and_finds_a_planted_term(terms, planted):
    """sum a_k cos(k theta) + b_k sin(k theta) minus its expansion in sin, cos of theta = pi x is 0; adding
    cos(planted theta) / 10^12 is not."""
    th = sp.pi * x
    e = sp.Add(*[a * sp.cos(k * th) + b * sp.sin(k * th) for k, a, b in terms])
    T = sp.Dummy("T")
    expanded = sp.expand_trig(e.subs(x, T / sp.pi)).subs(T, th)  # in sin(pi x), cos(pi x) only
    assert decide_zero(e - expanded) is True
    assert decide_zero(e - expanded + sp.cos(planted * th) / 10**12) is False
