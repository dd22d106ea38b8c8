r"""Sweep task ``recurrent_predictor``: the learning system of experiment 3 (Lorentz symmetry from learning,
docs/experiments.md) mapped over its size, SGD step size, batch size and replicates. A recurrent linear network
:math:`y(t+1) = Wy(t)` of 2N neurons with a dense W (:math:`4N^2` weights, initially i.i.d. N(0, 1/2N)) is trained
by mini-batch SGD to predict the next state of a world of two travelling channels
(:func:`~nnqg.numerics._learned_network.travelling_world`,
:func:`~nnqg.numerics._learned_network.train_linear_predictor`); the measures are the experiment's own
(:func:`~nnqg.numerics._learned_network.network_measures`):

* ``wave_equation``: :math:`d_{wave} = \|U_{tt} - c^2U_{xx}\|/(\|U_{tt}\| + c^2\|U_{xx}\|)` on space-time block
  averages of the trained network's free run (c fitted; the flat wave operator, which is the claim's kernel for
  its default metric);
* ``permutation``: :math:`d_{perm} = \|W - P^*\|_F/(\|W\|_F + \|P^*\|_F)`, :math:`P^*` the nearest permutation.

Axes: ``grid.width`` = N, sites per channel (2N neurons; a multiple of ``task.block``, at least 6 blocks),
``grid.gamma`` = the SGD step size (the experiment's own rule, half the mean-square stability bound, gives 0.037
and 0.087 at N = 32, 0.020 and 0.055 at N = 64, for B = 4 and 16 with the default world: steps beyond twice that
diverge, and a diverged replicate is a non-finite distance, never masked), ``grid.batch_size`` = B,
``grid.ensemble`` = replicates, ``run.n_steps`` = training steps. Per point, replicate by replicate from the point's stream: the world, the initial W, the mini-batches. The
distance of a description is the mean over replicates, its se the standard error of that mean.

The controls of experiment 3 are measured at every point (``<d>_positive``, ``<d>_negative``: the hand-set shift
:math:`\mathrm{diag}(S, S^T)` and as many random matrices as replicates, drawn after the learners) and separate
under these measures: the shift gives 0 for both, random matrices give :math:`d_{perm} \approx 0.6` and
:math:`d_{wave}` = 0.3-0.8 (N = 32) (tests/unit/test_sweep_learning.py).

>>> import numpy as np
>>> from nnqg.numerics._tasks import Setting, task_kind
>>> k = task_kind("recurrent_predictor")
>>> s = Setting(task={n: key.default for n, key in k.task_keys.items()}, run={}, gamma=0.05, batch_size=4,
...             n_members=2, n_steps=5, init_std=0.0, width=24)
>>> sorted(k.measures.evaluate(s, np.random.default_rng(0)))  # doctest: +NORMALIZE_WHITESPACE
['permutation', 'permutation_negative', 'permutation_positive', 'wave_equation', 'wave_equation_negative',
 'wave_equation_positive']
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

from . import _learned_network as _ln
from ._network import two_population_shift_weights
from ._replicates import mean_se
from ._tasks import Key, KindMeasures, Setting, TaskKind, integer, number, number_in, register

__all__ = ["KIND", "evaluate", "n_parameters"]

MAX_SITES = 256


def evaluate(s: Setting, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Train ``s.n_members`` replicates at N = ``s.width`` and measure them (module docstring)."""
    t, n = s.task, int(s.width or 0)
    wave, perm = [], []
    for _ in range(s.n_members):
        X, Y = _ln.travelling_world(rng, n, n_seq=t["n_seq"], T=t["T"], ell=t["ell"],
                                    process_noise=t["process_noise"], observation_noise=t["observation_noise"],
                                    smear=t["smear"])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging step size: NaN, reported as such
            W = _ln.train_linear_predictor(X, Y, _ln.random_weights(rng, 2 * n), rng, batch_size=s.batch_size,
                                           n_steps=s.n_steps, gamma=s.gamma).W
            m = _ln.network_measures(W, n, t["block"])
        wave.append(m["d_wave"])
        perm.append(m["d_perm"])
    # experiment 3's controls at this point, drawn after the learners (their numbers do not move): the hand-set
    # shift diag(S, S^T) and as many random matrices as replicates
    shift = _ln.network_measures(two_population_shift_weights(n).toarray(), n, t["block"])
    rnd = [_ln.network_measures(_ln.random_weights(rng, 2 * n), n, t["block"]) for _ in range(s.n_members)]
    out = {"wave_equation": mean_se(wave), "permutation": mean_se(perm)}
    for d, key in (("wave_equation", "d_wave"), ("permutation", "d_perm")):
        out[f"{d}_positive"] = (shift[key], 0.0)
        out[f"{d}_negative"] = mean_se([m[key] for m in rnd])
    return out


