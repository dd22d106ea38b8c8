r"""How far an ensemble is from a stated Fokker-Planck equation, measured as a *diffusion ratio*.

The stated equation :math:`\partial_t p = \mathcal F_{\rm drift}[p] + \mathcal F_{\rm diff}[p]` (drift term
:math:`c_d\nabla\cdot(p\nabla U)`, diffusion term :math:`\sum\partial_i\partial_j(D_{ij}p)`) acts on test
functions :math:`\varphi_k` through its adjoint parts, :math:`\frac{d}{dt}\mathbb E\varphi =
\mathbb E[\mathcal F^\dagger_{\rm drift}\varphi] + \mathbb E[\mathcal F^\dagger_{\rm diff}\varphi]`. The
**diffusion ratio** :math:`\lambda` is the factor by which the stated diffusion term must be multiplied for the
ensemble to satisfy the equation (least squares over the test functions); :math:`\lambda = 1` when the equation
holds, and the distance reported is :math:`|\lambda - 1|`: 0 when it holds, 1 when the ensemble shows no
diffusion beyond the drift or twice the stated one, :math:`|\epsilon|` for a diffusion off by a factor
:math:`1+\epsilon`. Two estimators:

* **stationary (time-integrated weak form)**, :func:`stationary_ratio`: over a window of recorded steps
  :math:`n_1..n_2`, per member :math:`X_k = \varphi_k(q_{n_2}) - \varphi_k(q_{n_1}) - \sum^{\rm trap}_n
  \mathcal F^\dagger_{\rm drift}\varphi_k(q_n)` and :math:`Y_k = \sum^{\rm trap}_n\mathcal F^\dagger_{\rm diff}
  \varphi_k(q_n)` (trapezoid rule in time: its error is second order in the step); :math:`\lambda =
  \langle\bar X,\bar Y\rangle/\langle\bar Y,\bar Y\rangle`, standard error by the delete-one-group jackknife over
  ``groups`` groups of members (members are independent);
* **transient (density at one time)**, :func:`transient_ratio`: the ensemble's test-function averages
  :math:`\bar\varphi` at a time t against the stated equation's solution there, :math:`E^{\rm FP}`, and the
  drift-only solution (no diffusion term), :math:`E^0`: :math:`\lambda = \langle\bar\varphi - E^0,
  E^{\rm FP} - E^0\rangle/|E^{\rm FP} - E^0|^2`, a mean over members, so its standard error is the members'
  standard deviation over :math:`\sqrt N`.

Each also returns the stated equation's whole residual per test function (:math:`\lambda = 1`) with its standard
errors, so a calibration can test the full vector, not only its projection on the diffusion direction (a timing
or drift error is mostly orthogonal to it, and the ratio alone does not see it).

Test functions are Hermite functions :math:`He_{k_1}(z_1)He_{k_2}(z_2)e^{-|z|^2/2}`,
:math:`z = (q - c)/\ell` (:class:`HermiteTests`, the generated kernel of :mod:`nnqg.numerics._sgd`). Both also
report the remainder orthogonal to the diffusion direction, relative to it (reported, not judged).

>>> A, D, qs = 0.1 * np.eye(2), 0.004 * np.eye(2), np.zeros(2)
>>> parts = LinearDriftConstantDiffusion(A, qs, D)
>>> tests = HermiteTests(centre=(0.0, 0.0), scale=0.4)
>>> from nnqg.numerics._langevin import ou_moments, simulate_ou
>>> rng = np.random.default_rng(0)
>>> q0 = rng.multivariate_normal(qs, ou_moments(A, D, qs, qs, np.zeros((2, 2)), 1e3)[1], 20000)
>>> r = stationary_ratio(simulate_ou(A, D, qs, q0, 20, rng), parts, tests)
>>> bool(abs(r.ratio - 1) < 4 * r.se)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument, derivative_symbol_name, jet
from nnqg.derivations._fokker_planck import DiffusionFormula, FPSymbols, RegressionSymbols, default_diffusion, \
    moment_symbols_used, regression_operator, weak_form_integrands

from ._codegen import ResidualKernel, compile_residual
from ._fp_solver import Grid2D
from ._sgd import DEFAULT_TEST_INDICES, PHI_JET, _d_phi, equation_keys, fokker_planck_equation

JET = ("value", "d1", "d2", "d11", "d12", "d22")  # the order of PHI_JET


@dataclass(frozen=True)
class HermiteTests:
    """Hermite test functions centred at ``centre`` with scale ``scale`` (the indices of
    :data:`nnqg.numerics._sgd.DEFAULT_TEST_INDICES`)."""

    centre: tuple[float, float]
    scale: float

    def __post_init__(self) -> None:
        if not (np.all(np.isfinite(self.centre)) and np.isfinite(self.scale) and self.scale > 0):
            raise InvalidArgument(f"test functions: need a finite centre and a scale > 0, got {self.centre}, "
                                  f"{self.scale}")

    @property
    def count(self) -> int:
        return len(DEFAULT_TEST_INDICES)

    def jets(self, q: np.ndarray) -> np.ndarray:
        """Values and derivatives up to order 2 at the points q (n, 2): shape (count, 6, n), order ``JET``."""
        eq = fokker_planck_equation()
        q = np.asarray(q, dtype=float).reshape(-1, 2)
        H = eq.values(eq.hermite, q, {"c1": float(self.centre[0]), "c2": float(self.centre[1]),
                                      "ell": float(self.scale)})
        return H.reshape(self.count, len(PHI_JET), q.shape[0])


class WeakParts(Protocol):
    def __call__(self, q: np.ndarray, jets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(drift part, diffusion part) of the adjoint on each test function: two arrays (count, n)."""


