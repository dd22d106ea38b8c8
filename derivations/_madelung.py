r"""The Madelung pair from the learning action (docs/theory.md, section 3).

Action density, K trainable variables :math:`q = (q_1, \dots, q_K)`:

.. math:: \mathcal L = p\,\partial_t F + \tfrac{\gamma}{2} p\,|\nabla F|^2 + p V(q) + \tfrac{c}{8}\,|\nabla p|^2/p .

SymPy's :func:`~sympy.calculus.euler.euler_equations` gives the Euler-Lagrange equations; the stated forms are

* continuity (variation in F): :math:`\partial_t p + \gamma \nabla\cdot(p\nabla F) = 0`,
* quantum Hamilton-Jacobi (variation in p):
  :math:`\partial_t F + \tfrac{\gamma}{2}|\nabla F|^2 + V - \tfrac{c}{2}\,\Delta\sqrt p/\sqrt p = 0`,

and with :math:`m = 1/\gamma`, :math:`\hbar^2 = c/\gamma` they are Madelung's equations for :math:`S = F`.

>>> sys = MadelungSymbols.make(1)
>>> el = euler_lagrange(learning_action(sys), sys)
>>> is_zero(el["F"] + continuity(sys))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.calculus.euler import euler_equations

from ._core import EquationSet, Step, is_zero
from ._errors import DerivationError


@dataclass(frozen=True)
class MadelungSymbols:
    """Explicit symbols of the K-dimensional problem (no global state)."""

    t: sp.Symbol
    q: tuple[sp.Symbol, ...]
    gamma: sp.Symbol
    c: sp.Symbol
    hbar: sp.Symbol
    m: sp.Symbol
    p: sp.Expr
    F: sp.Expr
    V: sp.Expr

    @staticmethod
    def make(K: int, potential: sp.Expr | None = None) -> "MadelungSymbols":
        if not isinstance(K, int) or K < 1:
            raise DerivationError(f"K (number of trainable variables) must be a positive integer, got {K!r}")
        t = sp.Symbol("t", real=True)
        q = tuple(sp.symbols(f"q1:{K + 1}", real=True)) if K > 1 else (sp.Symbol("q", real=True),)
        gamma, c, hbar, m = sp.symbols("gamma c hbar m", positive=True)
        p = sp.Function("p", positive=True)(t, *q)
        F = sp.Function("F", real=True)(t, *q)
        V = sp.Function("V", real=True)(*q) if potential is None else potential
        return MadelungSymbols(t, q, gamma, c, hbar, m, p, F, V)

    @property
    def coords(self) -> tuple[sp.Symbol, ...]:
        return (self.t, *self.q)


def grad(f: sp.Expr, s: MadelungSymbols) -> list[sp.Expr]:
    return [sp.diff(f, x) for x in s.q]


def div(v: list[sp.Expr], s: MadelungSymbols) -> sp.Expr:
    return sp.Add(*[sp.diff(vi, x) for vi, x in zip(v, s.q)])


def laplacian(f: sp.Expr, s: MadelungSymbols) -> sp.Expr:
    return div(grad(f, s), s)


def learning_action(s: MadelungSymbols, *, fisher_coefficient: sp.Expr | None = None,
                    kinetic_coefficient: sp.Expr | None = None) -> sp.Expr:
    r"""The Lagrangian density :math:`p F_t + (\gamma/2) p |\nabla F|^2 + p V + (c/8)|\nabla p|^2/p`.

    The two coefficients are parameters so a user (or a planted error) can change the functional itself.
    """
    kin = s.gamma / 2 if kinetic_coefficient is None else kinetic_coefficient
    fis = s.c / 8 if fisher_coefficient is None else fisher_coefficient
    gF = grad(s.F, s)
    gp = grad(s.p, s)
    return (s.p * sp.diff(s.F, s.t) + kin * s.p * sp.Add(*[g**2 for g in gF]) + s.p * s.V
            + fis * sp.Add(*[g**2 for g in gp]) / s.p)


def euler_lagrange(lagrangian: sp.Expr, s: MadelungSymbols) -> dict[str, sp.Expr]:
    """Euler-Lagrange expressions ``dL/dy - sum_x d/dx dL/dy_x`` for y = p and y = F, from SymPy."""
    eqs = euler_equations(lagrangian, [s.p, s.F], list(s.coords))
    if len(eqs) != 2:
        raise DerivationError(f"euler_equations returned {len(eqs)} equations for the fields p, F")
    return {"p": eqs[0].lhs - eqs[0].rhs, "F": eqs[1].lhs - eqs[1].rhs}


def continuity(s: MadelungSymbols) -> sp.Expr:
    r""":math:`\partial_t p + \gamma \nabla\cdot(p \nabla F)` (stated form)."""
    return sp.diff(s.p, s.t) + s.gamma * div([s.p * g for g in grad(s.F, s)], s)


def quantum_hamilton_jacobi(s: MadelungSymbols) -> sp.Expr:
    r""":math:`\partial_t F + (\gamma/2)|\nabla F|^2 + V - (c/2)\Delta\sqrt p/\sqrt p` (stated form)."""
    sq = sp.sqrt(s.p)
    return (sp.diff(s.F, s.t) + s.gamma / 2 * sp.Add(*[g**2 for g in grad(s.F, s)]) + s.V
            - s.c / 2 * laplacian(sq, s) / sq)


def madelung_standard(s: MadelungSymbols) -> tuple[sp.Expr, sp.Expr]:
    r"""Madelung's own form in :math:`S = F`, mass m and :math:`\hbar`:
    :math:`\partial_t p + \nabla\cdot(p\nabla S/m)` and
    :math:`\partial_t S + |\nabla S|^2/(2m) + V - (\hbar^2/2m)\Delta\sqrt p/\sqrt p`."""
    sq = sp.sqrt(s.p)
    cont = sp.diff(s.p, s.t) + div([s.p * g / s.m for g in grad(s.F, s)], s)
    hj = (sp.diff(s.F, s.t) + sp.Add(*[g**2 for g in grad(s.F, s)]) / (2 * s.m) + s.V
          - s.hbar**2 / (2 * s.m) * laplacian(sq, s) / sq)
    return cont, hj


def identification(s: MadelungSymbols, *, mass: sp.Expr | None = None,
                   hbar_squared: sp.Expr | None = None) -> dict[sp.Symbol, sp.Expr]:
    r"""The dictionary learning -> quantum: :math:`\gamma = 1/m`, :math:`c = \hbar^2/m` (i.e. :math:`m = 1/\gamma`,
    :math:`\hbar^2 = c/\gamma`). ``mass`` and ``hbar_squared`` (in terms of gamma and c) may be overridden."""
    m_of = 1 / s.gamma if mass is None else mass
    h2_of = s.c / s.gamma if hbar_squared is None else hbar_squared
    # invert: gamma(m, hbar), c(m, hbar)
    sol = sp.solve([sp.Eq(s.m, m_of), sp.Eq(s.hbar**2, h2_of)], [s.gamma, s.c], dict=True)
    if len(sol) != 1:
        raise DerivationError(f"the identification m = {m_of}, hbar^2 = {h2_of} cannot be inverted uniquely")
    return sol[0]


def madelung_equation_set(s: MadelungSymbols) -> EquationSet:
    """The two stated equations as an :class:`EquationSet` (the source of kernels and LaTeX)."""
    return EquationSet("madelung", (("continuity", continuity(s)), ("hamilton_jacobi", quantum_hamilton_jacobi(s))),
                       parameters=(s.gamma, s.c),
                       assumptions=("p > 0 on the support", "F single-valued on the region (see quantisation)"))


def derivation_steps(s: MadelungSymbols, lagrangian: sp.Expr, el: dict[str, sp.Expr]) -> tuple[Step, ...]:
    return (
        Step("Action density of learning (stationary entropy production)", lagrangian, sp.Symbol(r"\mathcal{L}")),
        Step("Euler-Lagrange, variation in F (SymPy euler_equations)", el["F"], sp.Symbol(r"\delta A/\delta F")),
        Step("Stated continuity equation", continuity(s), sp.Symbol("C")),
        Step("Euler-Lagrange, variation in p", el["p"], sp.Symbol(r"\delta A/\delta p")),
        Step("Stated quantum Hamilton-Jacobi equation", quantum_hamilton_jacobi(s), sp.Symbol("Q")),
    )





# --------------------------------------------------------------------------------------------------------------
# The trajectory-level (Nelson) form of the pair, K = 1, used by the numeric checks.
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NelsonSymbols:
    r"""Jet symbols of Nelson's current and osmotic velocities :math:`v(t,q)`, :math:`u(t,q)` (K = 1) and the
    diffusion constant :math:`\nu`, plus the point :math:`q` and the test-function centre/scale :math:`a, \ell`;
    and the jet of the phase-like field itself, :math:`F_q, F_{qq}, F_{qt}` (the *model's* F, used where the
    equation is evaluated with a given F rather than with a velocity measured from trajectories)."""

    q: sp.Symbol
    v: sp.Symbol
    v_q: sp.Symbol
    v_t: sp.Symbol
    u: sp.Symbol
    u_q: sp.Symbol
    u_qq: sp.Symbol
    nu: sp.Symbol
    a: sp.Symbol
    ell: sp.Symbol
    F_q: sp.Symbol = sp.Symbol("F_q", real=True)
    F_qq: sp.Symbol = sp.Symbol("F_qq", real=True)
    F_qt: sp.Symbol = sp.Symbol("F_qt", real=True)

    @staticmethod
    def make(s: MadelungSymbols) -> "NelsonSymbols":
        if len(s.q) != 1:
            raise DerivationError(f"the Nelson form is implemented for K = 1, got K = {len(s.q)}")
        v, v_q, v_t, u, u_q, u_qq = sp.symbols("v v_q v_t u u_q u_qq", real=True)
        nu, ell = sp.symbols("nu ell", positive=True)
        return NelsonSymbols(s.q[0], v, v_q, v_t, u, u_q, u_qq, nu, sp.Symbol("a", real=True), ell)


def nelson_nu(s: MadelungSymbols) -> sp.Expr:
    r"""Diffusion constant of the learning trajectories, :math:`\nu = \hbar\gamma/2 = \sqrt{\gamma c}/2`
    (docs/theory.md, section 4, with the paper's :math:`\hbar^2 = c/\gamma`); written in the learning parameters
    :math:`\gamma, c` only, so that an error in the identification (m, hbar) shows up as a mismatch between the
    simulated trajectories and these equations."""
    return sp.sqrt(s.gamma * s.c) / 2


def nelson_newton(s: MadelungSymbols, n: NelsonSymbols) -> sp.Expr:
    r"""Nelson's stochastic Newton law (stated form), K = 1:
    :math:`\partial_t v + v v' - u u' - \nu u'' + \gamma V' = 0`."""
    return n.v_t + n.v * n.v_q - n.u * n.u_q - n.nu * n.u_qq + s.gamma * sp.diff(s.V, n.q)


def _nelson_replacements(expr: sp.Expr, s: MadelungSymbols, n: NelsonSymbols, lam: sp.Expr,
                         model_F: bool = False) -> dict:
    r"""Map derivatives of F and of :math:`\lambda = \ln p` to Nelson jet symbols:
    :math:`\partial_t^a\partial_q^{b+1} F = \partial_t^a\partial_q^b v/\gamma` (or, with ``model_F``, to the
    jet of F itself: :math:`F_q, F_{qq}, F_{qt}`), :math:`\partial_q^{b+1}\lambda = \partial_q^b u/\nu`."""
    q, t = n.q, s.t
    vsym = ({(0, 0): n.F_q * s.gamma, (0, 1): n.F_qq * s.gamma, (1, 0): n.F_qt * s.gamma} if model_F
            else {(0, 0): n.v, (0, 1): n.v_q, (1, 0): n.v_t})
    usym = {(0, 0): n.u, (0, 1): n.u_q, (0, 2): n.u_qq}
    rep: dict = {}
    for d in expr.atoms(sp.Derivative):
        counts = dict(d.variable_count)
        nt, nq = int(counts.get(t, 0)), int(counts.get(q, 0))
        if d.expr == s.F and nq >= 1 and (nt, nq - 1) in vsym:
            rep[d] = vsym[(nt, nq - 1)] / s.gamma
        elif d.expr == lam and nq >= 1 and nt == 0 and (0, nq - 1) in usym:
            rep[d] = usym[(0, nq - 1)] / n.nu
        elif d.expr in (s.F, lam):
            raise DerivationError(f"{d} has no expression in Nelson's velocities v, u (and their first "
                                  "derivatives)")
    return rep


def _to_nelson(expr: sp.Expr, s: MadelungSymbols, n: NelsonSymbols, model_F: bool = False) -> sp.Expr:
    lam = sp.Function("lambda", real=True)(s.t, *s.q)
    e = sp.expand(sp.powsimp(sp.expand(expr.subs(s.p, sp.exp(lam)).doit()), combine="exp"))
    e = sp.simplify(e)
    e = e.xreplace(_nelson_replacements(e, s, n, lam, model_F))
    left = [a for a in e.atoms(sp.Function) if a.func in (s.F.func, lam.func)]
    if left:
        raise DerivationError(f"after substituting Nelson's velocities the expression still contains {left}: "
                              "it is not a function of v, u and their derivatives")
    return sp.expand(e)


def qhj_gradient_nelson(el_p: sp.Expr, s: MadelungSymbols, n: NelsonSymbols) -> sp.Expr:
    r""":math:`\gamma\,\partial_q` of the quantum Hamilton-Jacobi expression (here: of the Euler-Lagrange
    expression for p of the given action) in Nelson's variables: :math:`p = e^\lambda`,
    :math:`\lambda' = u/\nu`, :math:`F_q = v/\gamma`. For the paper's action and :math:`\nu^2 = \gamma c/4` it is
    exactly :func:`nelson_newton` (checked symbolically by the claim)."""
    return _to_nelson(s.gamma * sp.diff(el_p, n.q), s, n)


def qhj_gradient_model(el_p: sp.Expr, s: MadelungSymbols, n: NelsonSymbols) -> sp.Expr:
    r"""As :func:`qhj_gradient_nelson`, with the derivatives of F kept as the jet :math:`F_q, F_{qq}, F_{qt}` of a
    given (model) F; the density enters through :math:`u = \nu\,\partial_q\ln p` only. For the paper's action:
    :math:`\gamma F_{qt} + \gamma^2 F_q F_{qq} - u u' - \nu u'' + \gamma V'`."""
    return _to_nelson(s.gamma * sp.diff(el_p, n.q), s, n, model_F=True)


def continuity_flux(lagrangian: sp.Expr, s: MadelungSymbols) -> sp.Expr:
    r"""The flux :math:`J = \partial\mathcal L/\partial F_q` of the action (K = 1): the variation in F reads
    :math:`-\partial_t p - \partial_q J = 0` since :math:`\mathcal L` has no bare F and
    :math:`\partial\mathcal L/\partial F_t = p`."""
    q = s.q[0]
    Fq = sp.Derivative(s.F, q)
    y = sp.Symbol("Fq_dummy", real=True)
    return sp.diff(lagrangian.xreplace({Fq: y}), y).xreplace({y: Fq})


def weak_continuity_identity(s: MadelungSymbols, flux: sp.Expr, phi: sp.Expr) -> sp.Expr:
    r"""Integration by parts of the stated continuity equation C against a test function :math:`\varphi(q)`:
    :math:`\varphi C - \partial_t(\varphi p) - \partial_q(\varphi J) + \varphi' J`, zero iff
    :math:`C = \partial_t p + \partial_q J`; then :math:`\int\varphi C = \tfrac{d}{dt}E[\varphi] - E[\varphi' J/p]`
    (boundary terms vanish for decaying :math:`\varphi`), and every term is an ensemble average."""
    q = s.q[0]
    return (phi * continuity(s) - sp.diff(phi * s.p, s.t) - sp.diff(phi * flux, q)
            + sp.diff(phi, q) * flux)


def weak_velocity(flux: sp.Expr, s: MadelungSymbols, n: NelsonSymbols) -> sp.Expr:
    r""":math:`w = J/p` with :math:`F_q = v/\gamma`: the velocity in :math:`\tfrac{d}{dt}E[\varphi] = E[\varphi' w]`
    (for the paper's action :math:`w = v`)."""
    return _to_nelson(flux / s.p, s, n)


def model_weak_velocity(flux: sp.Expr, s: MadelungSymbols, n: NelsonSymbols) -> sp.Expr:
    r""":math:`w = J/p` in the jet :math:`F_q` of a given (model) F: the velocity of the weak continuity form
    :math:`\tfrac{d}{dt}E[\varphi] = E[\varphi' w]` when F is the claimed phase (for the paper's action
    :math:`w = \gamma F_q`)."""
    return _to_nelson(flux / s.p, s, n, model_F=True)


def hermite_test_functions(n: NelsonSymbols, count: int) -> tuple[sp.Expr, ...]:
    r"""Hermite functions :math:`\varphi_k(q) = H_k(z)\,e^{-z^2/2}`, :math:`z = (q - a)/\ell`, k < count:
    smooth, decaying, so boundary terms of the weak form vanish."""
    if not isinstance(count, int) or count < 1:
        raise DerivationError(f"count (number of test functions) must be a positive integer, got {count!r}")
    z = (n.q - n.a) / n.ell
    return tuple(sp.hermite(k, z) * sp.exp(-z**2 / 2) for k in range(count))


__all__ = ["MadelungSymbols", "NelsonSymbols", "continuity", "continuity_flux", "derivation_steps", "euler_lagrange",
           "hermite_test_functions", "identification", "is_zero", "laplacian", "learning_action",
           "madelung_equation_set", "madelung_standard", "model_weak_velocity", "nelson_newton", "nelson_nu",
           "qhj_gradient_model", "qhj_gradient_nelson",
           "quantum_hamilton_jacobi", "weak_continuity_identity", "weak_velocity"]
