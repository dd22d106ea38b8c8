"""Planted errors at the simulator, estimator and kernel level for the quantum claims.

Each variant here replaces one *component* input of a claim (a drift rule, a noise rule, a state factory, an
estimator, a kernel factory, a solver) by a wrong one; a claim's ``mutations()`` map a name to such an input
override, so ``nnqg selftest`` plants them through :func:`nnqg.verify.run_claim` exactly like a user's input. The
real components carry no switches: the variants live here, used only by the mutation lists and the tests.

Names say the level: ``simulator_*`` (the constructed trajectories or solution), ``estimator_*`` (how a quantity
is measured from them), ``kernel_*`` (the generated equations in the numeric part only, the derivation untouched).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from nnqg.derivations._schrodinger import madelung_pair
from nnqg.numerics._nelson import simulate
from nnqg.numerics._nelson_states import nelson_drift, nelson_noise
from nnqg.numerics._schrodinger import crank_nicolson

# ---------------------------------------------------------------------------------------------- Nelson simulator


def drift_osmotic_sign_flipped(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    """b = v - u."""
    return (hbar / m) * (ratio.imag - ratio.real)


def drift_without_osmotic_term(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    """b = v (the current velocity only)."""
    return (hbar / m) * ratio.imag


def drift_velocity_sign_flipped(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    """b = u - v."""
    return (hbar / m) * (ratio.real - ratio.imag)


def drift_gradient_descent(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    """Plain gradient descent on U = 0.4 q^2: b = -0.8 q, whatever psi is."""
    return -0.8 * np.asarray(q, dtype=float)


def noise_doubled(hbar: float, m: float) -> float:
    """nu x 2."""
    return 2.0 * nelson_noise(hbar, m)


def drift_hbar_doubled(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    return nelson_drift(q, ratio, 2.0 * hbar, m)


def noise_hbar_doubled(hbar: float, m: float) -> float:
    return nelson_noise(2.0 * hbar, m)


def euler_maruyama(q_init: np.ndarray, drift: Any, nu: float, h: float, steps: Any, rng: np.random.Generator,
                   **kw: Any) -> np.ndarray:
    """The first-order (weak order 1) Euler-Maruyama scheme instead of stochastic Heun."""
    return simulate(q_init, drift, nu, h, steps, rng, scheme="euler", **kw)


def states_with_mass_gamma(u: Any, inputs: Any, t_end: float, h: float) -> Any:
    """The numeric part's states built with m = gamma instead of the identification's m."""
    from ._nelson_calibration import nelson_states

    return nelson_states(replace(u, m=u.gamma), inputs, t_end, h)


# ---------------------------------------------------------------------------------------------- Nelson estimators

def forward_time_derivative(values: Any, dt: float) -> np.ndarray:
    """A first-order forward difference (f_{+1} - f_0)/Delta instead of the fourth-order central one."""
    return (values[3] - values[2]) / dt


def targets_without_richardson(Q: Any, dt: float, c: int) -> np.ndarray:
    """Increments over Delta only: v_Delta, u_Delta (u_Delta has an O(Delta) bias)."""
    yv = (Q[c + 1] - Q[c - 1]) / (2.0 * dt)
    yu = (Q[c + 1] - 2.0 * Q[c] + Q[c - 1]) / (2.0 * dt)
    return np.stack([yv, yu], axis=1)


def scaled_kernels(*, kinetic: float = 1.0, fisher: float = 1.0) -> Callable[..., Any]:
    """A kernel factory whose action has its kinetic / Fisher (quantum-potential) coefficient scaled, in the
    numeric kernels only (the derivation keeps the input action)."""
    from ._nelson_calibration import madelung_kernels

    def factory(kin: Any, fis: Any, potential: Any, count: int) -> Any:
        return madelung_kernels(kinetic * kin, fisher * fis, potential, count)

    return factory


def madelung_plants(which: str) -> dict[str, dict[str, Any]]:
    """Simulator-, estimator- and kernel-level planted errors of the Madelung calibration for ``which``."""
    out: dict[str, dict[str, Any]] = {
        "simulator_osmotic_sign_flipped": {"drift_rule": drift_osmotic_sign_flipped},
        "simulator_no_osmotic_term": {"drift_rule": drift_without_osmotic_term},
        "simulator_velocity_sign_flipped": {"drift_rule": drift_velocity_sign_flipped},
        "simulator_gradient_descent_drift": {"drift_rule": drift_gradient_descent},
        "simulator_noise_x2": {"noise_rule": noise_doubled},
        "simulator_hbar_x2": {"drift_rule": drift_hbar_doubled, "noise_rule": noise_hbar_doubled},
        "simulator_mass_equals_gamma": {"states": states_with_mass_gamma},
        "estimator_richardson_removed": {"increment_targets": targets_without_richardson},
    }
    if which == "continuity":
        out["estimator_forward_time_derivative"] = {"time_derivative": forward_time_derivative}
        out["kernel_velocity_x1.5"] = {"kernel_factory": scaled_kernels(kinetic=1.5)}
    else:
        out["kernel_quantum_potential_x2"] = {"kernel_factory": scaled_kernels(fisher=2.0)}
    return out


# ---------------------------------------------------------------------------------------------- Schrodinger

def solver_with_V_sign_flipped(V: Any, psi0: Any, x: np.ndarray, dt: float, n_steps: int, **kw: Any) -> Any:
    """Crank-Nicolson solving i hbar psi_t = -(hbar^2/2m) psi'' - V psi (the sign of V flipped)."""
    return crank_nicolson(lambda z: -np.asarray(V(z), dtype=float), psi0, x, dt, n_steps, **kw)


def solver_with_hbar_doubled(V: Any, psi0: Any, x: np.ndarray, dt: float, n_steps: int, *, hbar: float = 1.0,
                             **kw: Any) -> Any:
    """Crank-Nicolson run with 2 hbar (the solve only; the equations keep hbar)."""
    sol = crank_nicolson(V, psi0, x, dt, n_steps, hbar=2 * hbar, **kw)
    return replace(sol, hbar=hbar)


def forward_time_difference(f: np.ndarray, i: int, dt: float, sub: Any = np.subtract) -> np.ndarray:
    """(f_{i+1} - f_i)/dt: first order."""
    return sub(f[i + 1], f[i]) / dt


def pair_with_quantum_potential(scale: float) -> Callable[..., Any]:
    """A ``kernel_pair`` whose action has the Fisher (quantum-potential) coefficient scaled, in the kernel only."""

    def pair(s: Any, *, fisher_coefficient: Any, **kw: Any) -> Any:
        return madelung_pair(s, fisher_coefficient=scale * fisher_coefficient, **kw)

    return pair


def forward_gradient(f: np.ndarray, hx: float, hy: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided (forward) differences, first order (the last row/column repeats the one before)."""
    gx = np.empty_like(f)
    gy = np.empty_like(f)
    gx[:-1] = (f[1:] - f[:-1]) / hx
    gx[-1] = gx[-2]
    gy[:, :-1] = (f[:, 1:] - f[:, :-1]) / hy
    gy[:, -1] = gy[:, -2]
    return gx, gy


