"""Slow Madelung studies: the full calibration profile of both claims (N^-1/2 rate and the lag study), the planted
errors under the full profile, the false-alarm rate over seeds (quick and full), the power requirements (the
quantum potential x 1.5 in the kernel only caught by the full profile at 5 seeds of 5, x 2 by the quick profile
at 5 of 5), user potentials (a verdict or INCONCLUSIVE, never a false FAILED), and the measured weak order of
the stochastic Heun integrator (vs Euler-Maruyama) used for the Nelson trajectories."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from nnqg.numerics._nelson import STABILITY_BOUND, _euler_step, _heun_step, coherent_state, free_packet, \
    gaussian_drift
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify.claims._plants import scaled_kernels
from nnqg.verify.claims._user import potential_overrides

CLAIM_IDS = ("madelung.continuity", "madelung.hamilton_jacobi")


@pytest.mark.slow
@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_full_profile_passes(cid: str) -> None:
    t0 = time.perf_counter()
    v = run_claim(get_claim(cid), NumericContext(seed=0, quick=False))
    elapsed = time.perf_counter() - t0
    assert v.status == PASSED, v.reason
    n = v.calibration
    assert n is not None and n.convergence is not None
    assert 0.5 <= n.convergence.observed_order <= 1.5
    assert "lag_study" in n.details and n.details["lag_study"]["ok"]
    study = n.details["lag_study"]
    if len({tuple(v) for v in study["lags"].values()}) > 1:  # the reason names every state's lags
        assert all(f"{name}" in study["reason"] for name in study["lags"]), study["reason"]
    print(f"{cid}: {elapsed:.1f} s, order {n.convergence.observed_order:.3f}, lag study "
          f"{n.details['lag_study']['reason']}")


@pytest.mark.slow
@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_full_profile_catches_every_mutation(cid: str) -> None:
    c = get_claim(cid)
    for name, override in c.mutations().items():
        inputs = c.default_inputs()
        inputs.update(override)
        res = c.calibration(NumericContext(seed=0, quick=False), inputs)
        assert not res.ok, (name, res.where)


@pytest.mark.slow
@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_quick_profile_has_no_false_alarms_over_seeds(cid: str) -> None:
    """20 seeds of the quick profile: no false alarm (the rule's nominal family-wise rate is 1e-3 per test; the
    measured maximum |z| over the seeds is printed)."""
    c = get_claim(cid)
    res = [run_claim(c, NumericContext(seed=seed, quick=True)) for seed in range(1, 21)]
    print(cid, "max |z| over seeds:", max(v.calibration.details["max_abs_z"] for v in res))
    assert [v.status for v in res] == [PASSED] * 20, [v.reason for v in res if v.status != PASSED]


@pytest.mark.slow
def test_full_profile_has_no_false_alarms_over_seeds() -> None:
    for seed in range(2, 6):
        for cid in CLAIM_IDS:
            v = run_claim(get_claim(cid), NumericContext(seed=seed, quick=False))
            assert v.status == PASSED, (seed, cid, v.reason)


@pytest.mark.slow
@pytest.mark.parametrize("scale, quick", [(1.5, False), (2.0, True)])
def test_quantum_potential_scaled_in_the_kernel_is_caught_at_every_seed(scale: float, quick: bool) -> None:
    """x 1.5 in the kernel only: caught by the full profile at seeds 1-5; x 2: by the quick profile at seeds 1-5."""
    c = get_claim("madelung.hamilton_jacobi")
    plant = {"kernel_factory": scaled_kernels(fisher=scale)}
    statuses = [run_claim(c, NumericContext(seed=seed, quick=quick), plant).status for seed in range(1, 6)]
    assert statuses == [FAILED] * 5, statuses


@pytest.mark.slow
def test_user_potential_runs_through_the_schrodinger_solver() -> None:
    c = get_claim("madelung.hamilton_jacobi")
    ov = potential_overrides("q**2/2 + q**4/10", [c])[c.id]
    v = run_claim(c, NumericContext(seed=0, quick=True), ov)
    assert v.calibration is not None and v.calibration.ran
    assert v.status == PASSED, v.reason
    assert not v.calibration.details["states"][0]["closed_form"]
    # the same potential with a planted mass error must fail numerically
    inputs = c.default_inputs()
    inputs.update(ov)
    inputs.update(c.mutations()["mass_factor_2"])
    assert not c.calibration(NumericContext(seed=0, quick=True), inputs).ok


@pytest.mark.slow
@pytest.mark.parametrize("text, allowed", [("q**2/2 + q**4/10", {PASSED}),
                                           ("q**2", {PASSED}),  # FAILED at lag 0.2 (docs/madelung.md, 2026-11-26)
                                           ("3*q**2/2", {PASSED, "INCONCLUSIVE"}),
                                           ("-1/cosh(q)**2", {PASSED, "INCONCLUSIVE"}),
                                           ("q**4/4 - q**2/2", {PASSED, "INCONCLUSIVE"}),
                                           ("q**4", {PASSED, "INCONCLUSIVE"})])
def test_user_potentials_get_a_verdict_at_the_full_profile(text: str, allowed: set) -> None:
    """The README's example passes its full profile, and so does V = q^2 (its lag bias at lag 0.2 failed it at
    seeds 1 and 2; the resolution rule sets lag 0.1, and 0.08 since 2026-11-26, the rate following the breathing
    packet); the others pass or are INCONCLUSIVE with the estimator's reason, never a false FAILED."""
    for cid in CLAIM_IDS:
        c = get_claim(cid)
        v = run_claim(c, NumericContext(seed=1, quick=False), potential_overrides(text, [c])[c.id])
        assert v.calibration_status in allowed, (cid, v.reason)
        assert v.status != FAILED


