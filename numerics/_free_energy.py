r"""A network whose hidden neurons are in equilibrium at temperature T, and SGD of its trainable variables on their
free energy: the learning system of the paper's route to Madelung at a fixed number of neurons (docs/theory.md
sections 1 and 3).

**The network.** One input x, ``n_hidden`` binary hidden neurons :math:`h_j\in\{-1,+1\}`, one linear output. The
loss of a network state (the paper's bulk loss for the hidden neurons plus the boundary loss of the output) is

.. math:: H(x, y, h; q) = \tfrac12\sum_j\big(h_j - \tanh(w_jx + b_j)\big)^2 + \tfrac12\big(y - a\cdot h - c\big)^2,

trainable variables :math:`q = (a_1..a_n, c)` (K = n + 1), input weights :math:`w_j, b_j` fixed (drawn once, the
same for every member). The hidden neurons are in equilibrium at temperature T given the example and q:
:math:`P(h\mid x,y;q) = e^{-H/T}/Z`, :math:`Z = \sum_h e^{-H/T}` over the :math:`2^n` states (exact enumeration),
free energy :math:`F_x(q) = -T\ln Z`, averaged :math:`\bar F(q) = \overline{F_x}` over the data set, averaged loss
:math:`U(q) = \overline{\langle H\rangle_x}` (loss averaged over the neurons' equilibrium and the data). Exact
identities used: :math:`\nabla_q F_x = \langle\nabla_q H\rangle` and
:math:`\nabla_q\langle H\rangle = \langle\nabla_q H\rangle - \mathrm{Cov}(H, \nabla_q H)/T`, with
:math:`\partial H/\partial a_j = -(y - a\cdot h - c)h_j`, :math:`\partial H/\partial c = -(y - a\cdot h - c)`. As
:math:`T\to0` the neurons take their lowest-loss state and :math:`F_x\to\min_h H`.

**The learning rule** (``objective``, ``hidden``):

* ``"free_energy"``, ``"equilibrium"`` (the paper's route): SGD on the free energy,
  :math:`q\leftarrow q - \frac{\gamma}{B}\sum_{b}\nabla_qF_{x_b}(q)`, B examples drawn uniformly with replacement;
  the per-example gradient is the exact equilibrium average :math:`\langle\nabla_q H\rangle`. Then
  :math:`E[\Delta q] = -\gamma\nabla\bar F` and :math:`\mathrm{Cov}[\Delta q] = \gamma^2\Sigma/B`, :math:`\Sigma`
  the covariance over the data of :math:`\nabla_qF_x`.
* ``"free_energy"``, ``"sampled"``: the same mean drift, but each example's gradient is
  :math:`\nabla_qH(x, y, h)` at one state h drawn from the equilibrium (the neurons' thermal fluctuations add to the
  noise: :math:`\Sigma` is the covariance over data *and* states).
* ``"average_loss"``: plain SGD on U (per-example gradient :math:`\nabla_q\langle H\rangle_x`): the comparison
  system "plain SGD on the averaged loss" of the same network.

:class:`FreeEnergyModel` evaluates :math:`\bar F`, U, their gradients and the per-example gradient covariance of
the chosen rule at any set of points (exact over the data set and the states; the last point set is kept, keyed by
its contents, since the estimators ask for several of them at one snapshot).

>>> rng = np.random.default_rng(0)
>>> task = make_free_energy_task(rng, n_hidden=2, n_data=32, temperature=0.5)
>>> model = FreeEnergyModel(task)
>>> q0 = model.initial_ensemble(rng, 6, spread=0.2)
>>> simulate(model, q0, gamma=0.1, batch_size=2, n_steps=5, rng=rng).shape
(6, 6, 3)
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numba import prange

from nnqg.derivations import InvalidArgument

from ._ensemble import Ensemble
from ._jitcache import njit_cached
from ._sgd import RegressionTask, make_regression_task

__all__ = ["HIDDEN", "OBJECTIVES", "FreeEnergyModel", "FreeEnergyTask", "make_free_energy_task", "simulate"]

OBJECTIVES = ("free_energy", "average_loss")
HIDDEN = ("equilibrium", "sampled")
#: snapshots whose moments are kept (the estimators visit a window of snapshots once per measure)
_KEEP = 48


@dataclass(frozen=True)
class FreeEnergyTask:
    """Data x ~ N(0, 1), y = slope x + intercept + noise N(0, 1); fixed input weights ``w``, ``b`` of the hidden
    neurons; the temperature; ``init``, the centre of the initial ensemble (a_j ~ N(0, 1/n), c = 0)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    b: np.ndarray
    temperature: float
    init: np.ndarray

    def __post_init__(self) -> None:
        RegressionTask(self.x, self.y)
        n = np.shape(self.w)
        if len(n) != 1 or n[0] < 1 or np.shape(self.b) != n or np.shape(self.init) != (n[0] + 1,):
            raise InvalidArgument(f"w, b, init: expected shapes (n,), (n,), (n + 1,), got {np.shape(self.w)}, "
                                  f"{np.shape(self.b)}, {np.shape(self.init)}")
        if n[0] > 10:
            raise InvalidArgument(f"n_hidden: {n[0]} > 10; the partition function is enumerated over 2^n states")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise InvalidArgument(f"temperature: {self.temperature!r}; give a finite T > 0")

    @property
    def n_hidden(self) -> int:
        return int(np.shape(self.w)[0])


