r"""An ensemble of learning trajectories and the model that moved it: the input of every ensemble estimator
(:mod:`nnqg.numerics._ensemble_measures`) and the output of every sweep task (:mod:`nnqg.numerics._tasks`).

``q[s, i, :]`` holds the K parameters of member i at step s (s = 0..n_steps, consecutive steps of the learning
rule, time measured in steps). Members must be independent (their own data draws, their own noise): every
standard error assumes it. The model functions are evaluated at any set of points ``Q`` of shape (n, K):

* ``grad_loss(Q)`` (n, K): :math:`\nabla U`, the gradient of the averaged loss;
* ``grad_cov(Q)`` (n, K, K): :math:`\Sigma(Q)`, the per-example gradient covariance (population, 1/n, as for
  mini-batches drawn with replacement), so that one SGD step with step size :math:`\gamma` and batch size B has
  diffusion :math:`D = \gamma^2\Sigma/(2B)`. For a diffusion that is not SGD, with a known :math:`D(q)`, pass
  ``grad_cov = 2 D / gamma**2`` and ``batch_size = 1`` to the estimators;
* ``loss(Q)`` (n,): U;
* ``grad_free_energy(Q, s)`` (n, K), optional: :math:`\nabla F(q, t = s)` of a *model* free energy (the phase of
  the Madelung pair, current velocity :math:`v = \gamma\nabla F`) at step s, when the learning system defines
  one (a time-independent F ignores s); the continuity measure needs it and refuses an ensemble without it.

>>> import numpy as np
>>> ens = Ensemble(q=np.zeros((5, 3, 2)), grad_loss=lambda Q: Q, grad_cov=lambda Q: np.zeros((len(Q), 2, 2)),
...                loss=lambda Q: np.zeros(len(Q)))
>>> ens.n_steps, ens.n_members, ens.n_params
(4, 3, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nnqg.derivations import InvalidArgument

Field = Callable[[np.ndarray], np.ndarray]
TimeField = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True, eq=False)
class Ensemble:
    """Consecutive snapshots ``q[s, i, :]`` (s = 0..n_steps) of N independent learners and the model that
    produced them (module docstring). Non-finite snapshots are allowed (a diverging learner): the estimators
    then return NaN, which is reported as its own status, never masked."""

    q: np.ndarray
    grad_loss: Field  # (n, K) -> (n, K): grad U
    grad_cov: Field  # (n, K) -> (n, K, K): per-example gradient covariance Sigma(q)
    loss: Field  # (n, K) -> (n,)
    grad_free_energy: TimeField | None = None  # (n, K), step -> (n, K): grad F of a model free energy, if any

    def __post_init__(self) -> None:
        q = self.q
        if not isinstance(q, np.ndarray) or q.ndim != 3 or q.dtype.kind != "f":
            raise InvalidArgument(f"q: expected a float array of shape (n_steps + 1, N, K), got "
                                  f"{getattr(q, 'shape', type(q).__name__)}")
        if q.shape[0] < 3 or q.shape[1] < 2 or q.shape[2] < 1:
            raise InvalidArgument(f"q: shape {q.shape}; the estimators need at least 3 steps, 2 members and 1 "
                                  "parameter")

    @property
    def n_steps(self) -> int:
        return int(self.q.shape[0] - 1)

    @property
    def n_members(self) -> int:
        return int(self.q.shape[1])

    @property
    def n_params(self) -> int:
        return int(self.q.shape[2])
