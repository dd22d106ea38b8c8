r"""Calibration of `madelung.continuity` and `madelung.hamilton_jacobi` on Nelson diffusions of constructed states.

**The constructed solutions.** A state :math:`\psi` with mass m and :math:`\hbar` from the claim's
*identification* inputs (:math:`m` = ``mass(gamma, c)``, :math:`\hbar^2` = ``hbar_squared(gamma, c)``): the
closed-form free Gaussian packet and harmonic-oscillator coherent state, or a Crank-Nicolson solution for a user
potential (:mod:`nnqg.numerics._nelson_states`). Trajectories follow Nelson's diffusion
:math:`dq = b\,dt + \sqrt{2\nu}\,dW` with :math:`b = (\hbar/m)(\operatorname{Re}+\operatorname{Im})\psi'/\psi`,
:math:`\nu = \hbar/(2m)`. They are built from :math:`\psi`, so this is a *calibration* of the simulator, the
estimators and the generated kernels, never evidence about learning.

**What is compared.** The ensemble's density is compared with the claim's equations written in the *learning*
parameters :math:`\gamma, c` (kernels generated from the input action), with the *model's* phase-like field
:math:`F = \hbar\arg\psi` of the same state, at Hermite test functions :math:`\varphi_k` centred on the ensemble:

* continuity, weak form: :math:`\tfrac{d}{dt}E[\varphi_k] - E[\varphi_k'\,w(F_q)] = 0`, w = J/p from the action's
  flux (:math:`w = \gamma F_q`); the time derivative is a fourth-order central difference of ensemble means.
  A diffusion that is not Nelson's for this F (another drift, another noise level, another mass) moves its
  density differently and fails; the current velocity measured from the trajectories is not used, because the
  continuity equation holds for the current velocity of *any* diffusion;
* Newton law (hamilton_jacobi): :math:`E[\varphi_k\,\gamma\partial_q\mathcal Q] = 0`, the q-gradient of the quantum
  Hamilton-Jacobi equation with the model's :math:`F_q, F_{qq}, F_{qt}` and :math:`u = \nu\,\partial_q\ln p` of
  the ensemble's density (score matching, :class:`~nnqg.numerics._nelson.ScoreReplicates`): the quantum
  potential is measured on the simulated density, the classical terms are the model's;
* noise level (osmotic relation): :math:`E[y_u\varphi_k] + \nu E[\varphi_k'] = 0` with :math:`y_u` the
  Richardson-combined second difference of the increments (:math:`E[y_u|q] = u + O(\Delta^2)`), :math:`\nu` =
  :math:`\sqrt{\gamma c}/2`. It holds for *any* diffusion with noise level :math:`\nu`, so it is a check of
  :math:`\nu = \hbar\gamma/2` (of hbar), and is reported as such.

**The rule** (:mod:`._monte_carlo`): every residual consistent with zero at every ensemble size (jackknife SE,
Bonferroni Student-t bound, family-wise false alarm 1e-3), the SE-weighted rms falling at :math:`N^{-1/2}` (order
at least 1 - 3.09 of its standard error), and, in the full profile, a study in the snapshot lag
:math:`\Delta` showing that the estimators' bias falls at least as :math:`\Delta^2`.
Each state's lag :math:`\Delta` comes from its own rate by a resolution rule (:func:`resolving_lag`,
:func:`_state_profiles`: :math:`\Omega\Delta \le` :data:`LAG_RESOLUTION`; every state, closed-form or numerical,
since 2026-11-26; a numerical state's :math:`\Omega` follows its evolution, :func:`_rate`), and the SDE step is
halved until the fastest state's floor lag 2h resolves it (:func:`resolving_step`); a state still unresolved at
the finest step (:math:`\Omega > 52`) is outside the calibrated domain: INCONCLUSIVE, neither PASSED nor FAILED,
unless a resolved state's residual fails or, with some state resolved, the pooled summary tests fail; its
components count for no power. For a numerical state (a user
potential), and a closed-form state the rule cannot resolve, a failing lag-dependent residual is rechecked at
:math:`\Delta/2` on the same trajectories (:func:`_lag_recheck`): a failure that moves with the lag and is gone
at :math:`\Delta/2` is the estimators' bias at time scales the lag does not resolve (INCONCLUSIVE); one that
persists, or does not move with the lag, is FAILED.
The integrator's counts (stiff steps taken in substeps, trajectories beyond a numerical state's box) are reported
in the rule, and in ``details.integrator`` where there is something to count; a simulation whose ensemble left
the box beyond the stated rule is INCONCLUSIVE (:func:`_integrator_verdict`).

**Components are inputs.** The state factory, the Schrodinger solver, the drift rule, the noise rule, the SDE
integrator, the time-derivative estimator, the increment targets, the score estimator and the kernel factory are
entries of the
claim's inputs, so a planted error at the simulator or estimator level goes through the same path as a user's
input (``verify/claims/_plants.py``); the code here has no planted switches.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache, wraps
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.derivations._madelung import MadelungSymbols, NelsonSymbols, continuity_flux, euler_lagrange, \
    hermite_test_functions, learning_action, model_weak_velocity, nelson_nu, qhj_gradient_model
from nnqg.numerics import ResidualKernel, compile_residual
from nnqg.numerics._nelson import MAX_SUBSTEP_HALVINGS, STABILITY_BOUND, jackknife_covariance
from nnqg.numerics._nelson_states import PsiTable, coherent_state, drift_table, free_packet, gaussian_table, \
    schrodinger_table

from .._model import NumericContext, NumericResult
from ._monte_carlo import consistency_bound, detection_power, lag_decision, lag_point, monte_carlo_rate
# the resolution rule (profiles, rates, step and lag) lives in its own module; its names are re-exported here
from ._nelson_resolution import FULL, LAG_RESOLUTION, MAX_STEP_HALVINGS, OFFSET, QUICK, Profile, _rechecked, \
    _resolve_step, _state_profiles, resolving_lag, resolving_step, state_rate


#: the largest degree of the score-matching basis chosen by refinement (see _score_degree), and the degree of the
#: robustness recheck of a failure (see _robust_to_the_basis)
MAX_SCORE_DEGREE = 12
ROBUST_SCORE_DEGREE = 16
#: the planted effects whose power is reported, by residual family
EFFECTS = {"continuity": "velocity in the continuity equation x (1 + eps)",
           "newton": "quantum potential x (1 + eps)",
           "noise": "noise level nu in the osmotic relation x (1 + eps)"}


@dataclass(frozen=True)
class Units:
    """Learning parameters (gamma, c) and the identification's (m, hbar)."""

    gamma: float
    c: float
    m: float
    hbar: float


@dataclass(frozen=True)
class NelsonCase:
    """One constructed state: its psi'/psi table, the potential it evolves in (SymPy, in q) and the polynomial
    degree of ln p in the score matching (a Gaussian's ln p is quadratic: degree 4 holds it and two terms that
    must come out zero)."""

    table: PsiTable
    potential: sp.Expr
    degree: int


@dataclass(frozen=True)
class Kernels:
    phi: ResidualKernel      # phi_k(q)
    weak: ResidualKernel     # phi_k' w(F_q); u phi_k + nu phi_k'
    dweak: ResidualKernel    # their derivatives in eps (velocity x (1+eps), nu x (1+eps))
    newton: ResidualKernel   # phi_k * gamma d_q QHJ (model F, measured u)
    dnewton: ResidualKernel  # its derivative in eps (quantum potential x (1+eps))


