r"""Built-in metrics and the exact solutions of Einstein's equations the verifier checks.

Every builder takes its coefficients as arguments (defaults = the textbook values), so a planted error is a
modified input, e.g. ``kerr(delta_mass_coefficient=3)`` puts :math:`3Mr` for :math:`2Mr` in :math:`\Delta`
(a real non-solution: five non-zero Ricci components), ``schwarzschild_de_sitter(lambda_coefficient=1/2)``
puts :math:`\Lambda r^2/2` for :math:`\Lambda r^2/3` (whereas :math:`3M` for :math:`2M` would just be another
mass).

>>> s = schwarzschild_de_sitter()
>>> s.metric.g[0, 0]
Lambda*r**2/3 + 2*M/r - 1
>>> s.equation, s.Lambda
('einstein_lambda', Lambda)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from ._curvature import Metric, maxwell_stress

T, R, TH, PH = sp.symbols("t r theta phi", real=True)
X, Y, Z = sp.symbols("x y z", real=True)
M, A_SPIN, Q, H = sp.symbols("M a Q H", positive=True)
LAMBDA = sp.Symbol("Lambda", positive=True)
SPHERICAL = (T, R, TH, PH)


@dataclass(frozen=True)
class Solution:
    """A metric with the field equation it is claimed to solve: ``equation`` is ``ricci_flat``,
    ``einstein_lambda`` (:math:`G + \\Lambda g = 0`) or ``einstein`` (:math:`G + \\Lambda g = 8\\pi T`)."""

    metric: Metric
    equation: str
    Lambda: sp.Expr | None = None
    stress_energy: sp.ImmutableMatrix | None = None
    note: str = ""


def _sphere(r: sp.Expr = R) -> tuple[sp.Expr, sp.Expr]:
    return r**2, r**2 * sp.sin(TH) ** 2


def minkowski(dim: int = 4) -> Solution:
    """:math:`\\eta = \\mathrm{diag}(-1, 1, \\dots, 1)` in Cartesian coordinates."""
    coords = (T, X, Y, Z)[:dim] if dim <= 4 else (T,) + tuple(sp.symbols(f"x1:{dim}", real=True))
    return Solution(Metric("Minkowski", coords, sp.diag(-1, *([1] * (dim - 1)))), "ricci_flat")


def static_spherical(f: sp.Expr, name: str, params: tuple[sp.Symbol, ...]) -> Metric:
    """:math:`ds^2 = -f\\,dt^2 + dr^2/f + r^2 d\\Omega^2`."""
    return Metric(name, SPHERICAL, sp.diag(-f, 1 / f, *_sphere()), params)


def schwarzschild(mass_coefficient: sp.Expr = 2) -> Solution:
    return Solution(static_spherical(1 - mass_coefficient * M / R, "Schwarzschild", (M,)), "ricci_flat")


def de_sitter(lambda_coefficient: sp.Expr = sp.Rational(1, 3)) -> Solution:
    """Static patch, :math:`f = 1 - \\Lambda r^2/3`."""
    return Solution(static_spherical(1 - lambda_coefficient * LAMBDA * R**2, "de Sitter", (LAMBDA,)),
                    "einstein_lambda", LAMBDA)


def schwarzschild_de_sitter(lambda_coefficient: sp.Expr = sp.Rational(1, 3),
                            mass_coefficient: sp.Expr = 2) -> Solution:
    """:math:`f = 1 - 2M/r - \\Lambda r^2/3`."""
    f = 1 - mass_coefficient * M / R - sp.sympify(lambda_coefficient) * LAMBDA * R**2
    return Solution(static_spherical(f, "Schwarzschild-de Sitter", (M, LAMBDA)), "einstein_lambda", LAMBDA)


def flrw_de_sitter(hubble_squared_coefficient: sp.Expr = sp.Rational(1, 3)) -> Solution:
    """Flat FLRW :math:`-dt^2 + e^{2Ht}(dx^2 + dy^2 + dz^2)` with :math:`\\Lambda = H^2/c`, :math:`c = 1/3`
    (i.e. :math:`H^2 = \\Lambda/3`)."""
    a2 = sp.exp(2 * H * T)
    g = sp.diag(-1, a2, a2, a2)
    return Solution(Metric("FLRW (H^2 = Lambda/3)", (T, X, Y, Z), g, (H,)), "einstein_lambda",
                    H**2 / sp.sympify(hubble_squared_coefficient))


def schwarzschild_twisted(twist: sp.Expr = 1) -> Solution:
    """Schwarzschild with :math:`\\phi \\to \\phi + \\cos\\theta`
    (so :math:`d\\phi \\to d\\phi - \\sin\\theta\\,d\\theta`): :math:`g_{\\theta\\theta} = r^2(1 + \\sin^4\\theta)`,
    :math:`g_{\\theta\\phi} = -r^2\\sin^3\\theta`, still vacuum; odd powers of :math:`\\sin\\theta` and a
    :math:`\\theta` cross term send the engine through the :math:`u = \\tan(\\theta/2)` chart. ``twist`` scales the
    cross term only (any other value is not vacuum)."""
    f = 1 - 2 * M / R
    s = sp.sin(TH)
    g = sp.zeros(4)
    g[0, 0], g[1, 1] = -f, 1 / f
    g[2, 2] = R**2 * (1 + s**4)
    g[2, 3] = g[3, 2] = -twist * R**2 * s**3
    g[3, 3] = R**2 * s**2
    return Solution(Metric("Schwarzschild (phi + cos theta)", SPHERICAL, g, (M,)), "ricci_flat")


def kerr_matrix(delta_mass_coefficient: sp.Expr = 2, Lambda: sp.Expr = 0) -> sp.Matrix:
    """Kerr-de Sitter in Boyer-Lindquist coordinates (Carter's form; M enters through :math:`\\Delta_r` only):
    :math:`\\Delta_r = (r^2 + a^2)(1 - \\Lambda r^2/3) - 2Mr`, :math:`\\Delta_\\theta = 1 + \\Lambda a^2\\cos^2\\theta/3`,
    :math:`\\Xi = 1 + \\Lambda a^2/3`, :math:`\\rho^2 = r^2 + a^2\\cos^2\\theta`,
    :math:`ds^2 = -\\frac{\\Delta_r}{\\rho^2\\Xi^2}(dt - a\\sin^2\\theta\\,d\\phi)^2
    + \\frac{\\Delta_\\theta\\sin^2\\theta}{\\rho^2\\Xi^2}(a\\,dt - (r^2 + a^2)d\\phi)^2
    + \\rho^2(dr^2/\\Delta_r + d\\theta^2/\\Delta_\\theta)`."""
    a, s2 = A_SPIN, sp.sin(TH) ** 2
    rho2 = R**2 + a**2 * sp.cos(TH) ** 2
    dr = (R**2 + a**2) * (1 - Lambda * R**2 / 3) - delta_mass_coefficient * M * R
    dth = 1 + Lambda * a**2 * sp.cos(TH) ** 2 / 3
    xi2 = (1 + Lambda * a**2 / 3) ** 2
    g = sp.zeros(4)
    g[0, 0] = (-dr + dth * s2 * a**2) / (rho2 * xi2)
    g[0, 3] = g[3, 0] = (dr * a * s2 - dth * s2 * a * (R**2 + a**2)) / (rho2 * xi2)
    g[3, 3] = (-dr * a**2 * s2**2 + dth * s2 * (R**2 + a**2) ** 2) / (rho2 * xi2)
    g[1, 1] = rho2 / dr
    g[2, 2] = rho2 / dth
    return g


def kerr(delta_mass_coefficient: sp.Expr = 2) -> Solution:
    """Kerr in the textbook Boyer-Lindquist form, :math:`R_{ab} = 0`:
    :math:`g_{tt} = -(1 - 2Mr/\\rho^2)`, :math:`g_{t\\phi} = -2Mar\\sin^2\\theta/\\rho^2`,
    :math:`g_{rr} = \\rho^2/\\Delta`, :math:`g_{\\theta\\theta} = \\rho^2`,
    :math:`g_{\\phi\\phi} = (r^2 + a^2 + 2Ma^2r\\sin^2\\theta/\\rho^2)\\sin^2\\theta`, with
    :math:`\\Delta = r^2 - 2Mr + a^2`; ``delta_mass_coefficient`` changes the 2 in :math:`\\Delta` only (where
    M also appears elsewhere, so 3Mr is a real non-solution)."""
    a, s2 = A_SPIN, sp.sin(TH) ** 2
    rho2 = R**2 + a**2 * sp.cos(TH) ** 2
    delta = R**2 - delta_mass_coefficient * M * R + a**2
    g = sp.zeros(4)
    g[0, 0] = -(1 - 2 * M * R / rho2)
    g[0, 3] = g[3, 0] = -2 * M * a * R * s2 / rho2
    g[1, 1] = rho2 / delta
    g[2, 2] = rho2
    g[3, 3] = (R**2 + a**2 + 2 * M * a**2 * R * s2 / rho2) * s2
    return Solution(Metric("Kerr", SPHERICAL, g, (M, A_SPIN)), "ricci_flat")


def kerr_de_sitter(lambda_factor: sp.Expr = 1, delta_mass_coefficient: sp.Expr = 2) -> Solution:
    """Kerr-de Sitter, :math:`G_{ab} + \\Lambda g_{ab} = 0` (``lambda_factor`` scales the :math:`\\Lambda` of the
    metric against the one in the equation)."""
    g = kerr_matrix(delta_mass_coefficient, lambda_factor * LAMBDA)
    return Solution(Metric("Kerr-de Sitter", SPHERICAL, g, (M, A_SPIN, LAMBDA)), "einstein_lambda", LAMBDA)


def reissner_nordstrom(charge_coefficient: sp.Expr = 1, stress_factor: sp.Expr = 1) -> Solution:
    """:math:`f = 1 - 2M/r + Q^2/r^2` with the Maxwell stress tensor of :math:`A = -(Q/r)\\,dt` (Gaussian units,
    G = 1): :math:`G_{ab} = 8\\pi T_{ab}`."""
    f = 1 - 2 * M / R + charge_coefficient * Q**2 / R**2
    m = static_spherical(f, "Reissner-Nordstrom", (M, Q))
    Tmn, _ = maxwell_stress(m, (-Q / R, 0, 0, 0))
    return Solution(m, "einstein", None, sp.ImmutableMatrix(Tmn * stress_factor))


def generic_static_spherical() -> Metric:
    """:math:`ds^2 = -A(r)\\,dt^2 + B(r)\\,dr^2 + r^2 d\\Omega^2` with arbitrary functions A, B."""
    A, B = sp.Function("A")(R), sp.Function("B")(R)
    return Metric("static spherical A(r), B(r)", SPHERICAL, sp.diag(-A, B, *_sphere()))


def generic_dynamic_spherical() -> Metric:
    """:math:`ds^2 = -A(t,r)\\,dt^2 + B(t,r)\\,dr^2 + C(t,r)\\,d\\Omega^2` with arbitrary functions."""
    A, B, C = (sp.Function(n)(T, R) for n in "ABC")
    return Metric("dynamic spherical A, B, C (t, r)", SPHERICAL, sp.diag(-A, B, C, C * sp.sin(TH) ** 2))


def generic_stationary_axisymmetric() -> Metric:
    """Weyl-Lewis-Papapetrou form with four arbitrary functions of (rho, z):
    :math:`-f(dt - w\\,d\\phi)^2 + e^{k}(d\\rho^2 + dz^2) + l\\,d\\phi^2` (k, f, w, l arbitrary)."""
    rho, z = sp.symbols("rho z", real=True)
    f, w, k, l = (sp.Function(n)(rho, z) for n in ("f", "w", "k", "l"))
    g = sp.zeros(4)
    g[0, 0] = -f
    g[0, 3] = g[3, 0] = f * w
    g[3, 3] = -f * w**2 + l
    g[1, 1] = g[2, 2] = k
    return Metric("stationary axisymmetric f, w, k, l (rho, z)", (T, rho, z, PH), g)


#: the vacuum/electrovacuum solutions of einstein.vacuum_solutions, by input name
SOLUTIONS: dict[str, Callable[[], Solution]] = {
    "minkowski": minkowski,
    "de_sitter": de_sitter,
    "schwarzschild": schwarzschild,
    "schwarzschild_de_sitter": schwarzschild_de_sitter,
    "schwarzschild_twisted": schwarzschild_twisted,
    "flrw_de_sitter": flrw_de_sitter,
    "kerr": kerr,
    "kerr_de_sitter": kerr_de_sitter,
    "reissner_nordstrom": reissner_nordstrom,
}
