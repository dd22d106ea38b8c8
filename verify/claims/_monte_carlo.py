r"""The decision rule of a Monte-Carlo calibration, and its power.

A calibration evaluates residuals :math:`r_{jk}` (component k: a test function, a state, a time) on ensembles of
growing size :math:`N_j`, each with a delete-a-group jackknife covariance :math:`\Sigma_j` (G groups). The rule:

1. **Consistency.** :math:`|r_{jk}|/s_{jk} \le z_{crit}` for every component at every size, with
   :math:`s_{jk}^2 = (\Sigma_j)_{kk}` and :math:`z_{crit}` the :math:`1 - \alpha/(2n)` quantile of Student's t
   with G - 1 degrees of freedom (Bonferroni over the n = components x sizes tests; family-wise false-alarm
   probability :math:`\alpha` = :data:`FAMILY_ALPHA`).
2. **Monte-Carlo rate.** The SE-weighted rms :math:`\rho_j = (\tfrac1K\sum_k r_{jk}^2/\sigma_k^2)^{1/2}`,
   :math:`\sigma_k^2 = \overline{N_j s_{jk}^2}`, falls as :math:`N_j^{-1/2}` when the residuals are noise. Its
   log-log slope in :math:`h = N^{-1/2}` must be at least :math:`1 - z_{1-\alpha}\,\mathrm{SE}`, the standard
   error from the null distribution of :math:`\rho_j^2` (a quadratic form in Gaussian residuals:
   :math:`E\rho_j^2 = \operatorname{tr}A_j`, :math:`\operatorname{Var}\rho_j^2 = 2\operatorname{tr}A_j^2`,
   :math:`A_j = D\Sigma_j/K`, :math:`D = \operatorname{diag}(\sigma_k^{-2})`, so that
   :math:`\mathrm{SE}(\log\rho_j) = \sqrt{2\operatorname{tr}A_j^2}/(2\operatorname{tr}A_j)`, correlations between
   components included) propagated through the least-squares slope; and the finest :math:`\rho_J` must be
   within :math:`z_{crit}/\sqrt{N_J}`.

**Power.** A planted effect of size :math:`\varepsilon` (e.g. the quantum potential scaled by
:math:`1+\varepsilon` in the kernel) shifts every residual linearly, :math:`r_k \to r_k + \varepsilon g_k`,
:math:`g_k` the mean over the ensemble of the derivative of the residual's kernel in :math:`\varepsilon`
(obtained from the SymPy equation, never typed). Component k alone detects it with probability at least
:math:`1-\beta` once :math:`|\varepsilon g_k| \ge (z_{crit} + z_{1-\beta})\,s_k`; the reported power is the
smallest such :math:`\varepsilon` over the components at the largest size (:func:`detection_power`,
:math:`\beta` = 0.05). The rule as a whole (all components, the rate test) can only detect more.

>>> round(detection_power(np.array([0.01, 0.02]), np.array([0.5, 4.0]), 3.0), 4)
0.0232
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import stats

from .._convergence import Judgement
from .._model import Convergence

#: family-wise false-alarm probability of each statistical test of a calibration
FAMILY_ALPHA = 1e-3
#: a planted effect counts as detected with probability >= 1 - DETECTION_BETA (see :func:`detection_power`)
DETECTION_BETA = 0.05


def consistency_bound(n_tests: int, groups: int, alpha: float = FAMILY_ALPHA) -> float:
    """The Bonferroni-corrected two-sided Student-t bound on |residual / SE| (G - 1 degrees of freedom)."""
    return float(stats.t.ppf(1 - alpha / (2 * n_tests), groups - 1))


def _real_roots(A: float, B: float, C: float) -> list[float]:
    """Real roots of A x^2 + B x + C (the cancellation-free form; a root beyond the floats is inf)."""
    if A == 0:
        return [-C / B] if B != 0 else []
    disc = B * B - 4 * A * C
    if disc < 0:
        return []
    q = -(B + math.copysign(math.sqrt(disc), B)) / 2
    with np.errstate(over="ignore", divide="ignore"):
        return [float(np.float64(q) / A)] + ([float(np.float64(C) / q)] if q != 0 else [])


def detection_power(se: np.ndarray, g: np.ndarray, zcrit: float, beta: float = DETECTION_BETA, *,
                    var_g: np.ndarray | None = None, cov_rg: np.ndarray | None = None) -> float:
    r"""Smallest :math:`\varepsilon > 0` that some component k detects with probability at least
    :math:`1-\beta`: :math:`|\varepsilon g_k| \ge Z\,s_k(\varepsilon)`, :math:`Z = z_{crit} + z_{1-\beta}`, where
    the planted residual's standard error :math:`s_k(\varepsilon)^2 = s_k^2 + 2\varepsilon\,c_k +
    \varepsilon^2 v_k` grows with the effect when the scaled term is itself noisy (``var_g`` = :math:`v_k`, the
    variance of the estimate of :math:`g_k`; ``cov_rg`` = :math:`c_k`, its covariance with the residual; both
    zero when omitted). Inf when no component can detect it (the term's noise grows as fast as its mean); a
    component whose terms overflow (a collapsed ensemble) is left out."""
    se, g = np.asarray(se, dtype=float).ravel(), np.asarray(g, dtype=float).ravel()
    v = np.zeros_like(se) if var_g is None else np.asarray(var_g, dtype=float).ravel()
    c = np.zeros_like(se) if cov_rg is None else np.asarray(cov_rg, dtype=float).ravel()
    Z2 = (zcrit + stats.norm.ppf(1 - beta)) ** 2
    best = math.inf
    for sk, gk, vk, ck in zip(se, g, v, c):
        if not all(map(math.isfinite, (sk, gk, vk, ck))) or gk == 0:
            continue
        # eps^2 (g^2 - Z^2 v) - 2 Z^2 c eps - Z^2 s^2 >= 0: the smallest positive root where it turns positive
        with np.errstate(over="ignore", invalid="ignore"):
            A, B, C = gk**2 - Z2 * vk, -2 * Z2 * ck, -Z2 * sk**2
        if not all(map(math.isfinite, (A, B, C))):  # finite inputs whose squares overflow: no statement
            continue
        scale = max(abs(A), abs(B), abs(C))  # the same roots, without overflow in the discriminant
        if scale == 0:  # g^2 = Z^2 v with no noise in the residual: detection exactly at the bound for every eps
            continue
        if sk == 0 and ck == 0 and A > 0:  # a noiseless residual detects every eps > 0 (the infimum is 0; tested
            # on s and c themselves: -Z^2 s^2 underflows to 0 for a tiny but noisy s)
            best = 0.0
            continue
        A, B, C = A / scale, B / scale, C / scale
        for x in sorted(r for r in _real_roots(A, B, C) if math.isfinite(r) and r > 0):
            if A * (x * 1.000001) ** 2 + B * x * 1.000001 + C >= 0:
                best = min(best, x)
                break
    return float(best)


def monte_carlo_rate(sizes: Sequence[int], residuals: Sequence[np.ndarray], covariances: Sequence[np.ndarray],
                     zcrit: float, alpha: float = FAMILY_ALPHA) -> tuple[Convergence, Judgement, dict[str, Any]]:
    """The rate test of the module docstring: (study, judgement, details with the order's standard error)."""
    N = np.asarray(sizes, dtype=float)
    R = [np.asarray(r, dtype=float) for r in residuals]
    C = [np.asarray(c, dtype=float) for c in covariances]
    K = R[0].size
    unit2 = np.mean([np.diag(c) * n for c, n in zip(C, N)], axis=0)
    D = np.diag(1.0 / unit2) / K
    rho = [float(np.sqrt(np.sum(r**2 / unit2) / K)) for r in R]
    se_log = []
    for c in C:
        A = D @ c
        tr, tr2 = float(np.trace(A)), float(np.trace(A @ A))
        se_log.append(math.sqrt(2 * tr2) / (2 * tr) if tr > 0 else float("inf"))
    x = np.log(1 / np.sqrt(N))
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    order_se = float(math.sqrt(np.sum(w**2 * np.asarray(se_log) ** 2)))
    conv = Convergence("SE-weighted rms residual vs h = N^-1/2", 1.0, tuple((1 / math.sqrt(n), r)
                                                                          for n, r in zip(sizes, rho)))
    order = conv.observed_order
    z = float(stats.norm.ppf(1 - alpha))
    lowest = conv.expected_order - z * order_se
    tol = zcrit / math.sqrt(N[-1])
    details = {"order_se": order_se, "order_lowest_accepted": lowest, "z_order": z, "se_log_rms": se_log}
    if not math.isfinite(order) or order < lowest:
        return conv, Judgement(rho[-1], tol, False, f"observed order {order:.3g} < expected 1 - {z:.3g} SE "
                                                    f"({order_se:.2g}) = {lowest:.3g}"), details
    if rho[-1] > tol:
        return conv, Judgement(rho[-1], tol, False, f"finest residual {rho[-1]:.3g} > statistical bound "
                                                    f"{tol:.3g}"), details
    return conv, Judgement(rho[-1], tol, True, f"order {order:.3g} +- {order_se:.2g} (expected 1, at least "
                                               f"{lowest:.3g}), residual {rho[-1]:.3g} <= {tol:.3g}"), details


def lag_point(lag: float, r: np.ndarray, se: np.ndarray, n_lags: int, alpha: float = FAMILY_ALPHA) \
        -> dict[str, Any]:
    r"""One lag of a lag study: the squared bias :math:`\hat b^2 = \overline{r^2 - s^2}` with its standard error
    (:math:`r_i \sim N(b_i, s_i^2)`: :math:`\operatorname{Var} r_i^2 = 4 b_i^2 s_i^2 + 2 s_i^4`), and whether the
    bias is *resolved* (:math:`\sum z^2` above its :math:`\chi^2` bound, family-wise over the lags)."""
    chi2 = float(np.sum((r / se) ** 2))
    b2 = float(np.mean(r**2 - se**2))
    var_b2 = float(np.sum(4 * np.maximum(r**2 - se**2, 0.0) * se**2 + 2 * se**4)) / r.size**2
    bias = math.sqrt(max(b2, 0.0))
    return {"lag": lag, "rms": float(np.sqrt(np.mean(r**2))), "rms_se": float(np.sqrt(np.mean(se**2))),
            "chi2": chi2, "components": int(r.size), "bias": bias, "bias2": b2, "bias2_se": math.sqrt(var_b2),
            "bias_se": math.sqrt(var_b2) / (2 * bias) if bias > 0 else float("inf"),
            "resolved": chi2 > float(stats.chi2.ppf(1 - alpha / n_lags, r.size))}


def lag_decision(points: list[dict[str, Any]], expected: float = 2.0, alpha: float = FAMILY_ALPHA) \
        -> tuple[bool, str, float]:
    r"""The verdict of a lag study (points from :func:`lag_point`, largest lag first).

    Reference: the largest lag :math:`\Delta_1`, when its bias is resolved. An estimator whose bias is
    :math:`O(\Delta^p)`, :math:`p \ge` ``expected``, has :math:`b_i^2 \le (\Delta_i/\Delta_1)^{2p} b_1^2`; the
    study fails when for some smaller lag :math:`T_i = \hat b_i^2 - (\Delta_i/\Delta_1)^{2p}\hat b_1^2` exceeds
    :math:`z_{1-\alpha'}` of its standard error (:math:`\alpha' = \alpha/(\text{lags} - 1)`), i.e. the bias
    falls more slowly than :math:`\Delta^p` with confidence. No resolved bias: nothing to measure (passes, says
    so). A bias resolved at a smaller lag but not at the largest cannot come from an estimator bias that grows
    with the lag: fails. The observed order (least squares over the resolved lags) is reported, not judged."""
    res = [p for p in points if p["resolved"]]
    order = float("nan")
    if len(res) >= 2:
        order = Convergence("bias", expected, tuple((p["lag"], p["bias"]) for p in res)).observed_order
    if not res:
        return True, f"no bias resolved at any lag <= {points[0]['lag']}: its order is not measurable", order
    ref = points[0]
    if not ref["resolved"]:
        return False, f"bias resolved at a smaller lag but not at the largest: {[p['lag'] for p in res]}", order
    z = float(stats.norm.ppf(1 - alpha / max(len(points) - 1, 1)))
    worst, why = -math.inf, ""
    for p in points[1:]:
        f = (p["lag"] / ref["lag"]) ** (2 * expected)
        T = p["bias2"] - f * ref["bias2"]
        sd = math.hypot(p["bias2_se"], f * ref["bias2_se"])
        if T / sd > worst:
            worst, why = T / sd, f"lag {p['lag']}: squared bias {p['bias2']:.3g} vs O(lag^{expected:g}) " \
                                 f"prediction {f * ref['bias2']:.3g} (z = {T / sd:.3g}, bound {z:.3g})"
    ok = worst <= z
    lags = [p["lag"] for p in res]
    return ok, (f"bias resolved at lags {lags}" + (f", observed order {order:.3g}" if math.isfinite(order) else "")
                + f"; {'falls at least as' if ok else 'falls more slowly than'} lag^{expected:g}: {why}"), order


__all__ = ["DETECTION_BETA", "FAMILY_ALPHA", "consistency_bound", "detection_power", "lag_decision", "lag_point",
           "monte_carlo_rate"]
