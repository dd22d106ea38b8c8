r"""A recurrent network whose weight matrix is *learned* from data, and the measures of experiment 3 (Lorentz
symmetry from learning, docs/experiments.md): distance of W from the nearest permutation, and the wave-equation
distance of the network's own block-averaged states.

**The world** (:func:`travelling_world`). A ring of N sites with two channels of activity, r moving right and l
moving left by one site per update, each kicked by Gaussian process noise:

.. math:: r(t+1) = (1-\alpha) S r(t) + \alpha r(t) + \sigma_p\xi,\qquad
          l(t+1) = (1-\alpha) S^T l(t) + \alpha l(t) + \sigma_p\xi',

(:math:`(Sr)_i = r_{i-1}`; :math:`\alpha = 0` by default, a *smear* :math:`\alpha > 0` is a planted change that
makes the world's propagator a non-permutation). Initial r, l: stationary Gaussian random fields of unit variance
with periodic squared-exponential correlation :math:`e^{-d^2/2\ell^2}` (d the distance on the ring, in sites).
The network reads y = (r, l) with observation noise :math:`\sigma_o`.

**The learning system** (:func:`train_linear_predictor`). :math:`y(t+1) = W y(t)`, W dense, trained by
mini-batch SGD on :math:`\ell = |y(t+1) - W y(t)|^2/2` with the constant step
:math:`\gamma = 1/(\lambda_{\max}(C) + \operatorname{tr}C/B)` (half the mean-square stability bound of
least-squares SGD), C the second-moment matrix of the inputs.

**Measures.** :func:`permutation_distance`: :math:`d_{perm} = \|W-P^*\|_F/(\|W\|_F+\|P^*\|_F)`,
:math:`P^* = \arg\min_P\|W-P\|_F` over permutation matrices, i.e. the linear assignment maximising
:math:`\sum_i W_{i\pi(i)}` (since :math:`\|W-P\|_F^2 = \|W\|_F^2 + n - 2\langle W,P\rangle`).
:func:`coarse_second_differences` and :func:`wave_distance`: u averaged over space-time boxes of b sites x b
updates, second differences :math:`U_{tt}, U_{xx}` on the coarse grid (steps :math:`b\tau`, :math:`bh`),
:math:`c^2 = \langle U_{tt},U_{xx}\rangle/\langle U_{xx},U_{xx}\rangle` (least squares) and
:math:`d = \|U_{tt}-c^2U_{xx}\|/(\|U_{tt}\|+c^2\|U_{xx}\|)` (RMS norms; in [0, 1] by the triangle inequality).
A Courant-1 shift network gives d = 0 up to rounding: box averages commute with the shift and the discrete
d'Alembertian with equal steps is exact for travelling waves.

>>> import numpy as np
>>> from nnqg.numerics._network import two_population_shift_weights
>>> S2 = two_population_shift_weights(16).toarray()
>>> permutation_distance(S2)["distance"], permutation_distance(S2)["shift_agreement"]
(0.0, 1.0)
>>> y0 = np.r_[np.sin(2 * np.pi * np.arange(16) / 16), np.zeros(16)]
>>> Utt, Uxx, _ = coarse_second_differences(free_run(S2, y0, 16), 16, block=2, tau=1 / 16)
>>> d = wave_distance(Utt, Uxx, lambda c, a, b: a - c**2 * b)
>>> bool(d["distance"] < 1e-12), round(d["c"], 9)
(True, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from nnqg.derivations import InvalidArgument

from ._network import travelling_profiles, two_population_shift_weights

__all__ = ["Trained", "WaveResidual", "coarse_second_differences", "flat_wave_residual", "free_run",
           "free_run_state", "network_measures", "permutation_distance", "random_weights", "ring_field",
           "train_linear_predictor", "travelling_world", "wave_distance"]

#: residual(c, U_tt, U_xx) -> array: the claim's wave operator (a kernel generated from its metric)
WaveResidual = Callable[[float, np.ndarray, np.ndarray], np.ndarray]


def _positive_int(v: object, name: str, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InvalidArgument(f"{name}: must be an integer >= {lo}, got {v!r}")
    return int(v)


def _non_negative(v: object, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not np.isfinite(v) or v < 0:
        raise InvalidArgument(f"{name}: must be a finite number >= 0, got {v!r}")
    return float(v)


def ring_field(rng: np.random.Generator, n_sites: int, ell: float, size: int) -> np.ndarray:
    r"""``size`` independent stationary Gaussian fields on a ring of ``n_sites`` sites, unit variance, correlation
    :math:`e^{-d^2/2\ell^2}` (d the periodic distance in sites): white noise filtered by the square root of the
    correlation's spectrum (its DFT, clipped at 0). Shape (size, n_sites)."""
    n = _positive_int(n_sites, "n_sites", 3)
    if not (isinstance(ell, (int, float)) and ell > 0):
        raise InvalidArgument(f"ell: the correlation length must be a positive number of sites, got {ell!r}")
    d = np.minimum(np.arange(n), n - np.arange(n))
    spec = np.clip(np.fft.fft(np.exp(-d**2 / (2.0 * float(ell) ** 2))).real, 0.0, None)
    white = rng.standard_normal((size, n))
    f = np.fft.ifft(np.fft.fft(white, axis=1) * np.sqrt(spec), axis=1).real
    return f / np.sqrt(np.mean(spec))  # unit variance (mean(spec) = corr(0) = 1 up to the clipping)