def left_point_circulation(vx: np.ndarray, vy: np.ndarray, x: np.ndarray, y: np.ndarray,
                           box: tuple[float, float, float, float]) -> float:
    """The loop integral with the left-point rule on each side (first order) instead of the trapezoid."""
    x0, x1, y0, y1 = box
    h = x[1] - x[0]
    i0, i1 = int(round((x0 - x[0]) / h)), int(round((x1 - x[0]) / h))
    j0, j1 = int(round((y0 - y[0]) / h)), int(round((y1 - y[0]) / h))
    return float(h * (vx[i0:i1, j0].sum() + vy[i1, j0:j1].sum() - vx[i0:i1, j1].sum() - vy[i0, j0:j1].sum()))


def equivalence_plants() -> dict[str, dict[str, Any]]:
    return {
        "simulator_V_sign_flipped_in_solver": {"solver": solver_with_V_sign_flipped},
        "simulator_hbar_x2_in_solver": {"solver": solver_with_hbar_doubled},
        "estimator_forward_time_difference": {"time_difference": forward_time_difference},
        "kernel_quantum_potential_x1.5": {"kernel_pair": pair_with_quantum_potential(1.5)},
    }


def quantisation_plants() -> dict[str, dict[str, Any]]:
    return {
        "estimator_forward_difference_gradient": {"gradient": forward_gradient},
        "estimator_left_point_circulation": {"circulation": left_point_circulation},
    }


def wallstrom_plants() -> dict[str, dict[str, Any]]:
    return {"kernel_quantum_potential_x1.5": {"kernel_pair": pair_with_quantum_potential(1.5)}}


__all__ = ["drift_gradient_descent", "equivalence_plants", "forward_gradient", "forward_time_difference",
           "left_point_circulation", "pair_with_quantum_potential", "quantisation_plants",
           "solver_with_V_sign_flipped", "solver_with_hbar_doubled", "wallstrom_plants", "drift_osmotic_sign_flipped", "drift_velocity_sign_flipped",
           "drift_without_osmotic_term", "euler_maruyama", "forward_time_derivative", "madelung_plants",
           "noise_doubled", "scaled_kernels", "states_with_mass_gamma", "targets_without_richardson"]
