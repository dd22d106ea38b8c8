r"""Claim `learning.fokker_planck` (docs/theory.md, section 2): derivation, calibration and learning evidence.

*Derivation* (exact): the Kramers-Moyal expansion (to second order) of the Langevin step of SGD, and the adjoint
of its generator, equal the stated Fokker-Planck operator ``gamma div(p grad U) + sum_ij d_i d_j (D_ij(q) p)``
(K = 1 and K = 2, generic U and q-dependent gradient covariance); on a symbolic data set the exact mean and
covariance of one SGD step are ``-gamma grad U`` and ``gamma^2 Sigma / B = 2 D``.

*Calibration* (constructed solutions; nothing here is learning): on the regression task's drift
:math:`-c_d H(q - q^*)` and its measured D frozen at :math:`q^*` (an Ornstein-Uhlenbeck process, closed form in
:mod:`nnqg.numerics._langevin`),

1. the finite-volume solver (:mod:`nnqg.numerics._fp_solver`, generated flux-form coefficients' scheme) against
   the closed-form Gaussian: total variation of the cell masses at learning times 0.4, 0.8, 1.2 on nested grids,
   judged by the convergence rule (:mod:`nnqg.verify._convergence`) at order 2;
2. the two estimators of the learning experiment (:mod:`nnqg.numerics._fp_measures`: the transient and the
   stationary diffusion ratio) on *exactly* simulated OU ensembles of the experiment's size, whose diffusion
   ratio is 1 and whose residual vanishes: the statistical rule :math:`|\lambda - 1| \le t\,\mathrm{SE}` and
   :math:`|z_k| \le t` for every test function's residual, t the Student quantile (31 degrees of freedom, the
   jackknife's) for a family-wise two-sided level 0.01 over those 14 tests (Bonferroni). The ratio alone is
   blind to errors orthogonal to the diffusion direction (an ensemble observed one step late leaves it at 1);
   the residual components are not;
3. the measured D: the moment polynomial (the generated kernel) equals the per-example gradient covariance
   computed directly, to round-off.

Power: the solver study's offset power and the smallest planted "diffusion x (1 + eps) between solver and closed
form"; for each estimator the smallest planted "simulated diffusion x (1 + eps)" its rule rejects,
:math:`t\,\mathrm{SE}`. Planted errors below the derivation: the first-order upwind solver, the Euler-Maruyama
OU transition (first order in time) in the simulator, the ensemble observed one step late in the estimator.

*Learning evidence*: the registered experiment of :mod:`nnqg.verify.learning.fokker_planck` (real mini-batch
SGD ensembles against the stated equation, with its controls).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument, is_zero
from nnqg.derivations._fokker_planck import FPSymbols, RegressionSymbols, adjoint_by_parts, apply_operator, \
    default_diffusion, derivation_steps, divergence, flux_form, generator, kramers_moyal_coefficient, \
    kramers_moyal_operator, multi_indices, regression_loss_and_covariance, sgd_step_moments, \
    stated_fokker_planck
from scipy import stats

from nnqg.numerics import _fp_measures, _langevin, _sgd
from nnqg.numerics._fp_measures import DiffusionRatio, HermiteTests, LinearDriftConstantDiffusion, \
    gaussian_expectations, stationary_ratio, transient_ratio
from nnqg.numerics._fp_solver import Grid2D, assemble, gaussian_cell_average, solve
from nnqg.numerics._langevin import gaussian_cell_masses, ou_moments, simulate_ou

from .._convergence import judge, planted_power
from .._model import Claim, Convergence, LearningEvidence, NumericContext, NumericResult, SymbolicResult
from ..learning import fokker_planck as _lfp

CLAIM_KEY = 2  # the claim's own random stream: ctx.rng(CLAIM_KEY, ...)

ASSUMPTIONS = (
    "time measured in SGD steps; mini-batches drawn uniformly with replacement",
    "Langevin (Kramers-Moyal, 2nd order) limit: gamma small; the finite-step part is measured, not removed",
    "D(q) = gamma^2 Sigma(q) / (2B), Sigma the per-example gradient covariance of the data (Ito form)",
    "task: least squares f(x) = q1 x + q2 on generated data, x ~ N(0,1), y = x - 1/2 + noise",
)


def default_inputs() -> dict[str, Any]:
    """What a user (or a planted error) may change: the stated equation (drift coefficient, diffusion formula,
    Ito vs 'inside' form), the solver scheme, the task (batch size, data, initial cloud), and two calibration
    internals that exist to plant errors below the derivation: ``ou_transition`` ("exact"; "euler" is the
    first-order Euler-Maruyama OU step) and ``observation_lag`` (0; 1 observes the transient ensemble one step
    late)."""
    return {
        "K_values": (1, 2),
        "drift_coefficient": lambda gamma: gamma,
        "diffusion_formula": default_diffusion,      # (gamma, B, Sigma_ij) -> D_ij
        "form": "ito",                               # 'ito': d_i d_j (D_ij p); 'inside': D_ij d_i d_j p
        "fp_scheme": "central",                      # finite-volume drift flux: 'central' (2nd) or 'upwind'
        "sgd_check_sizes": ((3, 1), (3, 2), (2, 3)),  # (data points, batch size) enumerated symbolically
        # the learning task: rng -> RegressionTask (default: generated data, n_data points, data_noise)
        "task_factory": None,
        "batch_size": 2,
        "n_data": 256,
        "data_noise": 1.0,
        "q0_offset": (0.8, -0.6),
        "q0_std": 0.25,
        "learning_times": (0.4, 0.8, 1.2),
        "ou_transition": "exact",
        "observation_lag": 0,
    }


def _validate(inputs: Mapping[str, Any]) -> None:
    if inputs["form"] not in ("ito", "inside"):
        raise InvalidArgument(f"form: expected 'ito' or 'inside', got {inputs['form']!r}")
    if inputs["fp_scheme"] not in ("central", "upwind"):
        raise InvalidArgument(f"fp_scheme: expected 'central' or 'upwind', got {inputs['fp_scheme']!r}")
    B = inputs["batch_size"]
    if not isinstance(B, int) or isinstance(B, bool) or not 1 <= B <= 64:
        raise InvalidArgument(f"batch_size: expected an integer in 1..64, got {B!r}")
    for k in inputs["K_values"]:
        if k not in (1, 2, 3):
            raise InvalidArgument(f"K_values: each K must be 1, 2 or 3, got {k!r}")
    if inputs["ou_transition"] not in _langevin.TRANSITIONS:
        raise InvalidArgument(f"ou_transition: expected one of {_langevin.TRANSITIONS}, "
                              f"got {inputs['ou_transition']!r}")
    lag = inputs["observation_lag"]
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 0:
        raise InvalidArgument(f"observation_lag: expected an integer >= 0, got {lag!r}")


# ----------------------------------------------------------------------------------------------------------
# symbolic


def _stated(s: FPSymbols, inputs: Mapping[str, Any]) -> sp.Expr:
    return stated_fokker_planck(s, drift_coefficient=sp.sympify(inputs["drift_coefficient"](s.gamma)),
                                diffusion_formula=inputs["diffusion_formula"], form=inputs["form"])


def _zero_or(e: sp.Expr) -> sp.Expr:
    return sp.S.Zero if is_zero(e) else sp.simplify(e)


def _symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    _validate(inputs)
    checks: list[tuple[str, sp.Expr]] = []
    facts: list[tuple[str, bool]] = []
    steps: tuple = ()
    for K in inputs["K_values"]:
        s = FPSymbols.make(K)
        km = kramers_moyal_operator(s, order=2)
        checks.append((f"K={K}: Kramers-Moyal (2nd order) of the Langevin step minus the stated operator",
                       _zero_or(km - _stated(s, inputs))))
        L = generator(s)
        adj, J = adjoint_by_parts(L, s, s.p, s.phi)
        checks.append((f"K={K}: p L phi - phi L^dagger p - div J (integration by parts)",
                       _zero_or(s.p * apply_operator(L, s.phi, s) - s.phi * adj - divergence(J, s))))
        checks.append((f"K={K}: adjoint of the generator minus the Kramers-Moyal operator", _zero_or(adj - km)))
        higher = [kramers_moyal_coefficient(s, a) for n in (3, 4) for a in multi_indices(K, n)]
        facts.append((f"K={K}: Kramers-Moyal coefficients of order 3 and 4 vanish (truncation exact)",
                      all(h == 0 for h in higher)))
        if K == 2 or not steps:
            steps = derivation_steps(s)
    # one SGD step on a symbolic data set: mean, covariance = 2 D (stated formula), finite-step second moment
    for n_data, B in inputs["sgd_check_sizes"]:
        m = sgd_step_moments(int(n_data), int(B))
        g, q = m["gamma"], m["q"]
        for i in range(2):
            checks.append((f"N={n_data}, B={B}: E[dq_{i + 1}] + gamma dU/dq_{i + 1}",
                           _zero_or(m["mean"][i] + g * sp.diff(m["U"], q[i]))))
        D = [[sp.sympify(inputs["diffusion_formula"](g, sp.Integer(B), m["Sigma"][i][j])) for j in range(2)]
             for i in range(2)]
        for i, j in ((0, 0), (0, 1), (1, 1)):
            checks.append((f"N={n_data}, B={B}: Cov[dq]_{i + 1}{j + 1} - 2 D_{i + 1}{j + 1} (stated D)",
                           _zero_or(m["cov"][i][j] - 2 * D[i][j])))
            checks.append((f"N={n_data}, B={B}: E[dq dq]_{i + 1}{j + 1} - gamma^2 (dU dU + Sigma/B) (finite step)",
                           _zero_or(m["second_moment"][i][j] - g**2 * (sp.diff(m["U"], q[i]) * sp.diff(m["U"], q[j])
                                                                      + m["Sigma"][i][j] / B))))
    # the regression task's stated operator (measured D) conserves probability: c0 = 0 in the flux form
    r = RegressionSymbols.make()
    U, Sig = regression_loss_and_covariance(r)
    s2 = FPSymbols.make(2, potential=U, covariance=Sig, q=r.q)
    checks.append(("regression task: source term c0 of the stated operator's flux form (mass conservation)",
                   _zero_or(flux_form(_stated(s2, inputs), s2)["c0"])))
    return SymbolicResult(checks=tuple(checks), steps=steps, facts=tuple(facts))


# ----------------------------------------------------------------------------------------------------------
# calibration

CALIBRATION_GAMMA = 0.1
FAMILY_ALPHA = 0.01
CAL_SYSTEM = ("the regression task's drift -gamma H (q - q*) with its measured D frozen at q* (an Ornstein-Uhlenbeck "
              "process: closed-form density, exact transitions): a calibration of the finite-volume solver and of "
              "the two diffusion-ratio estimators, not learning")


def _cal_profile(quick: bool) -> dict[str, Any]:
    return {"grids": (16, 32, 64) if quick else (32, 64, 128), "members": 5000 if quick else 20000}


def _ou_coefficients(A: np.ndarray, qs: np.ndarray, D0: np.ndarray) -> Any:
    def coef(q1: np.ndarray, q2: np.ndarray) -> dict[str, np.ndarray]:
        d1, d2 = q1 - qs[0], q2 - qs[1]
        z = 0 * q1
        return {"A11": z + D0[0, 0], "A12": z + D0[0, 1], "A22": z + D0[1, 1], "b1": A[0, 0] * d1 + A[0, 1] * d2,
                "b2": A[1, 0] * d1 + A[1, 1] * d2, "c0": z}
    return coef


def _solver_study(ctx: NumericContext, inputs: Mapping[str, Any], task: _sgd.RegressionTask, A: np.ndarray,
                  D0: np.ndarray, grids: tuple[int, ...]) -> tuple[Any, dict[str, Any]]:
    """TV of the finite-volume solution from the closed-form OU masses on nested grids, as a function of a
    planted factor (1 + eps) on the closed form's diffusion (eps = 0: the calibration itself)."""
    qs = task.q_star
    m0 = qs + np.asarray(inputs["q0_offset"], dtype=float)
    s0 = float(inputs["q0_std"])
    steps = [int(round(t / CALIBRATION_GAMMA)) for t in inputs["learning_times"]]
    lo, hi = _sgd.default_box(task, m0, s0, CALIBRATION_GAMMA, int(inputs["batch_size"]))
    levels = []
    for cells in grids:
        ctx.report(f"finite-volume solver vs closed form, {cells}^2 cells", 0.1 * len(levels))
        grid = Grid2D(lo, hi, (cells, cells))
        M = assemble(grid, _ou_coefficients(A, qs, D0), inputs["fp_scheme"])
        sol = solve(M, gaussian_cell_average(grid, m0, (s0, s0)).ravel(), [float(n) for n in steps])
        levels.append((grid, [p.reshape(grid.n) * grid.cell_area for p in sol]))

    def study(eps: float) -> Convergence:
        pts = []
        for grid, masses in levels:
            tv = 0.0
            for n, fv in zip(steps, masses):
                m, C = ou_moments(A, (1 + eps) * D0, qs, m0, s0**2 * np.eye(2), n)
                exact = gaussian_cell_masses(grid, m, C)
                tv = max(tv, 0.5 * (float(np.abs(fv - exact).sum()) + abs(exact.sum() - fv.sum())))
            pts.append((1.0 / grid.n[0], tv))
        return Convergence("FV solver vs closed-form OU: max TV of cell masses; h = 1/cells", 2.0, tuple(pts))

    return study, {"learning_steps": steps, "box": [lo, hi], "diffusion_frozen_at_q*": D0.tolist()}


