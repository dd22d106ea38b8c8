r"""Nelson diffusions and the ensemble estimators that evaluate the Madelung pair on them.

Trajectories (docs/theory.md, section 4, trajectory-level picture), K = 1 (the drift comes from a constructed
state, :mod:`nnqg.numerics._nelson_states`: a *calibration*, not a learning system):

.. math:: dq = b(t, q)\,dt + \sqrt{2\nu}\,dW,\qquad b = v + u,\quad v = \partial_q S/m,\quad
          u = \nu\,\partial_q \ln p,\quad \nu = \hbar/(2m).

**Integrator.** The noise is additive (constant :math:`\sqrt{2\nu}`), so Euler-Maruyama already has strong
order 1, but only weak order 1. We use the stochastic Heun predictor-corrector with the same Gaussian increment
in both stages,

.. math:: \tilde q = q_n + b(t_n, q_n) h + \sigma\Delta W,\quad
          q_{n+1} = q_n + \tfrac12[b(t_n, q_n) + b(t_{n+1}, \tilde q)] h + \sigma\Delta W,

which for additive noise is of weak order 2 (its one-step moments match the Ito-Taylor expansion to
:math:`O(h^3)`); the order is measured in ``tests/slow/test_madelung_slow.py`` against the closed-form variance.
Weak order is what matters here: every quantity we evaluate is an ensemble average. A trajectory that meets a
drift steep enough to leave the scheme's stability region (:math:`h|b'| > 1`) takes that step, alone, in
substeps along its own Brownian path (:func:`simulate`).

**Drift.** The drift is tabulated on a uniform grid in q at every step time and interpolated linearly (linear
extrapolation outside the grid, or, for a numerical state whose grid ends are the walls of its box, the end
value pointing back into the box). A two-point grid represents the affine drift of a Gaussian state exactly; a
numerical Schrodinger solution gives a finer grid.

**Estimators.** From snapshots :math:`Q_j = q(t + j\Delta)`, :math:`j = -4..4`, forward and backward drifts are
least-squares fits of increments on polynomials in :math:`z = (q - \bar q)/s` (degree 3 by default: the exact
drifts of Gaussian states are affine, so the basis holds the answer but also two terms that must come out zero).
With increments over :math:`\Delta`, :math:`v_\Delta = (b_\Delta + b_{*\Delta})/2` has no :math:`O(\Delta)`
bias (its :math:`\Delta/2\,(\partial_t u + (uv)' + \nu v'')` vanishes by the osmotic equation, a consequence of
Fokker-Planck) but :math:`u_\Delta = (b_\Delta - b_{*\Delta})/2` has one; Richardson extrapolation with the
increments over :math:`2\Delta` removes the leading term of each: :math:`v = (4v_\Delta - v_{2\Delta})/3`,
:math:`u = 2u_\Delta - u_{2\Delta}` (remaining bias :math:`O(\Delta^2)` or smaller).

>>> import numpy as np
>>> st = free_packet(m=1.0, hbar=1.0, s0=0.5, v0=0.3)
>>> alpha, beta = st.drift_coefficients(0.0)
>>> round(float(beta), 6)   # u = -nu (q - mu)/s0^2 at t = 0, nu = 1/2
-2.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nnqg.derivations import InvalidArgument

from ._jitcache import njit_cached
from ._nelson_states import DriftTable, GaussianState, _positive, coherent_state, free_packet, gaussian_drift


# ----------------------------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------------------------

#: The bound kappa on a step's stability number h|b'| (:func:`simulate`): half the linear stability interval
#: (0, 2] of both schemes on the real axis and the end of Euler's non-oscillating range (its factor 1 - h lambda
#: stays >= 0); the factor 2 of margin covers the drift's variation between the points a step evaluates.
STABILITY_BOUND = 1.0
#: a stiff step is refined at most this many times (2**16 substeps); a step still beyond the bound is counted as
#: unresolved
MAX_SUBSTEP_HALVINGS = 16


@njit_cached(fastmath=False)
def _interp(x: float, g0: float, dx: float, b: np.ndarray) -> float:
    m = b.shape[0]
    s = (x - g0) / dx
    j = int(math.floor(s))
    if j < 0:
        j = 0
    elif j > m - 2:
        j = m - 2
    w = s - j
    return (1.0 - w) * b[j] + w * b[j + 1]


@njit_cached(fastmath=False)
def _drift(x: float, g0: float, dx: float, b: np.ndarray, walls: bool) -> float:
    """The table's drift at x: linear in each cell; beyond the grid linear continuation, or, when the grid's ends
    are the walls of the state's box, the end value pointing into the box (``simulate``'s docstring)."""
    if walls:
        m = b.shape[0]
        if x < g0:
            return abs(b[0])
        if x > g0 + (m - 1) * dx:
            return -abs(b[m - 1])
    return _interp(x, g0, dx, b)


@njit_cached(fastmath=False)
def _slope(x: float, g0: float, dx: float, b: np.ndarray, walls: bool) -> float:
    """|b'| of the drift :func:`_drift` uses at x (the slope of x's cell; 0 beyond a wall)."""
    m = b.shape[0]
    if walls and (x < g0 or x > g0 + (m - 1) * dx):
        return 0.0
    j = int(math.floor((x - g0) / dx))
    if j < 0:
        j = 0
    elif j > m - 2:
        j = m - 2
    return abs(b[j + 1] - b[j]) / dx


@njit_cached(fastmath=False)
def _heun_step(q: np.ndarray, dw: np.ndarray, h: float, sigma: float, g0: float, dx: float,
               b_now: np.ndarray, b_next: np.ndarray, walls: bool, kappa: float, stiff: np.ndarray) -> int:
    """One Heun step of every trajectory whose stability number is within kappa; the others are left in place
    with their stability number in ``stiff``; returns how many."""
    count = 0
    for i in range(q.shape[0]):
        x = q[i]
        noise = sigma * dw[i]
        f0 = _drift(x, g0, dx, b_now, walls)
        xp = x + f0 * h + noise
        s = h * max(_slope(x, g0, dx, b_now, walls), _slope(xp, g0, dx, b_next, walls))
        if s > kappa:
            stiff[i] = s
            count += 1
            continue
        f1 = _drift(xp, g0, dx, b_next, walls)
        q[i] = x + 0.5 * (f0 + f1) * h + noise
    return count


@njit_cached(fastmath=False)
def _euler_step(q: np.ndarray, dw: np.ndarray, h: float, sigma: float, g0: float, dx: float,
                b_now: np.ndarray, walls: bool, kappa: float, stiff: np.ndarray) -> int:
    count = 0
    for i in range(q.shape[0]):
        x = q[i]
        s = h * _slope(x, g0, dx, b_now, walls)
        if s > kappa:
            stiff[i] = s
            count += 1
            continue
        q[i] = x + _drift(x, g0, dx, b_now, walls) * h + sigma * dw[i]
    return count


@njit_cached(fastmath=False)
def _refine(P: np.ndarray, sigma: float) -> np.ndarray:
    """The noise path at twice the resolution: each midpoint from the Brownian bridge between its neighbours."""
    M = P.shape[0] - 1
    out = np.empty(2 * M + 1)
    sd = 0.5 * sigma / math.sqrt(M)
    for j in range(M):
        out[2 * j] = P[j]
        out[2 * j + 1] = 0.5 * (P[j] + P[j + 1]) + sd * np.random.standard_normal()
    out[2 * M] = P[M]
    return out


@njit_cached(fastmath=False)
def _along_path(x: float, P: np.ndarray, h: float, g0: float, dx: float, b0: np.ndarray, b1: np.ndarray,
                walls: bool, heun: bool, kappa: float, stop: bool) -> tuple[float, float]:
    """x after the substeps h/M along the noise path P (M + 1 values), the drift linear in time between the
    step's two tables; returns (x, the largest stability number met; early when ``stop`` and it exceeds kappa)."""
    M = P.shape[0] - 1
    d = h / M
    worst = 0.0
    for k in range(M):
        a0, a1 = k / M, (k + 1) / M
        noise = P[k + 1] - P[k]
        f0 = (1.0 - a0) * _drift(x, g0, dx, b0, walls) + a0 * _drift(x, g0, dx, b1, walls)
        worst = max(worst, d * max(_slope(x, g0, dx, b0, walls), _slope(x, g0, dx, b1, walls)))
        xp = x + f0 * d + noise
        if heun:
            worst = max(worst, d * max(_slope(xp, g0, dx, b0, walls), _slope(xp, g0, dx, b1, walls)))
            f1 = (1.0 - a1) * _drift(xp, g0, dx, b0, walls) + a1 * _drift(xp, g0, dx, b1, walls)
            x = x + 0.5 * (f0 + f1) * d + noise
        else:
            x = xp
        if stop and worst > kappa:
            break
    return x, worst


