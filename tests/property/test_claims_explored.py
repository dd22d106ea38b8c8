"""Every claim holds on inputs drawn from its strategies (what `nnqg verify --explore` runs), judged exactly as
`--explore` judges them (:func:`nnqg.verify._explore.evaluate`: derivation exactly 0, calibration within its
rule, statistical calibrations confirmed at the next seed).

The default run draws one input per claim that differs from the defaults (the fixed-parameter run is checked
elsewhere); ``pytest -m slow`` draws :data:`SLOW_EXAMPLES` per claim. Both honour the hypothesis profile's
derandomisation (``HYPOTHESIS_PROFILE=ci``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

from nnqg.verify._explore import evaluate
from nnqg.verify._explore_inputs import changed_params
from nnqg.verify._explore_specs import SPECS, draws
from nnqg.verify._registry import get_claim

SLOW_EXAMPLES = 25


def _check(cid: str, examples: int) -> None:
    claim = get_claim(cid)
    spec = SPECS[cid]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(draws(claim, spec))
    def holds(draw):
        assume(draw.potential is not None or draw.metrics or changed_params(claim, spec, draw))
        out = evaluate(claim, spec, draw, seed=1)
        assert not out.failed, f"{out.kind}: {out.reason}"

    holds()


@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_a_drawn_input(cid):
    _check(cid, 1)


@pytest.mark.slow
@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_drawn_inputs(cid):
    _check(cid, SLOW_EXAMPLES)
