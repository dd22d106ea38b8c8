r"""Sweep task ``learned_couplings``: the learning system of experiment 4 (emergent metric and geodesics from
learned couplings, docs/experiments.md) mapped over its size, SGD step size, batch size, replicates and, one spec
per value, the amplitude of the world's speed profile. A ring of N neurons with the local update
:math:`x_i(t+1) = 2x_i(t) - x_i(t-1) + w^+_i(x_{i+1}-x_i) - w^-_i(x_i-x_{i-1})` learns its 2N couplings by
mini-batch SGD from observations of a string with speed :math:`c_w(x) = 1 + A\sin 2\pi x`
(:func:`~nnqg.numerics._learned_medium.string_world`, :func:`~nnqg.numerics._learned_medium.train_couplings`);
c(x) is read off the learned couplings (:func:`~nnqg.numerics._learned_medium.read_speed`) and the network's own
dynamics is compared with the metric :math:`-c(x)^2dt^2 + dx^2` built from it, by the experiment's measures
(:func:`~nnqg.numerics._learned_medium.learned_distance`):

* ``local_speed``: max over probe intervals of |measured pulse speed / speed from the learned c(x) - 1|
  (:func:`~nnqg.numerics._learned_medium.arrival_speed_distance`, probes
  :data:`~nnqg.numerics._learned_medium.PROBES`);
* ``geodesic``: max over time of |packet centroid - null geodesic of the learned metric| / distance travelled
  (:func:`~nnqg.numerics._learned_medium.centroid_distance`).

Axes: ``grid.width`` = N neurons (64..1024), ``grid.gamma`` = the SGD step size (the experiment's own rule, the
smallest per-site half stability bound, is about 1.4-1.5 at N = 64-128, B = 8 with the default world; a diverged
replicate is a non-finite distance), ``grid.batch_size`` = B, ``grid.ensemble`` = replicates, ``run.n_steps`` =
training steps. The update duration is :math:`\tau = \text{courant}/(N\max c_w)`. Per point, replicate by
replicate from the point's stream: the world (initial u, u_t, observation noise), the mini-batches. The distance
of a description is the mean over replicates, its se the standard error of that mean. The defaults are
experiment 4's pre-registered settings (its quick profile's packet width).

``task.train_left = false`` is experiment 4's planted learner (its left couplings frozen at w0): measured by this
kind at N = 64, gamma 1, B 8, 3 replicates, local speed 69 +- 60 and geodesic 0.18 +- 0.06 against
0.019 +- 0.0004 and 0.0150 +- 0.00004 with both sides learned. The controls of experiment 4 are measured at every
point (``<d>_positive``: couplings hand-set from :math:`c_w`; ``<d>_negative``: each learned network against c read
off its couplings permuted over the sites, the permutations drawn after the learners) and separate under these
measures at N = 64 (hand-set couplings against hand-set couplings permuted): couplings hand-set from :math:`c_w` give 0.018 (local speed) and 0.016 (geodesic), the
network against c read off its couplings permuted over the sites 0.30 and 0.074 (tests/unit/test_sweep_learning.py).
"""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

from . import _learned_medium as _lm
from ._replicates import mean_se
from ._tasks import Key, KindMeasures, Setting, TaskKind, flag, integer, number, number_in, register

__all__ = ["KIND", "evaluate", "measures", "n_parameters", "update_duration", "world_speed"]

MIN_NEURONS, MAX_NEURONS = 64, 1024


def world_speed(amplitude: float) -> Callable[[np.ndarray], np.ndarray]:
    r"""The world's speed :math:`c_w(x) = 1 + A\sin 2\pi x`."""
    return lambda x: 1.0 + amplitude * np.sin(2 * np.pi * np.asarray(x, dtype=float))


def update_duration(task: Mapping[str, Any], n: int) -> float:
    r""":math:`\tau = \text{courant}/(N\max c_w)`, :math:`\max c_w = 1 + |A|`."""
    return float(task["courant"]) / (n * (1.0 + abs(float(task["amplitude"]))))


def measures(task: Mapping[str, Any]) -> dict[str, Callable[..., dict[str, float]]]:
    """The two measures with the task's pulse and packet settings bound: ``measure(wp, wm, c, tau)``."""
    return {"local_speed": partial(_lm.arrival_speed_distance, x0=task["pulse_start"], width=task["pulse_width"],
                                   probes=np.asarray(_lm.PROBES)),
            "geodesic": partial(_lm.centroid_distance, x0=task["packet_start"], width=task["packet_width"],
                                duration=task["packet_duration"])}


