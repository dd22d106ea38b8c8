r"""A learner that adjusts its own number of neurons, step size and mini-batch size: the grand-canonical learning
system of the paper's route to the Schrodinger equation (neurons exchanged with an environment at chemical
potential :math:`\mu`; docs/theory.md section 4).

**The network** (choices ours; the paper fixes none of them). A shared filter :math:`q\in\mathbb R^2` (the K = 2
trainable variables) is applied to M input patches :math:`x_j\in\mathbb R^2` of an example by M hidden neurons
(slots); slot j is *present* (:math:`o_j = 1`) or not, and a present neuron is a binary unit
:math:`h_j\in\{0, 1\}` with a quadratic pre-activation. The loss of a network state is

.. math:: H(x, y, h; q, o) = \tfrac12\big(y - f\big)^2 + \epsilon\sum_j o_j(1 - h_j),\qquad
          f = \frac1M\sum_j o_jh_j\,(q\cdot x_j)^2,

(:math:`\epsilon`: the bulk loss of a silent neuron). Data: :math:`x_j\sim N(0, I_2)` independent,
:math:`y = \frac{r_0^2}{2M}\sum_j|x_j|^2 + \sigma_y\xi`. The averaged problem is invariant under rotations of q (the
patches are isotropic), so with every neuron firing the loss is a "Mexican hat" with a ring of minima near
:math:`|q| = r_0` and a maximum at q = 0: the ensemble of learners is an annulus around a hole at the origin, so
loops around the origin can carry a circulation (a Gaussian-like ensemble without a hole admits only n = 0).
The per-example gradient :math:`\nabla_qH = -(y-f)\frac2M\sum_jo_jh_j(q\cdot x_j)x_j` points along the patches,
so the mini-batch noise has an angular part.

**Neurons in equilibrium.** Given an example and (q, o) the present neurons are in equilibrium at temperature T:
:math:`P(h) \propto e^{-H/T}` over the :math:`2^{N}` states of the N present neurons (exact enumeration),
:math:`F_x(q, o) = -T\ln Z`, :math:`\nabla_qF_x = \langle\nabla_qH\rangle`.

**The learning rule** (one step of every learner; the order and every rule below are ours):

1. *Mini-batch*: :math:`B_t` examples drawn uniformly with replacement.
2. *Neuron exchange* with the environment at chemical potential :math:`\mu` (grand canonical, Metropolis): a slot
   j drawn uniformly is toggled with probability :math:`\min(1, e^{-(\Delta F - \mu\Delta N)/T})`,
   :math:`\Delta F` the change of the mini-batch mean of :math:`F_x`, :math:`\Delta N = \pm1`.
3. *SGD on the free energy* of the present neurons: :math:`q \leftarrow q - \frac{\gamma_t}{B_t}\sum_b
   \nabla_qF_{x_b}(q, o)`.
4. *Step size and batch size*: the learner holds Nelson's constant of its own noise,
   :math:`\hbar_N = 2\nu/\gamma = \gamma\hat\sigma^2/B`, at the value :math:`\hbar^* = \mu/(2\pi)` that the
   grand-canonical identification gives (F defined modulo the free-energy step :math:`\mu` of one exchanged neuron,
   :math:`\psi = \sqrt p\,e^{iF/\hbar}` single-valued only if :math:`\mu/\hbar\in2\pi\mathbb Z`; our reading, the
   largest such :math:`\hbar`). :math:`\hat\sigma^2` is its running estimate of the per-example gradient variance
   (:math:`\mathrm{tr}/K` of the mini-batch's sample covariance, exponential average with weight 0.2 on the new
   batch); then :math:`B_{t+1} = \mathrm{clip}(\lfloor\gamma_{\max}\hat\sigma^2/\hbar^*\rfloor, B_{\min}, B_{\max})`
   and :math:`\gamma_{t+1} = \min(\gamma_{\max}, \hbar^*B_{t+1}/\hat\sigma^2)`.

``exchange=False, adapt=False`` gives the canonical comparison: every neuron present, fixed :math:`\gamma` and B.
``swirl`` plants an error that is not part of any learner (tests and ``nnqg selftest``): each step adds the
irrotational swirl :math:`\text{swirl}\cdot\hbar^*\gamma_t\,\hat z\times q/|q|^2`, a circulation of ``swirl``
quanta :math:`2\pi\hbar^*\gamma` around the origin.

>>> rng = np.random.default_rng(0)
>>> task = make_grand_canonical_task(rng, n_data=64)
>>> run = simulate(task, n_members=8, n_steps=5, rng=rng)
>>> run.q.shape, run.occupancy.shape, run.gamma.shape
((6, 8, 2), (6, 8, 3), (5, 8))
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numba import prange

from nnqg.derivations import InvalidArgument

from ._jitcache import njit_cached

__all__ = ["GrandCanonicalRun", "GrandCanonicalTask", "make_grand_canonical_task", "simulate"]


@dataclass(frozen=True)
class GrandCanonicalTask:
    """The data (patches ``x`` (n_data, M, 2), targets ``y``) and every constant of the learner (module
    docstring)."""

    x: np.ndarray
    y: np.ndarray
    r0: float
    temperature: float
    mu: float
    silent_cost: float
    gamma_max: float
    batch_min: int
    batch_max: int

    def __post_init__(self) -> None:
        if np.ndim(self.x) != 3 or np.shape(self.x)[2] != 2 or np.shape(self.y) != np.shape(self.x)[:1]:
            raise InvalidArgument(f"x, y: expected shapes (n, M, 2) and (n,), got {np.shape(self.x)}, "
                                  f"{np.shape(self.y)}")
        if not 1 <= np.shape(self.x)[1] <= 8:
            raise InvalidArgument(f"n_slots: {np.shape(self.x)[1]}; give 1..8 (states enumerated over 2^M)")
        for name in ("r0", "temperature", "mu", "gamma_max"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise InvalidArgument(f"{name}: {v!r}; give a finite number > 0")
        if not (math.isfinite(self.silent_cost) and self.silent_cost >= 0):
            raise InvalidArgument(f"silent_cost: {self.silent_cost!r}; give a finite number >= 0")
        if not 2 <= self.batch_min <= self.batch_max:
            raise InvalidArgument(f"batch_min, batch_max: {self.batch_min}, {self.batch_max}; need 2 <= min <= max "
                                  "(the learner estimates its gradient variance from each batch)")

    @property
    def n_slots(self) -> int:
        return int(np.shape(self.x)[1])

    @property
    def hbar(self) -> float:
        """hbar* = mu / (2 pi): the quantum of circulation is 2 pi hbar* gamma = mu gamma."""
        return self.mu / (2 * math.pi)


def make_grand_canonical_task(rng: np.random.Generator, *, n_data: int = 256, n_slots: int = 3, r0: float = 1.0,
                              noise: float = 0.5, temperature: float = 0.25, mu: float = 0.6,
                              silent_cost: float = 1.0, gamma_max: float = 0.05, batch_min: int = 2,
                              batch_max: int = 32) -> GrandCanonicalTask:
    """Draw the data set (patches, then label noise) from ``rng``."""
    if isinstance(n_data, bool) or not isinstance(n_data, (int, np.integer)) or n_data < 2:
        raise InvalidArgument(f"n_data: {n_data!r}; give an integer >= 2")
    if isinstance(n_slots, bool) or not isinstance(n_slots, (int, np.integer)) or not 1 <= n_slots <= 8:
        raise InvalidArgument(f"n_slots: {n_slots!r}; give an integer in [1, 8]")
    if not (math.isfinite(noise) and noise >= 0):
        raise InvalidArgument(f"noise: {noise!r}; give a finite number >= 0")
    x = rng.standard_normal((int(n_data), int(n_slots), 2))
    y = r0 ** 2 / (2 * n_slots) * np.sum(x * x, axis=(1, 2)) + noise * rng.standard_normal(int(n_data))
    return GrandCanonicalTask(x=x, y=y, r0=float(r0), temperature=float(temperature), mu=float(mu),
                              silent_cost=float(silent_cost), gamma_max=float(gamma_max), batch_min=int(batch_min),
                              batch_max=int(batch_max))


@dataclass(frozen=True, eq=False)
class GrandCanonicalRun:
    """Snapshots ``q`` (n_steps + 1, N, 2), occupancies (n_steps + 1, N, M), and per step the step size, batch size
    and whether the exchange move was accepted (n_steps, N)."""

    q: np.ndarray
    occupancy: np.ndarray
    gamma: np.ndarray
    batch: np.ndarray
    accepted: np.ndarray


def _free_energy(task: GrandCanonicalTask, q: np.ndarray, occ: np.ndarray, idx: np.ndarray, mask: np.ndarray,
                 states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member the mini-batch mean of F_x (N,), of grad F_x (N, 2) and the sample variance tr/K of the
    per-example grad F_x (N,), for batches ``idx`` (N, Bmax) of which the first ``mask`` entries count."""
    M = task.n_slots
    xb = task.x[idx]  # (N, B, M, 2)
    yb = task.y[idx]  # (N, B)
    z = np.einsum("nbmk,nk->nbm", xb, q)  # q . x_j
    act = occ[:, None, :] * z * z / M  # (N, B, M) contribution of a firing present neuron
    f = np.einsum("nbm,sm->nbs", act, states)  # (N, B, S)
    silent = task.silent_cost * np.einsum("nm,sm->ns", occ, 1.0 - states)  # (N, S)
    allowed = np.all((states[None, :, :] <= occ[:, None, :]), axis=2)  # a state fires present neurons only
    r = yb[:, :, None] - f
    E = 0.5 * r * r + silent[:, None, :]
    E = np.where(allowed[:, None, :], E, np.inf)
    m = E.min(axis=2, keepdims=True)
    w = np.exp(-(E - m) / task.temperature)
    Z = w.sum(axis=2, keepdims=True)
    w /= Z
    F = m[..., 0] - task.temperature * np.log(Z[..., 0])  # (N, B)
    # grad_q H = -(y - f) (2/M) sum_j o_j h_j z_j x_j, averaged over the states
    coef = np.einsum("nbs,sm->nbm", -r * w, states) * occ[:, None, :] * z * (2.0 / M)  # <-(y-f) h_j> o_j z_j 2/M
    g = np.einsum("nbm,nbmk->nbk", coef, xb)  # (N, B, 2)
    cnt = mask.sum(axis=1)
    Fm = (F * mask).sum(axis=1) / cnt
    gm = (g * mask[..., None]).sum(axis=1) / cnt[:, None]
    dev = (g - gm[:, None, :]) * mask[..., None]
    var = np.sum(dev * dev, axis=(1, 2)) / (2.0 * np.maximum(cnt - 1, 1))
    return Fm, gm, var


