"""Experiment 3 of docs/experiments.md, the learning evidence of `lorentz.wave_equation`: does a recurrent
network whose dense weight matrix is learned by SGD (next-state prediction on data of a world with travelling
signals) approach a permutation (shift) structure, and do its own block-averaged states obey the wave equation?

Orchestration only: the world, the learning rule and the two measures live in
:mod:`nnqg.numerics._learned_network`; the wave operator is the claim's generated kernel (from its metric), the
free-run test state is the calibration's. Every parameter below is the pre-registered one; ``run`` takes changed
settings for planted changes (tests) and size maps.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.numerics import _learned_network as _ln
from nnqg.numerics._network import two_population_shift_weights

from .._model import LearningEvidence, Measurement, NumericContext, classify, decide_learning
from ._common import control_pair, mean_se, merge_settings, one_blas_thread

CLAIM_KEY = 31
PREREGISTRATION = "docs/experiments.md, section 3 (Lorentz symmetry from learning), 2026-11-25"
TAU, SIGMAS = 0.1, 3.0

#: the pre-registered learning system (docs/experiments.md section 3)
SETTINGS: Mapping[str, Any] = MappingProxyType({
    "ell": 2.0, "process_noise": 0.1, "observation_noise": 0.0, "smear": 0.0,
    "n_seq": 64, "T": 64, "batch_size": 16, "n_steps": 2000, "block": 4,
    "snapshots": (0, 100, 300, 1000, 2000),
    "sizes_quick": (32, 64), "replicates_quick": 3,
    "sizes_full": (32, 64, 128), "replicates_full": 5,
})


def _residual(metric: Any) -> _ln.WaveResidual:
    """The claim's wave operator (kernel generated from its metric) as residual(c, U_tt, U_xx)."""
    from nnqg.verify.claims.lorentz import C, _wave_kernel

    kern, names = _wave_kernel(metric(C))
    order = {}
    for name, d in names.items():
        counts = {s.name: n for s, n in d.variable_count} if hasattr(d, "variable_count") else {}
        order[name] = (counts.get("t", 0), counts.get("x", 0))
    tt = [k for k, v in order.items() if v == (2, 0)]
    xx = [k for k, v in order.items() if v == (0, 2)]
    if set(order) - set(tt) - set(xx) or len(tt) != 1 or len(xx) != 1:
        raise InvalidArgument(f"metric: the learning experiment evaluates wave operators in u_tt and u_xx only; "
                              f"this metric's needs {sorted(order)}")
    return lambda c, a, b: kern(c=c, **{tt[0]: a, xx[0]: b})[0]


_test_state = _ln.free_run_state


def measure(W: np.ndarray, n: int, block: int, residual: _ln.WaveResidual) -> dict[str, float]:
    """Both distances of one weight matrix on 2n neurons (:func:`nnqg.numerics._learned_network.network_measures`)."""
    return _ln.network_measures(W, n, block, residual)


def _size(ctx: NumericContext, n: int, s: Mapping[str, Any], reps: int, residual: _ln.WaveResidual,
          frac: tuple[float, float]) -> dict[str, Any]:
    """Train R replicates at n sites per channel; measure them at every snapshot, and both controls."""
    snaps = tuple(s["snapshots"])
    per_snap: dict[int, list[dict[str, float]]] = {k: [] for k in snaps}
    negative, gammas = [], []
    for r in range(reps):
        ctx.report(f"learned network N={n}, replicate {r + 1}/{reps}", frac[0] + (frac[1] - frac[0]) * r / reps)
        rng = ctx.rng(CLAIM_KEY, n, r)
        X, Y = _ln.travelling_world(rng, n, n_seq=s["n_seq"], T=s["T"], ell=s["ell"],
                                    process_noise=s["process_noise"], observation_noise=s["observation_noise"],
                                    smear=s["smear"])
        tr = _ln.train_linear_predictor(X, Y, _ln.random_weights(rng, 2 * n), rng, batch_size=s["batch_size"],
                                        n_steps=s["n_steps"], snapshots=snaps)
        gammas.append(tr.gamma)
        for k in snaps:
            per_snap[k].append(measure(tr.snapshots[k], n, s["block"], residual))
        negative.append(measure(_ln.random_weights(ctx.rng(CLAIM_KEY, n, r, 1), 2 * n), n, s["block"], residual))
    positive = measure(two_population_shift_weights(n).toarray(), n, s["block"], residual)
    return {"snapshots": per_snap, "negative": negative, "positive": [positive] * reps, "gamma": gammas}


