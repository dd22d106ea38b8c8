"""learning.fokker_planck: the full numeric studies, and every planted error caught by the numeric part alone."""

from __future__ import annotations

import numpy as np
import pytest

from nnqg.numerics import _sgd
from nnqg.verify import FAILED, PASSED, NumericContext, get_claim, run_claim

pytestmark = pytest.mark.slow
CLAIM = get_claim("learning.fokker_planck")


@pytest.mark.parametrize("quick", [True, False])
def test_claim_passes(quick: bool) -> None:
    v = run_claim(CLAIM, NumericContext(seed=1, quick=quick))
    assert v.status == PASSED, v.reason
    n = v.calibration
    assert n is not None and n.convergence is not None
    # the reported quantities are there and finite
    assert np.isfinite(n.details["nelson_mismatch (reported, not a pass criterion)"]["relative_osmotic_residual"])
    assert n.details["measured_D_check: max rel. diff of the moment polynomial vs direct per-example covariance"] \
        < 1e-10


def test_same_seed_same_numbers() -> None:
    a = run_claim(CLAIM, NumericContext(seed=5, quick=True))
    b = run_claim(CLAIM, NumericContext(seed=5, quick=True))
    assert a.calibration is not None and b.calibration is not None
    assert a.calibration.convergence == b.calibration.convergence


@pytest.mark.parametrize("name", sorted(CLAIM.mutations()))
def test_every_mutation_fails_the_claim(name: str) -> None:
    v = run_claim(CLAIM, NumericContext(seed=1, quick=True), CLAIM.mutations()[name])
    assert v.status == FAILED, (name, v.reason)


@pytest.mark.parametrize("name", sorted(CLAIM.mutations()))
def test_numeric_part_alone_catches_every_mutation(name: str) -> None:
    """The numeric studies are independent evidence: each planted error fails them without the symbolic part."""
    inputs = CLAIM.default_inputs()
    inputs.update(CLAIM.mutations()[name])
    r = CLAIM.calibration(NumericContext(seed=1, quick=True), inputs)  # type: ignore[misc]
    assert not r.ok, (name, r.where)


def test_histogram_distance_shrinks_with_ensemble_size_at_small_gamma() -> None:
    """At fixed small gamma the TV distance falls with N until the finite-step bias floor."""
    task = _sgd.make_regression_task(np.random.default_rng(11))
    ref = _sgd.fokker_planck_reference(task, gamma=0.05, batch_size=2, grid_cells=96)
    tv = [_sgd.fokker_planck_distance(task, gamma=0.05, batch_size=2, n_members=n, reference=ref,
                                      rng=np.random.default_rng(n), bin_factor=6, n_weak=0).tv_max
          for n in (500, 2000, 8000)]
    assert tv[0] > tv[1] > tv[2], tv
