r"""Constructed diffusions for the controls of the learning experiments: processes whose answer is known before
they are run, simulated at the same sizes and measured by the same estimators as the learning systems.

None of these learns: their drifts are computed from a known state, so they are *controls* (and calibrations of
the estimators), never learning evidence. Each returns an :class:`~nnqg.numerics._ensemble.Ensemble`
(``q[s, i, :]``, time in steps) whose model functions describe the constructed process: ``grad_loss`` is
:math:`\nabla V` (the potential the Newton law is tested with), ``grad_cov`` is :math:`2D/\gamma^2` (so the
estimators, called with batch size 1, see :math:`D = \nu I`), ``grad_free_energy`` is the gradient of the phase
:math:`\Phi` whose :math:`\gamma\nabla\Phi` is the process's current velocity (where it is time-independent).

* :func:`transported_gaussian`: the density is carried by the time-independent gradient field
  :math:`v = -\gamma k q` (:math:`\Phi = -k|q|^2/2`), osmotic velocity :math:`u = \nu\nabla\ln p_t` exactly, so
  :math:`\partial_t p + \nabla\cdot(p\,\gamma\nabla\Phi) = 0` holds; Gaussian marginals
  :math:`\mu(t) = \mu_0e^{-\gamma kt}`, :math:`C(t) = s_0^2e^{-2\gamma kt}I`. Simulated exactly: with
  :math:`w = (q-\mu)e^{\gamma kt}` and :math:`\tau = (e^{2\gamma kt}-1)/(2\gamma k)`, w is a stationary
  Ornstein-Uhlenbeck process in :math:`\tau` with rate :math:`\nu/s_0^2` and variance :math:`s_0^2`.
  (Positive control of continuity.)
* :func:`coherent_state`: Nelson's diffusion of a coherent state of :math:`V = k|q|^2/2`, mass
  :math:`m = 1/\gamma`, :math:`\omega = \sqrt{\gamma k}`, :math:`\nu = \hbar\gamma/2`: fixed width
  :math:`s^2 = \nu/\omega` (:math:`= \hbar/(2m\omega)`), centre :math:`\mu(t) = a\cos\omega t + (b/\omega)\sin\omega t`,
  :math:`v = \dot\mu(t)`, :math:`u = -\nu(q-\mu)/s^2`; :math:`y = q - \mu(t)` is an exact stationary OU process of
  rate :math:`\omega`. It satisfies the Madelung pair with V, hence Nelson's Newton law with V; its phase gradient
  at step s is :math:`\nabla\Phi = \dot\mu(s)/\gamma` (uniform). (Positive control of the Newton law.)
* :func:`stationary_langevin`: :math:`dq = -\gamma kq\,dt + \sqrt{2\nu}dW` at stationarity (exact AR(1) steps):
  plain learning on :math:`U = k|q|^2/2` with constant isotropic noise. Its current velocity is 0, not
  :math:`-\gamma\nabla U`; Nelson's Newton law with V = U fails by :math:`(1-\gamma k)/(1+\gamma k)` (to first order
  in the step). (Negative control of continuity and of the Newton law.)
* :func:`winding_state`: the stationary 2-D diffusion with :math:`p \propto r^{2\alpha}e^{-r^2/(2s^2)}`,
  :math:`v = \gamma\hbar\alpha\,\hat\theta/r`, :math:`u = \nu(2\alpha/r - r/s^2)\hat r`, :math:`s^2 = \nu/\omega`:
  for :math:`\alpha = n` the Nelson diffusion of the vortex eigenstate :math:`\psi\propto r^ne^{in\theta}
  e^{-r^2/(4s^2)}` of :math:`V = kr^2/2` (circulation :math:`2\pi\hbar\gamma n`, quantised); for non-integer
  :math:`\alpha` Wallstrom's flow, which solves both Madelung equations but whose circulation
  :math:`2\pi\hbar\gamma\alpha` is not quantised. Euler-Maruyama with ``substeps`` per recorded step, started
  from the exact stationary law (:math:`r^2/(2s^2)\sim\mathrm{Gamma}(\alpha+1)`, :math:`\theta` uniform).
  (Positive and negative controls of quantisation.)

>>> ens = stationary_langevin(np.random.default_rng(0), n_members=500, n_steps=10, gamma=0.1, k=1.0, nu=0.01)
>>> ens.q.shape, round(float(ens.q[10].var()), 2)   # stationary variance nu/(gamma k) = 0.1
((11, 500, 2), 0.1)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from nnqg.derivations import InvalidArgument

from ._ensemble import Ensemble

__all__ = ["coherent_state", "stationary_langevin", "transported_gaussian", "winding_state"]


def _positive(**kw: float) -> None:
    for name, v in kw.items():
        if not (isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                and math.isfinite(v) and v > 0):
            raise InvalidArgument(f"{name}: {v!r}; give a finite number > 0")


def _sizes(n_members: int, n_steps: int) -> None:
    for name, v, lo in (("n_members", n_members, 2), ("n_steps", n_steps, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidArgument(f"{name}: {v!r}; give an integer >= {lo}")


def _isotropic(nu: float, gamma: float, K: int):
    """grad_cov of an isotropic noise nu I, as the estimators expect it (D = gamma^2 Sigma / (2 B), B = 1)."""
    sig = 2.0 * nu / gamma ** 2

    def cov(Q: np.ndarray) -> np.ndarray:
        return np.broadcast_to(sig * np.eye(K), (Q.shape[0], K, K)).copy()
    return cov


def _quadratic(k: float):
    return (lambda Q: k * Q), (lambda Q: 0.5 * k * np.sum(Q * Q, axis=1))


def transported_gaussian(rng: np.random.Generator, *, n_members: int, n_steps: int, gamma: float, k: float,
                         nu: float, mu0: Sequence[float], s0: float) -> Ensemble:
    """Density carried by v = -gamma k q with osmotic velocity nu grad ln p_t (module docstring), exact steps."""
    _sizes(n_members, n_steps)
    _positive(gamma=gamma, k=k, nu=nu, s0=s0)
    mu0 = np.asarray(mu0, dtype=float)
    if mu0.ndim != 1 or mu0.size < 1 or not np.all(np.isfinite(mu0)):
        raise InvalidArgument(f"mu0: {mu0!r}; give the initial centre as a list of K finite numbers")
    K, a = mu0.size, gamma * k
    t = np.arange(n_steps + 1, dtype=float)
    tau = np.expm1(2 * a * t) / (2 * a)
    rate = nu / s0 ** 2
    w = s0 * rng.standard_normal((n_members, K))
    q = np.empty((n_steps + 1, n_members, K))
    q[0] = mu0 + w
    for s in range(n_steps):
        rho = math.exp(-rate * (tau[s + 1] - tau[s]))
        w = rho * w + s0 * math.sqrt(1.0 - rho * rho) * rng.standard_normal((n_members, K))
        q[s + 1] = math.exp(-a * t[s + 1]) * (mu0 + w)
    grad, loss = _quadratic(k)
    return Ensemble(q=q, grad_loss=grad, grad_cov=_isotropic(nu, gamma, K), loss=loss,
                    grad_free_energy=lambda Q, s: -k * Q)


def coherent_state(rng: np.random.Generator, *, n_members: int, n_steps: int, gamma: float, k: float,
                   hbar: float, a: Sequence[float], b: Sequence[float] | None = None) -> Ensemble:
    """Nelson's diffusion of a coherent state of V = k|q|^2/2, m = 1/gamma (module docstring), exact steps: the
    centre starts at ``a`` with velocity ``b``."""
    _sizes(n_members, n_steps)
    _positive(gamma=gamma, k=k, hbar=hbar)
    a_ = np.asarray(a, dtype=float)
    b_ = np.zeros_like(a_) if b is None else np.asarray(b, dtype=float)
    if a_.ndim != 1 or a_.shape != b_.shape or not (np.all(np.isfinite(a_)) and np.all(np.isfinite(b_))):
        raise InvalidArgument(f"a, b: {a!r}, {b!r}; give the initial centre and velocity as K finite numbers each")
    K = a_.size
    omega = math.sqrt(gamma * k)
    nu = hbar * gamma / 2
    s = math.sqrt(nu / omega)
    t = np.arange(n_steps + 1, dtype=float)
    mu = a_[None, :] * np.cos(omega * t)[:, None] + (b_ / omega)[None, :] * np.sin(omega * t)[:, None]
    rho = math.exp(-omega)
    y = s * rng.standard_normal((n_members, K))
    q = np.empty((n_steps + 1, n_members, K))
    q[0] = mu[0] + y
    for st in range(n_steps):
        y = rho * y + s * math.sqrt(1.0 - rho * rho) * rng.standard_normal((n_members, K))
        q[st + 1] = mu[st + 1] + y
    grad, loss = _quadratic(k)
    mudot = omega * (-a_[None, :] * np.sin(omega * t)[:, None] + (b_ / omega)[None, :] * np.cos(omega * t)[:, None])

    def phase(Q: np.ndarray, step: int) -> np.ndarray:
        return np.broadcast_to(mudot[step] / gamma, Q.shape).copy()
    return Ensemble(q=q, grad_loss=grad, grad_cov=_isotropic(nu, gamma, K), loss=loss, grad_free_energy=phase)


def stationary_langevin(rng: np.random.Generator, *, n_members: int, n_steps: int, gamma: float, k: float,
                        nu: float, K: int = 2) -> Ensemble:
    """Plain learning dq = -gamma k q dt + sqrt(2 nu) dW on U = k|q|^2/2 at stationarity (module docstring), exact
    AR(1) steps; the model phase is Phi = -U (current velocity -gamma grad U, which the process does not have)."""
    _sizes(n_members, n_steps)
    _positive(gamma=gamma, k=k, nu=nu)
    rho = math.exp(-gamma * k)
    s = math.sqrt(nu / (gamma * k))
    q = np.empty((n_steps + 1, n_members, K))
    q[0] = s * rng.standard_normal((n_members, K))
    for st in range(n_steps):
        q[st + 1] = rho * q[st] + s * math.sqrt(1.0 - rho * rho) * rng.standard_normal((n_members, K))
    grad, loss = _quadratic(k)
    return Ensemble(q=q, grad_loss=grad, grad_cov=_isotropic(nu, gamma, K), loss=loss,
                    grad_free_energy=lambda Q, s: -k * Q)


def winding_state(rng: np.random.Generator, *, n_members: int, n_steps: int, gamma: float, k: float, hbar: float,
                  alpha: float, substeps: int = 16) -> Ensemble:
    """The stationary 2-D diffusion of winding ``alpha`` around the origin (module docstring): the vortex
    eigenstate for integer alpha, Wallstrom's non-quantised flow otherwise."""
    _sizes(n_members, n_steps)
    _positive(gamma=gamma, k=k, hbar=hbar, alpha=alpha)
    if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
        raise InvalidArgument(f"substeps: {substeps!r}; give an integer >= 1")
    omega = math.sqrt(gamma * k)
    nu = hbar * gamma / 2
    s2 = nu / omega
    r = np.sqrt(2 * s2 * rng.gamma(alpha + 1.0, 1.0, n_members))
    th = rng.uniform(0.0, 2 * np.pi, n_members)
    x = np.stack([r * np.cos(th), r * np.sin(th)], axis=1)
    h = 1.0 / substeps
    sd = math.sqrt(2 * nu * h)
    c = gamma * hbar * alpha  # = 2 nu alpha: the azimuthal and the 1/r radial parts have the same coefficient
    q = np.empty((n_steps + 1, n_members, 2))
    q[0] = x
    for st in range(n_steps):
        for _ in range(substeps):
            r2 = np.sum(x * x, axis=1)[:, None]
            rot = np.stack([-x[:, 1], x[:, 0]], axis=1)
            drift = c * (rot + x) / r2 - (nu / s2) * x
            x = x + drift * h + sd * rng.standard_normal((n_members, 2))
        q[st + 1] = x
    grad, loss = _quadratic(k)
    return Ensemble(q=q, grad_loss=grad, grad_cov=_isotropic(nu, gamma, 2), loss=loss)
