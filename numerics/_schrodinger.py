r"""A 1-D Schrodinger solver: Crank-Nicolson in time, second-order finite differences in space.

Solves :math:`i\hbar\,\partial_t\psi = H\psi`, :math:`H = -\frac{\hbar^2}{2m}\partial_x^2 + V(x)`, on a uniform
grid :math:`x_0 < \dots < x_{N-1}` with :math:`\psi(x_0) = \psi(x_{N-1}) = 0` (a box; put the walls where the
state is negligible). With :math:`H_h` the three-point discretisation of H on the interior points, the
:math:`\theta`-scheme is

.. math:: \Big(I + \frac{i\theta\,\delta t}{\hbar} H_h\Big)\psi^{n+1}
          = \Big(I - \frac{i(1-\theta)\,\delta t}{\hbar} H_h\Big)\psi^{n}.

:math:`\theta = 1/2` is Crank-Nicolson: unitary (the discrete norm :math:`\sum|\psi|^2\delta x` is conserved to
round-off) and second order in both :math:`\delta t` and :math:`\delta x`. :math:`\theta = 1` is backward Euler,
first order and dissipative; it is offered so a convergence study can be shown to detect a first-order stepper.
The tridiagonal left-hand matrix is factorised once (SciPy's sparse LU) and reused every step.

>>> import numpy as np
>>> x = np.linspace(-10.0, 10.0, 401)
>>> sol = crank_nicolson(lambda x: 0.5 * x**2, np.exp(-(x - 1.0)**2 / 2), x, dt=0.01, n_steps=100,
...                      record_every=50)
>>> sol.psi.shape, sol.t.tolist()
((3, 401), [0.0, 0.5, 1.0])
>>> bool(abs(sol.norm()[-1] / sol.norm()[0] - 1) < 1e-12)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import scipy.sparse as sps
from scipy.sparse.linalg import splu

from nnqg.derivations import InvalidArgument

ArrayOrFn = Union[np.ndarray, Callable[[np.ndarray], np.ndarray]]
METHODS = {"crank_nicolson": 0.5, "backward_euler": 1.0}


@dataclass(frozen=True)
class SchrodingerSolution:
    r"""The recorded solution: ``psi[k, j]`` = :math:`\psi(t_k, x_j)`."""

    t: np.ndarray
    x: np.ndarray
    psi: np.ndarray
    V: np.ndarray
    hbar: float
    m: float
    dt: float
    theta: float

    @property
    def dx(self) -> float:
        return float(self.x[1] - self.x[0])

    def density(self) -> np.ndarray:
        r""":math:`p = |\psi|^2`, shape (n_records, N)."""
        return np.abs(self.psi) ** 2

    def phase_function(self) -> np.ndarray:
        r""":math:`F = \hbar\arg\psi`, unwrapped along x and then along t (continuous wherever the phase changes
        by less than :math:`\pi` between neighbouring grid points / records; meaningless where :math:`\psi`
        is at round-off level)."""
        ang = np.unwrap(np.angle(self.psi), axis=1)
        return self.hbar * np.unwrap(ang, axis=0)

    def norm(self) -> np.ndarray:
        r""":math:`\sum_j |\psi(t_k, x_j)|^2\,\delta x` for every record."""
        return (np.abs(self.psi) ** 2).sum(axis=1) * self.dx


def _on_grid(f: ArrayOrFn, x: np.ndarray, what: str, dtype: type) -> np.ndarray:
    if callable(f):
        try:
            v = f(x)
        except Exception as exc:  # a user function: name it, do not leak its traceback
            raise InvalidArgument(f"{what}: evaluating it on the grid failed ({type(exc).__name__}: {exc})") \
                from None
        v = np.broadcast_to(np.asarray(v), x.shape)
    else:
        v = np.asarray(f)
    if v.shape != x.shape:
        raise InvalidArgument(f"{what}: expected {x.size} values (one per grid point), got shape {v.shape}")
    if dtype is float and np.iscomplexobj(v):
        if np.any(np.imag(v) != 0):
            raise InvalidArgument(f"{what}: must be real on the grid; it has imaginary part up to "
                                  f"{np.max(np.abs(np.imag(v))):.3g}")
        v = np.real(v)
    v = np.asarray(v, dtype=np.complex128 if dtype is complex else np.float64)
    if not np.all(np.isfinite(v)):
        bad = int(np.flatnonzero(~np.isfinite(v))[0])
        raise InvalidArgument(f"{what}: not finite on the grid (e.g. at x = {x[bad]:.6g})")
    return v


def hamiltonian_matrix(V: np.ndarray, dx: float, hbar: float, m: float) -> sps.csc_matrix:
    r""":math:`H_h = -\frac{\hbar^2}{2m}D_2 + \mathrm{diag}(V)` on the interior points (Dirichlet walls),
    :math:`D_2` the three-point second difference; ``V`` holds the interior values."""
    n = V.size
    k = hbar**2 / (2 * m * dx**2)
    return sps.diags([np.full(n - 1, -k), 2 * k + V, np.full(n - 1, -k)], [-1, 0, 1], format="csc",
                     dtype=np.complex128)


def crank_nicolson(V: ArrayOrFn, psi0: ArrayOrFn, x: np.ndarray, dt: float, n_steps: int, *, hbar: float = 1.0,
                   m: float = 1.0, record_every: int = 1, method: str = "crank_nicolson") -> SchrodingerSolution:
    r"""Evolve :math:`\psi_0` for ``n_steps`` steps of size ``dt`` (see the module docstring).

    ``V`` and ``psi0`` are arrays on ``x`` or callables of the x-array; ``x`` is uniform and increasing, the
    two end points are the walls (``psi0`` is set to 0 there). Records every ``record_every`` steps, first
    record at t = 0 and, when ``record_every`` divides ``n_steps``, last at ``n_steps * dt``. ``method`` is
    ``"crank_nicolson"`` (theta = 1/2, the default) or ``"backward_euler"`` (theta = 1, first order).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 5:
        raise InvalidArgument(f"x: expected a 1-D grid of at least 5 points, got shape {x.shape}")
    dxs = np.diff(x)
    if not np.all(np.isfinite(x)) or np.any(dxs <= 0) or np.ptp(dxs) > 1e-9 * abs(dxs[0]):
        raise InvalidArgument("x: must be finite, increasing and uniformly spaced")
    for name, v in (("dt", dt), ("hbar", hbar), ("m", m)):
        if not (isinstance(v, (int, float, np.floating)) and np.isfinite(v) and v > 0):
            raise InvalidArgument(f"{name}: must be a finite positive number, got {v!r}")
    for name, v in (("n_steps", n_steps), ("record_every", record_every)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if name == "n_steps" else 1):
            raise InvalidArgument(f"{name}: must be a {'non-negative' if name == 'n_steps' else 'positive'} "
                                  f"integer, got {v!r}")
    if method not in METHODS:
        raise InvalidArgument(f"method: {method!r} is not one of {sorted(METHODS)}")
    theta = METHODS[method]
    Vg = _on_grid(V, x, "V (potential)", float)
    psi = _on_grid(psi0, x, "psi0 (initial state)", complex).copy()
    psi[0] = psi[-1] = 0.0
    dx = float(dxs[0])
    H = hamiltonian_matrix(Vg[1:-1], dx, float(hbar), float(m))
    eye = sps.identity(H.shape[0], dtype=np.complex128, format="csc")
    A = (eye + (1j * theta * dt / hbar) * H).tocsc()
    B = (eye - (1j * (1 - theta) * dt / hbar) * H).tocsr()
    lu = splu(A)
    records = [psi.copy()]
    times = [0.0]
    inner = psi[1:-1].copy()
    for step in range(1, int(n_steps) + 1):
        inner = lu.solve(B @ inner)
        if step % record_every == 0:
            full = np.zeros_like(psi)
            full[1:-1] = inner
            records.append(full)
            times.append(step * dt)
    return SchrodingerSolution(t=np.asarray(times), x=x, psi=np.asarray(records), V=Vg, hbar=float(hbar),
                               m=float(m), dt=float(dt), theta=theta)


__all__ = ["METHODS", "SchrodingerSolution", "crank_nicolson", "hamiltonian_matrix"]