@njit_cached()
def _example(xi, yi, q0, q1, occ, states, T, eps):  # pragma: no cover - compiled
    """F_x and grad_q F_x = <grad_q H> of one example (patches ``xi`` (M, 2), target ``yi``) for one member."""
    M = xi.shape[0]
    S = states.shape[0]
    E = np.empty(S)
    r = np.empty(S)
    z = np.empty(M)
    for j in range(M):
        z[j] = q0 * xi[j, 0] + q1 * xi[j, 1]
    emin = np.inf
    for s in range(S):
        ok = True
        f = 0.0
        silent = 0.0
        for j in range(M):
            if states[s, j] > occ[j]:
                ok = False
            f += occ[j] * states[s, j] * z[j] * z[j] / M
            silent += eps * occ[j] * (1.0 - states[s, j])
        r[s] = yi - f
        E[s] = 0.5 * r[s] * r[s] + silent if ok else np.inf
        if E[s] < emin:
            emin = E[s]
    Z = 0.0
    for s in range(S):
        if E[s] < np.inf:
            E[s] = math.exp(-(E[s] - emin) / T)  # from here on E holds the unnormalised weights
            Z += E[s]
        else:
            E[s] = 0.0
    g0 = 0.0
    g1 = 0.0
    for s in range(S):
        if E[s] == 0.0:
            continue
        w = E[s] / Z
        for j in range(M):
            c = -w * r[s] * occ[j] * states[s, j] * z[j] * 2.0 / M
            g0 += c * xi[j, 0]
            g1 += c * xi[j, 1]
    return emin - T * math.log(Z), g0, g1