def units(inputs: Mapping[str, Any]) -> Units:
    """Learning (gamma, c) and the identification's (m, hbar) as floats; bad values name the input."""
    vals = {}
    for key in ("gamma_value", "c_value"):
        v = inputs[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InvalidArgument(f"input {key!r} must be a positive finite number, got {v!r}")
        vals[key] = float(v)
    s = MadelungSymbols.make(1)
    at = {s.gamma: vals["gamma_value"], s.c: vals["c_value"]}
    m = float(sp.sympify(inputs["mass"](s)).subs(at))
    h2 = float(sp.sympify(inputs["hbar_squared"](s)).subs(at))
    if not (m > 0 and h2 > 0 and math.isfinite(m) and math.isfinite(h2)):
        raise InvalidArgument(f"inputs 'mass'/'hbar_squared' give m = {m}, hbar^2 = {h2}: both must be positive")
    return Units(vals["gamma_value"], vals["c_value"], m, math.sqrt(h2))


def user_potential(inputs: Mapping[str, Any]) -> sp.Expr | None:
    """The input potential as a SymPy expression in the real symbol q (None: the closed-form states)."""
    pot = inputs["potential"]
    return None if pot is None else sp.sympify(pot((sp.Symbol("q", real=True),)))


def nelson_states(u: Units, inputs: Mapping[str, Any], t_end: float, h: float) -> list[NelsonCase]:
    """The default state factory: the closed-form free packet and coherent state, or, for a user potential, the
    Gaussian ``user_state`` evolved by the input ``schrodinger_solver`` (a table recorded every h up to t_end)."""
    q = sp.Symbol("q", real=True)
    V = user_potential(inputs)
    if V is None:
        fp, cs = dict(inputs["free_packet"]), dict(inputs["coherent_state"])
        free = free_packet(m=u.m, hbar=u.hbar, s0=float(fp["s0"]), v0=float(fp["p0"]) / u.m, q0=float(fp["q0"]))
        ho = coherent_state(m=u.m, hbar=u.hbar, k=float(cs["k"]), q0=float(cs["q0"]))
        return [NelsonCase(gaussian_table(free, h), sp.S.Zero, 4),
                NelsonCase(gaussian_table(ho, h), sp.Float(cs["k"]) * q**2 / 2, 4)]
    spec = dict(inputs["user_state"])
    Vf = sp.lambdify(q, V, "numpy")
    table = schrodinger_table(inputs["schrodinger_solver"],
                              lambda z: np.broadcast_to(np.asarray(Vf(z), dtype=float), z.shape),
                              m=u.m, hbar=u.hbar, centre=float(spec["q0"]), width=float(spec["s0"]),
                              momentum=float(spec.get("p0", 0.0)), box=float(spec["box"]),
                              points=int(spec["points"]), h=h, n_steps=int(math.ceil(t_end / h)) + 1)
    return [NelsonCase(table, V, 4)]


@lru_cache(maxsize=32)
def _kernels(kinetic: sp.Expr, fisher: sp.Expr, potential: sp.Expr, count: int) -> Kernels:
    """Kernels generated from the action with the given coefficients (SymPy, in the symbols of
    ``MadelungSymbols.make(1)``) and V(q); V enters after the derivation (a generic V(q) is substituted), so any
    real V is handled the same way. The eps-derivatives are SymPy's derivatives of the same residuals with the
    kinetic coefficient, nu and the Fisher coefficient scaled by (1 + eps)."""
    s = MadelungSymbols.make(1)
    n = NelsonSymbols.make(s)
    eps = sp.Symbol("epsilon", real=True)
    nu = nelson_nu(s)
    phis = hermite_test_functions(n, count)
    at_V = lambda e: sp.sympify(e).subs(s.V, potential).doit()

    def w(kin: sp.Expr) -> sp.Expr:
        return model_weak_velocity(continuity_flux(learning_action(s, kinetic_coefficient=kin,
                                                                   fisher_coefficient=fisher), s), s, n)

    def newton(fis: sp.Expr) -> sp.Expr:
        L = learning_action(s, kinetic_coefficient=kinetic, fisher_coefficient=fis)
        return at_V(qhj_gradient_model(euler_lagrange(L, s)["p"], s, n).subs(n.nu, nu))

    d0 = lambda e: sp.diff(e, eps).subs(eps, 0)
    w0, dw = w(kinetic), d0(w(kinetic * (1 + eps)))
    N0, dN = newton(fisher), d0(newton(fisher * (1 + eps)))
    noise = lambda f, scale: n.u * f + scale * nu * sp.diff(f, n.q)
    params = [s.gamma, s.c, n.a, n.ell]
    jetF = [n.q, n.F_q, n.F_qq, n.F_qt, n.u, n.u_q, n.u_qq]
    dphi = [sp.diff(f, n.q) for f in phis]
    return Kernels(
        phi=compile_residual([(f"phi_{k}", f) for k, f in enumerate(phis)], fields=[n.q], parameters=[n.a, n.ell],
                             name="madelung_phi"),
        weak=compile_residual([(f"flux_{k}", df * w0) for k, df in enumerate(dphi)]
                              + [(f"noise_{k}", noise(f, 1)) for k, f in enumerate(phis)],
                              fields=[n.q, n.F_q, n.u], parameters=params, name="madelung_weak"),
        dweak=compile_residual([(f"dflux_{k}", df * dw) for k, df in enumerate(dphi)]
                               + [(f"dnoise_{k}", d0(noise(f, 1 + eps))) for k, f in enumerate(phis)],
                               fields=[n.q, n.F_q, n.u], parameters=params, name="madelung_weak_power"),
        newton=compile_residual([(f"newton_{k}", f * N0) for k, f in enumerate(phis)], fields=jetF,
                                parameters=params, name="madelung_newton"),
        dnewton=compile_residual([(f"dnewton_{k}", f * dN) for k, f in enumerate(phis)], fields=jetF,
                                 parameters=params, name="madelung_newton_power"))


def madelung_kernels(kinetic: sp.Expr, fisher: sp.Expr, potential: sp.Expr, count: int) -> Kernels:
    """The default kernel factory (the ``kernel_factory`` input): kernels generated from the input action."""
    return _kernels(sp.sympify(kinetic), sp.sympify(fisher), sp.sympify(potential), int(count))


# --------------------------------------------------------------------------------------------------------------
# Simulation (memoised: both claims simulate the same trajectories)
# --------------------------------------------------------------------------------------------------------------

_SIMULATIONS: "OrderedDict[tuple, tuple[np.ndarray, dict[str, Any]]]" = OrderedDict()
_SIMULATION_BYTES = 500 * 2**20
#: the integrator's counts of the simulations of the calibration running in this context, by state
_TALLY: "ContextVar[dict[str, dict[str, Any]] | None]" = ContextVar("nelson_integrator_tally", default=None)


def _simulated(key: tuple, run: Callable[[], tuple[np.ndarray, dict[str, Any]]]) \
        -> tuple[np.ndarray, dict[str, Any]]:
    """``run()``'s snapshots and the integrator's counts, kept by ``key`` (which holds every input they depend on,
    callables by identity) so the second claim reuses the first's trajectories; least recently used first out
    beyond a memory budget."""
    if key in _SIMULATIONS:
        _SIMULATIONS.move_to_end(key)
        return _SIMULATIONS[key]
    out, stats = run()
    out.setflags(write=False)
    _SIMULATIONS[key] = (out, stats)
    while sum(a.nbytes for a, _ in _SIMULATIONS.values()) > _SIMULATION_BYTES and len(_SIMULATIONS) > 1:
        _SIMULATIONS.popitem(last=False)
    return out, stats


def _snapshot_steps(times: Sequence[float], lag: float, h: float, offsets: Sequence[int]) -> list[int]:
    sub = lag / h
    if abs(sub - round(sub)) > 1e-9:
        raise InvalidArgument(f"profile: the lag {lag} must be a multiple of the SDE step {h}")
    out = []
    for t in times:
        n0 = t / h
        if abs(n0 - round(n0)) > 1e-9 or t - max(abs(o) for o in offsets) * lag < 0:
            raise InvalidArgument(f"profile: evaluation time {t} must be a multiple of h and >= {OFFSET} lags")
        out += [int(round(n0)) + o * int(round(sub)) for o in offsets]
    return sorted(set(out))


def _simulate(ctx: NumericContext, inputs: Mapping[str, Any], case: NelsonCase, ci: int, stream: tuple[int, ...],
              N: int, steps: list[int], h: float) -> dict[int, np.ndarray]:
    tab = case.table
    key = (ctx.seed, stream, ci, tab.name, repr(sorted(tab.spec.items())), str(case.potential), N, tuple(steps), h,
           inputs["states"], inputs["schrodinger_solver"], inputs["drift_rule"], inputs["noise_rule"],
           inputs["integrator"], inputs["potential"])

    def run() -> tuple[np.ndarray, dict[str, Any]]:
        rng = ctx.rng(*stream)
        nu = float(inputs["noise_rule"](tab.hbar, tab.m))
        stats: dict[str, Any] = {}
        # a numerical state's grid ends are the walls of its box (psi = 0 there); a closed-form table's are not
        out = np.asarray(inputs["integrator"](tab.sample0(rng, N), drift_table(tab, inputs["drift_rule"]), nu, h,
                                              steps, rng, walls=not tab.spec.get("closed_form"), stats=stats),
                         dtype=float)
        return out, stats

    out, stats = _simulated(key, run)
    tally = _TALLY.get()
    if tally is not None and stats:
        t = tally.setdefault(tab.name, {"simulations": 0, "trajectories": 0, "trajectory_steps": 0,
                                        "stiff_steps": 0, "unresolved_steps": 0, "max_substeps": 1,
                                        "outside_steps": 0, "stayed_out": 0, "crossed": 0, "left_box": 0,
                                        "escapes": []})
        t["simulations"] += 1
        t["trajectories"] += N
        t["trajectory_steps"] += N * steps[-1]
        for k in ("stiff_steps", "unresolved_steps", "outside_steps", "stayed_out", "crossed", "left_box"):
            t[k] += stats[k]
        t["max_substeps"] = max(t["max_substeps"], stats["max_substeps"])
        if stats["left_box"] > math.sqrt(N):  # the box rule (_integrator_verdict)
            t["escapes"].append({"N": N, "left_box": stats["left_box"], "crossed": stats["crossed"]})
    return dict(zip(steps, out))


def _integrator_verdict(calibration: Callable[..., NumericResult]) -> Callable[..., NumericResult]:
    r"""``calibration`` with the integrator's counts of its simulations in ``details["integrator"]`` and the rule,
    and the integrator's rule applied to its decision.

    psi = 0 at a numerical state's box walls and a Nelson diffusion never reaches a zero of psi; but a step of the
    discretised diffusion resolves position only to its noise scale :math:`\sigma = \sqrt{2\nu h}` (and the table
    psi only to its grid), so a trajectory near a wall the state's density reaches can cross it by a fraction of
    :math:`\sigma`, and the drift beyond the wall (:func:`nnqg.numerics._nelson.simulate`, walls) brings it back:
    that boundary layer is the scheme's (its weight vanishes with h) and the residuals judge it. A trajectory
    farther than :math:`\sigma` beyond a wall has *left the box*. The rule, per simulation of N trajectories: at
    most :math:`\sqrt N` trajectories may leave the box (a share within :math:`1/\sqrt N`, the Monte-Carlo
    resolution of every ensemble mean; a stated threshold, not a bound derived from the test functions' weight
    beyond the walls, chosen after the counts below were measured: the plain scheme at the Morse-box input lets 167
    of 40,000 leave, under it, although it samples that state worse than the substeps, chi^2 411 against 162); more, or a step the substeps cannot bring within the stability bound,
    makes a calibration that PASSED (or was INCONCLUSIVE) INCONCLUSIVE, with the counts and no power: the
    simulation, not the claim, is then in question; a FAILED stays FAILED, the counts added (since the review of
    2026-11-26: the drift and noise rules are under test, and their planted errors drive trajectories out). (Measured 2026-11-26 on the Morse-wall continuity state, 40,000 trajectories, h =
    0.0025, sigma 0.058: 410 crossed the right wall, depth median 0.013, 90% quantile 0.047, at most 0.16.)"""

    @wraps(calibration)
    def run(ctx: NumericContext, inputs: Mapping[str, Any], which: str, profile: Profile | None = None) \
            -> NumericResult:
        tally: dict[str, dict[str, Any]] = {}
        token = _TALLY.set(tally)
        try:
            n = calibration(ctx, inputs, which, profile)
        finally:
            _TALLY.reset(token)
        if not n.ran or not tally:
            return n
        rule = (n.rule + f"; an SDE step with h|b'| > {STABILITY_BOUND:g} where the scheme evaluates the drift is "
                "taken, for that trajectory, in substeps along a Brownian bridge until every substep is within it ("
                + "; ".join(f"{name}: {t['stiff_steps']} of {t['trajectory_steps']} trajectory-steps, at most "
                            f"{t['max_substeps']} substeps" for name, t in tally.items())
                + "); a PASS becomes INCONCLUSIVE (a FAILED stays FAILED) when, in a simulation of N trajectories of "
                "a numerical state, more than sqrt(N) trajectories end a step farther than sqrt(2 nu h) beyond its "
                f"box's walls, or a step needs more than 2^{MAX_SUBSTEP_HALVINGS} substeps")
        # the counts go into the details where there is something to count (a box, a stiff step): the closed-form
        # states' reports stay what they were before the counts existed
        counted = any(t["stiff_steps"] or t["crossed"] for t in tally.values()) or any(
            not c.get("closed_form") for c in n.details.get("states", ()))
        details = dict(n.details, integrator={name: dict(t) for name, t in tally.items()}) if counted else n.details
        trouble = [f"{name}: " + "; ".join(f"{e['left_box']} of {e['N']} trajectories left the box (farther than "
                                           f"sqrt(2 nu h) beyond its walls; {e['crossed']} crossed them)"
                                           for e in t["escapes"]) for name, t in tally.items() if t["escapes"]]
        trouble += [f"{name}: {t['unresolved_steps']} trajectory-steps beyond h|b'| <= {STABILITY_BOUND:g} at "
                    f"2^{MAX_SUBSTEP_HALVINGS} substeps" for name, t in tally.items() if t["unresolved_steps"]]
        if not trouble:
            return replace(n, rule=rule, details=details)
        why = ("the simulated ensemble is not a sample of the tabulated state (" + "; ".join(trouble)
               + "): the integrator, not the claim, is in question")
        fact = ("every trajectory inside its state's box and every SDE step within the stability bound", False)
        if not (n.ok or n.inconclusive):
            # a FAILED stays FAILED (reviewed 2026-11-26): the drift and noise rules are components under test, and
            # a planted error in them is what drives trajectories into the walls
            return replace(n, rule=rule, details=details, facts=n.facts + (fact,), where=n.where + "; also: " + why)
        return replace(n, rule=rule, details=details, ok=False, inconclusive=True, facts=n.facts + (fact,),
                       where=n.where + "; INCONCLUSIVE: " + why, power={k: math.inf for k in n.power})

    return run


# --------------------------------------------------------------------------------------------------------------
# Residuals
# --------------------------------------------------------------------------------------------------------------

def _group_mean(A: np.ndarray, g: int | None, groups: int) -> np.ndarray:
    """Mean over the last axis, without the points of jackknife group g (point i is in group i mod G)."""
    n = A.shape[-1]
    total = A.sum(axis=-1)
    if g is None:
        return total / n
    part = A[..., g::groups]
    return (total - part.sum(axis=-1)) / (n - part.shape[-1])


def _time_estimator(Q: Sequence[np.ndarray], t: float, lag: float, case: NelsonCase, ker: Kernels, u: Units,
                    groups: int, which: str, inputs: Mapping[str, Any], lag_dependent_only: bool = False) \
        -> tuple[Callable[[int | None], np.ndarray], list[str]]:
    """At one evaluation time (snapshots ``Q`` at j = -2..2): a function of the jackknife group left out that
    returns the residual vector followed by its derivative in eps (the power terms, component by component), and
    the component labels. ``lag_dependent_only`` leaves out the Newton law (model F and the density at the middle
    snapshot: nothing in it depends on the lag), for the lag study."""
    q = Q[OFFSET]
    a, ell = float(q.mean()), float(q.std())
    K = len(ker.phi.labels)
    par = {"gamma": u.gamma, "c": u.c, "a": a, "ell": ell}
    y_u = np.ascontiguousarray(np.asarray(inputs["increment_targets"](Q, lag, OFFSET))[:, 1])
    F = case.table.phase_jet(t, q)
    wk = ker.weak(q=q, F_q=F["F_q"], u=y_u, **par)
    dwk = ker.dweak(q=q, F_q=F["F_q"], u=y_u, **par)
    if which == "continuity":
        phis = [ker.phi(q=x, a=a, ell=ell) for x in Q]
        dphi = np.asarray(inputs["time_derivative"](phis, lag))

        def first(g: int | None) -> tuple[np.ndarray, np.ndarray]:
            return (_group_mean(dphi, g, groups) - _group_mean(wk[:K], g, groups),
                    -_group_mean(dwk[:K], g, groups))

        name = "continuity"
    elif lag_dependent_only:
        def first(g: int | None) -> tuple[np.ndarray, np.ndarray]:
            return np.empty(0), np.empty(0)

        name = ""
    else:
        first = _newton(inputs, q, F, par, ker, u, case.degree, groups)
        name = "newton"

    def estimate(g: int | None) -> np.ndarray:
        r, d = first(g)
        return np.concatenate([r, _group_mean(wk[K:], g, groups), d, _group_mean(dwk[K:], g, groups)])

    labels = ([f"{name}_{k}" for k in range(K)] if name else []) + [f"noise_{k}" for k in range(K)]
    return estimate, labels


def _newton(inputs: Mapping[str, Any], q: np.ndarray, F: Mapping[str, np.ndarray], par: Mapping[str, float],
            ker: Kernels, u: Units, degree: int, groups: int) -> Callable[[int | None], tuple[np.ndarray, np.ndarray]]:
    r"""The Newton-law components and their eps-derivatives, as a function of the jackknife group left out, with
    :math:`u = \nu\lambda'` from score matching of the given degree (:math:`\nu = \sqrt{\gamma c}/2`)."""
    reps = inputs["score_estimator"](q, degree, (par["a"], par["ell"]), groups)
    nu = math.sqrt(u.gamma * u.c) / 2

    def newton(g: int | None) -> tuple[np.ndarray, np.ndarray]:
        lam = reps.jet(g)
        jet = {"u": nu * lam["lambda"], "u_q": nu * lam["lambda_q"], "u_qq": nu * lam["lambda_qq"]}
        return (_group_mean(ker.newton(q=q, **F, **jet, **par), g, groups),
                _group_mean(ker.dnewton(q=q, **F, **jet, **par), g, groups))

    return newton


def _finest_setups(ctx: NumericContext, inputs: Mapping[str, Any], prof: Profile, case: NelsonCase, ci: int,
                   u: Units) -> list[tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]]:
    """(points, model F jet, kernel parameters) at every evaluation time of the largest ensemble."""
    offsets = range(-OFFSET, OFFSET + 1)
    snaps = _simulate(ctx, inputs, case, ci, (0xA11CE, ci, len(prof.levels) - 1), prof.levels[-1],
                      _snapshot_steps(prof.times, prof.lag, prof.h, offsets), prof.h)
    out = []
    for t in prof.times:
        q = snaps[int(round(t / prof.h))]
        out.append((q, case.table.phase_jet(t, q), {"gamma": u.gamma, "c": u.c, "a": float(q.mean()),
                                                    "ell": float(q.std())}))
    return out


