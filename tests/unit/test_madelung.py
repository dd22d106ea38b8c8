"""Madelung claims: the Nelson-law derivation step, the trajectory simulator and estimators, and the calibrations
(quick profile) -- which must pass on the paper's inputs, FAIL on every planted error (input, simulator,
estimator and kernel level), and report a power that matches what they catch."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
from scipy import stats

from nnqg.derivations import InvalidArgument, is_zero
from nnqg.derivations._madelung import MadelungSymbols, NelsonSymbols, continuity_flux, euler_lagrange, \
    hermite_test_functions, learning_action, model_weak_velocity, nelson_newton, nelson_nu, qhj_gradient_model, \
    qhj_gradient_nelson, weak_continuity_identity, weak_velocity
from nnqg.numerics._nelson import JetReplicates, PolyField, ScoreReplicates, coherent_state, fit_velocities, \
    free_packet, gaussian_drift, jackknife, jackknife_covariance, nelson_jet, simulate, time_derivative_of_mean
from nnqg.numerics._nelson_states import osmotic_rate, drift_table, gaussian_table, nelson_drift, \
    nelson_noise, schrodinger_table
from nnqg.numerics._schrodinger import crank_nicolson
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify._model import NOT_RUN, NumericResult
from nnqg.verify.claims import _nelson_calibration as _cal
from nnqg.verify.claims import _plants
from nnqg.verify.claims._monte_carlo import DETECTION_BETA, detection_power, lag_decision, lag_point, monte_carlo_rate

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


def test_the_calibrations_model_forms_are_the_stated_ones() -> None:
    """With the jet of a given F: w = gamma F_q, and gamma d_q QHJ = gamma F_qt + gamma^2 F_q F_qq - u u' - nu u''
    + gamma V' (the Newton law at v = gamma F_q)."""
    s = MadelungSymbols.make(1)
    n = NelsonSymbols.make(s)
    L = learning_action(s)
    assert model_weak_velocity(continuity_flux(L, s), s, n) == s.gamma * n.F_q
    e = qhj_gradient_model(euler_lagrange(L, s)["p"], s, n).subs(n.nu, nelson_nu(s))
    at_v = {n.F_q: n.v / s.gamma, n.F_qq: n.v_q / s.gamma, n.F_qt: n.v_t / s.gamma}
    assert is_zero(e.subs(at_v) - nelson_newton(s, n).subs(n.nu, nelson_nu(s)))


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
    """The verdict is FAILED, and the calibration alone (quick profile) catches the planted error: input-level
    (the action, the identification), simulator-level (drift without or with a flipped osmotic term, plain
    gradient descent, a flipped current velocity, doubled noise, hbar x 2 or m = gamma in the simulation only),
    estimator-level (no Richardson correction, a forward time difference) and kernel-level (quantum potential x 2,
    velocity x 1.5 in the kernel only). The continuity calibration evaluates the equation with the model's F, so
    it fails on every diffusion that is not Nelson's for that F (hbar_squared_factor_2 leaves the continuity
    equation's form unchanged: the noise-level relation sees it)."""
    c = get_claim(cid)
    v = run_claim(c, NumericContext(seed=0, quick=True), c.mutations()[name])
    assert v.status == FAILED
    assert v.calibration is not None and not v.calibration.ok, v.calibration.where
    assert any(not ok for _, ok in v.calibration.facts)


#: a stiff harmonic potential whose state the lag 0.2 does not resolve (issue 13; docs/madelung.md). The resolution
#: rule would give it lag 0.08; the recheck tests below pin the lag at 0.2 (``resolve_lag=False``), where the
#: recheck has a lag bias to recognise
_STIFF = {"potential": lambda qs: 3 * qs[0] ** 2 / 2}
_AT_LAG_02 = replace(_cal.QUICK, resolve_lag=False)


