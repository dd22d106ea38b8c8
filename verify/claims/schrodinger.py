r"""Claims `schrodinger.equivalence`, `schrodinger.quantisation`, `schrodinger.wallstrom_counterexample`
(docs/theory.md, section 4).

* **equivalence** -- symbolic: :math:`\psi = \sqrt p e^{iF/\hbar}` maps the Madelung pair (the Euler-Lagrange
  equations of the learning action with :math:`\gamma = 1/m`, :math:`c = \hbar^2/m`) to the Schrodinger equation
  and back, K = 1 (the input potential) and K = 2 (a generic real V): :math:`\operatorname{Re}(S/\psi) = -Q`,
  :math:`\operatorname{Im}(S/\psi) = \hbar C/(2p)`; with :math:`\psi = a+ib`,
  :math:`C = (2/\hbar)(a\operatorname{Im}S - b\operatorname{Re}S)`,
  :math:`Q = -(a\operatorname{Re}S + b\operatorname{Im}S)/|\psi|^2`.
  Calibration (:mod:`._schrodinger_calibration`): a Crank-Nicolson solve of a Gaussian packet in the potential;
  :math:`p = |\psi|^2`, :math:`F = \hbar\arg\psi` (unwrapped) are put through kernels generated from the same SymPy
  Madelung residuals, with second-order differences in q and t, dx and dt refined together (dt/dx from a stated
  time-step rule: Courant number of the fastest admitted phase <= 1, dt <= dx/2); the residual must fall at
  order 2 (Crank-Nicolson's order) where the grid resolves the state.
* **quantisation** -- :math:`\psi = (z - z_0)^n e^{-|z|^2}`: :math:`\nabla F` (F = hbar arg psi) is curl-free and
  its circulation around the node is exactly :math:`2\pi\hbar n` (SymPy); calibration: :math:`\nabla F` from a
  kernel generated from SymPy's derivative of :math:`\hbar\,\mathrm{atan2}(b, a)` on finite differences of the
  sampled field, integrated around rectangles (trapezoid) that do / do not enclose the node, gives
  circulation/(2 pi hbar) within O(h^2) of the enclosed winding.
* **wallstrom_counterexample** -- :math:`p = r^{2|\alpha|}e^{-m\omega r^2/\hbar}`, :math:`F = \hbar\alpha\theta - Et`
  in :math:`V = m\omega^2r^2/2` solves both Madelung equations exactly for every real alpha, but the
  circulation :math:`2\pi\hbar\alpha` is not quantised for non-integer alpha, so no single-valued psi exists
  (monodromy :math:`e^{2\pi i\alpha} \ne 1`). REPRODUCED when both facts are shown, symbolically and numerically.
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy as sp

from nnqg.derivations import InvalidArgument, Step, is_zero
from nnqg.derivations._madelung import MadelungSymbols
from nnqg.derivations._schrodinger import backward_identities, circle_circulation, curl2d, equivalence_steps, \
    forward_identities, madelung_pair, monodromy, phase_gradient, substitute_flow, vortex_state, wallstrom_flow
from nnqg.numerics._schrodinger import crank_nicolson
from nnqg.numerics._vortex import central_gradient, rectangle_circulation

from .._model import Claim, NumericContext, NumericResult, SymbolicResult
from ..learning import madelung as _madelung_learning, quantisation as _quantisation_learning
from . import _schrodinger_calibration as _cal
from nnqg.derivations import _madelung as _m
from nnqg.derivations import _schrodinger as _d
from nnqg.numerics import _schrodinger as _n
from nnqg.numerics import _vortex as _v

from . import _plants
from ._plants import equivalence_plants, quantisation_plants, wallstrom_plants
from ._user import real_potential

ASSUMPTIONS = (
    "m = 1/gamma and hbar^2 = c/gamma (named parameters)",
    "p > 0 where the Madelung pair is evaluated (psi != 0)",
    "V real",
)

def _pair_inputs() -> dict[str, Any]:
    """The Madelung pair under test: learning-action coefficients and the identification (as functions of the
    symbols), exactly as in the `madelung.*` claims."""
    return {
        "kinetic_coefficient": lambda s: s.gamma / 2,
        "fisher_coefficient": lambda s: s.c / 8,
        "mass": lambda s: 1 / s.gamma,
        "hbar_squared": lambda s: s.c / s.gamma,
    }


def _pair(inputs: Mapping[str, Any], s: MadelungSymbols, kinetic_scale: Any = 1, fisher_scale: Any = 1,
          pair: Any = madelung_pair) -> tuple[sp.Expr, sp.Expr]:
    """The Madelung pair of the input action and identification (``pair``: the function that forms it; the
    calibrations pass their ``kernel_pair`` input), optionally with the coefficients scaled (power terms)."""
    return pair(s, kinetic_coefficient=kinetic_scale * inputs["kinetic_coefficient"](s),
                fisher_coefficient=fisher_scale * inputs["fisher_coefficient"](s), mass=inputs["mass"](s),
                hbar_squared=inputs["hbar_squared"](s))


def _kernel_pairs(inputs: Mapping[str, Any], s: MadelungSymbols, V: sp.Expr | None = None):
    """``pairs(kinetic_scale, fisher_scale)`` for a calibration: the pair formed by the ``kernel_pair`` input with
    a generic V, the concrete V substituted afterwards (SymPy never manipulates the user's V)."""
    def pairs(kin: Any, fis: Any) -> tuple[sp.Expr, sp.Expr]:
        C, Q = _pair(inputs, s, kin, fis, inputs["kernel_pair"])
        if V is None:
            return C, Q
        return C.subs(s.V, V).doit(), Q.subs(s.V, V).doit()

    return pairs


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
        # residuals are taken where p >= threshold * max p and the grid resolves the state (_schrodinger_calibration)
        "density_threshold": 1e-6,
        # calibration components (planted errors replace these: verify/claims/_plants.py)
        "solver": crank_nicolson,
        "time_difference": _cal.central_time_difference,
        "space_difference": _cal.second_differences,
        "kernel_pair": madelung_pair,
    }


