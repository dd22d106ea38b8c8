r"""The convergence rule of a deterministic calibration, and its power.

A calibration computes a residual :math:`r_j \ge 0` of the claimed equation at refinements
:math:`h_1 > h_2 > \dots > h_J` (grid spacing, time step, packet width, integrator tolerance). The claim is that
the residual tends to **zero** at the expected order p: :math:`r_j = C h_j^p + o(h_j^p)`. A planted error
typically leaves a defect that does not vanish, :math:`r_j \to \delta \ne 0`, or lowers the order.

**The rule** (Richardson extrapolation with Roache's Grid Convergence Index, ASME V&V 20-2009, applied to a
quantity whose exact value is 0). With :math:`R = h_{J-1}/h_J` the last refinement ratio,

1. *finite*: every :math:`r_j` is finite;
2. *asymptotic range*: the local orders :math:`p_j = \ln(r_{j-1}/r_j) / \ln(h_{j-1}/h_j)` of the finest two
   pairs of levels (the one pair when J = 2) are at least :math:`p - s`, ``order_slack`` s = 0.5;
3. *extrapolates to zero*: Richardson's estimate of the discretisation part of the finest residual,
   :math:`E_J = (r_{J-1} - r_J)/(R^p - 1)`, must account for the whole residual within the factor of safety:
   :math:`r_J \le F_s E_J`, i.e. the extrapolated limit :math:`r_\infty = r_J - E_J` is at most
   :math:`(F_s - 1) E_J`. The tolerance reported is :math:`F_s E_J`.

A study that meets 1-3 is PASSED. One that misses 2 or 3 is FAILED when its levels *resolve* the failure, and
INCONCLUSIVE (the levels are too coarse for this input: refine further, nothing is said about the claim) when they
do not (rule 4, dated 2026-11-26).

4. *resolution*: with three or more levels, let :math:`a = p_{J-1}` and :math:`b = p_J` be the local orders of the
   second-finest and the finest pair and :math:`\Delta = |b - a|` their change. Condition 3 is, for positive
   decreasing residuals, exactly :math:`b \ge p_E = \log_R(1 + (R^p - 1)/F_s)`, so the finest pair must reach
   :math:`p_{req} = \max(p - s, p_E)`. The failure is *unresolved* -- INCONCLUSIVE -- when all of

   a. the finest pair is in the asymptotic range: :math:`b \ge p - s` (a finest local order below it -- a scheme
      of lower order, a residual that flattens -- is always FAILED);
   b. the local orders are still moving toward the expected order: :math:`|b - p| < |a - p|`. A defect that does
      not vanish, :math:`r_j = \delta + C h_j^p`, has local orders :math:`p\,C h^p/(\delta + C h^p)` that fall
      monotonically toward 0, *away* from p, so it never meets this. (Where the defect-free local orders lie
      *above* p, higher-order terms of the same sign, a small defect can pull them down across p and meet b:
      such a study is INCONCLUSIVE until the defect is large enough to be resolved, which is what its power
      measures);
   c. the remaining movement can close the gap: :math:`b + \Delta \ge p_{req}`. If the deviation of the local
      order from its limit shrinks by at least the factor c = ``ORDER_CONTRACTION`` = 1/2 per refinement, the
      finest local order may still move by at most :math:`\Delta\,c/(1 - c) = \Delta`; a local order that
      cannot reach :math:`p_{req}` even so is resolved below it (a settled wrong order: FAILED).

   Otherwise the failure is FAILED. Two-level studies have no trend and are never INCONCLUSIVE.

A caller with more levels at hand may ask which rejections one more level could change (:func:`approaching`:
orders moving toward p fast enough, at the rate of 4c, to reach p - s; not a verdict, the refined study is judged
again by 1-4).

**The constants and why.**

* :math:`F_s` = 1.25 when J >= 3 and 3 when J = 2: Roache's factors of safety for the GCI (1.25 when the
  observed order is checked on three or more grids, 3 for a two-grid estimate whose order is assumed). They
  bound the error of the Richardson estimate :math:`E_J` itself (the neglected higher-order terms), reported as
  giving about 95% coverage in grid-convergence surveys.
* s = 0.5: the asymptotic-range slack on the local order, half-way between the expected order p and the next
  lower order p - 1, so that a scheme one order lower (a one-sided difference, an upwind flux, a first-order
  start: the commonest defects) is rejected, while a local order still approaching p from below by pre-asymptotic
  terms passes. The slope over *all* levels is not used: coarse levels may be pre-asymptotic, and their weight
  would hide a residual that flattens only at the finest levels.
* c = 1/2 (rule 4c): for an expansion :math:`r = C h^p (1 + a h^q + \dots)` the local order's deviation from p
  shrinks by :math:`R^{-q}` per refinement, at most 1/2 for every study in the project (R >= 2, q >= 1); for the
  tolerance studies of an adaptive integrator (no such expansion) it is the stated assumption. Rule 4 is not
  applied when either of the finest two ratios is below 2 (``MIN_RATIO``; e.g. a drawn network size inserted into a
  doubling ladder), where that premise fails. With it the
  finest local order's remaining movement is bounded by the last change :math:`\Delta` itself, whatever R is.
  Rule 4 only turns a rejection into INCONCLUSIVE; it never passes a study that 1-3 reject, and a settled order
  below :math:`p_{req}` or a residual flattening to a non-zero limit stay FAILED (except the small defect on a
  study whose clean local orders lie above p, rule 4b's note).
* ``floor`` (default 0): an absolute residual below which every level is at round-off (stated by the caller from
  the arithmetic, never to loosen a failing study); a study entirely below it passes.

**Assumptions.** The residual is deterministic (no Monte-Carlo noise: local orders of noisy residuals fluctuate,
and Monte-Carlo studies use a statistical rule instead); its leading error term is :math:`C h^p` with the same
sign at the finest levels (no cancellation between terms); the expected order p is that of the discretisation
(stated by the caller, from the scheme).

**Power.** The rule's power on a study is the smallest constant offset :math:`\delta` which, added to every
level's residual (a defect that does not vanish with refinement, the signature of a planted error), makes the
rule reject -- FAILED; an unresolved (INCONCLUSIVE) study detects nothing. It is found by bisection on the rule
itself (:func:`offset_power`) and reported relative to the finest residual, :math:`\delta^*/r_J`. For an exact power law with R = 2, p = 2 it is
:math:`F_s - 1 = 0.25`: the rule sees any non-vanishing defect larger than a quarter of the finest residual.
A calibration that can compute the effect of a specific planted term (a wave speed :math:`\times(1+\epsilon)`)
reports the smallest :math:`\epsilon` rejected as well (:func:`smallest_rejected`).

>>> c = Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 2.6e-3), (0.025, 6.1e-4)))
>>> r = judge(c)
>>> r.ok, round(c.observed_order, 2), round(r.power[OFFSET_POWER], 3)
(True, 2.02, 0.359)
>>> judge(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 9e-3), (0.025, 8.5e-3)))).ok
False
>>> judge(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 2.5e-3), (0.025, 6.25e-4 + 2e-4)))).reason[:35]
'finest residual 0.000825 > F_s E_J '

Local orders 1.2 then 1.9, still climbing toward 2: not resolved; settled at 1: a first-order scheme, resolved.

>>> judge(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 1e-2 / 2**1.2), (0.025, 1e-2 / 2**3.1)))).status
'INCONCLUSIVE'
>>> judge(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 5e-3), (0.025, 2.5e-3)))).status
'FAILED'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ._model import FAILED, INCONCLUSIVE, PASSED, Convergence

#: the power entry every judged study reports
OFFSET_POWER = "constant offset on every level, relative to the finest residual"
SAFETY_THREE_OR_MORE, SAFETY_TWO = 1.25, 3.0
ORDER_SLACK = 0.5
#: rule 4c: the deviation of a local order from its limit shrinks at least by this factor per refinement
ORDER_CONTRACTION = 0.5
#: rule 4 applies only when both of the finest two refinement ratios are at least this (the contraction's premise)
MIN_RATIO = 2.0


@dataclass(frozen=True)
class Judgement:
    """The rule's decision on one study: ``tolerance`` = :math:`F_s E_J`; ``rule``: the rule with its constants;
    ``power``: :data:`OFFSET_POWER` -> the smallest rejected offset relative to the finest residual (0 when the
    study already fails, nan when it is not defined); ``inconclusive``: rejected by rules 2-3 but not resolved
    (rule 4)."""

    max_residual: float
    tolerance: float
    ok: bool
    reason: str
    rule: str = ""
    power: Mapping[str, float] = field(default_factory=dict)
    inconclusive: bool = False  # rejected but not resolved (rule 4): INCONCLUSIVE, not FAILED

    @property
    def status(self) -> str:
        """PASSED, INCONCLUSIVE or FAILED."""
        return PASSED if self.ok else INCONCLUSIVE if self.inconclusive else FAILED


def rule_text(expected_order: float, levels: int, *, order_slack: float = ORDER_SLACK,
              safety: float | None = None) -> str:
    """The rule in one line, with its constants (for the report)."""
    fs = _safety(levels) if safety is None else safety
    pairs = "the local orders of the finest two pairs of levels" if levels >= 3 else "the local order"
    return (f"residual -> 0 at order {expected_order:g}: {pairs} >= "
            f"{expected_order:g} - {order_slack:g}, and the finest residual <= F_s E_J (Richardson estimate of its "
            f"discretisation part, GCI factor of safety F_s = {fs:g} for {levels} levels)"
            + ("; a rejection is INCONCLUSIVE (not resolved) when the finest local order is >= "
               f"{expected_order:g} - {order_slack:g}, the local orders move toward {expected_order:g}, and the "
               "finest may still move by the last change (contraction "
               f"{ORDER_CONTRACTION:g} per refinement) far enough to pass" if levels >= 3 else ""))


def _safety(levels: int) -> float:
    return SAFETY_THREE_OR_MORE if levels >= 3 else SAFETY_TWO


def local_orders(conv: Convergence) -> list[float]:
    """:math:`p_j = \\ln(r_{j-1}/r_j)/\\ln(h_{j-1}/h_j)` for consecutive levels (nan where undefined)."""
    out = []
    for (h0, r0), (h1, r1) in zip(conv.points, conv.points[1:]):
        ok = r0 > 0 and r1 > 0 and h0 > h1 > 0 and math.isfinite(r0) and math.isfinite(r1)
        out.append(math.log(r0 / r1) / math.log(h0 / h1) if ok else float("nan"))
    return out


def required_order(expected_order: float, ratio: float, safety: float, order_slack: float = ORDER_SLACK) -> float:
    """:math:`p_{req} = \\max(p - s, \\log_R(1 + (R^p - 1)/F_s))`: the finest local order that rules 2 and 3
    demand (rule 3 is this bound on the finest pair for positive decreasing residuals)."""
    return max(expected_order - order_slack, math.log1p((ratio**expected_order - 1.0) / safety) / math.log(ratio))


def unresolved(orders: list[float], expected_order: float, needed: float, *,
               order_slack: float = ORDER_SLACK, contraction: float = ORDER_CONTRACTION) -> str:
    """Rule 4 on the local orders ``orders`` = [a, b] of the finest two pairs: why a rejection is not resolved
    (INCONCLUSIVE), or "" when it is (FAILED). ``needed`` is :func:`required_order`.

    >>> unresolved([1.2, 1.9], 2.0, 1.77)[:38]
    'local orders 1.2 -> 1.9 still approach'
    >>> unresolved([1.0, 1.0], 2.0, 1.77), unresolved([2.0, 1.6], 2.0, 1.77), unresolved([1.6, 1.4], 2.0, 1.5)
    ('', '', '')
    """
    if len(orders) < 2 or not all(math.isfinite(q) for q in orders):
        return ""
    a, b = orders[-2], orders[-1]
    p = expected_order
    reach = abs(b - a) * contraction / (1.0 - contraction)
    if b < p - order_slack or not abs(b - p) < abs(a - p) or b + reach < needed:
        return ""
    return (f"local orders {a:.3g} -> {b:.3g} still approach {p:g} (the finest may still move by {reach:.3g}, "
            f"enough to reach the required {needed:.3g}): the levels do not resolve this input, refine further")


def _decide(conv: Convergence, safety: float | None, order_slack: float, floor: float) -> tuple[str, float, str]:
    pts = conv.points
    rs = [r for _, r in pts]
    r_last = rs[-1]
    if not all(math.isfinite(r) for r in rs):
        return FAILED, float("nan"), "non-finite residual in the convergence study"
    if max(rs) <= floor:
        return PASSED, floor, f"all residuals at round-off (<= {floor:g})"
    p = conv.expected_order
    fs = _safety(len(pts)) if safety is None else safety
    ratio = pts[-2][0] / pts[-1][0]
    e_j = (rs[-2] - r_last) / (ratio**p - 1.0)
    tol = max(fs * e_j, floor)
    if r_last <= floor:
        return PASSED, tol, f"finest residual at round-off ({r_last:.3g} <= {floor:g})"
    lo = local_orders(conv)[-2:] if len(pts) >= 3 else local_orders(conv)[-1:]
    bad = [q for q in lo if not (math.isfinite(q) and q >= p - order_slack)]
    shown = ", ".join(f"{q:.3g}" for q in lo)
    if bad:
        why = f"local order(s) {shown} at the finest levels < expected {p:g} - {order_slack:g}"
    elif r_last > tol:
        why = (f"finest residual {r_last:.3g} > F_s E_J = {tol:.3g}: it does not extrapolate to 0 "
               f"(limit {r_last - e_j:.3g})")
    else:
        return PASSED, tol, f"local orders {shown} (expected {p:g}), residual {r_last:.3g} <= F_s E_J = {tol:.3g}"
    ratios = [pts[k - 1][0] / pts[k][0] for k in range(len(pts) - 2, len(pts))] if len(pts) >= 3 else []
    # rule 4c's contraction bound R^-q <= 1/2 needs R >= 2 on both pairs (e.g. not a ladder with a drawn size
    # inserted between two doublings): below that the rejection stands
    still = unresolved(lo, p, required_order(p, ratio, fs, order_slack), order_slack=order_slack) \
        if ratios and min(ratios) >= MIN_RATIO else ""
    if still:
        return INCONCLUSIVE, tol, f"{why}; INCONCLUSIVE: {still}"
    return FAILED, tol, why


def approaching(conv: Convergence, *, safety: float | None = None, order_slack: float = ORDER_SLACK,
                contraction: float = ORDER_CONTRACTION, floor: float = 0.0) -> bool:
    r"""Whether the rule rejects ``conv`` while one more level could still change that: three or more levels, both
    finest ratios >= ``MIN_RATIO``, and the local orders a, b of the finest two pairs approach the expected order p
    (rule 4b, :math:`|b - p| < |a - p|`) fast enough that the finest, moving by at most the last change
    :math:`\Delta` more (rule 4c's contraction), reaches the asymptotic range: :math:`b + \Delta \ge p - s`.
    Not approaching: a residual that flattens or a defect that does not vanish (orders moving away from p), a
    settled order, a lower-order scheme whose orders approach p - 1 (e.g. 0.80 -> 0.88 where p = 2: it cannot
    reach p - s at that rate). What to refine, not a verdict: a refined study is judged again by the rule.

    >>> approaching(Convergence("grid", 2.0, ((0.1, 7.06e-3), (0.05, 2.30e-3), (0.025, 7.2e-4))))
    True
    >>> approaching(Convergence("grid", 2.0, ((0.1, 1e-2), (0.05, 5e-3), (0.025, 2.5e-3))))
    False
    """
    pts = conv.points
    if len(pts) < 3 or _decide(conv, safety, order_slack, floor)[0] == PASSED:
        return False
    if min(pts[k - 1][0] / pts[k][0] for k in range(len(pts) - 2, len(pts))) < MIN_RATIO:
        return False
    a, b = local_orders(conv)[-2:]
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    p = conv.expected_order
    reach = abs(b - a) * contraction / (1.0 - contraction)
    return abs(b - p) < abs(a - p) and b + reach >= p - order_slack


def smallest_rejected(rejects: Callable[[float], bool], scale: float, *, iterations: int = 48,
                      limit: float = 1e8) -> float:
    """The smallest x >= 0 with ``rejects(x)`` True, for a rejection that is monotone in x: 0 when
    ``rejects(0)``; otherwise bracketed by doubling from ``scale`` (inf when nothing up to ``limit * scale`` is
    rejected) and bisected in log scale to a relative width of about 1e-6."""
    if rejects(0.0):
        return 0.0
    if not (math.isfinite(scale) and scale > 0):
        return float("nan")
    lo, hi = 0.0, scale
    while not rejects(hi):
        lo, hi = hi, 2.0 * hi
        if hi > limit * scale:
            return float("inf")
    lo = lo if lo > 0 else hi * 2.0**-40
    for _ in range(iterations):
        mid = math.sqrt(lo * hi)
        if rejects(mid):
            hi = mid
        else:
            lo = mid
        if hi / lo < 1.0 + 1e-6:
            break
    return hi


def offset_power(conv: Convergence, *, safety: float | None = None, order_slack: float = ORDER_SLACK,
                 floor: float = 0.0) -> float:
    """The smallest constant offset, added to every level's residual, that the rule rejects, relative to the
    finest residual (module docstring); 0 when the study already fails, nan when the finest residual is 0."""
    r_last = conv.points[-1][1]

    def rejects(delta: float) -> bool:
        shifted = Convergence(conv.quantity, conv.expected_order, tuple((h, r + delta) for h, r in conv.points))
        return _decide(shifted, safety, order_slack, floor)[0] == FAILED

    if not (math.isfinite(r_last) and r_last > 0):
        return 0.0 if rejects(0.0) else float("nan")
    return smallest_rejected(rejects, r_last) / r_last


def fails(conv: Convergence, *, safety: float | None = None, order_slack: float = ORDER_SLACK,
          floor: float = 0.0) -> bool:
    """Whether the rule says FAILED (not PASSED, not INCONCLUSIVE): what the power bisections call, since only a
    resolved rejection detects a planted error."""
    return _decide(conv, safety, order_slack, floor)[0] == FAILED


def planted_power(study: Callable[[float], Convergence], *, scale: float = 1e-6, limit: float = 1e8,
                  **rule: float) -> float:
    """The smallest size eps >= 0 of a planted term that the rule rejects, where ``study(eps)`` is the
    convergence study recomputed with the term planted at size eps (e.g. a wave speed times (1 + eps)) and
    "rejects" means FAILED (:func:`fails`), bisected on the rule itself (:func:`smallest_rejected`; inf when nothing up to ``limit * scale`` is rejected)."""
    return smallest_rejected(lambda eps: fails(study(eps), **rule), scale, limit=limit)


def judge(conv: Convergence, *, safety: float | None = None, order_slack: float = ORDER_SLACK,
          floor: float = 0.0) -> Judgement:
    """Judge a convergence study by the rule of the module docstring; ``safety`` overrides :math:`F_s` (default:
    1.25 for three or more levels, 3 for two). Returns the decision (PASSED, INCONCLUSIVE by rule 4, FAILED), the
    rule text and the offset power."""
    pts = conv.points
    if len(pts) < 2:
        raise ValueError("a convergence study needs at least two refinement levels")
    hs = [h for h, _ in pts]
    if any(b >= a for a, b in zip(hs, hs[1:])):
        raise ValueError(f"refinements must decrease: {hs}")
    status, tol, reason = _decide(conv, safety, order_slack, floor)
    power = offset_power(conv, safety=safety, order_slack=order_slack, floor=floor)
    r_last = pts[-1][1] if all(math.isfinite(r) for _, r in pts) else float("nan")
    return Judgement(r_last, tol, status == PASSED, reason,
                     rule_text(conv.expected_order, len(pts), order_slack=order_slack, safety=safety),
                     {OFFSET_POWER: power}, inconclusive=status == INCONCLUSIVE)


def combined(judgements: "list[Judgement] | tuple[Judgement, ...]") -> tuple[bool, bool]:
    """``(ok, inconclusive)`` of studies judged together: ok when every one PASSED; inconclusive when none
    FAILED and some are INCONCLUSIVE (one resolved failure decides FAILED)."""
    ok = all(j.ok for j in judgements)
    return ok, (not ok) and not any(j.status == FAILED for j in judgements)
