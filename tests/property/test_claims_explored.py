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
from nnqg.verify._explore_inputs import changed_params
from nnqg.verify._explore_specs import SPECS, draws
from nnqg.verify._registry import get_claim

SLOW_EXAMPLES = 25

#: a finding of --explore (issue 13): both Madelung calibrations FAILED on a stiff harmonic potential (the minimal
#: case V = 3 q^2/2 at the default inputs; the drawn input of the default run is 3.25 q^2/2, gamma 4.4, c 3.3). The
#: cause was the snapshot lag: the noise-level residual (Richardson-combined increments, bias O(lag^2)) at lag 0.2
#: was its bias (0.056 at lag 0.2, 0.0007 at lag 0.1 on the same trajectories). The lag recheck of the calibration
#: now reports it INCONCLUSIVE with that reason (docs/madelung.md); the tests below hold it there.
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
def test_madelung_stiff_potential_is_inconclusive_by_the_lag(cid):
    """The minimal case of the finding: INCONCLUSIVE (not FAILED, not PASSED), and the reason is the lag recheck
    (the residual moves with the lag and is gone at half the lag), not another estimator trouble."""
    from nnqg.verify._explore_inputs import Draw

    out = evaluate(get_claim(cid), SPECS[cid], Draw(potential=STIFF), seed=1)
    assert not out.failed and out.kind == "inconclusive", f"{out.kind}: {out.reason}"
    assert "move with the snapshot lag and the failure is gone at half the lag" in out.reason


@pytest.mark.slow
@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_drawn_inputs(cid):
    _check(cid, SLOW_EXAMPLES)