def _score_degree(ctx: NumericContext, inputs: Mapping[str, Any], prof: Profile, case: NelsonCase, ci: int,
                  ker: Kernels, u: Units) -> tuple[int | None, list[dict[str, Any]]]:
    r"""The score-matching degree of a numerical state, chosen on the largest ensemble before the study: refine
    d -> d + 2 (from the state's starting degree up to :data:`MAX_SCORE_DEGREE`) until the Newton-law residuals at
    the two degrees agree (every paired difference within the Bonferroni Student-t bound of its jackknife SE),
    then use the finer one. A residual that moves with the degree is the basis's error, not the claim's; None
    when no pair agrees. A closed-form Gaussian state keeps its degree: its ln p is quadratic, the basis holds it."""
    if case.table.spec.get("closed_form"):
        return case.degree, [{"degree": case.degree, "reason": "ln p of a Gaussian is quadratic: the basis holds it"}]
    setups = _finest_setups(ctx, inputs, prof, case, ci, u)
    record = []
    for d in range(case.degree, MAX_SCORE_DEGREE, 2):
        pairs = [(_newton(inputs, q, F, par, ker, u, d, prof.groups),
                  _newton(inputs, q, F, par, ker, u, d + 2, prof.groups)) for q, F, par in setups]
        diff, cov = jackknife_covariance(lambda g: np.concatenate([lo(g)[0] - hi(g)[0] for lo, hi in pairs]),
                                         prof.groups)
        z = float(np.max(np.abs(diff) / np.sqrt(np.diag(cov))))
        bound = consistency_bound(diff.size, prof.groups)
        record.append({"degree": d, "vs": d + 2, "max_abs_z": z, "bound": bound})
        if z <= bound:
            return d + 2, record
    return None, record


