r"""Sweep task ``free_energy_network``: N learners of the free-energy network of :mod:`nnqg.numerics._free_energy`
(binary hidden neurons in equilibrium at temperature T, trainable read-out, K = width + 1), the learning system of
experiment Q2 (docs/experiments.md), mapped over step size, batch size, width (the number of hidden neurons, at
most 10: the partition function is enumerated) and, one spec per value, temperature.

Spec keys: ``[task]`` n_data, noise, slope, intercept (:data:`~nnqg.numerics._tasks.DATA_KEYS`), trainable (only
``"readout"``), temperature,
objective (``"free_energy"``: SGD on the free energy, the paper's route; ``"average_loss"``: plain SGD on the
averaged loss U), hidden (``"equilibrium"``: the exact equilibrium average of the gradient; ``"sampled"``: one
equilibrium state per example); the common init_std is the spread around the drawn initial read-out. Per grid point,
from the point's stream in this order: the data set and input weights, the initial read-out, the ensemble, the
mini-batches.

The ensemble's ``grad_loss`` is the gradient of the descended objective (F-bar, or U), so the sweep's Fokker-Planck
column uses the right drift and its Newton column takes V = the descended objective; experiment Q2 registers
V = U for the Newton law (``nnqg verify``), which the sweep's single potential cannot express for this kind.
``grad_free_energy`` is minus the descended objective's gradient (the phase of descent).

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting, task_kind
>>> s = Setting(task={**{k: v.default for k, v in task_kind("free_energy_network").task_keys.items()}, "n_data": 32},
...             run={}, gamma=0.1, batch_size=2, n_members=5, n_steps=4, init_std=0.3, width=2)
>>> task_kind("free_energy_network").simulate(s, np.random.default_rng(0)).q.shape
(5, 5, 3)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

from . import _free_energy as fe
from ._ensemble import Ensemble
from ._tasks import DATA_KEYS, Key, Setting, TaskKind, choice, number, register

__all__ = ["KIND", "n_parameters", "simulate"]

MAX_HIDDEN = 10


def simulate(s: Setting, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point (module docstring)."""
    t = s.task
    n = n_parameters(t, s.width) - 1
    task = fe.make_free_energy_task(rng, n_hidden=n, n_data=t["n_data"], slope=t["slope"], intercept=t["intercept"],
                                    noise=t["noise"], temperature=t["temperature"])
    model = fe.FreeEnergyModel(task, objective=t["objective"], hidden=t["hidden"])
    q0 = model.initial_ensemble(rng, s.n_members, s.init_std)
    return model.ensemble(fe.simulate(model, q0, gamma=s.gamma, batch_size=s.batch_size, n_steps=s.n_steps, rng=rng))


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    """K = width + 1 (the read-out of ``width`` hidden neurons and its bias)."""
    if width is None or not 1 <= width <= MAX_HIDDEN:
        raise InvalidArgument(f"grid.width: {width!r}; the free-energy network enumerates 2^width hidden states, "
                              f"use 1..{MAX_HIDDEN} neurons")
    if task.get("objective") == "average_loss" and task.get("hidden") == "sampled":
        raise InvalidArgument("task.hidden: 'sampled' is a rule for the free energy; plain SGD on the averaged "
                              "loss (task.objective = 'average_loss') uses hidden = 'equilibrium'")
    return int(width) + 1


KIND = register(TaskKind(
    name="free_energy_network",
    summary="binary hidden neurons in equilibrium at temperature T, SGD on their free energy (K = width + 1)",
    simulate=simulate, n_parameters=n_parameters, has_width=True,
    task_keys=MappingProxyType({
        **DATA_KEYS, "n_data": Key(128, DATA_KEYS["n_data"].check, DATA_KEYS["n_data"].doc),
        "temperature": Key(0.5, number(True, "temperature"), "temperature T of the hidden neurons"),
        "objective": Key("free_energy", choice(fe.OBJECTIVES, "'free_energy' (the paper's route) or 'average_loss' "
                                                               "(plain SGD on U)"), "the function SGD descends"),
        "hidden": Key("equilibrium", choice(fe.HIDDEN, "'equilibrium' (exact average) or 'sampled' (one state per "
                                                       "example)"), "how the gradient sees the hidden neurons"),
        # the read-out learns, the input weights are drawn once (the sweep's width figures name what is trained)
        "trainable": Key("readout", choice(("readout",), "'readout' (the input weights are fixed)"),
                         "which layer learns")})))
