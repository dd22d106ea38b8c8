"""Full profiles of lorentz.wave_equation, lorentz.boost_invariance, spacetime.emergent_metric and
geodesic.wave_packet: the complete convergence studies pass at the expected order within the time budget, and
every planted error is FAILED with the full numeric check run (not only the symbolic one)."""

from __future__ import annotations

import time

import pytest

from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim

CLAIMS = ("lorentz.wave_equation", "lorentz.boost_invariance", "spacetime.emergent_metric", "geodesic.wave_packet")
FULL = NumericContext(seed=3, quick=False)


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", CLAIMS)
def test_full_profile(claim_id: str) -> None:
    claim = get_claim(claim_id)
    inputs = claim.default_inputs()
    t0 = time.perf_counter()
    num = claim.calibration(FULL, inputs)
    seconds = time.perf_counter() - t0
    assert num.ok, num.where
    assert 1.8 < num.convergence.observed_order < 2.2
    assert len(num.convergence.points) >= 5
    # the finest residual is far below the coarsest, by at least the ladder's span to the power (order - 1/2):
    # a real convergence, not a flat line under a loose bound
    (h0, r0), (h1, r1) = num.convergence.points[0], num.convergence.points[-1]
    assert r1 < r0 * (h1 / h0) ** 1.5
    assert seconds < 60, f"full numeric profile took {seconds:.1f} s"
    assert run_claim(claim, FULL).status == PASSED


@pytest.mark.slow
@pytest.mark.parametrize("claim_id,name", [(c, m) for c in CLAIMS for m in sorted(get_claim(c).mutations())])
def test_every_mutation_fails_with_full_numerics(claim_id: str, name: str) -> None:
    claim = get_claim(claim_id)
    ov = claim.mutations()[name]
    v = run_claim(claim, FULL, ov)
    assert v.status == FAILED
    assert v.calibration is not None and not v.calibration.ok


@pytest.mark.parametrize("which", ["speed", "geodesic"])
def test_learned_couplings_controls_separate_at_the_default_size(which: str) -> None:
    from nnqg.verify._model import NOT_SUPPORTED, SUPPORTED, NumericContext
    from nnqg.verify.learning import spacetime as exp

    ev = exp.run(NumericContext(seed=1, quick=False), which)
    assert [c.status for c in ev.controls] == [SUPPORTED, NOT_SUPPORTED]
    assert ev.details["decision_size"]["neurons"] == 512
