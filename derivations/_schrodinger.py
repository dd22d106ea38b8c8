r"""Madelung <-> Schrodinger, quantised circulation and Wallstrom's counterexample (docs/theory.md, section 4).

**The Madelung pair** used here is the one the learning action produces: the Euler-Lagrange expressions of
:func:`~nnqg.derivations._madelung.learning_action` (continuity :math:`C = -\delta A/\delta F`, quantum
Hamilton-Jacobi :math:`Q = \delta A/\delta p`) with the identification :math:`\gamma = 1/m`,
:math:`c = \hbar^2/m`, i.e.

.. math:: C = \partial_t p + \nabla\cdot(p\nabla F)/m, \qquad
          Q = \partial_t F + |\nabla F|^2/(2m) + V - \frac{\hbar^2}{2m}\frac{\Delta\sqrt p}{\sqrt p}.

**The Schrodinger residual** is :math:`S[\psi] = i\hbar\,\partial_t\psi + \frac{\hbar^2}{2m}\Delta\psi - V\psi`.

*Forward* (:func:`forward_identities`): with :math:`\psi = \sqrt p\, e^{iF/\hbar}` (p > 0, F real),

.. math:: \operatorname{Re}\frac{S[\psi]}{\psi} = -Q, \qquad \operatorname{Im}\frac{S[\psi]}{\psi} = \frac{\hbar}{2p}\,C,

so a Madelung solution gives a Schrodinger solution wherever :math:`\psi` is defined (single-valued).

*Backward* (:func:`backward_identities`): with :math:`\psi = a + ib` (a, b real), :math:`p = a^2+b^2`,
:math:`F = \hbar\,\mathrm{atan2}(b, a)`,

.. math:: C = \frac{2}{\hbar}\,(a\,\operatorname{Im}S - b\,\operatorname{Re}S), \qquad
          Q = -\frac{a\,\operatorname{Re}S + b\,\operatorname{Im}S}{a^2+b^2},

so a Schrodinger solution gives a Madelung solution wherever :math:`\psi \neq 0`.

Real and imaginary parts are taken after every function and derivative has been replaced by a real jet symbol
(:func:`~nnqg.derivations.jet`), p by a positive one: the expression is then a rational function of real symbols
and :math:`i`, and its complex conjugate is the substitution :math:`i \to -i` (:func:`real_imag`). V enters
undifferentiated; it is assumed real (the numeric check verifies that on the grid).

>>> s = MadelungSymbols.make(1)
>>> C, Q = madelung_pair(s)
>>> all(is_zero(e) for _, e in forward_identities(s, (C, Q)))
True
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from ._core import Step, is_zero, jet
from ._errors import DerivationError
from ._madelung import MadelungSymbols, euler_lagrange, identification, laplacian, learning_action

Pair = tuple[sp.Expr, sp.Expr]


def madelung_pair(s: MadelungSymbols, *, kinetic_coefficient: sp.Expr | None = None,
                  fisher_coefficient: sp.Expr | None = None, mass: sp.Expr | None = None,
                  hbar_squared: sp.Expr | None = None) -> Pair:
    r"""``(C, Q)`` in :math:`(m, \hbar)`: :math:`C = -\delta A/\delta F`, :math:`Q = \delta A/\delta p` of the
    learning action (coefficients overridable), with :math:`\gamma, c` eliminated by the identification
    ``mass = m(gamma, c)``, ``hbar_squared = hbar^2(gamma, c)`` (defaults :math:`1/\gamma`, :math:`c/\gamma`)."""
    L = learning_action(s, kinetic_coefficient=kinetic_coefficient, fisher_coefficient=fisher_coefficient)
    el = euler_lagrange(L, s)
    sub = identification(s, mass=mass, hbar_squared=hbar_squared)
    return sp.expand(-el["F"].subs(sub)), sp.expand(el["p"].subs(sub))


def schrodinger_residual(psi: sp.Expr, s: MadelungSymbols) -> sp.Expr:
    r""":math:`S[\psi] = i\hbar\,\partial_t\psi + \frac{\hbar^2}{2m}\Delta\psi - V\psi` (zero on solutions)."""
    return sp.I * s.hbar * sp.diff(psi, s.t) + s.hbar**2 / (2 * s.m) * laplacian(psi, s) - s.V * psi


def madelung_wavefunction(s: MadelungSymbols) -> sp.Expr:
    r""":math:`\psi = \sqrt p\, e^{iF/\hbar}`."""
    return sp.sqrt(s.p) * sp.exp(sp.I * s.F / s.hbar)


def real_imag(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""``(Re, Im)`` of an expression whose symbols are all real: :math:`\bar z = z|_{i\to -i}`,
    :math:`\operatorname{Re} z = (z+\bar z)/2`, :math:`\operatorname{Im} z = (z-\bar z)/(2i)`.

    >>> x, y = sp.symbols("x y", real=True)
    >>> real_imag((x + sp.I * y) ** 2)
    (x**2 - y**2, 2*x*y)
    """
    conj = expr.xreplace({sp.I: -sp.I})
    return sp.expand((expr + conj) / 2), sp.expand((expr - conj) / (2 * sp.I))


