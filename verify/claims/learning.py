"""Claim `learning.fokker_planck` (PHYSICS.md section 2).

Symbolic: the Kramers-Moyal expansion (to second order) of the Langevin step of SGD, and the adjoint of its
generator, equal the stated Fokker-Planck operator ``gamma div(p grad U) + sum_ij d_i d_j (D_ij(q) p)`` exactly
(K = 1 and K = 2, generic U and q-dependent gradient covariance); on a symbolic data set the exact mean and
covariance of one SGD step are ``-gamma grad U`` and ``gamma^2 Sigma / B = 2 D``.

Numeric: an ensemble of two-parameter regressions trained by mini-batch SGD (data generated here) against the
grid solution of the stated equation with D *measured* from the per-example gradient covariance of the data:
(1) the total-variation distance between the 2-D histogram and the solution's bin masses, refined jointly in
step size and ensemble size (gamma halves, N quadruples: both the Monte-Carlo error ~N^-1/2 and the finite-step
bias ~gamma halve, expected order 1 in gamma); (2) the weak form with Hermite test functions, per step, whose
residual has a finite-step part ``E[(gamma^2/2) grad U^T Hess(phi) grad U]`` (O(gamma) relative to the drift
term, measured and reported); after subtracting it the remainder must shrink at order 2 (third Kramers-Moyal
moment); (3) the finite-volume solver converges at order 2 on nested grids. How much D varies over the
ensemble's support and how far plain SGD is from Nelson's osmotic form are reported, not judged.
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
from nnqg.numerics import _sgd
from nnqg.numerics._fp_solver import coarse_masses

from .._convergence import judge
from .._model import Claim, Convergence, NumericContext, NumericResult, SymbolicResult

CLAIM_KEY = 2  # the claim's own random stream: ctx.rng(CLAIM_KEY, ...)

ASSUMPTIONS = (
    "time measured in SGD steps; mini-batches drawn uniformly with replacement",
    "Langevin (Kramers-Moyal, 2nd order) limit: gamma small; the finite-step part is measured, not removed",
    "D(q) = gamma^2 Sigma(q) / (2B), Sigma the per-example gradient covariance of the data (Ito form)",
    "task: least squares f(x) = q1 x + q2 on generated data, x ~ N(0,1), y = x - 1/2 + noise",
)


def default_inputs() -> dict[str, Any]:
    """What a user (or a planted error) may change: the stated equation (drift coefficient, diffusion formula,
    Ito vs 'inside' form), the solver scheme, and the experiment (batch size, data, initial cloud)."""
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
# numeric


def _profile(quick: bool) -> dict[str, Any]:
    if quick:
        return {"gammas": (0.2, 0.1, 0.05), "members": (1000, 4000, 16000), "grid": 64, "bin_factor": 4,
                "n_weak": 8000, "grid_study": (16, 32, 64), "grid_gamma": 0.2}
    return {"gammas": (0.2, 0.1, 0.05, 0.025), "members": (1000, 4000, 16000, 64000), "grid": 128,
            "bin_factor": 8, "n_weak": 20000, "grid_study": (24, 48, 96), "grid_gamma": 0.2}


def _numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    _validate(inputs)
    prof = _profile(ctx.quick)
    B = int(inputs["batch_size"])
    if inputs["task_factory"] is None:
        task = _sgd.make_regression_task(ctx.rng(CLAIM_KEY, 0), n_data=int(inputs["n_data"]),
                                         noise=float(inputs["data_noise"]))
    else:
        task = inputs["task_factory"](ctx.rng(CLAIM_KEY, 0))
        if not isinstance(task, _sgd.RegressionTask):
            raise InvalidArgument(f"task_factory: must return a RegressionTask, got {type(task).__name__}")
    eq = _sgd.fokker_planck_equation(drift_coefficient=inputs["drift_coefficient"],
                                     diffusion_formula=inputs["diffusion_formula"], form=inputs["form"])
    ref_opts = {"q0_offset": tuple(inputs["q0_offset"]), "q0_std": float(inputs["q0_std"]),
                "learning_times": tuple(inputs["learning_times"]), "scheme": inputs["fp_scheme"]}
    n_levels = len(prof["gammas"])
    total = n_levels + 2
    # (1) + (2): joint refinement gamma -> gamma/2, N -> 4N
    results = []
    for j, (gamma, N) in enumerate(zip(prof["gammas"], prof["members"])):
        ctx.report(f"SGD ensemble gamma={gamma}, N={N}", j / total)
        ref = _sgd.fokker_planck_reference(task, gamma=gamma, batch_size=B, equation=eq,
                                           grid_cells=prof["grid"], **ref_opts)
        results.append(_sgd.fokker_planck_distance(task, gamma=gamma, batch_size=B, n_members=N,
                                                   rng=ctx.rng(CLAIM_KEY, 1, j), equation=eq, reference=ref,
                                                   bin_factor=prof["bin_factor"], n_weak=prof["n_weak"]))
    # ensemble-size study at the smallest gamma (reported): same reference, N/16, N/4, N
    ctx.report("ensemble-size study", n_levels / total)
    n_study = []
    g_last, N_last = prof["gammas"][-1], prof["members"][-1]
    for k, N in enumerate((N_last // 16, N_last // 4)):
        d = _sgd.fokker_planck_distance(task, gamma=g_last, batch_size=B, n_members=N,
                                        rng=ctx.rng(CLAIM_KEY, 2, k), equation=eq, reference=ref,
                                        bin_factor=prof["bin_factor"], n_weak=0)
        n_study.append((N, d.tv_max))
    n_study.append((N_last, results[-1].tv_max))
    # (3) solver order on nested grids
    ctx.report("finite-volume grid study", (n_levels + 1) / total)
    masses = []
    coarse = prof["grid_study"][0]
    for cells in prof["grid_study"]:
        r = _sgd.fokker_planck_reference(task, gamma=prof["grid_gamma"], batch_size=B, equation=eq,
                                         grid_cells=cells, **ref_opts)
        masses.append([coarse_masses(r.grid, r.solution[k], cells // coarse) for k in range(len(r.steps))])
    diffs = [max(0.5 * float(np.abs(a - b).sum()) for a, b in zip(masses[i], masses[i + 1]))
             for i in range(len(masses) - 1)]
    ctx.report("done", 1.0)

    hs = [float(g) for g in prof["gammas"]]
    tv_conv = Convergence("TV(histogram, FP bin masses), N ~ gamma^-2; h = gamma", 1.0,
                          tuple((h, r.tv_max) for h, r in zip(hs, results)))
    weak_rem = [max(abs(w - f) for w, f in zip(r.weak, r.finite_step)) / r.gamma for r in results]
    weak_conv = Convergence("max_k |weak residual - finite-step part| / gamma; h = gamma", 2.0,
                            tuple(zip(hs, weak_rem)))
    weak_raw = [max(abs(w) for w in r.weak) / r.gamma for r in results]
    raw_conv = Convergence("finite-step part: max_k |weak residual| / gamma (reported)", 1.0,
                           tuple(zip(hs, weak_raw)))
    grid_h = [1.0 / c for c in prof["grid_study"][:-1]]
    grid_conv = Convergence("FV solver: TV between nested grids; h = 1/cells", 2.0, tuple(zip(grid_h, diffs)))
    n_conv = Convergence("TV at fixed gamma vs N (reported); h = N^-1/2", 1.0,
                         tuple((N ** -0.5, tv) for N, tv in n_study))
    j_tv, j_weak, j_grid = judge(tv_conv), judge(weak_conv), judge(grid_conv)
    last = results[-1]
    nelson = _nelson_mismatch(task, g_last, B, ctx.rng(CLAIM_KEY, 3), eq)
    details: dict[str, Any] = {
        "histogram": "2-D histogram on bins of the FV grid (not marginals); distance = total variation",
        "tv_study": tv_conv.to_json(), "tv_judgement": j_tv.reason,
        "tv_per_level": [{"gamma": r.gamma, "N": r.n_members, "tv": list(r.tv), "chi2_z": list(r.chi2_z)}
                         for r in results],
        "ensemble_size_study": n_conv.to_json(),
        "weak_remainder_study": weak_conv.to_json(), "weak_judgement": j_weak.reason,
        "finite_step_part_study (reported, O(gamma) relative to the drift term)": raw_conv.to_json(),
        "weak_finest": {"gamma": last.gamma, "residual": list(last.weak), "se": list(last.weak_se),
                        "finite_step_prediction": list(last.finite_step), "z_after_subtraction": list(last.weak_z),
                        "test_functions (He_k1 He_k2 exp(-|z|^2/2), z=(q-q*)/0.5)": [list(t) for t in
                                                                                   eq.test_indices]},
        "grid_study": grid_conv.to_json(), "grid_judgement": j_grid.reason, "fp_scheme": inputs["fp_scheme"],
        "D_variation (reported): max/min tr D over the ensemble, 1%..99%": {
            "transient (max over observation times)": last.d_variation,
            "last observation": last.d_variation_stationary},
        "nelson_mismatch (reported, not a pass criterion)": nelson,
        "measured_D_check: max rel. diff of the moment polynomial vs direct per-example covariance":
            _d_consistency(task, eq, results[-1].gamma, B),
    }
    facts = (("histogram distance shrinks at order 1 in gamma with N ~ gamma^-2", j_tv.ok),
             ("weak residual minus the finite-step part shrinks at order 2", j_weak.ok),
             ("finite-volume solver converges at order 2", j_grid.ok))
    ok = all(v for _, v in facts)
    where = "; ".join(f"{lab}: {j.reason}" for lab, j in (("histogram", j_tv), ("weak", j_weak), ("grid", j_grid)))
    return NumericResult(max_residual=j_tv.max_residual, tolerance=j_tv.tolerance, ok=ok, convergence=tv_conv,
                         where=where, details=details, facts=facts)


def _d_consistency(task: _sgd.RegressionTask, eq: _sgd.FPEquation, gamma: float, B: int) -> float:
    """D from the moment polynomial (the kernel) vs gamma^2 Sigma/(2B) with Sigma computed directly from the
    per-example gradients at a few points: a diagnostic of the measurement (round-off for the correct D)."""
    params = {"gamma": gamma, "B": float(B), **task.moments()}
    pts = task.q_star + np.array([[0.0, 0.0], [0.8, -0.6], [-0.3, 0.4]])
    Dk = eq.values(eq.diffusion, pts, params)
    worst = 0.0
    for i, q in enumerate(pts):
        Dd = gamma**2 * task.gradient_covariance(q) / (2 * B)
        worst = max(worst, float(np.max(np.abs(np.array([Dk[0, i], Dk[1, i], Dk[2, i]])
                                               - Dd[[0, 0, 1], [0, 1, 1]])) / np.max(np.abs(Dd))))
    return worst


def _nelson_mismatch(task: _sgd.RegressionTask, gamma: float, B: int, rng: np.random.Generator,
                     eq: _sgd.FPEquation) -> dict[str, float]:
    r"""How far plain SGD is from Nelson's osmotic form, at stationarity (reported, not judged).

    Nelson's diffusion has one constant, isotropic nu and osmotic velocity u = nu grad ln p. For the SGD
    ensemble the forward drift is b = -gamma grad U and, the stationary current being ~0, the osmotic velocity
    is u = b. The score s = grad ln p is fitted from the ensemble by score matching (minimise
    E[|s|^2 + 2 div s] over s linear in q: all ensemble averages, no density estimate differentiated); the best
    single nu and the relative residual ||u - nu s|| / ||u|| measure the mismatch (0 for Nelson's diffusion)."""
    qs = task.q_star
    N, n_burn = 20000, int(round(6.0 / gamma))
    q0 = qs + 0.05 * rng.standard_normal((N, 2))
    q = _sgd.simulate_sgd(task, q0, gamma, B, n_burn, rng, record_every=n_burn)[-1]
    # score matching with s(q) = W (q - qs) + c: E[s s^T]-type normal equations; div s = tr W
    X = np.hstack([q - qs, np.ones((N, 1))])          # features
    G = X.T @ X / N
    # minimise E[|W x|^2] + 2 tr W over W (rows of s = X @ C); the gradient gives G C = -[I; 0]
    rhs = -np.vstack([np.eye(2), np.zeros((1, 2))])
    C = np.linalg.solve(G, rhs)
    s = X @ C
    u = -gamma * (q - qs) @ task.hessian().T
    nu = float((u * s).sum() / (s * s).sum())
    resid = float(np.sqrt(((u - nu * s) ** 2).sum() / (u**2).sum()))
    params = {"gamma": gamma, "B": float(B), **task.moments()}
    D = eq.values(eq.diffusion, q, params)
    return {"gamma": gamma, "nu_best_fit (step units)": nu, "relative_osmotic_residual": resid,
            "mean_D11": float(D[0].mean()), "mean_D22": float(D[2].mean()), "mean_D12": float(D[1].mean())}


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "drift_sign_flipped": {"drift_coefficient": lambda gamma: -gamma},
        "diffusion_factor_2": {"diffusion_formula": lambda gamma, B, S: gamma**2 * S / B},
        "diffusion_without_1_over_B": {"diffusion_formula": lambda gamma, B, S: gamma**2 * S / 2},
        "dropped_derivatives_of_D": {"form": "inside"},
        "first_order_upwind_solver": {"fp_scheme": "upwind"},
    }


CLAIMS = [
    Claim(
        id="learning.fokker_planck", section="2",
        statement="An ensemble of networks trained by mini-batch SGD has a parameter density obeying "
                  "dp/dt = gamma div(p grad U) + sum_ij d_i d_j (D_ij(q) p), D = gamma^2 Sigma(q)/(2B) measured "
                  "from the per-example gradient covariance (Kramers-Moyal limit of the SGD step).",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs, derivation=_symbolic, calibration=_numeric,
        mutations=_mutations,
        modules=(__file__, _sgd.__file__, _sgd.__file__.replace("_sgd.py", "_fp_solver.py"),
                 __import__("nnqg.derivations._fokker_planck", fromlist=["x"]).__file__),
    ),
]