def _estimator_checks(ctx: NumericContext, inputs: Mapping[str, Any], task: _sgd.RegressionTask, A: np.ndarray,
                      D0: np.ndarray, prof: Mapping[str, Any]) -> list[tuple[str, DiffusionRatio]]:
    """The transient and stationary diffusion ratios on exactly simulated OU ensembles (ratio 1 by
    construction), with the experiment's starts, times, test functions and sizes."""
    qs, N = task.q_star, int(prof["members"])
    m0 = qs + np.asarray(inputs["q0_offset"], dtype=float)
    s0 = float(inputs["q0_std"])
    n_t = int(round(_lfp.T_TIME / CALIBRATION_GAMMA))
    lag = int(inputs["observation_lag"])
    transition = inputs["ou_transition"]
    # (T): the ensemble at n_t (+ a planted lag) against the closed-form density and the drift-only one
    rng = ctx.rng(CLAIM_KEY, 20)
    ens = simulate_ou(A, D0, qs, m0 + s0 * rng.standard_normal((N, 2)), n_t + lag, rng, transition=transition)[-1]
    m, C = ou_moments(A, D0, qs, m0, s0**2 * np.eye(2), n_t)
    m_0, C_0 = ou_moments(A, np.zeros((2, 2)), qs, m0, s0**2 * np.eye(2), n_t)
    tests = HermiteTests((float(m[0]), float(m[1])), float(2 * np.sqrt(np.trace(C) / 2)))
    t = transient_ratio(ens, tests, gaussian_expectations(tests, m, C), gaussian_expectations(tests, m_0, C_0),
                        label="transient estimator on an exact OU ensemble")
    # (S): stationary start, burn-in and window as in the experiment
    C_s = _lfp.stationary_covariance(A, D0)
    n_b, n_w = (int(round(x / CALIBRATION_GAMMA)) for x in (_lfp.S_BURN, _lfp.S_WINDOW))
    rng = ctx.rng(CLAIM_KEY, 21)
    traj = simulate_ou(A, D0, qs, rng.multivariate_normal(qs, C_s, N, method="cholesky"), n_b + n_w, rng,
                       transition=transition)
    s = stationary_ratio(traj[n_b:], LinearDriftConstantDiffusion(A, qs, D0),
                         HermiteTests((float(qs[0]), float(qs[1])), float(2 * np.sqrt(np.trace(C_s) / 2))),
                         groups=_lfp.GROUPS, label="stationary estimator on an exact OU ensemble")
    return [("transient", t), ("stationary", s)]


