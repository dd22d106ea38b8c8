r"""Every generated kernel equals an mpmath evaluation of its SymPy expression.

Error bound. A kernel evaluates the expression in float64 in the order CSE chose; each of its n operations adds
a relative rounding error of at most u = 2^-53. For an expression built from +, -, *, /, integer powers and
well-conditioned elementary functions (sqrt, exp, sin, cos with moderate arguments), the standard forward bound
(Higham, "Accuracy and Stability of Numerical Algorithms", section 3.1) is
|k - e| <= gamma_n * A + O(u^2), gamma_n = n u / (1 - n u), where A is the expression evaluated with every
sum replaced by the sum of absolute values of its terms (the "absolute-value evaluation": it bounds the
magnitudes that are rounded). We evaluate e and A with mpmath at 50 digits and assert
|k - e| <= 4 n u A, the factor 4 covering the elementary functions' own (<= 1 ulp) errors and the
second-order terms. Cancellation is therefore allowed (A may be much larger than |e|) but accounted for.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from nnqg.derivations import jet
from nnqg.derivations._madelung import MadelungSymbols, continuity, quantum_hamilton_jacobi
from nnqg.numerics import compile_residual

U = 2.0**-53


def absolute_value_evaluation(e: sp.Expr) -> sp.Expr:
    """Replace each Add by the sum of the absolute values of its terms (recursively)."""
    if e.is_Atom:
        return sp.Abs(e) if e.is_number else sp.Abs(e)
    if isinstance(e, sp.Add):
        return sp.Add(*[absolute_value_evaluation(a) for a in e.args])
    if isinstance(e, sp.Mul):
        return sp.Mul(*[absolute_value_evaluation(a) for a in e.args])
    if isinstance(e, sp.Pow):
        return sp.Pow(absolute_value_evaluation(e.base), e.exp)
    if isinstance(e, (sp.sin, sp.cos)):
        return sp.Integer(1)
    if isinstance(e, sp.exp):
        return sp.exp(e.args[0])
    return sp.Abs(e)


def _madelung_jets() -> tuple[list[tuple[str, sp.Expr]], list[sp.Symbol], list[sp.Symbol]]:
    s = MadelungSymbols.make(1, potential=sp.Symbol("q", real=True) ** 2 / 2)
    exprs, fields = [], set()
    for lab, e in (("continuity", continuity(s)), ("qhj", quantum_hamilton_jacobi(s))):
        j, m = jet(sp.expand(e.doit()), (s.p, s.F))
        exprs.append((lab, j))
        fields |= set(m)
    fields |= {s.q[0]}
    return exprs, sorted(fields, key=lambda x: x.name), [s.gamma, s.c]


_r, _a, _M = sp.symbols("r a M", real=True)
_x, _y, _k = sp.symbols("x y k", real=True)
CASES = {
    "madelung": _madelung_jets(),
    "rational": (
        [("r", (_r**2 - 2 * _M * _r + _a**2) / (_r**2 + _a**2) ** 2 - 2 * _M * _r * _a / (_r**3 + 1)
          - sp.sqrt(_r**2 + _a**2) / (_r + 3 * _M))],
        [_r, _a], [_M],
    ),
    "elementary": (
        [("e", sp.exp(-_x**2 / 2) * sp.cos(_k * _y) - sp.sin(_x * _y) ** 3 / (1 + _x**2))],
        [_x, _y], [_k],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_kernel_equals_mpmath(case: str, data: st.DataObject) -> None:
    exprs, fields, params = CASES[case]
    k = compile_residual(exprs, fields=fields, parameters=params, name=f"prop_{case}")
    # positive fields (p, r) kept away from 0 so the expressions are defined; others in a moderate box
    pos = {"p", "r", "gamma", "c", "M"}
    n = 8
    vals = {}
    for s in list(fields) + list(params):
        lo, hi = (0.1, 5.0) if s.name in pos else (-3.0, 3.0)
        strat = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        vals[s] = np.array(data.draw(st.lists(strat, min_size=n, max_size=n))) if s in fields \
            else data.draw(strat)
    assert _scaled_error(k, exprs, fields, vals, n) <= 1.0


def _scaled_error(k, exprs, fields, vals, n: int) -> float:
    """max over outputs and points of |kernel - mpmath| / (4 n u A): <= 1 means within the stated bound."""
    out = k(**{s.name: v for s, v in vals.items()})
    mpmath.mp.dps = 50
    worst = 0.0
    for idx, (_, e) in enumerate(exprs):
        nops = max(int(sp.count_ops(e)), 1)
        A = absolute_value_evaluation(e)
        for i in range(n):
            sub = {s: sp.Float(float(v[i]) if s in fields else float(v), 50) for s, v in vals.items()}
            ref = sp.N(e.xreplace(sub), 40)
            bound = 4 * nops * U * float(sp.N(A.xreplace(sub), 40)) + 1e-300
            worst = max(worst, abs(float(out[idx, i]) - float(ref)) / bound)
    return worst


def test_the_comparison_can_fail() -> None:
    """A kernel compiled from an expression off by a relative 1e-9 (far above rounding) must fail the bound."""
    exprs, fields, params = CASES["rational"]
    wrong = [(lab, e * (1 + sp.Rational(1, 10**9))) for lab, e in exprs]
    k = compile_residual(wrong, fields=fields, parameters=params, name="prop_planted")
    vals = {fields[0]: np.array([1.5, 2.5]), fields[1]: np.array([0.3, -0.7]), params[0]: 0.8}
    assert _scaled_error(k, exprs, fields, vals, 2) > 1.0

def test_kernel_rejects_bad_arguments() -> None:
    x, a = sp.symbols("x a", real=True)
    k = compile_residual([("r", a * x)], fields=[x], parameters=[a], name="prop_bad_args")
    from nnqg.derivations import InvalidArgument

    with pytest.raises(InvalidArgument, match="missing arguments"):
        k(x=np.ones(3))
    with pytest.raises(InvalidArgument, match="parameter 'a' must be a scalar"):
        k(x=np.ones(3), a=np.ones(3))
    with pytest.raises(InvalidArgument, match="unknown arguments"):
        k(x=np.ones(3), a=1.0, b=2.0)
    # NaN is data, not an input error: it propagates so the verdict can say NONFINITE
    assert np.isnan(k(x=np.array([1.0, np.nan]), a=1.0)[0, 1])


def test_exact_solution_residual_goes_to_zero_at_second_order() -> None:
    """Heat kernel p = exp(-q^2/(4(t+1)))/sqrt(t+1) solves p_t = p_qq; central differences of it fed to the
    generated residual kernel give a residual that falls as h^2."""
    t, q = sp.symbols("t q", real=True)
    p = sp.Function("p")(t, q)
    j, _ = jet(sp.Derivative(p, t) - sp.Derivative(p, q, 2), (p,))
    k = compile_residual([("heat", j)], fields=sorted(j.free_symbols, key=lambda s: s.name), name="prop_heat")
    f = sp.lambdify((t, q), sp.exp(-q**2 / (4 * (t + 1))) / sp.sqrt(t + 1), "numpy")
    qs = np.linspace(-2, 2, 41)
    errs = []
    hs = [0.1, 0.05, 0.025]
    for h in hs:
        p_t = (f(0.5 + h, qs) - f(0.5 - h, qs)) / (2 * h)
        p_qq = (f(0.5, qs + h) - 2 * f(0.5, qs) + f(0.5, qs - h)) / h**2
        errs.append(float(np.abs(k(p_t=p_t, p_qq=p_qq)).max()))
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert 1.8 < order < 2.2, (errs, order)
