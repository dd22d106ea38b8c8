"""Every claim holds on inputs drawn from its strategies (what `nnqg verify --explore` runs), judged exactly as
`--explore` judges them (:func:`nnqg.verify._explore.evaluate`: derivation exactly 0, calibration within its
rule, statistical calibrations confirmed at the next seed).

The default run draws one input per claim that differs from the defaults (the fixed-parameter run is checked
elsewhere), derandomised whatever the hypothesis profile (CI and a local run draw the same input, so a known
finding can be marked); ``pytest -m slow`` draws :data:`SLOW_EXAMPLES` per claim, honouring the profile.

No shrinking here: a failing draw is reported as drawn (the input and its outcome), at the cost of one claim run.
Each shrink step is a whole claim run (the two failing draws of one run took 335 s and 403 s to shrink, and made
this file's default run 770 s wall instead of about 36 s); shrinking, within a stated budget, and the reproducing
command are ``nnqg verify --explore``'s job, named in the failure message.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from nnqg.verify._explore import evaluate
from nnqg.verify._explore_inputs import Draw, changed_params
from nnqg.verify._explore_specs import SPECS, draws
from nnqg.verify._registry import get_claim

SLOW_EXAMPLES = 25

#: a finding of --explore (issue 13): both Madelung calibrations FAILED on a stiff harmonic potential (the minimal
#: case V = 3 q^2/2 at the default inputs; the drawn input of the default run is 3.25 q^2/2, gamma 4.4, c 3.3). The
#: cause was the snapshot lag: the noise-level residual (Richardson-combined increments, bias O(lag^2)) at lag 0.2
#: was its bias (0.056 at lag 0.2, 0.0007 at lag 0.1 on the same trajectories). Since 2026-11-26 a numerical
#: state's lag is set by a resolution rule from its rate (lag 0.08 here) and the calibration passes; the lag
#: recheck that made it INCONCLUSIVE at lag 0.2 is tested at that lag in tests/unit/test_madelung.py.
STIFF = "3*q**2/2"


def _check(cid: str, examples: int, derandomize: bool | None = None) -> None:
    claim = get_claim(cid)
    spec = SPECS[cid]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.explicit, Phase.generate), **({} if derandomize is None else
                                                                      {"derandomize": derandomize}))
    @given(draws(claim, spec))
    def holds(draw):
        assume(draw.potential is not None or draw.metrics or changed_params(claim, spec, draw))
        out = evaluate(claim, spec, draw, seed=1)
        assert not out.failed, (f"{out.kind}: {out.reason}; --explore shrinks a failure: "
                                f"nnqg verify --explore 25 --claims {cid} --seed 1")

    holds()


@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_a_drawn_input(cid):
    _check(cid, 1, derandomize=True)


@pytest.mark.parametrize("cid", ["madelung.continuity", "madelung.hamilton_jacobi"])
def test_madelung_stiff_potential_passes_at_its_resolving_lag(cid):
    """The minimal case of the finding, at the lag the resolution rule sets (0.08): PASSED."""
    out = evaluate(get_claim(cid), SPECS[cid], Draw(potential=STIFF), seed=1)
    assert not out.failed and out.kind == "passed", f"{out.kind}: {out.reason}"


#: the Morse finding of `nnqg verify --explore 50 --seed 1` (BENCHMARKS.md), minimal input after shrinking
#: (`nnqg verify --explore 10 --claims madelung.hamilton_jacobi --seed 1`): V = (1 - exp(-0.7 q))^2, gamma 1.9,
#: c 3.1 (m = 0.53, hbar = 1.28, nu = 1.21: the Gaussian of width 0.5 spreads at nu/s0^2 = 4.9). FAILED at lag 0.2
#: in two families: noise level (noise_3 0.53 +- 0.09 at lag 0.2, 0.22 at lag 0.1: the lag bias) and Newton law
#: (newton_1 5.5 SE; score basis not converged to degree 12, consistent at degree 16). At the resolving lag 0.02
#: the noise family passes and the Newton family is INCONCLUSIVE by the score-basis rule, with that reason.
MORSE = Draw(params=(("c_value", 3.1), ("gamma_value", 1.9)), potential="(1 - exp(-0.7*q))**2")


@pytest.mark.parametrize("cid, kind", [("madelung.continuity", "passed"), ("madelung.hamilton_jacobi", "inconclusive")])
def test_madelung_morse_finding_is_resolved_or_inconclusive_by_the_stated_rules(cid, kind):
    out = evaluate(get_claim(cid), SPECS[cid], MORSE, seed=1)
    assert not out.failed and out.kind == kind, f"{out.kind}: {out.reason}"
    if kind == "inconclusive":
        assert "score-matching basis" in out.reason and "gone at half the lag" not in out.reason


@pytest.mark.slow
@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_drawn_inputs(cid):
    _check(cid, SLOW_EXAMPLES)


#: the coherent-state finding of `nnqg verify --explore 50 --claims 'madelung.*' --seed 1` (issue 13), minimal
#: inputs after shrinking: a closed-form coherent state stiffer than the lag 0.2 resolves (omega = sqrt(k/m) 1.34 and
#: 2.68). At lag 0.2 (the closed-form states' lag before 2026-11-26) continuity_1 was +0.169 +- 0.018 (|z| 9.6) and
#: noise_0 +0.065 +- 0.011 (|z| 5.8): the estimators' lag bias. The resolution rule, applied to every state since
#: 2026-11-26, gives them lag 0.08 and 0.04 (the free packet 0.06 and 0.02) and both PASS; a planted error at the
#: same inputs is still FAILED.
COHERENT = {"madelung.continuity": Draw(params=(("coherent_state.k", 2.25), ("coherent_state.q0", 1.5))),
            "madelung.hamilton_jacobi": Draw(params=(("coherent_state.k", 2.0), ("gamma_value", 3.6)))}
COHERENT_LAGS = {"madelung.continuity": {"free packet": 0.06, "coherent state": 0.08},
                 "madelung.hamilton_jacobi": {"free packet": 0.02, "coherent state": 0.04}}


def _coherent_calibration(cid: str, mutation: str | None = None, resolve_lag: bool = True):
    from dataclasses import replace

    from nnqg.verify import NumericContext
    from nnqg.verify._explore_inputs import draw_overrides
    from nnqg.verify.claims import _nelson_calibration as _cal

    claim = get_claim(cid)
    inputs = {**claim.default_inputs(), **draw_overrides(claim, SPECS[cid], COHERENT[cid]),
              **(claim.mutations()[mutation] if mutation else {})}
    return _cal.calibrate(NumericContext(seed=1, quick=True), inputs, cid.split(".")[1],
                          replace(_cal.QUICK, resolve_lag=resolve_lag))


@pytest.mark.parametrize("cid", sorted(COHERENT))
def test_madelung_stiff_coherent_state_passes_at_its_resolving_lag(cid):
    out = evaluate(get_claim(cid), SPECS[cid], COHERENT[cid], seed=1)
    assert not out.failed and out.kind == "passed", f"{out.kind}: {out.reason}"
    n = _coherent_calibration(cid)
    assert n.ok and n.details["lag"] == pytest.approx(COHERENT_LAGS[cid]), n.where


@pytest.mark.parametrize("cid", sorted(COHERENT))
def test_madelung_stiff_coherent_state_failed_at_the_old_lag(cid):
    """The finding itself: at the profile's lag 0.2 for every state (the rule before 2026-11-26) it FAILS, and
    no recheck excuses it (a closed-form state the rule does not touch is never rechecked)."""
    n = _coherent_calibration(cid, resolve_lag=False)
    assert not n.ok and not n.inconclusive and n.details["lag"] == {"free packet": 0.2, "coherent state": 0.2}


@pytest.mark.parametrize("cid, mutation", [("madelung.continuity", "kernel_velocity_x1.5"),
                                           ("madelung.continuity", "simulator_noise_x2"),
                                           ("madelung.hamilton_jacobi", "kernel_quantum_potential_x2"),
                                           ("madelung.hamilton_jacobi", "simulator_noise_x2")])
def test_madelung_stiff_coherent_state_still_fails_a_planted_error(cid, mutation):
    n = _coherent_calibration(cid, mutation)
    assert not n.ok and not n.inconclusive, n.where



#: the Morse findings of the same `--explore 50` once the coherent states were resolved (2026-11-26, shrink budget
#: exhausted): Gaussians on the steep wall of a Morse well, Omega 14.2 and 8.0, faster than the floor lag 2h = 0.02
#: resolves. At h = 0.01 continuity_3 was -1.16 +- 0.067 (|z| 17.3) and newton_0 +0.171 +- 0.020 (|z| 8.74), and
#: did not move with the lag (the recheck, 0.02 vs 0.01): the SDE / Crank-Nicolson step's bias. The rule now
#: halves h until Omega 2h <= 0.13 (h 0.0025 and 0.005 with the initial rate; 0.00125 and 0.0025 with the rate
#: followed over the evolution): both PASS, a planted error there is FAILED.
MORSE_WALL = {"madelung.continuity": Draw(params=(("gamma_value", 4.1), ("user_state.q0", -0.75)),
                                          potential="3.25*(1 - exp(-0.9*q))**2"),
              "madelung.hamilton_jacobi": Draw(params=(("c_value", 1.15), ("user_state.q0", -0.75)),
                                               potential="3.25*(1 - exp(-q))**2")}
#: Since the rate is followed over the evolution (2026-11-26: osmotic rate 37.6 and 14.5, h 0.00125 and 0.0025) the
#: quantum potential x 2 (the plant here before) PASSES the hamilton_jacobi state (max |z| 3.14 at h = 0.0025 on
#: branch s4-rate, 3.70 after the substeps' merge; FAILED at 0.005): on the finer table the Newton-law residuals' SE is larger (the fringes are resolved), and
#: calibration.power says so; a planted drift (velocity sign) is FAILED (|z| 56.7)
MORSE_WALL_PLANT = {"madelung.continuity": "kernel_velocity_x1.5",
                    "madelung.hamilton_jacobi": "simulator_velocity_sign_flipped"}
#: With the per-trajectory substeps alone (h = 0.005 by the initial rate) the hamilton_jacobi Morse-wall state was
#: INCONCLUSIVE by the score-basis rule (newton_1 |z| 4.72 > 4.62); at that h neither scheme samples the table's
#: |psi|^2 at t = 1 (200,000 trajectories, 200 bins: chi^2 25,307 with the substeps, 18,265 plain, on 108 dof), at
#: h = 0.0025 and 0.00125 both approach it and the substeps are the closer (586 vs 1,265; 135 vs 167). With the
#: followed rate too (merged 2026-11-26: h = 0.0025) both states PASS (hamilton_jacobi max |z| 3.4).


@pytest.mark.parametrize("cid", sorted(MORSE_WALL))
def test_madelung_morse_wall_passes_at_its_resolving_step(cid):
    out = evaluate(get_claim(cid), SPECS[cid], MORSE_WALL[cid], seed=1)
    assert not out.failed and out.kind == "passed", f"{out.kind}: {out.reason}"


@pytest.mark.parametrize("cid", sorted(MORSE_WALL))
def test_madelung_morse_wall_failed_at_the_profile_step_and_a_plant_fails_at_the_resolving_step(cid, monkeypatch):
    from nnqg.verify.claims import _nelson_calibration as _cal
    from nnqg.verify.claims import _nelson_resolution as _res

    n = _madelung_at(cid, MORSE_WALL[cid], MORSE_WALL_PLANT[cid])
    assert n.details["h"] < _cal.QUICK.h and not n.ok and not n.inconclusive, n.where
    monkeypatch.setattr(_res, "MAX_STEP_HALVINGS", 0)  # the rule before 2026-11-26: h = 0.01 whatever the rate
    n = _madelung_at(cid, MORSE_WALL[cid])
    # the finding: residuals beyond their bounds at h = 0.01 (FAILED then); the rule now calls that step unresolved
    # for this state, and a failure confined to an unresolved state is INCONCLUSIVE, never PASSED
    assert n.details["h"] == _cal.QUICK.h and not n.ok and n.details["failing_families"], n.where
    assert n.inconclusive and "the SDE step does not resolve the state" in n.where, n.where


#: the NONFINITE finding of `--explore 50 --claims 'madelung.*'` once the step rule was in (2026-11-26): a Morse
#: state (Omega 8.1, h = 0.005) whose escaping part reaches the edge of the Crank-Nicolson box (q ~ 12), where the
#: tabulated drift is steep; one trajectory of 40,000 took a plain Heun step at h|b'| = 553 from q = 12.19 to
#: -12.36, below the table's density floor, where psi'/psi's linear continuation gave an outward drift (b ~ -480,
#: h b' = +0.3) that carried it to -1.7e9. Since 2026-11-26 (numerics/_nelson.py, simulate; _nelson_states.py,
#: drift_table) a trajectory-step with h|b'| > 1 is substepped from its own slope, the drift outside the resolved
#: region and beyond the box points back, and crossings of the box's walls are counted by a stated rule.
MORSE_BOX = Draw(params=(("gamma_value", 4.1), ("c_value", 1.15), ("user_state.s0", 0.55)),
                 potential="(1 - exp(-(q - 1)))**2")


def _madelung_at(cid: str, draw: Draw, mutation: str | None = None, **override):
    """The Madelung calibration of ``cid`` (quick, seed 1) at a drawn input, with a planted error of
    ``mutations()`` and further input overrides."""
    from nnqg.verify import NumericContext
    from nnqg.verify._explore_inputs import draw_overrides
    from nnqg.verify.claims import _nelson_calibration as _cal

    claim = get_claim(cid)
    inputs = {**claim.default_inputs(), **draw_overrides(claim, SPECS[cid], draw),
              **(claim.mutations()[mutation] if mutation else {}), **override}
    return _cal.calibrate(NumericContext(seed=1, quick=True), inputs, cid.split(".")[1])


def _morse_box(mutation: str | None = None, **override):
    return _madelung_at("madelung.hamilton_jacobi", MORSE_BOX, mutation, **override)


def test_madelung_morse_box_passes_and_the_finding_comes_back_without_the_three_changes(monkeypatch):
    """With the per-trajectory substeps the minimal input PASSES (as --explore judges it: confirmed at the next
    seed), its stiff steps counted. Without the substeps (a bound no step exceeds), without the walls and with
    psi'/psi's linear continuation of the drift (the integrator before 2026-11-26) the same input is NONFINITE
    again; the plain scheme with the walls and the restoring continuation is finite but lets ~80 times more
    trajectories leave the box (167 against 2, measured 2026-11-26)."""
    import math
    from dataclasses import replace

    import numpy as np

    from nnqg.numerics import _nelson
    from nnqg.numerics._nelson import simulate
    from nnqg.verify._model import NONFINITE, PASSED, calibration_status
    from nnqg.verify.claims import _nelson_calibration as _cal

    out = evaluate(get_claim("madelung.hamilton_jacobi"), SPECS["madelung.hamilton_jacobi"], MORSE_BOX, seed=1)
    assert not out.failed and out.kind == "passed", f"{out.kind}: {out.reason}"
    n = _morse_box()
    t = n.details["integrator"]["user potential"]
    assert calibration_status(n) == PASSED and t["stiff_steps"] > 0 and t["unresolved_steps"] == 0, t
    _cal._SIMULATIONS.clear()  # the memo's key does not hold the bound
    try:
        monkeypatch.setattr(_nelson, "STABILITY_BOUND", math.inf)
        with np.errstate(all="ignore"):
            plain = _morse_box()
        assert plain.details["integrator"]["user potential"]["left_box"] > 10 * max(t["left_box"], 1)
        table = _cal.drift_table
        monkeypatch.setattr(_cal, "drift_table", lambda tab, rule: table(replace(tab, resolved=None), rule))
        with np.errstate(all="ignore"):
            before = _morse_box(integrator=lambda *a, walls=False, **kw: simulate(*a, **kw))
        assert calibration_status(before) == NONFINITE, before.where
    finally:
        _cal._SIMULATIONS.clear()


@pytest.mark.parametrize("mutation", ["simulator_velocity_sign_flipped", "mass_factor_2"])
def test_madelung_morse_box_still_fails_a_planted_error(mutation):
    """Planted errors at the minimal input (simulator and input level) are FAILED with the substeps (NONFINITE
    before them, by the unplanted trajectory's blow-up, for most plants; these two were FAILED before too)."""
    n = _morse_box(mutation)
    assert not n.ok and not n.inconclusive, n.where


#: the Schrodinger finding of `nnqg verify --explore 50 --claims schrodinger.equivalence --seed 1` (issue 13, shrink
#: budget exhausted): on the quick ladder dx = 0.1, 0.05, 0.025 the continuity residual (0.00706, 0.00230, 0.00072;
#: local orders 1.62, 1.68) was FAILED by the judge's rule 4c (its assumed rate of approach could not close the gap
#: to 1.77) where the full ladder PASSES (1.83, 1.97 at its finest). Since 2026-11-26 such a quick study is refined
#: by the full ladder's next dx (EQUIV_QUICK_REFINE): orders 1.68, 1.83, PASSED; every planted error at that input
#: stays FAILED (before the change they all FAILED too, but so did the unplanted claim).
CUBIC_WELL = Draw(params=(("hbar_value", 1.75), ("m_value", 2.5), ("packet_center", 0.0), ("packet_width", 0.65),
                          ("packet_momentum", -0.5), ("t_final", 0.75)), potential="0.5*q**2 - 0.8*q**3 + 0.1*q**4")


def _equivalence_at(draw: Draw, mutation: str | None = None):
    from nnqg.verify import NumericContext, run_claim
    from nnqg.verify._explore_inputs import draw_overrides

    claim = get_claim("schrodinger.equivalence")
    inputs = {**draw_overrides(claim, SPECS[claim.id], draw), **(claim.mutations()[mutation] if mutation else {})}
    return run_claim(claim, NumericContext(seed=1, quick=True), inputs, learning=False)


def test_schrodinger_cubic_well_passes_on_the_refined_quick_ladder():
    out = evaluate(get_claim("schrodinger.equivalence"), SPECS["schrodinger.equivalence"], CUBIC_WELL, seed=1)
    assert not out.failed and out.kind == "passed", f"{out.kind}: {out.reason}"
    d = _equivalence_at(CUBIC_WELL).calibration.details
    assert d["dx_levels"] == [0.1, 0.05, 0.025, 0.0125] and d["quick_refinement"]["three_level_status"] == "FAILED"


def test_schrodinger_cubic_well_failed_on_three_levels(monkeypatch):
    """The finding itself: without the refinement (the quick profile before 2026-11-26) it FAILS by rule 4c."""
    from nnqg.verify.claims import _schrodinger_calibration as cal

    monkeypatch.setattr(cal, "EQUIV_QUICK_REFINE", False)
    v = _equivalence_at(CUBIC_WELL)
    assert v.calibration_status == "FAILED" and "does not extrapolate to 0" in v.calibration.where
    assert v.calibration.details["dx_levels"] == [0.1, 0.05, 0.025]


@pytest.mark.parametrize("plant", ["first_order_stepper", "kernel_quantum_potential_x1.5",
                                   "simulator_hbar_x2_in_solver", "estimator_forward_time_difference"])
def test_schrodinger_cubic_well_still_fails_a_planted_error(plant):
    v = _equivalence_at(CUBIC_WELL, plant)
    assert v.status == "FAILED" and v.calibration_status == "FAILED", v.calibration.where


def test_schrodinger_refinement_beyond_the_memory_limit_keeps_the_three_levels(monkeypatch):
    """The added level counts against EQUIV_MEMORY_LIMIT too: a limit between the three-level record (0.67 MB here)
    and the refined one (2.6 MB) keeps the three-level verdict and says why."""
    from nnqg.verify.claims import _schrodinger_calibration as cal

    monkeypatch.setattr(cal, "EQUIV_MEMORY_LIMIT", 10**6)
    v = _equivalence_at(CUBIC_WELL)
    assert v.calibration_status == "FAILED" and "quick profile not refined" in v.calibration.where
    assert v.calibration.details["dx_levels"] == [0.1, 0.05, 0.025]


#: the failure the same explore reached once the cubic well passed (with the criterion's second version, rules 4a
#: and 4b; shrunk, budget exhausted): a weak harmonic well, V = 0.125 q^2, hbar 2, m 1.75, centre 0.5, T = 2 (the
#: fast-spreading packet's largest residual sits near the box wall, q = 7.2). Three levels: Hamilton-Jacobi local
#: orders 1.06, 1.40, FAILED by rule 4a; the full ladder PASSES (1.06, 1.40, 1.88, 1.97). Refined (the third
#: version, 2026-11-26): 1.40, 1.88 on four levels, still approaching 2, INCONCLUSIVE by the judge's rule 4.
WEAK_WELL = Draw(params=(("hbar_value", 2.0), ("m_value", 1.75), ("packet_center", 0.5), ("t_final", 2.0)),
                 potential="0.25*q**2/2")


def test_schrodinger_weak_well_is_refined_to_inconclusive(monkeypatch):
    from nnqg.verify.claims import _schrodinger_calibration as cal

    v = _equivalence_at(WEAK_WELL)
    assert v.calibration_status == "INCONCLUSIVE" and "still approach 2" in v.calibration.where
    assert v.calibration.details["quick_refinement"]["three_level_status"] == "FAILED"
    monkeypatch.setattr(cal, "EQUIV_QUICK_REFINE", False)
    assert _equivalence_at(WEAK_WELL).calibration_status == "FAILED"


@pytest.mark.parametrize("plant", ["first_order_stepper", "kernel_quantum_potential_x1.5"])
def test_schrodinger_weak_well_still_fails_a_planted_error(plant):
    v = _equivalence_at(WEAK_WELL, plant)
    assert v.status == "FAILED" and v.calibration_status == "FAILED", v.calibration.where


#: the Morse finding of the final `--explore 50 --seed 1 --workers 2` on merged main (2026-11-26, shrink budget
#: exhausted): a Gaussian at rest on the steep wall of V = (1 - exp(-(q - 1)))^2. Its initial rate (curvature over
#: the initial density) is 12.8, so the step rule gave h = 0.005 and lag 0.01, and continuity_3 was -2.12 +- 0.10
#: (|z| 21.4), not moving with the lag: the SDE / Crank-Nicolson steps' bias. The rate a numerical state gets now is
#: followed over its evolution (the osmotic rate nu I(p_t), largest 29.6 on the table of step 0.01 and 84.4 on that
#: of 0.00125, where the fringes are resolved): it needs more than three halvings, so the state is unresolved and
#: its residuals, within their bounds at h = 0.00125 (max |z| 2.61), are INCONCLUSIVE with that reason, never
#: PASSED; planted errors there stay FAILED (10 of the 13 of mutations(); the two O(lag) estimator plants and
#: hbar^2 x 2 are INCONCLUSIVE with the clean input).
MORSE_FOLLOWED = Draw(params=(("user_state.q0", -0.75),), potential="(1 - exp(-(q - 1)))**2")


def _morse_followed(mutation: str | None = None):
    return _madelung_at("madelung.continuity", MORSE_FOLLOWED, mutation)


def test_madelung_morse_state_sliding_down_the_wall_is_unresolved_by_its_followed_rate():
    from nnqg.verify.claims import _nelson_calibration as _cal

    out = evaluate(get_claim("madelung.continuity"), SPECS["madelung.continuity"], MORSE_FOLLOWED, seed=1)
    assert not out.failed and out.kind == "inconclusive", f"{out.kind}: {out.reason}"
    assert "the SDE step does not resolve the state" in out.reason
    n = _morse_followed()
    rule = n.details["lag_rule"]["user potential"]
    assert n.details["h"] == pytest.approx(0.00125) and rule["unresolved"] and n.details["max_abs_z"] <= \
        n.details["z_critical"]
    first, last = rule["rates"][0], rule["rates"][-1]
    assert first["table_h"] == 0.01 and last["table_h"] == pytest.approx(0.00125)
    assert first["followed"] > 2 * max(first["omega_V"], first["spreading"])  # 29.6 against 12.8
    assert last["followed"] * 2 * n.details["h"] > _cal.LAG_RESOLUTION  # 84.4: unresolved at the finest step


def test_madelung_morse_state_sliding_down_the_wall_failed_with_its_initial_rate(monkeypatch):
    """The finding itself: with the initial rate (the rule before 2026-11-26, the followed rate switched off) the
    step is 0.005 and the calibration FAILS, and nothing excuses it."""
    from nnqg.verify.claims import _nelson_resolution as _res

    monkeypatch.setattr(_res, "osmotic_rate", lambda table, last: (0.0, 0.0))
    n = _morse_followed()
    assert n.details["lag_rule"]["user potential"]["Omega"] == pytest.approx(12.8, abs=0.05)
    assert n.details["h"] == pytest.approx(0.005) and not n.ok and not n.inconclusive, n.where


@pytest.mark.parametrize("mutation", ["kernel_velocity_x1.5", "simulator_no_osmotic_term", "simulator_hbar_x2"])
def test_madelung_morse_state_sliding_down_the_wall_is_outside_the_domain_even_with_a_planted_error(mutation):
    """At a state the step rule cannot resolve nothing is said either way (the lead's decision of 2026-11-26, after
    the Omega-472 draw below): planted errors there are INCONCLUSIVE with the step's reason - never PASSED - and
    the calibration has no power at such a state (the resolved Morse-wall states above keep theirs)."""
    n = _morse_followed(mutation)
    assert n.details["h"] == pytest.approx(0.00125) and not n.ok and n.inconclusive, n.where
    assert "the SDE step does not resolve the state" in n.where and n.details["failing_families"], n.where


#: the failure `--explore 50 --claims madelung.continuity --seed 1` reached once the rate followed the state
#: (2026-11-26, shrunk, budget exhausted): a deeper Morse wall, Omega 472 (the osmotic rate of its fringed,
#: reflected packet), nine times beyond what the finest step resolves; at h = 0.00125 noise_2 +1.22, noise_0 +0.40,
#: max |z| 7.42: FAILED by the rule of that day (a failure at an unresolved state judged as any other). A recheck at
#: 2h did not explain it (noise_0 0.06 at 2h) and excused a planted osmotic sign flip at the input above (|z| 66.8),
#: so no rule tried separates its step bias from an error: the state is outside the calibrated domain, INCONCLUSIVE.
MORSE_DEEP = Draw(params=(("user_state.q0", -0.75),), potential="3.25*(1 - exp(-(q - 1)))**2")


def test_madelung_deep_morse_state_fails_its_residuals_and_is_inconclusive_as_unresolved():
    out = evaluate(get_claim("madelung.continuity"), SPECS["madelung.continuity"], MORSE_DEEP, seed=1)
    assert not out.failed and out.kind == "inconclusive", f"{out.kind}: {out.reason}"
    assert "the SDE step does not resolve the state" in out.reason and "beyond their bounds" in out.reason
