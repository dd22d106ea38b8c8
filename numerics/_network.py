r"""Network simulators of neuron states (docs/theory.md, sections 5-7).

The model. Neurons sit on a ring of length :math:`\ell` (N sites, spacing :math:`h = \ell/N`); the state vector
is updated by the activation dynamics

.. math:: y(t+1) = f(W\,y(t) + b),

with f the identity and b = 0 (the linear regime of the activation; a general ``activation`` and ``bias`` may be
passed, and a non-linear f breaks the wave equation, which is the point of the check). Two weight matrices:

* **Shift (permutation) network** (:func:`two_population_shift_weights`): two populations of N neurons each,
  R (right-movers) and L (left-movers), :math:`W = \mathrm{diag}(S, S^T)` with the cyclic shift
  :math:`(S r)_i = r_{i-1}`. W is a permutation matrix. The population sum :math:`u = R + L` obeys, exactly,
  :math:`u(t+1) + u(t-1) = (S + S^T)\,u(t)`, the discrete d'Alembertian with Courant number 1; its block averages
  (averaged states of blocks of b neurons) satisfy the continuum wave equation
  :math:`u_{tt} - c^2 u_{xx} = 0` with :math:`c = h/\tau` (τ = duration of one update) up to the discretisation
  error of the coarse-grained field, :math:`O(h^2)`.
* **Coupled (leapfrog) network** (:func:`coupled_weights`): N neurons with a one-step memory,
  :math:`y = (x(t), x(t-1))`, :math:`W = \begin{pmatrix} 2I - A & -I \\ I & 0 \end{pmatrix}` where A is the
  coupling matrix :math:`(A x)_i = -w^+_i (x_{i+1} - x_i) + w^-_i (x_i - x_{i-1})`, local weights
  :math:`w^\pm_i = (\tau/h)^2 c_i\,c_{i\pm1/2}`. With uniform c and Courant number :math:`c\tau/h = 1` this is
  the same dynamics as the shift network (:math:`2I - A = S + S^T`); with position-dependent :math:`c(x)` its
  continuum limit is :math:`x_{tt} = c\,\partial_x(c\,\partial_x x)`, the wave equation of the optical metric
  :math:`ds^2 = -c(x)^2dt^2 + dx^2` (derived symbolically in :mod:`nnqg.derivations._lorentz`).

The simulators only iterate the update rule; no PDE solver is involved.

>>> import numpy as np
>>> W = two_population_shift_weights(8)
>>> is_permutation(W)
True
>>> y = simulate(W, np.r_[np.eye(8)[0], np.zeros(8)], 3)
>>> int(np.argmax(y[-1, :8]))  # a right-mover moved three neurons
3
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sps

from nnqg.derivations import InvalidArgument

Activation = Callable[[np.ndarray], np.ndarray]


def _check_n(n: object, what: str = "N") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise InvalidArgument(f"{what}: the number of neurons must be an integer >= 3, got {n!r}")
    return int(n)


def shift_matrix(n: int, k: int = 1) -> sps.csr_matrix:
    r"""The cyclic shift permutation :math:`(S x)_i = x_{i-k}` on n neurons."""
    n = _check_n(n)
    rows = np.arange(n)
    return sps.csr_matrix((np.ones(n), (rows, (rows - k) % n)), shape=(n, n))


def two_population_shift_weights(n: int) -> sps.csr_matrix:
    r""":math:`W = \mathrm{diag}(S, S^T)` on 2n neurons: right-movers (first n) and left-movers (last n)."""
    S = shift_matrix(n)
    return sps.block_diag((S, S.T), format="csr")


def is_permutation(W: sps.spmatrix | np.ndarray) -> bool:
    """True iff W is square with exactly one entry 1 in every row and column and zeros elsewhere."""
    M = sps.csr_matrix(W)
    if M.shape[0] != M.shape[1]:
        return False
    M.eliminate_zeros()
    if not np.all(M.data == 1.0):
        return False
    return bool(np.all(np.diff(M.indptr) == 1) and np.all(np.bincount(M.indices, minlength=M.shape[1]) == 1))


def coupled_weights(c_nodes: np.ndarray, c_half: np.ndarray, h: float, tau: float,
                    scheme: str = "geometric") -> sps.csr_matrix:
    r"""Weight matrix of the coupled (leapfrog) network on the ring (module docstring).

    ``c_nodes[i]`` :math:`= c(x_i)`, ``c_half[i]`` :math:`= c(x_i + h/2)` (so :math:`c_{i-1/2}` is
    ``c_half[i-1]``); returns the :math:`2N\times 2N` matrix acting on :math:`(x(t), x(t-1))`.
    ``scheme="geometric"``: :math:`w^\pm_i = (\tau/h)^2 c_i c_{i\pm1/2}` (continuum limit
    :math:`x_{tt} = c\,\partial_x(c\,\partial_x x)`); ``"flux"``: :math:`w^\pm_i = (\tau/h)^2 c_{i\pm1/2}^2`, whose
    limit is :math:`x_{tt} = \partial_x(c^2\partial_x x)`, a different equation (kept as a planted error).
    """
    c_nodes = np.asarray(c_nodes, dtype=float)
    c_half = np.asarray(c_half, dtype=float)
    n = _check_n(c_nodes.size, "c_nodes")
    if c_half.shape != c_nodes.shape:
        raise InvalidArgument(f"c_half: expected {c_nodes.shape}, got {c_half.shape}")
    if not (np.all(np.isfinite(c_nodes)) and np.all(np.isfinite(c_half))):
        raise InvalidArgument("c_nodes/c_half: the local speeds must be finite")
    if not (h > 0 and tau > 0):
        raise InvalidArgument(f"h, tau: must be positive, got h={h!r}, tau={tau!r}")
    if scheme not in ("geometric", "flux"):
        raise InvalidArgument(f"scheme: expected 'geometric' or 'flux', got {scheme!r}")
    r2 = (tau / h) ** 2
    c_left = np.roll(c_half, 1)                  # c_(i-1/2)
    if scheme == "geometric":
        wp, wm = r2 * c_nodes * c_half, r2 * c_nodes * c_left   # couplings to the right and left neighbours
    else:
        wp, wm = r2 * c_half**2, r2 * c_left**2
    i = np.arange(n)
    top = sps.csr_matrix((np.r_[2.0 - wp - wm, wp, wm], (np.r_[i, i, i], np.r_[i, (i + 1) % n, (i - 1) % n])),
                         shape=(n, n))
    eye = sps.identity(n, format="csr")
    return sps.bmat([[top, -eye], [eye, None]], format="csr")


def local_weights(wp: np.ndarray, wm: np.ndarray) -> sps.csr_matrix:
    r"""Weight matrix of the coupled network with arbitrary local weights, acting on :math:`(x(t), x(t-1))`:
    :math:`x_i(t+1) = 2x_i(t) - x_i(t-1) + w^+_i(x_{i+1}-x_i) - w^-_i(x_i-x_{i-1})` (``wp``, ``wm`` of length N,
    periodic). :func:`coupled_weights` is the case :math:`w^\pm_i = (\tau/h)^2c_ic_{i\pm1/2}`."""
    wp, wm = np.asarray(wp, dtype=float), np.asarray(wm, dtype=float)
    n = _check_n(wp.size, "wp")
    if wp.shape != (n,) or wm.shape != (n,):
        raise InvalidArgument(f"wp, wm: need two vectors of one length, got {wp.shape}, {wm.shape}")
    i = np.arange(n)
    top = sps.csr_matrix((np.r_[2.0 - wp - wm, wp, wm], (np.r_[i, i, i], np.r_[i, (i + 1) % n, (i - 1) % n])),
                         shape=(n, n))
    eye = sps.identity(n, format="csr")
    return sps.bmat([[top, -eye], [eye, None]], format="csr")


def simulate(W: sps.spmatrix | np.ndarray, y0: np.ndarray, steps: int, *, bias: np.ndarray | None = None,
             activation: Activation | None = None, record: np.ndarray | None = None) -> np.ndarray:
    r"""Iterate :math:`y(t+1) = f(W y(t) + b)` ``steps`` times from ``y0``.

    Returns the states at t = 0..steps, shape ``(steps+1, n)``, or only the neurons listed in ``record``
    (shape ``(steps+1, len(record))``) to keep memory small for long runs.
    """
    W = sps.csr_matrix(W)
    y = np.asarray(y0, dtype=float).copy()
    if W.shape[0] != W.shape[1] or y.shape != (W.shape[0],):
        raise InvalidArgument(f"W/y0: W must be square and y0 a vector of its size; got W {W.shape}, "
                              f"y0 {y.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InvalidArgument(f"steps: must be a non-negative integer, got {steps!r}")
    b = None if bias is None else np.asarray(bias, dtype=float)
    if b is not None and b.shape != y.shape:
        raise InvalidArgument(f"bias: expected shape {y.shape}, got {b.shape}")
    idx = np.arange(y.size) if record is None else np.asarray(record, dtype=np.int64)
    out = np.empty((int(steps) + 1, idx.size))
    out[0] = y[idx]
    for k in range(1, int(steps) + 1):
        z = W @ y
        if b is not None:
            z += b
        y = z if activation is None else activation(z)
        out[k] = y[idx]
    return out


def advance(W: sps.spmatrix | np.ndarray, y0: np.ndarray, steps: int, *, bias: np.ndarray | None = None,
            activation: Activation | None = None) -> np.ndarray:
    """The state after ``steps`` updates (same rule as :func:`simulate`, nothing recorded on the way)."""
    return simulate(W, y0, steps, bias=bias, activation=activation, record=np.arange(np.asarray(y0).size)
                    )[-1] if steps <= 1 else _advance(sps.csr_matrix(W), np.asarray(y0, dtype=float), int(steps),
                                                      bias, activation)


def _advance(W: sps.csr_matrix, y: np.ndarray, steps: int, bias: np.ndarray | None,
             activation: Activation | None) -> np.ndarray:
    simulate(W, y, 0, bias=bias, activation=activation)  # validates the arguments
    bias = None if bias is None else np.asarray(bias, dtype=float)
    y = y.copy()
    for _ in range(steps):
        z = W @ y
        if bias is not None:
            z += bias
        y = z if activation is None else activation(z)
    return y


def travelling_profiles(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth periodic right- and left-moving profiles (any smooth data would do): the test state of the shift
    network's calibration and of the learned networks' free runs."""
    return 0.5 * np.exp(np.sin(2 * np.pi * xs)), 0.5 * np.exp(np.cos(2 * np.pi * xs)) * np.sin(4 * np.pi * xs)


