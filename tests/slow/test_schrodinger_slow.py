"""Full-profile convergence studies of the Schrodinger claims (run by `pytest -m slow`)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nnqg.numerics._schrodinger import crank_nicolson
from nnqg.verify import FAILED, PASSED, REPRODUCED, NumericContext, get_claim, run_claim

FULL = NumericContext(seed=1, quick=False)


@pytest.mark.slow
@pytest.mark.parametrize("cid, status", [("schrodinger.equivalence", PASSED), ("schrodinger.quantisation", PASSED),
                                         ("schrodinger.wallstrom_counterexample", REPRODUCED)])
def test_full_profile(cid: str, status: str) -> None:
    c = get_claim(cid)
    t0 = time.perf_counter()
    v = run_claim(c, FULL)
    assert time.perf_counter() - t0 < 60
    assert v.status == status, v.reason
    conv = v.calibration.convergence
    assert len(conv.points) == 5 and abs(conv.observed_order - 2) < 0.1, conv
    # every refinement step, not only the fit, is second order
    r = np.array([p[1] for p in conv.points])
    assert np.all(np.log2(r[:-1] / r[1:]) > 1.8), r


@pytest.mark.slow
@pytest.mark.parametrize("cid", ["schrodinger.equivalence", "schrodinger.quantisation",
                                 "schrodinger.wallstrom_counterexample"])
def test_full_profile_catches_every_planted_error(cid: str) -> None:
    c = get_claim(cid)
    for name, over in c.mutations().items():
        v = run_claim(c, FULL, over)
        assert v.status == FAILED and not v.calibration.ok, (name, v.reason)


@pytest.mark.slow
@pytest.mark.parametrize("V", [lambda q: 0 * q, lambda q: q**2 / 2 + q**4 / 10, lambda q: -np.cos(q)])
def test_crank_nicolson_self_convergence_order_two(V) -> None:
    """Self-convergence of psi(t = 1), dx and dt halved together: successive differences (on the coarser
    level's points; the grids are nested) fall by 4 each time."""
    finals = []
    for dx in (0.1, 0.05, 0.025, 0.0125):
        x = np.linspace(-8, 8, int(round(16 / dx)) + 1)
        dt = dx / 2
        n = int(round(1 / dt))
        finals.append(crank_nicolson(V, np.exp(-(x - 1) ** 2 + 1j * x), x, dt, n, record_every=n).psi[-1])
    diffs = np.array([np.abs(a - b[::2]).max() for a, b in zip(finals, finals[1:])])
    orders = np.log2(diffs[:-1] / diffs[1:])
    assert np.all(orders > 1.8), (diffs, orders)