@njit_cached()
def _batch_free_energy(x, y, q0, q1, occ, idx, nb, states, T, eps, out_g):  # pragma: no cover - compiled
    """Mini-batch mean of F_x for one member (the first ``nb`` examples of ``idx``), its per-example gradients
    into ``out_g`` (nb, 2); returns (mean F, tr/K of the sample covariance of the gradients)."""
    Fs = 0.0
    m0 = 0.0
    m1 = 0.0
    for b in range(nb):
        F, g0, g1 = _example(x[idx[b]], y[idx[b]], q0, q1, occ, states, T, eps)
        out_g[b, 0] = g0
        out_g[b, 1] = g1
        Fs += F
        m0 += g0
        m1 += g1
    m0 /= nb
    m1 /= nb
    v = 0.0
    for b in range(nb):
        v += (out_g[b, 0] - m0) ** 2 + (out_g[b, 1] - m1) ** 2
    return Fs / nb, v / (2.0 * (nb - 1)) if nb > 1 else 0.0


@njit_cached(parallel=True)
def _adiabatic_moments(Q, x, y, occs, states, T, eps, mu, omega, grad, second):  # pragma: no cover - compiled
    r"""The fast-exchange (adiabatic) model at points Q: occupancies o weighted by
    w_o \propto exp(-(F-bar_o - mu N_o)/T); the grand potential Omega = -T ln sum_o exp(-(F-bar_o - mu N_o)/T),
    grad Omega = sum_o w_o grad F-bar_o, and the mixture's second moment sum_o w_o mean_x g g^T of the per-example
    gradient. Points are independent (parallel)."""
    P = Q.shape[0]
    O = occs.shape[0]
    n = x.shape[0]
    for p in prange(P):
        Fo = np.zeros(O)
        go = np.zeros((O, 2))
        so = np.zeros((O, 3))
        for o in range(O):
            for i in range(n):
                F, g0, g1 = _example(x[i], y[i], Q[p, 0], Q[p, 1], occs[o], states, T, eps)
                Fo[o] += F / n
                go[o, 0] += g0 / n
                go[o, 1] += g1 / n
                so[o, 0] += g0 * g0 / n
                so[o, 1] += g0 * g1 / n
                so[o, 2] += g1 * g1 / n
        a = np.empty(O)
        amax = -np.inf
        for o in range(O):
            Nocc = 0.0
            for j in range(occs.shape[1]):
                Nocc += occs[o, j]
            a[o] = -(Fo[o] - mu * Nocc) / T
            if a[o] > amax:
                amax = a[o]
        Zs = 0.0
        for o in range(O):
            a[o] = math.exp(a[o] - amax)
            Zs += a[o]
        omega[p] = -T * (amax + math.log(Zs))
        grad[p, 0] = 0.0
        grad[p, 1] = 0.0
        second[p, 0, 0] = 0.0
        second[p, 0, 1] = 0.0
        second[p, 1, 1] = 0.0
        for o in range(O):
            w = a[o] / Zs
            grad[p, 0] += w * go[o, 0]
            grad[p, 1] += w * go[o, 1]
            second[p, 0, 0] += w * so[o, 0]
            second[p, 0, 1] += w * so[o, 1]
            second[p, 1, 1] += w * so[o, 2]
        second[p, 1, 0] = second[p, 0, 1]