def _real_jet(exprs: list[sp.Expr], functions: tuple[sp.Expr, ...], positive: tuple[str, ...] = ()) \
        -> list[sp.Expr]:
    """Jet every function/derivative of ``functions`` into real symbols (the same symbols in every expression);
    the bare functions named in ``positive`` become positive symbols (so sqrt(p)**2 = p, 1/sqrt(p) real)."""
    big = sp.Tuple(*exprs)
    out, back = jet(big, functions)
    pos = {sym: sp.Symbol(sym.name, positive=True) for sym in back if sym.name in positive}
    return [e.xreplace(pos) for e in out]


def _jet_functions(s: MadelungSymbols) -> tuple[sp.Expr, ...]:
    """p, F, and V when V is an undefined function V(q) (a concrete potential is left as it is)."""
    return (s.p, s.F) + ((s.V,) if isinstance(s.V, AppliedUndef) else ())


def forward_identities(s: MadelungSymbols, pair: Pair) -> tuple[tuple[str, sp.Expr], ...]:
    r"""Differences that vanish identically iff :math:`\operatorname{Re}(S/\psi) = -Q` and
    :math:`\operatorname{Im}(S/\psi) = \hbar C/(2p)` for :math:`\psi = \sqrt p e^{iF/\hbar}`; each is
    simplified (0 when the identity holds)."""
    C, Q = pair
    psi = madelung_wavefunction(s)
    ratio = sp.expand(sp.powsimp(schrodinger_residual(psi, s) / psi))
    ratio_j, C_j, Q_j, p_j = _real_jet([ratio, C, Q, s.p], _jet_functions(s), positive=("p",))
    if ratio_j.has(sp.exp):
        ratio_j = sp.expand(sp.powsimp(sp.simplify(ratio_j)))
    if ratio_j.has(sp.exp):
        raise DerivationError("S[psi]/psi still contains the phase factor exp(iF/hbar) after simplification")
    re, im = real_imag(ratio_j)
    d_re = re + Q_j
    d_im = im - s.hbar / (2 * p_j) * C_j
    return (("Re(S[psi]/psi) + quantum Hamilton-Jacobi", sp.S.Zero if is_zero(d_re) else sp.simplify(d_re)),
            ("Im(S[psi]/psi) - hbar/(2p) continuity", sp.S.Zero if is_zero(d_im) else sp.simplify(d_im)))


