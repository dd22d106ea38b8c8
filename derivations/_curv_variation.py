r"""Variations and sources built on the curvature engine: the Einstein-Hilbert action varied on a metric ansatz,
and the Maxwell stress tensor of a potential (SymPy expressions).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import sympy as sp

from ._curv_display import scalar_to_user, to_user
from ._curv_engine import compute
from ._curv_metric import Metric
from ._curv_prepare import prepare, rewrite_trig

_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


def is_zero_exact(expr: sp.Expr) -> bool:
    r"""Exact zero test for expressions rational in symbols, :math:`\exp`, undefined functions and their
    derivatives, sin/cos/tan of commensurate arguments and square roots: the terminating decision of
    :func:`nnqg.derivations._zero_test.decide_zero` (after, for trigonometric functions of plain symbols only, a
    ``cancel`` with sin, cos as independent symbols: zero there implies zero); expressions it leaves undecided go
    through the earlier steps of this test (that ``cancel``, :math:`u = \tan(x/2)` for plain symbols, ``cancel``)
    and then :func:`nnqg.derivations.is_zero`."""
    from ._core import is_zero
    from ._zero_test import decide_zero

    e = sp.sympify(expr)
    trig = [a for a in e.atoms(*_TRIG)]
    plain = all(a.args[0].is_Symbol for a in trig)

    def independent_trig() -> bool:  # sin, cos as independent symbols: zero there implies zero
        return sp.cancel(sp.together(e.xreplace({a: sp.Dummy() for a in trig}))) == 0

    # fast when it succeeds, and it usually does for functions of plain symbols (a sphere's theta); commensurate
    # multiples (sin 2 pi x, cos 4 pi x) seldom reduce so: the decision first
    if plain and independent_trig():
        return True
    decided = decide_zero(e)
    if decided is not None:
        return decided
    if not plain and independent_trig():
        return True
    if trig and plain:
        for x in {a.args[0] for a in trig}:
            u = sp.Dummy(f"u_{x.name}")
            e = rewrite_trig(e).xreplace({sp.sin(x): 2 * u / (1 + u**2), sp.cos(x): (1 - u**2) / (1 + u**2)})
        if not e.atoms(*_TRIG):
            return sp.cancel(sp.together(e)) == 0
    if sp.cancel(sp.together(e)) == 0:
        return True
    return is_zero(e)


def maxwell_stress(prep_metric: Metric, potential: Sequence[sp.Expr]) -> tuple[sp.ImmutableMatrix, sp.Expr]:
    r"""Electromagnetic stress tensor (Gaussian units) of a potential :math:`A_a`:
    :math:`F_{ab} = \partial_a A_b - \partial_b A_a`,
    :math:`T_{ab} = \frac{1}{4\pi}(F_{ac}F_b{}^c - \tfrac14 g_{ab}F_{cd}F^{cd})`, as SymPy expressions (cancelled),
    and the largest :math:`|\nabla_a F^{ab}|` component (0 when Maxwell's equations hold)."""
    m = prep_metric
    n, x = m.dim, m.coords
    g = sp.Matrix(m.g)
    gi = g.inv()
    F = sp.Matrix(n, n, lambda a, b: sp.diff(potential[b], x[a]) - sp.diff(potential[a], x[b]))
    Fup = gi * F * gi.T
    F2 = sum(F[a, b] * Fup[a, b] for a in range(n) for b in range(n))
    Fmixed = F * gi  # F_a^c = F_ad g^dc
    T = sp.Matrix(n, n, lambda a, b: sp.cancel((sum(F[a, c] * Fmixed[b, c] for c in range(n))
                                               - g[a, b] * F2 / 4) / (4 * sp.pi)))
    # Maxwell: d_a (sqrt(-g) F^ab) = 0, with sqrt(-g) kept symbolic through its square
    detg = sp.factor(g.det())
    sq = sp.sqrt(-detg)
    div = [sp.simplify(sum(sp.diff(sq * Fup[a, b], x[a]) for a in range(n)) / sq) for b in range(n)]
    return sp.ImmutableMatrix(T), sp.Add(*[abs(d) for d in div])


@dataclass(frozen=True)
class HilbertVariation:
    r"""For each function f of the ansatz: SymPy's Euler-Lagrange expression :math:`\delta S/\delta f` of the
    reduced action, and the stated :math:`-\sqrt{-g}\,(G^{mn} + \Lambda g^{mn})\,\partial g_{mn}/\partial f`."""

    functions: tuple[sp.Expr, ...]
    lagrangian: sp.Expr
    euler_lagrange: tuple[sp.Expr, ...]
    stated: tuple[sp.Expr, ...]
    differences: tuple[sp.Expr, ...]


def hilbert_variation(metric: Metric, functions: Sequence[sp.Expr], Lambda: sp.Expr, *,
                      lagrangian: Callable[[sp.Expr, sp.Expr], sp.Expr] = lambda R, L: R - 2 * L,
                      trace_coefficient: Fraction = Fraction(1, 2),
                      angular: sp.Expr | None = None, compare: bool = True) -> HilbertVariation:
    r"""Vary :math:`S = \int d^nx \sqrt{-g}\,\mathcal L(R, \Lambda)` (default :math:`R - 2\Lambda`) over the
    functions of a metric ansatz with SymPy's ``euler_equations`` and compare with
    :math:`\delta S/\delta f = -\sqrt{-g}(G^{mn} + \Lambda g^{mn})\,\partial g_{mn}/\partial f`, which is what
    :math:`\delta S = -\int\sqrt{-g}(G^{mn} + \Lambda g^{mn})\delta g_{mn}` gives (up to a boundary term).
    ``angular`` is a factor of :math:`\sqrt{-g}` integrated out of the reduced action (e.g. :math:`\sin\theta`);
    the ansatz must be compatible with the principle of symmetric criticality (spherical symmetry is)."""
    from sympy.calculus.euler import euler_equations

    from ._core import is_zero

    prep = prepare(metric)
    cv = compute(prep, einstein_trace_coefficient=trace_coefficient)
    n = metric.dim
    R = scalar_to_user(prep, cv.scalar)
    G = sp.Matrix(n, n, lambda a, b: to_user(prep, a, b, cv.einstein[a][b]))
    g = sp.Matrix(metric.g)
    gi = g.inv()
    Gup = gi * G * gi
    det = sp.factor(-g.det())
    if angular is not None:
        det = sp.factor(det / angular**2)
    vol = sp.sqrt(det)
    L = vol * lagrangian(R, Lambda)
    variables = sorted({v for f in functions for v in f.args}, key=lambda s: metric.coords.index(s))
    if not compare:  # only the Lagrangian and the stated variation (e.g. for a numeric check)
        stated_only = tuple(-vol * sp.Add(*[(Gup[a, b] + Lambda * gi[a, b]) * sp.diff(g[a, b], f)
                                            for a in range(n) for b in range(n) if sp.diff(g[a, b], f) != 0])
                            for f in functions)
        return HilbertVariation(tuple(functions), L, (), stated_only, ())
    eqs = euler_equations(L, list(functions), variables)
    el, stated, diffs = [], [], []
    for f, eq in zip(functions, eqs):
        e = eq.lhs - eq.rhs
        s = -vol * sp.Add(*[(Gup[a, b] + Lambda * gi[a, b]) * sp.diff(g[a, b], f)
                            for a in range(n) for b in range(n) if sp.diff(g[a, b], f) != 0])
        d = e - s
        el.append(e)
        stated.append(s)
        diffs.append(sp.S.Zero if is_zero_exact(d) or is_zero(d) else sp.simplify(d))
    return HilbertVariation(tuple(functions), L, tuple(el), tuple(stated), tuple(diffs))