def block_average(u: np.ndarray, b: int) -> np.ndarray:
    """Average the last axis over consecutive blocks of ``b`` neurons (its length must be a multiple of b)."""
    u = np.asarray(u, dtype=float)
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1 or u.shape[-1] % b:
        raise InvalidArgument(f"block: must be a positive integer dividing {u.shape[-1]}, got {b!r}")
    return u.reshape(*u.shape[:-1], u.shape[-1] // b, b).mean(axis=-1)


_STENCILS = {0: ((0, 1.0),), 1: ((-1, -0.5), (1, 0.5)), 2: ((-1, 1.0), (0, -2.0), (1, 1.0))}


def central_jet(fun: Callable[..., np.ndarray], points: tuple[np.ndarray, ...], counts: tuple[int, ...],
                h: float | tuple[float, ...]) -> np.ndarray:
    r"""Second-order central-difference estimate of :math:`\partial^{n_0}_0\cdots\partial^{n_D}_D f` at ``points``
    (one array per coordinate), each :math:`n_k \le 2`, step h (one value, or one per coordinate): the tensor
    product of the 1-D stencils :math:`(f_{+}-f_{-})/2h` and :math:`(f_{+}-2f+f_{-})/h^2` (truncation error :math:`O(h^2)`)."""
    if len(points) != len(counts) or any(n not in _STENCILS for n in counts):
        raise InvalidArgument(f"counts: one derivative order in 0..2 per coordinate, got {counts!r}")
    hs = tuple(float(x) for x in h) if isinstance(h, tuple) else (float(h),) * len(counts)
    if len(hs) != len(counts) or not all(x > 0 for x in hs):
        raise InvalidArgument(f"h: must be positive (one value or one per coordinate), got {h!r}")
    terms: list[tuple[tuple[int, ...], float]] = [((), 1.0)]
    for n, hk in zip(counts, hs):
        terms = [(off + (o,), w * cw / hk**n) for off, w in terms for o, cw in _STENCILS[n]]
    out = np.zeros(np.broadcast(*points).shape)
    for off, w in terms:
        out += w * fun(*[p + o * hk for p, o, hk in zip(points, off, hs)])
    return out


__all__ = ["advance", "central_jet", "block_average", "coupled_weights", "is_permutation", "local_weights",
           "shift_matrix", "simulate",
           "two_population_shift_weights"]