def make_free_energy_task(rng: np.random.Generator, n_hidden: int = 3, n_data: int = 256, slope: float = 1.0,
                          intercept: float = -0.5, noise: float = 1.0, temperature: float = 0.5) -> FreeEnergyTask:
    """Draw the data set, then the input weights and the initial read-out (in that order, from ``rng``)."""
    if isinstance(n_hidden, bool) or not isinstance(n_hidden, (int, np.integer)) or not 1 <= n_hidden <= 10:
        raise InvalidArgument(f"n_hidden: {n_hidden!r}; give an integer in [1, 10]")
    data = make_regression_task(rng, n_data=n_data, slope=slope, intercept=intercept, noise=noise)
    n = int(n_hidden)
    w, b = rng.standard_normal(n), rng.standard_normal(n)
    init = np.concatenate([rng.standard_normal(n) / math.sqrt(n), [0.0]])
    return FreeEnergyTask(x=data.x, y=data.y, w=w, b=b, temperature=float(temperature), init=init)


def _thermal(q: np.ndarray, feats: np.ndarray, y: np.ndarray, states: np.ndarray, T: float) -> dict[str, np.ndarray]:
    """Equilibrium quantities of the hidden neurons for points ``q`` (P, K) and examples given by ``feats``
    (P, M, n) = tanh(w x + b) and ``y`` (P, M): F, <H>, <grad H>, grad <H> (each (P, M[, K])), the state
    probabilities (P, M, S) and the per-state gradients (P, M, S, K)."""
    n = states.shape[1]
    a, c = q[:, :n], q[:, n]
    r = y[:, :, None] - (a @ states.T)[:, None, :] - c[:, None, None]  # (P, M, S)
    E = 0.5 * np.sum((states[None, None, :, :] - feats[:, :, None, :]) ** 2, axis=3) + 0.5 * r * r
    m = E.min(axis=2, keepdims=True)
    wts = np.exp(-(E - m) / T)
    Z = wts.sum(axis=2, keepdims=True)
    wts /= Z
    F = m[..., 0] - T * np.log(Z[..., 0])
    dH = np.concatenate([-r[..., None] * states[None, None, :, :], -r[..., None]], axis=3)  # (P, M, S, K)
    gF = np.einsum("pms,pmsk->pmk", wts, dH)
    Hbar = np.sum(wts * E, axis=2)
    gU = gF - (np.einsum("pms,pmsk->pmk", wts * E, dH) - Hbar[..., None] * gF) / T
    return {"F": F, "U": Hbar, "gF": gF, "gU": gU, "p": wts, "dH": dH}


