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
from typing import Callable, Mapping, Sequence

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
    """``s``, ``y``: the solution sampled at ``n_out`` points by the dense output (shape (2n, len(s)): x then u);
    ``s_steps``, ``y_steps``: at the integrator's accepted steps, the only points where its error control acts
    (the dense output between them is an interpolant whose error the tolerance does not control); ``dense``: the
    dense output, callable on an array of s."""

    s: np.ndarray
    y: np.ndarray
    nfev: int
    status: int
    s_steps: np.ndarray | None = None
    y_steps: np.ndarray | None = None
    dense: Callable[[np.ndarray], np.ndarray] | None = None


def integrate_geodesic(kernel: ResidualKernel, system: GeodesicSystem, x0: Sequence[float], u0: Sequence[float],
                       params: Mapping[str, float], s_end: float, *, rtol: float, atol: float,
                       method: str = "DOP853", n_out: int = 2001) -> GeodesicSolution:
    """Integrate from ``(x0, u0)`` over ``[0, s_end]``; the output is kept at the accepted steps and sampled at
    ``n_out`` points (those up to where the solver stopped)."""
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
    sol = solve_ivp(rhs, (0.0, s_end), y0, method=method, rtol=rtol, atol=atol, dense_output=True)
    s_eval = np.linspace(0.0, s_end, n_out)
    s_eval = s_eval[s_eval <= sol.t[-1]]
    return GeodesicSolution(s_eval, sol.sol(s_eval), int(sol.nfev), int(sol.status), sol.t, sol.y, sol.sol)


