r"""A network whose position-dependent couplings are *learned* from propagation data, the speed profile read
off its weights, and the measures of experiment 4 (docs/experiments.md): local propagation speed and packet
centroids of the network's own dynamics against the metric built from the learned c(x).

**The world** (:func:`string_world`). A string on the ring [0, 1) with
:math:`u_{tt} = c_w\,\partial_x(c_w\,\partial_x u)` (the wave equation of :math:`-c_w^2dt^2 + dx^2`), solved by
its own method: Fourier pseudo-spectral derivatives on M = ``refine`` N points and classical RK4 in time (step
:math:`\tau/m`, m the smallest integer with :math:`c_{\max}k_{\max}\tau/m \le 2.5`, inside RK4's stability
interval on the imaginary axis, :math:`2\sqrt2`). Initial u and :math:`u_t`: independent Gaussian random fields
(:func:`nnqg.numerics._learned_network.ring_field`) of correlation length :math:`\ell` sensor spacings,
:math:`u_t` scaled by :math:`c_{\max}/(\ell h)`. Sensors at every ``refine``-th point (N of them, spacing
h = 1/N) every :math:`\tau`, with Gaussian observation noise :math:`\sigma_o`.

**The learning system** (:func:`train_couplings`). The coupled network of :mod:`nnqg.numerics._network`,
:math:`x_i(t+1) = 2x_i(t) - x_i(t-1) + w^+_i(x_{i+1}-x_i) - w^-_i(x_i-x_{i-1})`, with the 2N weights
:math:`w^\pm_i` trained by mini-batch SGD on :math:`\ell = |x(t+1) - \text{prediction}|^2/2` over observed
triples; constant step :math:`\gamma = \min_i 1/(\lambda_{\max}(C_i) + \operatorname{tr}C_i/B)`, :math:`C_i` the
second-moment matrix of site i's features :math:`(x_{i+1}-x_i,\ -(x_i-x_{i-1}))`.

**Read-off** (:func:`read_speed`). For :math:`w^\pm_i = (\tau/h)^2c_ic_{i\pm1/2}`,
:math:`w^+_iw^-_{i+1} = (\tau/h)^4c_ic_{i+1}c_{i+1/2}^2`, so
:math:`c_{i+1/2} \approx (h/\tau)(w^+_iw^-_{i+1})^{1/4}` (exact up to :math:`O(h^2)` for smooth c); a periodic
cubic spline through these values is the learned :math:`c_l(x)`. The null geodesics of
:math:`-c_l^2dt^2 + dx^2` are the rays :math:`dx/dt = \pm c_l(x)` (:func:`null_ray`, by inverting the optical
coordinate).

>>> import numpy as np
>>> n = 64; xs = np.arange(n) / n; h = 1 / n; tau = 0.8 * h / 1.3
>>> c = lambda x: 1 + 0.3 * np.sin(2 * np.pi * x)
>>> wp, wm = hand_set_couplings(c, n, tau)
>>> c_l = read_speed(wp, wm, tau)
>>> bool(np.max(np.abs(c_l(xs) / c(xs) - 1)) < 1e-3)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.interpolate import CubicSpline

from nnqg.derivations import InvalidArgument

from ._learned_network import ring_field
from ._network import advance, local_weights, simulate

__all__ = ["PROBES", "Speed", "Trained", "arrival_speed_distance", "centroid_distance", "hand_set_couplings",
           "learned_distance", "null_ray", "optical_coordinate", "read_speed", "string_evolve", "string_world",
           "train_couplings", "triples"]

Speed = Callable[[np.ndarray], np.ndarray]
#: probe positions of the local-speed measure (docs/experiments.md section 4)
PROBES = tuple(np.round(np.arange(0.35, 0.8001, 0.05), 10))


def _n(n: object, name: str = "n_sensors") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8:
        raise InvalidArgument(f"{name}: must be an integer >= 8, got {n!r}")
    return int(n)


def string_world(rng: np.random.Generator, n_sensors: int, c_world: Speed, *, n_seq: int, T: int, ell: float,
                 tau: float, observation_noise: float = 0.0, refine: int = 4) -> np.ndarray:
    """Observations (n_seq, T, n_sensors) of the world (module docstring); draws, in order: initial u, initial
    u_t, observation noise."""
    n = _n(n_sensors)
    if not (isinstance(refine, int) and refine >= 1) or not (tau > 0) or n_seq < 1 or T < 3:
        raise InvalidArgument(f"refine, tau, n_seq, T: need an integer refine >= 1, tau > 0, n_seq >= 1, T >= 3; "
                              f"got {refine!r}, {tau!r}, {n_seq!r}, {T!r}")
    M = refine * n
    xf = np.arange(M) / M
    c = np.asarray(c_world(xf), dtype=float)
    if c.shape != (M,) or not (np.all(np.isfinite(c)) and np.all(c > 0)):
        raise InvalidArgument("c_world: the world's speed must be finite and positive on the ring")
    u = ring_field(rng, M, ell * refine, n_seq)
    v = ring_field(rng, M, ell * refine, n_seq) * c.max() / (ell / n)
    out = np.ascontiguousarray(string_evolve(u, v, c, tau, T)[:, :, ::refine])
    if observation_noise:
        out = out + float(observation_noise) * rng.standard_normal(out.shape)
    return out


def string_evolve(u: np.ndarray, v: np.ndarray, c: np.ndarray, tau: float, T: int) -> np.ndarray:
    r"""u at times 0, tau, ..., (T-1) tau of :math:`u_{tt} = c\,\partial_x(c\,\partial_xu)` on the ring from
    (u, u_t) = (``u``, ``v``), arrays (n_seq, M) on M equispaced points, ``c`` the speed at those points (module
    docstring: Fourier derivatives, RK4 with m substeps per tau). Returns (n_seq, T, M)."""
    u, v = np.atleast_2d(np.asarray(u, dtype=float)), np.atleast_2d(np.asarray(v, dtype=float))
    M = u.shape[1]
    ik = 2j * np.pi * np.fft.rfftfreq(M, 1.0 / M)

    def dx(f: np.ndarray) -> np.ndarray:
        return np.fft.irfft(ik * np.fft.rfft(f, axis=1), n=M, axis=1)

    def rhs(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return v, c * dx(c * dx(u))

    m = max(1, math.ceil(float(np.max(c)) * np.pi * M * tau / 2.5))
    dt = tau / m
    out = np.empty((u.shape[0], T, M))
    for t in range(T):
        out[:, t] = u
        for _ in range(m):
            k1 = rhs(u, v)
            k2 = rhs(u + 0.5 * dt * k1[0], v + 0.5 * dt * k1[1])
            k3 = rhs(u + 0.5 * dt * k2[0], v + 0.5 * dt * k2[1])
            k4 = rhs(u + dt * k3[0], v + dt * k3[1])
            u = u + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            v = v + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return out


def triples(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x(t-1), x(t), x(t+1)) of every sequence, stacked: three arrays (n_seq (T - 2), N)."""
    obs = np.asarray(obs, dtype=float)
    N = obs.shape[-1]
    return (obs[:, :-2].reshape(-1, N), obs[:, 1:-1].reshape(-1, N), obs[:, 2:].reshape(-1, N))