@njit_cached(parallel=True)
def _moments_kernel(Q, feats, y, states, T, mode, F, U, gF, gU, cov):  # pragma: no cover - compiled
    """One pass over data and states per point: F-bar, U, their gradients and the rule's gradient covariance
    (mode 0: of grad F_x over the data; 1: of grad <H>_x; 2: of grad H over data and states). Points are
    independent (parallel over points; the result does not depend on the number of threads)."""
    P, K = Q.shape
    M, n = feats.shape
    S = states.shape[0]
    for p in prange(P):
        E = np.empty(S)
        wt = np.empty(S)
        r = np.empty(S)
        g = np.empty(K)
        gu = np.empty(K)
        mF = np.zeros(K)
        mU = np.zeros(K)
        sec = np.zeros((K, K))
        sF = 0.0
        sU = 0.0
        for i in range(M):
            emin = np.inf
            for s in range(S):
                pred = Q[p, n]
                bulk = 0.0
                for j in range(n):
                    pred += Q[p, j] * states[s, j]
                    d = states[s, j] - feats[i, j]
                    bulk += d * d
                r[s] = y[i] - pred
                E[s] = 0.5 * bulk + 0.5 * r[s] * r[s]
                if E[s] < emin:
                    emin = E[s]
            Z = 0.0
            for s in range(S):
                wt[s] = math.exp(-(E[s] - emin) / T)
                Z += wt[s]
            hb = 0.0
            for k in range(K):
                g[k] = 0.0
                gu[k] = 0.0
            for s in range(S):
                w = wt[s] / Z
                hb += w * E[s]
                for j in range(n):
                    g[j] -= w * r[s] * states[s, j]
                    gu[j] -= w * E[s] * r[s] * states[s, j]
                g[n] -= w * r[s]
                gu[n] -= w * E[s] * r[s]
                if mode == 2:
                    for k in range(K):
                        dk = -r[s] * (states[s, k] if k < n else 1.0)
                        for l in range(K):
                            dl = -r[s] * (states[s, l] if l < n else 1.0)
                            sec[k, l] += w * dk * dl
            for k in range(K):  # grad <H> = <dH> - (<H dH> - <H><dH>)/T
                gu[k] = g[k] - (gu[k] - hb * g[k]) / T
            sF += emin - T * math.log(Z)
            sU += hb
            for k in range(K):
                mF[k] += g[k]
                mU[k] += gu[k]
                if mode != 2:
                    for l in range(K):
                        sec[k, l] += (g[k] * g[l]) if mode == 0 else (gu[k] * gu[l])
        F[p] = sF / M
        U[p] = sU / M
        for k in range(K):
            gF[p, k] = mF[k] / M
            gU[p, k] = mU[k] / M
        for k in range(K):
            for l in range(K):
                mk = gU[p, k] if mode == 1 else gF[p, k]
                ml = gU[p, l] if mode == 1 else gF[p, l]
                cov[p, k, l] = sec[k, l] / M - mk * ml