def _stiff_at_lag_02(overrides: dict) -> NumericResult:
    inputs = {**get_claim("madelung.continuity").default_inputs(), **_STIFF, **overrides}
    return _cal.calibrate(NumericContext(seed=1, quick=True), inputs, "continuity", _AT_LAG_02)


@pytest.mark.parametrize("name", ["simulator_noise_x2", "kernel_velocity_x1.5", "estimator_richardson_removed"])
def test_lag_recheck_keeps_a_planted_error_failed_on_a_stiff_potential(name: str) -> None:
    """On V = 3 q^2/2 at lag 0.2 the lag-dependent residuals move with the lag even without a planted error (the
    lag bias); a planted error is not gone at half the lag, so the recheck does not explain it: FAILED, not
    INCONCLUSIVE. Seed 1 is the finding's seed."""
    n = _stiff_at_lag_02(get_claim("madelung.continuity").mutations()[name])
    assert not n.ok and not n.inconclusive, n.where
    rc = n.details["lag_recheck"]["user potential"]
    assert rc["moves"] and not rc["vanishes"] and not rc["explains"]


def test_lag_recheck_explains_the_stiff_potential_by_its_stated_criterion() -> None:
    """Without a planted error the failure at lag 0.2 is the estimators' bias: the paired difference between lag
    0.2 and 0.1 exceeds the bound and at lag 0.1 every lag-dependent residual is within it (the reason says so)."""
    n = _stiff_at_lag_02({})
    assert not n.ok and n.inconclusive, n.where
    rc = n.details["lag_recheck"]["user potential"]
    assert rc["max_abs_z"] > rc["bound"] >= rc["max_abs_z_half_lag"] and rc["explains"]
    assert "gone at half the lag" in n.where


@pytest.mark.parametrize("formula, extra, lag", [
    (lambda q: q**2, {}, 0.1),  # Omega = sqrt(2/m) = 1.26: 0.13/Omega = 0.103
    (lambda q: 3 * q**2 / 2, {}, 0.08),  # Omega = 1.55
    # the Morse finding of --explore (gamma 1.9, c 3.1): nu/s0^2 = 4.86 (spreading); the floor 2h = 0.02
    (lambda q: (1 - sp.exp(-sp.Rational(7, 10) * q)) ** 2, {"gamma_value": 1.9, "c_value": 3.1}, 0.02),
])
def test_a_numerical_states_lag_is_set_by_the_resolution_rule(formula, extra, lag) -> None:
    """The snapshot lag of a numerical state is the largest multiple of 2h with Omega lag <= LAG_RESOLUTION
    (Omega: the larger of the curvature rate and the spreading rate nu/s0^2); the lag study scales with it."""
    q = sp.Symbol("q", real=True)
    inputs = {**get_claim("madelung.continuity").default_inputs(), **extra}
    u = _cal.units(inputs)
    spec = inputs["user_state"]
    rate = _cal.state_rate(formula(q), u.m, u.hbar, spec["q0"], spec["s0"])
    prof, rule = _cal.resolving_lag(_cal.FULL, rate["Omega"])
    assert prof.lag == pytest.approx(lag) and rule["lag"] == pytest.approx(lag) and not rule["unresolved"]
    assert rate["Omega"] * lag <= _cal.LAG_RESOLUTION < rate["Omega"] * (lag + 2 * _cal.FULL.h)
    assert prof.lags == pytest.approx(tuple(L * lag / _cal.FULL.lag for L in _cal.FULL.lags))
    assert _cal.resolving_lag(_cal.FULL, 100.0)[1]["unresolved"]  # faster than 2h resolves: said so


@pytest.mark.parametrize("omega, h, halvings", [(1.875, 0.01, 0), (6.5, 0.01, 0), (8.02, 0.005, 1),
                                                 (14.24, 0.0025, 2), (1000.0, 0.00125, 3)])