def _numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    _validate(inputs)
    prof = _cal_profile(ctx.quick)
    task = _lfp.make_task(inputs, ctx.rng(CLAIM_KEY, 0))
    eq = _lfp.stated_equation(inputs)
    params = {"gamma": CALIBRATION_GAMMA, "B": float(inputs["batch_size"]), **task.moments()}
    A = _lfp.drift_matrix(inputs, task, CALIBRATION_GAMMA)
    D0 = _lfp.diffusion_at(eq, params, task.q_star)
    if not (np.all(np.linalg.eigvalsh(A) > 0) and np.all(np.linalg.eigvalsh(D0) >= 0)):
        return NumericResult(float("nan"), float("nan"), False, system=CAL_SYSTEM,
                             where=f"the stated drift is not contracting or D is not positive (drift matrix "
                                   f"eigenvalues {np.linalg.eigvalsh(A).tolist()}, D eigenvalues "
                                   f"{np.linalg.eigvalsh(D0).tolist()}): no stationary OU process to calibrate on",
                             facts=(("stated drift contracting and D positive", False),))
    study, sdetails = _solver_study(ctx, inputs, task, A, D0, prof["grids"])
    conv = study(0.0)
    j = judge(conv)
    ctx.report("estimators on exact Ornstein-Uhlenbeck ensembles", 0.6)
    estimators = _estimator_checks(ctx, inputs, task, A, D0, prof)
    n_tests = sum(1 + len(r.residual) for _, r in estimators)
    crit = float(stats.t.ppf(1 - FAMILY_ALPHA / (2 * n_tests), _lfp.GROUPS - 1))
    d_check = _d_consistency(task, eq, CALIBRATION_GAMMA, int(inputs["batch_size"]))
    ctx.report("done", 1.0)
    power: dict[str, float] = {f"solver: {k}": v for k, v in j.power.items()}
    power["solver: diffusion x (1 + eps) between solver and closed form: smallest eps"] = planted_power(study,
                                                                                                      scale=1e-4)
    facts = [("finite-volume solver converges to the closed-form OU density at order 2", j.ok)]
    details: dict[str, Any] = {"solver study": conv.to_json(), "solver judgement": j.reason, **sdetails,
                               "calibration gamma": CALIBRATION_GAMMA, "members": prof["members"],
                               f"t critical (family-wise 0.01 over {n_tests} tests, 31 dof)": crit}
    for key, r in estimators:
        ok = bool(np.isfinite(r.ratio) and abs(r.ratio - 1) <= crit * r.se)
        facts.append((f"{key} estimator: lambda = {r.ratio:.4g} +- {r.se:.2g} consistent with 1 on an exact OU "
                      f"ensemble", ok))
        zmax = float(np.max(np.abs(r.residual_z)))
        facts.append((f"{key} estimator: the whole residual per test function consistent with 0 (max |z| = "
                      f"{zmax:.3g} <= {crit:.3g})", bool(np.isfinite(zmax) and zmax <= crit)))
        power[f"{key} estimator: simulated diffusion x (1 + eps): smallest eps (t SE)"] = crit * r.se
        details[f"{key} estimator"] = {"lambda": r.ratio, "se": r.se, "z": (r.ratio - 1) / r.se,
                                       "orthogonal remainder": r.orthogonal, "residual z per test function":
                                       r.residual_z.tolist(), **r.details}
    facts.append((f"measured D (moment polynomial) equals the per-example covariance computed directly "
                  f"(max rel. diff {d_check:.2g} <= 1e-9)", d_check <= 1e-9))
    where = "; ".join([f"solver: {j.reason}"] + [f"{k}: lambda {r.ratio:.4g} +- {r.se:.2g}" for k, r in estimators])
    rule = (f"solver: {j.rule}; estimators: |lambda - 1| <= t SE and every residual component |z| <= t, "
            f"t = {crit:.3g} (Student, 31 dof, family-wise two-sided 0.01 over {n_tests} tests, Bonferroni); "
            f"measured D equals the direct covariance to 1e-9")
    # facts[0] is the solver study's: unresolved (rule 4 of the judge) with every other fact shown is INCONCLUSIVE
    return NumericResult(max_residual=j.max_residual, tolerance=j.tolerance, ok=all(v for _, v in facts),
                         convergence=conv, where=where, details=details, facts=tuple(facts), system=CAL_SYSTEM,
                         rule=rule, power=power, inconclusive=j.inconclusive and all(v for _, v in facts[1:]))


