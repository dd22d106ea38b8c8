"""Madelung claims: the Nelson-law derivation step, the trajectory simulator and estimators, and the numeric
checks (quick profile) -- which must pass on the paper's inputs and FAIL on every planted error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument, is_zero
from nnqg.derivations._madelung import MadelungSymbols, NelsonSymbols, continuity_flux, euler_lagrange, \
    hermite_test_functions, learning_action, nelson_newton, nelson_nu, qhj_gradient_nelson, \
    weak_continuity_identity, weak_velocity
from nnqg.numerics._nelson import JetReplicates, PolyField, coherent_state, fit_velocities, free_packet, \
    gaussian_drift, jackknife, nelson_jet, simulate, time_derivative_of_mean
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify.claims import madelung as M

CLAIM_IDS = ("madelung.continuity", "madelung.hamilton_jacobi")


# ---- symbolic steps ------------------------------------------------------------------------------------------

def test_gradient_of_qhj_is_nelsons_newton_law() -> None:
    s = MadelungSymbols.make(1)
    n = NelsonSymbols.make(s)
    el = euler_lagrange(learning_action(s), s)
    e = qhj_gradient_nelson(el["p"], s, n)
    assert is_zero((e - nelson_newton(s, n)).subs(n.nu, nelson_nu(s)))
    # the wrong diffusion constant leaves a residual proportional to u u' and u''
    assert not is_zero((e - nelson_newton(s, n)).subs(n.nu, 2 * nelson_nu(s)))


def test_flipped_quantum_potential_changes_the_newton_law() -> None:
    s = MadelungSymbols.make(1)
    n = NelsonSymbols.make(s)
    el = euler_lagrange(learning_action(s, fisher_coefficient=-s.c / 8), s)
    d = (qhj_gradient_nelson(el["p"], s, n) - nelson_newton(s, n)).subs(n.nu, nelson_nu(s))
    assert is_zero(d - (2 * n.u * n.u_q + 2 * nelson_nu(s) * n.u_qq))


def test_weak_continuity_velocity_and_identity() -> None:
    s = MadelungSymbols.make(1)
    n = NelsonSymbols.make(s)
    phi = sp.Function("phi", real=True)(s.q[0])
    J = continuity_flux(learning_action(s), s)
    assert weak_velocity(J, s, n) == n.v
    assert is_zero(weak_continuity_identity(s, J, phi))
    J2 = continuity_flux(learning_action(s, kinetic_coefficient=s.gamma), s)
    assert weak_velocity(J2, s, n) == 2 * n.v
    assert not is_zero(weak_continuity_identity(s, J2, phi))


def test_hermite_test_functions_decay_and_reject_bad_count() -> None:
    n = NelsonSymbols.make(MadelungSymbols.make(1))
    phis = hermite_test_functions(n, 3)
    assert sp.limit(phis[2].subs({n.a: 0, n.ell: 1}), n.q, sp.oo) == 0
    with pytest.raises(Exception, match="count"):
        hermite_test_functions(n, 0)


# ---- simulator and estimators --------------------------------------------------------------------------------

def test_gaussian_drift_is_current_plus_osmotic_velocity() -> None:
    st = free_packet(m=1.25, hbar=0.75, s0=0.4, v0=0.5)
    t, q = 0.7, np.linspace(-2, 2, 5)
    a, b = st.drift_coefficients(t)
    mu, var = st.mean(t), st.var(t)
    v = st.mean_dot(t) + st.log_sd_dot(t) * (q - mu)
    u = -st.nu * (q - mu) / var
    assert np.allclose(a + b * q, v + u)
    # d ln sigma / dt from a finite difference of the closed-form variance
    eps = 1e-6
    assert math.isclose(st.log_sd_dot(t), (math.log(st.var(t + eps)) - math.log(st.var(t - eps))) / (4 * eps),
                        rel_tol=1e-6)


def test_simulated_coherent_state_keeps_its_closed_form_moments() -> None:
    st = coherent_state(m=1.25, hbar=0.75, k=1.0, q0=1.0)
    rng = np.random.default_rng(5)
    N = 40000
    q0 = st.mean(0) + math.sqrt(st.var(0)) * rng.standard_normal(N)
    Q = simulate(q0, gaussian_drift(st), st.nu, 0.02, [0, 50, 100], rng)
    for k, t in zip(range(3), (0.0, 1.0, 2.0)):
        se_mean, se_var = math.sqrt(st.var(t) / N), st.var(t) * math.sqrt(2 / N)
        assert abs(Q[k].mean() - st.mean(t)) < 5 * se_mean
        assert abs(Q[k].var() - st.var(t)) < 5 * se_var


def test_simulate_rejects_bad_arguments() -> None:
    st = coherent_state(m=1.0, hbar=1.0, k=1.0, q0=0.0)
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidArgument, match="snapshot_steps"):
        simulate(np.zeros(3), gaussian_drift(st), 0.5, 0.01, [5, 2], rng)
    with pytest.raises(InvalidArgument, match="nu"):
        simulate(np.zeros(3), gaussian_drift(st), -1.0, 0.01, [1], rng)
    with pytest.raises(InvalidArgument, match="s0"):
        free_packet(m=1.0, hbar=1.0, s0=0.0)


def test_regression_recovers_current_and_osmotic_velocity() -> None:
    st = free_packet(m=1.25, hbar=0.75, s0=0.4, v0=0.5)
    rng = np.random.default_rng(2)
    N, h, lag, t = 100000, 0.01, 0.1, 1.0
    steps = [100 + 10 * j for j in range(-4, 5)]
    Q = list(simulate(st.mean(0) + math.sqrt(st.var(0)) * rng.standard_normal(N), gaussian_drift(st), st.nu, h,
                      steps, rng))
    std = [(float(x.mean()), float(x.std())) for x in Q]
    jet = nelson_jet(Q, lag, 3, std)
    g, w = st.log_sd_dot(t), -st.nu / st.var(t)
    assert abs(np.median(jet.v_q) - g) < 0.05 and abs(np.median(jet.u_q) - w) < 0.05
    v_true = st.mean_dot(t) + g * (jet.q - st.mean(t))
    assert np.sqrt(np.mean((jet.v - v_true) ** 2)) < 0.05
    # v_t of a free packet: d/dt [g(t)(q - mu(t))] at fixed q
    eps = 1e-5
    gt = (st.log_sd_dot(t + eps) - st.log_sd_dot(t - eps)) / (2 * eps)
    vt_true = gt * (jet.q - st.mean(t)) - g * st.mean_dot(t)
    assert np.sqrt(np.mean((jet.v_t - vt_true) ** 2)) < 0.1


def test_jet_replicates_equal_refits_on_the_replicate() -> None:
    st = coherent_state(m=1.25, hbar=0.75, k=1.0, q0=1.0)
    rng = np.random.default_rng(0)
    Q = list(simulate(1 + 0.5 * rng.standard_normal(5003), gaussian_drift(st), st.nu, 0.01,
                      [60 + 10 * j for j in range(9)], rng))
    std = [(float(x.mean()), float(x.std())) for x in Q]
    reps = JetReplicates(Q, 0.1, 3, std, groups=7)
    full, direct = reps.jet(None), nelson_jet(Q, 0.1, 3, std)
    keep = np.arange(5003) % 7 != 3
    sub, direct_sub = reps.jet(3), nelson_jet([x[keep] for x in Q], 0.1, 3, std)
    for f in full.fields():
        assert np.allclose(full.fields()[f], direct.fields()[f], atol=1e-11)
        assert np.allclose(sub.fields()[f][keep], direct_sub.fields()[f], atol=1e-11)
    A = rng.standard_normal((2, 5003))
    assert np.allclose(reps.mean(A, 3), A[:, keep].mean(axis=1))


def test_fit_velocities_is_exact_for_polynomial_paths() -> None:
    # deterministic paths q(t) = x + c1 t + c2 t^2: forward/backward drifts are q'(t) = c1 + 2 c2 t exactly
    x = np.linspace(-1, 1, 50)
    dt = 0.1
    Q = [x + 0.3 * (j * dt) + 0.2 * (j * dt) ** 2 for j in range(-2, 3)]
    v, u = fit_velocities(Q, dt, 2, 3, (0.0, 1.0))
    # v: the central combination is exact for quadratics; u: 2 u_Delta - u_2Delta = 2 c2 dt - 2 c2 dt = 0
    assert np.allclose(v(x), 0.3) and np.allclose(u(x), 0.0, atol=1e-12)
    assert np.allclose(PolyField(np.array([1.0, 2.0, 3.0]), 0.5, 2.0)(np.array([1.5]), 2), 2 * 3 / 4)


def test_time_derivative_of_mean_is_fourth_order() -> None:
    f = [np.array([math.sin(1.0 + j * 0.1)]) for j in range(-2, 3)]
    assert abs(time_derivative_of_mean(f, 0.1)[0] - math.cos(1.0)) < 1e-5
    with pytest.raises(InvalidArgument):
        time_derivative_of_mean(f[:3], 0.1)


def test_jackknife_of_a_mean_is_the_classical_standard_error() -> None:
    x = np.random.default_rng(1).standard_normal(20000)
    G = 20
    est, se = jackknife(lambda g: np.array([x.mean() if g is None else x[np.arange(x.size) % G != g].mean()]), G)
    assert math.isclose(se[0], x.std() / math.sqrt(x.size), rel_tol=0.5)


# ---- the claims ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_quick_numeric_passes_on_the_papers_inputs(cid: str) -> None:
    v = run_claim(get_claim(cid), NumericContext(seed=0, quick=True))
    assert v.status == PASSED, v.reason
    n = v.calibration
    assert n is not None and n.convergence is not None
    assert n.convergence.observed_order > 0.5
    assert n.details["max_abs_z"] <= n.details["z_critical"]


def _mutation_cases() -> list[tuple[str, str]]:
    return [(cid, name) for cid in CLAIM_IDS for name in get_claim(cid).mutations()]


@pytest.mark.parametrize("cid,name", _mutation_cases())
def test_every_mutation_fails_and_the_numeric_part_catches_it(cid: str, name: str) -> None:
    """The verdict is FAILED, and the numeric part alone (quick profile) catches the planted error through the
    inputs too (hbar_squared_factor_2 leaves the continuity equation's symbolic form unchanged: only the
    simulated trajectories -- the osmotic relation -- see it)."""
    c = get_claim(cid)
    v = run_claim(c, NumericContext(seed=0, quick=True), c.mutations()[name])
    assert v.status == FAILED
    assert v.calibration is not None and not v.calibration.ok, v.calibration.where
    assert any(not ok for _, ok in v.calibration.facts)


def test_numeric_rejects_bad_learning_parameters() -> None:
    c = get_claim("madelung.continuity")
    with pytest.raises(InvalidArgument, match="gamma_value"):
        run_claim(c, NumericContext(seed=0, quick=True), {"gamma_value": -1.0})


def test_two_dimensional_user_potential_skips_numerics_honestly() -> None:
    c = get_claim("madelung.continuity")
    v = run_claim(c, NumericContext(seed=0, quick=True),
                  {"potential": lambda qs: qs[0] ** 2 + qs[1] ** 2, "K_values": (2,)})
    assert v.calibration is not None and "skipped" in v.calibration.details


def test_monte_carlo_rate_rule() -> None:
    from nnqg.verify import Convergence

    ok = M._monte_carlo_rate(Convergence("x", 1.0, ((0.02, 0.02), (0.01, 0.011), (0.005, 0.0049))), 5.0, 40000)
    assert ok.ok
    flat = M._monte_carlo_rate(Convergence("x", 1.0, ((0.02, 0.02), (0.01, 0.018), (0.005, 0.017))), 5.0, 40000)
    assert not flat.ok and "order" in flat.reason
    big = M._monte_carlo_rate(Convergence("x", 1.0, ((0.02, 2.0), (0.01, 1.0), (0.005, 0.5))), 5.0, 40000)
    assert not big.ok and "bound" in big.reason


def _lag_points(order: float, rel_se: float, resolved: int = 3) -> list[dict]:
    """Synthetic lag-study points: bias = 0.05 (Delta/0.8)^order, each with a relative standard error; only the
    ``resolved`` largest lags count as resolved."""
    pts = []
    for k, lag in enumerate((0.8, 0.4, 0.2)):
        b = 0.05 * (lag / 0.8) ** order
        pts.append({"lag": lag, "bias": b, "bias_se": rel_se * b, "resolved": k < resolved, "bias_bound": b})
    return pts


def test_lag_decision_accepts_order_2_and_rejects_a_first_order_bias() -> None:
    from nnqg.verify.claims.madelung import lag_decision

    assert lag_decision(_lag_points(2.0, 0.05), 400000, 0.8)[0]
    # a first-order estimator (bias ~ Delta) resolved to +-5 % per lag must be refused
    ok, reason, order = lag_decision(_lag_points(1.0, 0.05), 400000, 0.8)
    assert not ok and abs(order - 1.0) < 1e-9, reason
    # two resolved lags with large Monte-Carlo errors: an order-1.4 estimate is consistent with 2 (the seed-1
    # case at N = 100k, order 1.4 +- 0.4); the same estimate with small errors is not
    assert lag_decision(_lag_points(1.4, 0.3, resolved=2), 400000, 0.8)[0]
    assert not lag_decision(_lag_points(1.4, 0.02, resolved=2), 400000, 0.8)[0]
