r"""Learning experiment Q3 (docs/experiments.md): is the circulation of a grand-canonical learner quantised
(docs/theory.md section 4)?

The learner (:mod:`nnqg.numerics._grand_canonical`) exchanges hidden neurons with an environment at chemical
potential :math:`\mu`, learns by SGD on the free energy of its present neurons, and adapts its step size and batch
size to hold Nelson's constant of its noise at :math:`\hbar^* = \mu/(2\pi)`. Its ensemble is an annulus around the
hole of a rotation-invariant loss; the circulation of the current velocity around circles in the annulus, in quanta
:math:`2\pi\hbar^*\bar\gamma` (:mod:`nnqg.numerics._circulation`), must be an integer. Controls: Nelson's
diffusion of a vortex eigenstate (one quantum) and Wallstrom's flow with :math:`\alpha = 1/2`
(:mod:`nnqg.numerics._control_diffusions`), at the same sizes. A winding of 0 cannot tell quantisation from its
absence (every gradient flow has it) and is INCONCLUSIVE, never SUPPORTED. Claim: ``schrodinger.quantisation``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from nnqg.numerics import _control_diffusions as ctl
from nnqg.numerics import _grand_canonical as gc
from nnqg.numerics._circulation import LoopCirculation, loop_circulation

from .._model import INCONCLUSIVE, SUPPORTED, LearningEvidence, Measurement, NumericContext
from ._common import Profile, evidence, kept, measure, one_blas_thread, stream

KEY = 0x5133  # the experiment's own random streams: stream(seed, KEY, ...)
TAU, SIGMAS = 0.2, 2.0
PROFILES = {False: Profile(n_members=4000, n_steps=120, anchors=(40, 70, 100), window=8, n_boot=16),
            True: Profile(n_members=2000, n_steps=60, anchors=(25, 40), window=6, n_boot=16)}
LEARNER = {"n_data": 256, "n_slots": 3, "r0": 1.0, "noise": 1.0, "temperature": 0.25, "mu": 0.2,
           "silent_cost": 1.0, "gamma_max": 0.1, "batch_min": 2, "batch_max": 32}
CANONICAL = {"gamma": 0.1, "batch_size": 6}
CONTROL_WIDTH = 0.5
SECTION = "Q3. Schrodinger: a learner that adjusts its own number of neurons, step size and batch size"


@dataclass(frozen=True, eq=False)
class Loops:
    """One ensemble's loop circulation and what it was measured with."""

    label: str
    circulation: LoopCirculation
    gamma: float
    hbar: float
    extra: Mapping[str, Any]

    def numbers(self) -> dict[str, Any]:
        c = self.circulation
        return {"mean quanta n-bar": [c.mean_quanta, c.mean_se], "winding n*": c.winding,
                "distance |n-bar - n*|": [c.distance, c.se], "loop spread max|n(r) - n-bar|": [c.spread,
                                                                                            c.spread_se],
                "quanta per anchor and loop": c.quanta, "loop radii": c.radii,
                "hole ratio (density at the centre / on the median circle)": c.hole,
                "fraction inside the smallest loop": c.inside, "gamma": self.gamma, "hbar": self.hbar,
                **self.extra}


@dataclass(frozen=True, eq=False)
class QuantisationRun:
    profile: Profile
    learner: Loops
    canonical: Loops
    vortex: Loops
    wallstrom: Loops


def _window_steps(prof: Profile) -> np.ndarray:
    return np.unique(np.concatenate([np.arange(t - prof.window - 1, t + prof.window + 1) for t in prof.anchors]))


def _noise_hbar(q: np.ndarray, steps: np.ndarray, gamma: float) -> float:
    r"""Nelson's constant of the learners' own noise, 2 nu / gamma, with nu = E|dq_{s+1} - dq_s|^2 / (4K): the
    difference of consecutive increments removes the smooth drift to first order."""
    s = steps[(steps >= 1) & (steps <= q.shape[0] - 2)]
    d = (q[s + 1] - q[s]) - (q[s] - q[s - 1])
    nu = float(np.mean(np.sum(d * d, axis=2))) / (4 * q.shape[2])
    return 2 * nu / gamma