def _robust_to_the_basis(ctx: NumericContext, inputs: Mapping[str, Any], prof: Profile, case: NelsonCase, ci: int,
                         ker: Kernels, u: Units) -> dict[str, Any]:
    r"""The Newton-law residuals of the largest ensemble with the most flexible basis,
    :data:`ROBUST_SCORE_DEGREE` (least basis bias, most noise): a failure of a numerical state counts only if it
    persists there; if these residuals are consistent with zero the failure depends on the basis and the
    calibration cannot decide (INCONCLUSIVE)."""
    setups = _finest_setups(ctx, inputs, prof, case, ci, u)
    fns = [_newton(inputs, q, F, par, ker, u, ROBUST_SCORE_DEGREE, prof.groups) for q, F, par in setups]
    r, cov = jackknife_covariance(lambda g: np.concatenate([f(g)[0] for f in fns]), prof.groups)
    z = float(np.max(np.abs(r) / np.sqrt(np.diag(cov))))
    bound = consistency_bound(r.size * len(prof.levels), prof.groups)
    return {"degree": ROBUST_SCORE_DEGREE, "max_abs_z": z, "bound": bound, "consistent": z <= bound}


def _lag_recheck(ctx: NumericContext, inputs: Mapping[str, Any], prof: Profile, case: NelsonCase, ci: int,
                 ker: Kernels, u: Units, which: str) -> dict[str, Any]:
    r"""Do the lag-dependent residuals (continuity, noise level) of the largest ensemble move with the snapshot
    lag? The same trajectories (same stream, extra snapshots) evaluated at :math:`\Delta` and :math:`\Delta/2`; the
    paired differences :math:`r(\Delta) - r(\Delta/2)` with their joint jackknife SE, against the Bonferroni
    Student-t bound over the compared components. A planted error in the equations (a wrong coefficient, a wrong
    noise level) does not depend on the lag, so its residual does not move; the estimators' bias
    (:math:`O(\Delta^2)` for the Richardson-combined increments, :math:`O(\Delta^4)` for the time derivative)
    does. The failure is explained by that bias (INCONCLUSIVE) when both hold: the residuals move (some paired
    difference beyond the bound) and at :math:`\Delta/2` every lag-dependent residual is consistent with zero
    (within the same bound of its own SE): the failure is not there once the lag is refined. A planted error
    persists at :math:`\Delta/2` and stays FAILED, whether or not a lag bias comes with it."""
    half = prof.lag / 2
    sub = half / prof.h
    if abs(sub - round(sub)) > 1e-9 or round(sub) < 1:
        return {"lags": [prof.lag, half], "moves": False, "reason": f"lag/2 = {half:g} is not a multiple of h"}
    offsets = range(-OFFSET, OFFSET + 1)
    li = len(prof.levels) - 1
    N = prof.levels[li]
    steps = sorted(set(_snapshot_steps(prof.times, prof.lag, prof.h, offsets))
                   | set(_snapshot_steps(prof.times, half, prof.h, offsets)))
    snaps = _simulate(ctx, inputs, case, ci, (0xA11CE, ci, li), N, steps, prof.h)
    ests, labels = [], []
    for t in prof.times:
        n0 = int(round(t / prof.h))
        pair = []
        for L in (prof.lag, half):
            s = int(round(L / prof.h))
            est, lab = _time_estimator([snaps[n0 + o * s] for o in offsets], t, L, case, ker, u, prof.groups, which,
                                       inputs, lag_dependent_only=True)
            pair.append((est, len(lab)))
        ests.append(pair)
        labels += [f"t={t:g}: {x}" for x in lab]

    def both(g: int | None) -> np.ndarray:
        out = []
        for (lo, k), (hi, _) in ests:
            a, b = lo(g)[:k], hi(g)[:k]
            out.append(np.concatenate([a, b, a - b]))
        return np.concatenate(out)

    full, cov = jackknife_covariance(both, prof.groups)
    se = np.sqrt(np.diag(cov))
    k = len(labels) // len(prof.times)
    idx = [np.arange(i * 3 * k, (i + 1) * 3 * k) for i in range(len(prof.times))]
    r_lag = np.concatenate([full[i[:k]] for i in idx])
    r_half = np.concatenate([full[i[k:2 * k]] for i in idx])
    diff = np.concatenate([full[i[2 * k:]] for i in idx])
    diff_se = np.concatenate([se[i[2 * k:]] for i in idx])
    half_se = np.concatenate([se[i[k:2 * k]] for i in idx])
    z = np.abs(diff) / diff_se
    z_half = np.abs(r_half) / half_se
    bound = consistency_bound(diff.size, prof.groups)
    j, jh = int(np.argmax(z)), int(np.argmax(z_half))
    moves, vanishes = bool(z[j] > bound), bool(z_half[jh] <= bound)
    return {"lags": [prof.lag, half], "N": N, "bound": bound, "max_abs_z": float(z[j]), "moves": moves,
            "max_abs_z_half_lag": float(z_half[jh]), "worst_half_lag": labels[jh], "vanishes": vanishes,
            "explains": moves and vanishes,
            "worst": labels[j], "families": sorted({lab.split(": ")[1].split("_")[0] for lab, zz in zip(labels, z)
                                                    if zz > bound}),
            "components": [{"component": lab, "residual_lag": float(a), "residual_half_lag": float(b),
                            "difference": float(d), "se": float(e)}
                           for lab, a, b, d, e in zip(labels, r_lag, r_half, diff, diff_se)]}