def test_the_sde_step_is_halved_until_the_floor_lag_resolves_the_state(omega, h, halvings) -> None:
    """h is the profile's, halved (at most MAX_STEP_HALVINGS times) until Omega 2h <= LAG_RESOLUTION; the lag
    study's step follows; a state still faster at the smallest step is unresolved (said so by the lag rule)."""
    prof, step = _cal.resolving_step(_cal.FULL, omega)
    assert prof.h == pytest.approx(h) and step["halvings"] == halvings and step["profile_h"] == _cal.FULL.h
    assert prof.lag_h == pytest.approx(_cal.FULL.lag_h * h / _cal.FULL.h)
    lagged, rule = _cal.resolving_lag(prof, omega)
    assert rule["unresolved"] == (omega * 2 * h > _cal.LAG_RESOLUTION)
    assert all(abs(L / prof.lag_h - round(L / prof.lag_h)) < 1e-9 for L in lagged.lags)  # the study's lags fit


#: relative tolerance of the followed rate against its closed form on a Crank-Nicolson table (dx = 25/1600): the
#: table's central differences err by O((dx/sigma)^2) ~ 1e-3 and Crank-Nicolson's phase by O((omega h)^2); the
#: largest deviation measured (2026-11-26) was 3.0e-3 (coherent state, k = 3, h = 0.01, over t <= 2)
_FOLLOWED_RTOL = 1e-2


def _cn_table(V, centre: float, width: float, h: float, t_end: float, momentum: float = 0.0):
    return schrodinger_table(crank_nicolson, V, m=1.25, hbar=0.75, centre=centre, width=width, momentum=momentum,
                             box=12.5, points=1601, h=h, n_steps=int(round(t_end / h)))


@pytest.mark.parametrize("k", [1.0, 3.0])
def test_the_followed_rate_of_a_tabulated_coherent_state_is_omega(k) -> None:
    """E_p[u^2]/nu = nu/sigma^2 of a coherent state is omega at every time (sigma^2 = nu/omega), here on its
    Crank-Nicolson table over two time units: the same rate the closed-form rule gives it."""
    omega = math.sqrt(k / 1.25)
    tab = _cn_table(lambda z: k * z**2 / 2, 1.0, math.sqrt(0.75 / (2 * 1.25 * omega)), 0.01, 2.0)
    rate, _ = osmotic_rate(tab, tab.n_steps)
    assert rate == pytest.approx(omega, rel=_FOLLOWED_RTOL)


@pytest.mark.parametrize("s0", [0.5, 0.3])
def test_the_followed_rate_of_a_tabulated_free_packet_is_its_spreading_rate(s0) -> None:
    """A free packet's E_p[u^2]/nu = nu/sigma_t^2 is nu/s0^2 at t = 0 and smaller later: the maximum is the
    spreading rate, at t = 0."""
    tab = _cn_table(lambda z: 0 * z, 0.0, s0, 0.01, 1.0, momentum=0.5)
    rate, at = osmotic_rate(tab, tab.n_steps)
    assert rate == pytest.approx(0.3 / s0**2, rel=_FOLLOWED_RTOL) and at == 0.0


def test_the_followed_rate_of_a_packet_sliding_down_a_wall_exceeds_its_initial_rate() -> None:
    """The minimal Morse input of issue 13 (V = (1 - exp(-(q - 1)))^2, at rest at q0 = -0.75, s0 = 0.5): its initial
    rate is 12.8 (curvature over the initial density; larger than any curvature over the later densities); the
    osmotic rate followed to t = 1.04 on the table of step 0.01 is 29.6 (at t = 0.24, the packet focused to width
    0.3), and at t = 0 it is the spreading rate 1.2."""
    q = sp.Symbol("q", real=True)
    V = (1 - sp.exp(-(q - 1))) ** 2
    tab = _cn_table(sp.lambdify(q, V, "numpy"), -0.75, 0.5, 0.01, 1.1)
    initial = _cal.state_rate(V, 1.25, 0.75, -0.75, 0.5)["Omega"]
    rate, at = osmotic_rate(tab, 104)
    assert initial == pytest.approx(12.8, abs=0.05) and rate > 2 * initial and 0 < at <= 1.04
    assert osmotic_rate(tab, 0)[0] == pytest.approx(1.2, rel=_FOLLOWED_RTOL)


