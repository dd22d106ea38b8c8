r"""Geodesics: the geodesic equation derived from the length functional, and conserved quantities.

The length (proper-time) functional of a timelike curve :math:`x^a(s)` is

.. math:: \tau[x] = \int ds\, L, \qquad L = \sqrt{Q}, \qquad Q = -g_{ab}(x)\,\dot x^a \dot x^b .

SymPy's :func:`~sympy.calculus.euler.euler_equations` gives :math:`\mathcal E_b = 0`; contracting with
:math:`L g^{mb}` yields, for any parametrisation,

.. math:: L g^{mb}\mathcal E_b = \ddot x^m + \Gamma^m{}_{ab}\dot x^a \dot x^b - \dot x^m\,\frac{\dot L}{L},

so for an affine parameter (:math:`\dot L = 0`) the textbook geodesic equation
:math:`\ddot x^m + \Gamma^m{}_{ab}\dot x^a\dot x^b = 0` with
:math:`\Gamma^m{}_{ab} = \tfrac12 g^{mn}(\partial_a g_{nb} + \partial_b g_{na} - \partial_n g_{ab})`.

>>> t, x = sp.symbols("t x", real=True)
>>> c = sp.Function("c")(x)
>>> sys = geodesic_equations(sp.diag(-c**2, 1), (t, x))
>>> sys.accelerations
(-2*u_t*u_x*Derivative(c(x), x)/c(x), -u_t**2*c(x)*Derivative(c(x), x))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp
from sympy.calculus.euler import euler_equations

from ._curvature import Metric, _as_metric, christoffel, is_zero_exact

ChristoffelFn = Callable[[Metric], tuple]


@dataclass(frozen=True)
class GeodesicSystem:
    r"""First-order form of the geodesic equation: :math:`dx^m/ds = u^m`,
    :math:`du^m/ds = -\Gamma^m{}_{ab}u^a u^b` (``accelerations[m]``)."""

    metric: Metric
    coords: tuple[sp.Symbol, ...]
    velocities: tuple[sp.Symbol, ...]
    accelerations: tuple[sp.Expr, ...]
    Gamma: tuple

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        used = set().union(*[a.free_symbols for a in self.accelerations]) - set(self.coords) - set(self.velocities)
        return tuple(sorted(used, key=lambda s: s.name))

    def norm(self) -> sp.Expr:
        """:math:`g_{ab}u^a u^b` (conserved along affinely parametrised geodesics)."""
        u = self.velocities
        n = len(u)
        return sp.Add(*[self.metric.g[a, b] * u[a] * u[b] for a in range(n) for b in range(n)])

    def derivative_along(self, f: sp.Expr) -> sp.Expr:
        r""":math:`df/ds = \partial_a f\, u^a + (\partial f/\partial u^m)\, \dot u^m` on the geodesic flow."""
        return sp.Add(*[sp.diff(f, x) * u for x, u in zip(self.coords, self.velocities)]) + \
            sp.Add(*[sp.diff(f, u) * a for u, a in zip(self.velocities, self.accelerations)])


def velocity_symbols(coords: Sequence[sp.Symbol]) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"u_{c.name}", real=True) for c in coords)


def geodesic_equations(metric: Metric | sp.MatrixBase, coords: Sequence[sp.Symbol] | None = None, *,
                       christoffel_fn: ChristoffelFn | None = None) -> GeodesicSystem:
    r"""The geodesic equation in first-order form, from the Christoffel symbols of ``metric``."""
    m = _as_metric(metric, coords)
    G = christoffel(m) if christoffel_fn is None else christoffel_fn(m)
    u = velocity_symbols(m.coords)
    n = m.dim
    acc = tuple(sp.factor(-sp.Add(*[G[k][a][b] * u[a] * u[b] for a in range(n) for b in range(n)]))
                for k in range(n))
    return GeodesicSystem(m, m.coords, u, acc, G)


@dataclass(frozen=True)
class LengthDerivation:
    """Euler-Lagrange equations of the length functional, in jet symbols (x, u = dx/ds, w = d^2x/ds^2)."""

    lagrangian: sp.Expr          # L(x(s), x'(s)) with SymPy functions of s
    euler_lagrange: tuple[sp.Expr, ...]  # E_b in jet symbols
    Q: sp.Expr                   # -g_ab u^a u^b in jet symbols
    second: tuple[sp.Symbol, ...]  # w^m (the second derivatives)


def length_functional_equations(metric: Metric, functional: Callable[[sp.Expr], sp.Expr] = sp.sqrt) \
        -> LengthDerivation:
    r"""Euler-Lagrange equations of :math:`\int ds\,\mathrm{functional}(-g_{ab}\dot x^a\dot x^b)` (default
    :math:`\sqrt{\cdot}`: the length functional) by SymPy's ``euler_equations``."""
    s = sp.Symbol("s", real=True)
    X = [sp.Function(f"X_{c.name}", real=True)(s) for c in metric.coords]
    on_curve = dict(zip(metric.coords, X))
    n = metric.dim
    Qc = -sp.Add(*[metric.g[a, b].xreplace(on_curve) * X[a].diff(s) * X[b].diff(s)
                   for a in range(n) for b in range(n)])
    L = functional(Qc)
    eqs = euler_equations(L, X, s)
    u = velocity_symbols(metric.coords)
    w = tuple(sp.Symbol(f"w_{c.name}", real=True) for c in metric.coords)
    jets = {}
    for Xi, ui, wi in zip(X, u, w):
        jets[Xi.diff(s, 2)] = wi
    first = {Xi.diff(s): ui for Xi, ui in zip(X, u)}
    back = {Xi: c for Xi, c in zip(X, metric.coords)}

    def to_jet(e: sp.Expr) -> sp.Expr:
        return e.xreplace(jets).xreplace(first).xreplace(back)

    E = tuple(to_jet(eq.lhs - eq.rhs) for eq in eqs)
    return LengthDerivation(L, E, to_jet(Qc), w)