def _learner(label: str, run: gc.GrandCanonicalRun, task: gc.GrandCanonicalTask, prof: Profile,
             boot: np.random.Generator) -> Loops:
    steps = _window_steps(prof)
    g_steps = steps[steps < run.gamma.shape[0]]
    gbar = float(run.gamma[g_steps].mean())
    c = loop_circulation(run.q, anchors=prof.anchors, window=prof.window, gamma=gbar, hbar=task.hbar,
                         n_boot=prof.n_boot, rng=boot)
    hn = _noise_hbar(run.q, steps, gbar)
    extra = {"hbar* = mu / (2 pi)": task.hbar, "hbar of the learners' own noise (2 nu / gamma)": hn,
             "mean quanta in units of the noise hbar": c.mean_quanta * task.hbar / hn if hn > 0 else float("nan"),
             "mean occupancy (present neurons / slots)": float(run.occupancy[steps].mean()),
             "exchange acceptance rate": float(run.accepted[g_steps].mean()),
             "mean batch size": float(run.batch[g_steps].mean()),
             "batch size range": [int(run.batch[g_steps].min()), int(run.batch[g_steps].max())],
             "step size range": [float(run.gamma[g_steps].min()), float(run.gamma[g_steps].max())]}
    return Loops(label=label, circulation=c, gamma=gbar, hbar=task.hbar, extra=extra)


def run(ctx: NumericContext) -> QuantisationRun:
    """The learner, its canonical comparison and the two controls at the profile's sizes, once per (seed,
    profile)."""
    with one_blas_thread():  # small matrices: threads only contend; one thread gives the same sums everywhere
        return kept(_RUNS, ctx, _compute)


_RUNS: dict[tuple[int, bool], QuantisationRun] = {}


def _compute(ctx: NumericContext, plant: Mapping[str, Any] | None = None) -> QuantisationRun:
    """``plant``: keyword arguments of a planted error for the learner's simulation (tests, selftest)."""
    seed, prof = int(ctx.seed), PROFILES[bool(ctx.quick)]
    n, T = prof.n_members, prof.n_steps
    ctx.report("Q3: the grand-canonical learner", 0.0)
    task = gc.make_grand_canonical_task(stream(seed, KEY, 1), **LEARNER)
    label = f"Q3 grand-canonical learner (mu = {task.mu:g}, T = {task.temperature:g}, target hbar = mu/2pi)"
    learner = _learner(label,
                       gc.simulate(task, n_members=n, n_steps=T, rng=stream(seed, KEY, 2), **(plant or {})), task, prof,
                       stream(seed, KEY, 11))
    ctx.report("Q3 comparison: canonical SGD on the same network", 0.5)
    canonical = _learner(f"Q3 comparison: every neuron present, no exchange, gamma {CANONICAL['gamma']:g}, "
                         f"B {CANONICAL['batch_size']}",
                         gc.simulate(task, n_members=n, n_steps=T, rng=stream(seed, KEY, 3), exchange=False,
                                     adapt=False, **CANONICAL), task, prof, stream(seed, KEY, 12))
    ctx.report("Q3 controls", 0.75)
    g, hb = task.gamma_max, task.hbar
    nu = hb * g / 2
    omega = nu / CONTROL_WIDTH ** 2
    ctl_args = dict(n_members=n, n_steps=T, gamma=g, k=omega ** 2 / g, hbar=hb, substeps=8)
    loops = dict(anchors=prof.anchors, window=prof.window, gamma=g, hbar=hb, n_boot=prof.n_boot)
    vortex = Loops("Nelson diffusion of the vortex eigenstate psi ~ r exp(i theta) exp(-r^2/(4 s^2)) (one quantum)",
                   loop_circulation(ctl.winding_state(stream(seed, KEY, 21), alpha=1.0, **ctl_args).q, **loops,
                                    rng=stream(seed, KEY, 31)), g, hb, {})
    wallstrom = Loops("Wallstrom's flow, alpha = 1/2 (half a quantum; no single-valued psi)",
                      loop_circulation(ctl.winding_state(stream(seed, KEY, 22), alpha=0.5, **ctl_args).q, **loops,
                                       rng=stream(seed, KEY, 32)), g, hb, {})
    ctx.report("done", 1.0)
    return QuantisationRun(profile=prof, learner=learner, canonical=canonical, vortex=vortex, wallstrom=wallstrom)