def test_the_followed_rate_needs_a_tabulated_density() -> None:
    st = _cal.coherent_state(m=1.25, hbar=0.75, k=1.0, q0=1.0)
    with pytest.raises(InvalidArgument, match="closed-form"):
        osmotic_rate(gaussian_table(st, 0.01), 0)
    tab = _cn_table(lambda z: z**2 / 2, 0.0, 0.5, 0.01, 0.1)
    with pytest.raises(InvalidArgument, match="last_step"):
        osmotic_rate(tab, 11)


def test_closed_form_states_keep_their_initial_rate_and_the_default_step() -> None:
    """The followed rate is for numerical states: the closed-form ones' rates (exact) and the default step and
    lags are those of the rule before it (free packet lag 0.06, coherent state 0.14, h = 0.01), with no
    re-tabulation."""
    c = get_claim("madelung.continuity")
    inputs = c.default_inputs()
    u = _cal.units(inputs)
    cases = _cal.nelson_states(u, inputs, 1.5, _cal.QUICK.h)
    prof, step, cases, rates = _cal._resolve_step(_cal.QUICK, cases, lambda h: pytest.fail("re-tabulated"))
    profs, rule = _cal._state_profiles(prof, cases, rates)
    assert step["halvings"] == 0 and [p.lag for p in profs] == pytest.approx([0.06, 0.14])
    assert all(len(r["rates"]) == 1 and "followed" not in r["rates"][0] for r in rule.values())


#: the quick sizes with a lag study (the full profile's is at 400k trajectories)
_QUICK_WITH_LAG_STUDY = replace(_cal.QUICK, lags=(0.8, 0.4, 0.2), lag_N=40000, lag_time=1.6)


def test_a_failure_that_persists_at_half_the_lag_is_failed_whatever_the_lag_study_says() -> None:
    """A lag-independent planted error (kinetic coefficient x 2, V = q^2) also fails the lag study (its "bias"
    does not fall as lag^2); the study must not explain it away (INCONCLUSIVE before 2026-11-26, full profile):
    the failing residuals persist at half the lag, so it is FAILED."""
    c = get_claim("madelung.continuity")
    inputs = {**c.default_inputs(), "potential": lambda qs: qs[0] ** 2, **c.mutations()["kinetic_factor_2"]}
    n = _cal.calibrate(NumericContext(seed=1, quick=True), inputs, "continuity", _QUICK_WITH_LAG_STUDY)
    assert not n.details["lag_study"]["ok"], n.details["lag_study"]["reason"]
    assert not n.details["lag_recheck"]["user potential"]["vanishes"]
    assert not n.ok and not n.inconclusive, n.where


def test_closed_form_states_at_their_resolving_lag_are_never_rechecked() -> None:
    """A closed-form state at the lag of the resolution rule (its rate is exact, not a proxy) is in its asymptotic
    regime: a failure is FAILED, no lag recheck runs. The default states' lags: free packet 0.06 (nu/s0^2 = 1.88),
    coherent state 0.14 (omega = 0.894)."""
    c = get_claim("madelung.continuity")
    v = run_claim(c, NumericContext(seed=0, quick=True), c.mutations()["simulator_noise_x2"])
    assert v.status == FAILED and "lag_recheck" not in v.calibration.details
    assert v.calibration.details["lag"] == pytest.approx({"free packet": 0.06, "coherent state": 0.14})


