r"""Sweep task ``grand_canonical``: N learners of :mod:`nnqg.numerics._grand_canonical` (neurons exchanged with an
environment at chemical potential mu, SGD on the free energy, step size and batch size adapted), the learning system
of experiment Q3 (docs/experiments.md), K = 2.

Grid axes: ``gamma`` is the learner's largest step size gamma_max and ``batch_size`` its smallest batch size
(>= 2); with ``task.rule = "canonical"`` they are the fixed step size and batch size of SGD on the same network with
every neuron present and no exchange. Spec keys ``[task]``: n_data, n_slots (hidden-neuron slots, 1..8), r0 (radius
of the ring of minima), noise (label noise), temperature, mu, silent_cost, batch_max, rule; mu and temperature are
mapped one spec per value. Per grid point, from the point's stream: the data set, then the learners.

The model functions are the fast-exchange approximation :class:`~nnqg.numerics._grand_canonical.AdiabaticModel`
(grand potential, the rule's step and batch size at the exact gradient variance), so the sweep's Fokker-Planck and
Nelson columns compare the learners with that model. Q3's own measure, the circulation around loops about the hole
(:mod:`nnqg.numerics._circulation`), is not a sweep description (the sweep's circulation is around the one-sigma
ellipse, which for this annular ensemble encloses the hole only by accident); it runs in ``nnqg verify``.

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting, task_kind
>>> k = task_kind("grand_canonical")
>>> s = Setting(task={**{n: v.default for n, v in k.task_keys.items()}, "n_data": 32}, run={}, gamma=0.1,
...             batch_size=2, n_members=6, n_steps=4, init_std=0.05)
>>> k.simulate(s, np.random.default_rng(0)).q.shape
(5, 6, 2)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

from . import _grand_canonical as gc
from ._ensemble import Ensemble
from ._tasks import Key, Setting, TaskKind, choice, integer, number, register

__all__ = ["KIND", "n_parameters", "simulate"]


def simulate(s: Setting, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point (module docstring)."""
    t = s.task
    if s.batch_size < 2 or s.batch_size > t["batch_max"]:
        raise InvalidArgument(f"grid.batch_size: {s.batch_size}; the grand-canonical learner's smallest batch must "
                              f"lie in [2, task.batch_max = {t['batch_max']}] (it estimates its variance per batch)")
    task = gc.make_grand_canonical_task(rng, n_data=t["n_data"], n_slots=t["n_slots"], r0=t["r0"],
                                        noise=t["noise"], temperature=t["temperature"], mu=t["mu"],
                                        silent_cost=t["silent_cost"], gamma_max=s.gamma, batch_min=s.batch_size,
                                        batch_max=t["batch_max"])
    canonical = t["rule"] == "canonical"
    run = gc.simulate(task, n_members=s.n_members, n_steps=s.n_steps, rng=rng, exchange=not canonical,
                      adapt=not canonical, gamma=s.gamma, batch_size=s.batch_size, init_spread=s.init_std)
    return gc.AdiabaticModel(task, t["rule"]).ensemble(run.q, s.gamma, s.batch_size)


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    return 2


def _nonnegative(what: str):
    one = number()

    def check(v: Any, key: str) -> float:
        f = one(v, key)
        if f < 0:
            raise InvalidArgument(f"{key}: {v!r} is not a non-negative {what}; use values >= 0")
        return f
    return check


KIND = register(TaskKind(
    name="grand_canonical",
    summary="neurons exchanged at chemical potential mu, SGD on the free energy, adaptive step and batch (K = 2)",
    simulate=simulate, n_parameters=n_parameters,
    task_keys=MappingProxyType({
        "n_data": Key(256, integer(2, 10 ** 6), "number of data points"),
        "n_slots": Key(3, integer(1, 8), "hidden-neuron slots (states enumerated over 2^n_slots)"),
        "r0": Key(1.0, number(True, "radius"), "radius of the ring of minima"),
        "noise": Key(1.0, _nonnegative("noise level"), "standard deviation of the label noise"),
        "temperature": Key(0.25, number(True, "temperature"), "temperature T of the hidden neurons and the exchange"),
        "mu": Key(0.2, number(True, "chemical potential"), "chemical potential mu (hbar* = mu / 2 pi)"),
        "silent_cost": Key(1.0, _nonnegative("cost"), "bulk loss of a present neuron that does not fire"),
        "batch_max": Key(32, integer(2, 4096), "largest batch size of the adaptive rule"),
        "rule": Key("grand_canonical", choice(("grand_canonical", "canonical"),
                                              "'grand_canonical' (exchange, adaptive) or 'canonical'"),
                    "the learner's rule")}),
    data_bytes=lambda t: 8 * int(t["n_data"]) * (2 * int(t["n_slots"]) + 1) * 2))
