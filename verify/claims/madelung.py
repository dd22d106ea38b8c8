"""Claims `madelung.continuity` and `madelung.hamilton_jacobi` (PHYSICS.md section 3).

Symbolic: the Euler-Lagrange equations of the learning action (SymPy ``euler_equations``, K = 1 and K = 2)
equal the stated continuity and quantum Hamilton-Jacobi forms exactly, and under m = 1/gamma, hbar^2 = c/gamma
they are Madelung's equations.
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy as sp

from nnqg.derivations import is_zero
from nnqg.derivations._madelung import MadelungSymbols, continuity, derivation_steps, euler_lagrange, \
    identification, learning_action, madelung_standard, quantum_hamilton_jacobi

from .._model import Claim, SymbolicResult

ASSUMPTIONS = (
    "number of neurons fixed (canonical ensemble)",
    "p > 0 on the support of the ensemble",
    "m = 1/gamma and hbar^2 = c/gamma (named parameters)",
    "c > 0 built from D, gamma and the chemical-potential scale mu",
)


def default_inputs() -> dict[str, Any]:
    """Inputs a user (or a planted error) may change: the action's coefficients (as functions of the symbols),
    the identification m(gamma, c), hbar^2(gamma, c), the potential V(q) (None = an arbitrary function)."""
    return {
        "K_values": (1, 2),
        "kinetic_coefficient": lambda s: s.gamma / 2,
        "fisher_coefficient": lambda s: s.c / 8,
        "mass": lambda s: 1 / s.gamma,
        "hbar_squared": lambda s: s.c / s.gamma,
        "potential": None,  # a callable q-tuple -> SymPy expression, or None for a generic V(q)
    }


def _symbols(inputs: Mapping[str, Any], K: int) -> MadelungSymbols:
    s = MadelungSymbols.make(K)
    pot = inputs["potential"]
    if pot is not None:
        s = MadelungSymbols.make(K, potential=pot(s.q))
    return s


def _symbolic(inputs: Mapping[str, Any], which: str) -> SymbolicResult:
    checks: list[tuple[str, sp.Expr]] = []
    steps = ()
    for K in inputs["K_values"]:
        s = _symbols(inputs, K)
        L = learning_action(s, kinetic_coefficient=inputs["kinetic_coefficient"](s),
                           fisher_coefficient=inputs["fisher_coefficient"](s))
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
        checks.append((f"K={K}: Euler-Lagrange minus stated {which}", sp.S.Zero if is_zero(d1) else sp.simplify(d1)))
        checks.append((f"K={K}: stated {which} minus Madelung form (m, hbar)",
                       sp.S.Zero if is_zero(d2) else sp.simplify(d2)))
        if not steps:
            steps = derivation_steps(s, L, el)
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _mutations() -> dict[str, dict[str, Any]]:
    return {
        "fisher_sign_flipped": {"fisher_coefficient": lambda s: -s.c / 8},
        "kinetic_factor_2": {"kinetic_coefficient": lambda s: s.gamma},
        "mass_factor_2": {"mass": lambda s: 2 / s.gamma},
        "hbar_squared_factor_2": {"hbar_squared": lambda s: 2 * s.c / s.gamma},
    }


CLAIMS = [
    Claim(
        id="madelung.continuity", section="3",
        statement="Varying the learning action in the free energy F gives the continuity equation "
                  "dp/dt + gamma div(p grad F) = 0, Madelung's continuity equation with m = 1/gamma.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs,
        symbolic=lambda inp: _symbolic(inp, "continuity"),
        mutations=lambda: {k: v for k, v in _mutations().items() if k != "fisher_sign_flipped"},
        modules=(__file__,),
    ),
    Claim(
        id="madelung.hamilton_jacobi", section="3",
        statement="Varying the learning action in the density p gives the quantum Hamilton-Jacobi equation "
                  "dF/dt + (gamma/2)|grad F|^2 + V - (c/2) lap(sqrt p)/sqrt p = 0, i.e. Madelung's with Bohm's "
                  "quantum potential, hbar^2 = c/gamma.",
        assumptions=ASSUMPTIONS, default_inputs=default_inputs,
        symbolic=lambda inp: _symbolic(inp, "hamilton_jacobi"),
        mutations=_mutations, modules=(__file__,),
    ),
]
