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

#: a finding of --explore (issue 13), not fixed: both Madelung calibrations FAIL on a stiff harmonic potential
#: (the minimal case, V = 3 q^2/2 at the default inputs; hamilton_jacobi fails on the full profile as well), and
#: the drawn input of the default run is such a potential (3.25 q^2/2, gamma 4.4, c 3.3)
MADELUNG_FINDING = ("finding: the Madelung calibrations fail on a stiff harmonic potential "
                    "(nnqg verify --quick --no-learning --claims 'madelung.*' --potential '3*q**2/2' --seed 1)")
_KNOWN = {"madelung.continuity": MADELUNG_FINDING, "madelung.hamilton_jacobi": MADELUNG_FINDING}


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


@pytest.mark.parametrize("cid", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_KNOWN[c]))
                                 if c in _KNOWN else c for c in sorted(SPECS)])
def test_claim_holds_on_a_drawn_input(cid):
    _check(cid, 1, derandomize=True)


@pytest.mark.xfail(strict=True, reason=MADELUNG_FINDING)
@pytest.mark.parametrize("cid", sorted(_KNOWN))
def test_madelung_finding_minimal_case(cid):
    """The minimal case of the finding, kept as a regression test: it passes (and this xfail turns into an
    error, strict) once the calibration is fixed or the claim's domain narrowed."""
    from nnqg.verify._explore_inputs import Draw

    out = evaluate(get_claim(cid), SPECS[cid], Draw(potential="3*q**2/2"), seed=1)
    assert not out.failed, f"{out.kind}: {out.reason}"


@pytest.mark.slow
@pytest.mark.parametrize("cid", sorted(SPECS))
def test_claim_holds_on_drawn_inputs(cid):
    _check(cid, SLOW_EXAMPLES)