class FreeEnergyModel:
    r""":math:`\bar F`, U, their gradients and :math:`\Sigma` of the chosen learning rule (module docstring) over
    points ``Q`` (N, K); ``grad``/``loss`` are those of the objective the rule descends."""

    def __init__(self, task: FreeEnergyTask, objective: str = "free_energy", hidden: str = "equilibrium") -> None:
        if objective not in OBJECTIVES:
            raise InvalidArgument(f"objective: {objective!r}; use one of {list(OBJECTIVES)}")
        if hidden not in HIDDEN:
            raise InvalidArgument(f"hidden: {hidden!r}; use one of {list(HIDDEN)}")
        if objective == "average_loss" and hidden != "equilibrium":
            raise InvalidArgument("hidden: 'sampled' is a rule for the free energy; plain SGD on the averaged loss "
                                  "uses the exact per-example gradient of <H>")
        self.task, self.objective, self.hidden = task, objective, hidden
        n = task.n_hidden
        self.n_params = n + 1
        self.states = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
        self.feats = np.tanh(np.outer(task.x, task.w) + task.b)  # (n_data, n)
        self._kept: dict[tuple, dict[str, np.ndarray]] = {}

    def initial_ensemble(self, rng: np.random.Generator, n: int, spread: float) -> np.ndarray:
        return self.task.init[None, :] + spread * rng.standard_normal((n, self.n_params))

    # ---------------------------------------------------------------------------------- over the data set

    def _moments(self, Q: np.ndarray) -> dict[str, np.ndarray]:
        Q = np.ascontiguousarray(Q, dtype=float)
        key = (Q.shape, hashlib.blake2b(Q.tobytes(), digest_size=16).digest())
        hit = self._kept.get(key)
        if hit is not None:
            return hit
        P, K = Q.shape
        out = {"F": np.empty(P), "U": np.empty(P), "gF": np.empty((P, K)), "gU": np.empty((P, K)),
               "cov": np.empty((P, K, K))}
        mode = 1 if self.objective == "average_loss" else (0 if self.hidden == "equilibrium" else 2)
        _moments_kernel(Q, np.ascontiguousarray(self.feats), np.ascontiguousarray(self.task.y, dtype=float),
                        self.states, float(self.task.temperature), mode, out["F"], out["U"], out["gF"], out["gU"],
                        out["cov"])
        if len(self._kept) >= _KEEP:
            self._kept.pop(next(iter(self._kept)))
        self._kept[key] = out
        return out

    def moments_reference(self, Q: np.ndarray) -> dict[str, np.ndarray]:
        """The same moments by NumPy over (points, data, states) arrays: the reference the kernel is tested
        against."""
        P = Q.shape[0]
        M = self.feats.shape[0]
        th = _thermal(np.asarray(Q, dtype=float), np.broadcast_to(self.feats, (P,) + self.feats.shape),
                      np.broadcast_to(self.task.y, (P, M)), self.states, self.task.temperature)
        out = {"F": th["F"].mean(axis=1), "U": th["U"].mean(axis=1), "gF": th["gF"].mean(axis=1),
               "gU": th["gU"].mean(axis=1)}
        if self.objective == "average_loss":
            second, mean = np.einsum("pmk,pml->pkl", th["gU"], th["gU"]) / M, out["gU"]
        elif self.hidden == "equilibrium":
            second, mean = np.einsum("pmk,pml->pkl", th["gF"], th["gF"]) / M, out["gF"]
        else:
            second, mean = np.einsum("pms,pmsk,pmsl->pkl", th["p"], th["dH"], th["dH"]) / M, out["gF"]
        out["cov"] = second - mean[:, :, None] * mean[:, None, :]
        return out

    def free_energy(self, Q: np.ndarray) -> np.ndarray:
        return self._moments(Q)["F"].copy()

    def grad_free_energy(self, Q: np.ndarray) -> np.ndarray:
        return self._moments(Q)["gF"].copy()

    def average_loss(self, Q: np.ndarray) -> np.ndarray:
        return self._moments(Q)["U"].copy()

    def grad_average_loss(self, Q: np.ndarray) -> np.ndarray:
        return self._moments(Q)["gU"].copy()

    def loss(self, Q: np.ndarray) -> np.ndarray:
        """The objective the rule descends: F-bar, or U for ``objective="average_loss"``."""
        return self._moments(Q)["U" if self.objective == "average_loss" else "F"].copy()

    def grad(self, Q: np.ndarray) -> np.ndarray:
        return self._moments(Q)["gU" if self.objective == "average_loss" else "gF"].copy()

    def grad_cov(self, Q: np.ndarray) -> np.ndarray:
        r"""Population covariance of the rule's per-example gradient (over the data, and the states when
        ``hidden="sampled"``)."""
        return self._moments(Q)["cov"].copy()

    # ------------------------------------------------------------------------------------ one SGD step

    def step_gradient(self, Q: np.ndarray, idx: np.ndarray, u: np.ndarray | None) -> np.ndarray:
        """Mini-batch gradient of the rule for every member: ``idx`` (N, B) example indices, ``u`` (N, B)
        uniforms that draw the neurons' states (``hidden="sampled"`` only)."""
        th = _thermal(Q, self.feats[idx], self.task.y[idx], self.states, self.task.temperature)
        if self.objective == "average_loss":
            return th["gU"].mean(axis=1)
        if self.hidden == "equilibrium":
            return th["gF"].mean(axis=1)
        cdf = np.cumsum(th["p"], axis=2)
        pick = np.minimum((cdf < u[..., None]).sum(axis=2), cdf.shape[2] - 1)  # (N, B) state index
        g = np.take_along_axis(th["dH"], pick[..., None, None], axis=2)[:, :, 0, :]
        return g.mean(axis=1)

    def ensemble(self, q: np.ndarray) -> Ensemble:
        """The snapshots with this model: grad_loss of the descended objective, the phase Phi = -F-bar (current
        velocity -gamma grad F-bar of descent on the free energy; -U for the average-loss rule)."""
        phase = self.grad_average_loss if self.objective == "average_loss" else self.grad_free_energy
        return Ensemble(q=q, grad_loss=self.grad, grad_cov=self.grad_cov, loss=self.loss,
                        grad_free_energy=lambda Q, s: -phase(Q))


def simulate(model: FreeEnergyModel, q0: np.ndarray, *, gamma: float, batch_size: int, n_steps: int,
             rng: np.random.Generator) -> np.ndarray:
    """N independent learners from ``q0`` (N, K) by the model's rule; snapshots at every step (n_steps + 1, N, K).
    Each step draws the mini-batch indices (and, for sampled neurons, the uniforms) for all members from ``rng``."""
    q0 = np.asarray(q0, dtype=float)
    if q0.ndim != 2 or q0.shape[1] != model.n_params or not np.all(np.isfinite(q0)):
        raise InvalidArgument(f"q0: expected a finite (N, {model.n_params}) array, got shape {q0.shape}")
    if not (isinstance(gamma, (int, float, np.floating)) and math.isfinite(gamma) and gamma > 0):
        raise InvalidArgument(f"gamma: {gamma!r}; give a finite step size > 0")
    for name, v, lo in (("batch_size", batch_size, 1), ("n_steps", n_steps, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidArgument(f"{name}: {v!r}; give an integer >= {lo}")
    n_data = model.feats.shape[0]
    N = q0.shape[0]
    out = np.empty((n_steps + 1, N, model.n_params))
    out[0] = q0
    q = q0.copy()
    sampled = model.hidden == "sampled"
    for s in range(n_steps):
        idx = rng.integers(0, n_data, (N, batch_size))
        u = rng.random((N, batch_size)) if sampled else None
        q = q - gamma * model.step_gradient(q, idx, u)
        out[s + 1] = q
    return out
