"""The quantum-side learning experiments at their default profile (what `nnqg verify` runs): over three seeds the
controls separate, so each verdict is the learners' own, and every measured distance is finite."""

from __future__ import annotations

import math

import pytest

from nnqg.verify._model import NOT_SUPPORTED, SUPPORTED, NumericContext
from nnqg.verify.learning import madelung, quantisation

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_controls_separate_at_the_default_profile(seed: int) -> None:
    ctx = NumericContext(seed=seed)
    for ev in (madelung.continuity_evidence(ctx, {}), madelung.hamilton_jacobi_evidence(ctx, {}),
               madelung.schrodinger_evidence(ctx, {}), quantisation.quantisation_evidence(ctx, {})):
        assert [c.status for c in ev.controls] == [SUPPORTED, NOT_SUPPORTED], ev.reason
        assert all(math.isfinite(m.distance) and math.isfinite(m.se) for m in ev.measured)