def _m(x: Loops) -> Measurement:
    c = x.circulation
    return measure(x.label, c.distance, c.se, TAU, SIGMAS, {"n-bar": c.mean_quanta, "winding n*": c.winding,
                                                            "hole ratio": c.hole})


def _extra_rule(x: Loops, m: Measurement) -> tuple[str, str] | None:
    """The pre-registered conditions beyond the common rule, for a learner: no hole, or a zero winding the rule
    would accept, is INCONCLUSIVE (with the reason)."""
    c = x.circulation
    if c.hole >= 1.0:
        return (INCONCLUSIVE, f"no hole: the density at the centre is {c.hole:.2g} of that on the median circle, "
                              "so the loops enclose no node and only n = 0 is possible")
    if c.winding == 0 and m.status == SUPPORTED:
        return (INCONCLUSIVE, f"no circulation: n-bar = {c.mean_quanta:.3g} +- {c.mean_se:.2g} quanta, quantised "
                              "only trivially (n = 0 holds for every gradient flow, whatever the theory says)")
    return None


def _learner_measure(x: Loops) -> tuple[Measurement, tuple[str, str] | None]:
    """A learner's measurement, its own status already under the extra rule (so the report never lists a zero
    winding as SUPPORTED), and the override of the verdict if the rule applies."""
    m = _m(x)
    rule = _extra_rule(x, m)
    return (m if rule is None else replace(m, status=rule[0])), rule


def decide(r: QuantisationRun) -> LearningEvidence:
    """The pre-registered decision of Q3 on a run (docs/experiments.md): the common rule on |n-bar - n*| with the
    vortex and Wallstrom controls; a zero winding that the rule would call SUPPORTED, or no hole, is INCONCLUSIVE."""
    lm, override = _learner_measure(r.learner)
    comparison, _ = _learner_measure(r.canonical)
    details = {"profile": r.profile.to_json(), "learner": r.learner.numbers(), "canonical comparison":
               r.canonical.numbers(), "controls": {x.label: x.numbers() for x in (r.vortex, r.wallstrom)},
               "independent of --potential": "the learner and controls do not use the claim's inputs"}
    return evidence(system="an ensemble of N independent grand-canonical learners: a shared 2-weight filter on 3 "
                    "patches, binary hidden neurons in equilibrium at T = 0.25, neurons exchanged with an environment "
                    "at chemical potential mu = 0.2 (Metropolis), SGD on the free energy from mini-batches of data, "
                    "step size and batch size adapted to hold Nelson's constant of the noise at hbar* = mu/(2 pi)",
                    quantity="circulation of the current velocity around circles in the annulus about the hole, in "
                    "quanta 2 pi hbar* gamma-bar: distance |n-bar - n*| of the mean over loops and anchors from the "
                    "nearest integer n* (a zero winding is INCONCLUSIVE)",
                    measured=[lm], positive=_m(r.vortex), negative=_m(r.wallstrom), tau=TAU, k=SIGMAS,
                    section=SECTION, details=details, comparisons=[comparison], override=override)


def quantisation_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """``schrodinger.quantisation`` on the grand-canonical learner (Q3)."""
    return decide(run(ctx))
