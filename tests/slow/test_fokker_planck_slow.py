"""learning.fokker_planck, full sizes: the calibration passes and fails on the plants below the derivation; the
learning experiment's controls separate, and a wrong stated D makes the SGD ensemble NOT SUPPORTED."""

from __future__ import annotations

import pytest

from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim
from nnqg.verify._model import NOT_SUPPORTED, SUPPORTED

pytestmark = pytest.mark.slow
CLAIM = get_claim("learning.fokker_planck")
FULL = NumericContext(seed=1, quick=False)
BELOW = ("first_order_upwind_solver", "euler_ou_simulator", "transient_observed_one_step_late")


def test_full_profile_calibration_passes_and_controls_separate() -> None:
    v = run_claim(CLAIM, FULL)
    assert v.status == PASSED, v.reason
    ev = v.learning
    assert ev is not None and ev.status != "NOT TESTED"
    for c in ev.controls:
        want = SUPPORTED if c.label.startswith("positive") else NOT_SUPPORTED
        assert c.status == want, (c.label, c.distance, c.se)
    assert len(ev.measured) == 4 and all(m.se > 0 for m in ev.measured)


def test_same_seed_same_numbers() -> None:
    ctx = NumericContext(seed=5, quick=True)
    a, b = run_claim(CLAIM, ctx), run_claim(CLAIM, ctx)
    assert a.to_json() == b.to_json()


@pytest.mark.parametrize("name", sorted(CLAIM.mutations()))
def test_every_mutation_fails_the_claim(name: str) -> None:
    v = run_claim(CLAIM, FULL, CLAIM.mutations()[name], learning=False)
    assert v.status == FAILED, (name, v.reason)


@pytest.mark.parametrize("name", BELOW)
def test_calibration_alone_catches_the_plants_below_the_derivation(name: str) -> None:
    inputs = {**CLAIM.default_inputs(), **CLAIM.mutations()[name]}
    assert not CLAIM.calibration(FULL, inputs).ok


def test_a_wrong_stated_diffusion_is_not_supported_by_sgd() -> None:
    """The equation errors are the derivation's to catch; the learning experiment sees them too: with D stated
    twice too large, SGD's diffusion ratio is about 1/2 while the controls (built from the stated equation)
    still separate."""
    ev = CLAIM.learning(FULL, {**CLAIM.default_inputs(), **CLAIM.mutations()["diffusion_factor_2"]})
    assert ev.status == NOT_SUPPORTED, ev.reason
