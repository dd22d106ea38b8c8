r"""Circulation of an ensemble's current velocity around loops that enclose a hole of its density, in quanta
:math:`2\pi\hbar\gamma` (the Schrodinger description's quantisation :math:`\oint v\cdot dq = 2\pi\hbar\gamma n`,
docs/theory.md section 4).

**What it measures.** For an ensemble of trajectories ``q[s, i, :2]`` around a centre c (polar coordinates
:math:`(r, \theta)` of :math:`x = q - c`), the current velocity (Nelson: :math:`v = (b + b_*)/2`) is estimated from
the central increment :math:`\tfrac12(q_{s+1} - q_{s-1})`, whose conditional mean given :math:`q_s` is
:math:`v(q_s)` with no first-order bias in the step (the :math:`\Delta/2` terms of the forward and backward drifts
cancel by the osmotic equation); its moment about c, the sample
:math:`\ell_{is} = x_s\times\tfrac12(q_{s+1}-q_{s-1})` (the 2-D cross product), has mean :math:`rv_\theta`.
A least-squares fit of :math:`\ell` on the basis :math:`P_a(\rho)\times\{1, \cos l\theta, \sin l\theta\}`,
:math:`a \le d`, :math:`l \le L`, :math:`\rho = (r-\bar r)/s_r`, pooled over the steps :math:`|s - t| \le w` of
each anchor t, gives the angle-average :math:`\overline{rv_\theta}(r)` (the coefficients of the constant
harmonic; :math:`rv_\theta` is constant in r for every irrotational flow around c, so the fit represents a vortex
exactly), and

.. math:: \Gamma(r) = \oint_{|q-c|=r} v\cdot dq = \int_0^{2\pi} v_\theta\,r\,d\theta
          = 2\pi\,\overline{rv_\theta}(r),\qquad n(r) = \frac{\Gamma(r)}{2\pi\hbar\gamma}.

Loops are circles about c at the ``quantiles`` of r at each anchor (inside the bulk of the ensemble, where the
fit is supported). The *quantisation distance* is :math:`|\bar n - n^*|`, :math:`\bar n` the mean of n(r) over
the loops and anchors and :math:`n^*` the integer nearest to it: 0 when the loops carry an integer number of quanta.
The *loop spread* :math:`\max|n(r) - \bar n|` is reported beside it: it is 0 for a flow that is irrotational in
the annulus (the same circulation on every loop) and grows with a curl there.

**What it can and cannot tell.** It tells a quantised circulation (the same integer on every loop) from a
non-quantised one (Wallstrom's flows: the same non-integer on every loop) and from a rotational flow whose
circulation changes from loop to loop (a curl in the annulus). It *cannot* tell quantisation from its absence when
the circulation is 0: n* = 0 holds for every irrotational flow whatever the theory says, so a zero winding is
reported as such (``winding == 0``) and is no evidence for quantisation. The centre must lie in a hole of the
density for a non-zero winding to be possible: ``inside`` is the fraction of members inside the smallest loop
(about the loop quantile, by construction) and ``hole`` the density within a quarter of the median radius of c
relative to the density on the median circle (fractions of members per area), which is small only when the
density has a hole at c (about 2 for a Gaussian centred at c, 0.2 for the vortex state, 0.6 for Wallstrom's
flow with alpha = 1/2). The central increment has no first-order bias in the step; what remains of the
discretisation is measured on the controls.

**Standard errors.** Bootstrap over whole members (each member's fit contributions summed over the window, so a
resample is a weighted sum of per-member Gram matrices).

>>> from nnqg.numerics._control_diffusions import winding_state
>>> ens = winding_state(np.random.default_rng(0), n_members=2000, n_steps=20, gamma=0.1, k=1.0, hbar=0.2,
...                     alpha=1.0, substeps=8)
>>> c = loop_circulation(ens.q, anchors=[10], window=4, gamma=0.1, hbar=0.2, n_boot=8,
...                      rng=np.random.default_rng(1))
>>> c.winding, bool(c.distance < 0.2)
(1, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nnqg.derivations import InvalidArgument

__all__ = ["LoopCirculation", "loop_circulation"]


@dataclass(frozen=True, eq=False)
class LoopCirculation:
    """Circulation around circles about ``centre``: per anchor and loop the radius and n(r) = Gamma/(2 pi hbar
    gamma) (``quanta``, shape (anchors, loops)) with bootstrap ``quanta_se``; ``mean_quanta`` (n-bar) and its SE;
    ``winding`` n*, the integer nearest to n-bar; ``distance`` = |n-bar - n*| with bootstrap ``se``; ``spread`` =
    max |n(r) - n-bar| with its ``spread_se``; ``inside`` and ``hole`` (module docstring); counts."""

    radii: np.ndarray
    quanta: np.ndarray
    quanta_se: np.ndarray
    mean_quanta: float
    mean_se: float
    winding: int
    distance: float
    se: float
    spread: float
    spread_se: float
    inside: float
    hole: float
    n_members: int
    n_anchors: int
    window: int
    n_basis: int
    n_boot: int


def _basis(rho: np.ndarray, th: np.ndarray, degree: int, harmonics: int) -> np.ndarray:
    """P_a(rho) x {1, cos l th, sin l th}: the first degree + 1 columns are the constant harmonic."""
    rad = np.stack([rho ** a for a in range(degree + 1)], axis=-1)
    cols = [rad]
    for l in range(1, harmonics + 1):
        cols += [rad * np.cos(l * th)[..., None], rad * np.sin(l * th)[..., None]]
    return np.concatenate(cols, axis=-1)


def loop_circulation(q: np.ndarray, *, anchors: Sequence[int], window: int, gamma: float, hbar: float,
                     centre: Sequence[float] = (0.0, 0.0), quantiles: Sequence[float] = (0.3, 0.5, 0.7),
                     degree: int = 2, harmonics: int = 2, n_boot: int = 16,
                     rng: np.random.Generator) -> LoopCirculation:
    """Circulation of the current velocity of the first two parameters around circles about ``centre``, in
    quanta 2 pi hbar gamma (module docstring)."""
    if not isinstance(q, np.ndarray) or q.ndim != 3 or q.shape[2] < 2:
        raise InvalidArgument(f"q: expected an array (n_steps + 1, N, K >= 2), got {getattr(q, 'shape', q)!r}")
    for name, v in (("gamma", gamma), ("hbar", hbar)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v > 0):
            raise InvalidArgument(f"{name}: {v!r}; give a finite number > 0")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise InvalidArgument(f"window: {window!r}; give an integer >= 1")
    n_steps = q.shape[0] - 1
    a = tuple(int(t) for t in anchors)
    if not a or any(not window + 1 <= t <= n_steps - window - 1 for t in a):
        raise InvalidArgument(f"anchors: {list(anchors)}; each must lie in [window + 1, n_steps - window - 1] = "
                              f"[{window + 1}, {n_steps - window - 1}]")
    qs = sorted(float(x) for x in quantiles)
    if not qs or any(not 0.0 < x < 1.0 for x in qs):
        raise InvalidArgument(f"quantiles: {list(quantiles)}; give numbers strictly between 0 and 1")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise InvalidArgument(f"n_boot: {n_boot!r}; give an integer >= 2")
    c = np.asarray(centre, dtype=float)
    rel = q[:, :, :2] - c
    r_all = np.hypot(rel[..., 0], rel[..., 1])
    th_all = np.arctan2(rel[..., 1], rel[..., 0])
    N = q.shape[1]
    nb = (degree + 1) * (2 * harmonics + 1)
    if N < 4 * nb:
        raise InvalidArgument(f"q: {N} members are too few for the angular fit ({nb} basis functions); use >= "
                              f"{4 * nb}")
    grams, rhss, loops, lbases = [], [], [], []
    for t in a:
        rbar, sr = float(r_all[t].mean()), float(r_all[t].std()) or 1.0
        steps = np.arange(t - window, t + window + 1)
        inc = 0.5 * (rel[steps + 1] - rel[steps - 1])  # (S, N, 2)
        ell = rel[steps, :, 0] * inc[..., 1] - rel[steps, :, 1] * inc[..., 0]
        X = _basis((r_all[steps] - rbar) / sr, th_all[steps], degree, harmonics)  # (S, N, nb)
        grams.append(np.einsum("snb,snc->nbc", X, X))
        rhss.append(np.einsum("snb,sn->nb", X, ell))
        radii = np.quantile(r_all[t], qs)
        loops.append(radii)
        lbases.append(np.stack([((radii - rbar) / sr) ** p for p in range(degree + 1)], axis=1))

    def stats(wts: np.ndarray) -> np.ndarray:
        out = np.empty((len(a), len(qs)))
        for k in range(len(a)):
            G = np.tensordot(wts, grams[k], axes=1)
            R = wts @ rhss[k]
            coef = np.linalg.lstsq(G, R, rcond=None)[0]
            om0 = lbases[k] @ coef[:degree + 1]
            out[k] = om0 / (hbar * gamma)
        return out

    def summary(n: np.ndarray, ref: int | None = None) -> tuple[float, int, float, float]:
        m = float(n.mean())
        w = int(round(m)) if ref is None else ref
        return m, w, abs(m - w), float(np.max(np.abs(n - m)))

    full = stats(np.ones(N))
    mean, wind, dist, spread = summary(full)
    boots = []
    for _ in range(n_boot):
        b = stats(np.bincount(rng.integers(0, N, N), minlength=N).astype(float))
        boots.append((b, *summary(b, wind)))
    bq = np.stack([x[0] for x in boots])
    r_t = r_all[list(a)]
    med = np.median(r_t, axis=1)[:, None]
    eps = 0.25 * med
    centre_density = np.mean(r_t < eps, axis=1) / (np.pi * eps[:, 0] ** 2)
    ring_density = np.mean(np.abs(r_t - med) < eps, axis=1) / (4 * np.pi * med[:, 0] * eps[:, 0])
    return LoopCirculation(
        radii=np.array(loops), quanta=full, quanta_se=bq.std(axis=0, ddof=1), mean_quanta=mean,
        mean_se=float(np.std([x[1] for x in boots], ddof=1)), winding=wind, distance=dist,
        se=float(np.std([x[3] for x in boots], ddof=1)), spread=spread,
        spread_se=float(np.std([x[4] for x in boots], ddof=1)),
        inside=float(np.mean(r_t < np.array(loops)[:, :1])),
        hole=float(np.max(centre_density / ring_density)), n_members=N, n_anchors=len(a), window=int(window),
        n_basis=nb, n_boot=int(n_boot))
