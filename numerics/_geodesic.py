r"""Geodesics integrated with generated kernels.

The first-order geodesic system :math:`\dot x^m = u^m`, :math:`\dot u^m = -\Gamma^m{}_{ab}u^a u^b` (from
:func:`nnqg.derivations._geodesic.geodesic_equations`) is compiled by :func:`nnqg.numerics.compile_residual`:
fields = the state :math:`(x, u)`, outputs = the accelerations; conserved quantities are compiled the same
way. scipy's ``solve_ivp`` (DOP853 by default) integrates; its ``rtol``/``atol`` are the refinement parameter of
a convergence study.

>>> import sympy as sp
>>> from nnqg.derivations._geodesic import geodesic_equations
>>> t, x = sp.symbols("t x", real=True)
>>> sys = geodesic_equations(sp.diag(-1, 1), (t, x))
>>> k = geodesic_kernel(sys, name="doc_flat")
>>> sol = integrate_geodesic(k, sys, (0.0, 0.0), (1.0, 0.5), {}, 2.0, rtol=1e-10, atol=1e-12)
>>> round(float(sol.y[1, -1]), 9)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.derivations._geodesic import GeodesicSystem

from ._codegen import ResidualKernel, compile_residual


def geodesic_kernel(system: GeodesicSystem, *, name: str = "geodesic") -> ResidualKernel:
    """Kernel ``out[m, i] = -Gamma^m_ab u^a u^b`` at states ``(x_i, u_i)``."""
    labels = [f"du_{c.name}/ds" for c in system.coords]
    return compile_residual(list(zip(labels, system.accelerations)),
                            fields=list(system.coords) + list(system.velocities),
                            parameters=list(system.parameters), name=name)


def invariants_kernel(system: GeodesicSystem, invariants: Mapping[str, sp.Expr],
                      parameters: Sequence[sp.Symbol], *, name: str = "geodesic_invariants") -> ResidualKernel:
    """Kernel evaluating each invariant (e.g. E, L, the norm) along a sampled trajectory."""
    return compile_residual(list(invariants.items()), fields=list(system.coords) + list(system.velocities),
                            parameters=list(parameters), name=name)


@dataclass(frozen=True)
class GeodesicSolution:
    s: np.ndarray
    y: np.ndarray      # shape (2n, len(s)): x then u
    nfev: int
    status: int


def integrate_geodesic(kernel: ResidualKernel, system: GeodesicSystem, x0: Sequence[float], u0: Sequence[float],
                       params: Mapping[str, float], s_end: float, *, rtol: float, atol: float,
                       method: str = "DOP853", n_out: int = 2001) -> GeodesicSolution:
    """Integrate from ``(x0, u0)`` over ``[0, s_end]``; the output is sampled at ``n_out`` points."""
    from scipy.integrate import solve_ivp

    n = len(system.coords)
    if len(x0) != n or len(u0) != n:
        raise InvalidArgument(f"x0, u0 need {n} components each (coordinates {[c.name for c in system.coords]})")
    missing = [p for p in kernel.parameters if p not in params]
    if missing:
        raise InvalidArgument(f"integrate_geodesic: parameters {missing} have no value (given {sorted(params)})")
    pvals = [float(params[p]) for p in kernel.parameters]
    out = np.empty((n, 1))
    fn = kernel.compiled  # validated once here; the solver calls the compiled function directly (no wrapper cost)
    kernel(**{nm: [0.5] for nm in kernel.fields}, **dict(zip(kernel.parameters, pvals)))

    def rhs(_s: float, y: np.ndarray) -> np.ndarray:
        state = [y[i:i + 1].copy() for i in range(2 * n)]
        fn(*state, *pvals, out)
        return np.concatenate([y[n:], out[:, 0]])

    y0 = np.array(list(x0) + list(u0), dtype=float)
    s_eval = np.linspace(0.0, s_end, n_out)
    sol = solve_ivp(rhs, (0.0, s_end), y0, method=method, rtol=rtol, atol=atol, t_eval=s_eval)
    return GeodesicSolution(sol.t, sol.y, int(sol.nfev), int(sol.status))


def _on_solution(kernel: ResidualKernel, sol: GeodesicSolution, params: Mapping[str, float]) -> np.ndarray:
    return kernel(**{nm: sol.y[i] for i, nm in enumerate(kernel.fields)},
                  **{p: float(params[p]) for p in kernel.parameters})


def invariant_series(inv_kernel: ResidualKernel, sol: GeodesicSolution, params: Mapping[str, float]) \
        -> dict[str, np.ndarray]:
    """(I(s) - I(0)) / max(1, |I(0)|) along the sampled solution, for each invariant of ``inv_kernel``."""
    vals = _on_solution(inv_kernel, sol, params)
    return {lab: (v - v[0]) / max(1.0, abs(v[0])) for lab, v in zip(inv_kernel.labels, vals)}


def invariant_drift(inv_kernel: ResidualKernel, sol: GeodesicSolution, params: Mapping[str, float]) \
        -> dict[str, float]:
    """max_s |I(s) - I(0)| / max(1, |I(0)|) for each invariant of ``inv_kernel``."""
    return {lab: float(np.abs(v).max()) for lab, v in invariant_series(inv_kernel, sol, params).items()}


def first_order_drift(rate_kernel: ResidualKernel, inv_kernel: ResidualKernel, sol: GeodesicSolution,
                      params: Mapping[str, float]) -> dict[str, np.ndarray]:
    r"""The drift a perturbed connection adds to each invariant to first order: :math:`\int_0^s dI/ds'\,ds'`
    with ``rate_kernel`` giving :math:`dI/ds` on the perturbed flow (same labels as ``inv_kernel``), evaluated on
    the unperturbed solution (cumulative trapezoid), normalised like :func:`invariant_series`."""
    from scipy.integrate import cumulative_trapezoid

    rates = _on_solution(rate_kernel, sol, params)
    vals = _on_solution(inv_kernel, sol, params)
    return {lab: cumulative_trapezoid(r, sol.s, initial=0.0) / max(1.0, abs(v[0]))
            for lab, r, v in zip(rate_kernel.labels, rates, vals)}
