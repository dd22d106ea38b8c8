r"""Distances of an ensemble of learning trajectories from the Fokker-Planck, Madelung and Schrodinger
descriptions, each with its standard error, the counts behind it, and its power (the smallest planted effect it
detects at this size).

Input: an :class:`~nnqg.numerics._ensemble.Ensemble` (snapshots ``q[s, i, :]`` of N independent learners at
consecutive steps, time in steps, and the model's :math:`\nabla U`, :math:`\Sigma(q)`, optionally
:math:`\nabla F`), the step size :math:`\gamma` and batch size B (the model diffusion is
:math:`D(q) = \gamma^2\Sigma(q)/(2B)`), and *anchor* steps :math:`t_a` with a window :math:`|s - t_a|\le w`
(every measure uses the steps :math:`t_a - w - 1 .. t_a + w + 1`). Every distance is dimensionless, about 0 when
the description holds and of order 1 when its terms do not balance at all. The equations and conventions are those
of docs/theory.md (section 2: Fokker-Planck; section 3: Madelung and Nelson's picture; section 4: circulation).

**Test functions.** :math:`\varphi_\alpha(q) = z^\alpha e^{-|z|^2/4}`, :math:`|\alpha|\le 2`,
:math:`z = (q-\mu_t)/\sigma_t` (ensemble mean and standard deviations at the anchor;
:func:`~nnqg.numerics._polynomials.hermite_terms`), M = C(K + 2, 2) of them. A weak-form distance is
:math:`\max_\alpha |\bar r_\alpha|/S_\alpha`, :math:`r_\alpha` a per-member residual averaged over the window,
:math:`S_\alpha` the mean size of its terms; its standard error is the sample standard deviation over members
over :math:`\sqrt N` (members are independent), divided by :math:`S_\alpha`.

:func:`fokker_planck_distance` (weak Fokker-Planck). Prediction
:math:`\partial_t p = \gamma\nabla\cdot(p\nabla U) + \partial_j\partial_l(D_{jl}p)`; per member

.. math:: r_i = \varphi(q^{(i)}_{s+1}) - \varphi(q^{(i)}_s)
          - \big[-\gamma\nabla U\cdot\nabla\varphi + D:\nabla^2\varphi\big](q^{(i)}_s),
          \qquad S_\alpha = \overline{|\gamma\nabla U\cdot\nabla\varphi_\alpha|}
          + \overline{|D:\nabla^2\varphi_\alpha|}.

*Tells apart:* a wrong model drift or diffusion (a planted :math:`D\to(1+\epsilon)D` or
:math:`\nabla U\to(1+\epsilon)\nabla U`, see :meth:`WeakFormDistance.detectable`) and a step too large for the
diffusion limit (the :math:`O(\gamma)` part :math:`\tfrac12\gamma^2(\nabla U\cdot\nabla)^2\varphi` of one step is
measured, not removed). *Cannot tell:* for SGD the one-step mean :math:`-\gamma\nabla U` and covariance
:math:`\gamma^2\Sigma/B` hold exactly, so beyond :math:`O(\gamma)` the measure sees only higher cumulants of the
mini-batch noise: any Markov chain with the same first two one-step moments passes. Only the low, Gaussian-weighted
moments probed by the M test functions are compared.

:func:`continuity_distance` (weak continuity with the model's free energy). Prediction
:math:`\partial_t p + \nabla\cdot(p\,\gamma\nabla F) = 0`, i.e. :math:`\tfrac{d}{dt}E[\varphi] =
E[\gamma\nabla F\cdot\nabla\varphi]`; per member, with a central difference in time,

.. math:: r_i = \tfrac12\big[\varphi(q^{(i)}_{s+1}) - \varphi(q^{(i)}_{s-1})\big]
          - \gamma\nabla F\cdot\nabla\varphi(q^{(i)}_s),\qquad
          S_\alpha = \overline{|\gamma\nabla F\cdot\nabla\varphi_\alpha|} + \overline{|D:\nabla^2\varphi_\alpha|}.

*Tells apart:* a current velocity of the data that differs from :math:`\gamma\nabla F` of the model in the moments
the test functions probe (a planted :math:`F\to(1+\epsilon)F`). *Cannot tell:* anything where
:math:`\nabla F\cdot\nabla\varphi` averages to the same value; on a stationary ensemble with :math:`\nabla F = 0`
the equation is 0 = 0 and the sensitivity to F is 0 (reported: the detectable effect is infinite). Estimated from
the data alone (no model F) the current velocity satisfies continuity for *every* diffusion, which is why the
model's F is required.

:func:`nelson_distances` (Madelung in Nelson's trajectory picture, :math:`m = 1/\gamma`,
:math:`\nu = \hbar\gamma/2`). Forward and backward drifts are least-squares fits of one-step increments on
polynomials of total degree :math:`\le d` in z, pooled over the window with a term linear in :math:`s - t_a` (its
coefficient is the time derivative): :math:`b \approx E[q_{s+1}-q_s\mid q_s]`,
:math:`b_* \approx E[q_s - q_{s-1}\mid q_s]`, current velocity :math:`v = (b+b_*)/2`, osmotic velocity
:math:`u = (b-b_*)/2`. The scalar :math:`\nu` is the ensemble mean of :math:`\operatorname{tr}D/K` at the anchors;
``d_spread`` is the relative spread of the eigenvalues of :math:`D(q)` over members and anchors (0 for Nelson's
scalar, uniform :math:`\nu`).

* Osmotic relation :math:`u = \nu\nabla\ln p`, weak form :math:`E[u\cdot\nabla\varphi] + \nu E[\nabla^2\varphi] =
  0`: per member :math:`o_i = \tfrac12(\Delta^+_i - \Delta^-_i)\cdot\nabla\varphi + \nu\nabla^2\varphi`,
  :math:`S_\alpha = 2\nu\overline{|\nabla^2\varphi_\alpha|}`. *Cannot tell Madelung from anything:* for every
  diffusion :math:`u = \nabla\cdot(Dp)/p`, so with a constant scalar :math:`D = \nu` the relation holds whatever
  the drift (plain gradient descent included). It tests :math:`\nu` (that the noise is scalar, uniform and equal
  to the model's), not Madelung; its distance grows with ``d_spread``. One-step increments leave an O(step) part:
  for a stationary AR(1) :math:`q' = (1-a)q + \text{noise}` the discrete u is :math:`-aq` against
  :math:`\nu\nabla\ln p = -a(1-a/2)q` (0.084 at a = 0.3, 0.012 at a = 0.05, N = 4000; tested).
* Stochastic Newton law (the gradient of the quantum Hamilton-Jacobi equation, with the paper's potential
  :math:`V = U`): :math:`\rho = \partial_t v + (v\cdot\nabla)v - (u\cdot\nabla)u - \nu\nabla^2 u + \gamma\nabla U
  = 0` at the members; distance :math:`\operatorname{rms}(\rho)/\sum_{\text{terms}}\operatorname{rms}(\text{term})`
  (in [0, 1] by the triangle inequality, up to noise). Mean squares are *cross-fitted*: the drifts are fitted on
  two halves of the ensemble (split by member) and :math:`\overline{|\rho|^2}` is estimated by
  :math:`\overline{\rho_A\cdot\rho_B}`, which has no positive noise floor. *Tells apart:* Madelung dynamics in the
  loss from plain learning: for stationary SGD on a quadratic loss the distance is
  :math:`(1-\gamma k)/(1+\gamma k)` (the backward drift of a stationary reversible AR(1) is exactly
  :math:`+\gamma k q`), and a planted :math:`V\to(1+\epsilon)V` on a Nelson ground state
  (:meth:`NewtonDistance.detectable`). *Cannot tell:* drift structure beyond the polynomial degree d (projected
  away), and it carries O(step) discretisation parts (one-step increments, not continuous-time drifts).
* Circulation (Schrodinger: Madelung plus a single-valued :math:`\psi`): :math:`\oint v\cdot dq = 2\pi\hbar\gamma n`
  around the one-standard-deviation ellipse of the first two parameters (trapezoid, 256 points), in quanta
  :math:`|\Gamma|/(2\pi\hbar\gamma)`, :math:`\hbar = 2\nu/\gamma`, the largest over the anchors. *Tells apart:* a
  rotational current from an irrotational one around that loop. *Cannot tell:* quantisation as such (a loop that
  encloses no node of p admits only n = 0), circulation in other planes when K > 2. K = 1: no loop (0).

**Standard errors.** Weak forms: analytic, over members. Fit-based measures: bootstrap over whole members
(``n_boot`` resamples; the cross-fit halves of a resample share no member).

**Power.** ``detectable(...)`` returns the smallest planted effect :math:`|\epsilon|` that the measure reports
beyond ``threshold`` (``distance - sigmas * se > threshold``, e.g. threshold = the tolerance) with probability
``power``, to first order: the estimate is taken as normal around its value on the unplanted ensemble shifted by
:math:`\epsilon` times the measure's own sensitivity, with the same standard error. The sensitivities come from the
estimator's terms on the ensemble at hand, so the power belongs to this ensemble size, these anchors and this
system. The unplanted value is an estimate too, so it is taken one standard error to the unfavourable side
(conservative). Checked by planting (tests/unit/test_ensemble_measures.py): at twice the predicted effect every
fresh ensemble catches it, at a quarter (almost) none; over 30 random (base, fresh) pairs at the predicted effect
itself, with power 0.8: diffusion plants caught 25/30 (eps > 0) and 26/30 (eps < 0), potential plants on a Nelson
ground state 28/30 and 30/30.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> q = np.empty((12, 400, 1)); q[0] = rng.standard_normal((400, 1))   # stationary AR(1): gamma = 0.1,
>>> # grad U = q, one-step variance 0.19 = gamma^2 Sigma / B with Sigma = 19
>>> for s in range(11): q[s + 1] = 0.9 * q[s] + np.sqrt(0.19) * rng.standard_normal((400, 1))
>>> ens = Ensemble(q=q, grad_loss=lambda Q: Q, grad_cov=lambda Q: np.full((len(Q), 1, 1), 19.0),
...                loss=lambda Q: 0.5 * Q[:, 0] ** 2)
>>> fp = fokker_planck_distance(ens, gamma=0.1, batch_size=1, anchors=[5], window=2)
>>> (fp.n_members, fp.n_test_functions, fp.distance < 0.5)
(400, 3, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from nnqg.derivations import InvalidArgument

from ._ensemble import Ensemble
from ._polynomials import exponents, hermite_terms, monomials, unit

__all__ = ["CirculationQuanta", "NelsonDistances", "NewtonDistance", "WeakFormDistance", "continuity_distance",
           "detectable_shift", "fokker_planck_distance", "nelson_bytes", "nelson_distances", "weak_form_bytes",
           "within_tolerance"]

#: the largest polynomial degree of the Nelson drift fits (higher-degree fits of noisy increments are
#: ill-conditioned)
MAX_DEGREE = 4
#: names of the Newton-law terms, in the order of ``NewtonDistance.term_rms``
NEWTON_TERMS = ("dv_dt", "convective_v", "convective_u", "diffusive_u", "force")


# ------------------------------------------------------------------------------------------- power and judging

def within_tolerance(distance: float, se: float, tolerance: float, sigmas: float) -> bool:
    """True when ``distance + sigmas * se <= tolerance``: the distance is below the tolerance with confidence, not
    merely hidden in noise (a point too noisy to tell is not within)."""
    return bool(math.isfinite(distance) and math.isfinite(se) and distance + sigmas * se <= tolerance)


def _reach(se: float, sigmas: float, power: float, threshold: float) -> float:
    """The true value an estimate ~ Normal(value, se^2) must reach to exceed ``threshold + sigmas * se`` with
    probability ``power``: threshold + (sigmas + z_power) se."""
    if not 0.0 < power < 1.0:
        raise InvalidArgument(f"power: {power!r}; give a probability strictly between 0 and 1, e.g. 0.8")
    return threshold + (sigmas + NormalDist().inv_cdf(power)) * se


def detectable_shift(signed: np.ndarray, sensitivity: np.ndarray, se: np.ndarray, *, sigmas: float = 2.0,
                     power: float = 0.8, threshold: float = 0.0) -> float:
    r"""Smallest :math:`|\epsilon|` such that some component :math:`\alpha` of a measure, estimated as
    :math:`r_\alpha + \epsilon s_\alpha` with standard error :math:`\sigma_\alpha`, exceeds
    :math:`T + k\sigma_\alpha` in absolute value with probability ``power`` (first order, normal errors):

    .. math:: \epsilon^* = \min_\alpha \frac{\max\big(T + (k + z_{power})\sigma_\alpha - |r_\alpha|, 0\big)}
              {|s_\alpha|}

    (:math:`\epsilon` takes the sign that moves :math:`r_\alpha` away from 0; inf when no component is
    sensitive). ``signed`` are the unplanted values :math:`r_\alpha` (relative residuals), ``sensitivity`` their
    derivatives :math:`s_\alpha` with respect to the planted :math:`\epsilon`.

    >>> round(detectable_shift(np.array([0.0, 0.05]), np.array([0.5, 0.0]), np.array([0.01, 0.01]), sigmas=2.0,
    ...                        power=0.5, threshold=0.1), 12)   # (0.1 + 2 x 0.01) / 0.5
    0.24
    """
    r, s, e = (np.asarray(a, dtype=float) for a in (signed, sensitivity, se))
    need = np.maximum(_reach(1.0, sigmas, power, 0.0) * e + threshold - np.abs(r), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(np.abs(s) > 0, need / np.abs(s), np.inf)
    eps = eps[np.isfinite(eps) | np.isinf(eps)]
    return float(np.min(eps)) if eps.size else float("inf")


# ------------------------------------------------------------------------------------------------ weak forms

def _smallest(hit: Callable[[float], bool], sign: float | None) -> float:
    """Smallest |eps| (over the signs allowed) for which ``hit(eps)`` holds: the first crossing on a log grid
    1e-6 .. 1e6, refined by bisection (the criteria here grow with |eps| beyond their first crossing); inf if none."""
    best = float("inf")
    grid = np.logspace(-6, 6, 121)
    for sg in ((1.0, -1.0) if sign is None else (float(np.sign(sign)),)):
        i = next((j for j, e in enumerate(grid) if hit(sg * e)), None)
        if i is None:
            continue
        lo, hi = (grid[i - 1] if i else 0.0), grid[i]
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if hit(sg * mid) else (mid, hi)
        best = min(best, hi)
    return best


@dataclass(frozen=True, eq=False)
class WeakFormDistance:
    """A weak-form distance: ``distance`` = max over test functions of ``relative``, its standard error ``se``
    (of the worst test function), and per test function (graded multi-indices, :func:`exponents`) the signed
    relative residual ``signed`` = mean(r)/S, its ``relative_se``, and ``sensitivity[plant]``: the derivative of
    ``signed`` with respect to a planted relative error epsilon in one model term at epsilon = 0+ (the plants each
    measure names in the module docstring). Counts: members, anchors, window (steps per anchor: 2 window + 1),
    test functions. The per-member residuals and terms are kept (not in the repr) so that :meth:`at` can evaluate
    a plant exactly."""

    distance: float
    se: float
    worst: int
    signed: np.ndarray
    relative_se: np.ndarray
    sensitivity: Mapping[str, np.ndarray]
    n_members: int
    n_anchors: int
    window: int
    n_test_functions: int
    _r: np.ndarray = field(repr=False)  # (N, M) per-member residual, averaged over the (anchor, step) pairs
    _S: np.ndarray = field(repr=False)  # (M,) the scale S
    _plants: Mapping[str, tuple[float, np.ndarray, np.ndarray]] = field(repr=False)  # coef, term (N, M), |term| (M)

    @property
    def relative(self) -> np.ndarray:
        """|mean(r)|/S per test function."""
        return np.abs(self.signed)

    def _plant(self, plant: str) -> tuple[float, np.ndarray, np.ndarray]:
        if plant not in self._plants:
            raise InvalidArgument(f"plant: {plant!r}; this measure knows {sorted(self._plants)}")
        return self._plants[plant]

    def at(self, plant: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """The signed relative residuals and their standard errors per test function that this ensemble would show
        with the model term ``plant`` scaled by (1 + eps): exact for these members (the residual gains
        coef x eps x term at every member, the term's share of S scales by |1 + eps|)."""
        coef, term, size = self._plant(plant)
        r = self._r + (coef * eps) * term
        S = self._S + (abs(1.0 + eps) - 1.0) * size
        return r.mean(axis=0) / S, r.std(axis=0, ddof=1) / math.sqrt(r.shape[0]) / S

    def detectable(self, plant: str, *, sigmas: float = 2.0, power: float = 0.8, threshold: float = 0.0,
                   sign: float | None = None) -> float:
        """Smallest planted relative error |eps| in the model term ``plant`` (a key of ``sensitivity``) that this
        measure, at this size, reports as ``distance - sigmas * se > threshold`` with probability ``power``: some
        test function reaches |signed| >= threshold + (sigmas + z_power) se under :meth:`at` (normal errors).
        ``sign``: +1 or -1 to allow one direction only (default: either). The unplanted value is itself an
        estimate: it is taken one standard error to the side the plant must move it away from (conservative: the
        power holds if this ensemble's residual is one SE luckier than the truth). 0 when the unplanted ensemble is
        already there, inf when no eps reaches it."""
        self._plant(plant)
        c = _reach(1.0, sigmas, power, 0.0)

        def hit(eps: float) -> bool:
            sg, se = self.at(plant, eps)
            v = sg - np.sign(sg - self.signed) * self.relative_se
            return bool(np.any((np.abs(v) >= threshold + c * se) & (np.sign(v) == np.sign(sg))))
        return 0.0 if hit(0.0) else _smallest(hit, sign)


def _window(t: int, w: int) -> range:
    return range(t - w, t + w + 1)


def _window_steps(q: np.ndarray, anchors: Sequence[int], window: int
                  ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(s, mu, sd) for every step s of every anchor's window, mu and sd the ensemble's mean and standard deviations
    at the anchor (the test functions' standardisation)."""
    for t in anchors:
        mu, sd = q[t].mean(axis=0), q[t].std(axis=0)
        for s in _window(t, window):
            yield s, mu, sd


def _check(ens: Ensemble, gamma: float, batch_size: int, anchors: Sequence[int], window: int,
           min_window: int = 0) -> tuple[int, ...]:
    if not isinstance(ens, Ensemble):
        raise InvalidArgument(f"ens: expected an Ensemble, got {type(ens).__name__}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < min_window:
        raise InvalidArgument(f"window: {window!r}; give an integer >= {min_window}"
                              + (" (the time derivative of v needs a window of steps)" if min_window else ""))
    if not (isinstance(gamma, (int, float, np.floating, np.integer)) and math.isfinite(gamma) and gamma > 0):
        raise InvalidArgument(f"gamma: {gamma!r}; give a finite step size > 0")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidArgument(f"batch_size: {batch_size!r}; give an integer >= 1")
    a = tuple(int(t) for t in anchors)
    lo, hi = window + 1, ens.n_steps - window - 1
    if not a or any(not lo <= t <= hi for t in a):
        raise InvalidArgument(f"anchors: {list(anchors)}; each anchor must lie in [window + 1, n_steps - window - 1]"
                              f" = [{lo}, {hi}] (the measures use the steps t - window - 1 .. t + window + 1)")
    return a


def _weak(r_sum: Any, scale_sums: Sequence[Any], count: int, n_anchors: int, window: int,
          plants: Mapping[str, tuple[float, Any, Any]]) -> WeakFormDistance:
    """Assemble a weak-form distance from per-member sums over ``count`` (anchor, step) pairs: of the residual, of
    the sizes of its terms (S = the sum over terms of their mean size) and, per plant, (coef, term sum, |term| sum):
    the residual gains coef x eps x term and S gains eps x mean |term| when the term is scaled by 1 + eps."""
    r = r_sum / count
    N = r.shape[0]
    R = r.mean(axis=0)
    se = r.std(axis=0, ddof=1) / math.sqrt(N)
    S = sum((s / count).mean(axis=0) for s in scale_sums)
    rel = np.abs(R) / S
    k = int(np.argmax(rel))
    kept = {p: (c, t / count, (a / count).mean(axis=0)) for p, (c, t, a) in plants.items()}
    # d/d eps of (R + c eps T)/(S + eps A) at eps = 0 (from above: the term's share of S grows by |1 + eps| - 1)
    return WeakFormDistance(distance=float(rel[k]), se=float(se[k] / S[k]), worst=k, signed=R / S,
                            relative_se=se / S,
                            sensitivity={p: (c * t.mean(axis=0) - R / S * a) / S for p, (c, t, a) in kept.items()},
                            n_members=N, n_anchors=n_anchors, window=window, n_test_functions=int(R.size),
                            _r=r, _S=S, _plants=kept)


def fokker_planck_distance(ens: Ensemble, *, gamma: float, batch_size: int, anchors: Sequence[int],
                           window: int = 0) -> WeakFormDistance:
    """Weak-form Fokker-Planck distance (module docstring) with the model diffusion gamma^2 Sigma/(2B), per member
    averaged over the steps ``t - window .. t + window`` of every anchor t. Plants: ``"diffusion"``
    (D -> (1 + eps) D) and ``"drift"`` (grad U -> (1 + eps) grad U)."""
    anchors = _check(ens, gamma, batch_size, anchors, window)
    q = ens.q
    K = q.shape[2]
    E = exponents(K, 2)
    # per-member sums over the (anchor, step) pairs, accumulated in place
    r_sum, s_drift, s_diff, t_drift, t_diff = np.zeros((5, q.shape[1], len(E)))
    count = 0
    for s, mu, sd in _window_steps(q, anchors, window):
        qs, q1 = q[s], q[s + 1]
        D = gamma ** 2 * ens.grad_cov(qs) / (2.0 * batch_size)
        v0, (drift,), (diff,) = hermite_terms(qs, mu, sd, E, [-gamma * ens.grad_loss(qs)], [D])
        v1, _, _ = hermite_terms(q1, mu, sd, E)
        r_sum += v1 - v0
        r_sum -= drift
        r_sum -= diff
        s_drift += np.abs(drift)
        s_diff += np.abs(diff)
        t_drift += drift
        t_diff += diff
        count += 1
    # r = dphi - drift - diff: a plant (1 + eps) on a model term moves r by -eps term
    return _weak(r_sum, [s_drift, s_diff], count, len(anchors), window,
                 {"diffusion": (-1.0, t_diff, s_diff), "drift": (-1.0, t_drift, s_drift)})


def continuity_distance(ens: Ensemble, *, gamma: float, batch_size: int, anchors: Sequence[int],
                        window: int = 0) -> WeakFormDistance:
    """Weak-form continuity with the model's current velocity gamma grad F (module docstring); needs
    ``ens.grad_free_energy``. Plant: ``"free_energy"`` (F -> (1 + eps) F)."""
    anchors = _check(ens, gamma, batch_size, anchors, window)
    if ens.grad_free_energy is None:
        raise InvalidArgument("ens.grad_free_energy: None; continuity compares the data with the model's current "
                              "velocity gamma grad F, so the ensemble must carry the model free energy's gradient")
    q = ens.q
    E = exponents(q.shape[2], 2)
    r_sum, s_flow, s_diff, t_flow = np.zeros((4, q.shape[1], len(E)))
    count = 0
    for s, mu, sd in _window_steps(q, anchors, window):
        qs = q[s]
        D = gamma ** 2 * ens.grad_cov(qs) / (2.0 * batch_size)
        _, (flow,), (diff,) = hermite_terms(qs, mu, sd, E, [gamma * ens.grad_free_energy(qs, s)], [D])
        after, _, _ = hermite_terms(q[s + 1], mu, sd, E)
        before, _, _ = hermite_terms(q[s - 1], mu, sd, E)
        r_sum += 0.5 * (after - before)
        r_sum -= flow
        s_flow += np.abs(flow)
        s_diff += np.abs(diff)
        t_flow += flow
        count += 1
    return _weak(r_sum, [s_flow, s_diff], count, len(anchors), window, {"free_energy": (-1.0, t_flow, s_flow)})


def weak_form_bytes(K: int, n_members: int) -> int:
    """Bytes the weak-form measures hold at their peak: about fourteen (N, M) arrays of test-function terms,
    M = C(K + 2, 2), and three (N, K, K) diffusion arrays."""
    return 8 * n_members * (14 * math.comb(K + 2, 2) + 3 * K * K)


# ------------------------------------------------------------------------------------- Nelson's drift fits

@dataclass(frozen=True)
class _AnchorDesign:
    r"""Everything about anchor t that does not depend on which members are used: the basis
    :math:`z^\alpha` at every member and window step (z standardised once, by the full ensemble at t: the span of
    polynomials of total degree <= d is invariant under affine maps, so fitted values do not depend on it), the
    one-step increments, and the derivatives of the basis at the anchor."""

    w: int
    base_t: np.ndarray  # (N, nb) basis at the anchor
    # per-member sums over the window (s - t = tau) of x x^T, tau x x^T, tau^2 x x^T and of x dq^T, tau x dq^T
    # (x the basis at q_s, dq the forward or backward increment): a fit on any multiset of members is then a
    # sum of these over the members, O(N nb^2), whatever the window length
    gram: np.ndarray  # (N, 3, nb, nb)
    rhs_fwd: np.ndarray  # (N, 2, nb, K)
    rhs_bwd: np.ndarray  # (N, 2, nb, K)
    d1: np.ndarray  # (K, N, nb) d/dq_j of the basis at t
    lap: np.ndarray  # (N, nb) Laplacian (in q) of the basis at t
    grad_loss: np.ndarray  # (N, K) grad U at t
    loop_base: np.ndarray  # (L, nb) basis on the one-sigma ellipse
    loop_tangent: np.ndarray  # (L, K) dq/dtheta on the ellipse

    @staticmethod
    def make(q: np.ndarray, t: int, w: int, E: np.ndarray, ens: Ensemble) -> "_AnchorDesign":
        qt = q[t]
        N, K = qt.shape
        mu, sd = qt.mean(axis=0), qt.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        steps = list(_window(t, w))
        tau = np.array([float(s - t) for s in steps])
        X = np.stack([monomials((q[s] - mu) / sd, E, [0] * K) for s in steps], axis=1)  # (N, S, nb)
        Xt = X.transpose(0, 2, 1)
        # batched matmuls over members: sums over the window of tau^p x x^T and tau^p x dq^T
        gram = np.stack([Xt @ (X * (tau ** p)[None, :, None]) for p in range(3)], axis=1)
        fwd = np.stack([q[s + 1] - q[s] for s in steps], axis=1)  # (N, S, K)
        bwd = np.stack([q[s] - q[s - 1] for s in steps], axis=1)
        rhs_f = np.stack([Xt @ (fwd * (tau ** p)[None, :, None]) for p in range(2)], axis=1)
        rhs_b = np.stack([Xt @ (bwd * (tau ** p)[None, :, None]) for p in range(2)], axis=1)
        z = (qt - mu) / sd
        d1 = np.stack([monomials(z, E, unit(K, j)) / sd[j] for j in range(K)])
        lap = sum(monomials(z, E, unit(K, j, j)) / sd[j] ** 2 for j in range(K))
        if K >= 2:  # the one-sigma ellipse of the first two parameters (the others at their mean)
            L = np.linalg.cholesky(np.cov(qt.T)[:2, :2])
            th = np.linspace(0.0, 2 * np.pi, 257)[:-1]
            pts = np.tile(mu, (len(th), 1))
            pts[:, :2] += np.stack([np.cos(th), np.sin(th)], axis=1) @ L.T
            tang = np.zeros((len(th), K))
            tang[:, :2] = np.stack([-np.sin(th), np.cos(th)], axis=1) @ L.T
            loop_base = monomials((pts - mu) / sd, E, [0] * K)
        else:
            loop_base, tang = np.zeros((0, len(E))), np.zeros((0, K))
        return _AnchorDesign(w=w, base_t=monomials((qt - mu) / sd, E, [0] * K), gram=gram, rhs_fwd=rhs_f,
                             rhs_bwd=rhs_b, d1=d1, lap=lap, grad_loss=ens.grad_loss(qt), loop_base=loop_base,
                             loop_tangent=tang)

    def fit(self, rows: np.ndarray, backward: bool) -> tuple[np.ndarray, np.ndarray]:
        """Pooled least squares over the window of increments on z^alpha and z^alpha (s - t) for the members
        ``rows``: coefficients (nb, K) of the drift at t and of its time derivative."""
        # a resample repeats members: weight each member by its multiplicity (one product, no copies)
        c = np.bincount(rows, minlength=self.gram.shape[0]).astype(float)
        rhs = self.rhs_bwd if backward else self.rhs_fwd
        G = (c @ self.gram.reshape(len(c), -1)).reshape(self.gram.shape[1:])
        R = (c @ rhs.reshape(len(c), -1)).reshape(rhs.shape[1:])
        nb = G.shape[1]
        A = np.block([[G[0], G[1]], [G[1], G[2]]])
        C = np.linalg.lstsq(A, np.concatenate([R[0], R[1]]), rcond=None)[0]
        return C[:nb], C[nb:]


def _halves(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two halves of a (re)sample for cross-fitting, split by member (even and odd member index): a member the
    bootstrap draws several times stays in one half, so the halves' fit noise is independent, as it is for the
    whole ensemble (idx = 0..N-1, where these are idx[0::2] and idx[1::2]). Measured over 40 independent
    ensembles of a Nelson ground state, the bootstrap SE of the Newton distance is then 1.11x their spread; split
    by position in the resample (a member in both halves) it was 0.79x, an underestimate."""
    return idx[idx % 2 == 0], idx[idx % 2 == 1]


def _nelson_at(d: _AnchorDesign, idx: np.ndarray, nu: float, gamma: float, full: bool = False) -> dict[str, Any]:
    r"""Newton-law terms and circulation at an anchor for the members ``idx`` (a bootstrap resample or all).

    Mean squares are *cross-fitted*: the drifts are fitted on two disjoint halves A, B of ``idx`` and
    :math:`\overline{|\rho|^2}` is estimated by :math:`\overline{\rho_A\cdot\rho_B}` over all of ``idx``;
    the fit noise of the halves is independent, so the estimate has no positive noise floor (it is clipped at 0
    when noise makes it negative). The same for the mean square of every term. ``force_cross`` (``full`` only:
    the whole ensemble, not the resamples) is the cross-fitted :math:`\overline{\rho\cdot\gamma\nabla U}`
    (unclipped), which the power of a planted potential needs."""
    halves = _halves(idx)
    base_t = d.base_t[idx]
    d1 = d.d1[:, idx]  # (K, n, nb)
    lap = d.lap[idx]
    per_half = []
    circ = 0.0
    for h in halves:
        (cb, cdb), (cbs, cdbs) = d.fit(h, False), d.fit(h, True)
        cv, cu, cdv = 0.5 * (cb + cbs), 0.5 * (cb - cbs), 0.5 * (cdb + cdbs)
        v, u, dvdt = base_t @ cv, base_t @ cu, base_t @ cdv
        vJ = np.einsum("jnm,mo->noj", d1, cv)  # d v_o / d q_j
        uJ = np.einsum("jnm,mo->noj", d1, cu)
        conv_v = np.einsum("noj,nj->no", vJ, v)
        conv_u = np.einsum("noj,nj->no", uJ, u)
        lap_u = nu * (lap @ cu)
        lhs = dvdt + conv_v - conv_u - lap_u
        force = gamma * d.grad_loss[idx]
        per_half.append((lhs + force, [dvdt, conv_v, conv_u, lap_u, force]))
        if len(d.loop_base):  # v is linear in the fit: the mean of the halves' circulations is unbiased
            vv = d.loop_base @ cv
            circ += 0.5 * float(np.sum(vv * d.loop_tangent) * (2 * np.pi / len(vv)))
    (rA, tA), (rB, tB) = per_half

    def cross(x: np.ndarray, y: np.ndarray) -> float:
        return max(float(np.mean(np.sum(x * y, axis=1))), 0.0)

    fc = 0.5 * float(np.mean(np.sum(rA * tB[4] + rB * tA[4], axis=1))) if full else 0.0
    return {"rho_sq": cross(rA, rB), "term_sq": [cross(x, y) for x, y in zip(tA, tB)], "circulation": circ,
            "force_cross": fc}


@dataclass(frozen=True, eq=False)
class NewtonDistance:
    """The stochastic Newton law with V = U: ``distance`` = rms(rho) / sum of the terms' rms (cross-fitted, over
    the anchors), its bootstrap ``se``; ``rho_rms``, ``term_rms`` (dict over :data:`NEWTON_TERMS`) and
    ``force_cross`` (the cross-fitted mean of rho . gamma grad U) on the whole ensemble, for the power."""

    distance: float
    se: float
    rho_rms: float
    term_rms: Mapping[str, float]
    force_cross: float

    def at(self, eps: float) -> float:
        """The distance this ensemble would show with the potential planted as V -> (1 + eps) V: rho gains
        eps gamma grad U (so its mean square gains 2 eps force_cross + eps^2 rms(force)^2) and the force term
        scales by |1 + eps|; the other terms are unchanged."""
        f2 = self.term_rms["force"] ** 2
        r2 = max(self.rho_rms ** 2 + 2 * eps * self.force_cross + eps * eps * f2, 0.0)
        scale = sum(v for k, v in self.term_rms.items() if k != "force") + abs(1 + eps) * math.sqrt(f2)
        return math.sqrt(r2) / scale if scale > 0 else float("nan")

    def detectable(self, plant: str = "potential", *, sigmas: float = 2.0, power: float = 0.8,
                   threshold: float = 0.0, sign: float | None = None) -> float:
        """Smallest |eps| of a planted potential V -> (1 + eps) V for which the distance (:meth:`at`) reaches
        threshold + (sigmas + z_power) se, i.e. is reported beyond ``threshold`` with probability ``power``
        (same SE assumed), with the unplanted distance taken one SE less favourable (conservative, as
        :meth:`WeakFormDistance.detectable`). ``sign``: +1 or -1 for one direction only (a weaker potential,
        eps < 0, shrinks the scale too and is often the easier one to see). 0 when the unplanted distance is
        already there, inf when no eps reaches it."""
        if plant != "potential":
            raise InvalidArgument(f"plant: {plant!r}; the Newton law's plant is 'potential' (V -> (1 + eps) V)")
        target = _reach(self.se, sigmas, power, threshold)
        if not math.isfinite(target):
            return float("nan")

        def hit(eps: float) -> bool:  # conservative as for the weak forms: the baseline one SE less favourable
            return self.at(eps) >= target + (self.se if eps else 0.0)
        return 0.0 if hit(0.0) else _smallest(hit, sign)


@dataclass(frozen=True, eq=False)
class CirculationQuanta:
    """Circulation of v around the one-sigma ellipse in quanta 2 pi hbar gamma: ``quanta`` (the largest over the
    anchors, of the mean of the two cross-fit halves), its bootstrap ``se``; ``per_anchor`` signed values.
    A planted rotation of n quanta moves ``quanta`` by |n|, so :meth:`detectable` is in quanta."""

    quanta: float
    se: float
    per_anchor: tuple[float, ...]

    def detectable(self, plant: str = "rotation", *, sigmas: float = 2.0, power: float = 0.8,
                   threshold: float = 0.0) -> float:
        """Smallest planted circulation (in quanta) reported beyond ``threshold`` with probability ``power``, the
        unplanted value taken one SE lower (conservative, as :meth:`WeakFormDistance.detectable`)."""
        if plant != "rotation":
            raise InvalidArgument(f"plant: {plant!r}; the circulation's plant is 'rotation' (quanta)")
        reach = _reach(self.se, sigmas, power, threshold)
        return 0.0 if self.quanta >= reach else reach - self.quanta + self.se


@dataclass(frozen=True, eq=False)
class NelsonDistances:
    """Madelung and Schrodinger measures of one ensemble (module docstring): the noise strength ``nu`` and the
    relative eigenvalue spread ``d_spread`` of D; ``osmotic`` (a :class:`WeakFormDistance`, plant ``"nu"``);
    ``newton`` (:class:`NewtonDistance`); ``circulation`` (:class:`CirculationQuanta`, None when not asked for).
    Counts: members, anchors, window, polynomial ``degree`` and ``n_basis`` = C(K + degree, degree), ``n_boot``."""

    nu: float
    d_spread: float
    osmotic: WeakFormDistance
    newton: NewtonDistance
    circulation: CirculationQuanta | None
    n_members: int
    n_anchors: int
    window: int
    degree: int
    n_basis: int
    n_boot: int
    boot: np.ndarray = field(repr=False)  # (n_boot, 2): Newton distance and circulation quanta per resample

    @property
    def madelung_distance(self) -> float:
        """max(osmotic, Newton): the osmotic part tests nu only (module docstring), the Newton part the dynamics."""
        return max(self.osmotic.distance, self.newton.distance)


def nelson_distances(ens: Ensemble, *, gamma: float, batch_size: int, anchors: Sequence[int], window: int = 4,
                     degree: int = 2, n_boot: int = 16, rng: np.random.Generator, circulation: bool = True
                     ) -> NelsonDistances:
    """Osmotic, stochastic-Newton (V = U) and circulation measures of the Madelung/Schrodinger descriptions
    (module docstring), with standard errors (analytic for osmotic, ``n_boot`` bootstrap resamples of members
    drawn from ``rng`` for the others). Each half of the ensemble must hold at least as many members as the
    C(K + degree, degree) basis functions."""
    anchors = _check(ens, gamma, batch_size, anchors, window, min_window=1)
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or not 1 <= degree <= MAX_DEGREE:
        raise InvalidArgument(f"degree: {degree!r}; give an integer in [1, {MAX_DEGREE}] (higher-degree fits of "
                              "noisy increments are ill-conditioned)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise InvalidArgument(f"n_boot: {n_boot!r}; give an integer >= 2 (the bootstrap SE needs two resamples)")
    q = ens.q
    N, K = q.shape[1], q.shape[2]
    nb = math.comb(K + degree, degree)
    if N < 2 * nb:
        raise InvalidArgument(f"ens: {N} members are too few for the Nelson fits (K = {K}, {nb} basis functions of "
                              f"degree <= {degree}); each half needs at least {nb}: use >= {2 * nb} members")
    E = exponents(K, degree)
    # nu: the theory's scalar noise strength, ensemble mean of tr D / K over the anchors; d_spread: the relative
    # spread of the eigenvalues of D(q) over members and anchors (0 for Nelson's scalar, uniform nu)
    eig = []
    for t in anchors:
        D = gamma ** 2 * ens.grad_cov(q[t]) / (2.0 * batch_size)
        eig.append(np.linalg.eigvalsh(D))
    eig_a = np.concatenate(eig)
    nu = float(np.mean(eig_a))
    d_spread = float(np.std(eig_a) / nu) if nu > 0 else float("nan")

    # osmotic consistency, weak form with the test functions' gradients, averaged over each window per member
    Et = exponents(K, 2)
    o_sum, s_sum, t_lap = np.zeros((3, N, len(Et)))
    count = 0
    for s, mu, sd in _window_steps(q, anchors, window):
        qs = q[s]
        half = 0.5 * ((q[s + 1] - qs) - (qs - q[s - 1]))
        _, (du,), (lap,) = hermite_terms(qs, mu, sd, Et, [half], [None])
        nu_lap = nu * lap
        o_sum += du
        o_sum += nu_lap
        s_sum += 2 * nu * np.abs(lap)
        t_lap += nu_lap
        count += 1
    # o = du + nu lap: a plant nu -> (1 + eps) nu moves o by eps nu lap, and S = 2 nu |lap| scales whole
    osm = _weak(o_sum, [s_sum], count, len(anchors), window, {"nu": (1.0, t_lap, s_sum)})

    designs = [_AnchorDesign.make(q, t, window, E, ens) for t in anchors]
    hbar = 2 * nu / gamma

    def quanta_of(c: float) -> float:  # no noise (nu = 0): no quantum to count in
        return c / (2 * math.pi * hbar * gamma) if hbar > 0 else float("nan")

    def stats(idx: np.ndarray, full: bool = False) -> Any:
        rho = 0.0
        terms = np.zeros(5)
        circ = 0.0
        fcross = 0.0
        per_anchor = []
        for d in designs:
            r = _nelson_at(d, idx, nu, gamma, full)
            rho += r["rho_sq"]
            terms += np.array(r["term_sq"])
            circ = max(circ, abs(r["circulation"]))
            fcross += r["force_cross"]
            per_anchor.append(quanta_of(r["circulation"]))
        n_a = len(anchors)
        scale = float(np.sum(np.sqrt(terms / n_a)))
        newton = math.sqrt(rho / n_a) / scale if scale > 0 else float("nan")
        quanta = quanta_of(circ) if circulation else 0.0
        if full:
            return newton, quanta, math.sqrt(rho / n_a), np.sqrt(terms / n_a), fcross / n_a, per_anchor
        return newton, quanta

    newton, quanta, rho_rms, term_rms, fcross, per_anchor = stats(np.arange(N), full=True)
    boots = np.array([stats(rng.integers(0, N, N)) for _ in range(n_boot)])
    nt = NewtonDistance(distance=newton, se=float(np.std(boots[:, 0], ddof=1)), rho_rms=rho_rms,
                        term_rms=dict(zip(NEWTON_TERMS, (float(x) for x in term_rms))), force_cross=fcross)
    circ = CirculationQuanta(quanta=quanta, se=float(np.std(boots[:, 1], ddof=1)),
                             per_anchor=tuple(float(x) for x in per_anchor)) if circulation else None
    return NelsonDistances(nu=nu, d_spread=d_spread, osmotic=osm, newton=nt, circulation=circ, n_members=N,
                           n_anchors=len(anchors), window=window, degree=degree, n_basis=nb, n_boot=n_boot,
                           boot=boots)


def nelson_bytes(K: int, degree: int, n_members: int, n_anchors: int, window: int = 6) -> int:
    """Bytes held by the Nelson fits (:class:`_AnchorDesign`): for each anchor the per-member window sums
    (N, 3, nb, nb) and 2 x (N, 2, nb, K) and the basis derivatives (K + 1) x (N, nb), nb = C(K + d, d); plus the
    temporaries of one anchor's window: the basis at 2 window + 1 steps and one Gram product (N, nb, nb)."""
    nb = math.comb(K + degree, degree)
    per_anchor = n_members * (3 * nb * nb + 4 * nb * K + (K + 1) * nb)
    temp = n_members * ((2 * window + 1) * (nb + 2 * K) + nb * nb)
    return 8 * (n_anchors * per_anchor + temp)
