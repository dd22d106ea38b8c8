"""lorentz.wave_equation and lorentz.boost_invariance: the network, the derivations, the claims and their
planted errors (each must turn the verdict to FAILED, and the numeric check must catch it on its own)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp

from nnqg.derivations import InvalidArgument, is_zero
from nnqg.derivations._lorentz import composition_defects, coordinates, galilean_boost, isometry_defect, \
    laplace_beltrami, lorentz_boost, minkowski, wave_operator, wave_residual
from nnqg.numerics._network import advance, block_average, central_jet, coupled_weights, is_permutation, \
    shift_matrix, simulate, two_population_shift_weights
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim

CTX = NumericContext(seed=7, quick=True)
C = sp.Symbol("c", positive=True)
V = sp.Symbol("v", real=True)


# --- the network ------------------------------------------------------------------------------------------------

def test_shift_network_is_a_permutation_and_a_leak_is_not() -> None:
    W = two_population_shift_weights(12)
    assert is_permutation(W)
    assert not is_permutation(0.98 * W)
    assert not is_permutation(W + sps.identity(24) * 1e-3)
    assert not is_permutation(sps.csr_matrix(np.ones((3, 4))))


def test_population_sum_obeys_the_discrete_dalembertian_exactly() -> None:
    n = 32
    rng = np.random.default_rng(0)
    Y = simulate(two_population_shift_weights(n), rng.normal(size=2 * n), 20)
    u = Y[:, :n] + Y[:, n:]
    d = u[2:] + u[:-2] - np.roll(u[1:-1], 1, 1) - np.roll(u[1:-1], -1, 1)
    assert np.abs(d).max() < 1e-12
    # a leaky network breaks it
    Y = simulate(0.98 * two_population_shift_weights(n), rng.normal(size=2 * n), 20)
    u = Y[:, :n] + Y[:, n:]
    d = u[2:] + u[:-2] - np.roll(u[1:-1], 1, 1) - np.roll(u[1:-1], -1, 1)
    assert np.abs(d).max() > 1e-3


def test_coupled_network_at_courant_one_is_the_shift_network() -> None:
    n = 16
    rng = np.random.default_rng(1)
    Y = simulate(two_population_shift_weights(n), rng.normal(size=2 * n), 12)
    u = Y[:, :n] + Y[:, n:]
    Z = simulate(coupled_weights(np.ones(n), np.ones(n), 1.0, 1.0), np.r_[u[1], u[0]], 11)[:, :n]
    assert np.abs(Z - u[1:]).max() < 1e-12


def test_simulator_runs_the_update_rule_and_validates() -> None:
    S = shift_matrix(5)
    y = simulate(S, np.eye(5)[0], 2, bias=np.full(5, 0.5), activation=np.tanh)
    assert np.allclose(y[1], np.tanh(np.eye(5)[1] + 0.5))
    assert np.allclose(advance(S, np.arange(5.0), 3), simulate(S, np.arange(5.0), 3)[-1])
    with pytest.raises(InvalidArgument, match="y0"):
        simulate(S, np.zeros(4), 1)
    with pytest.raises(InvalidArgument, match="steps"):
        simulate(S, np.zeros(5), -1)
    with pytest.raises(InvalidArgument, match="bias"):
        simulate(S, np.zeros(5), 1, bias=np.zeros(3))
    with pytest.raises(InvalidArgument, match="N"):
        shift_matrix(2)
    with pytest.raises(InvalidArgument, match="block"):
        block_average(np.zeros((2, 10)), 3)


def test_central_jet_is_second_order() -> None:
    f = lambda t, x: np.sin(t) * np.cos(2 * x)  # noqa: E731
    exact = -2 * np.cos(0.3) * np.sin(0.4)
    e1 = abs(central_jet(f, (np.array([0.3]), np.array([0.2])), (1, 1), 0.02)[0] - exact)
    e2 = abs(central_jet(f, (np.array([0.3]), np.array([0.2])), (1, 1), 0.01)[0] - exact)
    assert 3.5 < e1 / e2 < 4.5
    with pytest.raises(InvalidArgument, match="counts"):
        central_jet(f, (np.array([0.3]), np.array([0.2])), (3, 0), 0.1)


# --- derivations ------------------------------------------------------------------------------------------------

def test_wave_operator_from_the_action() -> None:
    t, x, y, z = coordinates(3)
    phi = sp.Function("phi")(t, x, y, z)
    g = minkowski(C, 3)
    assert is_zero(wave_operator(g, (t, x, y, z), phi) - laplace_beltrami(g, (t, x, y, z), phi))
    r = wave_residual(g, (t, x, y, z), phi)
    assert is_zero(r - (sp.diff(phi, t, 2) - C**2 * (sp.diff(phi, x, 2) + sp.diff(phi, y, 2) + sp.diff(phi, z, 2))))


def test_boosts_exact_and_galilean_not() -> None:
    for D in (1,):  # 3+1 is covered by the claim (test_boost_invariance_passes)
        g = minkowski(C, D)
        assert isometry_defect(lorentz_boost(V, C, D), g).is_zero_matrix
        assert all(is_zero(d) for d in composition_defects(lorentz_boost(V, C, D), g))
        assert not isometry_defect(galilean_boost(V, D), g).is_zero_matrix
        assert not is_zero(composition_defects(galilean_boost(V, D), g)[0])
    # a rotation is a symmetry of the Euclidean metric, a boost is not
    assert not is_zero(composition_defects(lorentz_boost(V, C, 1), sp.diag(C**2, 1))[0])


def test_derivation_rejects_bad_input() -> None:
    with pytest.raises(InvalidArgument, match="metric"):
        wave_operator(sp.Matrix([[1, 2], [3, 4]]), coordinates(1), sp.Function("u")(*coordinates(1)))
    with pytest.raises(InvalidArgument, match="transform"):
        t, x = coordinates(1)
        composition_defects(sp.Matrix([[1, x], [0, 1]]), minkowski(C, 1))
    with pytest.raises(InvalidArgument, match="D"):
        coordinates(0)


# --- lorentz.wave_equation --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wave_verdict():
    return run_claim(get_claim("lorentz.wave_equation"), CTX)


def test_wave_equation_passes_at_order_two(wave_verdict) -> None:
    v = wave_verdict
    assert v.status == PASSED, v.reason
    conv = v.calibration.convergence
    assert 1.8 < conv.observed_order < 2.2
    # the residual really shrinks: each halving of h divides it by about 4
    rs = [r for _, r in conv.points]
    assert all(3.0 < a / b < 5.0 for a, b in zip(rs, rs[1:]))
    for key, d in v.calibration.details.items():
        if key.startswith("N="):
            assert d["weights_are_permutation"]
            assert d["discrete_dalembertian_defect"] < 1e-12


@pytest.mark.parametrize("name", sorted(get_claim("lorentz.wave_equation").mutations()))
def test_wave_mutations_fail(name: str) -> None:
    claim = get_claim("lorentz.wave_equation")
    ov = claim.mutations()[name]
    assert run_claim(claim, CTX, ov).status == FAILED
    inputs = claim.default_inputs()
    inputs.update(ov)
    num = claim.calibration(CTX, inputs)  # the numeric check catches every planted error on its own
    assert not num.ok
    assert num.convergence.observed_order < 1.0


def test_speed_is_emergent_from_spacing_over_update_time() -> None:
    """Half the update time: the network covers a neuron spacing in half the time, c = h/tau = 2, and the
    claim passes with c = 2 (and fails with the default c = 1): c is measured, not assumed."""
    claim = get_claim("lorentz.wave_equation")
    assert run_claim(claim, CTX, {"update_duration": lambda h: h / 2, "c": 2.0}).status == PASSED
    assert run_claim(claim, CTX, {"update_duration": lambda h: h / 2}).status == FAILED


def test_wave_equation_rejects_bad_inputs() -> None:
    claim = get_claim("lorentz.wave_equation")
    with pytest.raises(InvalidArgument, match="c"):
        run_claim(claim, CTX, {"c": -1.0})
    with pytest.raises(InvalidArgument, match="sizes"):
        run_claim(claim, CTX, {"sizes_quick": (64, 130)})
    with pytest.raises(InvalidArgument, match="weights"):
        run_claim(claim, CTX, {"weights": lambda n: sps.identity(n)})
    with pytest.raises(InvalidArgument, match="update_duration"):
        run_claim(claim, CTX, {"update_duration": lambda h: 0.0})
    with pytest.raises(InvalidArgument, match="metric"):
        run_claim(claim, CTX, {"metric": lambda c: sp.diag(-c**2 * sp.Symbol("k"), 1)})


# --- lorentz.boost_invariance -----------------------------------------------------------------------------------

def test_boost_invariance_passes() -> None:
    v = run_claim(get_claim("lorentz.boost_invariance"), CTX)
    assert v.status == PASSED, v.reason
    for D in ("1+1", "3+1"):
        assert 1.8 < v.calibration.details[D]["observed_order"] < 2.2


@pytest.mark.parametrize("name", sorted(get_claim("lorentz.boost_invariance").mutations()))
def test_boost_mutations_fail(name: str) -> None:
    claim = get_claim("lorentz.boost_invariance")
    ov = claim.mutations()[name]
    v = run_claim(claim, CTX, ov, calibration=False)
    assert v.status == FAILED and "derivation" in v.reason
    inputs = claim.default_inputs()
    inputs.update(ov)
    num = claim.calibration(CTX, inputs)
    assert not num.ok
    assert num.max_residual > 0.1  # an O(1) residual, not a round-off effect
