"""The equivalence study's time-step rule (verify/claims/_schrodinger_calibration.py, ``equivalence_time_steps``),
and issue 13's finding it settles:

  nnqg verify --quick --no-learning --claims schrodinger.equivalence --param m_value=0.5 --seed 1

FAILED before the rule (dt = dx/2 whatever hbar/m: the continuity residual's local orders 2.14 then 1.71, away
from 2, at the Courant number 1.67 of the fastest admitted phase); with dt from the rule (Courant <= 1) it PASSES,
and the claim's planted errors that reach the calibration stay FAILED on that input."""

from __future__ import annotations

import math

import pytest

from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify._convergence import local_orders
from nnqg.verify._model import Convergence
from nnqg.verify.claims._schrodinger_calibration import EQUIV_COURANT, EQUIV_DT_PER_DX, EQUIV_DX_FULL, \
    EQUIV_DX_QUICK, equivalence_time_steps

QUICK = NumericContext(seed=1, quick=True)
HALF_MASS = {"m_value": 0.5}


@pytest.mark.parametrize("hbar,m,T", [(1.0, 1.0, 1.0), (1.0, 0.5, 1.0), (2.0, 0.25, 2.0), (0.25, 4.0, 0.25),
                                      (0.75, 1.0, 1.25), (1.0, 0.35, 0.75)])
@pytest.mark.parametrize("dxs", [EQUIV_DX_QUICK, EQUIV_DX_FULL])
def test_time_steps_follow_the_rule(hbar, m, T, dxs) -> None:
    dts, info = equivalence_time_steps(hbar, m, T, dxs)
    assert info["courant"] <= EQUIV_COURANT * (1 + 1e-12)
    assert dts[0] / dxs[0] <= EQUIV_DT_PER_DX * (1 + 1e-12)
    for dt, dx in zip(dts, dxs):
        assert dt / dx == pytest.approx(info["dt_per_dx"], rel=1e-12)
        for q in (1, 2, 3):  # the sample times are whole numbers of steps on every level
            steps = q * T / 4 / dt
            assert abs(steps - round(steps)) < 1e-9
    # the largest such step: one more step per quarter would be smaller, one fewer would break a bound
    n0 = info["steps_per_quarter"]
    if n0 > 1:
        longer = T / 4 / (n0 - 1)
        ratio = longer / dxs[0]
        assert ratio > EQUIV_DT_PER_DX or hbar * info["k_max"] * ratio / (2 * m) > EQUIV_COURANT


def test_default_time_step_is_unchanged() -> None:
    """At the defaults (hbar = m = 1, T = 1) the rule gives the study's original dt = dx/2 (Courant 0.83)."""
    dts, info = equivalence_time_steps(1.0, 1.0, 1.0, EQUIV_DX_FULL)
    assert dts == pytest.approx([dx / 2 for dx in EQUIV_DX_FULL], rel=1e-15)
    assert math.isclose(info["courant"], 5 / 6)


def test_half_mass_quick_passes() -> None:
    """The minimal case of issue 13's finding: PASSED, with both residuals' local orders in the asymptotic range."""
    v = run_claim(get_claim("schrodinger.equivalence"), QUICK, HALF_MASS, learning=False)
    assert v.status == PASSED and v.calibration_status == PASSED, v.calibration.where
    rule = v.calibration.details["time_step_rule"]
    assert rule["courant"] <= EQUIV_COURANT and rule["dt_per_dx"] < EQUIV_DT_PER_DX
    for study in v.calibration.details["studies"]:
        c = Convergence(study["quantity"], study["expected_order"], tuple(map(tuple, study["points"])))
        assert min(local_orders(c)) >= 1.5, study


@pytest.mark.parametrize("plant", ["quantum_potential_sign_flipped", "mass_factor_2", "first_order_stepper",
                                   "simulator_hbar_x2_in_solver", "estimator_forward_time_difference",
                                   "kernel_quantum_potential_x1.5"])
def test_plants_fail_at_half_mass(plant) -> None:
    claim = get_claim("schrodinger.equivalence")
    v = run_claim(claim, QUICK, {**HALF_MASS, **claim.mutations()[plant]}, learning=False)
    assert v.status == FAILED and v.calibration_status == FAILED, v.calibration.where


def test_inverted_potential_plant_is_never_passed_at_half_mass() -> None:
    """The solver with V's sign flipped expels the m = 0.5 packet faster than the coarsest grid resolves it (42% of
    the probability resolved at t = 3/4): INCONCLUSIVE with that reason, as before the rule; never PASSED."""
    claim = get_claim("schrodinger.equivalence")
    v = run_claim(claim, QUICK, {**HALF_MASS, **claim.mutations()["simulator_V_sign_flipped_in_solver"]},
                  learning=False)
    assert v.calibration_status != PASSED, v.calibration.where
    assert "holds only" in v.calibration.where


def test_a_study_whose_record_exceeds_the_memory_limit_is_refused_naming_the_inputs() -> None:
    """hbar/m far beyond the explored range makes the Courant rule's step tiny; the study refuses before
    solving instead of exhausting memory (review finding, 2026-11-26)."""
    from nnqg.derivations import InvalidArgument

    with pytest.raises(InvalidArgument, match="m_value.*GiB"):
        run_claim(get_claim("schrodinger.equivalence"), QUICK, {"m_value": 1e-4}, learning=False)
