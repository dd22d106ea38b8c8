r"""Sweep task ``tanh_network``: N SGD learners of a one-hidden-layer tanh network
:math:`f(x) = \sum_j a_j\tanh(w_jx+b_j) + c` of ``width`` neurons (the ``grid.width`` axis) on the data of
:data:`~nnqg.numerics._tasks.DATA_KEYS`, simulated by :mod:`nnqg.numerics._network_sgd`.

Spec keys: ``[task]`` n_data, noise, slope, intercept, trainable (``"all"``: every weight and bias, K = 3 width + 1;
``"readout"``: the output layer only, K = width + 1). The ensemble starts around the random initial network with
spread ``run.init_std`` in every trained coordinate. Per grid point, from the point's stream in this order: the data
set, the initial network, the ensemble, the mini-batches (one splitmix64 stream per member). :math:`\nabla U` and
:math:`\Sigma(q)` are exact sums over the data set at every member (:class:`~nnqg.numerics._network_sgd.NetworkModel`).

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting
>>> s = Setting(task={"n_data": 32, "noise": 1.0, "slope": 1.0, "intercept": -0.5, "trainable": "readout"},
...             run={}, gamma=0.1, batch_size=2, n_members=5, n_steps=7, init_std=0.1, width=3)
>>> simulate(s, np.random.default_rng(0)).q.shape
(8, 5, 4)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from . import _network_sgd
from ._ensemble import Ensemble
from ._tasks import DATA_KEYS, Key, Setting, TaskKind, choice, register

__all__ = ["KIND", "n_parameters", "simulate"]


def simulate(s: Setting, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point (module docstring); serial numba (dask supplies the parallelism)."""
    t = s.task
    assert s.width is not None
    net = _network_sgd.make_network_task(rng, s.width, n_data=t["n_data"], slope=t["slope"],
                                         intercept=t["intercept"], noise=t["noise"])
    model = _network_sgd.NetworkModel(net, trainable=t["trainable"])
    q0 = model.initial_ensemble(rng, s.n_members, s.init_std)
    q = _network_sgd.simulate_network_sgd(model, q0, s.gamma, s.batch_size, s.n_steps, rng)
    return Ensemble(q=q, grad_loss=model.grad, grad_cov=model.grad_cov, loss=model.loss)


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    """K = 3 width + 1 with every weight trained, width + 1 with the read-out only."""
    assert width is not None
    return 3 * width + 1 if task["trainable"] == "all" else width + 1


KIND = register(TaskKind(
    name="tanh_network", summary="one hidden layer of `width` tanh neurons trained by SGD", simulate=simulate,
    n_parameters=n_parameters, has_width=True,
    task_keys=MappingProxyType({**DATA_KEYS, "trainable": Key("all", choice(
        _network_sgd.TRAINABLE, "'all' (every weight and bias) or 'readout'"), "which layers learn")}),
    # specs of this kind carried run.init_offset = () before the registry: kept in the hash of their spec
    legacy_canonical=MappingProxyType({"run": MappingProxyType({"init_offset": ()})})))
