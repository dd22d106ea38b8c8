r"""Ensembles of SGD learners on a one-hidden-layer tanh network: the task with a width (a number of neurons).

The model has one input, ``W`` hidden tanh neurons and one linear output,

.. math:: f(x; q) = \sum_{j=1}^{W} a_j \tanh(w_j x + b_j) + c,

with per-example loss :math:`\ell_n(q) = (f(x_n; q) - y_n)^2/2`, averaged loss :math:`U = \overline{\ell}`, and
the parameter vector laid out as :math:`q = (a_1..a_W,\ c,\ w_1..w_W,\ b_1..b_W)` (:math:`3W+1` numbers).
``trainable="all"`` trains every weight and bias (the paper's trainable variables, :math:`K = 3W + 1`);
``trainable="readout"`` trains the read-out :math:`(a, c)` only (:math:`K = W + 1`, the hidden layer frozen at its
initial values, the same for every member: a random-features network whose loss is quadratic in q).

Backpropagation: with :math:`h_j = \tanh(w_jx+b_j)` and :math:`r = f - y`,
:math:`\partial\ell/\partial a_j = r h_j`, :math:`\partial\ell/\partial c = r`,
:math:`\partial\ell/\partial w_j = r a_j (1-h_j^2) x`, :math:`\partial\ell/\partial b_j = r a_j (1-h_j^2)`.
One SGD step draws B examples uniformly with replacement, so :math:`\mathbb E[\Delta q] = -\gamma\nabla U` and
:math:`{\rm Cov}[\Delta q] = \gamma^2\Sigma(q)/B` exactly, :math:`\Sigma` the per-example gradient covariance (in
the trained coordinates): the model diffusion of docs/theory.md, section 2, is :math:`D = \gamma^2\Sigma/(2B)`.
:class:`NetworkModel` evaluates U, :math:`\nabla U` and :math:`\Sigma` over an ensemble (numba, one pass over the
data per member; :meth:`NetworkModel.per_example` is the NumPy reference); the simulator is a numba kernel with one
splitmix64 stream per member (the streams of :mod:`._sgd`, where the kernel is defined).

>>> rng = np.random.default_rng(0)
>>> task = make_network_task(rng, width=3, n_data=32)
>>> model = NetworkModel(task, trainable="all")
>>> model.n_params, model.names[:4]
(10, ('a1', 'a2', 'a3', 'c'))
>>> q0 = model.initial_ensemble(rng, 5, spread=0.1)
>>> simulate_network_sgd(model, q0, 0.1, 2, 7, rng).shape
(8, 5, 10)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from nnqg.derivations import InvalidArgument

from ._sgd import RegressionTask, _network_moments, _network_parallel, _network_serial, make_regression_task

TRAINABLE = ("all", "readout")


@dataclass(frozen=True)
class NetworkTask:
    """Data x ~ N(0, 1), y = slope x + intercept + noise N(0, 1) (the data of the regression task) and the
    initial parameters ``init`` of a width-``width`` network: w_j, b_j ~ N(0, 1), a_j ~ N(0, 1/W), c = 0."""

    x: np.ndarray
    y: np.ndarray
    width: int
    init: np.ndarray  # (3 W + 1,) in the layout (a, c, w, b)

    def __post_init__(self) -> None:
        RegressionTask(self.x, self.y)  # the same checks of the data
        if not np.all(np.isfinite(self.init)):
            raise InvalidArgument("init: the initial parameters must be finite")
        if np.shape(self.init) != (3 * self.width + 1,):
            raise InvalidArgument(f"init: expected {3 * self.width + 1} parameters for width {self.width}, "
                                  f"got shape {np.shape(self.init)}")


def make_network_task(rng: np.random.Generator, width: int, n_data: int = 256, slope: float = 1.0,
                      intercept: float = -0.5, noise: float = 1.0) -> NetworkTask:
    """Draw the data set, then the initial network (in that order, from ``rng``)."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise InvalidArgument(f"width: expected an integer >= 1 (the number of hidden neurons), got {width!r}")
    data = make_regression_task(rng, n_data=n_data, slope=slope, intercept=intercept, noise=noise)
    x, y = data.x, data.y
    W = int(width)
    init = np.concatenate([rng.standard_normal(W) / np.sqrt(W), [0.0], rng.standard_normal(W),
                           rng.standard_normal(W)])
    return NetworkTask(x=x, y=y, width=W, init=init)