def _affine_step(scheme: str, st, t: float, h: float) -> tuple[float, float, float]:
    """One step of the scheme on the affine drift b = alpha + beta q is q' = A q + B + C xi; (A, B, C)."""
    a0, b0 = st.drift_coefficients(t)
    a1, b1 = st.drift_coefficients(t + h)
    sigma = math.sqrt(2 * st.nu * h)
    if scheme == "euler":
        return 1 + b0 * h, a0 * h, sigma
    return (1 + 0.5 * h * (b0 + b1 + b1 * b0 * h), 0.5 * h * (a0 + a1 + b1 * a0 * h), sigma * (1 + 0.5 * h * b1))


def test_numba_steps_are_the_affine_maps() -> None:
    """The compiled Heun/Euler steps equal q' = A q + B + C xi path by path (so the moment recursion below is
    the exact weak behaviour of the code, not of a re-implementation)."""
    st = free_packet(m=1.0, hbar=1.0, s0=0.5, v0=0.4)
    drift = gaussian_drift(st)
    rng = np.random.default_rng(0)
    q, xi = rng.standard_normal(50), rng.standard_normal(50)
    for scheme in ("heun", "euler"):
        t, h = 0.3, 0.05
        A, B, C = _affine_step(scheme, st, t, h)
        g0, dx, b0 = drift(t)
        _, _, b1 = drift(t + h)
        out = q.copy()
        stiff = np.zeros(q.size)  # h|b'| well below the stability bound here: no trajectory is left to the substeps
        if scheme == "heun":
            assert _heun_step(out, xi, h, math.sqrt(2 * st.nu * h), g0, dx, b0, b1, False, STABILITY_BOUND, stiff) == 0
        else:
            assert _euler_step(out, xi, h, math.sqrt(2 * st.nu * h), g0, dx, b0, False, STABILITY_BOUND, stiff) == 0
        assert np.allclose(out, A * q + B + C * xi, rtol=1e-13, atol=1e-13)


def _scheme_second_moment(scheme: str, st, h: float, T: float) -> float:
    """Exact E[q_T^2] of the scheme (mean and variance recursions of the affine map; no sampling noise)."""
    m, v = st.mean(0.0), st.var(0.0)
    for n in range(int(round(T / h))):
        A, B, C = _affine_step(scheme, st, n * h, h)
        m, v = A * m + B, A * A * v + C * C
    return v + m * m


@pytest.mark.slow
def test_heun_is_weak_order_two_and_euler_order_one() -> None:
    """Weak error |E[q_T^2] - exact| of the free packet (and the coherent state) vs h: order 2 for Heun, 1 for
    Euler-Maruyama (the reason for the Heun choice: all checks are ensemble averages)."""
    hs = [0.1, 0.05, 0.025, 0.0125]
    for st, T in ((free_packet(m=1.25, hbar=0.75, s0=0.4, v0=0.5), 1.6),
                  (coherent_state(m=1.25, hbar=0.75, k=1.0, q0=1.0), 1.6)):
        exact = st.var(T) + st.mean(T) ** 2

        def order(scheme: str) -> float:
            e = [abs(_scheme_second_moment(scheme, st, h, T) - exact) for h in hs]
            return float(np.polyfit(np.log(hs), np.log(e), 1)[0])

        heun, euler = order("heun"), order("euler")
        print(f"{st.kind}: weak order heun {heun:.3f}, euler {euler:.3f}")
        assert 1.8 < heun < 2.3
        assert 0.8 < euler < 1.2
