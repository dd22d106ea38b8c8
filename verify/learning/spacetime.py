"""Experiment 4 of docs/experiments.md, the learning evidence of `spacetime.emergent_metric` and
`geodesic.wave_packet`: a network whose 2N local couplings are learned by SGD from observations of a string with
a position-dependent speed; c(x) is read off the learned weights, and the network's own pulses and packets are
compared with the metric -c(x)^2 dt^2 + dx^2 built from that c(x) (never from an input).

Orchestration only (world, learning rule, read-off and measures: :mod:`nnqg.numerics._learned_medium`). Both
claims share one training per (seed, profile, settings), kept for the process.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.numerics import _learned_medium as _lm

from .._model import LearningEvidence, Measurement, NumericContext, classify, decide_learning
from ._common import mean_se, merge_settings, one_blas_thread

CLAIM_KEY = 41
PREREGISTRATION = "docs/experiments.md, section 4 (emergent metric and geodesics from learned couplings), 2026-11-25"
TAU, SIGMAS = 0.05, 3.0

#: the pre-registered learning system (docs/experiments.md section 4)
SETTINGS: Mapping[str, Any] = MappingProxyType({
    "world_speed": "1 + 0.3*sin(2*pi*x)", "ell": 3.0, "observation_noise": 0.0, "refine": 4, "courant": 0.8,
    "n_seq": 16, "T": 48, "batch_size": 8, "n_steps": 3000, "w0": 0.25, "train_left": True,
    "snapshots": (0, 100, 300, 1000, 3000),
    "pulse_width": 0.04, "pulse_start": 0.15, "probes": _lm.PROBES,
    "packet_width_quick": 0.08, "packet_width_full": 0.05, "packet_start": 0.2, "packet_duration": 0.6,
    "sizes_quick": (128, 256), "replicates_quick": 3,
    "sizes_full": (128, 256, 512), "replicates_full": 5,
})

#: trained systems of this process, by (seed, profile, settings): both claims use one training
_TRAINED: dict[Any, Any] = {}


def _world_speed(formula: str) -> Callable[[np.ndarray], np.ndarray]:
    from nnqg.verify.claims.spacetime import _numeric, _speed

    return _numeric(_speed({"network_speed": formula}), "world_speed")


def _train(ctx: NumericContext, s: Mapping[str, Any]) -> dict[str, Any]:
    """World data and learned couplings for every size and replicate of the profile (cached)."""
    prof = "quick" if ctx.quick else "full"
    key = (ctx.seed, prof, tuple(sorted((k, repr(v)) for k, v in s.items())))
    if key in _TRAINED:
        return _TRAINED[key]
    sizes, reps = tuple(s[f"sizes_{prof}"]), int(s[f"replicates_{prof}"])
    if not sizes or reps < 2 or any(not isinstance(n, int) or n < 64 for n in sizes):
        raise InvalidArgument(f"sizes_{prof}, replicates_{prof}: need integer sizes >= 64 and >= 2 replicates, "
                              f"got {sizes}, {reps}")
    c_w = _world_speed(s["world_speed"])
    c_max = float(np.max(c_w(np.arange(4096) / 4096)))
    out: dict[str, Any] = {"sizes": sizes, "replicates": reps, "c_world": c_w, "runs": {}}
    for j, n in enumerate(sizes):
        tau = s["courant"] / (n * c_max)
        runs = []
        for r in range(reps):
            ctx.report(f"learned couplings N={n}, replicate {r + 1}/{reps}", (j + r / reps) / len(sizes))
            rng = ctx.rng(CLAIM_KEY, n, r)
            obs = _lm.string_world(rng, n, c_w, n_seq=s["n_seq"], T=s["T"], ell=s["ell"], tau=tau,
                                   observation_noise=s["observation_noise"], refine=s["refine"])
            runs.append(_lm.train_couplings(obs, rng, batch_size=s["batch_size"], n_steps=s["n_steps"],
                                            w0=s["w0"], snapshots=s["snapshots"], train_left=s["train_left"]))
        out["runs"][n] = (tau, runs)
    if len(_TRAINED) >= 4:
        _TRAINED.pop(next(iter(_TRAINED)))
    _TRAINED[key] = out
    return out


def _measure(which: str, s: Mapping[str, Any], quick: bool) -> Callable[..., dict[str, float]]:
    if which == "speed":
        return lambda wp, wm, c, tau: _lm.arrival_speed_distance(
            wp, wm, c, tau, x0=s["pulse_start"], width=s["pulse_width"], probes=np.asarray(s["probes"]))
    width = s["packet_width_quick" if quick else "packet_width_full"]
    return lambda wp, wm, c, tau: _lm.centroid_distance(wp, wm, c, tau, x0=s["packet_start"], width=width,
                                                        duration=s["packet_duration"])


_distance = _lm.learned_distance


def run(ctx: NumericContext, which: str, settings: Mapping[str, Any] | None = None) -> LearningEvidence:
    """One claim's learning part: ``which`` = "speed" (spacetime.emergent_metric) or "geodesic"
    (geodesic.wave_packet), with the pre-registered :data:`SETTINGS` or changed ones."""
    if which not in ("speed", "geodesic"):
        raise InvalidArgument(f"which: 'speed' or 'geodesic', got {which!r}")
    s = merge_settings(SETTINGS, settings)
    with one_blas_thread():
        tr = _train(ctx, s)
        measure = _measure(which, s, ctx.quick)
        sizes, reps, c_w = tr["sizes"], tr["replicates"], tr["c_world"]
        last = max(s["snapshots"])
        ladder, trend = {}, {}
        for n in sizes:
            tau, runs = tr["runs"][n]
            ladder[f"N={n}"] = list(mean_se([_distance(measure, t.wp, t.wm, (t.wp, t.wm), tau) for t in runs]))
        n = sizes[-1]
        tau, runs = tr["runs"][n]
        for k in s["snapshots"]:
            trend[f"step {k}"] = list(mean_se([_distance(measure, *t.snapshots[k], t.snapshots[k], tau)
                                               for t in runs]))
        learned = ladder[f"N={n}"]
        wp_h, wm_h = _lm.hand_set_couplings(c_w, n, tau)
        positive = _distance(measure, wp_h, wm_h, (wp_h, wm_h), tau)
        negative = []
        for r, t in enumerate(runs):
            perm = ctx.rng(CLAIM_KEY, n, r, 2).permutation(n)
            negative.append(_distance(measure, t.wp, t.wm, (t.wp[perm], t.wm[perm]), tau))
        xh = (np.arange(n) + 0.5) / n
        c_err = [float(np.max(np.abs(c(xh) / c_w(xh) - 1))) if (c := _lm.read_speed(t.wp, t.wm, tau)) is not None
                 else float("nan") for t in runs]
    what = {"speed": "local propagation speed of the learned network vs c(x) read off its weights",
            "geodesic": "packet centroid of the learned network vs the null geodesic of the learned metric"}[which]
    m = Measurement(what, *learned, classify(*learned, TAU, SIGMAS))
    status, reason, controls = decide_learning(
        [m], Measurement("couplings hand-set from the world's c(x)", positive, 0.0),
        Measurement("learned network vs the metric read off its couplings permuted over the sites",
                    *mean_se(negative)), TAU, SIGMAS)
    quantity = {"speed": "max over probe intervals |measured speed / speed from the learned c(x) - 1|",
                "geodesic": "max_t |packet centroid - null geodesic of -c_l(x)^2 dt^2 + dx^2| / distance travelled"
                }[which]
    details = {
        "decision_size": {"neurons": n, "replicates": reps, "training_steps": last, "update_duration": tau},
        "size_ladder (mean, se) after training": ladder,
        "training_trend (mean, se) at the decision size": trend,
        "learned c vs the world's c: max relative difference (mean, se)": list(mean_se(c_err)),
        "sgd_step_size": list(mean_se([t.gamma for t in runs])),
        "negative_control_per_replicate": negative,
        "settings": dict(s),
    }
    return LearningEvidence(
        status=status, reason=reason,
        system=(f"coupled ring network of {n} neurons, its {2 * n} local weights learned by mini-batch SGD "
                f"(B={s['batch_size']}, {last} steps) from observations of a string with speed "
                f"{s['world_speed']}; c(x) read off the learned weights; {reps} replicates"),
        quantity=quantity, measured=(m,), threshold=TAU, sigmas=SIGMAS, power=TAU + SIGMAS * m.se,
        controls=controls, preregistration=PREREGISTRATION, details=details)


def metric_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """The learning part of spacetime.emergent_metric (local speed)."""
    return run(ctx, "speed")


def geodesic_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """The learning part of geodesic.wave_packet (packet centroids)."""
    return run(ctx, "geodesic")