def travelling_world(rng: np.random.Generator, n_sites: int, *, n_seq: int, T: int, ell: float,
                     process_noise: float, observation_noise: float = 0.0, smear: float = 0.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The transitions (y(t), y(t+1)) of ``n_seq`` sequences of T updates of the world (module docstring), each
    as a (n_seq T, 2 n_sites) array, sequence-major. Draws, in order: the initial fields, the process noise, the
    observation noise."""
    n = _positive_int(n_sites, "n_sites", 3)
    n_seq, T = _positive_int(n_seq, "n_seq"), _positive_int(T, "T")
    sp, so = _non_negative(process_noise, "process_noise"), _non_negative(observation_noise, "observation_noise")
    a = _non_negative(smear, "smear")
    if a >= 1:
        raise InvalidArgument(f"smear: must be in [0, 1), got {smear!r}")
    states = np.empty((T + 1, n_seq, 2 * n))
    r, l = ring_field(rng, n, ell, n_seq), ring_field(rng, n, ell, n_seq)
    states[0] = np.c_[r, l]
    kicks = rng.standard_normal((T, n_seq, 2 * n))
    for t in range(T):
        r = (1 - a) * np.roll(r, 1, axis=1) + a * r + sp * kicks[t, :, :n]
        l = (1 - a) * np.roll(l, -1, axis=1) + a * l + sp * kicks[t, :, n:]
        states[t + 1] = np.c_[r, l]
    if so > 0:
        states = states + so * rng.standard_normal(states.shape)
    seq = states.transpose(1, 0, 2)  # (n_seq, T + 1, 2n)
    return seq[:, :-1].reshape(-1, 2 * n).copy(), seq[:, 1:].reshape(-1, 2 * n).copy()


def random_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random matrix with i.i.d. N(0, 1/n) entries (spectral radius about 1): the negative control and the
    initial weights of the learning system."""
    n = _positive_int(n, "n", 2)
    return rng.standard_normal((n, n)) / np.sqrt(n)


@dataclass(frozen=True)
class Trained:
    """The result of :func:`train_linear_predictor`: the final weights, snapshots {step: W} and the step size."""

    W: np.ndarray
    snapshots: Mapping[int, np.ndarray]
    gamma: float


def train_linear_predictor(X: np.ndarray, Y: np.ndarray, W0: np.ndarray, rng: np.random.Generator, *,
                           batch_size: int, n_steps: int, snapshots: Sequence[int] = (),
                           gamma: float | None = None) -> Trained:
    r"""Mini-batch SGD on :math:`|y' - Wy|^2/2` over the transitions (X[k], Y[k]): each step draws B indices
    uniformly with replacement and sets :math:`W \leftarrow W - \gamma\,\overline{(Wy - y')y^T}`, with
    :math:`\gamma = 1/(\lambda_{\max}(C) + \operatorname{tr}C/B)`, :math:`C = X^TX/n` (half the mean-square
    stability bound), or the given ``gamma`` (a sweep's step-size axis)."""
    X, Y, W = (np.ascontiguousarray(a, dtype=float) for a in (X, Y, W0))
    if X.ndim != 2 or X.shape != Y.shape or W.shape != (X.shape[1], X.shape[1]):
        raise InvalidArgument(f"X, Y, W0: need X and Y of shape (n, d) and W0 (d, d); got {X.shape}, {Y.shape}, "
                              f"{W.shape}")
    B, n_steps = _positive_int(batch_size, "batch_size"), _positive_int(n_steps, "n_steps", 0)
    if gamma is None:
        C = X.T @ X / X.shape[0]
        gamma = 1.0 / (float(np.linalg.eigvalsh(C)[-1]) + float(np.trace(C)) / B)
    want = set(int(s) for s in snapshots)
    snaps = {0: W.copy()} if 0 in want else {}
    W = W.copy()
    for step in range(1, n_steps + 1):
        idx = rng.integers(0, X.shape[0], B)
        xb = X[idx]
        err = xb @ W.T - Y[idx]
        W -= (gamma / B) * (err.T @ xb)
        if step in want:
            snaps[step] = W.copy()
    return Trained(W=W, snapshots=snaps, gamma=gamma)


def permutation_distance(W: np.ndarray) -> dict[str, float]:
    r"""Distance of W from the nearest permutation matrix (module docstring) and how it relates to the
    two-population shift :math:`\mathrm{diag}(S, S^T)` (W of even size 2N): ``shift_agreement`` is the fraction
    of neurons the nearest permutation maps as the shift does, ``shift_distance`` =
    :math:`\|W - \mathrm{diag}(S,S^T)\|_F/(\|W\|_F + \sqrt{2N})`."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] % 2 or W.shape[0] < 6:
        raise InvalidArgument(f"W: need a square matrix of even size >= 6, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        return {"distance": float("nan"), "shift_agreement": float("nan"), "shift_distance": float("nan")}
    n = W.shape[0]
    rows, cols = linear_sum_assignment(W, maximize=True)
    P = np.zeros_like(W)
    P[rows, cols] = 1.0
    norm_w = float(np.linalg.norm(W))
    shift = two_population_shift_weights(n // 2)
    return {"distance": float(np.linalg.norm(W - P) / (norm_w + np.sqrt(n))),
            "shift_agreement": float(np.mean(cols[np.argsort(rows)] == shift.indices)),
            "shift_distance": float(np.linalg.norm(W - shift.toarray()) / (norm_w + np.sqrt(n)))}


def free_run(W: np.ndarray, y0: np.ndarray, steps: int) -> np.ndarray:
    """States y(0..steps) of y(t+1) = W y(t), shape (steps + 1, n); stops early (rows of NaN) if a state overflows."""
    W = np.asarray(W, dtype=float)
    y = np.asarray(y0, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or y.shape != (W.shape[0],):
        raise InvalidArgument(f"W, y0: need a square W and a state of its size; got {W.shape}, {y.shape}")
    out = np.full((_positive_int(steps, "steps", 0) + 1, y.size), np.nan)
    out[0] = y
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            y = W @ y
            if not np.all(np.isfinite(y)):
                break
            out[k] = y
    return out


def coarse_second_differences(Y: np.ndarray, n_sites: int, *, block: int, tau: float
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""From states Y[t, :] of 2 ``n_sites`` neurons (two groups), u = first group + second group, averaged over
    space-time boxes of ``block`` sites x ``block`` updates (the leading updates that fill whole boxes); returns
    (U_tt, U_xx, U) on the coarse grid: central second differences with time step ``block tau`` at interior
    coarse times and space step ``block / n_sites`` (periodic)."""
    Y = np.asarray(Y, dtype=float)
    b, n = _positive_int(block, "block"), _positive_int(n_sites, "n_sites", 3)
    if Y.ndim != 2 or Y.shape[1] != 2 * n or n % b:
        raise InvalidArgument(f"Y, block: need states of shape (steps + 1, {2 * n}) with block dividing {n}; got "
                              f"{Y.shape}, block={block!r}")
    m = Y.shape[0] // b
    if m < 3:
        raise InvalidArgument(f"Y: {Y.shape[0]} states give {m} coarse times; the second difference needs >= 3 "
                              f"(run >= {3 * b - 1} updates)")
    u = Y[: m * b, :n] + Y[: m * b, n:]
    U = u.reshape(m, b, n // b, b).mean(axis=(1, 3))
    dt, dx = b * float(tau), b / n
    Utt = (U[2:] - 2 * U[1:-1] + U[:-2]) / dt**2
    Uxx = ((np.roll(U, -1, axis=1) - 2 * U + np.roll(U, 1, axis=1)) / dx**2)[1:-1]
    return Utt, Uxx, U


def wave_distance(Utt: np.ndarray, Uxx: np.ndarray, residual: WaveResidual) -> dict[str, float]:
    r""":math:`c^2` by least squares and the relative distance of (U_tt, U_xx) from the wave equation (module
    docstring); ``residual(c, U_tt, U_xx)`` evaluates the claim's wave operator. Non-finite input (a network whose
    states overflowed) gives NaN, reported as such. Returns distance, c (NaN when c^2 <= 0), c2."""
    a, b = np.asarray(Utt, dtype=float).ravel(), np.asarray(Uxx, dtype=float).ravel()
    nan = float("nan")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or not np.any(b):
        return {"distance": nan, "c": nan, "c2": nan}
    c2 = float(a @ b / (b @ b))
    c = float(np.sqrt(c2)) if c2 > 0 else nan
    if not np.isfinite(c):  # no real speed: the terms cannot balance
        return {"distance": 1.0, "c": nan, "c2": c2}
    rho = np.asarray(residual(c, a, b), dtype=float)
    rms = lambda v: float(np.sqrt(np.mean(v**2)))  # noqa: E731
    scale = rms(a) + c2 * rms(b)
    return {"distance": rms(rho) / scale if scale > 0 else nan, "c": c, "c2": c2}


def flat_wave_residual(c: float, Utt: np.ndarray, Uxx: np.ndarray) -> np.ndarray:
    r"""The wave operator of the flat metric :math:`-c^2dt^2 + dx^2`, :math:`U_{tt} - c^2U_{xx}` (the claim's
    generated kernel for its default metric is this operator; the sweep, which has no claim inputs, uses it)."""
    return Utt - c**2 * Uxx


def free_run_state(n: int) -> np.ndarray:
    """The smooth test state of 2n neurons: the right- and left-moving profiles of
    :func:`nnqg.numerics._network.travelling_profiles` on n sites."""
    r0, l0 = travelling_profiles(np.arange(n) / n)
    return np.r_[r0, l0]


def network_measures(W: np.ndarray, n: int, block: int, residual: WaveResidual = flat_wave_residual
                     ) -> dict[str, float]:
    """Both distances of one weight matrix on 2n neurons: the wave distance of its free run from the smooth test
    state (:func:`nnqg.numerics._network.travelling_profiles`) over n/2 updates rounded down to whole boxes, with
    the fitted speed and the free run's gain per update (|y(T)| / |y(0)|)^(1/T), and the permutation distances."""
    steps = block * ((n // 2) // block)
    Y = free_run(W, free_run_state(n), steps)
    Utt, Uxx, _ = coarse_second_differences(Y, n, block=block, tau=1.0 / n)
    wave = wave_distance(Utt, Uxx, residual)
    perm = permutation_distance(W)
    return {"d_wave": wave["distance"], "c": wave["c"], "d_perm": perm["distance"],
            "shift_agreement": perm["shift_agreement"], "shift_distance": perm["shift_distance"],
            "gain_per_update": float((np.linalg.norm(Y[-1]) / np.linalg.norm(Y[0])) ** (1.0 / steps))}