def backward_identities(s: MadelungSymbols, pair: Pair) -> tuple[tuple[str, sp.Expr], ...]:
    r"""With :math:`\psi = a + ib`, :math:`p = a^2+b^2`, :math:`F = \hbar\,\mathrm{atan2}(b,a)`: the differences
    :math:`C - \frac2\hbar(a\operatorname{Im}S - b\operatorname{Re}S)` and
    :math:`Q + (a\operatorname{Re}S + b\operatorname{Im}S)/(a^2+b^2)`, simplified (0 when the identities hold)."""
    C, Q = pair
    a = sp.Function("a", real=True)(*s.coords)
    b = sp.Function("b", real=True)(*s.coords)
    S = schrodinger_residual(a + sp.I * b, s)
    sub = {s.p: a**2 + b**2, s.F: s.hbar * sp.atan2(b, a)}
    C_ab = C.subs(sub).doit()
    Q_ab = Q.subs(sub).doit()
    fs = (a, b) + tuple(f for f in _jet_functions(s) if f not in (s.p, s.F))
    S_j, C_j, Q_j, a_j, b_j = _real_jet([S, C_ab, Q_ab, a, b], fs)
    reS, imS = real_imag(S_j)
    d_c = C_j - 2 / s.hbar * (a_j * imS - b_j * reS)
    d_q = Q_j + (a_j * reS + b_j * imS) / (a_j**2 + b_j**2)
    return (("continuity - (2/hbar)(a Im S - b Re S)", sp.S.Zero if is_zero(d_c) else sp.simplify(d_c)),
            ("Hamilton-Jacobi + (a Re S + b Im S)/|psi|^2", sp.S.Zero if is_zero(d_q) else sp.simplify(d_q)))


def equivalence_steps(s: MadelungSymbols, pair: Pair) -> tuple[Step, ...]:
    psi = madelung_wavefunction(s)
    return (
        Step("Madelung pair from the learning action, gamma = 1/m, c = hbar^2/m: continuity", pair[0],
             sp.Symbol("C")),
        Step("... and quantum Hamilton-Jacobi", pair[1], sp.Symbol("Q")),
        Step("Madelung wave function", psi, sp.Symbol(r"\psi")),
        Step("Schrodinger residual", schrodinger_residual(sp.Function(r"\psi")(*s.coords), s), sp.Symbol("S")),
        Step("Forward: S/psi = -Q + i hbar C/(2p)", -pair[1] + sp.I * s.hbar * pair[0] / (2 * s.p),
             sp.Symbol(r"S/\psi")),
        Step("Backward (psi = a + i b): C = (2/hbar)(a Im S - b Re S), Q = -(a Re S + b Im S)/(a^2 + b^2)",
             sp.Symbol(r"\mathrm{exact\ identities}")),
    )


# ---------------------------------------------------------------------------------------------- circulation

def phase_gradient(a: sp.Expr, b: sp.Expr, coords: tuple[sp.Symbol, ...], hbar: sp.Expr) -> list[sp.Expr]:
    r""":math:`\nabla F` for :math:`F = \hbar\arg\psi`, :math:`\psi = a + ib`:
    :math:`\hbar(a\nabla b - b\nabla a)/(a^2+b^2)` (SymPy's derivative of :math:`\hbar\,\mathrm{atan2}(b,a)`),
    single-valued wherever :math:`\psi \ne 0` although F itself is not."""
    F = hbar * sp.atan2(b, a)
    return [sp.simplify(sp.diff(F, x)) for x in coords]