@njit_cached(fastmath=False)
def _substeps(q: np.ndarray, stiff: np.ndarray, dw: np.ndarray, h: float, sigma: float, g0: float, dx: float,
              b0: np.ndarray, b1: np.ndarray, walls: bool, heun: bool, kappa: float, max_halvings: int, seed: int,
              counts: np.ndarray) -> None:
    """The flagged trajectories (``stiff[i]`` > 0, their stability number; reset to 0) over one step in substeps
    along their own refined noise path; ``counts`` += (trajectory-steps, unresolved ones), max substeps."""
    np.random.seed(seed)
    for i in range(q.shape[0]):
        s = stiff[i]
        if s == 0.0:
            continue
        stiff[i] = 0.0
        P = np.empty(2)
        P[0] = 0.0
        P[1] = sigma * dw[i]
        k0 = min(max_halvings, max(1, int(math.ceil(math.log2(s / kappa)))))
        k = 0
        while k < k0:
            P = _refine(P, sigma)
            k += 1
        while True:
            x, worst = _along_path(q[i], P, h, g0, dx, b0, b1, walls, heun, kappa, k < max_halvings)
            if worst <= kappa or k >= max_halvings:
                break
            P = _refine(P, sigma)
            k += 1
        q[i] = x
        counts[0] += 1
        if worst > kappa:
            counts[1] += 1
        counts[2] = max(counts[2], 2**k)


