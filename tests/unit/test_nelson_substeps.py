"""The SDE integrator's stiff-step rule (per-trajectory substeps along a Brownian bridge), its walls (the drift
beyond a numerical state's box) and the drift's continuation outside a state's resolved region
(numerics/_nelson.py ``simulate``, numerics/_nelson_states.py ``drift_table``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnqg.numerics import _nelson
from nnqg.numerics._nelson import simulate
from nnqg.numerics._nelson_states import PsiTable, drift_table, nelson_drift


def _piecewise_table(slopes: dict[tuple[float, float], float], lo: float = -10.0, hi: float = 10.0,
                     dx: float = 0.5):
    """A drift table on [lo, hi]: b' = the given slope on each interval, -1 elsewhere, b(0) = 0."""
    x = np.arange(lo, hi + 1e-9, dx)
    d = np.array([next((s for (a, c), s in slopes.items() if a <= p < c), -1.0) for p in x[:-1]])
    b = np.concatenate([[0.0], np.cumsum(d * dx)])
    b -= np.interp(0.0, x, b)
    return lambda t: (lo, dx, b)


def _plain(monkeypatch, *args, **kw):
    """``simulate`` with the stiff-step rule switched off (a bound no step exceeds): the plain scheme."""
    monkeypatch.setattr(_nelson, "STABILITY_BOUND", math.inf)
    try:
        with np.errstate(all="ignore"):
            return simulate(*args, **kw)
    finally:
        monkeypatch.undo()


def test_a_stiff_step_is_substepped_within_the_stability_bound(monkeypatch) -> None:
    """b = -lambda q with h lambda = 3: the plain Heun factor 1 - 3 + 4.5 = 2.5 per step blows up; with the rule
    every step is taken in 4 substeps (x = lambda h/4 = 0.75 <= 1) along the bridge, whose increments are
    independent N(0, 2 nu h/4): the ensemble has the stationary variance of Heun's recursion at x,
    2 nu (h/4) (1 - x/2)^2 / (1 - R(x)^2), R = 1 - x + x^2/2 (stable, not accurate, in so stiff a region)."""
    lam, h, nu, N = 300.0, 0.01, 0.5, 20000
    table = _piecewise_table({(-10.0, 10.0): -lam})
    stats: dict = {}
    Q = simulate(np.zeros(N), table, nu, h, [0, 100], np.random.default_rng(3), stats=stats)
    assert stats["stiff_steps"] == 100 * N and stats["max_substeps"] == 4 and stats["unresolved_steps"] == 0
    x = lam * h / 4
    var = 2 * nu * (h / 4) * (1 - x / 2) ** 2 / (1 - (1 - x + x**2 / 2) ** 2)
    assert abs(Q[1].var() - var) < 5 * var * math.sqrt(2 / N)
    again = simulate(np.zeros(N), table, nu, h, [0, 100], np.random.default_rng(3))
    assert np.array_equal(Q, again)  # the same seed, the same bits
    plain = _plain(monkeypatch, np.zeros(N), table, nu, h, [0, 100], np.random.default_rng(3))
    assert not np.all(np.abs(plain[1]) < 1.0)  # the plain scheme at h lambda = 3 does not stay bounded
    monkeypatch.setattr(_nelson, "MAX_SUBSTEP_HALVINGS", 1)  # 2 substeps allowed, 4 needed: counted
    simulate(np.zeros(N), table, nu, h, [0, 100], np.random.default_rng(3), stats=stats)
    assert stats["unresolved_steps"] == 100 * N and stats["max_substeps"] == 2


def test_the_substep_count_comes_from_the_slope_near_the_trajectory(monkeypatch) -> None:
    """Half the ensemble starts where b' = -1 (h|b'| = 0.01), half where b' = -300 (h|b'| = 3); far from both the
    table has a cell with b' = -3000 that no trajectory reaches. The first half is bit for bit the plain scheme's,
    the second is substepped with 4 substeps (from its own slope; a count from the steepest cell of the table
    would be 32)."""
    table = _piecewise_table({(2.0, 10.0): -300.0, (-10.0, -9.5): -3000.0})
    q0 = np.concatenate([np.full(500, -4.0), np.full(500, 6.0)])
    for scheme in ("heun", "euler"):
        stats: dict = {}
        Q = simulate(q0, table, 0.01, 0.01, [50], np.random.default_rng(7), scheme=scheme, stats=stats)
        assert stats["stiff_steps"] > 0 and stats["max_substeps"] == 4, stats
        plain = _plain(monkeypatch, q0, table, 0.01, 0.01, [50], np.random.default_rng(7), scheme=scheme)
        assert np.array_equal(Q[0, :500], plain[0, :500]) and not np.array_equal(Q[0, 500:], plain[0, 500:])


