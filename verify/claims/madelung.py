r"""Claims `madelung.continuity` and `madelung.hamilton_jacobi` (docs/theory.md, section 3).

Derivation: the Euler-Lagrange equations of the learning action (SymPy ``euler_equations``, K = 1 and K = 2)
equal the stated continuity and quantum Hamilton-Jacobi forms exactly, and under m = 1/gamma, hbar^2 = c/gamma
they are Madelung's equations. For K = 1 one more step each: the weak (integrated-by-parts) form of the stated
continuity equation with the flux of the action; and gamma times the q-gradient of the Euler-Lagrange equation
for p, written in Nelson's velocities (v = gamma F_q, u = nu (ln p)_q, nu = sqrt(gamma c)/2), equals Nelson's
stochastic Newton law dv/dt + v v' - u u' - nu u'' + gamma V' = 0. The identities are checked with a generic
V(q); they hold for every real V, so a user's potential is checked by the same identities and enters the
calibration.

Calibration (:mod:`._nelson_calibration`): Nelson diffusions whose drift is computed from a constructed psi
(closed-form Gaussians, or a Crank-Nicolson solution for a user potential); the ensemble's density is compared
with the equations written with the model's F = hbar arg psi, in the learning parameters gamma, c. It calibrates
the simulator, estimators and kernels; it is not evidence about learning.
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy as sp

from nnqg.derivations import Step, is_zero
from nnqg.derivations._madelung import MadelungSymbols, NelsonSymbols, continuity, continuity_flux, \
    derivation_steps, euler_lagrange, identification, learning_action, madelung_standard, nelson_newton, \
    model_weak_velocity, nelson_nu, qhj_gradient_model, qhj_gradient_nelson, quantum_hamilton_jacobi, \
    weak_continuity_identity, weak_velocity
from nnqg.numerics._nelson import ScoreReplicates, richardson_targets, simulate, time_derivative_of_mean
from nnqg.numerics._nelson_states import nelson_drift, nelson_noise
from nnqg.numerics._schrodinger import crank_nicolson

from .._model import Claim, SymbolicResult
from ..learning import madelung as _learning
from nnqg.derivations import _madelung as _dm
from nnqg.numerics import _nelson as _nl
from nnqg.numerics import _nelson_states as _ns

from . import _monte_carlo, _plants
from . import _nelson_calibration as _cal
from ._plants import madelung_plants
from ._user import real_potential

ASSUMPTIONS = (
    "number of neurons fixed (canonical ensemble)",
    "p > 0 on the support of the ensemble",
    "m = 1/gamma and hbar^2 = c/gamma (named parameters)",
    "c > 0 built from D, gamma and the chemical-potential scale mu",
    "V real",
    "calibration: K = 1, Nelson diffusions nu = hbar gamma/2 of constructed states (closed-form free packet and "
    "coherent state; a user potential: a Crank-Nicolson solution), drift computed from psi",
)


def default_inputs() -> dict[str, Any]:
    """Inputs a user (or a planted error) may change: the action's coefficients (as functions of the symbols),
    the identification m(gamma, c), hbar^2(gamma, c), the potential V(q) (None = a generic V(q) for the
    derivation and the closed-form free packet and coherent state for the calibration), the calibration's
    settings (learning parameters, initial states) and its components (state factory, Schrodinger solver,
    Nelson drift and noise rules, SDE integrator, time-derivative estimator, increment targets, score estimator,
    kernel factory)."""
    return {
        "K_values": (1, 2),
        "kinetic_coefficient": lambda s: s.gamma / 2,
        "fisher_coefficient": lambda s: s.c / 8,
        "mass": lambda s: 1 / s.gamma,
        "hbar_squared": lambda s: s.c / s.gamma,
        "potential": None,  # a callable q-tuple -> SymPy expression, or None for a generic V(q)
        # calibration: learning parameters (m = 1.25, hbar = 0.75, nu = 0.3 under the paper's identification)
        "gamma_value": 0.8,
        "c_value": 0.45,
        # free packet: initial width s0, centre q0, F(0, q) = p0 q; coherent state of V = k q^2/2 from rest at q0;
        # a user potential: Gaussian of width s0 at q0 with momentum p0, Crank-Nicolson on `points` grid points
        # of the box [-box, box]
        "free_packet": {"s0": 0.4, "q0": 0.0, "p0": 0.625},
        "coherent_state": {"k": 1.0, "q0": 1.0},
        "user_state": {"s0": 0.5, "q0": 0.5, "p0": 0.0, "box": 12.5, "points": 1601},
        # calibration components (planted errors replace these: verify/claims/_plants.py)
        "states": _cal.nelson_states,
        "schrodinger_solver": crank_nicolson,
        "drift_rule": nelson_drift,
        "noise_rule": nelson_noise,
        "integrator": simulate,
        "time_derivative": time_derivative_of_mean,
        "increment_targets": richardson_targets,
        "score_estimator": ScoreReplicates,
        "kernel_factory": _cal.madelung_kernels,
    }


def _symbols(inputs: Mapping[str, Any], K: int) -> MadelungSymbols:
    """Symbols with a generic real V(q): the identities do not depend on V, and a concrete V would only slow
    SymPy down (or stop it: collect() cannot handle some derivatives of concrete functions)."""
    return MadelungSymbols.make(K)


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
                w_model = model_weak_velocity(J, s, n)
                checks.append(("K=1: the calibration's w(F_q) is w(v) at F_q = v/gamma",
                               _zero_or(weak_velocity(J, s, n) - w_model.subs(n.F_q, n.v / s.gamma))))
                extra = (Step("Flux of the action, J = dL/dF_q", J, sp.Symbol("J")),
                         Step("Weak form: int phi C dq = d/dt E[phi] - E[phi' w], w = J/p with F_q = v/gamma",
                              weak_velocity(J, s, n), sp.Symbol("w")),
                         Step("... in the jet of a given F (the calibration evaluates it with F = hbar arg psi)",
                              w_model, sp.Symbol("w")))
            else:
                newton = qhj_gradient_nelson(el["p"], s, n)
                checks.append(("K=1: gamma d_q(Euler-Lagrange for p) in Nelson variables minus Nelson's Newton "
                               "law, nu = sqrt(gamma c)/2",
                               _zero_or((newton - nelson_newton(s, n)).subs(n.nu, nelson_nu(s)))))
                model = qhj_gradient_model(el["p"], s, n)
                at_v = {n.F_q: n.v / s.gamma, n.F_qq: n.v_q / s.gamma, n.F_qt: n.v_t / s.gamma}
                checks.append(("K=1: the calibration's form (jet of a given F, measured u) is the Newton law at "
                               "F_q = v/gamma", _zero_or(model.subs(at_v) - newton)))
                extra = (Step("gamma d_q of the Euler-Lagrange equation for p, with p = exp(lambda), "
                              "lambda_q = u/nu, F_q = v/gamma", newton, sp.Symbol(r"\gamma\,\partial_q Q")),
                         Step("Nelson diffusion constant (hbar gamma / 2, hbar^2 = c/gamma)", nelson_nu(s), n.nu),
                         Step("Nelson's stochastic Newton law (stated)", nelson_newton(s, n), sp.Symbol("N")),
                         Step("... in the jet of a given F (the calibration evaluates it with F = hbar arg psi and "
                              "the ensemble's u)", model, sp.Symbol("N")))
            steps = tuple(steps) + extra
    if inputs["potential"] is not None:
        V = inputs["potential"](MadelungSymbols.make(min(inputs["K_values"])).q)
        real_potential(V, "potential")
        steps = tuple(steps) + (Step("The identities hold for every real V (checked with a generic V(q)); the "
                                     "input potential enters the calibration", V, sp.Symbol("V")),)
    return SymbolicResult(checks=tuple(checks), steps=steps)


def _mutations(which: str) -> dict[str, dict[str, Any]]:
    """Input-level planted errors (the action, the identification) and the simulator/estimator/kernel-level
    ones of :func:`._plants.madelung_plants`."""
    out: dict[str, dict[str, Any]] = {
        "kinetic_factor_2": {"kinetic_coefficient": lambda s: s.gamma},
        "mass_factor_2": {"mass": lambda s: 2 / s.gamma},
        "hbar_squared_factor_2": {"hbar_squared": lambda s: 2 * s.c / s.gamma},
    }
    if which == "hamilton_jacobi":
        out["fisher_sign_flipped"] = {"fisher_coefficient": lambda s: -s.c / 8}
    out.update(madelung_plants(which))
    return out


_MODULES = (__file__, _cal.__file__, _monte_carlo.__file__, _plants.__file__, _dm.__file__, _nl.__file__,
            _ns.__file__)
_NOTE = ("the calibration is one-dimensional (K = 1); Nelson diffusions of constructed states, not a learning "
         "system")


def _claim(cid: str, which: str, statement: str) -> Claim:
    return Claim(id=cid, section="3", statement=statement, assumptions=ASSUMPTIONS, default_inputs=default_inputs,
                 derivation=lambda inp: _symbolic(inp, which),
                 calibration=lambda ctx, inp: _cal.calibrate(ctx, inp, which),
                 learning=getattr(_learning, f"{which}_evidence"),
                 mutations=lambda: _mutations(which), modules=_MODULES, calibration_note=_NOTE,
                 potential_input="potential")


CLAIMS = [
    _claim("madelung.continuity", "continuity",
           "Varying the learning action in the free energy F gives the continuity equation "
           "dp/dt + gamma div(p grad F) = 0, Madelung's continuity equation with m = 1/gamma."),
    _claim("madelung.hamilton_jacobi", "hamilton_jacobi",
           "Varying the learning action in the density p gives the quantum Hamilton-Jacobi equation "
           "dF/dt + (gamma/2)|grad F|^2 + V - (c/2) lap(sqrt p)/sqrt p = 0, i.e. Madelung's with Bohm's "
           "quantum potential, hbar^2 = c/gamma."),
]