def simulate(q_init: np.ndarray, drift: DriftTable, nu: float, h: float, snapshot_steps: Sequence[int],
             rng: np.random.Generator, *, scheme: str = "heun", walls: bool = False, stats: dict | None = None) \
        -> np.ndarray:
    r"""Integrate :math:`dq = b\,dt + \sqrt{2\nu}\,dW` from t = 0 with step h; return the positions at the
    requested step indices (sorted, non-negative), shape ``(len(snapshot_steps), N)``.

    **Stiff steps, per trajectory.** On :math:`dq = -\lambda q\,dt` both schemes multiply q per step by a factor
    (Heun :math:`1 - h\lambda + (h\lambda)^2/2`, Euler :math:`1 - h\lambda`) of modulus at most 1 only for
    :math:`0 \le h\lambda \le 2`; a drift steep somewhere (a potential wall, a node of psi, the box of a numerical
    state) throws a trajectory that meets it out of the state's support. A trajectory's stability number over a
    step is :math:`s = h\max|b'|` at the points where the scheme evaluates the drift (Heun: :math:`q_n` in the
    table at :math:`t_n`, the predictor :math:`\tilde q` in the table at :math:`t_{n+1}`; Euler: :math:`q_n`),
    :math:`b'` the slope of the table's cell there. Where :math:`s \le \kappa` (:data:`STABILITY_BOUND`) the step
    is the plain scheme's, bit for bit. Where :math:`s > \kappa` that trajectory alone takes the step in
    :math:`M = 2^k` substeps h/M, the drift linear in time between the step's two tables, along its own noise
    path: the step's increment :math:`\sigma\Delta W` refined by Brownian-bridge midpoints (the midpoint of an
    interval of length :math:`\tau` given its ends is their mean plus :math:`N(0, 2\nu\tau/4)`; the Levy
    construction, so every refinement is the same Brownian path, the plain step's increment its end value). k
    starts at :math:`\lceil\log_2(s/\kappa)\rceil` (the slope where the trajectory is) and grows by one, the path
    refined, the step redone, until every substep's own stability number, at the points it evaluates, is within
    :math:`\kappa` (at most :data:`MAX_SUBSTEP_HALVINGS` times; a step still beyond is counted unresolved). The
    cost is paid only by the trajectory-steps that meet steep drift, in proportion to the slope they meet. The
    bridge's normals come from a generator seeded, per step that needs it, from a stream spawned from ``rng``
    (``rng``'s own draws are untouched: a run in which no step is stiff is the plain scheme's, bit for bit).

    **Walls** (``walls=True``: the grid's ends are the walls of the state's box, where psi = 0). Beyond a wall the
    drift is the end value pointing into the box, :math:`b(q) = |b(g_0)|` left of the grid and :math:`-|b(g_1)|`
    right of it: :math:`(q - g)\,b(q) \le 0` beyond a wall g, constant (no stiffness), so a trajectory there comes
    back at the edge's speed (plus diffusion) instead of following a linear continuation that can point outward
    and grow geometrically. A Nelson diffusion of the tabulated psi never reaches a wall (the osmotic drift
    :math:`\nu\,\partial_q\ln|\psi|^2` diverges there), so a trajectory beyond one is the integrator's departure from
    the law: they are counted. Without walls (the closed-form affine tables) the drift is continued linearly, which
    is exact for them.

    ``stats`` (a dict, if given) receives ``stiff_steps`` (trajectory-steps substepped), ``unresolved_steps``,
    ``max_substeps``, ``kappa``, ``outside_steps`` (trajectory-steps ending beyond a wall), ``stayed_out`` (those
    that followed a step already ending beyond one), ``crossed`` (trajectories that ever ended a step beyond a
    wall) and ``left_box`` (those that ever ended one farther than a step's noise scale
    :math:`\sigma = \sqrt{2\nu h}` beyond a wall); all 0 without walls.

    Random increments come from ``rng`` one step at a time (memory O(N), reproducible for a given stream)."""
    _positive(nu=nu, h=h)
    steps = [int(s) for s in snapshot_steps]
    if any(s < 0 for s in steps) or steps != sorted(steps):
        raise InvalidArgument(f"snapshot_steps must be sorted and non-negative, got {steps[:10]}")
    if scheme not in ("heun", "euler"):
        raise InvalidArgument(f"scheme must be 'heun' or 'euler', got {scheme!r}")
    q = np.array(q_init, dtype=np.float64, copy=True)
    out = np.empty((len(steps), q.size))
    sigma = math.sqrt(2.0 * nu * h)
    want = {}
    for idx, s in enumerate(steps):
        want.setdefault(s, []).append(idx)
    kappa, walls = float(STABILITY_BOUND), bool(walls)
    counts = np.zeros(3, dtype=np.int64)  # stiff trajectory-steps, unresolved ones, max substeps
    counts[2] = 1
    stiff = np.zeros(q.size)
    ever_out = np.zeros(q.size, dtype=np.bool_)
    ever_far = np.zeros(q.size, dtype=np.bool_)
    was_out = np.zeros(q.size, dtype=np.bool_)
    outside_steps = stayed_out = 0
    bridge: np.random.Generator | None = None
    g0, dx, b_now = drift(0.0)
    top = g0 + (len(b_now) - 1) * dx
    for n in range(steps[-1] + 1 if steps else 0):
        for idx in want.get(n, ()):
            out[idx] = q
        if n == steps[-1]:
            break
        dw = rng.standard_normal(q.size)
        g1, dx1, b_next = drift((n + 1) * h)
        if (g1, dx1) != (g0, dx) or b_next.shape != b_now.shape:
            raise InvalidArgument("the drift table must keep its grid from step to step")
        b0, b1 = np.ascontiguousarray(b_now, dtype=np.float64), np.ascontiguousarray(b_next, dtype=np.float64)
        if scheme == "heun":
            hit = _heun_step(q, dw, h, sigma, g0, dx, b0, b1, walls, kappa, stiff)
        else:
            hit = _euler_step(q, dw, h, sigma, g0, dx, b0, walls, kappa, stiff)
        if hit:
            if bridge is None:
                bridge = rng.spawn(1)[0]
            _substeps(q, stiff, dw, h, sigma, g0, dx, b0, b1, walls, scheme == "heun", kappa, MAX_SUBSTEP_HALVINGS,
                      int(bridge.integers(2**32)), counts)
        if walls:
            beyond = (q < g0) | (q > top)
            outside_steps += int(np.count_nonzero(beyond))
            stayed_out += int(np.count_nonzero(beyond & was_out))
            ever_out |= beyond
            ever_far |= (q < g0 - sigma) | (q > top + sigma)
            was_out = beyond
        b_now = b_next
    if stats is not None:
        stats.update(stiff_steps=int(counts[0]), unresolved_steps=int(counts[1]), max_substeps=int(counts[2]),
                     kappa=kappa, outside_steps=outside_steps, stayed_out=stayed_out,
                     crossed=int(np.count_nonzero(ever_out)), left_box=int(np.count_nonzero(ever_far)))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Estimators: drifts by regression
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolyField:
    r"""A polynomial :math:`f(q) = \sum_j c_j z^j`, :math:`z = (q - a)/\ell`, with its q-derivatives."""

    coef: np.ndarray
    a: float
    ell: float

    def __call__(self, q: np.ndarray, derivative: int = 0) -> np.ndarray:
        c = np.polynomial.polynomial.polyder(self.coef, derivative) if derivative else self.coef
        return np.polynomial.polynomial.polyval((q - self.a) / self.ell, c) / self.ell ** derivative