@dataclass(frozen=True)
class LinearDriftConstantDiffusion:
    """The adjoint parts of :math:`\\partial_t p = \\nabla\\cdot(p A(q - q^*)) + \\sum D_{ij}\\partial_i\\partial_j p`
    (an Ornstein-Uhlenbeck process): :math:`-(A(q-q^*))\\cdot\\nabla\\varphi` and :math:`D:\\nabla\\nabla\\varphi`."""

    A: np.ndarray
    q_star: np.ndarray
    D: np.ndarray

    def __call__(self, q: np.ndarray, jets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = (np.asarray(q, float).reshape(-1, 2) - self.q_star) @ np.asarray(self.A, float).T
        drift = -(d[:, 0] * jets[:, 1] + d[:, 1] * jets[:, 2])
        D = np.asarray(self.D, float)
        diff = D[0, 0] * jets[:, 3] + 2 * D[0, 1] * jets[:, 4] + D[1, 1] * jets[:, 5]
        return drift, diff


@dataclass(frozen=True)
class StatedParts:
    """The adjoint parts of the stated equation of the regression task (generated kernel, :func:`weak_parts`),
    at the parameters ``params`` (gamma, B and the data moments); ``extra_drift`` (a 2 x 2 matrix M, optional)
    adds the drift :math:`-M(q - q^*)` (e.g. the second-order modified-equation term of SGD)."""

    kernel: ResidualKernel
    params: Mapping[str, float]
    q_star: np.ndarray | None = None
    extra_drift: np.ndarray | None = None

    def __call__(self, q: np.ndarray, jets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(q, float).reshape(-1, 2)
        vals = {k: float(self.params[k]) for k in self.kernel.parameters}
        drift = np.empty((jets.shape[0], q.shape[0]))
        diff = np.empty_like(drift)
        for k in range(jets.shape[0]):
            out = self.kernel(q1=q[:, 0], q2=q[:, 1], **{n: jets[k, m] for m, n in enumerate(_jet_names())}, **vals)
            drift[k], diff[k] = out[0], out[1]
        if self.extra_drift is not None:
            d = (q - self.q_star) @ np.asarray(self.extra_drift, float).T
            drift -= d[:, 0] * jets[:, 1] + d[:, 1] * jets[:, 2]
        return drift, diff


@lru_cache(maxsize=1)
def _jet_names() -> tuple[str, ...]:
    s = FPSymbols.make(2, q=RegressionSymbols.make().q)
    return tuple(derivative_symbol_name(_d_phi(s, a)) for a in PHI_JET)


def weak_parts(drift_coefficient: Callable[[sp.Expr], sp.Expr] | None = None,
               diffusion_formula: DiffusionFormula = default_diffusion, form: str = "ito") -> ResidualKernel:
    """The generated kernel of the stated equation's adjoint, split into its drift part (the operator with D = 0)
    and its diffusion part (the rest), pointwise in (q, jet of a test function); outputs ``drift``,
    ``diffusion``. Keyed like :func:`nnqg.numerics._sgd.fokker_planck_equation` (equal formulas share it)."""
    return _parts_cached(*equation_keys(drift_coefficient, diffusion_formula), form)


@lru_cache(maxsize=16)
def _parts_cached(drift_key: Any, diffusion_key: Any, form: str) -> ResidualKernel:
    drift_coefficient, diffusion_formula = drift_key[1], diffusion_key[1]
    s, r, op = regression_operator(drift_coefficient, diffusion_formula, form)
    _, _, no_d = regression_operator(drift_coefficient, lambda *_: sp.S.Zero, form)
    adj, _ = weak_form_integrands(op, s)
    adj_drift, _ = weak_form_integrands(no_d, s)
    j_drift, _ = jet(adj_drift, (s.phi,))
    j_diff, _ = jet(sp.expand(adj - adj_drift), (s.phi,))
    jet_syms = [sp.Symbol(n, real=True) for n in _jet_names()]
    moments = moment_symbols_used([j_drift, j_diff])
    return compile_residual([("drift", j_drift), ("diffusion", j_diff)], fields=list(r.q) + jet_syms,
                            parameters=[s.gamma, s.B] + moments, name=f"fp_weak_parts_{form}")


@dataclass(frozen=True)
class DiffusionRatio:
    """A measured diffusion ratio :math:`\\lambda` (module docstring) with its standard error; ``distance`` is
    :math:`|\\lambda - 1|`; ``orthogonal``: the remainder orthogonal to the diffusion direction, relative to it."""

    label: str
    ratio: float
    se: float
    orthogonal: float
    n_members: int
    details: Mapping[str, Any] = field(default_factory=dict)
    #: the whole residual of the stated equation per test function (lambda = 1) and its standard errors
    residual: tuple[float, ...] = ()
    residual_se: tuple[float, ...] = ()

    @property
    def residual_z(self) -> np.ndarray:
        return np.asarray(self.residual) / np.asarray(self.residual_se)

    @property
    def distance(self) -> float:
        return abs(self.ratio - 1.0)


def _ratio(X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    lam = float(X @ Y / (Y @ Y))
    return lam, float(np.linalg.norm(X - lam * Y) / np.linalg.norm(Y))


def jackknife(X: np.ndarray, Y: np.ndarray, groups: int) -> tuple[float, float, float]:
    """:math:`\\lambda = \\langle\\bar X,\\bar Y\\rangle/|\\bar Y|^2` of per-member vectors X, Y (N, K), its
    delete-one-group jackknife standard error over ``groups`` contiguous groups, and the orthogonal remainder."""
    N = X.shape[0]
    if not (isinstance(groups, (int, np.integer)) and 2 <= groups <= N):
        raise InvalidArgument(f"groups: expected an integer in 2..{N}, got {groups!r}")
    lam, orth = _ratio(X.mean(0), Y.mean(0))
    edges = np.linspace(0, N, groups + 1).round().astype(int)
    sx, sy = X.sum(0), Y.sum(0)
    loo = []
    for a, b in zip(edges[:-1], edges[1:]):
        n = N - (b - a)
        loo.append(_ratio((sx - X[a:b].sum(0)) / n, (sy - Y[a:b].sum(0)) / n)[0])
    loo_a = np.array(loo)
    se = float(np.sqrt((groups - 1) / groups * ((loo_a - loo_a.mean()) ** 2).sum()))
    return lam, se, orth


def stationary_ratio(traj: np.ndarray, parts: WeakParts, tests: HermiteTests, *, groups: int = 32,
                     label: str = "stationary") -> DiffusionRatio:
    """The time-integrated weak-form diffusion ratio over the recorded window ``traj`` (n_rec, N, 2), one record
    per unit of time (module docstring)."""
    traj = np.asarray(traj, dtype=float)
    if traj.ndim != 3 or traj.shape[2] != 2 or traj.shape[0] < 2:
        raise InvalidArgument(f"traj: expected (n_rec >= 2, N, 2), got shape {traj.shape}")
    n_rec, N, _ = traj.shape
    X = np.zeros((tests.count, N))
    Y = np.zeros((tests.count, N))
    for n in range(n_rec):
        jets = tests.jets(traj[n])
        drift, diff = parts(traj[n], jets)
        w = 0.5 if n in (0, n_rec - 1) else 1.0
        X -= w * drift
        Y += w * diff
        if n == 0:
            X -= jets[:, 0]
        elif n == n_rec - 1:
            X += jets[:, 0]
    lam, se, orth = jackknife(X.T, Y.T, groups)
    R = X - Y                     # the stated equation's weak residual per member (lambda = 1)
    edges = np.linspace(0, N, groups + 1).round().astype(int)
    loo = np.array([(R.sum(1) - R[:, a:b].sum(1)) / (N - (b - a)) for a, b in zip(edges[:-1], edges[1:])])
    r_se = np.sqrt((groups - 1) / groups * ((loo - loo.mean(0)) ** 2).sum(0))
    return DiffusionRatio(label, lam, se, orth, N, {"window (steps)": n_rec - 1, "groups": groups,
                                                     "diffusion term per test function": Y.mean(1).tolist(),
                                                     "test functions": {"centre": list(tests.centre),
                                                                        "scale": tests.scale}},
                          tuple(R.mean(1).tolist()), tuple(r_se.tolist()))


def grid_expectations(tests: HermiteTests, grid: Grid2D, masses: np.ndarray) -> np.ndarray:
    """:math:`\\sum_{\\rm cells}\\varphi_k(\\text{centre})\\,m_{\\rm cell}` for cell masses (n1, n2): shape (count,)."""
    c1, c2 = np.meshgrid(grid.centres(0), grid.centres(1), indexing="ij")
    phi = tests.jets(np.stack([c1.ravel(), c2.ravel()], axis=1))[:, 0]
    return phi @ np.asarray(masses, dtype=float).ravel()


def gaussian_expectations(tests: HermiteTests, mean: np.ndarray, cov: np.ndarray, order: int = 40) -> np.ndarray:
    """:math:`\\mathbb E[\\varphi_k(q)]` under N(mean, cov) by a product Gauss-Hermite rule of ``order`` points per
    axis in the Cholesky frame (exact to round-off for these smooth test functions): shape (count,)."""
    x, w = np.polynomial.hermite_e.hermegauss(int(order))
    w = w / w.sum()
    L = np.linalg.cholesky(np.asarray(cov, dtype=float))
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    q = np.asarray(mean, dtype=float) + np.stack([z1.ravel(), z2.ravel()], axis=1) @ L.T
    return tests.jets(q)[:, 0] @ np.outer(w, w).ravel()


def transient_ratio(ens: np.ndarray, tests: HermiteTests, e_fp: np.ndarray, e_drift: np.ndarray, *,
                    label: str = "transient") -> DiffusionRatio:
    """The density-level diffusion ratio of the ensemble ``ens`` (N, 2) at one time, against the stated
    equation's test-function averages ``e_fp`` and the drift-only ones ``e_drift`` (module docstring)."""
    ens = np.asarray(ens, dtype=float)
    Y = np.asarray(e_fp, float) - np.asarray(e_drift, float)
    yy = float(Y @ Y)
    if not yy > 0:
        raise InvalidArgument("transient_ratio: the stated diffusion has no effect on the test functions")
    phi = tests.jets(ens)[:, 0]
    z = ((phi.T - e_drift) @ Y) / yy
    lam = float(z.mean())
    mean_phi = phi.mean(1)
    orth = float(np.linalg.norm(mean_phi - e_drift - lam * Y) / np.sqrt(yy))
    return DiffusionRatio(label, lam, float(z.std(ddof=1) / np.sqrt(z.size)), orth, int(z.size),
                          {"diffusion effect per test function (E_FP - E_drift)": Y.tolist(),
                           "test functions": {"centre": list(tests.centre), "scale": tests.scale}},
                          tuple((mean_phi - np.asarray(e_fp, float)).tolist()),
                          tuple((phi.std(axis=1, ddof=1) / np.sqrt(z.size)).tolist()))


def osmotic_mismatch(q: np.ndarray, q_star: np.ndarray, H: np.ndarray, gamma: float) -> dict[str, float]:
    r"""How far a stationary ensemble of plain SGD is from Nelson's osmotic form (reported, not judged).

    Nelson's diffusion has one constant, isotropic :math:`\nu` and osmotic velocity :math:`u = \nu\nabla\ln p`.
    For SGD the forward drift is :math:`b = -\gamma H(q - q^*)` and, the stationary current being ~0, the osmotic
    velocity is u = b. The score :math:`s = \nabla\ln p` is fitted by score matching (minimise
    :math:`\mathbb E[|s|^2 + 2\nabla\cdot s]` over s affine in q: ensemble averages only, no density
    differentiated); the best single :math:`\nu` and the relative residual :math:`\|u - \nu s\|/\|u\|` measure
    the mismatch (0 for Nelson's diffusion)."""
    q = np.asarray(q, dtype=float)
    X = np.hstack([q - q_star, np.ones((q.shape[0], 1))])
    # s = X C; minimising E|X C|^2 + 2 tr W (W the linear block of C) gives (X^T X / N) C = -[I; 0]
    C = np.linalg.solve(X.T @ X / q.shape[0], -np.vstack([np.eye(2), np.zeros((1, 2))]))
    s = X @ C
    u = -gamma * (q - q_star) @ np.asarray(H, float).T
    nu = float((u * s).sum() / (s * s).sum())
    return {"gamma": float(gamma), "nu_best_fit (step units)": nu,
            "relative_osmotic_residual": float(np.sqrt(((u - nu * s) ** 2).sum() / (u**2).sum()))}


__all__ = ["DiffusionRatio", "HermiteTests", "LinearDriftConstantDiffusion", "StatedParts", "gaussian_expectations",
           "grid_expectations",
           "jackknife", "osmotic_mismatch", "stationary_ratio", "transient_ratio", "weak_parts"]
