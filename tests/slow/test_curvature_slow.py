"""Full-size runs: every curvature/geodesic claim with its full numeric check, and every planted error."""

from __future__ import annotations

import pytest

from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim

CTX = NumericContext(seed=1, quick=False)
IDS = ["geodesic.equation", "geodesic.conservation", "einstein.field_equations", "einstein.vacuum_solutions",
       "einstein.bianchi"]


@pytest.mark.slow
@pytest.mark.parametrize("cid", IDS)
def test_full_claim_passes_and_mutations_fail(cid):
    c = get_claim(cid)
    v = run_claim(c, CTX)
    assert v.status == PASSED, v.reason
    for name, ov in c.mutations().items():
        assert run_claim(c, CTX, ov).status == FAILED, name
