r"""Claims `madelung.continuity` and `madelung.hamilton_jacobi` (PHYSICS.md section 3).

Symbolic: the Euler-Lagrange equations of the learning action (SymPy ``euler_equations``, K = 1 and K = 2)
equal the stated continuity and quantum Hamilton-Jacobi forms exactly, and under m = 1/gamma, hbar^2 = c/gamma
they are Madelung's equations. For K = 1 one more step each: the weak (integrated-by-parts) form of the stated
continuity equation with the flux of the action; and gamma times the q-gradient of the Euler-Lagrange equation
for p, written in Nelson's velocities (v = gamma F_q, u = nu (ln p)_q, nu = sqrt(gamma c)/2), equals Nelson's
stochastic Newton law dv/dt + v v' - u u' - nu u'' + gamma V' = 0.

Numeric (:func:`numeric_check`): Nelson-diffusion learning trajectories of a quantum state with mass and hbar
from the *identification* inputs (m = mass(gamma, c), hbar^2 = hbar_squared(gamma, c)) are simulated; the
equations are evaluated in the *learning* parameters gamma, c by kernels generated from the (input) action:

* continuity, weak form: d/dt E[phi_k] - E[phi_k' w(v)] = 0, w = J/p from the action's flux (w = v);
* osmotic relation, weak form: E[u phi_k] + nu E[phi_k'] = 0 (pins nu = hbar gamma / 2, i.e. hbar);
* Newton law (hamilton_jacobi only): E[phi_k (gamma d_q QHJ in Nelson variables)] = 0,

with phi_k Hermite functions, v and u from regressions of forward/backward increments
(:mod:`nnqg.numerics._nelson`), standard errors by a delete-a-group jackknife, over ensembles of growing size N.
The check passes when every residual is consistent with zero (|z| below a Bonferroni-corrected Student-t
bound) at every N, and the SE-weighted rms residual shrinks at the Monte-Carlo rate N^-1/2 (observed order
>= 1 - 0.5 in h = N^-1/2, finest value within its statistical bound: :func:`_monte_carlo_rate`); the full
profile also runs a study in the snapshot lag Delta (expected order 2) at fixed large N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from scipy import stats

from nnqg.derivations import InvalidArgument, Step, is_zero
from nnqg.derivations._madelung import MadelungSymbols, NelsonSymbols, continuity, continuity_flux, \
    derivation_steps, euler_lagrange, hermite_test_functions, identification, learning_action, \
    madelung_standard, nelson_newton, nelson_nu, qhj_gradient_nelson, quantum_hamilton_jacobi, \
    weak_continuity_identity, weak_velocity
from nnqg.numerics import ResidualKernel, compile_residual
from nnqg.numerics._nelson import DriftTable, GaussianState, JetReplicates, coherent_state, free_packet, \
    gaussian_drift, jackknife, simulate, time_derivative_of_mean

from .._convergence import Judgement
from .._model import Claim, Convergence, NumericContext, NumericResult, SymbolicResult

ASSUMPTIONS = (
    "number of neurons fixed (canonical ensemble)",
    "p > 0 on the support of the ensemble",
    "m = 1/gamma and hbar^2 = c/gamma (named parameters)",
    "c > 0 built from D, gamma and the chemical-potential scale mu",
    "numeric check: K = 1, Nelson diffusion nu = hbar gamma/2; closed-form free packet and coherent state "
    "(a user potential: numerical Schrodinger solution)",
)


def default_inputs() -> dict[str, Any]:
    """Inputs a user (or a planted error) may change: the action's coefficients (as functions of the symbols),
    the identification m(gamma, c), hbar^2(gamma, c), the potential V(q) (None = an arbitrary function for the
    symbolic part and the closed-form free packet and coherent state for the numeric part), and the numeric
    settings (learning parameters, initial states)."""
    return {
        "K_values": (1, 2),
        "kinetic_coefficient": lambda s: s.gamma / 2,
        "fisher_coefficient": lambda s: s.c / 8,
        "mass": lambda s: 1 / s.gamma,
        "hbar_squared": lambda s: s.c / s.gamma,
        "potential": None,  # a callable q-tuple -> SymPy expression, or None for a generic V(q)
        # numeric part: learning parameters (m = 1.25, hbar = 0.75, nu = 0.3 under the paper's identification)
        "gamma_value": 0.8,
        "c_value": 0.45,
        # free packet: initial width s0, centre q0, F(0, q) = p0 q; coherent state of V = k q^2/2 from rest at q0;
        # a user potential: Gaussian of width s0 at rest at q0, evolved by Crank-Nicolson
        "free_packet": {"s0": 0.4, "q0": 0.0, "p0": 0.625},
        "coherent_state": {"k": 1.0, "q0": 1.0},
        "user_state": {"s0": 0.5, "q0": 0.5},
    }


def _symbols(inputs: Mapping[str, Any], K: int) -> MadelungSymbols:
    s = MadelungSymbols.make(K)
    pot = inputs["potential"]
    if pot is not None:
        s = MadelungSymbols.make(K, potential=pot(s.q))
    return s


def _action(inputs: Mapping[str, Any], s: MadelungSymbols) -> sp.Expr:
    return learning_action(s, kinetic_coefficient=inputs["kinetic_coefficient"](s),
                           fisher_coefficient=inputs["fisher_coefficient"](s))


def _zero_or(e: sp.Expr) -> sp.Expr:
    return sp.S.Zero if is_zero(e) else sp.simplify(e)


def _symbolic(inputs: Mapping[str, Any], which: str) -> SymbolicResult:
    checks: list[tuple[str, sp.Expr]] = []
    steps: tuple = ()
    for K in inputs["K_values"]:
        s = _symbols(inputs, K)
        L = _action(inputs, s)
        el = euler_lagrange(L, s)
        sub = identification(s, mass=inputs["mass"](s), hbar_squared=inputs["hbar_squared"](s))
        cont_std, hj_std = madelung_standard(s)
        if which == "continuity":
            # delta A / delta F = -(continuity): the sign is that of the Euler-Lagrange convention
            d1 = el["F"] + continuity(s)
            d2 = continuity(s).subs(sub) - cont_std
        else:
            d1 = el["p"] - quantum_hamilton_jacobi(s)
            d2 = quantum_hamilton_jacobi(s).subs(sub) - hj_std
        checks.append((f"K={K}: Euler-Lagrange minus stated {which}", _zero_or(d1)))
        checks.append((f"K={K}: stated {which} minus Madelung form (m, hbar)", _zero_or(d2)))
        if not steps:
            steps = derivation_steps(s, L, el)
        if K == 1:
            n = NelsonSymbols.make(s)
            if which == "continuity":
                phi = sp.Function("phi", real=True)(s.q[0])
                J = continuity_flux(L, s)
                checks.append(("K=1: weak form, phi C = d_t(phi p) + d_q(phi J) - phi' J with the action's flux J",
                               _zero_or(weak_continuity_identity(s, J, phi))))
                extra = (Step("Flux of the action, J = dL/dF_q", J, sp.Symbol("J")),
                         Step("Weak form: int phi C dq = d/dt E[phi] - E[phi' w], w = J/p with F_q = v/gamma",
                              weak_velocity(J, s, n), sp.Symbol("w")))
            else:
                newton = qhj_gradient_nelson(el["p"], s, n)
                checks.append(("K=1: gamma d_q(Euler-Lagrange for p) in Nelson variables minus Nelson's Newton "
                               "law, nu = sqrt(gamma c)/2",
                               _zero_or((newton - nelson_newton(s, n)).subs(n.nu, nelson_nu(s)))))
                extra = (Step("gamma d_q of the Euler-Lagrange equation for p, with p = exp(lambda), "
                              "lambda_q = u/nu, F_q = v/gamma", newton, sp.Symbol(r"\gamma\,\partial_q Q")),
                         Step("Nelson diffusion constant (hbar gamma / 2, hbar^2 = c/gamma)", nelson_nu(s), n.nu),
                         Step("Nelson's stochastic Newton law (stated)", nelson_newton(s, n), sp.Symbol("N")))
            steps = tuple(steps) + extra
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "fisher_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
        "kinetic_factor_2": {"kinetic_coefficient": lambda s: s.gamma},
        "mass_factor_2": {"mass": lambda s: 2 / s.gamma},
        "hbar_squared_factor_2": {"hbar_squared": lambda s: 2 * s.c / s.gamma},
    }


# --------------------------------------------------------------------------------------------------------------
# Numeric part
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """Sizes of the numeric check. ``levels``: disjoint ensembles of growing size N (the Monte-Carlo study);
    ``lag``: snapshot spacing Delta; ``h``: SDE step (Delta/h an integer); ``times``: evaluation times;
    ``lags``: the Delta study (empty = none) at ``lag_N`` trajectories, time ``lag_time``, SDE step ``lag_h``."""

    levels: tuple[int, ...]
    lag: float
    h: float
    times: tuple[float, ...]
    groups: int
    test_functions: int
    degree: int
    lags: tuple[float, ...] = ()
    lag_N: int = 0
    lag_time: float = 0.0
    lag_h: float = 0.02


QUICK = Profile(levels=(2500, 10000, 40000), lag=0.1, h=0.01, times=(1.0,), groups=20, test_functions=4, degree=3)
FULL = Profile(levels=(4000, 16000, 64000, 256000), lag=0.1, h=0.01, times=(0.8, 1.6), groups=24,
               test_functions=4, degree=3, lags=(0.8, 0.4, 0.2), lag_N=400000, lag_time=3.2, lag_h=0.02)
#: snapshots j = -OFFSET..OFFSET around an evaluation time (the Newton law's dv/dt spans +-2 lags)
OFFSET = 4
#: family-wise false-alarm probability of the consistency test (all components, all levels)
FAMILY_ALPHA = 1e-3


@dataclass(frozen=True)
class Case:
    """One simulated state: its name, the potential (SymPy, in q), the initial sampler and the drift table."""

    name: str
    potential: sp.Expr
    sample0: Callable[[np.random.Generator, int], np.ndarray]
    drift: DriftTable
    nu: float
    degree: int


@dataclass(frozen=True)
class Kernels:
    phi: ResidualKernel     # phi_k(q)
    weak: ResidualKernel    # phi_k' w(v), u phi_k + nu phi_k'
    newton: ResidualKernel | None  # phi_k * (gamma d_q QHJ in Nelson variables)


def _numbers(inputs: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Learning (gamma, c) and the identification's (m, hbar) as floats; bad values name the input."""
    vals = {}
    for key in ("gamma_value", "c_value"):
        v = inputs[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InvalidArgument(f"input {key!r} must be a positive finite number, got {v!r}")
        vals[key] = float(v)
    s = MadelungSymbols.make(1)
    at = {s.gamma: vals["gamma_value"], s.c: vals["c_value"]}
    m = float(sp.sympify(inputs["mass"](s)).subs(at))
    h2 = float(sp.sympify(inputs["hbar_squared"](s)).subs(at))
    if not (m > 0 and h2 > 0 and math.isfinite(m) and math.isfinite(h2)):
        raise InvalidArgument(f"inputs 'mass'/'hbar_squared' give m = {m}, hbar^2 = {h2}: both must be positive")
    return vals["gamma_value"], vals["c_value"], m, math.sqrt(h2)


@lru_cache(maxsize=32)
def _kernels(kinetic: sp.Expr, fisher: sp.Expr, potential: sp.Expr, count: int, with_newton: bool) -> Kernels:
    """Kernels generated from the action with the given coefficients and V(q) (SymPy expressions in the symbols
    of ``MadelungSymbols.make(1)``; hashable, so the generation is done once per process)."""
    s = MadelungSymbols.make(1, potential=potential)
    n = NelsonSymbols.make(s)
    L = learning_action(s, kinetic_coefficient=kinetic, fisher_coefficient=fisher)
    nu = nelson_nu(s)
    phis = hermite_test_functions(n, count)
    w = weak_velocity(continuity_flux(L, s), s, n)
    params = [s.gamma, s.c, n.a, n.ell]
    phi_k = compile_residual([(f"phi_{k}", f) for k, f in enumerate(phis)], fields=[n.q], parameters=[n.a, n.ell],
                             name="madelung_phi")
    weak = compile_residual(
        [(f"flux_{k}", sp.diff(f, n.q) * w) for k, f in enumerate(phis)]
        + [(f"osmotic_{k}", n.u * f + nu * sp.diff(f, n.q)) for k, f in enumerate(phis)],
        fields=[n.q, n.v, n.u], parameters=params, name="madelung_weak")
    newton = None
    if with_newton:
        el = euler_lagrange(L, s)
        e = qhj_gradient_nelson(el["p"], s, n).subs(n.nu, nu)
        newton = compile_residual([(f"newton_{k}", f * e) for k, f in enumerate(phis)],
                                  fields=[n.q, n.v, n.v_q, n.v_t, n.u, n.u_q, n.u_qq], parameters=params,
                                  name="madelung_newton")
    return Kernels(phi_k, weak, newton)


def _kernels_for(inputs: Mapping[str, Any], potential: sp.Expr, count: int, with_newton: bool) -> Kernels:
    s = MadelungSymbols.make(1)
    return _kernels(sp.sympify(inputs["kinetic_coefficient"](s)), sp.sympify(inputs["fisher_coefficient"](s)),
                    sp.sympify(potential), count, with_newton)


def _gaussian_case(name: str, st: GaussianState, potential: sp.Expr) -> Case:
    def sample0(rng: np.random.Generator, n: int) -> np.ndarray:
        return st.mean(0.0) + math.sqrt(st.var(0.0)) * rng.standard_normal(n)

    return Case(name, potential, sample0, gaussian_drift(st), st.nu, 3)


def _cases(inputs: Mapping[str, Any], m: float, hbar: float, t_end: float, h: float) -> tuple[list[Case], str]:
    """Closed-form cases (no user potential) or the user potential's numerical case; with a note."""
    q = sp.Symbol("q", real=True)
    pot = inputs["potential"]
    if pot is None:
        fp, cs = dict(inputs["free_packet"]), dict(inputs["coherent_state"])
        free = free_packet(m=m, hbar=hbar, s0=float(fp["s0"]), v0=float(fp["p0"]) / m, q0=float(fp["q0"]))
        ho = coherent_state(m=m, hbar=hbar, k=float(cs["k"]), q0=float(cs["q0"]))
        return ([_gaussian_case("free packet", free, sp.S.Zero),
                 _gaussian_case("coherent state", ho, sp.Float(cs["k"]) * q**2 / 2)],
                "closed-form free packet and harmonic-oscillator coherent state")
    V = sp.sympify(pot((q,)))
    return [_user_case(V, inputs["user_state"], m, hbar, t_end, h)], f"user potential V = {V}"


def _user_case(V: sp.Expr, spec: Mapping[str, Any], m: float, hbar: float, t_end: float, h: float) -> Case:
    r"""Nelson drift :math:`b = (\hbar/m)(\mathrm{Re} + \mathrm{Im})(\psi'/\psi)` from a Crank-Nicolson solution
    (numerics/_schrodinger.py) of the initial Gaussian, on a grid, recorded at every SDE step."""
    from nnqg.numerics._schrodinger import crank_nicolson  # the Schrodinger claim's solver

    q = sp.Symbol("q", real=True)
    s0, q0 = float(spec["s0"]), float(spec["q0"])
    Vf = sp.lambdify(q, V, "numpy")
    L = q0 + 12.0 * s0 + 6.0
    x = np.linspace(-L, L, 1601)
    sol = crank_nicolson(lambda z: np.broadcast_to(np.asarray(Vf(z), dtype=float), z.shape),
                         lambda z: np.exp(-(z - q0) ** 2 / (4 * s0**2)), x, dt=h,
                         n_steps=int(round(t_end / h)) + 1, hbar=hbar, m=m)
    psi = sol.psi
    dx = sol.dx
    ratio = np.zeros_like(psi)
    ratio[:, 1:-1] = (psi[:, 2:] - psi[:, :-2]) / (2 * dx * np.where(psi[:, 1:-1] == 0, 1, psi[:, 1:-1]))
    b = (hbar / m) * (ratio.real + ratio.imag)
    dens = np.abs(psi) ** 2
    # where the density is at round-off the ratio is noise: continue the drift linearly from the trusted region
    for k in range(b.shape[0]):
        ok = np.flatnonzero(dens[k] > 1e-10 * dens[k].max())
        lo, hi = ok[0] + 1, ok[-1] - 1
        b[k, :lo] = b[k, lo] + (b[k, lo + 1] - b[k, lo]) * (np.arange(lo) - lo)
        b[k, hi + 1:] = b[k, hi] + (b[k, hi] - b[k, hi - 1]) * (np.arange(hi + 1, b.shape[1]) - hi)

    def table(t: float) -> tuple[float, float, np.ndarray]:
        return float(x[0]), dx, b[int(round(t / h))]

    def sample0(rng: np.random.Generator, n: int) -> np.ndarray:
        return q0 + s0 * rng.standard_normal(n)

    return Case("user potential", V, sample0, table, hbar / (2 * m), 5)


def _snapshot_steps(times: Sequence[float], offsets: Sequence[int], lag: float, h: float) -> list[int]:
    sub = lag / h
    if abs(sub - round(sub)) > 1e-9:
        raise InvalidArgument(f"profile: the lag {lag} must be a multiple of the SDE step {h}")
    out = []
    for t in times:
        n0 = t / h
        if abs(n0 - round(n0)) > 1e-9 or t - max(abs(o) for o in offsets) * lag < 0:
            raise InvalidArgument(f"profile: evaluation time {t} must be a multiple of h and >= OFFSET lags")
        out += [int(round(n0)) + o * int(round(sub)) for o in offsets]
    return sorted(set(out))


def _residuals(Q: Sequence[np.ndarray], lag: float, case: Case, ker: Kernels, gamma: float, c: float,
               groups: int, which: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    r"""Weak residuals at the middle of the snapshots ``Q`` (j = -4..4, spacing ``lag``) with jackknife SEs.

    continuity_k = d/dt E[phi_k] - E[phi_k' w(v)], osmotic_k = E[u phi_k + nu phi_k'], newton_k =
    E[phi_k * Newton]; the test functions are centred on the ensemble at the evaluation time."""
    std = [(float(x.mean()), float(x.std())) for x in Q]
    a, ell = std[OFFSET]
    K = len(ker.phi.labels)
    phis = [ker.phi(q=Q[OFFSET + j], a=a, ell=ell) for j in range(-2, 3)]  # (K, N) each, for j = -2..2
    dphi = time_derivative_of_mean(phis, lag)  # (K, N): per-sample fourth-order difference
    reps = JetReplicates(Q, lag, case.degree, std, groups, time_lags=OFFSET - 2)

    def estimate(g: int | None) -> np.ndarray:
        jet = reps.jet(g)
        wk = ker.weak(q=jet.q, v=jet.v, u=jet.u, gamma=gamma, c=c, a=a, ell=ell)
        parts = []
        if which == "continuity":
            parts.append(reps.mean(dphi, g) - reps.mean(wk[:K], g))
        else:
            assert ker.newton is not None
            parts.append(reps.mean(ker.newton(**jet.fields(), gamma=gamma, c=c, a=a, ell=ell), g))
        parts.append(reps.mean(wk[K:], g))
        return np.concatenate(parts)

    r, se = jackknife(estimate, groups)
    first = "continuity" if which == "continuity" else "newton"
    labels = [f"{first}_{k}" for k in range(K)] + [f"osmotic_{k}" for k in range(K)]
    return r, se, labels


def numeric_check(ctx: NumericContext, inputs: Mapping[str, Any], which: str,
                  profile: Profile | None = None) -> NumericResult:
    """The Nelson-trajectory check of the module docstring for ``which`` in {"continuity", "hamilton_jacobi"}."""
    prof = profile or (QUICK if ctx.quick else FULL)
    gamma, c, m, hbar = _numbers(inputs)
    pot = inputs["potential"]
    if pot is not None and 1 not in tuple(inputs["K_values"]):
        return NumericResult(0.0, 0.0, True, where="numeric part not run: it is implemented for K = 1 only",
                             details={"skipped": f"K_values = {tuple(inputs['K_values'])}: the Nelson-trajectory "
                                                 "check is one-dimensional; only the symbolic part ran"})
    offsets = range(-OFFSET, OFFSET + 1)
    t_end = max(prof.times) + OFFSET * prof.lag
    if prof.lags:
        t_end = max(t_end, prof.lag_time + OFFSET * max(prof.lags))
        if abs(prof.lag_h / prof.h - round(prof.lag_h / prof.h)) > 1e-9:
            raise InvalidArgument(f"profile: lag_h {prof.lag_h} must be a multiple of h {prof.h}")
    try:
        cases, note = _cases(inputs, m, hbar, t_end + prof.h, prof.h)
    except ImportError as exc:  # the Schrodinger solver is another claim's module
        return NumericResult(0.0, 0.0, True, where="numeric part not run for a user potential",
                             details={"skipped": f"no Schrodinger solver available ({exc}); only the symbolic "
                                                 "part ran"})
    steps = _snapshot_steps(prof.times, offsets, prof.lag, prof.h)
    rows: list[dict[str, Any]] = []
    per_level: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in prof.levels]
    total = len(cases) * len(prof.levels)
    done = 0
    for ci, case in enumerate(cases):
        ker = _kernels_for(inputs, case.potential, prof.test_functions, which == "hamilton_jacobi")
        for li, N in enumerate(prof.levels):
            ctx.report(f"{case.name}, N = {N}", done / total)
            rng = ctx.rng(0xA11CE, ci, li)
            snaps = simulate(case.sample0(rng, N), case.drift, case.nu, prof.h, steps, rng)
            by_step = dict(zip(steps, snaps))
            for t in prof.times:
                n0, sub = int(round(t / prof.h)), int(round(prof.lag / prof.h))
                Q = [by_step[n0 + o * sub] for o in offsets]
                r, se, labels = _residuals(Q, prof.lag, case, ker, gamma, c, prof.groups, which)
                per_level[li].append((r, se))
                if li == len(prof.levels) - 1:
                    rows += [{"case": case.name, "t": t, "N": N, "component": lab, "residual": float(x),
                              "se": float(e)} for lab, x, e in zip(labels, r, se)]
            done += 1
    return _judge_levels(prof, per_level, rows, note, which, inputs, cases, gamma, c, ctx)


def _weighted_rms(per_level: list[list[tuple[np.ndarray, np.ndarray]]], sizes: Sequence[int]) -> list[float]:
    """rms over components of r_k / sigma_k with sigma_k = (pooled SE_k sqrt(N)) fixed across levels: each
    component then weighs equally and the measure falls as N^-1/2 exactly when the residuals are noise."""
    R = np.array([np.concatenate([r for r, _ in lv]) for lv in per_level])
    S = np.array([np.concatenate([e for _, e in lv]) for lv in per_level])
    unit = np.sqrt((S**2 * np.asarray(sizes, dtype=float)[:, None]).mean(axis=0))
    return [float(np.sqrt(np.mean((R[i] / unit) ** 2))) for i in range(len(sizes))]


def _monte_carlo_rate(conv: Convergence, zcrit: float, n_finest: int) -> Judgement:
    r"""The rate test of a Monte-Carlo study. ``judge``'s order criterion (least-squares slope of
    :math:`\log\rho` on :math:`\log N^{-1/2}` at least 1 - 0.5) with a *statistical* tolerance at the finest
    level: :math:`\rho_J \le z_{crit}/\sqrt{N_J}`, the value the SE-weighted rms can reach when every component
    is within the consistency bound. ``judge``'s deterministic tolerance (the finest residual at most twice the
    extrapolation from the level before) assumes a smooth error; for Monte-Carlo residuals the ratio of two
    consecutive levels is itself a noisy quantity (false alarms in about 1 of 6 seeds at the quick size), so it is
    not used here."""
    order = conv.observed_order
    r_last = conv.points[-1][1]
    tol = zcrit / math.sqrt(n_finest)
    if not math.isfinite(order) or order < conv.expected_order - 0.5:
        return Judgement(r_last, tol, False, f"observed order {order:.3g} < expected {conv.expected_order:g} - 0.5")
    if r_last > tol:
        return Judgement(r_last, tol, False, f"finest residual {r_last:.3g} > statistical bound {tol:.3g}")
    return Judgement(r_last, tol, True, f"order {order:.3g} (expected {conv.expected_order:g}), residual "
                                        f"{r_last:.3g} <= {tol:.3g}")


def _judge_levels(prof: Profile, per_level: list, rows: list, note: str, which: str, inputs: Mapping[str, Any],
                  cases: list[Case], gamma: float, c: float, ctx: NumericContext) -> NumericResult:
    z = np.concatenate([np.abs(r) / e for lv in per_level for r, e in lv])
    ncomp = z.size
    zcrit = float(stats.t.ppf(1 - FAMILY_ALPHA / (2 * ncomp), prof.groups - 1))
    zmax = float(z.max()) if np.all(np.isfinite(z)) else float("nan")
    consistent = bool(zmax <= zcrit)
    rms = _weighted_rms(per_level, prof.levels)
    conv = Convergence("SE-weighted rms residual vs h = N^-1/2", 1.0,
                       tuple((1 / math.sqrt(N), r) for N, r in zip(prof.levels, rms)))
    j = _monte_carlo_rate(conv, zcrit, prof.levels[-1])
    facts = [(f"every residual consistent with zero (max |z| = {zmax:.3g} <= {zcrit:.3g}, t_{prof.groups - 1}, "
              f"Bonferroni over {ncomp})", consistent),
             (f"Monte-Carlo rate: {j.reason}", j.ok)]
    details: dict[str, Any] = {"states": note, "gamma": gamma, "c": c, "nu_equations": math.sqrt(gamma * c) / 2,
                               "nu_simulation": [cs.nu for cs in cases], "finest_level": rows,
                               "levels": list(prof.levels), "weighted_rms": rms, "max_abs_z": zmax,
                               "z_critical": zcrit, "regression_basis": "polynomials of degree "
                               + ", ".join(str(cs.degree) for cs in cases) + " in the standardised q",
                               "integrator": "stochastic Heun (weak order 2, additive noise)",
                               "lag": prof.lag, "h": prof.h}
    if prof.lags:
        lag_study = _lag_study(prof, which, inputs, cases, gamma, c, ctx)
        details["lag_study"] = lag_study
        facts.append((f"time-step (lag) study: {lag_study['reason']}", bool(lag_study["ok"])))
    ok = all(v for _, v in facts)
    where = (f"{which}: max |z| {zmax:.3g} (bound {zcrit:.3g}); rms residual order {conv.observed_order:.3g} in "
             f"N^-1/2 (expected 1)")
    return NumericResult(max_residual=j.max_residual, tolerance=j.tolerance, ok=ok, convergence=conv,
                         where=where, details=details, facts=tuple(facts))


def _lag_study(prof: Profile, which: str, inputs: Mapping[str, Any], cases: list[Case], gamma: float, c: float,
               ctx: NumericContext) -> dict[str, Any]:
    r"""Residuals at snapshot lags :math:`\Delta` (the same trajectories for every lag, SDE step ``lag_h``).

    The estimators' bias is :math:`O(\Delta^2)` (Richardson-combined increments, central time differences); at
    each lag the rms residual r and the rms standard error s give the bias estimate
    :math:`b = \sqrt{\max(\overline{r^2 - s^2}, 0)}`. A lag is *resolved* when :math:`\sum z^2` exceeds its
    :math:`\chi^2` bound (bias detected). With two or more resolved lags their bias must fall at an order
    consistent with 2: at least 2 - max(0.5, 3 standard errors of the order, from the biases' own standard
    errors); with only the largest resolved, the order's lower bound from the next lag (its
    bias bounded by 2 rms standard errors) must be >= 1.5; with none, the bias is below the Monte-Carlo noise at
    every lag and the order is reported as not measurable."""
    base = min(prof.lags)
    offsets_all = sorted({o * int(round(L / base)) for L in prof.lags for o in range(-OFFSET, OFFSET + 1)})
    steps = _snapshot_steps([prof.lag_time], offsets_all, base, prof.lag_h)
    n0 = int(round(prof.lag_time / prof.lag_h))
    pts = []
    for ci, case in enumerate(cases):
        ker = _kernels_for(inputs, case.potential, prof.test_functions, which == "hamilton_jacobi")
        ctx.report(f"lag study, {case.name} ({ci + 1} of {len(cases)})", 0.9 + 0.1 * ci / len(cases))
        rng = ctx.rng(0x1A6, ci)
        by_step = dict(zip(steps, simulate(case.sample0(rng, prof.lag_N), case.drift, case.nu, prof.lag_h, steps,
                                           rng)))
        for li, L in enumerate(prof.lags):
            sub = int(round(L / prof.lag_h))
            Q = [by_step[n0 + o * sub] for o in range(-OFFSET, OFFSET + 1)]
            r, se, _ = _residuals(Q, L, case, ker, gamma, c, prof.groups, which)
            pts.append((li, r, se))
    out = []
    for li, L in enumerate(prof.lags):
        r = np.concatenate([x for i, x, _ in pts if i == li])
        se = np.concatenate([e for i, _, e in pts if i == li])
        chi2 = float(np.sum((r / se) ** 2))
        # bias detected at this lag: the sum of z^2 exceeds its chi^2 bound (family-wise over the lags)
        resolved = chi2 > float(stats.chi2.ppf(1 - FAMILY_ALPHA / len(prof.lags), r.size))
        b2 = max(float(np.mean(r**2 - se**2)), 0.0)
        bias = math.sqrt(b2)
        # standard error of the bias estimate: r_i ~ N(b_i, s_i^2) gives Var(r_i^2) = 4 b_i^2 s_i^2 + 2 s_i^4
        var_b2 = float(np.sum(4 * np.maximum(r**2 - se**2, 0.0) * se**2 + 2 * se**4)) / r.size**2
        bias_se = math.sqrt(var_b2) / (2 * bias) if bias > 0 else float("inf")
        srms = float(np.sqrt(np.mean(se**2)))
        out.append({"lag": L, "rms": float(np.sqrt(np.mean(r**2))), "rms_se": srms, "chi2": chi2, "components": r.size,
                    "bias": bias, "bias_se": bias_se, "resolved": resolved,
                    # an unresolved bias is below ~2 rms standard errors
                    "bias_bound": bias if resolved else max(bias, 2 * srms)})
    ok, reason, order = lag_decision(out, prof.lag_N, max(prof.lags))
    return {"points": out, "observed_order": order, "expected_order": 2.0, "ok": ok, "reason": reason,
            "N": prof.lag_N, "h": prof.lag_h, "time": prof.lag_time}


def lag_decision(out: list[dict[str, Any]], n: int, max_lag: float) -> tuple[bool, str, float]:
    """The verdict of the lag study from its per-lag points (largest lag first): see :func:`_lag_study`."""
    res = [p for p in out if p["resolved"]]
    if len(res) >= 2:
        conv = Convergence("bias of the residual vs lag Delta", 2.0, tuple((p["lag"], p["bias"]) for p in res))
        order = conv.observed_order
        # The biases are Monte-Carlo estimates: the order's standard error follows from theirs (delta method,
        # coarsest and finest resolved lags). The order must be consistent with 2: short of it by at most
        # max(0.5, 3 standard errors); the finest resolved bias must not exceed its O(Delta^2) prediction by more
        # than 3 standard errors either.
        a, b = res[0], res[-1]
        span = math.log(a["lag"] / b["lag"])
        order_se = math.hypot(a["bias_se"] / a["bias"], b["bias_se"] / b["bias"]) / span
        slack = max(0.5, 3 * order_se)
        pred = a["bias"] * (b["lag"] / a["lag"]) ** 2
        ok = order >= 2.0 - slack and b["bias"] <= 2 * pred + 3 * b["bias_se"]
        reason = (f"bias resolved at lags {[p['lag'] for p in res]}: observed order {order:.3g} +- {order_se:.2g} "
                  f"({'consistent with' if ok else 'short of'} expected 2 within max(0.5, 3 SE))")
    elif len(res) == 1 and res[0] is out[0]:
        # bias seen only at the largest lag: the order is at least log(b_1 / bound_2) / log(Delta_1 / Delta_2)
        order = math.log(out[0]["bias"] / out[1]["bias_bound"]) / math.log(out[0]["lag"] / out[1]["lag"])
        ok = order >= 2.0 - 0.5
        reason = (f"bias resolved only at lag {out[0]['lag']}; below noise at {out[1]['lag']}: order >= {order:.3g} "
                  f"({'>=' if ok else '<'} expected 2 - 0.5)")
    elif not res:
        order, ok = float("nan"), True
        reason = f"no bias resolved at any lag <= {max_lag} (N = {n}): order not measurable"
    else:
        order, ok = float("nan"), False
        reason = f"bias resolved at a smaller lag but not at the largest: {[p['lag'] for p in res]}"
    return ok, reason, order


CLAIMS = [
    Claim(
        id="madelung.continuity", section="3",
        statement="Varying the learning action in the free energy F gives the continuity equation "
                  "dp/dt + gamma div(p grad F) = 0, Madelung's continuity equation with m = 1/gamma.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs,
        derivation=lambda inp: _symbolic(inp, "continuity"),
        calibration=lambda ctx, inp: numeric_check(ctx, inp, "continuity"),
        mutations=lambda: {k: v for k, v in _mutations().items() if k != "fisher_sign_flipped"},
        modules=(__file__,),
    ),
    Claim(
        id="madelung.hamilton_jacobi", section="3",
        statement="Varying the learning action in the density p gives the quantum Hamilton-Jacobi equation "
                  "dF/dt + (gamma/2)|grad F|^2 + V - (c/2) lap(sqrt p)/sqrt p = 0, i.e. Madelung's with Bohm's "
                  "quantum potential, hbar^2 = c/gamma.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs,
        derivation=lambda inp: _symbolic(inp, "hamilton_jacobi"),
        calibration=lambda ctx, inp: numeric_check(ctx, inp, "hamilton_jacobi"),
        mutations=_mutations, modules=(__file__,),
    ),
]
