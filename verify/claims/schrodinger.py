r"""Claims `schrodinger.equivalence`, `schrodinger.quantisation`, `schrodinger.wallstrom_counterexample`
(PHYSICS.md section 4).

* **equivalence** -- symbolic: :math:`\psi = \sqrt p e^{iF/\hbar}` maps the Madelung pair (the Euler-Lagrange
  equations of the learning action with :math:`\gamma = 1/m`, :math:`c = \hbar^2/m`) to the Schrodinger equation
  and back, K = 1 (the input potential) and K = 2 (a generic real V): :math:`\operatorname{Re}(S/\psi) = -Q`,
  :math:`\operatorname{Im}(S/\psi) = \hbar C/(2p)`; with :math:`\psi = a+ib`,
  :math:`C = (2/\hbar)(a\operatorname{Im}S - b\operatorname{Re}S)`,
  :math:`Q = -(a\operatorname{Re}S + b\operatorname{Im}S)/|\psi|^2`.
  Numeric: a Crank-Nicolson solve of a Gaussian packet in the potential; :math:`p = |\psi|^2`,
  :math:`F = \hbar\arg\psi` (unwrapped) are put through kernels generated from the same SymPy Madelung residuals,
  with second-order differences in q and t, dx and dt refined together (dt = dx/2); the residual must fall at
  order 2 (Crank-Nicolson's order).
* **quantisation** -- :math:`\psi = (z - z_0)^n e^{-|z|^2}`: :math:`\nabla F` (F = hbar arg psi) is curl-free and
  its circulation around the node is exactly :math:`2\pi\hbar n` (SymPy); numerically, :math:`\nabla F` from a
  kernel generated from SymPy's derivative of :math:`\hbar\,\mathrm{atan2}(b, a)` on finite differences of the
  sampled field, integrated around rectangles (trapezoid) that do / do not enclose the node, gives
  circulation/(2 pi hbar) within O(h^2) of the enclosed winding.
* **wallstrom_counterexample** -- :math:`p = r^{2|\alpha|}e^{-m\omega r^2/\hbar}`, :math:`F = \hbar\alpha\theta - Et`
  in :math:`V = m\omega^2r^2/2` solves both Madelung equations exactly for every real alpha, but the
  circulation :math:`2\pi\hbar\alpha` is not quantised for non-integer alpha, so no single-valued psi exists
  (monodromy :math:`e^{2\pi i\alpha} \ne 1`). REPRODUCED when both facts are shown, symbolically and numerically.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument, Step, is_zero, jet
from nnqg.derivations._madelung import MadelungSymbols
from nnqg.derivations._schrodinger import backward_identities, circle_circulation, curl2d, equivalence_steps, \
    forward_identities, madelung_pair, monodromy, phase_gradient, substitute_flow, vortex_state, wallstrom_flow
from nnqg.numerics import compile_residual
from nnqg.numerics._schrodinger import METHODS, crank_nicolson
from nnqg.numerics._vortex import central_gradient, rectangle_circulation

from .._convergence import judge
from .._model import Claim, Convergence, NumericContext, NumericResult, SymbolicResult

ASSUMPTIONS = (
    "m = 1/gamma and hbar^2 = c/gamma (named parameters)",
    "p > 0 where the Madelung pair is evaluated (psi != 0)",
    "V real",
)

# dx levels of the numeric studies; dt = dx/2 for the Schrodinger solve (refined together).
_EQUIV_DX_QUICK = (0.1, 0.05, 0.025)
_EQUIV_DX_FULL = (0.1, 0.05, 0.025, 0.0125, 0.00625)
_GRID_H_QUICK = (1 / 8, 1 / 16, 1 / 32)
_GRID_H_FULL = (1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128)


def _pair_inputs() -> dict[str, Any]:
    """The Madelung pair under test: learning-action coefficients and the identification (as functions of the
    symbols), exactly as in the `madelung.*` claims."""
    return {
        "kinetic_coefficient": lambda s: s.gamma / 2,
        "fisher_coefficient": lambda s: s.c / 8,
        "mass": lambda s: 1 / s.gamma,
        "hbar_squared": lambda s: s.c / s.gamma,
    }


def _pair(inputs: Mapping[str, Any], s: MadelungSymbols) -> tuple[sp.Expr, sp.Expr]:
    return madelung_pair(s, kinetic_coefficient=inputs["kinetic_coefficient"](s),
                         fisher_coefficient=inputs["fisher_coefficient"](s), mass=inputs["mass"](s),
                         hbar_squared=inputs["hbar_squared"](s))


def _positive(inputs: Mapping[str, Any], key: str) -> float:
    v = inputs[key]
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{key}: expected a finite positive number, got {v!r}") from None
    if not (math.isfinite(f) and f > 0):
        raise InvalidArgument(f"{key}: expected a finite positive number, got {v!r}")
    return f


def _judge_all(studies: list[Convergence]) -> tuple[bool, float, float, str, Convergence]:
    """Judge every study; report the worst (a failing one first, else the largest residual/tolerance ratio)."""
    js = [(judge(c), c) for c in studies]
    bad = [(j, c) for j, c in js if not j.ok]
    j, c = bad[0] if bad else max(js, key=lambda jc: jc[0].max_residual / max(jc[0].tolerance, 1e-300))
    return not bad, j.max_residual, j.tolerance, f"{c.quantity}: {j.reason}", c


# ================================================================================================ equivalence

def default_potential(q: tuple[sp.Symbol, ...]) -> sp.Expr:
    r"""Default: the smooth anharmonic oscillator :math:`V(q) = q^2/2 + q^4/10`."""
    return q[0] ** 2 / 2 + q[0] ** 4 / 10


def equivalence_inputs() -> dict[str, Any]:
    return {
        **_pair_inputs(),
        "potential": default_potential,  # callable q-tuple -> SymPy expression in (q,)
        "K_values": (1, 2),  # K = 2 uses a generic real V(q1, q2)
        "method": "crank_nicolson",  # time stepper of the numeric solve: crank_nicolson | backward_euler
        "hbar_value": 1.0, "m_value": 1.0,
        # packet (2 pi s0^2)^(-1/4) exp(-(q - q0)^2/(4 s0^2) + i k0 q); box [-L, L]; times T/4, T/2, 3T/4
        "packet_center": 1.0, "packet_width": 0.5, "packet_momentum": 0.5, "box_half_width": 8.0,
        "t_final": 1.0,
        # residuals are taken where p >= threshold * max p (see _equivalence_numeric)
        "density_threshold": 1e-6,
    }


def _potential_nd(inputs: Mapping[str, Any], K: int) -> MadelungSymbols:
    s0 = MadelungSymbols.make(K)
    V = _call_potential(inputs["potential"], s0)
    return MadelungSymbols.make(K, potential=V)


def _potential_1d(inputs: Mapping[str, Any]) -> tuple[MadelungSymbols, sp.Expr]:
    s0 = MadelungSymbols.make(1)
    V = _call_potential(inputs["potential"], s0)
    return MadelungSymbols.make(1, potential=V), V


def _call_potential(pot: Any, s0: MadelungSymbols) -> sp.Expr:
    """The input potential evaluated on the coordinate symbols, validated (real, only q's)."""
    try:
        V = pot(s0.q) if callable(pot) else None
    except InvalidArgument:
        raise
    except Exception as exc:  # a user callable: name the input
        raise InvalidArgument(f"potential: calling it on {s0.q} failed ({type(exc).__name__}: {exc})") from None
    if isinstance(V, (int, float)) and not isinstance(V, bool):  # a constant potential (never a string)
        V = sp.Integer(V) if isinstance(V, int) else sp.Float(V)
    if V is None or not isinstance(V, sp.Expr):
        raise InvalidArgument(f"potential: expected a callable (q,) -> SymPy expression, got {pot!r}")
    extra = V.free_symbols - set(s0.q)
    if extra:
        raise InvalidArgument(f"potential: {V} depends on {sorted(map(str, extra))}; only "
                              f"{', '.join(map(str, s0.q))} allowed")
    if V.has(sp.I):
        raise InvalidArgument(f"potential: {V} is complex; the Madelung pair needs a real V")
    return V


def _equivalence_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    checks: list[tuple[str, sp.Expr]] = []
    steps = ()
    for K in inputs["K_values"]:
        if K == 1:
            s, _ = _potential_1d(inputs)
        elif inputs["potential"] is default_potential:  # the default is one-dimensional: generic V(q1, q2)
            base = MadelungSymbols.make(K)
            s = MadelungSymbols.make(K, potential=sp.Function("V", real=True)(*base.q))
        else:
            s = _potential_nd(inputs, K)
        pair = _pair(inputs, s)
        for lab, e in forward_identities(s, pair):
            checks.append((f"K={K} forward: {lab}", e))
        for lab, e in backward_identities(s, pair):
            checks.append((f"K={K} backward: {lab}", e))
        if not steps:
            steps = equivalence_steps(s, pair)
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _second_differences(f: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Central first and second differences along the last axis (interior points; edges left NaN)."""
    d1 = np.full_like(f, np.nan)
    d2 = np.full_like(f, np.nan)
    d1[..., 1:-1] = (f[..., 2:] - f[..., :-2]) / (2 * h)
    d2[..., 1:-1] = (f[..., 2:] - 2 * f[..., 1:-1] + f[..., :-2]) / h**2
    return d1, d2


def _equivalence_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    r"""Residual of the Madelung pair on a Crank-Nicolson solution, at dx levels refined by 2 (dt = dx/2).

    At each level the solution is recorded every step; at the times T/4, T/2, 3T/4 the jets
    :math:`p, p_t, p_q, p_{qq}, F_t, F_q, F_{qq}` are central differences of :math:`p = |\psi|^2` and
    :math:`F = \hbar\arg\psi` (unwrapped in q, then t), fed to the kernel generated from the SymPy pair.
    Points: the coarsest grid's points (the grids are nested, so every level is sampled at the same q) where
    :math:`p \ge \text{threshold}\cdot\max p`. Why a threshold: Q divides by p and F is undefined where
    :math:`\psi` is at round-off; the discretisation error of :math:`\psi` is absolute, so the relative error that
    enters Q grows into the tails. With 1e-6 (the tails carry < 1e-6 of the probability) the residual is in the
    asymptotic O(h^2) regime from dx = 0.1 on; it still converges at order 2 with 1e-10, with larger constants.
    """
    if tuple(inputs["K_values"]) == (2,):
        raise InvalidArgument("potential: the numeric check of schrodinger.equivalence solves the 1-D Schrodinger "
                              "equation; give V as a function of q (or run with --symbolic-only for q1, q2)")
    s, V = _potential_1d(inputs)
    method = inputs["method"]
    if method not in METHODS:
        raise InvalidArgument(f"method: {method!r} is not one of {sorted(METHODS)}")
    hbar, m = _positive(inputs, "hbar_value"), _positive(inputs, "m_value")
    L, T = _positive(inputs, "box_half_width"), _positive(inputs, "t_final")
    q0, w0, k0 = float(inputs["packet_center"]), _positive(inputs, "packet_width"), float(inputs["packet_momentum"])
    thr = _positive(inputs, "density_threshold")
    C, Q = _pair(inputs, s)
    (Cj, Qj), _ = jet(sp.Tuple(C, Q), (s.p, s.F))
    names = {v.name: v for v in (Cj.free_symbols | Qj.free_symbols)}
    field_names = [n for n in ("q", "p", "p_t", "p_q", "p_qq", "F_t", "F_q", "F_qq") if n in names]
    params = [x for x in (s.hbar, s.m) if x.name in names]
    unknown = set(names) - set(field_names) - {x.name for x in params}
    if unknown:
        raise InvalidArgument(f"potential/pair: the Madelung pair uses unexpected symbols {sorted(unknown)}")
    kernel = compile_residual([("continuity", Cj), ("hamilton_jacobi", Qj)],
                              fields=[names[n] for n in field_names], parameters=params,
                              name="schrodinger_madelung_1d")
    Vnum = sp.lambdify(s.q[0], V, "numpy")
    dxs = _EQUIV_DX_QUICK if ctx.quick else _EQUIV_DX_FULL
    times = (T / 4, T / 2, 3 * T / 4)
    per_eq: dict[str, list[tuple[float, float]]] = {"continuity": [], "hamilton_jacobi": []}
    where: dict[str, str] = {}
    sample_q: dict[float, np.ndarray] = {}
    details: dict[str, Any] = {"potential": str(V), "method": method, "dx_levels": list(dxs), "dt": "dx/2",
                               "density_threshold": thr, "times": list(times)}
    norm_drift = []
    for lev, dx in enumerate(dxs):
        ctx.report(f"Schrodinger solve dx={dx:g}", lev / len(dxs))
        n_cells = int(round(2 * L / dx))
        x = np.linspace(-L, L, n_cells + 1)
        dt = dx / 2
        n_steps = int(round(T / dt))
        psi0 = lambda xx: (2 * np.pi * w0**2) ** -0.25 * np.exp(-(xx - q0) ** 2 / (4 * w0**2) + 1j * k0 * xx)
        try:
            sol = crank_nicolson(Vnum, psi0, x, dt, n_steps, hbar=hbar, m=m, method=method)
        except InvalidArgument as exc:
            raise InvalidArgument(f"potential {V}: {exc}") from None
        norm_drift.append(float(abs(sol.norm()[-1] / sol.norm()[0] - 1)))
        p = sol.density()
        F = sol.phase_function()
        worst = {k: 0.0 for k in per_eq}
        for tt in times:
            i = int(round(tt / dt))
            P = p[i]
            key = round(tt, 12)
            if key not in sample_q:  # fixed sample points, chosen on the coarsest level (grids are nested)
                sel = np.zeros(P.size, bool)
                sel[1:-1] = P[1:-1] >= thr * P.max()
                sample_q[key] = x[sel]
            idx = np.rint((sample_q[key] + L) / dx).astype(int)
            pq, pqq = _second_differences(P, dx)
            Fq, Fqq = _second_differences(F[i], dx)
            jets = {"q": x, "p": P, "p_t": (p[i + 1] - p[i - 1]) / (2 * dt), "p_q": pq, "p_qq": pqq,
                    "F_t": (F[i + 1] - F[i - 1]) / (2 * dt), "F_q": Fq, "F_qq": Fqq}
            vals: dict[str, Any] = {n: jets[n][idx] for n in field_names}
            vals.update({v.name: (hbar if v == s.hbar else m) for v in params})
            out = np.abs(kernel(**vals))
            for k, lab in enumerate(kernel.labels):
                if not np.all(np.isfinite(out[k])):
                    worst[lab] = float("nan")
                    where[lab] = f"t={tt:.4g}, q={x[idx[int(np.argmax(~np.isfinite(out[k])))]]:.4g}"
                    continue
                j = int(np.argmax(out[k]))
                if float(out[k, j]) > worst[lab]:  # NaN already recorded stays NaN (comparison is False)
                    worst[lab] = float(out[k, j])
                    where[lab] = f"t={tt:.4g}, q={x[idx[j]]:.4g}"
        for lab in per_eq:
            per_eq[lab].append((dx, worst[lab]))
    ctx.report("judging", 1.0)
    studies = [Convergence(f"{lab} residual vs dx (dt = dx/2), {method}", 2.0, tuple(pts))
               for lab, pts in per_eq.items()]
    ok, rmax, tol, reason, worst_study = _judge_all(studies)
    details.update({f"{c.quantity.split(' ')[0]}_order": c.observed_order for c in studies})
    details["studies"] = [c.to_json() for c in studies]
    details["norm_drift"] = norm_drift
    details["sample_points"] = {str(k): int(v.size) for k, v in sample_q.items()}
    lab0 = worst_study.quantity.split(" ")[0]
    return NumericResult(max_residual=rmax, tolerance=tol, ok=ok, convergence=worst_study,
                         where=f"{reason}; max at {where.get(lab0, '?')}", details=details)


def _equivalence_mutations() -> dict[str, dict[str, Any]]:
    return {
        "quantum_potential_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
        "mass_factor_2": {"mass": lambda s: 2 / s.gamma},
        "first_order_stepper": {"method": "backward_euler"},
    }


# =============================================================================================== quantisation

def quantisation_inputs() -> dict[str, Any]:
    return {
        "windings": (1, -1, 2),  # psi = (z - z0)^n exp(-|z|^2), conj(z - z0) for n < 0
        "vortex_center": (sp.Rational(1, 10), sp.Rational(-1, 5)),  # off the grid nodes
        "hbar_value": 1.0,
        "circulation_quantum": lambda hbar: 2 * sp.pi * hbar,  # the claimed quantum of circulation
        "domain_half_width": 3.0,
        # rectangles (x0, x1, y0, y1): two enclose the node, two do not
        "loops": ((-0.5, 0.5, -0.5, 0.5), (-1.5, 1.0, -1.0, 1.5), (0.5, 1.5, 0.5, 1.5), (-2.0, -0.5, -1.0, 1.0)),
    }


def _quantisation_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    x, y = sp.symbols("x y", real=True)
    hbar = sp.Symbol("hbar", positive=True)
    R = sp.Symbol("R", positive=True)
    c0 = tuple(sp.nsimplify(c) for c in inputs["vortex_center"])
    quantum = inputs["circulation_quantum"](hbar)
    checks: list[tuple[str, sp.Expr]] = []
    facts: list[tuple[str, bool]] = []
    steps = []
    for n in inputs["windings"]:
        a, b = vortex_state(int(n), x, y, center=c0)
        g = phase_gradient(a, b, (x, y), hbar)
        curl = sp.simplify(curl2d(g, x, y))
        circ = circle_circulation(g, x, y, R, center=c0)
        checks.append((f"n={n}: curl grad F (away from the node)", curl))
        checks.append((f"n={n}: circulation around the node - quantum * n",
                       sp.S.Zero if is_zero(circ - quantum * n) else sp.simplify(circ - quantum * n)))
        ratio = sp.simplify(circ / quantum)
        facts.append((f"n={n}: circulation / quantum = {ratio} is an integer", bool(ratio.is_integer)))
        if not steps:
            steps = _quantisation_steps(a, b, g, circ)
    return SymbolicResult(checks=tuple(checks), steps=tuple(steps), facts=tuple(facts))


def _quantisation_steps(a: sp.Expr, b: sp.Expr, g: list[sp.Expr], circ: sp.Expr) -> list[Step]:
    return [Step("Vortex state psi = a + i b", a + sp.I * b, sp.Symbol(r"\psi")),
            Step("grad F = hbar (a grad b - b grad a)/(a^2 + b^2), F = hbar atan2(b, a)", sp.Matrix(g),
                 sp.Symbol(r"\nabla F")),
            Step("Circulation around a circle of radius R about the node", circ, sp.Symbol(r"\oint \nabla F")),
            ]


def _gradient_kernel():
    x, y = sp.symbols("x y", real=True)
    hbar = sp.Symbol("hbar", positive=True)
    A = sp.Function("a", real=True)(x, y)
    B = sp.Function("b", real=True)(x, y)
    g = phase_gradient(A, B, (x, y), hbar)
    (gx, gy), _ = jet(sp.Tuple(*g), (A, B))
    fs = {v.name: v for v in gx.free_symbols | gy.free_symbols}
    return compile_residual([("F_x", gx), ("F_y", gy)],
                            fields=[fs[n] for n in ("a", "b", "a_x", "a_y", "b_x", "b_y")], parameters=[hbar],
                            name="schrodinger_phase_gradient")


def _phase_gradient_on_grid(kernel, psi: np.ndarray, h: float, hbar: float) -> tuple[np.ndarray, np.ndarray]:
    """grad F from the sampled field: central differences of a = Re psi, b = Im psi through the kernel;
    NaN at exact nodes (a = b = 0), so a loop through a node is reported as non-finite, never masked."""
    a, b = psi.real.copy(), psi.imag.copy()
    ax, ay = central_gradient(a, h, h)
    bx, by = central_gradient(b, h, h)
    ok = (a * a + b * b) > 0
    out = np.full((2, psi.size), np.nan)
    out[:, ok.ravel()] = kernel(a=a[ok], b=b[ok], a_x=ax[ok], a_y=ay[ok], b_x=bx[ok], b_y=by[ok], hbar=hbar)
    return out[0].reshape(psi.shape), out[1].reshape(psi.shape)


def _encloses(box: tuple[float, ...], c: tuple[float, float]) -> bool:
    return box[0] < c[0] < box[1] and box[2] < c[1] < box[3]


def _quantisation_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    r"""circulation / quantum around each loop, at grid spacings h refined by 2; residual = distance of that
    ratio from the nearest integer (max over windings and loops), expected to fall at order 2 (second-order
    differences and trapezoid). Fact: the nearest integer equals the enclosed winding (0 outside)."""
    hbar = _positive(inputs, "hbar_value")
    quantum = float(inputs["circulation_quantum"](hbar))
    if not (math.isfinite(quantum) and quantum != 0):
        raise InvalidArgument(f"circulation_quantum: must give a finite non-zero value, got {quantum!r}")
    Lh = _positive(inputs, "domain_half_width")
    c0 = tuple(float(c) for c in inputs["vortex_center"])
    kernel = _gradient_kernel()
    hs = _GRID_H_QUICK if ctx.quick else _GRID_H_FULL
    pts: list[tuple[float, float]] = []
    integer_ok = True
    table: dict[str, list[float]] = {}
    worst_where = ""
    for lev, h in enumerate(hs):
        ctx.report(f"vortex grid h={h:g}", lev / len(hs))
        xs = np.linspace(-Lh, Lh, int(round(2 * Lh / h)) + 1)
        X, Y = np.meshgrid(xs, xs, indexing="ij")
        worst = 0.0
        for n in inputs["windings"]:
            n = int(n)
            z = (X - c0[0]) + 1j * (Y - c0[1]) * (1 if n >= 0 else -1)
            psi = z ** abs(n) * np.exp(-(X**2 + Y**2))
            vx, vy = _phase_gradient_on_grid(kernel, psi, h, hbar)
            for box in inputs["loops"]:
                ratio = rectangle_circulation(vx, vy, xs, xs, tuple(float(v) for v in box)) / quantum
                table.setdefault(f"n={n} loop={tuple(box)}", []).append(ratio)
                d = abs(ratio - round(ratio)) if math.isfinite(ratio) else float("nan")
                expected = n if _encloses(box, c0) else 0
                if lev == len(hs) - 1 and (not math.isfinite(ratio) or round(ratio) != expected):
                    integer_ok = False
                if not d <= worst:
                    worst = d
                    worst_where = f"n={n}, loop={tuple(box)}"
        pts.append((h, worst))
    conv = Convergence("distance of circulation/quantum from an integer vs h", 2.0, tuple(pts))
    j = judge(conv)
    facts = (("circulation/quantum rounds to the enclosed winding (0 for loops without the node)", integer_ok),)
    return NumericResult(max_residual=j.max_residual, tolerance=j.tolerance, ok=j.ok and integer_ok,
                         convergence=conv, where=f"{j.reason}; worst {worst_where}",
                         details={"circulation_over_quantum": table, "h_levels": list(hs), "quantum": quantum},
                         facts=facts)


def _quantisation_mutations() -> dict[str, dict[str, Any]]:
    return {"wrong_hbar_in_circulation": {"circulation_quantum": lambda hbar: 2 * sp.pi * (3 * hbar / 2)}}


# ====================================================================================== Wallstrom counterexample

def wallstrom_inputs() -> dict[str, Any]:
    return {
        **_pair_inputs(),
        "alpha": sp.Rational(1, 2),  # circulation 2 pi hbar alpha; non-integer for the counterexample
        "omega": sp.Integer(1),
        "hbar_value": 1.0, "m_value": 1.0,
        "domain_half_width": 3.0,
        "annulus": (0.5, 2.5),  # numeric residual evaluated for r in this range (p smooth, > 0)
        "loop": (-1.0, 1.0, -1.0, 1.0),  # rectangle around the origin for the numeric circulation
    }


def _wallstrom_symbols(inputs: Mapping[str, Any]) -> tuple[MadelungSymbols, sp.Expr, sp.Expr, sp.Expr, sp.Symbol]:
    alpha = sp.nsimplify(inputs["alpha"])
    if not (alpha.is_real and alpha.is_finite):
        raise InvalidArgument(f"alpha: expected a real number, got {inputs['alpha']!r}")
    omega = sp.Symbol("omega", positive=True)
    p, F, V, _E = wallstrom_flow(MadelungSymbols.make(2), alpha, omega)
    s = MadelungSymbols.make(2, potential=V)
    return s, p, F, alpha, omega


def _wallstrom_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    s, p, F, alpha, omega = _wallstrom_symbols(inputs)
    C, Q = _pair(inputs, s)
    rc = substitute_flow(C, s, p, F)
    rq = substitute_flow(Q, s, p, F)
    checks = (("continuity on the flow", sp.S.Zero if is_zero(rc) else sp.simplify(rc)),
              ("quantum Hamilton-Jacobi on the flow", sp.S.Zero if is_zero(rq) else sp.simplify(rq)))
    circ = circle_circulation([sp.diff(F, q) for q in s.q], s.q[0], s.q[1], sp.Integer(1))
    n = sp.simplify(circ / (2 * sp.pi * s.hbar))
    mono = monodromy(F, s)
    facts = (("Madelung residuals are exactly 0", all(e == 0 for _, e in checks)),
             (f"circulation / (2 pi hbar) = {n} is not an integer", n.is_integer is False),
             (f"no single-valued psi: monodromy exp(i circulation/hbar) = {mono} != 1",
              sp.simplify(mono - 1) != 0 and (mono - 1).is_zero is False))
    steps = (Step("density", p, sp.Symbol("p")), Step("phase", F, sp.Symbol("F")),
             Step("potential", s.V, sp.Symbol("V")),
             Step("circulation around the unit circle", circ, sp.Symbol(r"\oint\nabla F")),
             Step("monodromy of psi = sqrt(p) exp(iF/hbar)", mono, sp.Symbol(r"\psi(\theta+2\pi)/\psi(\theta)")))
    return SymbolicResult(checks=checks, steps=steps, facts=facts)


def _wallstrom_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    r"""The Madelung residual of the flow on grids h refined by 2 (order 2 expected), and the circulation.

    F is multivalued, so it is sampled in two charts: :math:`\theta_A = \mathrm{atan2}(y, x)` (cut on the negative
    x axis) used at x >= 0, :math:`\theta_B = \mathrm{atan2}(-y,-x) + \pi` (cut on the positive x axis) used at
    x < 0; central differences never straddle the cut of the chart they use (r >= annulus minimum > 2h).
    Time derivatives: central differences at t = +-h. Facts: the residual converges to 0 (judge), and
    circulation / (2 pi hbar) of the sampled grad F stays away from every integer by more than 100 times its
    discretisation error (estimated as the change between the two finest levels)."""
    s, p, F, alpha, omega = _wallstrom_symbols(inputs)
    hbar, m = _positive(inputs, "hbar_value"), _positive(inputs, "m_value")
    om = _positive(inputs, "omega")
    C, Q = _pair(inputs, s)
    (Cj, Qj), _ = jet(sp.Tuple(C, Q), (s.p, s.F))
    names = {v.name: v for v in (Cj.free_symbols | Qj.free_symbols)}
    field_order = ("q1", "q2", "p", "p_t", "p_q1", "p_q2", "p_q1q1", "p_q2q2", "F_t", "F_q1", "F_q2",
                   "F_q1q1", "F_q2q2")
    fields = [names[n] for n in field_order if n in names]
    params = [v for v in (s.hbar, s.m, omega) if v.name in names]
    kernel = compile_residual([("continuity", Cj), ("hamilton_jacobi", Qj)], fields=fields, parameters=params,
                              name="schrodinger_wallstrom_2d")
    num = {s.hbar: hbar, s.m: m, omega: om}
    t, (x, y) = s.t, s.q
    p_f = sp.lambdify((t, x, y), p.subs(num), "numpy")
    FA = F.subs(num)
    FB = FA.xreplace({sp.atan2(y, x): sp.atan2(-y, -x) + sp.pi})
    FA_f, FB_f = sp.lambdify((t, x, y), FA, "numpy"), sp.lambdify((t, x, y), FB, "numpy")
    Lh = _positive(inputs, "domain_half_width")
    r0, r1 = (float(v) for v in inputs["annulus"])
    hs = _GRID_H_QUICK if ctx.quick else _GRID_H_FULL
    per_eq: dict[str, list[tuple[float, float]]] = {"continuity": [], "hamilton_jacobi": []}
    circ_n: list[float] = []
    for lev, h in enumerate(hs):
        ctx.report(f"Wallstrom flow h={h:g}", lev / len(hs))
        xs = np.linspace(-Lh, Lh, int(round(2 * Lh / h)) + 1)
        X, Y = np.meshgrid(xs, xs, indexing="ij")
        with np.errstate(divide="ignore", invalid="ignore"):
            P = p_f(0.0, X, Y)
            pt = (p_f(h, X, Y) - p_f(-h, X, Y)) / (2 * h)
            Fs = {}
            for lab, Ff in (("A", FA_f), ("B", FB_f)):
                F0 = Ff(0.0, X, Y)
                Fx, Fy = central_gradient(F0, h, h)
                Fxx = np.zeros_like(F0)
                Fxx[1:-1, :] = (F0[2:, :] - 2 * F0[1:-1, :] + F0[:-2, :]) / h**2
                Fyy = np.zeros_like(F0)
                Fyy[:, 1:-1] = (F0[:, 2:] - 2 * F0[:, 1:-1] + F0[:, :-2]) / h**2
                Ft = (Ff(h, X, Y) - Ff(-h, X, Y)) / (2 * h)
                Fs[lab] = (Fx, Fy, Fxx, Fyy, Ft)
            use_a = X >= 0
            Fx, Fy, Fxx, Fyy, Ft = (np.where(use_a, a_, b_) for a_, b_ in zip(Fs["A"], Fs["B"]))
            px, py = central_gradient(P, h, h)
            pxx = np.zeros_like(P)
            pyy = np.zeros_like(P)
            pxx[1:-1, :] = (P[2:, :] - 2 * P[1:-1, :] + P[:-2, :]) / h**2
            pyy[:, 1:-1] = (P[:, 2:] - 2 * P[:, 1:-1] + P[:, :-2]) / h**2
        R = np.hypot(X, Y)
        # sample on the coarsest grid's points (nested grids) inside the annulus
        stride = int(round(hs[0] / h))
        sel = np.zeros_like(R, bool)
        sel[::stride, ::stride] = True
        sel &= (R >= r0) & (R <= r1)
        jets = {"q1": X, "q2": Y, "p": P, "p_t": pt, "p_q1": px, "p_q2": py, "p_q1q1": pxx, "p_q2q2": pyy,
                "F_t": Ft, "F_q1": Fx, "F_q2": Fy, "F_q1q1": Fxx, "F_q2q2": Fyy}
        vals = {f.name: jets[f.name][sel] for f in fields}
        vals.update({v.name: num[v] for v in params})
        out = np.abs(kernel(**vals))
        for k, lab in enumerate(kernel.labels):
            per_eq[lab].append((h, float(np.max(out[k])) if np.all(np.isfinite(out[k])) else float("nan")))
        circ_n.append(rectangle_circulation(Fx, Fy, xs, xs, tuple(float(v) for v in inputs["loop"]))
                      / (2 * np.pi * hbar))
    studies = [Convergence(f"{lab} residual on the flow vs h", 2.0, tuple(pts)) for lab, pts in per_eq.items()]
    ok_res, rmax, tol, reason, worst = _judge_all(studies)
    n_fin = circ_n[-1]
    err = abs(circ_n[-1] - circ_n[-2])
    dist = abs(n_fin - round(n_fin)) if math.isfinite(n_fin) else float("nan")
    non_integer = math.isfinite(dist) and dist > 100 * err
    facts = (("numeric Madelung residual converges to 0 at order 2", ok_res),
             (f"numeric circulation/(2 pi hbar) = {n_fin:.6f} is {dist:.3g} from an integer, "
              f"> 100 x its discretisation error {err:.2g}", non_integer))
    return NumericResult(max_residual=rmax, tolerance=tol, ok=ok_res and non_integer, convergence=worst,
                         where=reason, facts=facts,
                         details={"studies": [c.to_json() for c in studies], "circulation_over_2pi_hbar": circ_n,
                                  "alpha": str(alpha), "h_levels": list(hs)})


def _wallstrom_mutations() -> dict[str, dict[str, Any]]:
    return {
        "integer_circulation": {"alpha": sp.Integer(1)},
        "quantum_potential_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
    }


_MODULES = (__file__,)
try:  # the derivation and solver modules define these claims too
    from nnqg.derivations import _madelung as _m
    from nnqg.derivations import _schrodinger as _d
    from nnqg.numerics import _schrodinger as _n
    from nnqg.numerics import _vortex as _v

    _MODULES = (__file__, _m.__file__, _d.__file__, _n.__file__, _v.__file__)
except ImportError:  # pragma: no cover
    pass

CLAIMS = [
    Claim(
        id="schrodinger.equivalence", section="4",
        statement="psi = sqrt(p) exp(iF/hbar) maps the Madelung pair to i hbar dpsi/dt = -(hbar^2/2m) lap psi "
                  "+ V psi and back: Re(S/psi) = -(quantum Hamilton-Jacobi), Im(S/psi) = hbar/(2p) (continuity); "
                  "a Crank-Nicolson solution's |psi|^2 and hbar arg psi satisfy the Madelung pair at order 2.",
        assumptions=ASSUMPTIONS + ("default potential V = q^2/2 + q^4/10 (override with --potential)",),
        default_inputs=equivalence_inputs, derivation=_equivalence_symbolic, calibration=_equivalence_numeric,
        mutations=_equivalence_mutations, modules=_MODULES,
    ),
    Claim(
        id="schrodinger.quantisation", section="4",
        statement="For a state with a vortex, psi ~ (z - z0)^n exp(-|z|^2), the circulation of grad F "
                  "(F = hbar arg psi) around any loop enclosing the node is 2 pi hbar n, n an integer "
                  "(0 for loops that do not enclose it).",
        assumptions=("F = hbar arg psi, psi single-valued",),
        default_inputs=quantisation_inputs, derivation=_quantisation_symbolic, calibration=_quantisation_numeric,
        mutations=_quantisation_mutations, modules=_MODULES,
    ),
    Claim(
        id="schrodinger.wallstrom_counterexample", section="4",
        statement="Wallstrom: p = r^(2|a|) exp(-m w r^2/hbar), F = hbar a theta - E t in V = m w^2 r^2/2 solves "
                  "both Madelung equations for non-integer a, yet its circulation 2 pi hbar a is not quantised "
                  "and no single-valued psi exists: Madelung alone is weaker than Schrodinger.",
        assumptions=ASSUMPTIONS + ("alpha = 1/2 by default",),
        default_inputs=wallstrom_inputs, derivation=_wallstrom_symbolic, calibration=_wallstrom_numeric,
        counterexample=True, mutations=_wallstrom_mutations, modules=_MODULES,
    ),
]

__all__ = ["CLAIMS", "default_potential"]