def _design(q: np.ndarray, a: float, ell: float, degree: int) -> np.ndarray:
    return np.vander((q - a) / ell, degree + 1, increasing=True)


#: increment targets: (snapshots, lag, centre index) -> (N, 2) array of targets for v and u
Targets = Callable[[Sequence[np.ndarray], float, int], np.ndarray]


def richardson_targets(Q: Sequence[np.ndarray], dt: float, c: int) -> np.ndarray:
    r"""Regression targets for v and u at snapshot c, Richardson-combined over the lags :math:`\Delta` and
    :math:`2\Delta` (see :func:`fit_velocities`): their conditional means given :math:`Q_c` are v and u with bias
    :math:`O(\Delta^2)`."""
    q0 = Q[c]
    yv = (8.0 * (Q[c + 1] - Q[c - 1]) - (Q[c + 2] - Q[c - 2])) / (12.0 * dt)
    yu = (4.0 * (Q[c + 1] - 2.0 * q0 + Q[c - 1]) - (Q[c + 2] - 2.0 * q0 + Q[c - 2])) / (4.0 * dt)
    return np.stack([yv, yu], axis=1)


def fit_velocities(Q: Sequence[np.ndarray], dt: float, centre: int, degree: int,
                   standardise: tuple[float, float], targets: Targets = richardson_targets) \
        -> tuple[PolyField, PolyField]:
    r"""Current and osmotic velocity at snapshot ``centre`` of ``Q`` (snapshots spaced by dt), Richardson-combined:

    :math:`b_\Delta = (Q_{+1}-Q_0)/\Delta`, :math:`b_{*\Delta} = (Q_0 - Q_{-1})/\Delta`, the same over
    :math:`2\Delta`, :math:`v = (4v_\Delta - v_{2\Delta})/3`, :math:`u = 2u_\Delta - u_{2\Delta}` (module
    docstring); least squares is linear in the targets, so :math:`v` and :math:`u` are fitted directly to
    :math:`y_v = [8(Q_{+1}-Q_{-1}) - (Q_{+2}-Q_{-2})]/(12\Delta)` and
    :math:`y_u = [4(Q_{+1}-2Q_0+Q_{-1}) - (Q_{+2}-2Q_0+Q_{-2})]/(4\Delta)`."""
    c = centre
    if c - 2 < 0 or c + 2 >= len(Q):
        raise InvalidArgument(f"centre {c} needs snapshots {c - 2}..{c + 2}, have 0..{len(Q) - 1}")
    a, ell = standardise
    X = _design(Q[c], a, ell, degree)
    coef, *_ = np.linalg.lstsq(X, targets(Q, dt, c), rcond=None)
    return PolyField(coef[:, 0], a, ell), PolyField(coef[:, 1], a, ell)