def test_beyond_the_walls_the_drift_points_back_into_the_box() -> None:
    """A repulsive drift b = 5 q on the box [-1, 1]: continued linearly beyond the grid it carries trajectories
    away geometrically; with walls the drift beyond them is -+|b(edge)| = -+5, so every trajectory stays within a
    step's reach of the box, and the crossings are counted."""
    table = lambda t: (-1.0, 2.0, np.array([-5.0, 5.0]))
    q0 = np.linspace(-0.5, 0.5, 2000)
    with np.errstate(all="ignore"):
        free = simulate(q0, table, 0.1, 0.01, [400], np.random.default_rng(1))
    assert np.max(np.abs(free)) > 1e6
    stats: dict = {}
    Q = simulate(q0, table, 0.1, 0.01, [400], np.random.default_rng(1), walls=True, stats=stats)
    reach = 5 * 0.01 + 6 * math.sqrt(2 * 0.1 * 0.01)
    assert np.max(np.abs(Q)) < 1 + reach
    assert stats["crossed"] > 0 and stats["outside_steps"] >= stats["crossed"] >= stats["left_box"]
    stats_closed: dict = {}
    simulate(q0[:10] * 0, lambda t: (-1.0, 2.0, np.array([1.0, -1.0])), 0.1, 0.01, [10], np.random.default_rng(1),
             stats=stats_closed)
    assert stats_closed["crossed"] == 0 and stats_closed["outside_steps"] == 0  # no walls, nothing counted


def test_outside_the_resolved_region_the_drift_is_restoring() -> None:
    """A table whose drift points outward at both ends of its resolved region [lo, hi]: outside it the drift is
    |b(lo)| on the left and -|b(hi)| on the right (pointing into the region, flat); inside it is the rule's."""
    x = np.linspace(-2.0, 2.0, 41)
    ratio = (0.3 * x ** 3).astype(complex)  # b = ratio.real (hbar = m = 1): -2.4 at -2, +2.4 at +2: outward
    kw = dict(name="t", m=1.0, hbar=1.0, h=0.1, grid0=-2.0, dx=0.1, ratio=lambda n: ratio,
              sample0=lambda rng, n: np.zeros(n), n_steps=3)
    g0, dx, b = drift_table(PsiTable(**kw, resolved=lambda n: (10, 30)), nelson_drift)(0.1)
    exact = nelson_drift(x, ratio, 1.0, 1.0)
    assert np.array_equal(b[10:31], exact[10:31])
    assert np.all(b[:10] == abs(exact[10])) and np.all(b[31:] == -abs(exact[30]))
    assert np.all((x[:10] - x[10]) * b[:10] <= 0) and np.all((x[31:] - x[30]) * b[31:] <= 0)
    _, _, plain = drift_table(PsiTable(**kw), nelson_drift)(0.1)  # no resolved region given: the rule's everywhere
    assert np.array_equal(plain, exact)


@pytest.mark.parametrize("ok, expect_inconclusive", [(True, True), (False, False)])
def test_the_box_rule_makes_a_pass_inconclusive_and_leaves_a_failure_failed(ok: bool, expect_inconclusive: bool):
    """More than sqrt(N) trajectories beyond the walls: a PASS is not evidence (INCONCLUSIVE, no power); a FAILED
    stays FAILED with the counts (the drift and noise rules are under test: their planted errors drive trajectories
    out; reviewed 2026-11-26)."""
    from nnqg.verify._model import NumericResult
    from nnqg.verify.claims import _nelson_calibration as NC

    def calibration(ctx, inputs, which, profile=None):
        NC._TALLY.get()["user potential"] = {
            "simulations": 1, "trajectories": 100, "trajectory_steps": 1000, "stiff_steps": 0, "unresolved_steps": 0,
            "max_substeps": 1, "outside_steps": 50, "stayed_out": 0, "crossed": 30, "left_box": 20,
            "escapes": [{"N": 100, "left_box": 20, "crossed": 30}]}
        return NumericResult(1.0, 1.0, ok, where="w", rule="r", power={"x": 0.1},
                             details={"states": [{"closed_form": False}]})

    n = NC._integrator_verdict(calibration)(None, {}, "continuity")
    assert not n.ok and n.inconclusive is expect_inconclusive, n.where
    assert "20 of 100 trajectories left the box" in n.where and n.details["integrator"]["user potential"]["left_box"]
    assert n.power["x"] == (math.inf if expect_inconclusive else 0.1)