def vortex_state(n: int, x: sp.Symbol, y: sp.Symbol, width: sp.Expr = sp.Integer(1),
                 center: tuple[sp.Expr, sp.Expr] = (sp.Integer(0), sp.Integer(0))) -> tuple[sp.Expr, sp.Expr]:
    r"""Real and imaginary parts of :math:`\psi = (z - z_0)^n e^{-|z|^2/w^2}` (:math:`\bar z` for n < 0),
    a state with a node of winding n at :math:`z_0`."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise DerivationError(f"vortex winding n must be an integer, got {n!r}")
    z = (x - center[0]) + sp.I * (y - center[1]) * (1 if n >= 0 else -1)
    psi = sp.expand(z ** abs(n)) * sp.exp(-(x**2 + y**2) / width**2)
    return real_imag(psi)


def circle_circulation(gradF: list[sp.Expr], x: sp.Symbol, y: sp.Symbol, R: sp.Expr,
                       center: tuple[sp.Expr, sp.Expr] = (sp.Integer(0), sp.Integer(0))) -> sp.Expr:
    r""":math:`\oint \nabla F\cdot dq` around the circle of radius R about ``center``, exactly (SymPy integrate
    over :math:`\theta \in [0, 2\pi]`)."""
    th = sp.Symbol("theta", real=True)
    on = {x: center[0] + R * sp.cos(th), y: center[1] + R * sp.sin(th)}
    integrand = gradF[0].subs(on) * sp.diff(on[x], th) + gradF[1].subs(on) * sp.diff(on[y], th)
    integrand = sp.simplify(integrand)
    return sp.simplify(sp.integrate(integrand, (th, 0, 2 * sp.pi)))


def curl2d(v: list[sp.Expr], x: sp.Symbol, y: sp.Symbol) -> sp.Expr:
    return sp.diff(v[1], x) - sp.diff(v[0], y)


# ---------------------------------------------------------------------------------------------- Wallstrom

def wallstrom_flow(s: MadelungSymbols, alpha: sp.Expr, omega: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    r"""A stationary 2-D Madelung flow with circulation :math:`2\pi\hbar\alpha`:

    .. math:: p = r^{2|\alpha|} e^{-m\omega r^2/\hbar}, \quad F = \hbar\alpha\theta - E t, \quad
              V = \tfrac12 m\omega^2 r^2, \quad E = \hbar\omega(|\alpha| + 1),

    the 2-D oscillator 'eigenstate' of angular momentum :math:`\hbar\alpha`, well defined as a Madelung flow
    for any real :math:`\alpha` (the equations are local), single-valued as a wave function only for integer
    :math:`\alpha`. Returns ``(p, F, V, E)`` in the coordinates ``s.q`` (K must be 2)."""
    if len(s.q) != 2:
        raise DerivationError("the Wallstrom flow is two-dimensional (K = 2)")
    x, y = s.q
    r2 = x**2 + y**2
    aa = sp.Abs(alpha)
    p = r2**aa * sp.exp(-s.m * omega * r2 / s.hbar)
    E = s.hbar * omega * (aa + 1)
    F = s.hbar * alpha * sp.atan2(y, x) - E * s.t
    V = s.m * omega**2 * r2 / 2
    return p, F, V, E


def substitute_flow(expr: sp.Expr, s: MadelungSymbols, p: sp.Expr, F: sp.Expr) -> sp.Expr:
    """``expr`` (in the functions s.p, s.F) evaluated on the explicit fields p, F."""
    return expr.subs({s.p: p, s.F: F}).doit()


def monodromy(F: sp.Expr, s: MadelungSymbols) -> sp.Expr:
    r""":math:`e^{i\oint\nabla F\cdot dq/\hbar}`: the factor :math:`\psi` picks up around the unit circle; a
    single-valued :math:`\psi = \sqrt p e^{iF/\hbar}` (with any branch of F) needs it to equal 1."""
    circ = circle_circulation([sp.diff(F, q) for q in s.q], s.q[0], s.q[1], sp.Integer(1))
    return sp.simplify(sp.exp(sp.I * circ / s.hbar))


__all__ = ["Pair", "backward_identities", "circle_circulation", "curl2d", "equivalence_steps",
           "forward_identities", "madelung_pair", "madelung_wavefunction", "monodromy", "phase_gradient",
           "real_imag", "schrodinger_residual", "substitute_flow", "vortex_state", "wallstrom_flow"]
