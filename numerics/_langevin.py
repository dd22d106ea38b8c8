r"""Constructed diffusions for the Fokker-Planck claim: Ornstein-Uhlenbeck in closed form and simulated exactly,
and the Langevin SDE of a stated equation (the positive and negative controls of the learning experiment).

**Ornstein-Uhlenbeck.** :math:`dq = -A(q - q^*)\,dt + \sqrt{2D}\,dW` with A symmetric positive definite (for the
regression task :math:`A = c_d H`, H the Hessian of the loss) and D constant. Its density stays Gaussian with

.. math:: m(t) = q^* + e^{-At}(m_0 - q^*),\qquad
          C(t) = e^{-At}C_0e^{-At} + \int_0^t e^{-As}\,2D\,e^{-As}\,ds ,

which in the eigenbasis of :math:`A = V\mathrm{diag}(a)V^{\mathsf T}` is
:math:`\tilde C_{ij}(t) = e^{-(a_i+a_j)t}\tilde C_{0,ij} + 2\tilde D_{ij}(1 - e^{-(a_i+a_j)t})/(a_i + a_j)`
(:func:`ou_moments`). The transition over a time :math:`\Delta` is exact:
:math:`q' = q^* + e^{-A\Delta}(q - q^*) + \eta`, :math:`\eta \sim \mathcal N(0, C_\Delta)` with :math:`C_\Delta`
the covariance above from :math:`C_0 = 0` (:func:`simulate_ou`; ``transition="euler"`` takes the
Euler-Maruyama step :math:`q' = q - A(q - q^*)\Delta + \sqrt{2D\Delta}\,\xi` instead, first order in
:math:`\Delta`, kept as a planted simulator error). :func:`gaussian_cell_masses` integrates a correlated
Gaussian over the cells of a grid with 3 x 3 Gauss-Legendre points per cell (error :math:`O(h^6)`).

**Langevin SDE of the stated equation** (:func:`simulate_langevin`): :math:`dq = -A(q - q^*)\,dt +
\sqrt{2\,\kappa D(q)}\,dW` (Ito), D(q) a quadratic polynomial in q (the measured diffusion of the regression
task is one: :func:`quadratic_fit` recovers its coefficients exactly from a kernel), :math:`\kappa` a noise
factor (1 for the positive control, 2 for "noise variance doubled"). ``substeps`` exponential-Euler steps per
unit time (the linear drift exact, D frozen over a substep); the weak error is :math:`O(1/\text{substeps})`.
The normals come from a NumPy Generator, one block per unit of time, and a numba kernel advances every member
independently: the same seed gives the same ensemble.

>>> A, D = np.diag([1.0, 2.0]), np.diag([0.5, 0.5])
>>> m, C = ou_moments(A, D, np.zeros(2), np.ones(2), np.zeros((2, 2)), 50.0)
>>> np.round(np.diag(C), 6).tolist()        # the stationary covariance D A^-1 for commuting A, D
[0.5, 0.25]
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numba import prange

from nnqg.derivations import InvalidArgument

from ._fp_solver import Grid2D
from ._jitcache import njit_cached

TRANSITIONS = ("exact", "euler")


def _sym_pd(M: np.ndarray, name: str, definite: bool = True) -> np.ndarray:
    M = np.asarray(M, dtype=float)
    if M.shape != (2, 2) or not np.all(np.isfinite(M)) or abs(M[0, 1] - M[1, 0]) > 1e-12 * (1 + abs(M).max()):
        raise InvalidArgument(f"{name}: expected a finite symmetric 2x2 matrix, got {M.tolist()}")
    ev = np.linalg.eigvalsh(M)
    if (definite and ev.min() <= 0) or ev.min() < 0:
        raise InvalidArgument(f"{name}: must be positive {'definite' if definite else 'semi-definite'}, "
                              f"eigenvalues {ev.tolist()}")
    return 0.5 * (M + M.T)


def ou_moments(A: np.ndarray, D: np.ndarray, q_star: np.ndarray, m0: np.ndarray, C0: np.ndarray,
               t: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance at time t of the OU process started from N(m0, C0) (module docstring)."""
    A, D = _sym_pd(A, "A"), _sym_pd(D, "D", definite=False)
    a, V = np.linalg.eigh(A)
    E = V @ np.diag(np.exp(-a * t)) @ V.T
    s = a[:, None] + a[None, :]
    Dt = V.T @ D @ V
    Ct = V @ (2 * Dt * (-np.expm1(-s * t)) / s) @ V.T
    m = np.asarray(q_star, float) + E @ (np.asarray(m0, float) - np.asarray(q_star, float))
    return m, E @ np.asarray(C0, float) @ E.T + Ct


