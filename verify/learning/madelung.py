r"""Learning experiments Q1 and Q2 (docs/experiments.md): the Madelung pair (docs/theory.md section 3) measured on
learners.

Q1, plain SGD (issue 11): the two-parameter regression and the tanh network of width 1 (sweep task kinds
``linear_regression``, ``tanh_network``), phase :math:`\Phi = -U`, potential V = U. Q2, the paper's route at a
fixed number of neurons (issue 12, experiment 1): binary hidden neurons in equilibrium at temperature T, SGD on
their free energy (:mod:`nnqg.numerics._free_energy`), :math:`\Phi = -\bar F`, V = U the averaged loss; compared
with plain SGD on U of the same network. Controls (:mod:`nnqg.numerics._control_diffusions`) at the same sizes.

One run per (seed, profile) serves three claims: ``madelung.continuity`` (weak continuity with
:math:`\gamma\nabla\Phi`), ``madelung.hamilton_jacobi`` (Nelson's Newton law with V) and
``schrodinger.equivalence`` (the Schrodinger description of a learner: max of the Newton distance and the ellipse
circulation in quanta). Estimators: :mod:`nnqg.numerics._ensemble_measures`; decision:
:func:`nnqg.verify._model.decide_learning` with tau = 0.1, k = 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from nnqg.numerics import _control_diffusions as ctl
from nnqg.numerics import _free_energy as fe
from nnqg.numerics._ensemble import Ensemble
from nnqg.numerics._ensemble_measures import NelsonDistances, WeakFormDistance, continuity_distance, \
    fokker_planck_distance, nelson_distances
from nnqg.numerics._tasks import Setting, task_kind

from .._model import LearningEvidence, Measurement, NumericContext
from ._common import Profile, evidence, kept, measure, one_blas_thread, stream

KEY = 0x5131  # the experiment's own random streams: stream(seed, KEY, ...)
TAU, SIGMAS = 0.1, 2.0
GAMMA, BATCH = 0.1, 2
PROFILES = {False: Profile(n_members=3000, n_steps=120, anchors=(40, 70, 100), window=4, n_boot=12),
            True: Profile(n_members=2000, n_steps=60, anchors=(20, 40), window=3, n_boot=8)}
DATA = {"n_data": 256, "noise": 1.0, "slope": 1.0, "intercept": -0.5}
#: the free-energy network of Q2
FE = {"n_hidden": 3, "n_data": 128, "temperature": 0.5, "init_std": 0.3}
#: the controls (docs/experiments.md, Q1)
TRANSPORT = {"k": 0.1, "nu": 0.0025, "mu0": (0.9, -0.9), "s0": 0.3}
COHERENT = {"omega": 0.1, "hbar": 0.05}
LANGEVIN = {"k": 0.5, "nu": 0.0025}
SECTION = {"Q1": "Q1. Madelung on plain SGD learners", "Q2": "Q2. Madelung at a fixed number of neurons"}


@dataclass(frozen=True, eq=False)
class SystemResult:
    """One ensemble measured: continuity (weak form with the model phase), the Nelson measures with the model
    potential, the weak Fokker-Planck distance with the model diffusion, and any extra numbers."""

    label: str
    n_params: int
    continuity: WeakFormDistance
    nelson: NelsonDistances
    fokker_planck: WeakFormDistance
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def schrodinger(self) -> tuple[float, float]:
        """max(Newton distance, ellipse circulation in quanta) with the SE of the larger."""
        n, c = self.nelson.newton, self.nelson.circulation
        if c is None or not c.quanta > n.distance:
            return n.distance, n.se
        return c.quanta, c.se

    def numbers(self) -> dict[str, Any]:
        nl = self.nelson
        c = nl.circulation
        out = {"K": self.n_params, "nu": nl.nu, "d_spread (relative spread of D's eigenvalues)": nl.d_spread,
               "osmotic distance (reported: tests nu only)": [nl.osmotic.distance, nl.osmotic.se],
               "fokker_planck distance (weak form, model D)": [self.fokker_planck.distance, self.fokker_planck.se],
               "continuity distance": [self.continuity.distance, self.continuity.se],
               "newton distance": [nl.newton.distance, nl.newton.se],
               "newton terms rms": dict(nl.newton.term_rms),
               "ellipse circulation (quanta, hbar = 2 nu/gamma)": [c.quanta, c.se] if c else None,
               # power against a planted model error, with probability 0.8 (0: already beyond tau unplanted)
               "smallest planted F -> (1 + eps) F reported NOT SUPPORTED (continuity)": self.continuity.detectable(
                   "free_energy", sigmas=SIGMAS, threshold=TAU),
               "smallest planted V -> (1 + eps) V reported NOT SUPPORTED (Newton)": nl.newton.detectable(
                   "potential", sigmas=SIGMAS, threshold=TAU)}
        out.update(self.extra)
        return out


@dataclass(frozen=True, eq=False)
class MadelungRun:
    profile: Profile
    systems: tuple[SystemResult, ...]
    comparison: SystemResult
    transport: SystemResult
    coherent: SystemResult
    langevin: SystemResult


def _measure(label: str, ens: Ensemble, prof: Profile, boot: np.random.Generator, gamma: float, batch: int,
             extra: Mapping[str, Any] | None = None, newton: Ensemble | None = None) -> SystemResult:
    """The measures of one ensemble; ``newton``: the same snapshots with grad_loss = grad V when the potential
    of the Newton law is not the descended objective."""
    common = dict(gamma=gamma, batch_size=batch, anchors=prof.anchors, window=prof.window)
    with np.errstate(all="ignore"):
        cont = continuity_distance(ens, **common)
        nl = nelson_distances(newton or ens, **common, degree=2, n_boot=prof.n_boot, rng=boot, circulation=True)
        fp = fokker_planck_distance(ens, **common)
    return SystemResult(label=label, n_params=ens.n_params, continuity=cont, nelson=nl, fokker_planck=fp,
                        extra=dict(extra or {}))


def _sgd_kind(kind: str, seed: int, j: int, prof: Profile, **task: Any) -> Ensemble:
    k = task_kind(kind)
    defaults = {key: v.default for key, v in k.task_keys.items()}
    run = {key: v.default for key, v in k.run_keys.items()}
    width = task.pop("width", None)
    s = Setting(task={**defaults, **DATA, **task}, run=run, gamma=GAMMA, batch_size=BATCH,
                n_members=prof.n_members, n_steps=prof.n_steps, init_std=0.3, width=width)
    ens = k.simulate(s, stream(seed, KEY, j))
    return replace(ens, grad_free_energy=lambda Q, s: -ens.grad_loss(Q))  # Phi = -U: no hidden neuron fluctuates


def _free_energy_pair(seed: int, prof: Profile) -> tuple[Ensemble, Ensemble, Ensemble, fe.FreeEnergyModel]:
    """Q2: the network learning on its free energy (with the Newton view V = U), and the comparison (plain SGD on
    U) from the same task, initial ensemble and mini-batch stream."""
    rng = stream(seed, KEY, 3)
    task = fe.make_free_energy_task(rng, n_hidden=FE["n_hidden"], n_data=FE["n_data"], slope=DATA["slope"],
                                    intercept=DATA["intercept"], noise=DATA["noise"],
                                    temperature=FE["temperature"])
    model = fe.FreeEnergyModel(task)
    q0 = model.initial_ensemble(rng, prof.n_members, FE["init_std"])
    q = fe.simulate(model, q0, gamma=GAMMA, batch_size=BATCH, n_steps=prof.n_steps, rng=stream(seed, KEY, 4))
    plain = fe.FreeEnergyModel(task, objective="average_loss")
    qp = fe.simulate(plain, q0, gamma=GAMMA, batch_size=BATCH, n_steps=prof.n_steps, rng=stream(seed, KEY, 4))
    ens = model.ensemble(q)
    return ens, replace(ens, grad_loss=model.grad_average_loss), plain.ensemble(qp), model


def run(ctx: NumericContext) -> MadelungRun:
    """Every system, comparison and control of Q1 and Q2 at the profile's sizes, once per (seed, profile) for the
    three claims that read it."""
    with one_blas_thread():  # small matrices: threads only contend; one thread gives the same sums everywhere
        return kept(_RUNS, ctx, _compute)


_RUNS: dict[tuple[int, bool], MadelungRun] = {}


def _compute(ctx: NumericContext) -> MadelungRun:
    seed, prof = int(ctx.seed), PROFILES[bool(ctx.quick)]
    steps = 7
    ctx.report("Q1: SGD on the regression", 0 / steps)
    reg = _measure("Q1 regression, plain SGD (K = 2), Phi = -U, V = U",
                   _sgd_kind("linear_regression", seed, 1, prof), prof, stream(seed, KEY, 11), GAMMA, BATCH)
    ctx.report("Q1: SGD on the tanh network", 1 / steps)
    tanh = _measure("Q1 tanh network of width 1, plain SGD (K = 4), Phi = -U, V = U",
                    _sgd_kind("tanh_network", seed, 2, prof, width=1, trainable="all"), prof,
                    stream(seed, KEY, 12), GAMMA, BATCH)
    ctx.report("Q2: SGD on the free energy of hidden neurons", 2 / steps)
    ens_f, ens_v, ens_p, model = _free_energy_pair(seed, prof)
    # the Newton law with V = F-bar (the objective) is reported beside the registered V = U
    alt = nelson_distances(ens_f, gamma=GAMMA, batch_size=BATCH, anchors=prof.anchors, window=prof.window,
                           degree=2, n_boot=prof.n_boot, rng=stream(seed, KEY, 15), circulation=False)
    fe_res = _measure(f"Q2 free-energy network (K = 4, T = {FE['temperature']:g}), SGD on F, Phi = -F, V = U",
                      ens_f, prof, stream(seed, KEY, 13), GAMMA, BATCH, newton=ens_v,
                      extra={"newton distance with V = F-bar (reported)": [alt.newton.distance, alt.newton.se]})
    ctx.report("Q2 comparison: plain SGD on the averaged loss", 3 / steps)
    comp = _measure("Q2 comparison: the same network, plain SGD on U, Phi = -U, V = U", ens_p, prof,
                    stream(seed, KEY, 14), GAMMA, BATCH)
    ctx.report("controls", 4 / steps)
    n, T = prof.n_members, prof.n_steps
    tr = TRANSPORT
    transport = _measure(
        f"Nelson diffusion carried by v = -gamma k q (k = {tr['k']:g}), Phi = -k|q|^2/2",
        ctl.transported_gaussian(stream(seed, KEY, 21), n_members=n, n_steps=T, gamma=GAMMA, k=tr["k"], nu=tr["nu"],
                                 mu0=tr["mu0"], s0=tr["s0"]), prof, stream(seed, KEY, 31), GAMMA, 1)
    om, hb = COHERENT["omega"], COHERENT["hbar"]
    s = math.sqrt(hb * GAMMA / 2 / om)
    coherent = _measure(
        f"Nelson diffusion of a coherent state of V = k|q|^2/2 (omega = {om:g}, hbar = {hb:g})",
        ctl.coherent_state(stream(seed, KEY, 22), n_members=n, n_steps=T, gamma=GAMMA, k=om ** 2 / GAMMA, hbar=hb,
                           a=(3 * s, 0.0), b=(0.0, 3 * s * om)), prof, stream(seed, KEY, 32), GAMMA, 1)
    lg = LANGEVIN
    langevin = _measure(
        f"stationary plain learning on U = k|q|^2/2 (gamma k = {GAMMA * lg['k']:g}), Phi = -U, V = U",
        ctl.stationary_langevin(stream(seed, KEY, 23), n_members=n, n_steps=T, gamma=GAMMA, k=lg["k"], nu=lg["nu"]),
        prof, stream(seed, KEY, 33), GAMMA, 1)
    ctx.report("done", 1.0)
    return MadelungRun(profile=prof, systems=(reg, tanh, fe_res), comparison=comp, transport=transport,
                       coherent=coherent, langevin=langevin)


_SYSTEM = ("ensembles of N independent learners trained by mini-batch SGD from data (gamma 0.1, B 2): Q1 the "
           "two-parameter regression and a tanh network of width 1; Q2 a network of 3 binary hidden neurons in "
           "equilibrium at T = 0.5 learning by SGD on their free energy F = -T ln Z (exact enumeration)")


def _details(r: MadelungRun) -> dict[str, Any]:
    return {"profile": r.profile.to_json(), "systems": {s.label: s.numbers() for s in r.systems},
            "controls": {c.label: c.numbers() for c in (r.transport, r.coherent, r.langevin)},
            "comparison": {r.comparison.label: r.comparison.numbers()},
            "independent of --potential": "the learners and controls do not use the claim's potential input"}


def _madelung_evidence(ctx: NumericContext, quantity: str, distance: Callable[[SystemResult], Any],
                       positive: Callable[[MadelungRun], SystemResult]) -> LearningEvidence:
    """The rule on Q1 and Q2's systems for one measure (``distance``: system -> (distance, SE, details))."""
    r = run(ctx)

    def m(s: SystemResult) -> Measurement:
        d, se, det = distance(s)
        return measure(s.label, d, se, TAU, SIGMAS, det)
    return evidence(system=_SYSTEM, quantity=quantity, measured=[m(s) for s in r.systems], positive=m(positive(r)),
                    negative=m(r.langevin), tau=TAU, k=SIGMAS, section=f"{SECTION['Q1']}; {SECTION['Q2']}",
                    details=_details(r), comparisons=[m(r.comparison)])