@dataclass(frozen=True)
class NelsonJet:
    """Values at the ensemble points q_i(t) of v, v_q, v_t, u, u_q, u_qq (the fields of the Newton kernel)."""

    q: np.ndarray
    v: np.ndarray
    v_q: np.ndarray
    v_t: np.ndarray
    u: np.ndarray
    u_q: np.ndarray
    u_qq: np.ndarray

    def fields(self) -> dict[str, np.ndarray]:
        return {"q": self.q, "v": self.v, "v_q": self.v_q, "v_t": self.v_t, "u": self.u, "u_q": self.u_q,
                "u_qq": self.u_qq}


def _check_jet_args(Q: Sequence[np.ndarray], standardise: Sequence[tuple[float, float]], time_lags: int) -> int:
    d = int(time_lags)
    M = 2 + d
    if d < 1 or len(Q) != 2 * M + 1 or len(standardise) != len(Q):
        raise InvalidArgument(f"nelson_jet with time_lags={time_lags} needs {2 * M + 1} snapshots (j = -{M}..{M}) "
                              f"and as many standardisations, got {len(Q)} and {len(standardise)}")
    return d


def nelson_jet(Q: Sequence[np.ndarray], dt: float, degree: int, standardise: Sequence[tuple[float, float]],
               time_lags: int = 2) -> NelsonJet:
    r"""Jet of Nelson's velocities at the middle snapshot of :math:`2M+1` (:math:`j = -M..M`,
    :math:`M = 2 + d`, d = ``time_lags``): v and u from :func:`fit_velocities` at j = 0, :math:`\partial_t v` by
    the central difference of the fits at :math:`j = \pm d`, evaluated at the points :math:`Q_0` (bias
    :math:`O((d\Delta)^2)`). A time derivative over more than one lag (d = 2 by default) divides the regression
    noise of v by d, and that noise dominates the Newton-law residual."""
    d = _check_jet_args(Q, standardise, time_lags)
    M = 2 + d
    v0, u0 = fit_velocities(Q, dt, M, degree, standardise[M])
    vm, _ = fit_velocities(Q, dt, M - d, degree, standardise[M - d])
    vp, _ = fit_velocities(Q, dt, M + d, degree, standardise[M + d])
    q = Q[M]
    return NelsonJet(q=q, v=v0(q), v_q=v0(q, 1), v_t=(vp(q) - vm(q)) / (2.0 * d * dt), u=u0(q), u_q=u0(q, 1),
                     u_qq=u0(q, 2))


