"""learning.fokker_planck: derivation, simulator, solver, claim (fast parts; the full studies are in tests/slow)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument, is_zero
from nnqg.derivations._fokker_planck import FPSymbols, RegressionSymbols, adjoint_by_parts, apply_operator, \
    divergence, flux_form, generator, kramers_moyal_coefficient, kramers_moyal_operator, multi_indices, \
    regression_loss_and_covariance, sgd_step_moments, stated_fokker_planck
from nnqg.numerics import _sgd
from nnqg.numerics._fp_solver import Grid2D, assemble, gaussian_cell_average, solve
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim

CLAIM = get_claim("learning.fokker_planck")


# ---------------------------------------------------------------- derivation


@pytest.mark.parametrize("K", [1, 2])
def test_kramers_moyal_equals_stated_ito_operator(K: int) -> None:
    s = FPSymbols.make(K)
    km = kramers_moyal_operator(s)
    assert is_zero(km - stated_fokker_planck(s))
    # the planted variants differ: wrong drift sign, factor 2 in D, D outside the derivatives
    assert not is_zero(km - stated_fokker_planck(s, drift_coefficient=-s.gamma))
    assert not is_zero(km - stated_fokker_planck(s, diffusion_formula=lambda g, B, S: g**2 * S / B))
    assert not is_zero(km - stated_fokker_planck(s, form="inside"))


def test_truncation_and_adjoint() -> None:
    s = FPSymbols.make(2)
    assert all(kramers_moyal_coefficient(s, a) == 0 for n in (3, 4) for a in multi_indices(2, n))
    L = generator(s)
    adj, J = adjoint_by_parts(L, s, s.p, s.phi)
    assert is_zero(s.p * apply_operator(L, s.phi, s) - s.phi * adj - divergence(J, s))
    assert is_zero(adj - kramers_moyal_operator(s))
    # a flux that is off by a term breaks the identity (the check can fail)
    J_bad = (J[0] + s.p * s.phi, J[1])
    assert not is_zero(s.p * apply_operator(L, s.phi, s) - s.phi * adj - divergence(J_bad, s))


def test_sgd_step_covariance_is_gamma2_sigma_over_B() -> None:
    m = sgd_step_moments(3, 2)
    g, q = m["gamma"], m["q"]
    for i in range(2):
        assert is_zero(m["mean"][i] + g * sp.diff(m["U"], q[i]))
        for j in range(2):
            assert is_zero(m["cov"][i][j] - g**2 * m["Sigma"][i][j] / 2)
            assert not is_zero(m["cov"][i][j] - g**2 * m["Sigma"][i][j])  # "D without 1/B" differs


def test_flux_form_rebuilds_operator_and_detects_source() -> None:
    r = RegressionSymbols.make()
    U, Sig = regression_loss_and_covariance(r)
    s = FPSymbols.make(2, potential=U, covariance=Sig, q=r.q)
    assert flux_form(stated_fokker_planck(s), s)["c0"] == 0
    assert flux_form(stated_fokker_planck(s, form="inside"), s)["c0"] != 0


def test_invalid_symbolic_inputs() -> None:
    with pytest.raises(InvalidArgument, match="K"):
        FPSymbols.make(0)
    with pytest.raises(InvalidArgument, match="form"):
        stated_fokker_planck(FPSymbols.make(1), form="stratonovich")
    with pytest.raises(InvalidArgument, match="n_data"):
        sgd_step_moments(0, 1)


# ---------------------------------------------------------------- simulator


@pytest.fixture(scope="module")
def task() -> _sgd.RegressionTask:
    return _sgd.make_regression_task(np.random.default_rng(7), n_data=128)


def test_numba_and_numpy_backends_identical(task: _sgd.RegressionTask) -> None:
    q0 = np.random.default_rng(1).standard_normal((300, 2))
    a = _sgd.simulate_sgd(task, q0, 0.1, 3, 20, np.random.default_rng(2), record_every=4)
    b = _sgd.simulate_sgd(task, q0, 0.1, 3, 20, np.random.default_rng(2), record_every=4, backend="numpy")
    c = _sgd.simulate_sgd(task, q0, 0.1, 3, 20, np.random.default_rng(2), record_every=4, parallel=False)
    assert a.shape == (6, 300, 2)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert np.array_equal(a[0], q0)
    d = _sgd.simulate_sgd(task, q0, 0.1, 3, 20, np.random.default_rng(3), record_every=4)
    assert not np.array_equal(a[-1], d[-1])  # the seed matters


def test_one_step_moments_match_drift_and_measured_diffusion(task: _sgd.RegressionTask) -> None:
    """E[dq] = -gamma grad U and Cov[dq] = gamma^2 Sigma / B = 2 D, within Monte-Carlo error."""
    gamma, B, N = 0.1, 2, 200_000
    q = task.q_star + np.array([0.7, -0.5])
    dq = _sgd.simulate_sgd(task, np.tile(q, (N, 1)), gamma, B, 1, np.random.default_rng(4))[1] - q
    grad = task.per_example_gradients(q).mean(axis=0)
    cov = gamma**2 * task.gradient_covariance(q) / B
    se_mean = np.sqrt(np.diag(cov) / N)
    assert np.all(np.abs(dq.mean(axis=0) + gamma * grad) < 5 * se_mean)
    emp = np.cov(dq.T)
    assert np.all(np.abs(emp - cov) < 0.02 * np.abs(cov).max())
    # the "D without 1/B" variant is far outside: the check can fail
    assert np.abs(emp - gamma**2 * task.gradient_covariance(q)).max() > 0.3 * np.abs(cov).max()


def test_kernels_equal_sympy(task: _sgd.RegressionTask) -> None:
    eq = _sgd.fokker_planck_equation()
    params = {"gamma": 0.1, "B": 2.0, **task.moments()}
    pts = np.array([[0.3, -0.2], [1.5, 0.4]])
    D = eq.values(eq.diffusion, pts, params)
    for i, q in enumerate(pts):
        direct = 0.1**2 * task.gradient_covariance(q) / 4
        assert np.allclose([D[0, i], D[1, i], D[2, i]], direct[[0, 0, 1], [0, 1, 1]], rtol=1e-10, atol=1e-14)
    fl = eq.values(eq.flux, pts, params)
    sub = {sp.Symbol(k, real=True): v for k, v in params.items()}
    sub[sp.Symbol("B", positive=True)] = 2.0
    sub[sp.Symbol("gamma", positive=True)] = 0.1
    r = RegressionSymbols.make()
    U, Sig = regression_loss_and_covariance(r)
    s = FPSymbols.make(2, potential=U, covariance=Sig, q=r.q)
    ff = flux_form(stated_fokker_planck(s), s)
    for k, lab in enumerate(_sgd.FLUX_LABELS):
        for i, q in enumerate(pts):
            ref = float(ff[lab].subs(sub).subs({r.q[0]: q[0], r.q[1]: q[1]}))
            assert fl[k, i] == pytest.approx(ref, rel=1e-10, abs=1e-14)


def test_invalid_simulator_inputs(task: _sgd.RegressionTask) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidArgument, match="q0"):
        _sgd.simulate_sgd(task, np.zeros((3, 3)), 0.1, 1, 1, rng)
    with pytest.raises(InvalidArgument, match="gamma"):
        _sgd.simulate_sgd(task, np.zeros((3, 2)), -0.1, 1, 1, rng)
    with pytest.raises(InvalidArgument, match="batch_size"):
        _sgd.simulate_sgd(task, np.zeros((3, 2)), 0.1, 0, 1, rng)
    with pytest.raises(InvalidArgument, match="backend"):
        _sgd.simulate_sgd(task, np.zeros((3, 2)), 0.1, 1, 1, rng, backend="cuda")
    with pytest.raises(InvalidArgument, match="n_data"):
        _sgd.make_regression_task(rng, n_data=1)
    with pytest.raises(InvalidArgument, match="learning_times"):
        _sgd.fokker_planck_reference(task, gamma=0.5, batch_size=1, learning_times=(0.1, 0.2))


# ---------------------------------------------------------------- solver


def _ou_error(n: int, scheme: str) -> float:
    """L1 error of the FV solution of an anisotropic Ornstein-Uhlenbeck equation against its exact Gaussian."""
    from scipy.linalg import expm, solve_continuous_lyapunov
    from scipy.stats import multivariate_normal

    D = np.array([[0.3, 0.1], [0.1, 0.2]])
    K = np.array([[1.0, 0.3], [0.3, 0.8]])

    def coef(q1: np.ndarray, q2: np.ndarray) -> dict[str, np.ndarray]:
        z = 0 * q1
        return {"A11": z + D[0, 0], "A12": z + D[0, 1], "A22": z + D[1, 1], "b1": K[0, 0] * q1 + K[0, 1] * q2,
                "b2": K[1, 0] * q1 + K[1, 1] * q2, "c0": z}

    m0, s0, T = np.array([1.0, -0.5]), 0.4, 1.0
    E = expm(-K * T)
    S_inf = solve_continuous_lyapunov(-K, -2 * D)
    S = E @ (s0**2 * np.eye(2) - S_inf) @ E.T + S_inf
    g = Grid2D((-3.0, -3.0), (3.0, 3.0), (n, n))
    p = solve(assemble(g, coef, scheme), gaussian_cell_average(g, m0, (s0, s0)).ravel(), [T])[0]
    C1, C2 = np.meshgrid(g.centres(0), g.centres(1), indexing="ij")
    exact = multivariate_normal(E @ m0, S).pdf(np.stack([C1, C2], -1)).ravel()
    return float(np.abs(p - exact).sum() * g.cell_area)


def test_solver_orders_on_exact_ou_solution() -> None:
    central = [_ou_error(n, "central") for n in (16, 32, 64)]
    upwind = [_ou_error(n, "upwind") for n in (16, 32, 64)]
    oc = np.log2(central[1] / central[2])
    ou = np.log2(upwind[1] / upwind[2])
    assert 1.8 < oc < 2.3, central
    assert ou < 1.3, upwind  # the first-order planted solver is caught by an order test


def test_solver_rejects_bad_input() -> None:
    with pytest.raises(InvalidArgument, match="scheme"):
        assemble(Grid2D((0, 0), (1, 1), (4, 4)), lambda a, b: {}, "spectral")
    with pytest.raises(InvalidArgument, match="grid"):
        Grid2D((0, 0), (1, 1), (2, 4))


# ---------------------------------------------------------------- the claim


def test_claim_mutations_are_named_and_cover_required_errors() -> None:
    names = set(CLAIM.mutations())
    assert {"drift_sign_flipped", "diffusion_factor_2", "diffusion_without_1_over_B", "dropped_derivatives_of_D",
            "first_order_upwind_solver"} <= names


@pytest.mark.parametrize("name", ["drift_sign_flipped", "diffusion_factor_2", "diffusion_without_1_over_B",
                                  "dropped_derivatives_of_D"])
def test_symbolic_check_catches_equation_mutations(name: str) -> None:
    v = run_claim(CLAIM, NumericContext(seed=1, quick=True), CLAIM.mutations()[name], calibration=False)
    assert v.status == FAILED, v.reason


def test_claim_symbolic_passes() -> None:
    v = run_claim(CLAIM, NumericContext(seed=1, quick=True), calibration=False)
    assert v.status == PASSED, v.reason


def test_claim_bad_input_named() -> None:
    with pytest.raises(InvalidArgument, match="fp_scheme"):
        run_claim(CLAIM, NumericContext(seed=1, quick=True), {"fp_scheme": "spectral"})
    with pytest.raises(InvalidArgument, match="batch_size"):
        run_claim(CLAIM, NumericContext(seed=1, quick=True), {"batch_size": 0}, calibration=False)
