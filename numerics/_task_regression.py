r"""Sweep task ``linear_regression``: N SGD learners of the two-parameter regression :math:`f(x) = q_1x + q_2`
(K = 2) on the data of :data:`~nnqg.numerics._tasks.DATA_KEYS`, simulated by :mod:`nnqg.numerics._sgd`.

Spec keys: ``[task]`` n_data, noise, slope, intercept; ``[run]`` init_offset (2 numbers: the centre of the initial
ensemble as an offset from the least-squares minimiser :math:`q^*`, default (0.5, -0.5)); the common init_std is
the spread. Per grid point, from the point's stream in this order: the data set, the initial ensemble
:math:`q^* + \text{offset} + \text{init\_std}\,\xi`, the mini-batches (one splitmix64 stream per member).

The model functions are exact, vectorised over the ensemble (:func:`regression_model`).

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting
>>> s = Setting(task={"n_data": 32, "noise": 1.0, "slope": 1.0, "intercept": -0.5},
...             run={"init_offset": (0.5, -0.5)}, gamma=0.1, batch_size=2, n_members=5, n_steps=7, init_std=0.3)
>>> simulate(s, np.random.default_rng(0)).q.shape
(8, 5, 2)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from . import _sgd
from ._ensemble import Ensemble
from ._tasks import DATA_KEYS, Key, Setting, TaskKind, numbers, register

__all__ = ["KIND", "regression_model", "simulate"]


def regression_model(x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable, Callable]:
    r"""Loss, gradient and per-example gradient covariance of :math:`\ell_n = (q_1x_n+q_2-y_n)^2/2`, vectorised
    over an ensemble (N, 2), from the data moments :math:`M_{ab} = \overline{x^a y^b}`: with
    :math:`r = q_1x+q_2-y`, :math:`\nabla U = (\overline{rx}, \overline r)` and
    :math:`\Sigma = \overline{r^2 (x,1)(x,1)^T} - \nabla U\nabla U^T` (population covariance, 1/n, as for
    mini-batches drawn with replacement).

    >>> x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.0, 3.0])
    >>> loss, grad, cov = regression_model(x, y)
    >>> q = np.array([[0.5, -0.2]])
    >>> g = np.stack([(q[0, 0] * x + q[0, 1] - y) * x, q[0, 0] * x + q[0, 1] - y], axis=1)
    >>> bool(np.allclose(cov(q)[0], np.cov(g.T, bias=True)) and np.allclose(grad(q)[0], g.mean(axis=0)))
    True
    """
    M = {(a, b): float(np.mean(x ** a * y ** b)) for a in range(5) for b in range(3) if a + b <= 4}

    def loss(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]
        return 0.5 * (q1 ** 2 * M[2, 0] + q2 ** 2 + M[0, 2] + 2 * q1 * q2 * M[1, 0] - 2 * q1 * M[1, 1]
                      - 2 * q2 * M[0, 1])

    def grad(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]
        return np.stack([q1 * M[2, 0] + q2 * M[1, 0] - M[1, 1], q1 * M[1, 0] + q2 - M[0, 1]], axis=1)

    def cov(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]

        def r2x(k: int) -> np.ndarray:  # mean of r^2 x^k
            return (q1 ** 2 * M[k + 2, 0] + q2 ** 2 * M[k, 0] + M[k, 2] + 2 * q1 * q2 * M[k + 1, 0]
                    - 2 * q1 * M[k + 1, 1] - 2 * q2 * M[k, 1])

        g = grad(q)
        out = np.empty((q.shape[0], 2, 2))
        out[:, 0, 0] = r2x(2) - g[:, 0] ** 2
        out[:, 0, 1] = out[:, 1, 0] = r2x(1) - g[:, 0] * g[:, 1]
        out[:, 1, 1] = r2x(0) - g[:, 1] ** 2
        return out

    return loss, grad, cov


def simulate(s: Setting, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point (module docstring); serial numba (dask supplies the parallelism)."""
    t = s.task
    task = _sgd.make_regression_task(rng, n_data=t["n_data"], slope=t["slope"], intercept=t["intercept"],
                                     noise=t["noise"])
    centre = task.q_star + np.asarray(s.run["init_offset"])
    q0 = centre + s.init_std * rng.standard_normal((s.n_members, 2))
    q = _sgd.simulate_sgd(task, q0, s.gamma, s.batch_size, s.n_steps, rng, record_every=1, parallel=False)
    loss, grad, cov = regression_model(task.x, task.y)
    return Ensemble(q=q, grad_loss=grad, grad_cov=cov, loss=loss)


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    return 2


KIND = register(TaskKind(
    name="linear_regression", summary="f(x) = q1 x + q2 trained by SGD (K = 2)", simulate=simulate,
    n_parameters=n_parameters, task_keys=DATA_KEYS,
    run_keys=MappingProxyType({"init_offset": Key((0.5, -0.5), numbers(2, "numbers (one per parameter)"),
                                                  "centre of the initial ensemble minus the minimiser q*")})))
