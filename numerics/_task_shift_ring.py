r"""Sweep task ``shift_ring`` and the learning system of experiment 5 (duality on one learning network,
docs/experiments.md): a two-population ring of 2N neurons with the two-parameter weight matrix

.. math:: W(q) = q_1\,\mathrm{diag}(S, S^T) + q_2\,I

(:math:`q_1` the weight to the neighbour along the population's direction, :math:`q_2` the self-connection),
trained by mini-batch SGD on the one-step prediction loss :math:`\ell = |y' - W(q)y|^2/(2n)`, n = 2N, over the
transitions (y, y') of the travelling world of :mod:`nnqg.numerics._learned_network`. With :math:`a = \mathrm{diag}
(S, S^T)y`, b = y and the per-example scalars :math:`G = \frac1n\begin{pmatrix}a\cdot a & a\cdot b\\ a\cdot b &
b\cdot b\end{pmatrix}`, :math:`c = \frac1n(a\cdot y', b\cdot y')`, the per-example gradient is :math:`g = Gq - c`,
so :math:`\nabla U = \bar Gq - \bar c` and the per-example covariance
:math:`\Sigma(q) = \overline{(Gq-c)(Gq-c)^T} - \nabla U\nabla U^T` are exact quadratics in q from the data's
moments (:class:`RingModel`). Trainable variables q (K = 2), non-trainable variables the neuron states
:math:`y(t+1) = W(q)y(t)` (:func:`ring_free_run`).

Spec keys: ``[task]`` sites, ell, process_noise, observation_noise, n_seq, T; ``[run]`` init_centre (2 numbers),
with the common init_std the spread. Per grid point, from the point's stream in this order: the data set, the
initial ensemble, the mini-batches.

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting
>>> s = Setting(task={"sites": 16, "ell": 2.0, "process_noise": 0.1, "observation_noise": 0.0, "n_seq": 8,
...                   "T": 8}, run={"init_centre": (0.5, 0.5)}, gamma=0.1, batch_size=2, n_members=5,
...             n_steps=7, init_std=0.05)
>>> simulate(s, np.random.default_rng(0)).q.shape
(8, 5, 2)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ._ensemble import Ensemble
from ._learned_network import travelling_world
from ._tasks import Key, Setting, TaskKind, integer, number, numbers, register

__all__ = ["KIND", "RingModel", "n_parameters", "ring_free_run", "simulate", "train_ensemble"]


def _shift(y: np.ndarray, n: int) -> np.ndarray:
    """diag(S, S^T) y on the last axis: right-movers (first n) shifted right, left-movers left."""
    return np.concatenate([np.roll(y[..., :n], 1, axis=-1), np.roll(y[..., n:], -1, axis=-1)], axis=-1)


class RingModel:
    """Loss, gradient and per-example gradient covariance of the ring network on one data set (module
    docstring), vectorised over an ensemble Q of shape (m, 2)."""

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        n_neurons = X.shape[1]
        a = _shift(X, n_neurons // 2)
        self.G = np.stack([np.stack([(a * a).sum(1), (a * X).sum(1)], -1),
                           np.stack([(a * X).sum(1), (X * X).sum(1)], -1)], -2) / n_neurons  # (n, 2, 2)
        self.c = np.stack([(a * Y).sum(1), (X * Y).sum(1)], -1) / n_neurons  # (n, 2)
        self.yy = (Y * Y).sum(1) / n_neurons
        self.Gm, self.cm = self.G.mean(0), self.c.mean(0)
        self.GG = np.einsum("nij,nkl->ijkl", self.G, self.G) / len(self.G)
        self.Gc = np.einsum("nij,nk->ijk", self.G, self.c) / len(self.G)
        self.cc = self.c.T @ self.c / len(self.G)

    def loss(self, Q: np.ndarray) -> np.ndarray:
        return 0.5 * (np.einsum("mi,ij,mj->m", Q, self.Gm, Q) - 2 * Q @ self.cm + self.yy.mean())

    def grad(self, Q: np.ndarray) -> np.ndarray:
        return Q @ self.Gm.T - self.cm

    def grad_cov(self, Q: np.ndarray) -> np.ndarray:
        second = (np.einsum("ijkl,mj,ml->mik", self.GG, Q, Q) - np.einsum("ijk,mj->mik", self.Gc, Q)
                  - np.einsum("ijk,mj->mki", self.Gc, Q) + self.cc)
        g = self.grad(Q)
        return second - g[:, :, None] * g[:, None, :]


def train_ensemble(model: RingModel, q0: np.ndarray, gamma: float, batch_size: int, n_steps: int,
                   rng: np.random.Generator) -> np.ndarray:
    r"""Mini-batch SGD of every member (B examples drawn uniformly with replacement per member and step):
    :math:`q \leftarrow q - \gamma\,\overline{G q - c}`. Returns the snapshots (n_steps + 1, M, 2)."""
    q = np.empty((n_steps + 1,) + q0.shape)
    q[0] = q0
    n = len(model.G)
    for s in range(n_steps):
        idx = rng.integers(0, n, (q0.shape[0], batch_size))
        Gb, cb = model.G[idx].mean(1), model.c[idx].mean(1)
        q[s + 1] = q[s] - gamma * (np.einsum("mij,mj->mi", Gb, q[s]) - cb)
    return q


def ring_free_run(q: np.ndarray, y0: np.ndarray, steps: int) -> np.ndarray:
    """States (steps + 1, M, 2N) of y(t+1) = W(q) y(t) for every member's q (rows of ``q``), from y0."""
    q = np.atleast_2d(np.asarray(q, dtype=float))
    n = y0.size // 2
    out = np.empty((steps + 1, q.shape[0], y0.size))
    out[0] = y0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            out[k + 1] = q[:, :1] * _shift(out[k], n) + q[:, 1:] * out[k]
    return out