def _level(ctx: NumericContext, inputs: Mapping[str, Any], case: NelsonCase, ci: int, ker: Kernels, u: Units,
           stream: tuple[int, ...], N: int, times: Sequence[float], lag: float, h: float, groups: int, which: str) \
        -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """One state at one ensemble size, all evaluation times together (one jackknife, so the covariance includes
    the correlation between times): (r, d r / d eps, joint covariance of (r, d r / d eps), labels)."""
    offsets = range(-OFFSET, OFFSET + 1)
    steps = _snapshot_steps(times, lag, h, offsets)
    snaps = _simulate(ctx, inputs, case, ci, stream, N, steps, h)
    sub = int(round(lag / h))
    parts = []
    for t in times:
        n0 = int(round(t / h))
        parts.append(_time_estimator([snaps[n0 + o * sub] for o in offsets], t, lag, case, ker, u, groups, which,
                                     inputs))
    n = [len(p[1]) for p in parts]

    def joint(g: int | None) -> np.ndarray:
        vals = [p[0](g) for p in parts]
        return np.concatenate([v[:k] for v, k in zip(vals, n)] + [v[k:] for v, k in zip(vals, n)])

    full, cov = jackknife_covariance(joint, groups)
    labels = [f"{case.table.name}, t={t:g}: {lab}" for t, p in zip(times, parts) for lab in p[1]]
    return full[:sum(n)], full[sum(n):], cov, labels


def _block_diag(blocks: Sequence[np.ndarray]) -> np.ndarray:
    n = sum(b.shape[0] for b in blocks)
    out = np.zeros((n, n))
    i = 0
    for b in blocks:
        out[i:i + b.shape[0], i:i + b.shape[0]] = b
        i += b.shape[0]
    return out