@dataclass(frozen=True)
class Trained:
    """The learned couplings (w+, w-), snapshots {step: (w+, w-)} and the SGD step size."""

    wp: np.ndarray
    wm: np.ndarray
    snapshots: Mapping[int, tuple[np.ndarray, np.ndarray]]
    gamma: float


def train_couplings(obs: np.ndarray, rng: np.random.Generator, *, batch_size: int, n_steps: int, w0: float,
                    snapshots: Sequence[int] = (), train_left: bool = True, gamma: float | None = None
                    ) -> Trained:
    r"""Mini-batch SGD of the 2N local weights on the observed triples (module docstring): per step B triples
    drawn uniformly with replacement; with :math:`z = x(t+1) - 2x(t) + x(t-1)`, :math:`d^\pm` the right and left
    differences and :math:`e = w^+d^+ - w^-d^- - z`, :math:`w^+ \leftarrow w^+ - \gamma\overline{e\,d^+}`,
    :math:`w^- \leftarrow w^- + \gamma\overline{e\,d^-}`. ``train_left=False`` freezes :math:`w^-` at ``w0`` (a
    planted change: a learner that adapts only its right-hand couplings). ``gamma`` replaces the step-size rule
    of the module docstring (a sweep's step-size axis)."""
    xm, x0, xp = triples(obs)
    z = xp - 2 * x0 + xm
    dp = np.roll(x0, -1, axis=1) - x0
    dm = x0 - np.roll(x0, 1, axis=1)
    B = int(batch_size)
    if B < 1 or n_steps < 0:
        raise InvalidArgument(f"batch_size, n_steps: need B >= 1 and n_steps >= 0, got {batch_size!r}, {n_steps!r}")
    a, b, cc = (dp**2).mean(0), (dm**2).mean(0), (-dp * dm).mean(0)
    lam = 0.5 * (a + b) + np.sqrt(0.25 * (a - b) ** 2 + cc**2)
    gamma = float(np.min(1.0 / (lam + (a + b) / B))) if gamma is None else float(gamma)
    N = x0.shape[1]
    wp, wm = np.full(N, float(w0)), np.full(N, float(w0))
    want = set(int(s) for s in snapshots)
    snaps = {0: (wp.copy(), wm.copy())} if 0 in want else {}
    for step in range(1, int(n_steps) + 1):
        idx = rng.integers(0, z.shape[0], B)
        e = wp * dp[idx] - wm * dm[idx] - z[idx]
        wp = wp - gamma * (e * dp[idx]).mean(0)
        if train_left:
            wm = wm + gamma * (e * dm[idx]).mean(0)
        if step in want:
            snaps[step] = (wp.copy(), wm.copy())
    return Trained(wp=wp, wm=wm, snapshots=snaps, gamma=gamma)