def continuity_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """``madelung.continuity``: d/dt E[phi] = E[gamma grad Phi . grad phi] with the model phase (Q1, Q2)."""
    return _madelung_evidence(
        ctx, "weak continuity with the model's current velocity gamma grad Phi (Phi = minus the descended free "
        "energy): max over Hermite test functions of |d/dt E[phi] - E[gamma grad Phi . grad phi]| / (size of its "
        "terms)", lambda s: (s.continuity.distance, s.continuity.se, {"worst test function": s.continuity.worst}),
        lambda r: r.transport)


def hamilton_jacobi_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """``madelung.hamilton_jacobi``: Nelson's Newton law with V = U (Q1, Q2)."""
    return _madelung_evidence(
        ctx, "Nelson's stochastic Newton law (gradient of the quantum Hamilton-Jacobi equation) with V = U the "
        "averaged loss, m = 1/gamma, nu = mean tr D / K: rms of its residual over the sum of its terms' rms "
        "(cross-fitted drift fits of degree 2)",
        lambda s: (s.nelson.newton.distance, s.nelson.newton.se, {"terms rms": dict(s.nelson.newton.term_rms)}),
        lambda r: r.coherent)


def schrodinger_evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """``schrodinger.equivalence`` as a description of learners: max(Newton distance, ellipse circulation)."""
    r = run(ctx)

    def m(s: SystemResult) -> Measurement:
        d, se = s.schrodinger
        return measure(s.label, d, se, TAU, SIGMAS, {"newton": [s.nelson.newton.distance, s.nelson.newton.se],
                                                     "ellipse circulation (quanta)": [s.nelson.circulation.quanta,
                                                                                      s.nelson.circulation.se]})
    return evidence(system=_SYSTEM, quantity="the Schrodinger description of the learners: max of the Newton-law "
                    "distance (V = U) and the circulation of the current velocity around the one-sigma ellipse in "
                    "quanta 2 pi hbar gamma, hbar = 2 nu / gamma (the ensembles have no node, so the circulation "
                    "tests only that v is a gradient, n = 0)",
                    measured=[m(s) for s in r.systems[:2]], positive=m(r.coherent), negative=m(r.langevin),
                    tau=TAU, k=SIGMAS, section=SECTION["Q1"], details=_details(r))