def run(ctx: NumericContext, inputs: Mapping[str, Any], settings: Mapping[str, Any] | None = None
        ) -> LearningEvidence:
    """The experiment (module docstring) with the pre-registered :data:`SETTINGS`, or changed ones."""
    s = merge_settings(SETTINGS, settings)
    prof = "quick" if ctx.quick else "full"
    sizes, reps = tuple(s[f"sizes_{prof}"]), int(s[f"replicates_{prof}"])
    if not sizes or reps < 2 or any(n % s["block"] or n < 3 * s["block"] for n in sizes):
        raise InvalidArgument(f"sizes_{prof}, replicates_{prof}: need sizes that are multiples of block="
                              f"{s['block']} and >= {3 * s['block']}, and >= 2 replicates; got {sizes}, {reps}")
    residual = _residual(inputs["metric"])
    with one_blas_thread():
        runs = {n: _size(ctx, n, s, reps, residual, (j / len(sizes), (j + 1) / len(sizes)))
                for j, n in enumerate(sizes)}
    n_dec, last = sizes[-1], max(s["snapshots"])
    dec = runs[n_dec]
    quantities = (("d_wave", "wave-equation distance of the learned network's block-averaged states"),
                  ("d_perm", "distance of the learned W from the nearest permutation"))
    measured, pos, neg, per_measure = [], [], [], {}
    for key, label in quantities:
        m, se = mean_se([x[key] for x in dec["snapshots"][last]])
        measured.append(Measurement(label, m, se, classify(m, se, TAU, SIGMAS)))
        pos.append(Measurement(f"diag(S, S^T), {key}", *mean_se([x[key] for x in dec["positive"]])))
        neg.append(Measurement(f"random matrix, {key}", *mean_se([x[key] for x in dec["negative"]])))
        per_measure[key] = {"learned": [m, se, measured[-1].status],
                            "positive": [pos[-1].distance, pos[-1].se,
                                         classify(pos[-1].distance, pos[-1].se, TAU, SIGMAS)],
                            "negative": [neg[-1].distance, neg[-1].se,
                                         classify(neg[-1].distance, neg[-1].se, TAU, SIGMAS)]}
    positive, negative = control_pair(pos, neg)
    status, reason, controls = decide_learning(measured, positive, negative, TAU, SIGMAS)

    def summary(rows: list[dict[str, float]]) -> dict[str, list[float]]:
        return {k: list(mean_se([x[k] for x in rows])) for k in rows[0]}

    details = {
        "per_measure": per_measure,
        "decision_size": {"sites_per_channel": n_dec, "neurons": 2 * n_dec, "weights": (2 * n_dec) ** 2,
                          "replicates": reps, "training_steps": last},
        "learned_at_decision": summary(dec["snapshots"][last]),
        "training_trend (mean, se) at the decision size": {f"step {k}": summary(v)
                                                           for k, v in dec["snapshots"].items()},
        "size_ladder (mean, se) after training": {f"N={n}": summary(runs[n]["snapshots"][last]) for n in sizes},
        "negative_control": summary(dec["negative"]),
        "sgd_step_size": list(mean_se(dec["gamma"])),
        "settings": {k: v for k, v in s.items()},
    }
    power = max(TAU + SIGMAS * m.se for m in measured)
    return LearningEvidence(
        status=status, reason=reason,
        system=(f"recurrent linear network of {2 * n_dec} neurons, dense W ({(2 * n_dec) ** 2} weights) learned by "
                f"mini-batch SGD (B={s['batch_size']}, {last} steps) to predict the next state of a world of "
                f"two travelling channels (process noise {s['process_noise']:g}); {reps} replicates"),
        quantity=("d_wave: ||U_tt - c^2 U_xx|| / (||U_tt|| + c^2 ||U_xx||) on space-time block averages of the "
                  "network's free-run states (c fitted); d_perm: ||W - P*||_F / (||W||_F + ||P*||_F), P* the "
                  "nearest permutation"),
        measured=tuple(measured), threshold=TAU, sigmas=SIGMAS, power=power, controls=controls,
        preregistration=PREREGISTRATION, details=details)


def evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """The claim's learning part: :func:`run` with the pre-registered settings."""
    return run(ctx, inputs)