def hand_set_couplings(c: Speed, n: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`w^\pm_i = (\tau/h)^2c(x_i)c(x_i \pm h/2)` (the calibration's network) from a known c."""
    h = 1.0 / _n(n, "n")
    xs = np.arange(n) * h
    r2 = (tau / h) ** 2
    cn = np.asarray(c(xs), dtype=float)
    return r2 * cn * np.asarray(c(xs + h / 2)), r2 * cn * np.asarray(c(xs - h / 2))


def read_speed(wp: np.ndarray, wm: np.ndarray, tau: float) -> Speed | None:
    r"""The learned :math:`c_l(x)`: a periodic cubic spline through
    :math:`c_{i+1/2} = (h/\tau)(w^+_iw^-_{i+1})^{1/4}` at :math:`x_i + h/2`; None when a product is not positive
    or not finite (no real speed can be read off)."""
    wp, wm = np.asarray(wp, dtype=float), np.asarray(wm, dtype=float)
    n = _n(wp.size, "wp")
    prod = wp * np.roll(wm, -1)
    if not (np.all(np.isfinite(prod)) and np.all(prod > 0)):
        return None
    h = 1.0 / n
    c_half = (h / tau) * prod**0.25
    x = (np.arange(n + 1) + 0.5) * h
    spline = CubicSpline(x, np.r_[c_half, c_half[0]], bc_type="periodic")
    return lambda xs: spline(np.mod(np.asarray(xs, dtype=float) - 0.5 * h, 1.0) + 0.5 * h)


def _slowness(c: Speed, samples: int = 4096) -> CubicSpline:
    """A periodic cubic spline of 1/c on ``samples`` points of the ring."""
    xs = np.arange(samples + 1) / samples
    inv = 1.0 / np.asarray(c(xs), dtype=float)
    inv[-1] = inv[0]
    return CubicSpline(xs, inv, bc_type="periodic")


def optical_coordinate(c: Speed, samples: int = 4096) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    r""":math:`s(x) = \int_0^x dx'/c(x')` (the antiderivative of a periodic cubic spline of 1/c on ``samples``
    points, extended periodically) and the optical length of the ring."""
    S = _slowness(c, samples).antiderivative()
    total = float(S(1.0))
    return (lambda x: S(np.mod(x, 1.0)) + total * np.floor(x)), total


def _pulse(s_of: Callable[[np.ndarray], np.ndarray], total: float, xs: np.ndarray, x0: float, width: float,
           shift: float) -> np.ndarray:
    d = s_of(xs) - s_of(np.array([x0]))[0] + shift
    d = (d + total / 2) % total - total / 2
    return np.exp(-d**2 / (2 * width**2))


def _launch(c_read: Speed, n: int, tau: float, x0: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """A right-moving Gaussian in the optical coordinate of ``c_read``: the state (x(0), x(-tau))."""
    s_of, total = optical_coordinate(c_read)
    xs = np.arange(n) / n
    return np.r_[_pulse(s_of, total, xs, x0, width, 0.0), _pulse(s_of, total, xs, x0, width, tau)], xs


def null_ray(c: Speed, x0: float, times: np.ndarray) -> np.ndarray:
    r"""x(t) on the right-moving null geodesic of :math:`-c^2dt^2 + dx^2` from x0. The ray
    :math:`dx/dt = c(x)` has :math:`t = s(x) - s(x_0)`, s the optical coordinate (:func:`optical_coordinate`),
    so :math:`x(t) = s^{-1}(s(x_0) + t)`: s is increasing, inverted by linear interpolation on 4096 points per
    period and three Newton steps :math:`x \leftarrow x - (s(x) - s_*)/s'(x)` (converged to rounding; the
    same curve as DOP853 at rtol 1e-11, 20x faster on rough speed profiles)."""
    inv = _slowness(c)
    S = inv.antiderivative()
    total = float(S(1.0))
    target = float(S(np.mod(x0, 1.0))) + total * math.floor(x0) + np.asarray(times, dtype=float)
    if not (total > 0 and np.all(np.isfinite(target))):
        return np.full(np.shape(times), np.nan)
    periods = int(np.ceil(np.max(np.abs(target)) / total)) + 1
    grid = np.arange(-periods * 4096, periods * 4096 + 1) / 4096
    s_grid = S(np.mod(grid, 1.0)) + total * np.floor(grid)
    x = np.interp(target, s_grid, grid)
    for _ in range(3):
        x = x - (S(np.mod(x, 1.0)) + total * np.floor(x) - target) / inv(np.mod(x, 1.0))
    return x


def arrival_speed_distance(wp: np.ndarray, wm: np.ndarray, c_read: Speed, tau: float, *, x0: float,
                           width: float, probes: np.ndarray) -> dict[str, float]:
    r"""Local speed of the network (w+, w-) against :math:`c_{read}`: a right-moving pulse of optical width
    ``width`` (optical coordinate of :math:`c_{read}`) from ``x0``; arrival time at each probe neuron = the
    time-centroid of :math:`x_p(t)^2` (probe neuron = the nearest neuron to each position in ``probes``); distance
    = max over neighbouring probes of :math:`|(\Delta x/\Delta T) / (\Delta x/\int dx/c_{read}) - 1|`."""
    n = _n(np.asarray(wp).size, "wp")
    y, _ = _launch(c_read, n, tau, x0, width)
    s_of, _ = optical_coordinate(c_read)
    probes = np.asarray(probes, dtype=float)
    idx = np.round(probes * n).astype(int)
    t_end = float(s_of(np.array([probes[-1]]))[0] - s_of(np.array([x0]))[0]) + 7 * width
    rec = simulate(local_weights(wp, wm), y, int(np.ceil(t_end / tau)), record=idx)
    if not np.all(np.isfinite(rec)):
        return {"distance": float("nan")}
    tt = np.arange(rec.shape[0]) * tau
    w2 = rec**2
    arrival = (w2 * tt[:, None]).sum(0) / w2.sum(0)
    predicted_dt = np.diff(s_of(idx / n))  # optical distances between the probe *neurons*
    ratio = predicted_dt / np.diff(arrival)  # measured speed / predicted speed
    return {"distance": float(np.max(np.abs(ratio - 1)))}


def centroid_distance(wp: np.ndarray, wm: np.ndarray, c_read: Speed, tau: float, *, x0: float, width: float,
                      duration: float, marks: int = 31) -> dict[str, float]:
    r"""Packet centroid of the network (w+, w-) against the null ray of :math:`-c_{read}^2dt^2 + dx^2`: a
    right-moving packet of optical width ``width`` from ``x0``; centroid :math:`\sum_ix_i\phi_i^2/\sum\phi_i^2`
    (minimum image about the peak) at ``marks`` times in [0, duration]; distance =
    :math:`\max_t|\bar x - x_{geo}|` / (distance the geodesic travels)."""
    n = _n(np.asarray(wp).size, "wp")
    W = local_weights(wp, wm)
    y, xs = _launch(c_read, n, tau, x0, width)
    total_steps = int(round(duration / tau))
    ks = np.unique(np.linspace(0, total_steps, marks).round().astype(int))
    cents, done = [], 0
    for k in ks:
        y = advance(W, y, int(k - done))
        done = int(k)
        w2 = y[:n] ** 2
        if not np.all(np.isfinite(w2)) or w2.sum() == 0:
            return {"distance": float("nan"), "max_error": float("nan"), "travelled": float("nan")}
        ref = xs[int(np.argmax(w2))]
        dx = (xs - ref + 0.5) % 1.0 - 0.5
        cents.append(ref + float((dx * w2).sum() / w2.sum()))
    geo = null_ray(c_read, x0, ks * tau)
    err = np.abs(np.unwrap(np.array(cents), period=1.0) - geo)
    travelled = float(geo[-1] - geo[0])
    return {"distance": float(err.max() / travelled), "max_error": float(err.max()), "travelled": travelled}


def learned_distance(measure: Callable[..., dict[str, float]], wp: np.ndarray, wm: np.ndarray,
                     c_from: tuple[np.ndarray, np.ndarray], tau: float) -> float:
    """The measure ``measure(wp, wm, c, tau)`` (:func:`arrival_speed_distance` or :func:`centroid_distance` with
    their settings bound) of network (wp, wm) against the speed read off the couplings ``c_from``; NaN when no real
    speed can be read off (the product of couplings is not positive somewhere)."""
    c = read_speed(*c_from, tau)
    return float("nan") if c is None else measure(wp, wm, c, tau)["distance"]