def _d_consistency(task: _sgd.RegressionTask, eq: _sgd.FPEquation, gamma: float, B: int) -> float:
    """D from the moment polynomial (the kernel) vs gamma^2 Sigma/(2B) with Sigma computed directly from the
    per-example gradients at a few points: a check of the measurement (round-off for the stated D)."""
    params = {"gamma": gamma, "B": float(B), **task.moments()}
    pts = task.q_star + np.array([[0.0, 0.0], [0.8, -0.6], [-0.3, 0.4]])
    Dk = eq.values(eq.diffusion, pts, params)
    worst = 0.0
    for i, q in enumerate(pts):
        Dd = gamma**2 * task.gradient_covariance(q) / (2 * B)
        worst = max(worst, float(np.max(np.abs(np.array([Dk[0, i], Dk[1, i], Dk[2, i]])
                                               - Dd[[0, 0, 1], [0, 1, 1]])) / np.max(np.abs(Dd))))
    return worst


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "drift_sign_flipped": {"drift_coefficient": lambda gamma: -gamma},
        "diffusion_factor_2": {"diffusion_formula": lambda gamma, B, S: gamma**2 * S / B},
        "diffusion_without_1_over_B": {"diffusion_formula": lambda gamma, B, S: gamma**2 * S / 2},
        "dropped_derivatives_of_D": {"form": "inside"},
        # below the derivation: the solver, the simulator, the estimator
        "first_order_upwind_solver": {"fp_scheme": "upwind"},
        "euler_ou_simulator": {"ou_transition": "euler"},
        "transient_observed_one_step_late": {"observation_lag": 1},
    }


def _learning(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    _validate(inputs)
    return _lfp.evidence(ctx, inputs)


CLAIMS = [
    Claim(
        id="learning.fokker_planck", section="2",
        statement="Derived: the Kramers-Moyal limit of the SGD step is dp/dt = gamma div(p grad U) + sum_ij d_i d_j "
                  "(D_ij(q) p), D = gamma^2 Sigma(q)/(2B) from the per-example gradient covariance. Calibrated: the "
                  "solver and the estimators on an Ornstein-Uhlenbeck process. Learning evidence: SGD ensembles of a "
                  "two-parameter regression measured against that equation with D measured from the data.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs, derivation=_symbolic, calibration=_numeric,
        learning=_learning, mutations=_mutations,
        modules=(__file__, _lfp.__file__, _sgd.__file__, _sgd.__file__.replace("_sgd.py", "_fp_solver.py"),
                 _langevin.__file__, _fp_measures.__file__,
                 __import__("nnqg.derivations._fokker_planck", fromlist=["x"]).__file__),
    ),
]