def equivalence_grids(inputs: Mapping[str, Any], quick: bool) -> list:
    """The grids on which the equivalence calibration evaluates the potential (for --potential validation)."""
    return _cal.equivalence_grids(inputs, quick)


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
    real_potential(V, "potential")
    return V


def _generic(K: int) -> MadelungSymbols:
    """Symbols with a generic real V(q): the identities hold for every real V, and SymPy is never asked to
    simplify a user's concrete V (collect() cannot handle some of their derivatives)."""
    base = MadelungSymbols.make(K)
    return MadelungSymbols.make(K, potential=sp.Function("V", real=True)(*base.q))


def _equivalence_symbolic(inputs: Mapping[str, Any]) -> SymbolicResult:
    checks: list[tuple[str, sp.Expr]] = []
    steps: tuple = ()
    for K in inputs["K_values"]:
        s = _generic(K)
        V = None if inputs["potential"] is default_potential and K == 2 else _call_potential(inputs["potential"],
                                                                                             MadelungSymbols.make(K))
        pair = _pair(inputs, s)
        for lab, e in forward_identities(s, pair):
            checks.append((f"K={K} forward: {lab}", e))
        for lab, e in backward_identities(s, pair):
            checks.append((f"K={K} backward: {lab}", e))
        if not steps:
            steps = tuple(equivalence_steps(s, pair))
        if V is not None and K == min(inputs["K_values"]):
            steps += (Step("The identities hold for every real V (checked with a generic V); the input potential "
                           "enters the calibration", V, sp.Symbol("V")),)
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _equivalence_numeric(ctx: NumericContext, inputs: Mapping[str, Any]) -> NumericResult:
    if 1 not in tuple(inputs["K_values"]):
        return NumericResult.not_run("the calibration solves the 1-D Schrodinger equation: a potential in q1, q2 "
                                     "is checked by the derivation only", K_values=list(inputs["K_values"]))
    V = _call_potential(inputs["potential"], MadelungSymbols.make(1))
    s = _generic(1)
    return _cal.equivalence_calibration(ctx, inputs, s, V, _kernel_pairs(inputs, s, V))


def _equivalence_mutations() -> dict[str, dict[str, Any]]:
    return {
        "quantum_potential_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
        "mass_factor_2": {"mass": lambda s: 2 / s.gamma},
        "first_order_stepper": {"method": "backward_euler"},
        **equivalence_plants(),
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
        # calibration components (planted errors replace these: verify/claims/_plants.py)
        "gradient": central_gradient,
        "circulation": rectangle_circulation,
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


def _quantisation_mutations() -> dict[str, dict[str, Any]]:
    return {"wrong_hbar_in_circulation": {"circulation_quantum": lambda hbar: 2 * sp.pi * (3 * hbar / 2)},
            **quantisation_plants()}


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
        # calibration components (planted errors replace these: verify/claims/_plants.py)
        "gradient": central_gradient,
        "circulation": rectangle_circulation,
        "kernel_pair": madelung_pair,
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
    s, p, F, alpha, omega = _wallstrom_symbols(inputs)
    return _cal.wallstrom_calibration(ctx, inputs, s, p, F, alpha, omega, _kernel_pairs(inputs, s))


def _wallstrom_mutations() -> dict[str, dict[str, Any]]:
    return {
        "integer_circulation": {"alpha": sp.Integer(1)},
        "quantum_potential_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
        **wallstrom_plants(),
    }


_MODULES = (__file__, _cal.__file__, _plants.__file__, _m.__file__, _d.__file__, _n.__file__, _v.__file__)

CLAIMS = [
    Claim(
        id="schrodinger.equivalence", section="4",
        statement="psi = sqrt(p) exp(iF/hbar) maps the Madelung pair to i hbar dpsi/dt = -(hbar^2/2m) lap psi "
                  "+ V psi and back, wherever psi != 0: Re(S/psi) = -(quantum Hamilton-Jacobi), Im(S/psi) = "
                  "hbar/(2p) (continuity).",
        assumptions=ASSUMPTIONS + ("calibration: a Crank-Nicolson solution in V = q^2/2 + q^4/10 by default "
                                   "(override with --potential), evaluated where the grid resolves it",),
        default_inputs=equivalence_inputs, derivation=_equivalence_symbolic, calibration=_equivalence_numeric,
        learning=_madelung_learning.schrodinger_evidence,
        mutations=_equivalence_mutations, modules=_MODULES, potential_input="potential",
    ),
    Claim(
        id="schrodinger.quantisation", section="4",
        statement="For a state with a vortex, psi ~ (z - z0)^n exp(-|z|^2), the circulation of grad F "
                  "(F = hbar arg psi) around any loop enclosing the node is 2 pi hbar n, n an integer "
                  "(0 for loops that do not enclose it).",
        assumptions=("F = hbar arg psi, psi single-valued",),
        default_inputs=quantisation_inputs, derivation=_quantisation_symbolic,
        calibration=_cal.quantisation_calibration,
        learning=_quantisation_learning.quantisation_evidence,
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
        learning_note="a mathematical counterexample with no learning experiment of its own; its learning "
                      "counterpart is the negative control of schrodinger.quantisation (docs/experiments.md, Q3)",
    ),
]

__all__ = ["CLAIMS", "default_potential", "equivalence_grids", "equivalence_inputs"]