class NetworkModel:
    r"""U, :math:`\nabla U` and :math:`\Sigma` of the network over an ensemble of trained coordinates
    ``Q`` (N, K); the frozen coordinates (``trainable="readout"``) are taken from ``task.init``."""

    def __init__(self, task: NetworkTask, trainable: str = "all") -> None:
        if trainable not in TRAINABLE:
            raise InvalidArgument(f"trainable: {trainable!r}; use one of {list(TRAINABLE)}")
        self.task = task
        self.trainable = trainable
        W = task.width
        self.n_params = 3 * W + 1 if trainable == "all" else W + 1
        self._last: tuple | None = None
        self.names = tuple([f"a{j + 1}" for j in range(W)] + ["c"] + [f"w{j + 1}" for j in range(W)]
                           + [f"b{j + 1}" for j in range(W)])[: self.n_params]

    def initial_ensemble(self, rng: np.random.Generator, n: int, spread: float) -> np.ndarray:
        """n members: the task's initial network plus ``spread`` N(0, 1) in every trained coordinate."""
        centre = self.task.init[: self.n_params]
        return centre + spread * rng.standard_normal((int(n), self.n_params))

    def full(self, Q: np.ndarray) -> np.ndarray:
        """(N, 3W+1) parameters: the trained Q and the frozen rest of ``task.init``."""
        Q = np.asarray(Q, dtype=float)
        if Q.ndim != 2 or Q.shape[1] != self.n_params:
            raise InvalidArgument(f"Q: expected (N, {self.n_params}) trained parameters, got shape {Q.shape}")
        P = np.broadcast_to(self.task.init, (Q.shape[0], self.task.init.size)).copy()
        P[:, : self.n_params] = Q
        return P

    def per_example(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residuals r (N, n) and per-example gradients (N, n, K) in the trained coordinates, for full P."""
        W, x, y = self.task.width, self.task.x, self.task.y
        a, c, w, b = P[:, :W], P[:, W], P[:, W + 1:2 * W + 1], P[:, 2 * W + 1:]
        h = np.tanh(w[:, None, :] * x[None, :, None] + b[:, None, :])  # (N, n, W)
        r = np.einsum("nij,nj->ni", h, a) + c[:, None] - y[None, :]
        parts = [r[:, :, None] * h, r[:, :, None]]
        if self.trainable == "all":
            s = r[:, :, None] * a[:, None, :] * (1.0 - h * h)
            parts += [s * x[None, :, None], s]
        return r, np.concatenate(parts, axis=2)

    def loss(self, Q: np.ndarray) -> np.ndarray:
        return self._memo(Q)[0]

    def grad(self, Q: np.ndarray) -> np.ndarray:
        return self._memo(Q)[1]

    def grad_cov(self, Q: np.ndarray) -> np.ndarray:
        r"""Population covariance :math:`\overline{g g^T} - \bar g\bar g^T` of the per-example gradients."""
        return self._memo(Q)[2]

    def _memo(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`moments` of the last ensemble asked for, kept: the measures ask for grad U and Sigma at the same
        snapshot one after the other, and one pass over the data gives both. Keyed by the array's contents."""
        Q = np.ascontiguousarray(Q, dtype=float)
        key = (Q.shape, hashlib.blake2b(Q.tobytes(), digest_size=16).digest())
        if self._last is None or self._last[0] != key:
            self._last = (key, self.moments(Q))
        return tuple(a.copy() for a in self._last[1])  # type: ignore[return-value]

    def moments(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U (N,), grad U (N, K) and Sigma (N, K, K) by one pass over the data per member (numba; the per-example
        gradient is the SGD kernel's own; :meth:`per_example` is the NumPy reference it is tested against)."""
        P = np.ascontiguousarray(self.full(Q))
        N, K = P.shape[0], self.n_params
        U, G, C = np.empty(N), np.empty((N, K)), np.empty((N, K, K))
        _network_moments(np.ascontiguousarray(self.task.x, dtype=np.float64),
                         np.ascontiguousarray(self.task.y, dtype=np.float64), P, K, self.task.width, U, G, C)
        return U, G, C


def simulate_network_sgd(model: NetworkModel, q0: np.ndarray, gamma: float, batch_size: int, n_steps: int,
                         rng: np.random.Generator, parallel: bool = False) -> np.ndarray:
    """Run N independent SGD learners of the network from the trained coordinates ``q0`` (N, K); returns the
    snapshots at every step, shape (n_steps + 1, N, K)."""
    q0 = np.asarray(q0, dtype=np.float64)
    if q0.ndim != 2 or q0.shape[1] != model.n_params or q0.shape[0] < 1:
        raise InvalidArgument(f"q0: expected an (N, {model.n_params}) array of initial parameters, got shape "
                              f"{q0.shape}")
    if not np.all(np.isfinite(q0)):
        raise InvalidArgument("q0: initial parameters must be finite")
    if not (isinstance(gamma, (float, int, np.floating, np.integer)) and np.isfinite(gamma) and gamma > 0):
        raise InvalidArgument(f"gamma: expected a finite step size > 0, got {gamma!r}")
    for name, v in (("batch_size", batch_size), ("n_steps", n_steps)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (1 if name == "batch_size" else 0):
            raise InvalidArgument(f"{name}: expected an integer >= {1 if name == 'batch_size' else 0}, got {v!r}")
    P0 = np.ascontiguousarray(model.full(q0))
    out = np.empty((int(n_steps) + 1, q0.shape[0], model.n_params))
    seeds = rng.integers(0, np.iinfo(np.uint64).max, size=q0.shape[0], dtype=np.uint64, endpoint=True)
    kernel = _network_parallel if parallel else _network_serial
    kernel(np.ascontiguousarray(model.task.x, dtype=np.float64), np.ascontiguousarray(model.task.y, dtype=np.float64),
           P0, model.n_params, model.task.width, seeds, float(gamma), int(batch_size), int(n_steps), out)
    return out