def gaussian_cell_masses(grid: Grid2D, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Masses of the cells of ``grid`` under N(mean, cov), 3 x 3 Gauss-Legendre points per cell, (n1, n2)."""
    cov = _sym_pd(cov, "cov")
    x, w = np.polynomial.legendre.leggauss(3)
    P = np.linalg.inv(cov)
    norm = 1.0 / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
    e0, e1 = grid.edges(0), grid.edges(1)
    h0, h1 = grid.h
    out = np.zeros(grid.n)
    for xi, wi in zip(x, w):
        q1 = (0.5 * (e0[:-1] + e0[1:]) + 0.5 * h0 * xi - mean[0])[:, None]
        for xj, wj in zip(x, w):
            q2 = (0.5 * (e1[:-1] + e1[1:]) + 0.5 * h1 * xj - mean[1])[None, :]
            quad = P[0, 0] * q1**2 + 2 * P[0, 1] * q1 * q2 + P[1, 1] * q2**2
            out += 0.25 * wi * wj * np.exp(-0.5 * quad)
    return out * norm * grid.cell_area


def simulate_ou(A: np.ndarray, D: np.ndarray, q_star: np.ndarray, q0: np.ndarray, steps: int,
                rng: np.random.Generator, dt: float = 1.0, transition: str = "exact") -> np.ndarray:
    """The OU ensemble from ``q0`` (N, 2) at times 0, dt, ..., steps dt: shape (steps + 1, N, 2)."""
    if transition not in TRANSITIONS:
        raise InvalidArgument(f"transition: expected one of {TRANSITIONS}, got {transition!r}")
    A, D = _sym_pd(A, "A"), _sym_pd(D, "D", definite=False)
    q0 = np.asarray(q0, dtype=float)
    if q0.ndim != 2 or q0.shape[1] != 2:
        raise InvalidArgument(f"q0: expected an (N, 2) array, got shape {q0.shape}")
    qs = np.asarray(q_star, dtype=float)
    if transition == "exact":
        a, V = np.linalg.eigh(A)
        M = V @ np.diag(np.exp(-a * dt)) @ V.T
        S = ou_moments(A, D, np.zeros(2), np.zeros(2), np.zeros((2, 2)), dt)[1]
    else:
        M, S = np.eye(2) - A * dt, 2 * D * dt
    L = np.linalg.cholesky(S + 1e-300 * np.eye(2))
    out = np.empty((int(steps) + 1, q0.shape[0], 2))
    out[0] = q0
    q = q0 - qs
    for n in range(1, int(steps) + 1):
        q = q @ M.T + rng.standard_normal(q.shape) @ L.T
        out[n] = q + qs
    return out


# ----------------------------------------------------------------------------------------------------------
# The Langevin SDE of a stated equation with linear drift and quadratic diffusion

#: monomials of a quadratic polynomial in (q1, q2), in the order of the coefficient arrays
MONOMIALS = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))


def quadratic_fit(fn: Callable[[np.ndarray], np.ndarray], centre: np.ndarray, scale: float = 1.0,
                  check_points: int = 8, rtol: float = 1e-9) -> np.ndarray:
    """Coefficients (n_out, 6) of the quadratic polynomials in (q1, q2) (``MONOMIALS``) that ``fn`` ((n, 2) ->
    (n_out, n)) evaluates, from six unisolvent points around ``centre``; InvalidArgument when ``fn`` is not
    quadratic (checked at ``check_points`` further points to ``rtol``)."""
    c = np.asarray(centre, dtype=float)
    pts = c + scale * np.array(MONOMIALS, dtype=float)
    X = _design(pts)
    coef = np.linalg.solve(X, np.asarray(fn(pts), dtype=float).T).T
    test = c + scale * np.linspace(-1.3, 1.7, 2 * check_points).reshape(check_points, 2)
    got = np.asarray(fn(test), dtype=float)
    want = coef @ _design(test).T
    if not np.allclose(got, want, rtol=rtol, atol=rtol * (1 + np.abs(got).max())):
        raise InvalidArgument("diffusion: the Langevin control needs D(q) quadratic in q (a formula linear in "
                              "Sigma); the stated formula is not")
    return coef


def _design(pts: np.ndarray) -> np.ndarray:
    return np.stack([pts[:, 0] ** a * pts[:, 1] ** b for a, b in MONOMIALS], axis=1)


@njit_cached(parallel=True)
def _langevin_block(q, qs, E, V, W, dcoef, kappa, xi):  # pragma: no cover - compiled
    """Advance every member by xi.shape[1] substeps (xi: (N, substeps, 2) standard normals): q - q* -> E (q - q*)
    + eta, eta ~ N(0, V (W * V^T 2 kappa D(q) V) V^T) with D frozen at the substep's start."""
    N = q.shape[0]
    for i in prange(N):
        q1, q2 = q[i, 0], q[i, 1]
        for s in range(xi.shape[1]):
            a11, a12, a22 = q1 * q1, q1 * q2, q2 * q2
            D11 = dcoef[0, 0] + dcoef[0, 1] * q1 + dcoef[0, 2] * q2 + dcoef[0, 3] * a11 + dcoef[0, 4] * a12 \
                + dcoef[0, 5] * a22
            D12 = dcoef[1, 0] + dcoef[1, 1] * q1 + dcoef[1, 2] * q2 + dcoef[1, 3] * a11 + dcoef[1, 4] * a12 \
                + dcoef[1, 5] * a22
            D22 = dcoef[2, 0] + dcoef[2, 1] * q1 + dcoef[2, 2] * q2 + dcoef[2, 3] * a11 + dcoef[2, 4] * a12 \
                + dcoef[2, 5] * a22
            # covariance of the substep in the eigenbasis of A, then back: S = V (W o V^T 2 kappa D V) V^T
            t11 = V[0, 0] * (D11 * V[0, 0] + D12 * V[1, 0]) + V[1, 0] * (D12 * V[0, 0] + D22 * V[1, 0])
            t12 = V[0, 0] * (D11 * V[0, 1] + D12 * V[1, 1]) + V[1, 0] * (D12 * V[0, 1] + D22 * V[1, 1])
            t22 = V[0, 1] * (D11 * V[0, 1] + D12 * V[1, 1]) + V[1, 1] * (D12 * V[0, 1] + D22 * V[1, 1])
            t11, t12, t22 = 2 * kappa * W[0, 0] * t11, 2 * kappa * W[0, 1] * t12, 2 * kappa * W[1, 1] * t22
            s11 = V[0, 0] * V[0, 0] * t11 + 2 * V[0, 0] * V[0, 1] * t12 + V[0, 1] * V[0, 1] * t22
            s12 = V[0, 0] * V[1, 0] * t11 + (V[0, 0] * V[1, 1] + V[0, 1] * V[1, 0]) * t12 + V[0, 1] * V[1, 1] * t22
            s22 = V[1, 0] * V[1, 0] * t11 + 2 * V[1, 0] * V[1, 1] * t12 + V[1, 1] * V[1, 1] * t22
            # Cholesky factor (clamped at 0: round-off never makes a negative variance)
            l11 = np.sqrt(max(s11, 0.0))
            l21 = s12 / l11 if l11 > 0.0 else 0.0
            l22 = np.sqrt(max(s22 - l21 * l21, 0.0))
            n1, n2 = xi[i, s, 0], xi[i, s, 1]
            d1, d2 = q1 - qs[0], q2 - qs[1]
            q1 = qs[0] + E[0, 0] * d1 + E[0, 1] * d2 + l11 * n1
            q2 = qs[1] + E[1, 0] * d1 + E[1, 1] * d2 + l21 * n1 + l22 * n2
        q[i, 0], q[i, 1] = q1, q2


def simulate_langevin(A: np.ndarray, q_star: np.ndarray, dcoef: np.ndarray, q0: np.ndarray, steps: int,
                      rng: np.random.Generator, substeps: int = 4, noise_factor: float = 1.0,
                      scheme: str = "exponential") -> np.ndarray:
    r"""The Langevin ensemble of the module docstring from ``q0`` (N, 2), recorded at t = 0, 1, ..., steps:
    shape (steps + 1, N, 2). ``dcoef`` (3, 6): the coefficients of D11, D12, D22 (:func:`quadratic_fit`).

    Scheme (exponential Euler): over a substep h the linear drift is integrated exactly,
    :math:`q - q^* \to e^{-Ah}(q - q^*)`, and the noise has the covariance
    :math:`\int_0^h e^{-As}\,2\kappa D(q_n)\,e^{-As}ds` with D frozen at the substep's start; the weak error,
    :math:`O(h)`, comes only from the variation of D(q) within a substep."""
    A = _sym_pd(A, "A")
    dcoef = np.ascontiguousarray(np.asarray(dcoef, dtype=float))
    if dcoef.shape != (3, len(MONOMIALS)):
        raise InvalidArgument(f"dcoef: expected shape (3, {len(MONOMIALS)}), got {dcoef.shape}")
    if not (isinstance(substeps, (int, np.integer)) and substeps >= 1):
        raise InvalidArgument(f"substeps: expected an integer >= 1, got {substeps!r}")
    if not (np.isfinite(noise_factor) and noise_factor >= 0):
        raise InvalidArgument(f"noise_factor: expected a finite number >= 0, got {noise_factor!r}")
    q = np.ascontiguousarray(np.asarray(q0, dtype=float)).copy()
    if q.ndim != 2 or q.shape[1] != 2:
        raise InvalidArgument(f"q0: expected an (N, 2) array, got shape {q.shape}")
    if scheme not in ("exponential", "euler"):
        raise InvalidArgument(f"scheme: expected 'exponential' or 'euler', got {scheme!r}")
    h = 1.0 / int(substeps)
    a, V = np.linalg.eigh(A)
    if scheme == "exponential":
        E = V @ np.diag(np.exp(-a * h)) @ V.T
        s = a[:, None] + a[None, :]
        W = -np.expm1(-s * h) / s
    else:
        E, W = np.eye(2) - A * h, np.full((2, 2), h)
    qs = np.asarray(q_star, dtype=float)
    out = np.empty((int(steps) + 1, q.shape[0], 2))
    out[0] = q
    for n in range(1, int(steps) + 1):
        xi = rng.standard_normal((q.shape[0], int(substeps), 2))
        _langevin_block(q, qs, E, np.ascontiguousarray(V), W, dcoef, float(noise_factor), xi)
        out[n] = q
    return out


__all__ = ["MONOMIALS", "TRANSITIONS", "gaussian_cell_masses", "ou_moments", "quadratic_fit", "simulate_langevin",
           "simulate_ou"]