@njit_cached()
def _step(x, y, q, occ, idx, B, g, slot, u, exchange, states, T, eps, mu, var, acc):  # pragma: no cover - compiled
    """One step of every learner (module docstring, items 2-3) in place: q, occ, var (the per-batch variance of
    this step, before averaging), acc."""
    N, M = occ.shape
    grads = np.empty((idx.shape[1], 2))
    trial = np.empty(M)
    for n in range(N):
        if exchange:
            for j in range(M):
                trial[j] = occ[n, j]
            trial[slot[n]] = 1.0 - trial[slot[n]]
            F0, _ = _batch_free_energy(x, y, q[n, 0], q[n, 1], occ[n], idx[n], B[n], states, T, eps, grads)
            F1, _ = _batch_free_energy(x, y, q[n, 0], q[n, 1], trial, idx[n], B[n], states, T, eps, grads)
            dN = trial[slot[n]] - occ[n, slot[n]]
            a = -(F1 - F0 - mu * dN) / T
            acc[n] = u[n] < math.exp(min(a, 0.0))
            if acc[n]:
                for j in range(M):
                    occ[n, j] = trial[j]
        _, v = _batch_free_energy(x, y, q[n, 0], q[n, 1], occ[n], idx[n], B[n], states, T, eps, grads)
        m0 = 0.0
        m1 = 0.0
        for b in range(B[n]):
            m0 += grads[b, 0]
            m1 += grads[b, 1]
        q[n, 0] -= g[n] * m0 / B[n]
        q[n, 1] -= g[n] * m1 / B[n]
        var[n] = v


