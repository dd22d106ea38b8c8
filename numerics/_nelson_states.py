r"""Constructed solutions for the Nelson calibration: states given by :math:`\psi'/\psi`, and the Nelson drift.

A state is known through the logarithmic derivative :math:`\rho(t, q) = \partial_q\psi/\psi` on a uniform grid at
the step times :math:`t_n = n h` (:class:`PsiTable`). Everything the calibration needs follows from it:

* Nelson's drift (docs/theory.md, section 4, trajectory-level picture), K = 1, :math:`\nu = \hbar/(2m)`:

  .. math:: b = v + u = \frac{\hbar}{m}\,(\operatorname{Im}\rho + \operatorname{Re}\rho)

  (:func:`nelson_drift`, :func:`nelson_noise`), tabulated for the simulator by :func:`drift_table`;
* the *model's* phase-like field :math:`F = \hbar\arg\psi` through its jet
  :math:`F_q = \hbar\operatorname{Im}\rho`, :math:`F_{qq} = \hbar\operatorname{Im}\rho_q`,
  :math:`F_{qt} = \hbar\operatorname{Im}\rho_t` (:meth:`PsiTable.phase_jet`): the F the claim's equations are
  evaluated with, independently of what the trajectories do.

Two kinds of states:

* closed-form Gaussians (:class:`GaussianState`: the free packet and the harmonic-oscillator coherent state,
  docs/theory.md, "Closed forms for numerical checks"); :math:`\log\psi` is quadratic in q, so
  :math:`\rho = A(t) q + B(t)` is affine and a two-point table with linear inter- and extrapolation is exact;
* a numerical Schrodinger solution (:func:`schrodinger_table`, any potential): :math:`\rho` by central
  differences of a Crank-Nicolson solution on a fine grid; where the density is at round-off (the far tails)
  :math:`\rho` is continued linearly from the resolved region.

>>> st = free_packet(m=1.0, hbar=1.0, s0=0.5, v0=0.3)
>>> alpha, beta = st.drift_coefficients(0.0)
>>> round(float(beta), 6)   # u = -nu (q - mu)/s0^2 at t = 0, nu = 1/2
-2.0
>>> tab = gaussian_table(st, h=0.01)
>>> b = nelson_drift(np.array([-1.0, 1.0]), tab.ratio(0), st.hbar, st.m)
>>> bool(np.allclose(b, [alpha - beta, alpha + beta]))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

#: drift(t) -> (grid origin, grid spacing, drift values on the grid)
DriftTable = Callable[[float], tuple[float, float, np.ndarray]]
#: the Nelson drift rule: (grid points, psi'/psi on them, hbar, m) -> drift on the grid
DriftRule = Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]


# ----------------------------------------------------------------------------------------------------------------
# Closed-form Gaussian states
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GaussianState:
    r"""A Gaussian solution of the Madelung pair with mass m and :math:`\hbar`:
    :math:`p = N(\mu(t), \sigma^2(t))`, current velocity :math:`v = \dot\mu + (q-\mu)\dot\sigma/\sigma`,
    osmotic velocity :math:`u = -\nu (q - \mu)/\sigma^2`, :math:`\nu = \hbar/(2m)`.

    ``kind`` is ``"free"`` (free packet: :math:`\mu = q_0 + v_0 t`,
    :math:`\sigma^2 = s_0^2(1 + (\hbar t/(2 m s_0^2))^2)`) or ``"ho"`` (coherent state of
    :math:`V = k q^2/2`: :math:`\omega = \sqrt{k/m}`, :math:`\mu = q_0\cos\omega t`,
    :math:`\sigma^2 = \hbar/(2m\omega)`)."""

    kind: str
    m: float
    hbar: float
    q0: float
    s0: float = 0.0
    v0: float = 0.0
    k: float = 0.0

    @property
    def nu(self) -> float:
        return self.hbar / (2.0 * self.m)

    @property
    def omega(self) -> float:
        return math.sqrt(self.k / self.m)

    def mean(self, t: float) -> float:
        if self.kind == "free":
            return self.q0 + self.v0 * t
        return self.q0 * math.cos(self.omega * t)

    def mean_dot(self, t: float) -> float:
        if self.kind == "free":
            return self.v0
        return -self.q0 * self.omega * math.sin(self.omega * t)

    def var(self, t: float) -> float:
        if self.kind == "free":
            a = self.hbar / (2.0 * self.m * self.s0 ** 2)
            return self.s0 ** 2 * (1.0 + (a * t) ** 2)
        return self.hbar / (2.0 * self.m * self.omega)

    def log_sd_dot(self, t: float) -> float:
        """:math:`\\dot\\sigma/\\sigma = \\tfrac12 d\\ln\\sigma^2/dt`."""
        if self.kind == "free":
            a = self.hbar / (2.0 * self.m * self.s0 ** 2)
            return a * a * t / (1.0 + (a * t) ** 2)
        return 0.0

    def drift_coefficients(self, t: float) -> tuple[float, float]:
        r"""Forward drift :math:`b = v + u = \alpha(t) + \beta(t) q`; returns :math:`(\alpha, \beta)`."""
        mu, g, w = self.mean(t), self.log_sd_dot(t), -self.nu / self.var(t)
        beta = g + w
        return self.mean_dot(t) - beta * mu, beta

    def log_derivative(self, t: float) -> tuple[complex, complex]:
        r""":math:`\psi'/\psi = A q + B`; returns :math:`(A, B)`, from the closed form of :math:`\psi`:

        * free: :math:`\psi \propto \exp\!\big(-\frac{(q-\mu)^2}{4 s_0^2 (1 + i a t)} + i k_0 q\big)`,
          :math:`a = \hbar/(2 m s_0^2)`, :math:`k_0 = m v_0/\hbar`;
        * coherent: :math:`\psi \propto \exp\!\big(-\frac{m\omega}{2\hbar}(q-\mu)^2 + i m\dot\mu q/\hbar\big)`.
        """
        mu = self.mean(t)
        if self.kind == "free":
            a = self.hbar / (2.0 * self.m * self.s0 ** 2)
            A = -1.0 / (2.0 * self.s0 ** 2 * (1.0 + 1j * a * t))
            return A, -A * mu + 1j * self.m * self.v0 / self.hbar
        A = complex(-self.m * self.omega / self.hbar)
        return A, -A * mu + 1j * self.m * self.mean_dot(t) / self.hbar


def free_packet(*, m: float, hbar: float, s0: float, v0: float = 0.0, q0: float = 0.0) -> GaussianState:
    _positive(m=m, hbar=hbar, s0=s0)
    return GaussianState("free", float(m), float(hbar), float(q0), s0=float(s0), v0=float(v0))


def coherent_state(*, m: float, hbar: float, k: float, q0: float) -> GaussianState:
    _positive(m=m, hbar=hbar, k=k)
    return GaussianState("ho", float(m), float(hbar), float(q0), k=float(k))


def _positive(**kw: float) -> None:
    for name, val in kw.items():
        if not (isinstance(val, (int, float)) and math.isfinite(val) and val > 0):
            raise InvalidArgument(f"{name} must be a positive finite number, got {val!r}")


def gaussian_drift(state: GaussianState) -> DriftTable:
    """The exact affine drift of ``state`` as a two-point table (linear extrapolation makes it exact)."""

    def table(t: float) -> tuple[float, float, np.ndarray]:
        a, b = state.drift_coefficients(t)
        return -1.0, 2.0, np.array([a - b, a + b])

    return table


# ----------------------------------------------------------------------------------------------------------------
# psi'/psi tables
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PsiTable:
    r""":math:`\rho = \psi'/\psi` of a state with mass ``m`` and ``hbar`` on the grid ``grid0 + j dx`` at the times
    ``n h`` (``ratio(n)``, complex); linear interpolation in q, linear extrapolation outside the grid.
    ``sample0(rng, N)`` draws the initial ensemble from :math:`|\psi(0)|^2`; ``spec`` describes the state (for the
    report)."""

    name: str
    m: float
    hbar: float
    h: float
    grid0: float
    dx: float
    ratio: Callable[[int], np.ndarray]
    sample0: Callable[[np.random.Generator, int], np.ndarray]
    n_steps: int
    spec: Mapping[str, Any] = field(default_factory=dict)
    #: the time derivative of ``ratio`` at step n when known more accurately than by the table's differences
    ratio_t: Callable[[int], np.ndarray] | None = None
    #: the grid indices (lo, hi) of the resolved region at step n, where ``ratio`` is psi'/psi and not its
    #: continuation (None: everywhere)
    resolved: Callable[[int], tuple[int, int]] | None = None
    #: :math:`|\psi|^2` at step n on the grid, normalised to probability weights (a numerical table; None for the
    #: closed-form ones, whose density is a Gaussian)
    density: Callable[[int], np.ndarray] | None = None

    def step(self, t: float) -> int:
        n = t / self.h
        if abs(n - round(n)) > 1e-6 or not 0 <= round(n) <= self.n_steps:
            raise InvalidArgument(f"state {self.name!r}: time {t} is not a step of the table (h = {self.h}, "
                                  f"{self.n_steps} steps)")
        return int(round(n))

    def grid(self) -> np.ndarray:
        return self.grid0 + self.dx * np.arange(self.ratio(0).size)

    def _interp(self, values: np.ndarray, q: np.ndarray) -> np.ndarray:
        s = (q - self.grid0) / self.dx
        j = np.clip(np.floor(s).astype(np.int64), 0, values.size - 2)
        w = s - j
        return (1.0 - w) * values[j] + w * values[j + 1]

    def phase_jet(self, t: float, q: np.ndarray) -> dict[str, np.ndarray]:
        r"""The model's :math:`F_q, F_{qq}, F_{qt}` at the points ``q`` at time t (:math:`F = \hbar\arg\psi`):
        :math:`\rho_q` by central differences on the grid, :math:`\rho_t` by the central difference of the table
        over one step (one-sided at the table's ends)."""
        n = self.step(t)
        r = self.ratio(n)
        if r.size == 2:  # an affine table: its slope is exact
            rq = np.full(2, (r[1] - r[0]) / self.dx)
        else:
            rq = np.gradient(r, self.dx, edge_order=2)
        if self.ratio_t is not None:
            rt = self.ratio_t(n)
        else:
            lo, hi = max(n - 1, 0), min(n + 1, self.n_steps)
            rt = (self.ratio(hi) - self.ratio(lo)) / ((hi - lo) * self.h)
        im = lambda a: self.hbar * np.imag(self._interp(a, q))
        return {"F_q": im(r), "F_qq": im(rq), "F_qt": im(rt)}


def gaussian_table(state: GaussianState, h: float, n_steps: int = 10**9) -> PsiTable:
    """The closed-form state as an exact two-point table on the grid {-1, 1} (``ratio(n)`` is affine in q)."""

    def at(t: float) -> np.ndarray:
        A, B = state.log_derivative(t)
        return np.array([B - A, B + A])

    def ratio(n: int) -> np.ndarray:
        return at(n * h)

    def ratio_t(n: int) -> np.ndarray:  # the closed form is analytic in t: a central difference at 1e-5
        return (at(n * h + 1e-5) - at(n * h - 1e-5)) / 2e-5

    def sample0(rng: np.random.Generator, n: int) -> np.ndarray:
        return state.mean(0.0) + math.sqrt(state.var(0.0)) * rng.standard_normal(n)

    name = "free packet" if state.kind == "free" else "coherent state"
    spec = ({"centre": state.q0, "width": state.s0, "momentum": state.m * state.v0} if state.kind == "free" else
            {"centre": state.q0, "width": math.sqrt(state.var(0.0)), "momentum": 0.0, "k": state.k})
    spec.update({"m": state.m, "hbar": state.hbar, "closed_form": True})
    return PsiTable(name, state.m, state.hbar, float(h), -1.0, 2.0, ratio, sample0, n_steps, spec, ratio_t)


def schrodinger_table(solver: Callable[..., Any], V: Callable[[np.ndarray], np.ndarray], *, m: float, hbar: float,
                      centre: float, width: float, momentum: float, box: float, points: int, h: float,
                      n_steps: int, floor: float = 1e-10) -> PsiTable:
    r"""The Gaussian :math:`\psi_0 \propto \exp(-(q - q_0)^2/(4 s_0^2) + i k q/\hbar)` evolved in V by ``solver``
    (:func:`~nnqg.numerics._schrodinger.crank_nicolson` or a replacement with its signature) on ``points`` grid
    points of the box [-box, box] with time step h, recorded every step. :math:`\rho = \psi'/\psi` by central
    differences; where :math:`|\psi|^2 \le` ``floor`` times its maximum the ratio is noise and is continued
    linearly from the resolved region."""
    x = np.linspace(-box, box, int(points))
    sol = solver(V, lambda z: np.exp(-(z - centre) ** 2 / (4 * width**2) + 1j * momentum * z / hbar), x, dt=h,
                 n_steps=int(n_steps), hbar=hbar, m=m)
    psi = sol.psi
    dx = float(x[1] - x[0])
    ratio = np.zeros_like(psi)
    inner = psi[:, 1:-1]
    ratio[:, 1:-1] = (psi[:, 2:] - psi[:, :-2]) / (2 * dx * np.where(inner == 0, 1, inner))
    dens = np.abs(psi) ** 2
    bounds = np.empty((ratio.shape[0], 2), dtype=np.int64)
    for k in range(ratio.shape[0]):
        ok = np.flatnonzero(dens[k] > floor * dens[k].max())
        lo, hi = max(ok[0], 1) + 1, min(ok[-1], x.size - 2) - 1
        bounds[k] = lo, hi
        ratio[k, :lo] = ratio[k, lo] + (ratio[k, lo + 1] - ratio[k, lo]) * (np.arange(lo) - lo)
        ratio[k, hi + 1:] = ratio[k, hi] + (ratio[k, hi] - ratio[k, hi - 1]) * (np.arange(hi + 1, x.size) - hi)

    def sample0(rng: np.random.Generator, n: int) -> np.ndarray:
        return centre + width * rng.standard_normal(n)

    spec = {"centre": centre, "width": width, "momentum": momentum, "m": m, "hbar": hbar, "box": [-box, box],
            "grid_points": int(points), "dx": dx, "dt": h, "closed_form": False}
    weights = dens / dens.sum(axis=1, keepdims=True)
    return PsiTable("user potential", m, hbar, float(h), float(x[0]), dx, lambda n: ratio[n], sample0,
                    int(n_steps), spec, resolved=lambda n: (int(bounds[n, 0]), int(bounds[n, 1])),
                    density=lambda n: weights[n])


# ----------------------------------------------------------------------------------------------------------------
# Nelson's drift and diffusion constant
# ----------------------------------------------------------------------------------------------------------------

def nelson_drift(q: np.ndarray, ratio: np.ndarray, hbar: float, m: float) -> np.ndarray:
    r"""Nelson's forward drift :math:`b = v + u = (\hbar/m)(\operatorname{Im} + \operatorname{Re})(\psi'/\psi)`
    on the grid points ``q`` (the points are unused: the drift is a function of :math:`\psi`)."""
    return (hbar / m) * (ratio.imag + ratio.real)


def nelson_noise(hbar: float, m: float) -> float:
    r"""Nelson's diffusion constant :math:`\nu = \hbar/(2m)`."""
    return hbar / (2.0 * m)


def osmotic_rate(state: PsiTable, last_step: int) -> tuple[float, float]:
    r"""The fastest rate of a tabulated state's density over the steps :math:`0 \ldots n`, followed along its
    evolution:

    .. math:: \Omega_u = \max_{t_k \le t_n} E_{p_{t_k}}[u^2]/\nu = \nu \max_{t_k \le t_n} I(p_{t_k}),
       \qquad u = \nu\,\partial_q \ln p = \frac{\hbar}{m}\operatorname{Re}\frac{\psi'}{\psi},
       \quad \nu = \frac{\hbar}{2m},

    with :math:`I(p) = E_p[(\partial_q\ln p)^2]` the Fisher information of the density (twice the osmotic
    kinetic energy over :math:`\hbar`): the noise level over the squared length of the density's finest feature,
    the time the diffusion takes to cross it. For a Gaussian of width :math:`\sigma`, :math:`I = 1/\sigma^2` and
    :math:`\Omega_u = \nu/\sigma^2`: the coherent state of :math:`V = m\omega^2 q^2/2` gives :math:`\omega` at
    every time (:math:`\sigma^2 = \nu/\omega`), the free packet :math:`\nu/s_0^2` at t = 0 (its spreading
    rate) and less later. A packet that is focused (sliding down a steep wall, its back pushed harder than its
    front) or fringed (its reflected part interfering with the incoming one) has a larger I than its initial
    Gaussian. :math:`p u^2 = \nu^2 p'^2/p` stays integrable at a node. Uses :attr:`PsiTable.density` and the
    table's :math:`\psi'/\psi`; non-finite values (a node on a grid point) are left out. Returns
    :math:`(\Omega_u, t)` at its maximum."""
    if state.density is None:
        raise InvalidArgument(f"state {state.name!r}: no tabulated density (a closed-form table): its rate is known "
                              "in closed form")
    if not 0 <= last_step <= state.n_steps:
        raise InvalidArgument(f"last_step = {last_step}: must be in 0..{state.n_steps} (the table's steps)")
    nu = nelson_noise(state.hbar, state.m)
    best, at = -1.0, 0.0
    for n in range(last_step + 1):
        p, u = state.density(n), (state.hbar / state.m) * state.ratio(n).real
        ok = np.isfinite(u)
        rate = float(np.sum(p[ok] * u[ok] ** 2) / p[ok].sum()) / nu
        if rate > best:
            best, at = rate, n * state.h
    return best, at


def drift_table(state: PsiTable, rule: DriftRule) -> DriftTable:
    r"""The simulator's drift table of ``state`` under the drift ``rule``, at every step time of the state.

    Outside the state's resolved region :math:`[a, c]` (:attr:`PsiTable.resolved`: where :math:`|\psi|^2` is
    below the table's floor, psi'/psi is only a continuation) the drift is the edge's speed pointing into the
    region, :math:`b(q) = |b(a)|` for :math:`q < a` and :math:`b(q) = -|b(c)|` for :math:`q > c`: restoring,
    :math:`(q - a)\,b(q) \le 0` left of it and :math:`(q - c)\,b(q) \le 0` right of it, and flat (no stiffness).
    It equals the table's value at the edge wherever that already points inward (a density decaying outward),
    and under the tabulated law the region carries probability below the floor: it only brings back a trajectory
    the integrator put there. (The linear continuation of psi'/psi it replaces can point outward: a Morse state's
    drift there, b ~ -480 at q = -12.4 with h b' = +0.3, carried a trajectory to -1.7e9, docs/madelung.md.)"""
    q = state.grid()

    def table(t: float) -> tuple[float, float, np.ndarray]:
        n = state.step(t)
        b = np.asarray(rule(q, state.ratio(n), state.hbar, state.m), dtype=float)
        if state.resolved is not None:
            lo, hi = state.resolved(n)
            b = b.copy()
            b[:lo] = abs(b[lo])
            b[hi + 1:] = -abs(b[hi])
        return state.grid0, state.dx, b

    return table


__all__ = ["DriftRule", "DriftTable", "GaussianState", "PsiTable", "coherent_state", "drift_table", "free_packet",
           "gaussian_drift", "gaussian_table", "nelson_drift", "nelson_noise", "osmotic_rate",
           "schrodinger_table"]
