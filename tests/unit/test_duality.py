"""duality.report: one network, both descriptions; a planted error on either side makes it FAILED."""

from __future__ import annotations

import numpy as np
import pytest

from nnqg.derivations import InvalidArgument
from nnqg.numerics._network import two_population_shift_weights
from nnqg.verify import NumericContext, get_claim, run_claim
from nnqg.verify.claims.duality import network_task


def test_network_task_comes_from_the_network() -> None:
    rng = np.random.default_rng(0)
    task = network_task(two_population_shift_weights, 64, 4, 100, 1.0, rng)
    assert task.x.shape == (100,) and abs(task.x.mean()) < 1e-12 and abs(task.x.std() - 1) < 1e-12
    # a different network (a leak) gives different data: the task really is built from the network's states
    leaky = network_task(lambda n: 0.9 * two_population_shift_weights(n), 64, 4, 100, 1.0,
                         np.random.default_rng(0))
    assert not np.allclose(task.x, leaky.x)
    with pytest.raises(InvalidArgument, match="network_size"):
        network_task(two_population_shift_weights, 10, 4, 100, 1.0, rng)


@pytest.mark.parametrize("mutation", [pytest.param("quantum_side_diffusion_factor_2", marks=pytest.mark.slow),
                                      "network_leaky_weights"])
def test_planted_errors_fail(mutation: str) -> None:
    c = get_claim("duality.report")
    v = run_claim(c, NumericContext(seed=1, quick=True), c.mutations()[mutation])
    assert v.status == "FAILED", v.reason


def test_side_by_side_passes_on_the_default_network() -> None:
    c = get_claim("duality.report")
    v = run_claim(c, NumericContext(seed=1, quick=True))
    assert v.status == "PASSED", v.reason
    d = v.calibration.details
    assert d["quantum side (trainable variables q)"]["status"] == "PASSED"
    assert d["gravitational side (non-trainable variables: neuron states)"]["status"] == "PASSED"
    assert d["network"]["weights_are_permutation"] is True