def _on_states(kernel: ResidualKernel, y: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    return kernel(**{nm: np.ascontiguousarray(y[i]) for i, nm in enumerate(kernel.fields)},
                  **{p: float(params[p]) for p in kernel.parameters})


def _steps(sol: GeodesicSolution) -> tuple[np.ndarray, np.ndarray]:
    if sol.s_steps is None or sol.y_steps is None:
        raise InvalidArgument("sol: this GeodesicSolution has no accepted steps (make it with integrate_geodesic)")
    return sol.s_steps, sol.y_steps


def step_increments(inv_kernel: ResidualKernel, sol: GeodesicSolution, params: Mapping[str, float]) \
        -> dict[str, np.ndarray]:
    r"""The change of each invariant over each accepted step,
    :math:`(I(y_{k+1}) - I(y_k)) / \max(1, |I(y_0)|)`. The exact flow conserves I, so each increment is the
    projection :math:`\nabla I\cdot\ell_k` of the step's local error :math:`\ell_k` (to first order): the part of
    the error the tolerance controls, step by step, before errors of opposite sign cancel in the running sum
    :math:`I(y_k) - I(y_0)`. The sum of their absolute values is the invariant's total variation over the
    accepted steps, an upper bound on its drift there."""
    _, y = _steps(sol)
    vals = _on_states(inv_kernel, y, params)
    return {lab: np.diff(v) / max(1.0, abs(v[0])) for lab, v in zip(inv_kernel.labels, vals)}


def first_order_step_drift(rate_kernel: ResidualKernel, inv_kernel: ResidualKernel, sol: GeodesicSolution,
                           params: Mapping[str, float], *, nodes: int = 8) -> dict[str, np.ndarray]:
    r"""What a perturbed connection adds to each step's increment (:func:`step_increments`) to first order:
    :math:`\int_{s_k}^{s_{k+1}} dI/ds\,ds` with ``rate_kernel`` giving :math:`dI/ds` on the perturbed flow (same
    labels as ``inv_kernel``), evaluated on the unperturbed solution's dense output by ``nodes``-point
    Gauss-Legendre quadrature on each step, normalised like :func:`step_increments`."""
    s, y = _steps(sol)
    if sol.dense is None:
        raise InvalidArgument("sol: this GeodesicSolution has no dense output (make it with integrate_geodesic)")
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = np.diff(s) / 2.0
    at = (s[:-1] + half)[:, None] + half[:, None] * x[None, :]           # (steps, nodes)
    rates = _on_states(rate_kernel, sol.dense(at.ravel()), params)       # (invariants, steps * nodes)
    scale = _on_states(inv_kernel, y[:, :1], params)[:, 0]
    return {lab: half * (r.reshape(at.shape) @ w) / max(1.0, abs(v))
            for lab, r, v in zip(rate_kernel.labels, rates, scale)}


def schwarzschild_radial_period(mass: float, energy: float, angular_momentum: float,
                                r0: float | None = None) -> float:
    r"""Proper-time radial period of a bound Schwarzschild geodesic with specific energy E and angular momentum L.

    :math:`(dr/ds)^2 = E^2 - (1 - 2M/r)(1 + L^2/r^2) = (1 - E^2)(r_a - r)(r - r_p)(r - r_3)/r^3` with the roots
    :math:`r_3 < r_p \le r_a` of :math:`(E^2 - 1) r^3 + 2M r^2 - L^2 r + 2 M L^2`; with
    :math:`r = (r_a + r_p)/2 + (r_a - r_p)\cos\chi/2` the period
    :math:`T_r = 2\int_{r_p}^{r_a} dr/|dr/ds| = 2\int_0^\pi d\chi\,\sqrt{r^3/((1 - E^2)(r - r_3))}` has a smooth
    integrand (quadrature). Newtonian limit: :math:`2\pi a^{3/2}/\sqrt{M}`, a the semi-major axis. A circular
    orbit (:math:`r_p = r_a`, a double root that rounding can split into a complex pair) gives the limit of the
    integral, the epicyclic period. With ``r0`` (a point of the orbit where dr/ds = 0) the orbit must lie between
    the two turning points: r0 at :math:`r_3` is an orbit that plunges, refused.

    >>> M, rp, ra = 1.0, 5e5, 1.5e6   # turning points far out: the Newtonian limit
    >>> V = lambda r, L2: (1 - 2 * M / r) * (1 + L2 / r**2)
    >>> L2 = (2 * M / ra - 2 * M / rp) / ((1 - 2 * M / ra) / ra**2 - (1 - 2 * M / rp) / rp**2)  # V(rp) = V(ra)
    >>> T = schwarzschild_radial_period(M, V(ra, L2) ** 0.5, L2 ** 0.5)
    >>> round(T / (2 * np.pi * ((ra + rp) / 2) ** 1.5 / M ** 0.5), 5)
    1.0
    """
    from scipy.integrate import quad

    e2, l2 = float(energy) ** 2, float(angular_momentum) ** 2
    m = float(mass)
    roots = np.roots([e2 - 1.0, 2.0 * m, -l2, 2.0 * m * l2])
    # 1e-6: a double root's split under rounding is O(sqrt(eps)) relative, about 1e-8
    bound = m > 0 and e2 < 1.0 and bool(np.all(np.abs(roots.imag) <= 1e-6 * np.abs(roots).max()))
    r3, rp, ra = np.sort(roots.real) if bound else (np.nan,) * 3
    if not (bound and 0.0 <= r3 < rp <= ra):
        raise InvalidArgument(f"(mass, energy, angular_momentum) = ({mass}, {energy}, {angular_momentum}): not a "
                              "bound orbit between two turning points; give E < 1 and L beyond the last stable orbit")
    if r0 is not None and not rp * (1 - 1e-9) <= float(r0) <= ra * (1 + 1e-9):
        raise InvalidArgument(f"r0 = {r0}: not between the turning points {rp:.6g} and {ra:.6g} of the orbit with "
                              f"(mass, energy, angular_momentum) = ({mass}, {energy}, {angular_momentum}); it "
                              "plunges into the horizon")

    def integrand(chi: float) -> float:
        r = (ra + rp) / 2.0 + (ra - rp) / 2.0 * np.cos(chi)
        return float(np.sqrt(r**3 / ((1.0 - e2) * (r - r3))))

    return 2.0 * quad(integrand, 0.0, np.pi, epsabs=0.0, epsrel=1e-10)[0]