class JetReplicates:
    r""":func:`nelson_jet` for the whole ensemble and for every delete-a-group jackknife replicate (group of
    trajectory i = i mod G), fast: the normal equations :math:`X^TX`, :math:`X^Ty` are summed per group once,
    a replicate solves the small system with its group subtracted, and evaluation is a product with designs
    precomputed at the points :math:`Q_0` (all N points; the caller averages over the replicate's points)."""

    def __init__(self, Q: Sequence[np.ndarray], dt: float, degree: int, standardise: Sequence[tuple[float, float]],
                 groups: int, time_lags: int = 2, targets: Targets = richardson_targets) -> None:
        d = _check_jet_args(Q, standardise, time_lags)
        M = 2 + d
        n = Q[M].size
        if groups < 2 or groups > n:
            raise InvalidArgument(f"groups must be in 2..N = {n}, got {groups}")
        self.groups, self.dt, self.d, self.q = groups, dt, d, Q[M]
        self.group_of = np.arange(n) % groups
        self._normal: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._eval: dict[int, np.ndarray] = {}
        pw = np.arange(degree + 1)
        for c in (M - d, M, M + d):
            a, ell = standardise[c]
            X = _design(Q[c], a, ell, degree)
            Y = targets(Q, dt, c)
            XtX = np.einsum("gni,gnj->gij", *(2 * [_by_group(X, groups)]))
            XtY = np.einsum("gni,gnk->gik", _by_group(X, groups), _by_group(Y, groups))
            self._normal[c] = (XtX, XtY)
            self._eval[c] = _design(self.q, a, ell, degree)  # basis of centre c at the points Q_M
        a, ell = standardise[M]
        z = (self.q - a) / ell
        # derivative designs d/dq z^j = j z^(j-1)/ell, d2/dq2 = j (j-1) z^(j-2)/ell^2
        self._d1 = np.where(pw > 0, pw * _safe_pow(z, pw - 1), 0.0) / ell
        self._d2 = np.where(pw > 1, pw * (pw - 1) * _safe_pow(z, pw - 2), 0.0) / ell ** 2
        self.M = M

    def _coef(self, c: int, group: int | None) -> np.ndarray:
        XtX, XtY = self._normal[c]
        A, B = XtX.sum(axis=0), XtY.sum(axis=0)
        if group is not None:
            A, B = A - XtX[group], B - XtY[group]
        return np.linalg.solve(A, B)  # (p, 2): columns v, u

    def jet(self, group: int | None = None) -> NelsonJet:
        """The jet fitted without trajectory group ``group`` (None: all), evaluated at every point."""
        M, d = self.M, self.d
        c0 = self._coef(M, group)
        cm, cp = self._coef(M - d, group), self._coef(M + d, group)
        vu = self._eval[M] @ c0
        vu_q = self._d1 @ c0
        v_t = (self._eval[M + d] @ cp[:, 0] - self._eval[M - d] @ cm[:, 0]) / (2.0 * d * self.dt)
        return NelsonJet(q=self.q, v=vu[:, 0], v_q=vu_q[:, 0], v_t=v_t, u=vu[:, 1], u_q=vu_q[:, 1],
                         u_qq=self._d2 @ c0[:, 1])

    def mean(self, A: np.ndarray, group: int | None = None) -> np.ndarray:
        """Mean over the last axis of ``A`` restricted to the replicate's points (all but ``group``; the group
        of point i is i mod G, a strided view)."""
        n = A.shape[-1]
        total = A.sum(axis=-1)
        if group is None:
            return total / n
        part = A[..., group::self.groups]
        return (total - part.sum(axis=-1)) / (n - part.shape[-1])