def simulate(task: GrandCanonicalTask, *, n_members: int, n_steps: int, rng: np.random.Generator,
             exchange: bool = True, adapt: bool = True, gamma: float | None = None, batch_size: int | None = None,
             init_spread: float = 0.05, swirl: float = 0.0) -> GrandCanonicalRun:
    """Run N learners for ``n_steps`` steps (module docstring). Every learner starts with every neuron present, on
    the ring :math:`|q| = r_0` at a uniform angle (radius spread ``init_spread``), with B = batch_min,
    :math:`\\gamma = \\gamma_{\\max}` and its variance estimate from a first batch of ``batch_max`` examples.
    ``adapt=False``: fixed ``gamma`` (default gamma_max) and ``batch_size`` (default batch_min)."""
    for name, v, lo in (("n_members", n_members, 2), ("n_steps", n_steps, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidArgument(f"{name}: {v!r}; give an integer >= {lo}")
    N, M = int(n_members), task.n_slots
    g_fixed = task.gamma_max if gamma is None else float(gamma)
    b_fixed = task.batch_min if batch_size is None else int(batch_size)
    if not adapt and not (math.isfinite(g_fixed) and g_fixed > 0 and 2 <= b_fixed <= task.batch_max):
        raise InvalidArgument(f"gamma, batch_size: {gamma!r}, {batch_size!r}; give gamma > 0 and a batch size in "
                              f"[2, batch_max = {task.batch_max}]")
    states = np.array(list(itertools.product((0.0, 1.0), repeat=M)))
    th = rng.uniform(0.0, 2 * np.pi, N)
    rad = task.r0 + init_spread * rng.standard_normal(N)
    q = np.stack([rad * np.cos(th), rad * np.sin(th)], axis=1)
    occ = np.ones((N, M))
    n_data = task.y.shape[0]
    Bmax = task.batch_max
    full = np.ones((N, Bmax))
    _, _, var = _free_energy(task, q, occ, rng.integers(0, n_data, (N, Bmax)), full, states)
    out = GrandCanonicalRun(q=np.empty((n_steps + 1, N, 2)), occupancy=np.empty((n_steps + 1, N, M)),
                            gamma=np.empty((n_steps, N)), batch=np.empty((n_steps, N), dtype=np.int64),
                            accepted=np.zeros((n_steps, N), dtype=bool))
    out.q[0], out.occupancy[0] = q, occ
    hb = task.hbar
    B = np.full(N, b_fixed if not adapt else task.batch_min, dtype=np.int64)
    g = np.full(N, g_fixed)
    x = np.ascontiguousarray(task.x, dtype=float)
    y = np.ascontiguousarray(task.y, dtype=float)
    acc = np.zeros(N, dtype=np.bool_)
    bvar = np.empty(N)
    for s in range(n_steps):
        if adapt:
            B = np.clip(np.floor(task.gamma_max * var / hb), task.batch_min, task.batch_max).astype(np.int64)
            g = np.minimum(task.gamma_max, hb * B / np.maximum(var, 1e-300))
        idx = rng.integers(0, n_data, (N, Bmax))
        slot = rng.integers(0, M, N)
        u = rng.random(N)
        acc[:] = False
        _step(x, y, q, occ, idx, B, g, slot, u, exchange, states, task.temperature, task.silent_cost, task.mu,
              bvar, acc)
        var = 0.8 * var + 0.2 * bvar
        if swirl:
            q = q + (swirl * hb * g / np.sum(q * q, axis=1))[:, None] * np.stack([-q[:, 1], q[:, 0]], axis=1)
        out.q[s + 1], out.occupancy[s + 1] = q, occ
        out.gamma[s], out.batch[s], out.accepted[s] = g, B, acc
    return out


class AdiabaticModel:
    r"""The learner at points q in the fast-exchange (adiabatic) approximation, for the estimators that take a
    model of the drift and the noise (the sweep task ``grand_canonical``): the occupancies are in equilibrium
    with the environment at every q, :math:`w_o \propto e^{-(\bar F_o(q) - \mu N_o)/T}`, so the mean drift is
    :math:`-\gamma(q)\nabla\Omega`, :math:`\Omega = -T\ln\sum_o e^{-(\bar F_o - \mu N_o)/T}` (the grand potential),
    and the per-example gradient has the mixture covariance :math:`\Sigma_\Omega`. With ``rule="grand_canonical"``
    the step size and batch size are those the learner's rule (module docstring, item 4) chooses for the exact
    variance :math:`\sigma^2 = \mathrm{tr}\,\Sigma_\Omega/2`; ``rule="canonical"``: every neuron present, the
    fixed gamma and B. :meth:`ensemble` expresses the model for estimators called with a reference step size and
    batch size: ``grad_loss`` = :math:`(\gamma(q)/\gamma_{\rm ref})\nabla\Omega`, ``grad_cov`` =
    :math:`(B_{\rm ref}/\gamma_{\rm ref}^2)\,\gamma(q)^2\Sigma_\Omega/B(q)`. Approximations (stated, not hidden):
    the exchange is not fast (one proposal per step, decided on a mini-batch), and the learner's variance estimate
    is a running average, not the exact variance."""

    def __init__(self, task: GrandCanonicalTask, rule: str = "grand_canonical") -> None:
        if rule not in ("grand_canonical", "canonical"):
            raise InvalidArgument(f"rule: {rule!r}; use 'grand_canonical' or 'canonical'")
        self.task, self.rule = task, rule
        M = task.n_slots
        self.states = np.array(list(itertools.product((0.0, 1.0), repeat=M)))
        self.occs = self.states.copy() if rule == "grand_canonical" else np.ones((1, M))
        self._kept: dict[tuple, tuple[np.ndarray, ...]] = {}

    def moments(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Omega (P,), grad Omega (P, 2) and Sigma_Omega (P, 2, 2) at the points (the last 48 point sets kept)."""
        import hashlib

        Q = np.ascontiguousarray(Q, dtype=float)
        key = (Q.shape, hashlib.blake2b(Q.tobytes(), digest_size=16).digest())
        if key not in self._kept:
            P = Q.shape[0]
            om, g, sec = np.empty(P), np.empty((P, 2)), np.empty((P, 2, 2))
            t = self.task
            _adiabatic_moments(Q, np.ascontiguousarray(t.x, dtype=float), np.ascontiguousarray(t.y, dtype=float),
                               self.occs, self.states, t.temperature, t.silent_cost, t.mu, om, g, sec)
            if len(self._kept) >= 48:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (om, g, sec - g[:, :, None] * g[:, None, :])
        return self._kept[key]

    def step_and_batch(self, cov: np.ndarray, gamma: float, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """gamma(q), B(q) of the rule for the exact variance (the fixed gamma, B for the canonical rule)."""
        P = cov.shape[0]
        if self.rule == "canonical":
            return np.full(P, float(gamma)), np.full(P, float(batch))
        t = self.task
        var = 0.5 * np.trace(cov, axis1=1, axis2=2)
        B = np.clip(np.floor(t.gamma_max * var / t.hbar), t.batch_min, t.batch_max)
        return np.minimum(t.gamma_max, t.hbar * B / np.maximum(var, 1e-300)), B

    def ensemble(self, q: np.ndarray, gamma: float, batch: int):
        """The snapshots with this model, for estimators called with step size ``gamma`` and batch size ``batch``
        (class docstring); the phase is -Omega."""
        from ._ensemble import Ensemble

        def grad(Q: np.ndarray) -> np.ndarray:
            _, g, cov = self.moments(Q)
            gam, _ = self.step_and_batch(cov, gamma, batch)
            return (gam / gamma)[:, None] * g

        def cov(Q: np.ndarray) -> np.ndarray:
            _, _, c = self.moments(Q)
            gam, B = self.step_and_batch(c, gamma, batch)
            return (batch / gamma ** 2 * gam ** 2 / B)[:, None, None] * c

        return Ensemble(q=q, grad_loss=grad, grad_cov=cov, loss=lambda Q: self.moments(Q)[0].copy(),
                        grad_free_energy=lambda Q, s: -self.moments(Q)[1].copy())