def evaluate(s: Setting, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Train ``s.n_members`` replicates at N = ``s.width`` and measure them (module docstring)."""
    t, n = s.task, int(s.width or 0)
    c_w, tau, ms = world_speed(t["amplitude"]), update_duration(t, n), measures(t)
    out: dict[str, list[float]] = {k: [] for k in ms}
    learned = []
    for _ in range(s.n_members):
        obs = _lm.string_world(rng, n, c_w, n_seq=t["n_seq"], T=t["T"], ell=t["ell"], tau=tau,
                               observation_noise=t["observation_noise"], refine=t["refine"])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging step size: NaN, reported as such
            tr = _lm.train_couplings(obs, rng, batch_size=s.batch_size, n_steps=s.n_steps, w0=t["w0"], gamma=s.gamma,
                                     train_left=t["train_left"])
            for k, m in ms.items():
                out[k].append(_lm.learned_distance(m, tr.wp, tr.wm, (tr.wp, tr.wm), tau))
        learned.append((tr.wp, tr.wm))
    res = {k: mean_se(v) for k, v in out.items()}
    # experiment 4's controls at this point, the permutations drawn after the learners (their numbers do not
    # move): couplings hand-set from the world's c(x); each learned network against the speed read off its
    # couplings permuted over the sites
    wp_h, wm_h = _lm.hand_set_couplings(c_w, n, tau)
    perms = [rng.permutation(n) for _ in learned]
    for k, m in ms.items():
        res[f"{k}_positive"] = (_lm.learned_distance(m, wp_h, wm_h, (wp_h, wm_h), tau), 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            res[f"{k}_negative"] = mean_se([_lm.learned_distance(m, wp, wm, (wp[p], wm[p]), tau)
                                            for (wp, wm), p in zip(learned, perms)])
    return res


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    """K = 2N, the couplings w+ and w-."""
    if width is None or not MIN_NEURONS <= width <= MAX_NEURONS:
        raise InvalidArgument(f"grid.width: {width!r} neurons; use {MIN_NEURONS}..{MAX_NEURONS} (the pulse and "
                              "packet of the measures must span several neurons)")
    return 2 * int(width)


def point_bytes(task: Mapping[str, Any], width: int | None, replicates: int, n_steps: int) -> int:
    """The fine-grid RK4 state and stages (about 12 arrays of n_seq x refine N), the observations and their
    triples (about 8 arrays of n_seq x T x N), and the measures' splines (a few arrays of 4096 x 16 periods)."""
    n = int(width or 0)
    fine = task["n_seq"] * task["refine"] * n
    obs = task["n_seq"] * task["T"] * n
    return 8 * (12 * fine + 8 * obs + task["n_seq"] * task["T"] * task["refine"] * n + 16 * 4096 * 8)


KIND = register(TaskKind(
    name="learned_couplings",
    summary="ring of width neurons learning its 2 x width local couplings by SGD from a string with speed "
            "1 + amplitude sin(2 pi x) (experiment 4; measured against the metric read off its couplings)",
    simulate=None, n_parameters=n_parameters, has_width=True,
    data_bytes=lambda task: 0,  # the data depend on the width: counted in point_bytes
    task_keys=MappingProxyType({
        "amplitude": Key(0.3, number_in(0, 0.9), "A in the world's speed 1 + A sin(2 pi x)"),
        "ell": Key(3.0, number(True, "correlation length"), "correlation length of the initial fields, in "
                                                            "sensor spacings"),
        "observation_noise": Key(0.0, number_in(0, 10), "Gaussian noise on the observations"),
        "refine": Key(4, integer(1, 16), "fine points per sensor of the world's own solver"),
        "courant": Key(0.8, number_in(0.05, 1), "max c_w tau / h, the update's Courant number"),
        "n_seq": Key(16, integer(1, 10**4), "sequences observed"),
        "T": Key(48, integer(3, 10**4), "observations per sequence"),
        "w0": Key(0.25, number(), "initial value of every coupling"),
        "train_left": Key(True, flag(), "false: the left couplings stay at w0 (experiment 4's planted learner "
                                        "that adapts only its right-hand couplings)"),
        "pulse_width": Key(0.04, number_in(0.005, 0.2), "optical width of the local-speed pulse"),
        "pulse_start": Key(0.15, number_in(0, 0.3), "start of the local-speed pulse (probes at 0.35..0.8)"),
        "packet_width": Key(0.08, number_in(0.005, 0.2), "optical width of the geodesic packet"),
        "packet_start": Key(0.2, number_in(0, 1), "start of the geodesic packet"),
        "packet_duration": Key(0.6, number_in(0.05, 5), "time the packet is followed"),
    }),
    measures=KindMeasures(
        descriptions=MappingProxyType({
            "local_speed": "max over probe intervals |pulse speed / speed from the learned c(x) - 1|",
            "geodesic": "max_t |packet centroid - null geodesic of -c_l(x)^2 dt^2 + dx^2| / distance travelled"}),
        evaluate=evaluate, point_bytes=point_bytes, width="neurons",
        controls=MappingProxyType({"positive": "couplings hand-set from the world's c(x)",
                                   "negative": "each learned network against c(x) read off its couplings permuted "
                                               "over the sites"}))))
