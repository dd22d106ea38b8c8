r"""The resolution rule of the Madelung calibration (:mod:`._nelson_calibration`): the profiles' sizes, each
state's rate, the SDE step and each state's snapshot lag chosen from it, before any trajectory is simulated.

A state's rate :math:`\Omega` (:func:`state_rate`, :func:`_rate`) sets its snapshot lag, the largest multiple of
2h with :math:`\Omega\Delta \le` :data:`LAG_RESOLUTION` (:func:`resolving_lag`), and the SDE step, halved at
most :data:`MAX_STEP_HALVINGS` times until the floor lag 2h resolves the fastest state (:func:`resolving_step`,
:func:`_resolve_step`); a state still unresolved at the finest step is outside the calibrated domain (the
decision in :mod:`._nelson_calibration`). The constants' measurements are beside them."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.numerics._nelson_states import osmotic_rate

if TYPE_CHECKING:
    from ._nelson_calibration import NelsonCase


@dataclass(frozen=True)
class Profile:
    """Sizes. ``levels``: disjoint ensembles of growing size N; ``lag``: snapshot spacing Delta; ``h``: SDE step
    (Delta/h an integer); ``times``: evaluation times; ``lags``: the Delta study (empty = none) at ``lag_N``
    trajectories, time ``lag_time``, SDE step ``lag_h``."""

    levels: tuple[int, ...]
    lag: float
    h: float
    times: tuple[float, ...]
    groups: int
    test_functions: int
    lags: tuple[float, ...] = ()
    lag_N: int = 0
    lag_time: float = 0.0
    lag_h: float = 0.02
    #: each state's lag is set by :func:`resolving_lag` and the SDE step by :func:`resolving_step` (False keeps
    #: ``lag`` and ``h``: tests of the lag recheck)
    resolve_lag: bool = True


QUICK = Profile(levels=(2500, 10000, 40000), lag=0.2, h=0.01, times=(1.0,), groups=40, test_functions=4)
FULL = Profile(levels=(4000, 16000, 64000, 256000), lag=0.2, h=0.01, times=(0.8, 1.6), groups=40,
               test_functions=4, lags=(0.8, 0.4, 0.2), lag_N=400000, lag_time=1.6, lag_h=0.02)

#: snapshots j = -OFFSET..OFFSET around an evaluation time (the time derivative and the increments span +-2 lags)
OFFSET = 2
#: the resolution rule of every state's snapshot lag (:func:`resolving_lag`; closed-form states too since
#: 2026-11-26): Omega * lag <= LAG_RESOLUTION.
#: Measured 2026-11-26 (bench/madelung_lag_bias.py, 64 x 64000 trajectories, docs/madelung.md): for V = q^2
#: (Omega = 1.26) the noise-level residual noise_1 is +0.0101 +- 0.0010 (t = 0.8) and +0.0105 +- 0.0008 (t = 1.6)
#: at lag 0.2 (Omega lag = 0.25; 2.8 SE of the full profile's largest ensemble), +0.0040 / +0.0027 at lag 0.1 and
#: +0.0001 / +0.0002 at lag 0.05: the O(lag^2) bias of the Richardson-combined increments. At Omega lag <= 0.13
#: the bias is at most about 0.004 (measured at lag 0.1, Omega lag = 0.126), under one SE of the full profile's
#: N = 256000 at that lag (0.005).
LAG_RESOLUTION = 0.13
#: the SDE step is halved at most this many times for a state the floor lag 2h does not resolve (:func:`resolving_step`)
MAX_STEP_HALVINGS = 3
#: quadrature nodes of the curvature average in :func:`state_rate`
_QUADRATURE_NODES = 40


def state_rate(potential: sp.Expr, m: float, hbar: float, centre: float, width: float) -> dict[str, float]:
    r"""The fastest rate of a Gaussian state (centre :math:`q_0`, width :math:`s_0`) in V: the larger of the
    classical rate :math:`\omega_V = (E_{p_0}|V''| / m)^{1/2}` (the curvature averaged over the initial density
    :math:`N(q_0, s_0^2)`, Gauss-Hermite quadrature; a harmonic V = k q^2/2 gives :math:`\sqrt{k/m}`) and the
    quantum spreading rate :math:`\nu/s_0^2`, :math:`\nu = \hbar/(2m)` (a packet narrower than the ground state
    breathes at it). Non-finite curvature values are left out of the average.

    >>> r = state_rate(sp.Symbol("q", real=True) ** 2, 1.25, 0.75, 0.5, 0.5)
    >>> round(r["omega_V"], 4), round(r["spreading"], 4), round(r["Omega"], 4)
    (1.2649, 1.2, 1.2649)
    """
    q = next(iter(potential.free_symbols), sp.Symbol("q", real=True))
    x, w = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
    pts = centre + width * x
    curv = np.abs(np.broadcast_to(np.asarray(sp.lambdify(q, sp.diff(potential, q, 2), "numpy")(pts), dtype=float),
                                  pts.shape))
    ok = np.isfinite(curv)
    mean = float(np.sum(w[ok] * curv[ok]) / np.sum(w[ok])) if ok.any() else 0.0
    omega, spread = math.sqrt(mean / m), hbar / (2 * m) / width**2
    return {"omega_V": omega, "spreading": spread, "Omega": max(omega, spread)}


def _check_rate(omega: float) -> None:
    if not math.isfinite(omega) or omega < 0:
        raise InvalidArgument(f"state rate Omega = {omega!r}: the state's fastest rate must be a finite number >= 0 "
                              "(check the potential and the state's centre and width)")


def resolving_lag(prof: Profile, omega: float) -> tuple[Profile, dict[str, Any]]:
    r"""The resolution rule of a state's snapshot lag: the largest multiple :math:`\Delta` of 2h (so
    that :math:`\Delta/2` is a multiple of the SDE step, for the lag recheck) with :math:`\Omega\Delta \le`
    :data:`LAG_RESOLUTION`, at most the profile's lag and at least 2h; the lag study's lags scale with it. At the
    floor 2h with :math:`\Omega \cdot 2h` above the bound the state is faster than the calibration resolves
    (``unresolved``)."""
    _check_rate(omega)
    step = 2 * prof.h
    n_max = int(round(prof.lag / step))
    n = max(1, n_max if omega == 0 else min(n_max, int(math.floor(LAG_RESOLUTION / omega / step + 1e-9))))
    lag = round(n * step, 12)
    scale = lag / prof.lag
    new = replace(prof, lag=lag, lags=tuple(round(L * scale, 12) for L in prof.lags))
    return new, {"Omega": omega, "bound": LAG_RESOLUTION, "lag": lag, "profile_lag": prof.lag,
                 "unresolved": omega * lag > LAG_RESOLUTION * (1 + 1e-9)}


def resolving_step(prof: Profile, omega: float) -> tuple[Profile, dict[str, Any]]:
    r"""The SDE step of the resolution rule: the profile's h, halved (at most :data:`MAX_STEP_HALVINGS` times)
    until the floor lag 2h resolves the rate, :math:`\Omega \cdot 2h \le` :data:`LAG_RESOLUTION`; the lag study's
    step ``lag_h`` is halved with it. A state faster than the floor at the profile's h is otherwise simulated and
    tabulated (Crank-Nicolson) with a step that does not resolve it either: its residuals carry the step's bias,
    which does not move with the lag (since 2026-11-26: Morse states with Omega 8-14 FAILED at h = 0.01 and
    PASSED at h = 0.005; the rule gives 0.0025 for Omega 14.2 and 0.005 for 8.0)."""
    _check_rate(omega)
    k = 0
    while k < MAX_STEP_HALVINGS and omega * 2 * prof.h / 2**k > LAG_RESOLUTION * (1 + 1e-9):
        k += 1
    new = prof if k == 0 else replace(prof, h=prof.h / 2**k, lag_h=prof.lag_h / 2**k)
    return new, {"h": new.h, "profile_h": prof.h, "halvings": k}


def _state_profiles(prof: Profile, cases: Sequence[NelsonCase], rates: Sequence[Sequence[dict[str, float]]] | None) \
        -> tuple[list[Profile], dict[str, dict[str, Any]] | None]:
    r"""Each state's profile: its snapshot lag (and lag study) from :func:`resolving_lag` with its own rate
    (:func:`_resolve_step`: for a closed-form state :func:`state_rate`, the curvature of its potential over its
    initial Gaussian and its spreading rate; for a numerical state the larger of that and its osmotic rate
    followed over the tabulated window, the largest over the tables computed), for every state, before any
    trajectory is simulated (since 2026-11-26 for the closed-form states: before, they kept the profile's lag 0.2
    and a stiff drawn coherent state FAILED by the estimators' lag bias). ``prof.resolve_lag`` False keeps the
    profile's lag for all (tests of the lag recheck); the rule per state name is None then."""
    if not prof.resolve_lag or rates is None:
        return [prof] * len(cases), None
    profs, rules = [], {}
    for c, hist in zip(cases, rates):
        p, rule = resolving_lag(prof, max(r["Omega"] for r in hist))
        profs.append(p)
        rules[c.table.name] = {**rule, "rates": list(hist)}
    return profs, rules


def _rate(case: NelsonCase, prof: Profile) -> dict[str, float]:
    r"""The rate of a constructed state on its table. A closed-form state: :func:`state_rate` from its own
    parameters (exact: the coherent state's :math:`\omega`, the free packet's :math:`\nu/s_0^2`). A numerical state:
    the larger of that initial rate and the osmotic rate :math:`\nu\max_t I(p_t)` (Fisher information of the
    density, :func:`~nnqg.numerics._nelson_states.osmotic_rate`) followed over the tabulated steps up to
    :func:`_rate_window`: ``followed`` and its time ``followed_at``, on the table of step ``table_h``. At t = 0 it
    is the initial Gaussian's spreading rate :math:`\nu/s_0^2`; for a Gaussian at every time :math:`\nu/\sigma_t^2`.

    Why this rate (measured 2026-11-26 on the minimal Morse-wall input of issue 13, V = (1 - exp(-(q - 1)))^2,
    q0 = -0.75, s0 = 0.5, m = 1.25, hbar = 0.75, quick, seed 1). Its initial rate is 12.8 (curvature over the
    initial density), and the curvature averaged over the evolved density is largest at t = 0 (the packet slides
    into the flat part: 8.7 at t = 0.1, 0.5 at t = 1), so a curvature followed over time changes nothing. The
    calibration FAILED with SDE and Crank-Nicolson steps 0.005 (max |z| 21.4) and 0.0025 (11.3) and PASSED at
    0.00125 (3.8 at lag 0.01, 2.61 at lag 0.0025); on a finer table (0.000625) the SDE step 0.005 still FAILED
    (9.96) and 0.0025 PASSED (2.84): both steps' biases. The packet is focused (width 0.5 -> 0.19 at t = 0.2) and
    fringed (its reflected part interferes with the incoming one). Candidates, largest over t <= 1.04:

    * moments of the drift's slope :math:`b'` under :math:`p_t`: dominated by the fringes' nodes and by how the
      table resolves them (mean :math:`|b'|` 60, 174, 201 on tables of step 0.005, 0.0025, 0.00125; rms 159,
      2220, 3780): not a usable rate;
    * the drift's spread :math:`\operatorname{Var}_{p_t}(b)/\nu` (exact for Gaussians too): 74.8 on the table of
      step 0.01. It counts a smooth spreading as fast (a free packet keeps :math:`\nu/s_0^2` at every time while its
      rate falls as 1/t), and on the Morse-wall state of hamilton_jacobi (tests/property, ``MORSE_WALL``; it PASSED
      at h = 0.005) it set h = 0.00125, where the Newton-law residuals' SE grew about 35-fold (power eps 35) and the
      planted errors caught fell from 8 to 4 of 13;
    * the osmotic rate (this one): 29.6, 42.6, 81, 84.4 on tables of step 0.01, 0.005, 0.0025, 0.00125 (the
      fringes at t = 1.04 sharpen as the table resolves them). Through :func:`_resolve_step` (the rate measured
      again on the finer table) it needs :math:`h \le 0.13/(2 \cdot 84.4)`: more than :data:`MAX_STEP_HALVINGS`, so
      that state is unresolved, and reported so (INCONCLUSIVE: outside the calibrated domain). The
      two ``MORSE_WALL`` states get 37.6 (h = 0.00125) and 14.5 (h = 0.0025), both resolved."""
    tab = case.table
    rate = state_rate(case.potential, tab.m, tab.hbar, float(tab.spec["centre"]), float(tab.spec["width"]))
    if tab.spec.get("closed_form"):
        return rate
    last = min(tab.n_steps, int(math.floor(_rate_window(prof, rate["Omega"]) / tab.h + 1e-9)))
    followed, at = osmotic_rate(tab, last)
    return {**rate, "followed": followed, "followed_at": at, "table_h": tab.h,
            "Omega": max(rate["Omega"], followed)}


def _rate_window(prof: Profile, omega0: float) -> float:
    r"""The last time a state of initial rate :math:`\Omega_0` is simulated at: its lag is at most
    :math:`\min(\Delta_{profile}, \max(2h, 0.13/\Omega_0))` whatever the step rule does (a followed rate is
    at least :math:`\Omega_0`, a halved step at most h), the evaluation times reach ``OFFSET`` lags past the last
    time, the lag study ``OFFSET`` of its largest (scaled) lag past ``lag_time``."""
    lag = prof.lag if omega0 == 0 else min(prof.lag, max(2 * prof.h, LAG_RESOLUTION / omega0))
    end = max(prof.times) + OFFSET * lag
    if prof.lags:
        end = max(end, prof.lag_time + OFFSET * max(prof.lags) * lag / prof.lag)
    return end


def _resolve_step(base: Profile, cases: list[NelsonCase], tabulate: Callable[[float], list[NelsonCase]]) \
        -> tuple[Profile, dict[str, Any], list[NelsonCase], list[list[dict[str, float]]]]:
    """:func:`resolving_step` with the states' rates (:func:`_rate`) measured on the tables they are simulated
    with: the states tabulated at the profile's h give the rates and a step; when the step halves they are
    tabulated again at it and their rates measured again (a numerical state's followed rate depends on the
    table), until the step no longer halves. The rate used is the largest over the tables (so the step only
    halves: at most ``MAX_STEP_HALVINGS`` + 1 tabulations). Returns the profile, the step rule's record, the
    states on their final tables, and per state its rates on every table (one for a closed-form state: its rate
    does not depend on the table)."""
    history: list[list[dict[str, float]]] = [[] for _ in cases]
    omega, h = 0.0, base.h
    while True:
        for hist, c in zip(history, cases):
            if not (hist and c.table.spec.get("closed_form")):
                hist.append(_rate(c, base))
        omega = max([omega] + [r["Omega"] for hist in history for r in hist])
        prof, step = resolving_step(base, omega)
        if prof.h >= h * (1 - 1e-9):
            return prof, step, cases, history
        h = prof.h
        cases = tabulate(h)


def _rechecked(case: NelsonCase, lag_rule: Mapping[str, Mapping[str, Any]] | None) -> bool:
    """Is a failing lag-dependent residual of this state rechecked at half the lag? A numerical state always (its
    rate is a proxy from the initial Gaussian: the evolved state can be faster); a closed-form state only when the
    rule could not resolve it (its rate is exact: at a resolving lag a failure is an error)."""
    if not case.table.spec.get("closed_form"):
        return True
    return bool(lag_rule is not None and lag_rule[case.table.name]["unresolved"])