def test_an_unresolved_closed_form_state_is_rechecked_and_a_planted_error_stays_failed() -> None:
    """A free packet narrower than the smallest lag resolves (gamma = c = 5: nu = 2.5, s0 = 0.2, nu/s0^2 = 62.5,
    Omega 2h = 1.25 > 0.13) is rechecked at half the lag like a numerical state; a planted error persists there,
    so the verdict is FAILED, not INCONCLUSIVE by the unresolved rate."""
    c = get_claim("madelung.continuity")
    inputs = {**c.default_inputs(), "gamma_value": 5.0, "c_value": 5.0,
              "free_packet": {"s0": 0.2, "q0": 0.0, "p0": 0.625}, **c.mutations()["kernel_velocity_x1.5"]}
    n = _cal.calibrate(NumericContext(seed=1, quick=True), inputs, "continuity")
    rule = n.details["lag_rule"]
    assert rule["free packet"]["unresolved"] and not rule["coherent state"]["unresolved"]
    assert "free packet" in n.details["lag_recheck"] and "coherent state" not in n.details["lag_recheck"]
    assert not n.details["lag_recheck"]["free packet"]["vanishes"]
    assert not n.ok and not n.inconclusive, n.where



def test_one_states_unresolved_lag_never_excuses_another_states_failure() -> None:
    """Estimator trouble is attributed per state: with the free packet unresolved (as above) and doubled noise,
    the failing residuals are the coherent state's (noise_1, resolved at lag 0.04); the free packet's unresolved
    rate must not make the verdict INCONCLUSIVE (by residual family alone it would)."""
    c = get_claim("madelung.continuity")
    inputs = {**c.default_inputs(), "gamma_value": 5.0, "c_value": 5.0,
              "free_packet": {"s0": 0.2, "q0": 0.0, "p0": 0.625}, **c.mutations()["simulator_noise_x2"]}
    n = _cal.calibrate(NumericContext(seed=1, quick=True), inputs, "continuity")
    assert n.details["lag_rule"]["free packet"]["unresolved"] and "lag_recheck" not in n.details
    assert n.details["worst_component"].startswith("coherent state")
    assert not n.ok and not n.inconclusive, n.where


def test_score_matching_on_a_collapsed_ensemble_is_nan_not_a_crash() -> None:
    """Three distinct points cannot identify a degree-6 score: the singular normal equations give NaN (a planted
    drift without its osmotic term collapsed a stiff Morse ensemble this way and crashed the calibration with
    numpy's LinAlgError, 2026-11-26)."""
    q = np.repeat([0.0, 1.0, 2.0], 100)
    jet = ScoreReplicates(q, 6, (1.0, 0.8), 10).jet()
    assert all(np.isnan(v).all() for v in jet.values())


def test_numeric_rejects_bad_learning_parameters() -> None:
    c = get_claim("madelung.continuity")
    with pytest.raises(InvalidArgument, match="gamma_value"):
        run_claim(c, NumericContext(seed=0, quick=True), {"gamma_value": -1.0})


def test_two_dimensional_user_potential_is_not_run_never_passed() -> None:
    c = get_claim("madelung.continuity")
    v = run_claim(c, NumericContext(seed=0, quick=True),
                  {"potential": lambda qs: qs[0] ** 2 + qs[1] ** 2, "K_values": (2,)})
    assert v.calibration is not None and not v.calibration.ran
    assert v.calibration_status == NOT_RUN and "one-dimensional" in v.calibration.where


# ---- the constructed states ------------------------------------------------------------------------------------

@pytest.mark.parametrize("st", [free_packet(m=1.25, hbar=0.75, s0=0.4, v0=0.5),
                                coherent_state(m=1.25, hbar=0.75, k=1.0, q0=1.0)])
