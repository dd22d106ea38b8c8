"""The convergence judge (`nnqg.verify._convergence`) on synthetic level sequences: rules 1-3 (PASSED / FAILED) and
rule 4 (2026-11-26), which turns a rejection into INCONCLUSIVE only when the levels do not resolve it.

Each sequence is built from its local orders, r_{j+1} = r_j / R^{p_j}, so the test states the orders it means."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnqg.verify import Convergence, judge
from nnqg.verify._convergence import ORDER_SLACK, approaching, fails, local_orders, offset_power, required_order, \
    unresolved
from nnqg.verify._model import FAILED, INCONCLUSIVE, PASSED


def study(orders: list[float], *, p: float = 2.0, ratio: float = 2.0, h0: float = 0.1, r0: float = 1e-2) \
        -> Convergence:
    """Levels h0 / R^j whose consecutive local orders are ``orders``."""
    pts = [(h0, r0)]
    for q in orders:
        h, r = pts[-1]
        pts.append((h / ratio, r / ratio**q))
    return Convergence("synthetic", p, tuple(pts))


def test_local_orders_of_the_builder() -> None:
    assert local_orders(study([1.2, 1.9, 2.0])) == pytest.approx([1.2, 1.9, 2.0])


# --- the three cases of the rule -------------------------------------------------------------------------------

@pytest.mark.parametrize("orders", [[1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.9, 1.05], [0.0, 0.0]])
def test_settled_wrong_order_is_failed(orders) -> None:
    """A first-order scheme where order 2 is claimed (or a residual that does not shrink), settled: FAILED."""
    j = judge(study(orders))
    assert j.status == FAILED and not j.inconclusive
    assert "INCONCLUSIVE" not in j.reason


@pytest.mark.parametrize("orders", [[1.2, 1.9], [1.49, 2.01], [-0.04, 1.55], [0.5, 1.0, 1.6]])
def test_unsettled_orders_moving_toward_the_expected_one_are_inconclusive(orders) -> None:
    j = judge(study(orders))
    assert j.status == INCONCLUSIVE and not j.ok and j.inconclusive
    assert "do not resolve this input" in j.reason


@pytest.mark.parametrize("orders", [[2.0, 2.0], [1.98, 2.01, 2.0], [2.3, 2.1], [1.7, 1.9]])
def test_settled_right_order_is_passed(orders) -> None:
    j = judge(study(orders))
    assert j.status == PASSED and j.ok and not j.inconclusive


def test_the_three_explored_studies() -> None:
    """The quick-profile studies of issue 13's three findings (numbers from their reports): INCONCLUSIVE; the
    same rule FAILS the planted schemes of those claims (numbers from `nnqg selftest --quick`)."""
    explored = [
        Convergence("schrodinger hbar 0.75", 2.0, ((0.1, 0.0307304327277), (0.05, 0.0109062252384),
                                                   (0.025, 0.00270959874743))),
        Convergence("boost v -0.95, 1+1", 2.0, ((0.1, 0.136100492922), (0.05, 0.139857158138),
                                                (0.025, 0.0477296570927))),
        Convergence("orbit L = 0.95 L_c", 0.8, ((1e-5, 3.25823789915e-06), (1e-7, 1.80964077014e-08),
                                                (1e-9, 6.43979200529e-10))),
    ]
    for c in explored:
        assert judge(c).status == INCONCLUSIVE, (c.quantity, judge(c).reason)
    planted = [study([0.989, 0.979]), study([0.893, 0.951]), study([1.56, 0.755]), study([0.997, 0.999]),
               study([1.16, 1.14]), study([0.653, -0.087]), study([-3.97e-5, -1.32e-7], p=0.8, ratio=100.0)]
    for c in planted:
        assert judge(c).status == FAILED, local_orders(c)


# --- properties --------------------------------------------------------------------------------------------------

ratios = st.sampled_from([2.0, 4.0, 100.0])


@given(q=st.floats(-1.0, 2.0 - ORDER_SLACK - 1e-3), ratio=ratios, levels=st.integers(3, 5))
def test_a_pure_power_law_below_the_slack_is_always_failed(q, ratio, levels) -> None:
    assert judge(study([q] * (levels - 1), ratio=ratio)).status == FAILED


@given(p=st.sampled_from([0.8, 1.0, 2.0, 4.0]), ratio=ratios, c=st.floats(1e-6, 1e3),
       rel=st.floats(1e-3, 1e3), levels=st.integers(3, 5))
def test_a_constant_defect_is_never_inconclusive(p, ratio, c, rel, levels) -> None:
    """r_j = delta + C h_j^p: local orders fall away from p (toward 0), so rule 4b never holds."""
    hs = [0.1 / ratio**j for j in range(levels)]
    delta = rel * c * hs[-1] ** p
    conv = Convergence("defect", p, tuple((h, delta + c * h**p) for h in hs))
    assert judge(conv).status in (PASSED, FAILED)


@given(a=st.floats(-6.0, 6.0), b=st.floats(-6.0, 6.0), p=st.sampled_from([0.8, 2.0]), ratio=ratios)
def test_inconclusive_only_when_rule_4_holds(a, b, p, ratio) -> None:
    """INCONCLUSIVE exactly when rules 1-3 reject and rule 4 holds: finest local order >= p - s, moving toward p,
    and within reach (its last change) of the required order; a pass is never touched."""
    j = judge(study([a, b], p=p, ratio=ratio))
    fs = 1.25
    need = required_order(p, ratio, fs)
    passes = min(a, b) >= p - ORDER_SLACK and b >= need
    if math.isclose(b, need, abs_tol=1e-9) or math.isclose(min(a, b), p - ORDER_SLACK, abs_tol=1e-9):
        return  # on a boundary, round-off of the built residuals decides
    if passes:
        assert j.status == PASSED
    else:
        rule4 = b >= p - ORDER_SLACK and abs(b - p) < abs(a - p) and b + abs(b - a) >= need
        assert j.status == (INCONCLUSIVE if rule4 else FAILED), (a, b, j.reason)


def test_rule_4_needs_both_finest_ratios_at_least_2() -> None:
    """Orders 1.49 -> 2.01 are unresolved on a doubling ladder, but not when a level sits between two doublings
    (ratios 1.28 and 1.56, a drawn size 200 in 64, 128, 256): the contraction premise fails, the rejection stands."""
    assert judge(study([1.49, 2.01])).status == INCONCLUSIVE
    pts = [(1 / 64, 1e-2), (1 / 128, 1e-2 / 2**1.49), (1 / 200, 1e-2 / 2**1.49 / 1.5625**1.2),
           (1 / 256, 1e-2 / 2**1.49 / 1.5625**1.2 / 1.28**2.01)]
    j = judge(Convergence("inserted level", 2.0, tuple(pts)))
    assert j.status == FAILED, j.reason


@given(q=st.floats(-1.0, 3.0))
def test_two_levels_are_never_inconclusive(q) -> None:
    assert judge(study([q])).status in (PASSED, FAILED)


def test_required_order_is_rule_3_on_the_finest_pair() -> None:
    """r_J <= F_s E_J  <=>  p_J >= log_R(1 + (R^p - 1)/F_s) (here 1.766 for p = 2, R = 2, F_s = 1.25)."""
    need = required_order(2.0, 2.0, 1.25)
    assert need == pytest.approx(math.log2(1 + 3 / 1.25))
    assert judge(study([2.0, need + 1e-6])).ok
    assert not judge(study([2.0, need - 1e-6])).ok


def test_unresolved_wording_and_refusals() -> None:
    assert unresolved([1.2, 1.9], 2.0, 1.77).startswith("local orders 1.2 -> 1.9 still approach 2")
    assert unresolved([1.9], 2.0, 1.77) == ""            # one local order: no trend
    assert unresolved([float("nan"), 1.9], 2.0, 1.77) == ""
    assert unresolved([1.9, 1.6], 2.0, 1.77) == ""       # moving away from 2
    assert unresolved([1.6, 1.45], 2.0, 1.5) == ""       # finest below p - s
    assert unresolved([1.5, 1.55], 2.0, 1.77) == ""      # cannot reach 1.77 by moving 0.05 more


def test_power_counts_failed_only() -> None:
    """The offset power is the smallest offset that makes the study FAIL: an exact order-2 study's power is
    F_s - 1 = 0.25 of the finest residual for three levels at R = 2 (the offset pulls the orders away from 2)."""
    c = study([2.0, 2.0])
    assert offset_power(c) == pytest.approx(0.25, rel=1e-3)
    assert not fails(c) and fails(study([1.0, 1.0])) and not fails(study([1.2, 1.9]))


@pytest.mark.parametrize("orders, expected", [
    ([1.62, 1.68], True),    # FAILED by rule 4c alone (issue 13's quick study)
    ([1.06, 1.40], True),    # FAILED by rule 4a, but rising fast enough to reach 1.5 at the assumed rate
    ([1.2, 1.9], True),      # INCONCLUSIVE by rule 4
    ([2.0, 2.0], False),     # PASSED: nothing to refine
    ([1.0, 1.0], False),     # a settled first order
    ([0.80, 0.88], False),   # a first-order scheme approaching 1 (the backward-Euler plant): cannot reach 1.5
    ([1.9, 1.6], False),     # moving away from 2 (a defect that does not vanish)
    ([1.7], False),          # two levels: no trend
])
def test_approaching_is_a_rejection_one_more_level_may_change(orders, expected) -> None:
    c = study(orders)
    assert approaching(c) is expected
    if expected:
        assert judge(c).status in (FAILED, INCONCLUSIVE)


def test_approaching_needs_the_ratio_premise() -> None:
    """Rule 4 is not applied below ``MIN_RATIO``; neither is :func:`approaching`."""
    assert approaching(study([1.62, 1.68])) and not approaching(study([1.62, 1.68], ratio=1.5))


def test_a_constant_offset_is_never_approaching() -> None:
    """A defect that does not vanish pulls the local orders away from p (rule 4b): never refined, whatever its
    size relative to the residual."""
    base = study([2.0, 2.0, 2.0])
    for rel in (0.3, 1.0, 10.0):
        shifted = Convergence("s", 2.0, tuple((h, r + rel * base.points[-1][1]) for h, r in base.points))
        assert fails(shifted) and not approaching(shifted)