class ScoreReplicates:
    r"""The score :math:`\lambda' = \partial_q\ln p` of the ensemble's density and its q-derivatives, by
    Hyvarinen score matching on polynomials, for the whole ensemble and every delete-a-group jackknife replicate.

    With :math:`\lambda_\theta = \sum_{j=1}^{d}\theta_j He_j(z)`, :math:`z = (q - a)/\ell` (probabilists' Hermite
    polynomials, for conditioning; :math:`He_j' = j He_{j-1}`), the objective
    :math:`J(\theta) = E[\tfrac12\lambda_\theta'^2 + \lambda_\theta'']` equals
    :math:`\tfrac12 E[(\lambda_\theta' - \lambda')^2]` up to a constant (integration by parts, p decaying), so its
    minimiser recovers :math:`\ln p` whenever the family holds it (a Gaussian: d >= 2) and is its best
    approximation otherwise. The minimiser solves :math:`E[\psi'\psi'^T]\,\theta = -E[\psi'']`: only ensemble
    averages, no density estimate and no differentiated noise. Sums are kept per group (trajectory i in group
    i mod G), so a replicate is one small solve.

    >>> rng = np.random.default_rng(0)
    >>> sr = ScoreReplicates(1.0 + 0.5 * rng.standard_normal(200000), 4, (1.0, 0.5), 10)
    >>> round(float(np.median(sr.jet()["lambda_q"])), 1)   # -1/sigma^2 for a Gaussian
    -4.0
    """

    def __init__(self, q: np.ndarray, degree: int, standardise: tuple[float, float], groups: int) -> None:
        n = q.size
        if groups < 2 or groups > n:
            raise InvalidArgument(f"groups must be in 2..N = {n}, got {groups}")
        if degree < 2:
            raise InvalidArgument(f"score matching needs degree >= 2, got {degree}")
        a, ell = standardise
        He = np.polynomial.hermite_e.hermevander((q - a) / ell, degree)  # He_0 .. He_degree
        j = np.arange(1, degree + 1)

        def derivative(k: int) -> np.ndarray:  # d^k/dq^k He_j = j!/(j-k)! He_{j-k} / ell^k, zero for j < k
            fall = np.array([math.perm(int(x), k) for x in j], dtype=float)
            cols = np.clip(j - k, 0, None)
            return np.where(j >= k, fall * He[:, cols], 0.0) / ell ** k

        d1, d2, d3 = derivative(1), derivative(2), derivative(3)
        g1 = _by_group(d1, groups)
        self._A = np.einsum("gni,gnj->gij", g1, g1)
        self._b = _by_group(d2, groups).sum(axis=1)
        self._d = (d1, d2, d3)

    def jet(self, group: int | None = None) -> dict[str, np.ndarray]:
        """``lambda``, ``lambda_q``, ``lambda_qq``: the score and its first two q-derivatives at every point,
        fitted without trajectory group ``group`` (None: all); NaN when the normal equations are singular (fewer
        distinct points than the basis needs), which the calibration reports as non-finite, never as a crash."""
        A, b = self._A.sum(axis=0), self._b.sum(axis=0)
        if group is not None:
            A, b = A - self._A[group], b - self._b[group]
        try:
            th = np.linalg.solve(A, -b)
        except np.linalg.LinAlgError:  # a collapsed ensemble: the basis is not identified, the score is undefined
            th = np.full(b.shape, np.nan)
        d1, d2, d3 = self._d
        return {"lambda": d1 @ th, "lambda_q": d2 @ th, "lambda_qq": d3 @ th}