def world_data(task: Mapping[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The transitions of the travelling world for a task's keys."""
    return travelling_world(rng, task["sites"], n_seq=task["n_seq"], T=task["T"], ell=task["ell"],
                            process_noise=task["process_noise"], observation_noise=task["observation_noise"])


def simulate(s: Setting, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point (module docstring)."""
    model = RingModel(*world_data(s.task, rng))
    q0 = np.asarray(s.run["init_centre"]) + s.init_std * rng.standard_normal((s.n_members, 2))
    q = train_ensemble(model, q0, s.gamma, s.batch_size, s.n_steps, rng)
    return Ensemble(q=q, grad_loss=model.grad, grad_cov=model.grad_cov, loss=model.loss)


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    return 2


def _data_bytes(task: Mapping[str, Any]) -> int:
    """The world's states and transitions (four float arrays of n_seq (T + 1) x 2 sites) and the per-example
    scalars."""
    rows = task["n_seq"] * (task["T"] + 1)
    return 8 * rows * (8 * task["sites"] + 16)


KIND = register(TaskKind(
    name="shift_ring", summary="W(q) = q1 diag(S, S^T) + q2 I on a ring of 2 x sites neurons, next-state "
                               "prediction of travelling signals (K = 2)",
    simulate=simulate, n_parameters=n_parameters, data_bytes=_data_bytes,
    task_keys=MappingProxyType({
        "sites": Key(64, integer(4, 4096), "sites per channel (2 x sites neurons)"),
        "ell": Key(2.0, number(True, "correlation length"), "correlation length of the initial fields, in sites"),
        "process_noise": Key(0.1, number(), "Gaussian kick per update of the world's channels"),
        "observation_noise": Key(0.0, number(), "Gaussian noise on what the neurons read"),
        "n_seq": Key(64, integer(1, 10**5), "sequences in the data set"),
        "T": Key(64, integer(1, 10**5), "updates per sequence"),
    }),
    run_keys=MappingProxyType({"init_centre": Key((0.5, 0.5), numbers(2, "numbers (q1, q2)"),
                                                  "centre of the initial ensemble")})))
