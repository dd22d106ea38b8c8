r"""Tolerances from convergence studies.

A numeric check computes its residual :math:`r_j` at refinements :math:`h_1 > h_2 > \dots > h_J` (grid spacing,
time step, :math:`N^{-1/2}` for an ensemble of size N). With expected order :math:`p` the residual at the finest
level is predicted from the one before it, :math:`r_J^{\rm pred} = r_{J-1} (h_J/h_{J-1})^p`; the tolerance is
``safety`` times that prediction. A check passes when

* every residual is finite,
* the observed order (least-squares slope of :math:`\log r` on :math:`\log h`) is at least ``p - order_slack``,
* :math:`r_J \le` tolerance.

A planted error that leaves an O(1) residual fails the order test (the residual stops shrinking) even when it
is small in absolute terms; one that changes the order fails both.

>>> c = Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 2.6e-3), (0.025, 6.1e-4)))
>>> r = judge(c)
>>> r.ok, round(c.observed_order, 2)
(True, 2.02)
>>> judge(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 9e-3), (0.025, 8.5e-3)))).ok
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._model import Convergence


@dataclass(frozen=True)
class Judgement:
    max_residual: float
    tolerance: float
    ok: bool
    reason: str


def judge(conv: Convergence, *, safety: float = 2.0, order_slack: float = 0.5,
          floor: float = 0.0) -> Judgement:
    """Judge a convergence study (see the module docstring). ``floor`` is an absolute residual below which a
    level counts as converged to round-off (set from the data type, e.g. 1e-12 for float64 sums), stated by the
    caller; it is never used to loosen a failing study, only to avoid log(0)."""
    pts = conv.points
    if len(pts) < 2:
        raise ValueError("a convergence study needs at least two refinement levels")
    hs = [h for h, _ in pts]
    if any(b >= a for a, b in zip(hs, hs[1:])):
        raise ValueError(f"refinements must decrease: {hs}")
    rs = [r for _, r in pts]
    if not all(math.isfinite(r) for r in rs):
        return Judgement(float("nan"), float("nan"), False, "non-finite residual in the convergence study")
    r_last = rs[-1]
    if max(rs) <= floor:
        return Judgement(r_last, floor, True, f"all residuals at round-off (<= {floor:g})")
    pred = rs[-2] * (hs[-1] / hs[-2]) ** conv.expected_order
    tol = max(safety * pred, floor)
    order = conv.observed_order
    if not math.isfinite(order) or order < conv.expected_order - order_slack:
        return Judgement(r_last, tol, False,
                         f"observed order {order:.3g} < expected {conv.expected_order:g} - {order_slack:g}")
    if r_last > tol:
        return Judgement(r_last, tol, False, f"finest residual {r_last:.3g} > tolerance {tol:.3g}")
    return Judgement(r_last, tol, True, f"order {order:.3g} (expected {conv.expected_order:g}), "
                                        f"residual {r_last:.3g} <= {tol:.3g}")