def n_parameters(task: Mapping[str, Any], width: int | None) -> int:
    """K = (2N)^2, the weights of the dense W; N must be a multiple of task.block and at least 6 blocks (the free
    run of N/2 updates must give 3 coarse times)."""
    b = int(task["block"])
    if width is None or width % b or not 6 * b <= width <= MAX_SITES:
        raise InvalidArgument(f"grid.width: {width!r} sites per channel; use multiples of task.block = {b} from "
                              f"{6 * b} to {MAX_SITES} (the free run of width/2 updates must fill 3 coarse times)")
    return (2 * int(width)) ** 2


def point_bytes(task: Mapping[str, Any], width: int | None, replicates: int, n_steps: int) -> int:
    """The world (n_seq (T + 1) x 2N floats: states, kicks, observation noise, the transitions X and Y; seven
    copies), about twelve 2N x 2N matrices (W0, W, C, the update, the measures' permutation, shift and
    differences) and the free run, with a quarter more for temporaries and Python objects; one replicate at a
    time."""
    n2 = 2 * int(width or 0)
    rows = task["n_seq"] * (task["T"] + 1)
    return int(1.25 * 8 * (7 * rows * n2 + 12 * n2 * n2 + (n2 // 2 + 2) * n2))


KIND = register(TaskKind(
    name="recurrent_predictor",
    summary="dense recurrent W on 2 x width neurons, SGD on next-state prediction of travelling signals "
            "(experiment 3; measured by its own wave and permutation distances)",
    simulate=None, n_parameters=n_parameters, has_width=True,
    data_bytes=lambda task: 0,  # the data depend on the width: counted in point_bytes
    task_keys=MappingProxyType({
        "ell": Key(2.0, number(True, "correlation length"), "correlation length of the initial fields, in sites"),
        "process_noise": Key(0.1, number_in(0, 10), "Gaussian kick per update of the world's channels"),
        "observation_noise": Key(0.0, number_in(0, 10), "Gaussian noise on what the neurons read"),
        "smear": Key(0.0, number_in(0, 1, open_hi=True), "fraction of each channel that stays put per update "
                                                         "(0: a pure shift; > 0: a planted non-permutation world)"),
        "n_seq": Key(64, integer(1, 10**4), "sequences in the data set"),
        "T": Key(64, integer(1, 10**4), "updates per sequence"),
        "block": Key(4, integer(1, 64), "box size of the space-time block averages (sites and updates)"),
    }),
    measures=KindMeasures(
        descriptions=MappingProxyType({
            "wave_equation": "||U_tt - c^2 U_xx|| / (||U_tt|| + c^2 ||U_xx||) of the trained network's block-"
                             "averaged free run (c fitted)",
            "permutation": "||W - P*||_F / (||W||_F + ||P*||_F), P* the nearest permutation matrix"}),
        evaluate=evaluate, point_bytes=point_bytes, width="sites per channel (2 x width neurons)",
        controls=MappingProxyType({"positive": "the hand-set shift diag(S, S^T)",
                                   "negative": "random matrices, i.i.d. N(0, 1/2N), one per replicate"}))))
