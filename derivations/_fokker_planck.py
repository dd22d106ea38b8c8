r"""The Fokker-Planck equation of SGD from its Langevin step (docs/theory.md, section 2).

**Langevin step.** With time measured in SGD steps, the continuous-time model of mini-batch SGD with step size
:math:`\gamma`, batch size :math:`B` and per-example gradient covariance :math:`\Sigma(q)` is the Euler-Maruyama
increment over a time :math:`dt`

.. math:: \Delta q = -\gamma\,\nabla U(q)\,dt + \eta,\qquad \mathbb E[\eta]=0,\quad
          \mathbb E[\eta\eta^{\mathsf T}] = \frac{\gamma^2}{B}\,\Sigma(q)\,dt ,

(:math:`\eta` Gaussian; one SGD step is :math:`dt = 1` with the mini-batch noise in place of :math:`\eta`).

**Kramers-Moyal.** The moments of the increment give the coefficients
:math:`M_\alpha(q) = \lim_{dt\to0} \mathbb E[\Delta q^\alpha]/dt` (multi-index :math:`\alpha`; the moments are
computed here from Isserlis' theorem, the limit by SymPy), and the density obeys
:math:`\partial_t p = \sum_{\alpha} \frac{(-1)^{|\alpha|}}{\alpha!}\,\partial^\alpha (M_\alpha p)`; truncation at
second order is exact for the Langevin step (all :math:`M_\alpha` with :math:`|\alpha|\ge 3` vanish, checked).
The generator of the same process is :math:`L\varphi = \sum_\alpha M_\alpha\,\partial^\alpha\varphi/\alpha!`, and
the Fokker-Planck operator is its formal adjoint: :math:`p\,L\varphi - \varphi\,L^\dagger p = \nabla\cdot J`
with an explicit flux J built here by repeated integration by parts.

**Stated form** (Ito, q-dependent diffusion):
:math:`\partial_t p = \gamma\,\nabla\cdot(p\nabla U) + \sum_{ij}\partial_i\partial_j(D_{ij}(q)\,p)` with
:math:`D = \gamma^2\Sigma/(2B)`. The drift coefficient and the diffusion formula are named inputs, so a planted
error (sign, factor 2, missing 1/B) changes the stated equation and the exact comparison fails.

**Finite step.** One SGD step (:math:`dt=1`) has exactly :math:`\mathbb E[\Delta q] = -\gamma\nabla U` and
:math:`\mathbb E[\Delta q\Delta q^{\mathsf T}] = \gamma^2(\nabla U\nabla U^{\mathsf T} + \Sigma/B)`; the first term
is the finite-step part of the second moment, :math:`O(\gamma)` relative to the drift on the ensemble's support.
:func:`sgd_step_moments` checks both on a symbolic data set by enumerating every mini-batch (sampled with
replacement).

>>> s = FPSymbols.make(1)
>>> is_zero(kramers_moyal_operator(s) - stated_fokker_planck(s))
True
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp

from ._core import EquationSet, Step, is_zero, jet
from ._errors import DerivationError, InvalidArgument

MultiIndex = tuple[int, ...]
#: ``diffusion_formula(gamma, B, Sigma_ij) -> D_ij``: the measured diffusion from the gradient covariance
DiffusionFormula = Callable[[sp.Expr, sp.Expr, sp.Expr], sp.Expr]


def default_diffusion(gamma: sp.Expr, B: sp.Expr, sigma_ij: sp.Expr) -> sp.Expr:
    r""":math:`D_{ij} = \gamma^2 \Sigma_{ij} / (2B)` (docs/theory.md, section 1, step units)."""
    return gamma**2 * sigma_ij / (2 * B)


@dataclass(frozen=True)
class FPSymbols:
    """Explicit symbols of the K-parameter problem: time, parameters q, step size, batch size, the density
    p(t, q), a test function phi(q), the averaged loss U(q) and the (symmetric) per-example gradient
    covariance Sigma(q); U and Sigma are generic functions unless concrete expressions are given."""

    t: sp.Symbol
    q: tuple[sp.Symbol, ...]
    gamma: sp.Symbol
    B: sp.Symbol
    dt: sp.Symbol
    p: sp.Expr
    phi: sp.Expr
    U: sp.Expr
    Sigma: tuple[tuple[sp.Expr, ...], ...]

    @staticmethod
    def make(K: int, potential: sp.Expr | None = None,
             covariance: Sequence[Sequence[sp.Expr]] | None = None,
             q: Sequence[sp.Symbol] | None = None) -> "FPSymbols":
        if not isinstance(K, int) or isinstance(K, bool) or K < 1:
            raise InvalidArgument(f"K (number of trainable parameters) must be a positive integer, got {K!r}")
        t = sp.Symbol("t", real=True)
        if q is None:
            q = tuple(sp.symbols(f"q1:{K + 1}", real=True)) if K > 1 else (sp.Symbol("q", real=True),)
        q = tuple(q)
        if len(q) != K:
            raise InvalidArgument(f"q: expected {K} symbols, got {len(q)}")
        gamma, B, dt = sp.symbols("gamma B dt", positive=True)
        p = sp.Function("p", positive=True)(t, *q)
        phi = sp.Function("phi", real=True)(*q)
        U = sp.Function("U", real=True)(*q) if potential is None else sp.sympify(potential)
        if covariance is None:
            sig = [[sp.S.Zero] * K for _ in range(K)]
            for i in range(K):
                for j in range(i, K):
                    f = sp.Function(f"Sigma_{i + 1}{j + 1}", real=True)(*q)
                    sig[i][j] = sig[j][i] = f
        else:
            sig = [[sp.sympify(c) for c in row] for row in covariance]
            if len(sig) != K or any(len(r) != K for r in sig):
                raise InvalidArgument(f"covariance: expected a {K}x{K} matrix")
            if any(not is_zero(sig[i][j] - sig[j][i]) for i in range(K) for j in range(K)):
                raise InvalidArgument("covariance: the gradient covariance must be symmetric")
        return FPSymbols(t, q, gamma, B, dt, p, phi, U, tuple(tuple(r) for r in sig))

    @property
    def K(self) -> int:
        return len(self.q)


# ----------------------------------------------------------------------------------------------------------
# Langevin step and its Kramers-Moyal coefficients


def langevin_step(s: FPSymbols) -> tuple[tuple[sp.Expr, ...], tuple[tuple[sp.Expr, ...], ...]]:
    r"""Drift per unit time :math:`a = -\gamma\nabla U` and noise covariance per unit time
    :math:`C = \gamma^2\Sigma/B` of the Euler-Maruyama step :math:`\Delta q = a\,dt + \eta`."""
    a = tuple(-s.gamma * sp.diff(s.U, x) for x in s.q)
    C = tuple(tuple(s.gamma**2 * s.Sigma[i][j] / s.B for j in range(s.K)) for i in range(s.K))
    return a, C


def _isserlis(indices: Sequence[int], cov: Sequence[Sequence[sp.Expr]]) -> sp.Expr:
    """E[eta_{i1} ... eta_{in}] for a centred Gaussian with covariance ``cov`` (sum over pairings)."""
    if not indices:
        return sp.S.One
    if len(indices) % 2:
        return sp.S.Zero
    first, rest = indices[0], list(indices[1:])
    total = sp.S.Zero
    for k in range(len(rest)):
        total += cov[first][rest[k]] * _isserlis(rest[:k] + rest[k + 1:], cov)
    return total


def multi_indices(K: int, order: int) -> list[MultiIndex]:
    """All multi-indices alpha in N^K with |alpha| = order."""
    return [a for a in itertools.product(range(order + 1), repeat=K) if sum(a) == order]


def increment_moment(s: FPSymbols, alpha: MultiIndex) -> sp.Expr:
    r""":math:`\mathbb E[\Delta q^\alpha]` of the Langevin step, a polynomial in dt (Isserlis' theorem)."""
    a, C = langevin_step(s)
    eta = sp.symbols(f"eta1:{s.K + 1}", real=True)
    prod = sp.Mul(*[(a[i] * s.dt + eta[i]) ** alpha[i] for i in range(s.K)])
    poly = sp.Poly(sp.expand(prod), *eta)
    cov_dt = [[C[i][j] * s.dt for j in range(s.K)] for i in range(s.K)]
    total = sp.S.Zero
    for monom, coeff in poly.terms():
        idx = [i for i, n in enumerate(monom) for _ in range(n)]
        total += coeff * _isserlis(idx, cov_dt)
    return sp.expand(total)


def kramers_moyal_coefficient(s: FPSymbols, alpha: MultiIndex) -> sp.Expr:
    r""":math:`M_\alpha = \lim_{dt\to 0} \mathbb E[\Delta q^\alpha]/dt` (SymPy ``limit``)."""
    return sp.limit(increment_moment(s, alpha) / s.dt, s.dt, 0)


def _alpha_factorial(alpha: MultiIndex) -> int:
    return math.prod(math.factorial(n) for n in alpha)


def _d(expr: sp.Expr, s: FPSymbols, alpha: MultiIndex) -> sp.Expr:
    args = [v for x, n in zip(s.q, alpha) for v in [x] * n]
    return sp.diff(expr, *args) if args else expr


def kramers_moyal_operator(s: FPSymbols, order: int = 2) -> sp.Expr:
    r"""Right-hand side of the Kramers-Moyal expansion truncated at ``order``:
    :math:`\sum_{1\le|\alpha|\le n} (-1)^{|\alpha|}/\alpha!\;\partial^\alpha(M_\alpha\,p)`."""
    out = sp.S.Zero
    for n in range(1, order + 1):
        for alpha in multi_indices(s.K, n):
            M = kramers_moyal_coefficient(s, alpha)
            out += sp.Integer(-1) ** n / _alpha_factorial(alpha) * _d(M * s.p, s, alpha)
    return out


def generator(s: FPSymbols, order: int = 2) -> dict[MultiIndex, sp.Expr]:
    r"""The generator :math:`L\varphi = \sum_\alpha (M_\alpha/\alpha!)\,\partial^\alpha\varphi` as a map
    alpha -> coefficient (the backward Kolmogorov operator of the Langevin step)."""
    return {alpha: kramers_moyal_coefficient(s, alpha) / _alpha_factorial(alpha)
            for n in range(1, order + 1) for alpha in multi_indices(s.K, n)}


def apply_operator(coeffs: dict[MultiIndex, sp.Expr], f: sp.Expr, s: FPSymbols) -> sp.Expr:
    """``sum_alpha coeffs[alpha] * d^alpha f``."""
    return sp.Add(*[c * _d(f, s, a) for a, c in coeffs.items()])


def adjoint_by_parts(coeffs: dict[MultiIndex, sp.Expr], s: FPSymbols, u: sp.Expr,
                     v: sp.Expr) -> tuple[sp.Expr, tuple[sp.Expr, ...]]:
    r"""Integrate :math:`u\,L v` by parts until no derivative acts on v:
    :math:`u\,Lv = v\,L^\dagger u + \nabla\cdot J`. Returns :math:`(L^\dagger u, J)`.

    Each derivative is moved one at a time, :math:`c\,\partial_i w = \partial_i(c\,w) - w\,\partial_i c`,
    so J is explicit and the identity can be checked exactly."""
    J = [sp.S.Zero] * s.K
    adj = sp.S.Zero
    for alpha, c in coeffs.items():
        # term: (c u) * d^alpha v ; peel derivatives off v one by one
        weight = c * u
        rest = list(alpha)
        sign = 1
        while any(rest):
            i = next(k for k, n in enumerate(rest) if n)
            rest[i] -= 1
            inner = _d(v, s, tuple(rest))
            J[i] += sign * weight * inner
            weight = sp.diff(weight, s.q[i])
            sign = -sign
        adj += sign * weight
    return adj, tuple(J)


def divergence(J: Sequence[sp.Expr], s: FPSymbols) -> sp.Expr:
    return sp.Add(*[sp.diff(Ji, x) for Ji, x in zip(J, s.q)])


def stated_diffusion(s: FPSymbols, formula: DiffusionFormula = default_diffusion) -> tuple[tuple[sp.Expr, ...], ...]:
    """The stated diffusion matrix ``D_ij = formula(gamma, B, Sigma_ij)`` (measured from the covariance)."""
    return tuple(tuple(sp.sympify(formula(s.gamma, s.B, s.Sigma[i][j])) for j in range(s.K)) for i in range(s.K))


def stated_fokker_planck(s: FPSymbols, *, drift_coefficient: sp.Expr | None = None,
                         diffusion_formula: DiffusionFormula = default_diffusion,
                         form: str = "ito") -> sp.Expr:
    r"""The stated right-hand side :math:`c_d\,\nabla\cdot(p\nabla U) + \sum_{ij}\partial_i\partial_j(D_{ij}p)`,
    :math:`c_d = \gamma` by default.

    ``form="ito"`` is the claim; ``form="inside"`` puts D outside the derivatives
    (:math:`\sum D_{ij}\partial_i\partial_j p`, dropping the terms with derivatives of D) and exists so a
    planted error can use it."""
    if form not in ("ito", "inside"):
        raise InvalidArgument(f"form: expected 'ito' or 'inside', got {form!r}")
    cd = s.gamma if drift_coefficient is None else drift_coefficient
    D = stated_diffusion(s, diffusion_formula)
    drift = cd * sp.Add(*[sp.diff(s.p * sp.diff(s.U, x), x) for x in s.q])
    if form == "ito":
        diff = sp.Add(*[sp.diff(D[i][j] * s.p, s.q[i], s.q[j]) for i in range(s.K) for j in range(s.K)])
    else:
        diff = sp.Add(*[D[i][j] * sp.diff(s.p, s.q[i], s.q[j]) for i in range(s.K) for j in range(s.K)])
    return drift + diff


# ----------------------------------------------------------------------------------------------------------
# SGD on a (symbolic) data set: the step moments that define D


@dataclass(frozen=True)
class RegressionSymbols:
    r"""Two-parameter least squares: per-example loss :math:`\ell = (q_1 x + q_2 - y)^2/2` on data (x, y).
    Data averages of monomials :math:`x^a y^b` are the moment symbols ``M_a_b`` (measured from the data)."""

    x: sp.Symbol
    y: sp.Symbol
    q: tuple[sp.Symbol, sp.Symbol]
    loss: sp.Expr

    @staticmethod
    def make() -> "RegressionSymbols":
        x, y = sp.symbols("x y", real=True)
        q = sp.symbols("q1 q2", real=True)
        return RegressionSymbols(x, y, (q[0], q[1]), (q[0] * x + q[1] - y) ** 2 / 2)

    def gradient(self) -> tuple[sp.Expr, sp.Expr]:
        return tuple(sp.diff(self.loss, v) for v in self.q)  # type: ignore[return-value]


def moment_symbol(a: int, b: int) -> sp.Expr:
    """``M_a_b`` = data mean of x^a y^b (``M_0_0`` = 1)."""
    return sp.S.One if a == b == 0 else sp.Symbol(f"M_{a}_{b}", real=True)


def data_average(expr: sp.Expr, r: RegressionSymbols) -> sp.Expr:
    """Data mean of a polynomial in (x, y): every monomial x^a y^b becomes ``M_a_b``."""
    poly = sp.Poly(sp.expand(expr), r.x, r.y)
    return sp.expand(sp.Add(*[c * moment_symbol(a, b) for (a, b), c in poly.terms()]))


def regression_loss_and_covariance(r: RegressionSymbols) -> tuple[sp.Expr, tuple[tuple[sp.Expr, ...], ...]]:
    r"""Averaged loss :math:`U(q) = \overline{\ell}` and the per-example gradient covariance
    :math:`\Sigma_{ij}(q) = \overline{g_i g_j} - \overline{g_i}\,\overline{g_j}` (quadratic in q), in the moments."""
    g = r.gradient()
    U = data_average(r.loss, r)
    mg = [data_average(gi, r) for gi in g]
    sig = tuple(tuple(sp.expand(data_average(g[i] * g[j], r) - mg[i] * mg[j]) for j in range(2)) for i in range(2))
    return U, sig


def moment_symbols_used(exprs: Sequence[sp.Expr]) -> list[sp.Symbol]:
    """The ``M_a_b`` symbols in ``exprs``, sorted by name."""
    names = {x for e in exprs for x in sp.sympify(e).free_symbols if x.name.startswith("M_")}
    return sorted(names, key=lambda v: v.name)


def sgd_step_moments(n_data: int, batch: int) -> dict[str, sp.Expr]:
    r"""Exact mean and covariance of one SGD step on a symbolic data set of ``n_data`` points, mini-batches of
    ``batch`` examples drawn uniformly with replacement (every one of the ``n_data**batch`` batches enumerated).

    Returns the mean step, the step covariance, and the data-set loss gradient and per-example gradient
    covariance (population, 1/n normalisation) so a caller can check mean = -gamma grad U and
    cov = gamma^2 Sigma / B."""
    if not (isinstance(n_data, int) and isinstance(batch, int) and n_data >= 1 and batch >= 1):
        raise InvalidArgument(f"n_data and batch must be positive integers, got {n_data!r}, {batch!r}")
    r = RegressionSymbols.make()
    gamma = sp.Symbol("gamma", positive=True)
    xs = sp.symbols(f"x1:{n_data + 1}", real=True)
    ys = sp.symbols(f"y1:{n_data + 1}", real=True)
    g = r.gradient()
    per = [[gi.subs({r.x: xs[n], r.y: ys[n]}) for gi in g] for n in range(n_data)]
    mean_g = [sp.Add(*[per[n][i] for n in range(n_data)]) / n_data for i in range(2)]
    Sigma = [[sp.Add(*[per[n][i] * per[n][j] for n in range(n_data)]) / n_data - mean_g[i] * mean_g[j]
              for j in range(2)] for i in range(2)]
    batches = list(itertools.product(range(n_data), repeat=batch))
    w = sp.Rational(1, len(batches))
    steps = [[-gamma * sp.Add(*[per[n][i] for n in bt]) / batch for i in range(2)] for bt in batches]
    mean = [w * sp.Add(*[st[i] for st in steps]) for i in range(2)]
    cov = [[sp.expand(w * sp.Add(*[st[i] * st[j] for st in steps]) - mean[i] * mean[j]) for j in range(2)]
           for i in range(2)]
    U = sp.Add(*[r.loss.subs({r.x: xs[n], r.y: ys[n]}) for n in range(n_data)]) / n_data
    return {"gamma": gamma, "q": r.q, "mean": mean, "cov": cov, "U": U, "Sigma": Sigma,
            "second_moment": [[sp.expand(cov[i][j] + mean[i] * mean[j]) for j in range(2)] for i in range(2)]}


# ----------------------------------------------------------------------------------------------------------
# The stated operator in conservative (flux) form, for the finite-volume solver


def flux_form(op: sp.Expr, s: FPSymbols) -> dict[str, sp.Expr]:
    r"""Write a linear second-order operator :math:`\mathcal F[p] = \sum_{|\alpha|\le2} c_\alpha\partial^\alpha p`
    as :math:`\sum_i \partial_i\big(\sum_j A_{ij}\partial_j p + b_i p\big) + c_0\,p` with
    :math:`A_{ij} = c_{ij}` (symmetrised), :math:`b_i = c_i - \sum_j\partial_j A_{ij}`,
    :math:`c_0 = c_{0} - \sum_i \partial_i b_i` (K = 2). A true Fokker-Planck operator conserves mass: c0 = 0.

    Returns ``A11, A12, A22, b1, b2, c0`` as expressions in q; raises DerivationError when the operator is not
    linear in p and its derivatives up to order 2 (the identity is rechecked exactly)."""
    if s.K != 2:
        raise InvalidArgument(f"flux_form: implemented for K = 2, got K = {s.K}")
    e, back = jet(sp.expand(op), (s.p,))
    syms = {back[k]: k for k in back}  # original -> jet symbol
    q1, q2 = s.q

    def sym(*alpha: int) -> sp.Symbol | None:
        d = _d(s.p, s, alpha)
        return syms.get(d)

    names = {(0, 0): sym(0, 0), (1, 0): sym(1, 0), (0, 1): sym(0, 1), (2, 0): sym(2, 0), (1, 1): sym(1, 1),
             (0, 2): sym(0, 2)}
    present = [v for v in names.values() if v is not None]
    unknown = set(back) - set(present)
    if unknown:
        raise DerivationError(f"flux_form: the operator contains {sorted(map(str, unknown))}, beyond 2nd order")
    coeff: dict[tuple[int, int], sp.Expr] = {}
    rest = e
    for a, v in names.items():
        if v is None:
            coeff[a] = sp.S.Zero
            continue
        c = sp.expand(e).coeff(v)
        if any(w in c.free_symbols for w in present):
            raise DerivationError("flux_form: the operator is not linear in p")
        coeff[a] = sp.expand(c)
        rest = rest - c * v
    if not is_zero(rest):
        raise DerivationError(f"flux_form: the operator has a term without p: {sp.simplify(rest)}")
    A11, A22, A12 = coeff[(2, 0)], coeff[(0, 2)], coeff[(1, 1)] / 2
    b1 = sp.expand(coeff[(1, 0)] - sp.diff(A11, q1) - sp.diff(A12, q2))
    b2 = sp.expand(coeff[(0, 1)] - sp.diff(A12, q1) - sp.diff(A22, q2))
    c0 = sp.expand(coeff[(0, 0)] - sp.diff(b1, q1) - sp.diff(b2, q2))
    rebuilt = (sp.diff(A11 * sp.diff(s.p, q1) + A12 * sp.diff(s.p, q2) + b1 * s.p, q1)
               + sp.diff(A12 * sp.diff(s.p, q1) + A22 * sp.diff(s.p, q2) + b2 * s.p, q2) + c0 * s.p)
    if not is_zero(rebuilt - op):
        raise DerivationError("flux_form: the conservative form does not reproduce the operator")
    return {"A11": A11, "A12": A12, "A22": A22, "b1": b1, "b2": b2, "c0": c0}


def operator_coefficients(op: sp.Expr, s: FPSymbols) -> dict[MultiIndex, sp.Expr]:
    """Coefficients c_alpha of a linear operator in p (|alpha| <= 2), from the flux form."""
    ff = flux_form(op, s)
    q1, q2 = s.q
    A11, A12, A22, b1, b2, c0 = (ff[k] for k in ("A11", "A12", "A22", "b1", "b2", "c0"))
    return {(2, 0): A11, (1, 1): 2 * A12, (0, 2): A22,
            (1, 0): sp.expand(b1 + sp.diff(A11, q1) + sp.diff(A12, q2)),
            (0, 1): sp.expand(b2 + sp.diff(A12, q1) + sp.diff(A22, q2)),
            (0, 0): sp.expand(c0 + sp.diff(b1, q1) + sp.diff(b2, q2))}


def hermite_function(k: Sequence[int], z: Sequence[sp.Expr]) -> sp.Expr:
    r"""Hermite test function :math:`\prod_i He_{k_i}(z_i)\,e^{-|z|^2/2}` (probabilists' polynomials)."""
    out = sp.exp(-sp.Add(*[zi**2 for zi in z]) / 2)
    for ki, zi in zip(k, z):
        out *= sp.hermite_prob(ki, zi)
    return out


def weak_form_integrands(op: sp.Expr, s: FPSymbols) -> tuple[sp.Expr, sp.Expr]:
    r"""Weak form of :math:`\partial_t p = \mathcal F[p]`: :math:`\frac{d}{dt}\mathbb E[\varphi] =
    \mathbb E[\mathcal F^\dagger\varphi]`, for the generic test function ``s.phi``.

    Returns :math:`\mathcal F^\dagger\varphi` (from the stated operator by integration by parts, so a wrong
    operator gives a wrong integrand) and the finite-step term of one SGD step,
    :math:`\tfrac{\gamma^2}{2}\,\nabla U^{\mathsf T}(\nabla\nabla\varphi)\nabla U` (the
    :math:`\gamma^2\nabla U\nabla U^{\mathsf T}` part of the exact second moment of the step). Both are linear in
    the derivatives of phi up to order 2; :func:`nnqg.derivations.jet` turns them into pointwise expressions."""
    coeffs = operator_coefficients(op, s)
    # phi F[p] = p F^dagger[phi] + div J: move every derivative off p (integration by parts)
    adj, _ = adjoint_by_parts(coeffs, s, s.phi, s.p)
    gU = [sp.diff(s.U, x) for x in s.q]
    fs = s.gamma**2 / 2 * sp.Add(*[gU[i] * gU[j] * sp.diff(s.phi, s.q[i], s.q[j])
                                   for i in range(s.K) for j in range(s.K)])
    return sp.expand(adj), sp.expand(fs)


def regression_operator(drift_coefficient: Callable[[sp.Expr], sp.Expr] | None = None,
                        diffusion_formula: DiffusionFormula = default_diffusion, form: str = "ito"
                        ) -> tuple[FPSymbols, RegressionSymbols, sp.Expr]:
    """The stated operator for the two-parameter regression (U and Sigma(q) in the data moments), with its
    symbols: ``drift_coefficient(gamma)`` (None: gamma) and ``diffusion_formula`` as in
    :func:`stated_fokker_planck`."""
    r = RegressionSymbols.make()
    U, Sig = regression_loss_and_covariance(r)
    s = FPSymbols.make(2, potential=U, covariance=Sig, q=r.q)
    cd = None if drift_coefficient is None else sp.sympify(drift_coefficient(s.gamma))
    return s, r, stated_fokker_planck(s, drift_coefficient=cd, diffusion_formula=diffusion_formula, form=form)


def fokker_planck_equation_set(s: FPSymbols, op: sp.Expr | None = None) -> EquationSet:
    """The stated equation dp/dt - F[p] = 0 as an EquationSet (for kernels and LaTeX)."""
    rhs = stated_fokker_planck(s) if op is None else op
    return EquationSet("fokker_planck", (("fokker_planck", sp.diff(s.p, s.t) - rhs),),
                       parameters=(s.gamma, s.B),
                       assumptions=("time in SGD steps", "Ito form, q-dependent D = gamma^2 Sigma/(2B)"))


def derivation_steps(s: FPSymbols) -> tuple[Step, ...]:
    a, C = langevin_step(s)
    return (
        Step("Langevin (Euler-Maruyama) step: drift per unit time", sp.Matrix(a), sp.Symbol("a")),
        Step("noise covariance per unit time (gamma^2 Sigma / B)", sp.Matrix(C), sp.Symbol("C")),
        Step("Kramers-Moyal expansion truncated at second order", kramers_moyal_operator(s),
             sp.Symbol(r"\partial_t p")),
        Step("Stated Fokker-Planck operator (Ito, D = gamma^2 Sigma/(2B))", stated_fokker_planck(s),
             sp.Symbol(r"\partial_t p")),
        Step("Finite step (dt = 1): E[dq dq^T] - C = gamma^2 grad U grad U^T, the O(gamma) part",
             sp.Matrix([[s.gamma**2 * sp.diff(s.U, xi) * sp.diff(s.U, xj) for xj in s.q] for xi in s.q]),
             sp.Symbol(r"\delta M_2")),
    )


__all__ = [
    "DiffusionFormula", "FPSymbols", "RegressionSymbols", "adjoint_by_parts", "apply_operator", "data_average",
    "default_diffusion", "derivation_steps", "divergence", "flux_form", "fokker_planck_equation_set",
    "generator", "hermite_function", "increment_moment", "kramers_moyal_coefficient", "kramers_moyal_operator",
    "langevin_step", "moment_symbol", "moment_symbols_used", "multi_indices", "operator_coefficients",
    "regression_loss_and_covariance", "regression_operator", "sgd_step_moments", "stated_diffusion", "stated_fokker_planck",
    "weak_form_integrands",
]