# --------------------------------------------------------------------------------------------------------------
# The calibration
# --------------------------------------------------------------------------------------------------------------

@_integrator_verdict
def calibrate(ctx: NumericContext, inputs: Mapping[str, Any], which: str, profile: Profile | None = None) \
        -> NumericResult:
    """The calibration of the module docstring for ``which`` in {"continuity", "hamilton_jacobi"}."""
    prof = profile or (QUICK if ctx.quick else FULL)
    if inputs["potential"] is not None and 1 not in tuple(inputs["K_values"]):
        return NumericResult.not_run(
            "the calibration is one-dimensional: a potential in q1, q2 is checked by the derivation only",
            K_values=list(inputs["K_values"]))
    u = units(inputs)
    t_end = max(prof.times) + OFFSET * prof.lag
    if prof.lags:
        t_end = max(t_end, prof.lag_time + OFFSET * max(prof.lags))
    # the states are tabulated up to the profile's lag: the resolution rule only shortens it
    cases = inputs["states"](u, inputs, t_end + prof.h, prof.h)
    step: dict[str, Any] | None = None
    rates: list[list[dict[str, float]]] | None = None
    if prof.resolve_lag:
        prof, step, cases, rates = _resolve_step(prof, cases,
                                                 lambda h: inputs["states"](u, inputs, t_end + h, h))
    profs, lag_rule = _state_profiles(prof, cases, rates)
    if lag_rule is not None and step is not None:
        for r in lag_rule.values():
            r["step"] = step
    s = MadelungSymbols.make(1)
    kin, fis = inputs["kinetic_coefficient"](s), inputs["fisher_coefficient"](s)
    kernels = [inputs["kernel_factory"](kin, fis, c.potential, prof.test_functions) for c in cases]
    basis: dict[str, Any] = {}
    if which == "hamilton_jacobi":
        for ci, (case, ker) in enumerate(zip(cases, kernels)):
            ctx.report(f"score basis, {case.table.name}", 0.0)
            d, rec = _score_degree(ctx, inputs, profs[ci], case, ci, ker, u)
            basis[case.table.name] = {"degree": d if d is not None else MAX_SCORE_DEGREE, "converged": d is not None,
                                      "study": rec}
            cases[ci] = replace(case, degree=d if d is not None else MAX_SCORE_DEGREE)
    rs, covs, grads, labels = [], [], [], []
    total = len(cases) * len(prof.levels)
    for li, N in enumerate(prof.levels):
        blocks = []
        for ci, (case, ker) in enumerate(zip(cases, kernels)):
            ctx.report(f"{case.table.name}, N = {N}", (li * len(cases) + ci) / total)
            blocks.append(_level(ctx, inputs, case, ci, ker, u, (0xA11CE, ci, li), N, prof.times, profs[ci].lag,
                                 prof.h, prof.groups, which))
        rs.append(np.concatenate([b[0] for b in blocks]))
        covs.append(_block_diag([b[2][:b[0].size, :b[0].size] for b in blocks]))
        grads.append((np.concatenate([b[1] for b in blocks]),
                      np.concatenate([np.diag(b[2][b[0].size:, b[0].size:]) for b in blocks]),
                      np.concatenate([np.diag(b[2][:b[0].size, b[0].size:]) for b in blocks])))
        labels = [x for b in blocks for x in b[3]]
    lag_study = _lag_study(ctx, inputs, profs, cases, kernels, u, which) if prof.lags else None
    bound = consistency_bound(sum(r.size for r in rs), prof.groups)
    zs = np.max([np.abs(r) / np.sqrt(np.diag(c)) for r, c in zip(rs, covs)], axis=0)
    recheck: dict[str, Any] = {}
    for ci, (case, ker) in enumerate(zip(cases, kernels)):
        mine = [k for k, lab in enumerate(labels) if lab.startswith(case.table.name)
                and lab.split(": ")[1].split("_")[0] in ("continuity", "noise")]
        if _rechecked(case, lag_rule) and not np.all(zs[mine] <= bound):
            ctx.report(f"lag recheck, {case.table.name}", 0.97)
            recheck[case.table.name] = _lag_recheck(ctx, inputs, profs[ci], case, ci, ker, u, which)
    if which == "hamilton_jacobi":
        ses = np.sqrt(np.diag(covs[-1]))
        newton_z = [float(np.max(np.abs(rs[-1][i]) / ses[i])) for i in
                    [[k for k, lab in enumerate(labels) if lab.startswith(c.table.name) and ": newton_" in lab]
                     for c in cases]]
        for ci, (case, ker) in enumerate(zip(cases, kernels)):
            if not case.table.spec.get("closed_form") and newton_z[ci] > bound:
                ctx.report(f"basis recheck, {case.table.name}", 0.95)
                basis[case.table.name]["recheck"] = _robust_to_the_basis(ctx, inputs, profs[ci], case, ci, ker, u)
    return _decide(prof, which, inputs, cases, u, rs, covs, grads, labels, lag_study, basis, recheck, lag_rule,
                   {c.table.name: p.lag for c, p in zip(cases, profs)},
                   [c.table.name for c in cases if _rechecked(c, lag_rule)])


def _lag_study(ctx: NumericContext, inputs: Mapping[str, Any], profs: Sequence[Profile], cases: list[NelsonCase],
               kernels: list[Kernels], u: Units, which: str) -> dict[str, Any]:
    r"""The lag-dependent residuals (continuity, noise level) at each state's study lags ``lags`` (the same
    ``lag_N`` trajectories for every lag, SDE step ``lag_h``), judged by :func:`._monte_carlo.lag_decision`
    (expected: bias falling at least as :math:`\Delta^2`, the Richardson-combined increments' order; the time
    derivative's is 4). The Newton law does not depend on the lag and is not part of it. The states' study lags
    are the same multiples (4, 2, 1 in the full profile) of their own lags, so the residuals of all states are
    pooled by multiple: the judge uses only the ratios of the lags, and its points' ``lag`` is the first state's
    (``lags`` names every state's)."""
    offsets = range(-OFFSET, OFFSET + 1)
    first = profs[0]
    per_lag: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in first.lags]
    for ci, (case, ker, prof) in enumerate(zip(cases, kernels, profs)):
        ctx.report(f"lag study, {case.table.name} ({ci + 1} of {len(cases)})", 0.9 + 0.1 * ci / len(cases))
        steps = sorted({st for L in prof.lags for st in _snapshot_steps([prof.lag_time], L, prof.lag_h, offsets)})
        snaps = _simulate(ctx, inputs, case, ci, (0x1A6, ci), prof.lag_N, steps, prof.lag_h)
        n0 = int(round(prof.lag_time / prof.lag_h))
        for i, L in enumerate(prof.lags):
            sub = int(round(L / prof.lag_h))
            est, labels = _time_estimator([snaps[n0 + o * sub] for o in offsets], prof.lag_time, L, case, ker, u,
                                          prof.groups, which, inputs, lag_dependent_only=True)
            r, cov = jackknife_covariance(lambda g: est(g)[:len(labels)], prof.groups)
            per_lag[i].append((r, np.sqrt(np.diag(cov))))
    points = [dict(lag_point(L, np.concatenate([r for r, _ in per_lag[i]]),
                             np.concatenate([e for _, e in per_lag[i]]), len(first.lags)),
                   lags={c.table.name: p.lags[i] for c, p in zip(cases, profs)}) for i, L in enumerate(first.lags)]
    ok, reason, order = lag_decision(points)
    if len({p.lags for p in profs}) > 1:  # the judge's text names the first state's lags: say whose
        reason += (f" (lags named are {cases[0].table.name}'s; pooled by multiple with "
                   + "; ".join(f"{c.table.name}: {list(p.lags)}" for c, p in zip(cases[1:], profs[1:])) + ")")
    return {"points": points, "observed_order": order, "expected_order": 2.0, "ok": ok, "reason": reason,
            "N": first.lag_N, "h": first.lag_h, "time": first.lag_time,
            "lags": {c.table.name: list(p.lags) for c, p in zip(cases, profs)}}