def length_vs_textbook(metric: Metric, Gamma: tuple, functional: Callable[[sp.Expr], sp.Expr] = sp.sqrt,
                       derivation: LengthDerivation | None = None) -> tuple[sp.Expr, ...]:
    r"""For each m: :math:`L g^{mb}\mathcal E_b - (\ddot x^m + \Gamma^m{}_{ab}\dot x^a\dot x^b)
    + \dot x^m \dot L/L` (must be exactly 0), with :math:`\dot L/L = \dot Q/(2Q)` and ``Gamma`` the symbols to test.
    ``derivation``: :func:`length_functional_equations` of ``metric`` and ``functional``, if already computed."""
    der = length_functional_equations(metric, functional) if derivation is None else derivation
    n = metric.dim
    u = velocity_symbols(metric.coords)
    w = der.second
    Q = der.Q
    Qdot = sp.Add(*[sp.diff(Q, x) * ui for x, ui in zip(metric.coords, u)]) + \
        sp.Add(*[sp.diff(Q, ui) * wi for ui, wi in zip(u, w)])
    ginv = sp.Matrix(metric.g).inv()
    L = sp.sqrt(Q)
    out = []
    for m in range(n):
        lhs = L * sp.Add(*[ginv[m, b] * der.euler_lagrange[b] for b in range(n)])
        textbook = w[m] + sp.Add(*[Gamma[m][a][b] * u[a] * u[b] for a in range(n) for b in range(n)])
        d = lhs - textbook + u[m] * Qdot / (2 * Q)
        out.append(sp.S.Zero if is_zero_exact(d) else d)
    return tuple(out)


def christoffel_textbook(metric: Metric, half: sp.Expr = sp.Rational(1, 2)) -> tuple:
    r"""The textbook formula typed as written,
    :math:`\Gamma^m{}_{ab} = \tfrac12 g^{mn}(\partial_a g_{nb} + \partial_b g_{na} - \partial_n g_{ab})`, by plain
    SymPy (an independent cross-check of the engine; ``half`` is the 1/2 as an input), not simplified: compare with
    :func:`~nnqg.derivations._curvature.is_zero_exact`."""
    g = sp.Matrix(metric.g)
    gi = g.inv()
    x = metric.coords
    n = metric.dim
    return tuple(tuple(tuple(half * sp.Add(*[gi[m, k] * (sp.diff(g[k, b], x[a]) + sp.diff(g[k, a], x[b])
                                                     - sp.diff(g[a, b], x[k])) for k in range(n)])
                             for b in range(n)) for a in range(n)) for m in range(n))


def schwarzschild_invariants(system: GeodesicSystem, mass: sp.Symbol) -> dict[str, sp.Expr]:
    r"""Schwarzschild constants of motion: :math:`E = f\,u^t`, :math:`L_z = r^2\sin^2\theta\,u^\phi`,
    :math:`L^2 = r^4(u_\theta^2 + \sin^2\theta\,u_\phi^2)`, and the norm :math:`g_{ab}u^a u^b`
    (coordinates t, r, theta, phi; :math:`f = 1 - 2M/r`)."""
    t, r, th, ph = system.coords
    ut, ur, uth, uph = system.velocities
    f = 1 - 2 * mass / r
    return {"E": f * ut, "L_z": r**2 * sp.sin(th) ** 2 * uph,
            "L^2": r**4 * (uth**2 + sp.sin(th) ** 2 * uph**2), "norm": system.norm()}


def conserved_along(system: GeodesicSystem, invariants: dict[str, sp.Expr]) -> dict[str, sp.Expr]:
    """:math:`dI/ds` on the geodesic flow for each invariant (must be exactly 0), simplified."""
    out = {}
    for k, I in invariants.items():
        d = system.derivative_along(I)
        out[k] = sp.S.Zero if is_zero_exact(d) else d
    return out
