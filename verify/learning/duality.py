"""Experiment 5 of docs/experiments.md, the learning evidence of `duality.report`: one network, the ring
W(q) = q1 diag(S, S^T) + q2 I of :mod:`nnqg.numerics._task_shift_ring`, whose two trainable variables learn by
mini-batch SGD (an ensemble of learners) while its neurons evolve; the quantum-side measures on the ensemble of
its trainable variables (:mod:`nnqg.numerics._ensemble_measures`) and the wave measure of experiment 3 on its
neuron states, from the same run, side by side, each with its own controls.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from nnqg.numerics import _learned_network as _ln
from nnqg.numerics import _task_shift_ring as _ring
from nnqg.numerics._ensemble import Ensemble
from nnqg.numerics._ensemble_measures import fokker_planck_distance, nelson_distances

from .._model import SUPPORTED, LearningEvidence, Measurement, NumericContext, classify, decide_learning
from . import lorentz as _lorentz
from ._common import control_pair, mean_se, merge_settings, one_blas_thread

CLAIM_KEY = 51
PREREGISTRATION = ("docs/experiments.md, section 5 (duality on one learning network), 2026-11-25; Madelung control "
                   "size changed 2026-11-26 (section 5, Changes)")
TAU, SIGMAS = 0.1, 3.0

#: the pre-registered learning system and controls (docs/experiments.md section 5)
SETTINGS: Mapping[str, Any] = MappingProxyType({
    "sites_quick": 64, "sites_full": 128, "members_quick": 2000, "members_full": 4000,
    "ell": 2.0, "process_noise": 0.1, "observation_noise": 0.0, "n_seq": 64, "T": 64,
    "gamma": 0.1, "batch_size": 4, "n_steps": 400, "init_centre": (0.5, 0.5), "init_std": 0.05,
    "anchors": (300, 350, 390), "window": 4, "degree": 2, "bootstrap": 16, "block": 4,
    "random_matrices": 5,
    # controls: Fokker-Planck (OU with the model's drift and noise; noise x4 for the negative), Nelson ground
    # state (positive) and stationary Langevin learning (negative) for the Madelung distance; the two Madelung
    # controls have their own ensemble size (docs/experiments.md section 5, Changes, 2026-11-26: at M = 4000 the
    # positive control's Newton distance, 0.05 at infinite size, is not resolved below tau = 0.1 at 3 SE)
    "madelung_control_members_quick": 32000, "madelung_control_members_full": 32000,
    "fp_k": 1.0, "fp_D": 0.01, "fp_gamma": 0.1, "nelson_a": 0.1, "nelson_nu": 0.05,
    "langevin_k": 1.0, "langevin_gamma": 0.1, "langevin_nu": 0.01,
})


def _chain(rng: np.random.Generator, q0: np.ndarray, n_steps: int, decay: float, noise_var: float) -> np.ndarray:
    """q <- (1 - decay) q + sqrt(noise_var) xi in 2 dimensions, every member from q0: (n_steps + 1, M, 2)."""
    q = np.empty((n_steps + 1,) + q0.shape)
    q[0] = q0
    for s in range(n_steps):
        q[s + 1] = (1 - decay) * q[s] + np.sqrt(noise_var) * rng.standard_normal(q0.shape)
    return q


def _quadratic(q: np.ndarray, k: float, sigma: float) -> Ensemble:
    """An ensemble with model U = k|q|^2/2 and a constant per-example covariance sigma I (batch size 1)."""
    return Ensemble(q=q, grad_loss=lambda Q: k * Q, grad_cov=lambda Q: np.broadcast_to(
        sigma * np.eye(2), (len(Q), 2, 2)).copy(), loss=lambda Q: 0.5 * k * np.sum(Q * Q, axis=1))


def _quantum(ens: Ensemble, gamma: float, batch: int, s: Mapping[str, Any], rng: np.random.Generator
             ) -> dict[str, float]:
    common = dict(gamma=gamma, batch_size=batch, anchors=s["anchors"], window=s["window"])
    fp = fokker_planck_distance(ens, **common)
    nl = nelson_distances(ens, **common, degree=s["degree"], n_boot=s["bootstrap"], rng=rng, circulation=False)
    mad, mad_se = max((nl.osmotic.distance, nl.osmotic.se), (nl.newton.distance, nl.newton.se))
    return {"fp": fp.distance, "fp_se": fp.se, "madelung": mad, "madelung_se": mad_se,
            "osmotic": nl.osmotic.distance, "osmotic_se": nl.osmotic.se, "newton": nl.newton.distance,
            "newton_se": nl.newton.se, "nu": nl.nu, "d_spread": nl.d_spread}


def _stationary(start: np.random.Generator, steps: np.random.Generator, members: int, n_steps: int, decay: float,
                noise_var: float) -> np.ndarray:
    """:func:`_chain` started from its own stationary law N(0, noise_var / (1 - (1 - decay)^2)) in each coordinate."""
    s2 = noise_var / (1 - (1 - decay) ** 2)
    return _chain(steps, np.sqrt(s2) * start.standard_normal((members, 2)), n_steps, decay, noise_var)


def madelung_controls(ctx: NumericContext, s: Mapping[str, Any], members: int) -> dict[str, dict[str, float]]:
    r"""The Madelung distance's controls, ``members`` learners each, observed as the learning system is.

    Positive: Nelson's ground state of :math:`V = k|q|^2/2` (m = 1), the stationary reversible AR(1)
    :math:`q \leftarrow (1-a)q + \sqrt{2\nu}\,\xi` with :math:`k = \nu^2/s^2`, :math:`s^2 = 2\nu/(1-(1-a)^2)`
    its stationary variance. Its one-step increments give :math:`u = -aq` against :math:`\nu\nabla\ln p =
    -a(1-a/2)q`, so the Newton distance at infinite size is :math:`a(1-a/4)/(1+(1-a/2)^2)` (0.051 at a = 0.1), not 0.
    Negative: stationary Langevin learning on :math:`U = k|q|^2/2` (drift :math:`\gamma kq`), Newton distance
    :math:`(1-\gamma k)/(1+\gamma k)`."""
    n, a, nu = s["n_steps"], s["nelson_a"], s["nelson_nu"]
    s2 = 2 * nu / (1 - (1 - a) ** 2)
    q = _stationary(ctx.rng(CLAIM_KEY, 12), ctx.rng(CLAIM_KEY, 13), members, n, a, 2 * nu)
    out = {"madelung_positive": _quantum(_quadratic(q, nu**2 / s2**2, 2 * nu), 1.0, 1, s, ctx.rng(CLAIM_KEY, 14))}
    g, k, nu = s["langevin_gamma"], s["langevin_k"], s["langevin_nu"]
    q = _stationary(ctx.rng(CLAIM_KEY, 15), ctx.rng(CLAIM_KEY, 16), members, n, g * k, 2 * nu)
    out["madelung_negative"] = _quantum(_quadratic(q, k, 2 * nu / g**2), g, 1, s, ctx.rng(CLAIM_KEY, 17))
    return out


def _controls(ctx: NumericContext, s: Mapping[str, Any], members: int, madelung_members: int
              ) -> dict[str, dict[str, float]]:
    n, q0 = s["n_steps"], np.asarray(s["init_centre"]) + s["init_std"] * ctx.rng(CLAIM_KEY, 9).standard_normal(
        (members, 2))
    g, k, D = s["fp_gamma"], s["fp_k"], s["fp_D"]
    out = {}
    for name, var in (("fp_positive", 2 * D), ("fp_negative", 8 * D)):
        q = _chain(ctx.rng(CLAIM_KEY, 10, int(var == 8 * D)), q0, n, g * k, var)
        out[name] = _quantum(_quadratic(q, k, 2 * D / g**2), g, 1, s, ctx.rng(CLAIM_KEY, 11))
    return {**out, **madelung_controls(ctx, s, madelung_members)}


def _wave(states: np.ndarray, n: int, block: int, residual: _ln.WaveResidual) -> dict[str, float]:
    Utt, Uxx, _ = _ln.coarse_second_differences(states, n, block=block, tau=1.0 / n)
    return _ln.wave_distance(Utt, Uxx, residual)


def run(ctx: NumericContext, settings: Mapping[str, Any] | None = None) -> LearningEvidence:
    """The experiment (module docstring) with the pre-registered :data:`SETTINGS`, or changed ones."""
    s = merge_settings(SETTINGS, settings)
    prof = "quick" if ctx.quick else "full"
    n, members, b = int(s[f"sites_{prof}"]), int(s[f"members_{prof}"]), int(s["block"])
    madelung_members = int(s[f"madelung_control_members_{prof}"])
    from nnqg.verify.claims.lorentz import wave_inputs

    residual = _lorentz._residual(wave_inputs()["metric"])
    with one_blas_thread():
        ctx.report("duality: the ring network learns", 0.0)
        rng = ctx.rng(CLAIM_KEY, 1)
        task = {"sites": n, **{k: s[k] for k in ("ell", "process_noise", "observation_noise", "n_seq", "T")}}
        model = _ring.RingModel(*_ring.world_data(task, rng))
        q0 = np.asarray(s["init_centre"]) + s["init_std"] * rng.standard_normal((members, 2))
        q = _ring.train_ensemble(model, q0, s["gamma"], s["batch_size"], s["n_steps"], rng)
        ens = Ensemble(q=q, grad_loss=model.grad, grad_cov=model.grad_cov, loss=model.loss)
        ctx.report("duality: quantum side (trainable variables)", 0.3)
        quantum = _quantum(ens, s["gamma"], s["batch_size"], s, ctx.rng(CLAIM_KEY, 2))
        ctx.report("duality: gravitational side (neuron states)", 0.6)
        last = max(s["anchors"])
        steps = b * ((n // 2) // b)
        y0 = _lorentz._test_state(n)
        states = _ring.ring_free_run(q[last], y0, steps)
        waves = [_wave(states[:, m], n, b, residual) for m in range(members)]
        wave, wave_se = mean_se([w["distance"] for w in waves])
        ctx.report("duality: controls", 0.8)
        ctrl = _controls(ctx, s, members, madelung_members)
        wave_pos = _wave(_ring.ring_free_run(np.array([[1.0, 0.0]]), y0, steps)[:, 0], n, b, residual)["distance"]
        wave_neg = mean_se([_wave(_ln.free_run(_ln.random_weights(ctx.rng(CLAIM_KEY, 20, r), 2 * n), y0, steps),
                                  n, b, residual)["distance"] for r in range(int(s["random_matrices"]))])
    measured = (
        Measurement("quantum side: weak Fokker-Planck distance of the trainable variables", quantum["fp"],
                    quantum["fp_se"]),
        Measurement("quantum side: Madelung distance (max of osmotic, stochastic Newton with V = U)",
                    quantum["madelung"], quantum["madelung_se"]),
        Measurement("gravitational side: wave-equation distance of the neuron states", wave, wave_se))
    measured = tuple(Measurement(m.label, m.distance, m.se, classify(m.distance, m.se, TAU, SIGMAS))
                     for m in measured)
    pos = [Measurement("OU with the model's drift and noise, Fokker-Planck", ctrl["fp_positive"]["fp"],
                       ctrl["fp_positive"]["fp_se"]),
           Measurement("Nelson ground state, Madelung", ctrl["madelung_positive"]["madelung"],
                       ctrl["madelung_positive"]["madelung_se"]),
           Measurement("diag(S, S^T), wave", wave_pos, 0.0)]
    neg = [Measurement("OU with 4x the model's noise, Fokker-Planck", ctrl["fp_negative"]["fp"],
                       ctrl["fp_negative"]["fp_se"]),
           Measurement("stationary Langevin learning, Madelung", ctrl["madelung_negative"]["madelung"],
                       ctrl["madelung_negative"]["madelung_se"]),
           Measurement("random matrix, wave", *wave_neg)]
    positive, negative = control_pair(pos, neg)
    status, reason, controls = decide_learning(measured, positive, negative, TAU, SIGMAS)

    def verdict(ms: list[Measurement]) -> str:
        st = [classify(m.distance, m.se, TAU, SIGMAS) for m in ms]
        return SUPPORTED if all(x == SUPPORTED for x in st) else ("NOT SUPPORTED" if "NOT SUPPORTED" in st
                                                                  else "INCONCLUSIVE")

    def ctl(m: Measurement) -> list[Any]:
        return [m.distance, m.se, classify(m.distance, m.se, TAU, SIGMAS)]

    details = {
        "network": {"neurons": 2 * n, "trainable": "q1 (neighbour weight), q2 (self weight)", "members": members,
                    "q at the last anchor (mean)": q[last].mean(0).tolist(),
                    "q at the last anchor (sd)": q[last].std(0).tolist(), "sgd_step_size": s["gamma"]},
        "quantum side (trainable variables)": {**quantum, "verdict": verdict(list(measured[:2]))},
        "gravitational side (neuron states)": {
            "wave_distance": [wave, wave_se], "fitted_c (mean, se)": list(mean_se([w["c"] for w in waves])),
            "verdict": verdict([measured[2]])},
        "controls per measure": {m.label: ctl(m) for m in (*pos, *neg)},
        "control sizes": {"Fokker-Planck (members)": members, "Madelung (members)": madelung_members,
                          "random matrices": int(s["random_matrices"])},
        "control ensembles": ctrl,
        "settings": dict(s),
    }
    return LearningEvidence(
        status=status, reason=reason,
        system=(f"ring of {2 * n} neurons, W(q) = q1 diag(S, S^T) + q2 I; {members} learners of q by mini-batch SGD "
                f"(gamma {s['gamma']:g}, B={s['batch_size']}, {s['n_steps']} steps) on next-state prediction of "
                f"travelling signals; the same run's neuron states for the wave equation"),
        quantity=("quantum side: weak Fokker-Planck and Madelung (Nelson) distances of the learners' q at steps "
                  f"{tuple(s['anchors'])}; gravitational side: wave distance of the block-averaged states of "
                  f"W(q) at step {last}, mean over learners"),
        measured=measured, threshold=TAU, sigmas=SIGMAS, power=max(TAU + SIGMAS * m.se for m in measured),
        controls=controls, preregistration=PREREGISTRATION, details=details)


def evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """The claim's learning part: :func:`run` with the pre-registered settings."""
    return run(ctx)