def _system(cases: list[NelsonCase]) -> str:
    tab = cases[0].table
    if tab.spec.get("closed_form"):
        what = "the closed-form free Gaussian packet and harmonic-oscillator coherent state"
    else:
        what = (f"a Crank-Nicolson solution psi in V = {cases[0].potential} (initial Gaussian, centre "
                f"{tab.spec['centre']:g}, width {tab.spec['width']:g})")
    return (f"Nelson diffusion dq = b dt + sqrt(2 nu) dW of {what}; b = (hbar/m)(Re + Im) psi'/psi (a calibration: "
            "the drift is computed from psi, nothing is learned)")


def _decide(prof: Profile, which: str, inputs: Mapping[str, Any], cases: list[NelsonCase], u: Units,
            rs: list[np.ndarray], covs: list[np.ndarray], grads: list[tuple[np.ndarray, ...]], labels: list[str],
            lag_study: dict[str, Any] | None, basis: Mapping[str, Any],
            lag_recheck: Mapping[str, Any] | None = None, lag_rule: Mapping[str, Any] | None = None,
            lags: Mapping[str, float] | None = None, rechecked: Sequence[str] = ()) -> NumericResult:
    lags = lags or {c.table.name: prof.lag for c in cases}
    ses = [np.sqrt(np.diag(c)) for c in covs]
    z = np.concatenate([np.abs(r) / e for r, e in zip(rs, ses)])
    zcrit = consistency_bound(z.size, prof.groups)
    finite = bool(np.all(np.isfinite(z)))
    zmax = float(z.max()) if finite else float("nan")
    worst = labels[int(np.argmax(np.abs(rs[-1]) / ses[-1]))] if finite else "?"
    consistent = finite and zmax <= zcrit
    conv, rate, rate_details = monte_carlo_rate(prof.levels, rs, covs, zcrit)
    facts = [(f"every residual consistent with zero (max |z| = {zmax:.3g} <= {zcrit:.3g}, t_{prof.groups - 1}, "
              f"Bonferroni over {z.size})", consistent),
             (f"Monte-Carlo rate: {rate.reason}", rate.ok)]
    first = "continuity" if which == "continuity" else "newton"
    fam = np.array([lab.split(": ")[1].split("_")[0] for lab in labels])
    g, var_g, cov_rg = grads[-1]
    # components of states outside the calibrated domain (the step rule cannot resolve them; below) detect
    # nothing: their failures are INCONCLUSIVE, so the power is over the resolved states' components (inf if none)
    unresolved_step = {name: r for name, r in (lag_rule or {}).items() if r["unresolved"]}
    state = [lab.split(", t=")[0] for lab in labels]
    inside = np.array([st not in unresolved_step for st in state], dtype=bool)
    power = {EFFECTS[f]: detection_power(ses[-1][(fam == f) & inside], g[(fam == f) & inside], zcrit,
                                         var_g=var_g[(fam == f) & inside], cov_rg=cov_rg[(fam == f) & inside])
             for f in (first, "noise")}
    closed = bool(cases[0].table.spec.get("closed_form"))
    names = [c.table.name for c in cases]
    numerical = {c.table.name for c in cases if not c.table.spec.get("closed_form")}
    # Estimator trouble, the residual families and the states it can explain: a lag study short of lag^2 for a
    # numerical state (for the closed-form states the estimators are in their asymptotic regime at their resolving
    # lag, so a failure is an error) explains the lag-dependent families; an unconverged or fragile score basis
    # explains the Newton law. Per state: one state's trouble never excuses another state's failure.
    trouble: list[tuple[str, set[str], set[str]]] = []
    lag_families = {"continuity", "noise"}
    # A failing residual that persists at half the lag (the recheck) is not the estimators' bias, whatever the lag
    # study or the lag rule says: a lag-independent error (a planted kinetic coefficient x 2) also "falls more
    # slowly than lag^2" in the study, and was INCONCLUSIVE before 2026-11-26 for that reason. Nor is one that
    # does not move with the lag (paired difference within its bound) and merely falls under the bound at half
    # the lag, where the SE is larger: an unresolved lag or a lag study short of lag^2 excuses a state only if its
    # recheck *explains* the failure (moves and vanishes; tightened 2026-11-26 after review: "not persisting"
    # alone excused a lag-independent one)
    moving = {name: r for name, r in (lag_recheck or {}).items() if r.get("explains")}
    # Hence the lag-study and unresolved-lag entries below excuse no state that `moving` does not excuse; they
    # add their reasons to an INCONCLUSIVE verdict's text
    if lag_study is not None:
        facts.append((f"lag study: {lag_study['reason']}", bool(lag_study["ok"])))
        if not lag_study["ok"] and numerical & set(moving):
            trouble.append(("the estimators' bias does not fall as lag^2 for this numerical state (its time scales "
                            "are not resolved by the lags used): the residual at the lag used cannot be separated "
                            "from the estimators' bias", lag_families, numerical & set(moving)))
    if moving:
        trouble.append(("the lag-dependent residuals move with the snapshot lag and the failure is gone at half "
                        "the lag (" + "; ".join(
                            f"{name}: lag {r['lags'][0]:g} vs {r['lags'][1]:g} on the same {r['N']} trajectories, "
                            f"paired |z| = {r['max_abs_z']:.3g} > {r['bound']:.3g} at {r['worst']}; at lag "
                            f"{r['lags'][1]:g} max |z| = {r['max_abs_z_half_lag']:.3g} <= {r['bound']:.3g}"
                            for name, r in moving.items())
                        + "): the lag does not resolve this state's time scales, the residual at the lag used is "
                        "the estimators' bias", lag_families, set(moving)))
    unresolved = {name: r for name, r in (lag_rule or {}).items() if r["unresolved"] and name in moving}
    if unresolved:
        trouble.append(("; ".join(f"{name}: the state's rate Omega = {r['Omega']:.3g} needs a lag <= "
                                  f"{r['bound']:g}/Omega, below the smallest lag {r['lag']:g} (2 SDE steps)"
                                  for name, r in unresolved.items())
                        + ": the lag-dependent residuals cannot be separated from the estimators' bias",
                        lag_families, set(unresolved)))
    unconverged = [name for name, b in basis.items() if not b["converged"]]
    if unconverged:
        trouble.append((f"the score-matching basis of ln p is not converged up to degree {MAX_SCORE_DEGREE} for "
                        f"{', '.join(unconverged)} (the Newton-law residual still moves with the degree)", {"newton"},
                        set(unconverged)))
    fragile = [name for name, b in basis.items() if b.get("recheck", {}).get("consistent")]
    if fragile:
        trouble.append((f"the Newton-law residuals of {', '.join(fragile)} are consistent with zero with the "
                        f"degree-{ROBUST_SCORE_DEGREE} score basis: the failure depends on the basis", {"newton"},
                        set(fragile)))
    zc = np.max([np.abs(r) / e for r, e in zip(rs, ses)], axis=0)
    failing_at = {(st, str(f)) for st, f, zk in zip(state, fam, zc) if not zk <= zcrit}
    failing = {f for _, f in failing_at}
    explained = {(st, f) for _, fams, sts in trouble for st in sts for f in fams}
    # A state the step rule cannot resolve (its rate needs more than MAX_STEP_HALVINGS halvings, Omega > 52) is
    # outside the calibration's domain: nothing is said about it either way, as for a Schrodinger state its grid
    # does not resolve. Residuals within their bounds there are not a PASS, and (since 2026-11-26, the lead's
    # decision after the followed rate left a draw with Omega 472, nine times beyond the finest step, FAILED at
    # max |z| 7.42 while no rule tried - a recheck at 2h - separated its step bias from a planted error) failures
    # confined to such states are not a FAIL: INCONCLUSIVE, with the reason. A failure of a resolved state, or of
    # the pooled summary tests when some state is resolved, is judged as before.
    unresolved_why = "; ".join(
        f"{name}: Omega = {r['Omega']:.3g} needs h <= {r['bound'] / (2 * r['Omega']):.3g}, below the finest step "
        f"h = {prof.h:g} ({MAX_STEP_HALVINGS} halvings at most)" for name, r in unresolved_step.items())
    summary_ok = all(v for _, v in facts)
    rest_ok = all(v for _, v in facts[1:])  # the summary tests other than the residuals' own bounds
    if unresolved_step:
        facts.append((f"every state resolved by the step rule ({unresolved_why})", False))
    ok = all(v for _, v in facts)
    rows = [{"component": lab, "residual": float(x), "se": float(e)} for lab, x, e in zip(labels, rs[-1], ses[-1])]
    details: dict[str, Any] = {
        "states": [dict(c.table.spec, name=c.table.name, potential=str(c.potential)) for c in cases],
        "gamma": u.gamma, "c": u.c, "m": u.m, "hbar": u.hbar, "nu_equations": math.sqrt(u.gamma * u.c) / 2,
        "nu_simulation": [float(inputs["noise_rule"](c.table.hbar, c.table.m)) for c in cases],
        "finest_level": rows, "levels": list(prof.levels), "weighted_rms": [p[1] for p in conv.points],
        "max_abs_z": zmax, "z_critical": zcrit, "worst_component": worst, "rate": rate_details,
        "score_matching_degree": [c.degree for c in cases], "score_basis": dict(basis), "lag": dict(lags),
        "h": prof.h, "times": list(prof.times), "test_functions": prof.test_functions, "groups": prof.groups,
        "failing_families": sorted(failing)}
    if lag_study is not None:
        details["lag_study"] = lag_study
    if lag_recheck:
        details["lag_recheck"] = dict(lag_recheck)
    if lag_rule is not None:
        details["lag_rule"] = dict(lag_rule)
    where = (f"{which}: max |z| {zmax:.3g} (bound {zcrit:.3g}, at {worst}); rms order {conv.observed_order:.3g} in "
             f"N^-1/2 (expected 1)")
    # INCONCLUSIVE when every failing residual family is explained by estimator trouble (the summary tests, rate
    # and lag, fail with them). A failure of the summary tests alone (no residual beyond its bound: nothing to
    # recheck at half the lag, no family to attribute) is never excused by estimator trouble: a lag-independent
    # error can look like that (only the domain rule below, when every state is outside the calibrated domain)
    inconclusive = (not ok) and bool(trouble) and bool(failing_at) and failing_at <= explained
    if inconclusive:
        where += "; INCONCLUSIVE: " + "; ".join(why for why, fams, sts in trouble
                                                if any((st, f) in failing_at for st in sts for f in fams))
    elif unresolved_step and {st for st, _ in failing_at} <= set(unresolved_step) and (
            rest_ok or set(names) <= set(unresolved_step)):
        inconclusive = True
        where += ("; INCONCLUSIVE: " + ("every residual is within its bound" if summary_ok else
                                        "the residuals beyond their bounds are the unresolved states'"
                                        if failing_at else "no residual is beyond its bound, the summary tests "
                                        "fail")
                  + f", but the SDE step does not resolve the state ({unresolved_why}): its bias is not bounded by "
                  "the rule, so this is neither a PASS nor a FAIL (outside the calibrated domain)")
    rule = (f"each residual / jackknife SE ({prof.groups} groups) within the Student-t bound {zcrit:.3g} "
            f"(Bonferroni over {z.size}, family-wise alpha 1e-3); SE-weighted rms order in N^-1/2 >= 1 - 3.09 SE "
            f"and finest rms <= {zcrit:.3g}/sqrt(N)"
            + ("; lag study: squared bias at smaller lags no more than the lag^2 extrapolation + z SE"
               + ("" if closed else " (for this numerical state it explains a failure only if the failing "
                  "residuals move with the lag and are gone at half the lag)") if prof.lags else "")
            + ("" if lag_rule is None else "; SDE step h: the profile's, halved (at most "
               f"{MAX_STEP_HALVINGS} times) until the fastest state's Omega 2h <= {LAG_RESOLUTION:g} (h = {prof.h:g})"
               "; snapshot lag per state: the largest multiple of 2h with "
               f"Omega lag <= {LAG_RESOLUTION:g}, Omega the state's fastest rate" + (
                   "" if closed else " (for a numerical state the larger of its initial rate and its osmotic rate "
                   "nu I(p_t), the Fisher information of its density followed over the tabulated times)")
               + ("" if not unresolved_step else "; a state unresolved at the finest step is outside the "
                  "calibrated domain: INCONCLUSIVE unless a resolved state fails")
               + " (" + "; ".join(
                   f"{name}: Omega = {r['Omega']:.3g}, lag {r['lag']:g}" + (" (unresolved)" if r["unresolved"] else "")
                   for name, r in lag_rule.items()) + ")")
            + ("" if not rechecked else "; a failing continuity/noise residual of " + ", ".join(
                f"{name} is rechecked at lag {lags[name] / 2:g}" for name in names if name in rechecked)
               + " on the same trajectories: INCONCLUSIVE when the residuals move with the lag (paired |z| above the "
               "Bonferroni bound) and are all within it at the half lag")
            + f"; power: smallest eps a single component detects with probability >= 95% at N = {prof.levels[-1]}")
    return NumericResult(max_residual=rate.max_residual, tolerance=rate.tolerance, ok=ok, convergence=conv,
                         where=where, details=details, facts=tuple(facts), system=_system(cases), rule=rule,
                         power=power, inconclusive=inconclusive)


__all__ = ["FULL", "LAG_RESOLUTION", "MAX_STEP_HALVINGS", "QUICK", "Kernels", "NelsonCase", "Profile", "Units",
           "calibrate", "madelung_kernels", "nelson_states", "resolving_lag", "resolving_step", "state_rate", "units",
           "user_potential"]