def test_psi_table_gives_nelsons_drift_and_the_models_phase(st) -> None:
    """From the closed form of psi: (hbar/m)(Re + Im) psi'/psi is the drift v + u of the closed-form moments, and
    F = hbar arg psi has F_q = m v, F_qq = m v_q, F_qt = m v_t."""
    tab = gaussian_table(st, 0.01)
    x = np.linspace(-2, 2, 7)
    for t in (0.0, 0.7, 1.3):
        a, b = st.drift_coefficients(t)
        grid0, dx, bb = drift_table(tab, nelson_drift)(t)
        assert np.allclose(bb[0] + (bb[1] - bb[0]) * (x - grid0) / dx, a + b * x)
        jet = tab.phase_jet(t, x)
        v = lambda tt: st.mean_dot(tt) + st.log_sd_dot(tt) * (x - st.mean(tt))
        assert np.allclose(jet["F_q"], st.m * v(t))
        assert np.allclose(jet["F_qq"], st.m * st.log_sd_dot(t))
        assert np.allclose(jet["F_qt"], st.m * (v(t + 1e-6) - v(t - 1e-6)) / 2e-6, atol=1e-6)
    assert nelson_noise(st.hbar, st.m) == st.nu


def test_score_matching_recovers_a_gaussian_and_its_replicates_drop_a_group() -> None:
    # A Gaussian's score is in the fitted family (degree >= 2), so the estimate is consistent: at bulk points the
    # error must be within t SE of the 40-group jackknife, t the Student quantile (39 dof) of a two-sided 1e-4
    # family-wise level over the 9 quantities (about 5.0); and the same rule must reject a density 5% wider (the
    # test can fail: over seeds 3..12 the true density's largest ratio is 2.5, the wider one's smallest 6.2).
    from scipy import stats

    rng = np.random.default_rng(3)
    q = 0.7 + 0.6 * rng.standard_normal(60000)
    sr, G = ScoreReplicates(q, 6, (0.7, 0.6), groups=40), 40
    at = np.array([int(np.argmin(np.abs(q - x))) for x in (0.1, 0.7, 1.3)])  # samples at -1, 0, +1 sd
    est, se = jackknife(lambda g: np.concatenate([sr.jet(g)[k][at] for k in ("lambda", "lambda_q", "lambda_qq")]),
                        G)
    crit = stats.t.ppf(1 - 0.5e-4 / est.size, G - 1)

    def truth(sd: float) -> np.ndarray:
        return np.concatenate([-(q[at] - 0.7) / sd ** 2, np.full(3, -1 / sd ** 2), np.zeros(3)])

    assert np.all(np.abs(est - truth(0.6)) < crit * se), (est - truth(0.6)) / se
    assert np.any(np.abs(est - truth(0.6 * 1.05)) > crit * se)
    sr = ScoreReplicates(q, 6, (0.7, 0.6), groups=12)
    keep = np.arange(q.size) % 12 != 5
    direct = ScoreReplicates(q[keep], 6, (0.7, 0.6), groups=11).jet()
    assert np.allclose(sr.jet(5)["lambda"][keep], direct["lambda"], atol=1e-9)
    with pytest.raises(InvalidArgument, match="degree"):
        ScoreReplicates(q, 1, (0.0, 1.0), 4)


def test_jackknife_covariance_diagonal_is_the_jackknife_variance() -> None:
    x = np.random.default_rng(4).standard_normal((2, 4000))
    est = lambda g: x.mean(axis=1) if g is None else x[:, np.arange(4000) % 8 != g].mean(axis=1)
    full, cov = jackknife_covariance(est, 8)
    _, se = jackknife(est, 8)
    assert np.allclose(np.sqrt(np.diag(cov)), se) and cov.shape == (2, 2)


# ---- the decision rule and its power -----------------------------------------------------------------------------

def test_monte_carlo_rate_rule_uses_the_orders_standard_error() -> None:
    rng = np.random.default_rng(0)
    sizes = (2500, 10000, 40000)
    K = 16
    covs = [np.eye(K) / n for n in sizes]
    noise = [rng.standard_normal(K) / math.sqrt(n) for n in sizes]
    conv, j, det = monte_carlo_rate(sizes, noise, covs, 5.0)
    assert j.ok, j.reason
    assert 0.1 < det["order_se"] < 0.5  # about 1/sqrt(2K) per level, through the slope
    flat = [rng.standard_normal(K) / math.sqrt(n) + 0.05 for n in sizes]  # a bias that does not shrink
    assert not monte_carlo_rate(sizes, flat, covs, 5.0)[1].ok