def _safe_pow(z: np.ndarray, k: np.ndarray) -> np.ndarray:
    return z[:, None] ** np.maximum(k, 0)[None, :]


def _by_group(A: np.ndarray, groups: int) -> np.ndarray:
    """Rows of A arranged (group, member, column), group of row i = i mod G; short groups padded with zeros."""
    n = A.shape[0]
    per = -(-n // groups)
    pad = np.zeros((per * groups, A.shape[1]))
    pad[:n] = A
    return pad.reshape(per, groups, A.shape[1]).transpose(1, 0, 2)


def time_derivative_of_mean(values: Sequence[np.ndarray], dt: float) -> np.ndarray:
    r"""Per-sample fourth-order central difference :math:`[8(f_{+1}-f_{-1}) - (f_{+2}-f_{-2})]/(12\Delta)` of
    ``values`` = f(Q_j) for j = -2..2; its mean is :math:`\tfrac{d}{dt}E[f]` with error :math:`O(\Delta^4)`."""
    if len(values) != 5:
        raise InvalidArgument(f"time_derivative_of_mean needs 5 snapshots (j = -2..2), got {len(values)}")
    return (8.0 * (values[3] - values[1]) - (values[4] - values[0])) / (12.0 * dt)


def jackknife(estimator: Callable[[int | None], np.ndarray], groups: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Delete-a-group jackknife: ``estimator(g)`` is the estimate without group g (``estimator(None)``: with all);
    returns (full estimate, standard error) with :math:`SE^2 = \tfrac{G-1}{G}\sum_g(\theta_{(g)} - \bar\theta)^2`.
    It carries the uncertainty of the regressions into the residuals (a plug-in variance would not)."""
    if groups < 2:
        raise InvalidArgument(f"jackknife needs at least 2 groups, got {groups}")
    full = np.asarray(estimator(None), dtype=float)
    reps = np.array([estimator(g) for g in range(groups)], dtype=float)
    se = np.sqrt((groups - 1) / groups * ((reps - reps.mean(axis=0)) ** 2).sum(axis=0))
    return full, se


def jackknife_covariance(estimator: Callable[[int | None], np.ndarray], groups: int) \
        -> tuple[np.ndarray, np.ndarray]:
    r"""As :func:`jackknife`, returning the full estimate and the jackknife covariance matrix
    :math:`\tfrac{G-1}{G}\sum_g(\theta_{(g)} - \bar\theta)(\theta_{(g)} - \bar\theta)^T` (rank at most G - 1)."""
    if groups < 2:
        raise InvalidArgument(f"jackknife needs at least 2 groups, got {groups}")
    full = np.asarray(estimator(None), dtype=float)
    reps = np.array([estimator(g) for g in range(groups)], dtype=float)
    d = reps - reps.mean(axis=0)
    return full, (groups - 1) / groups * d.T @ d


__all__ = ["DriftTable", "GaussianState", "JetReplicates", "NelsonJet", "PolyField", "ScoreReplicates", "Targets",
           "coherent_state", "fit_velocities", "free_packet", "gaussian_drift", "jackknife", "jackknife_covariance",
           "MAX_SUBSTEP_HALVINGS", "STABILITY_BOUND", "nelson_jet", "richardson_targets",
           "simulate", "time_derivative_of_mean"]