def test_lag_decision_accepts_order_2_and_rejects_order_1() -> None:
    def points(order: float, se: float) -> list[dict]:
        rng = np.random.default_rng(1)
        return [lag_point(lag, 0.05 * (lag / 0.8) ** order * np.ones(16) + se * rng.standard_normal(16),
                          se * np.ones(16), 3) for lag in (0.8, 0.4, 0.2)]

    assert lag_decision(points(2.0, 0.002))[0]
    assert lag_decision(points(4.0, 0.002))[0]
    ok, reason, order = lag_decision(points(1.0, 0.002))
    assert not ok and "more slowly" in reason and 0.7 < order < 1.3
    ok, reason, _ = lag_decision(points(1.0, 1.0))  # nothing resolved: nothing to say
    assert ok and "not measurable" in reason


def test_detection_power_accounts_for_the_noise_of_the_scaled_term() -> None:
    z = 4.0
    plain = detection_power(np.array([0.01]), np.array([0.1]), z)
    assert math.isclose(plain, (z + 1.6448536) * 0.1, rel_tol=1e-6)
    # a scaled term that is itself noisy needs a larger effect; one whose noise grows as fast as its mean, never
    assert detection_power(np.array([0.01]), np.array([0.1]), z, var_g=np.array([0.01**2])) > plain
    assert detection_power(np.array([0.01]), np.array([0.1]), z, var_g=np.array([0.05**2])) == math.inf
    # a collapsed ensemble (a planted osmotic sign flip on a Morse state): terms whose squares overflow say nothing
    assert detection_power(np.array([1e-3, 0.01]), np.array([1e200, 0.1]), z) == plain
    assert detection_power(np.array([1e170]), np.array([1e160]), z, var_g=np.array([1e300])) == math.inf


def test_detection_power_of_a_noiseless_residual() -> None:
    z = 4.0
    with np.errstate(all="raise"):  # no 0/0 on the way
        # no noise anywhere: any eps > 0 is detected
        assert detection_power(np.array([0.0]), np.array([0.1]), z) == 0.0
        # the scaled term's noise exactly at the bound (A = B = C = 0): no statement from that component
        Z = z + float(stats.norm.ppf(1 - DETECTION_BETA))  # A = g^2 - Z^2 v is then exactly 0
        assert detection_power(np.array([0.0]), np.array([Z]), z, var_g=np.array([1.0])) == math.inf
        assert detection_power(np.array([0.0, 0.01]), np.array([Z, 0.1]), z, var_g=np.array([1.0, 0.0])) \
            == detection_power(np.array([0.01]), np.array([0.1]), z)
    # a tiny but non-zero SE (its square underflows) is not a noiseless residual: no statement, like an overflow
    assert detection_power(np.array([1e-170]), np.array([1e-160]), z) == math.inf


@pytest.mark.parametrize("cid, effect, plant", [
    ("madelung.hamilton_jacobi", "quantum potential x (1 + eps)", lambda e: _plants.scaled_kernels(fisher=1 + e)),
    ("madelung.continuity", "velocity in the continuity equation x (1 + eps)",
     lambda e: _plants.scaled_kernels(kinetic=1 + e)),
])
def test_reported_power_is_what_the_rule_detects(cid: str, effect: str, plant) -> None:
    """A planted effect of twice the reported power is caught; one of a quarter of it passes (at this seed: with
    a quarter, the expected |z| of the most sensitive component is (z_crit + 1.64)/4, below the bound)."""
    c = get_claim(cid)
    ctx = NumericContext(seed=0, quick=True)
    eps = run_claim(c, ctx).calibration.power[effect]
    assert 0 < eps < 1
    big = run_claim(c, ctx, {"kernel_factory": plant(2 * eps)})
    small = run_claim(c, ctx, {"kernel_factory": plant(eps / 4)})
    assert big.status == FAILED, big.reason
    assert small.status == PASSED, small.reason
