r"""Wave operators, Lorentz boosts, the optical metric and its null geodesics (docs/theory.md, sections 5-7).

Everything here is SymPy; coordinates are :math:`x^0 = t, x^1, \dots, x^D` and a metric is a
``(D+1) x (D+1)`` :class:`sympy.Matrix` :math:`g_{mn}` (signature ``(-,+,...,+)`` for a Lorentzian one).

* Scalar field action density :math:`\sqrt{|g|}\,\mathcal L`, :math:`\mathcal L = -\tfrac12 g^{mn}\partial_m\phi\,\partial_n\phi`.
  Its Euler-Lagrange expression (SymPy :func:`~sympy.calculus.euler.euler_equations`) divided by
  :math:`\sqrt{|g|}` is the covariant d'Alembertian (Laplace-Beltrami operator)
  :math:`\Box_g\phi = |g|^{-1/2}\partial_m(\sqrt{|g|}\, g^{mn}\partial_n\phi)`.
* The *wave residual* is :math:`\Box_g\phi / g^{tt}`, normalised so that the coefficient of
  :math:`\partial_t^2\phi` is 1. For Minkowski :math:`g = \mathrm{diag}(-c^2, 1, \dots, 1)` it is
  :math:`\phi_{tt} - c^2\Delta\phi`; for the optical metric :math:`ds^2 = -c(x)^2dt^2 + dx^2` it is
  :math:`\phi_{tt} - c\,\partial_x(c\,\partial_x\phi)`.
* A linear map :math:`\Lambda` of the coordinates is a symmetry of the wave equation when
  :math:`\Box(f\circ\Lambda) = (\Box f)\circ\Lambda` for every :math:`f`; for the Lorentz boost
  :math:`t' = \gamma(t - vx/c^2)`, :math:`x' = \gamma(x - vt)` this holds exactly, for the Galilean
  :math:`t' = t`, :math:`x' = x - vt` it does not. The check is done with a generic SymPy function ``f`` and the
  derivatives of ``f`` at the image point replaced by jet symbols ``f_ab`` (so the comparison is polynomial).
* Null geodesics of the optical metric: the geodesic equations are the Euler-Lagrange equations of the energy
  functional :math:`E = \tfrac12 g_{mn}\dot x^m\dot x^n` (affine parameter :math:`\lambda`), solved for the
  accelerations; their null solutions in 1+1 with a static diagonal metric are :math:`dx/dt = \pm c(x)`,
  :math:`c = \sqrt{-g_{tt}/g_{xx}}`. (This module derives the geodesic equations itself from the energy functional;
  they are the Christoffel form :math:`\ddot x^m + \Gamma^m_{ab}\dot x^a\dot x^b = 0`, which a claim may
  cross-check against an independent Christoffel implementation.)
* The network of :mod:`nnqg.numerics._network` with local couplings :math:`w_{i,i\pm1} = (\tau/h)^2 c_i
  c_{i\pm1/2}` has the update :math:`x_i(t+\tau) - 2x_i(t) + x_i(t-\tau) = (\tau/h)^2 c_i[c_{i+1/2}(x_{i+1}-x_i)
  - c_{i-1/2}(x_i - x_{i-1})]`; :func:`network_continuum_limit` Taylor-expands it and returns its
  :math:`h \to 0` limit (Courant number :math:`\tau/h` fixed) and the :math:`O(h)` coefficient.

>>> t, x = sp.symbols("t x", real=True)
>>> c = sp.Symbol("c", positive=True)
>>> phi = sp.Function("phi")(t, x)
>>> wave_residual(minkowski(c, 1), (t, x), phi)
-c**2*Derivative(phi(t, x), (x, 2)) + Derivative(phi(t, x), (t, 2))
>>> box_d, lag_d = composition_defects(lorentz_boost(sp.Symbol("v", real=True), c, 1), minkowski(c, 1))
>>> is_zero(box_d), is_zero(lag_d)
(True, True)
>>> is_zero(composition_defects(galilean_boost(sp.Symbol("v", real=True), 1), minkowski(c, 1))[0])
False
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp
from sympy.calculus.euler import euler_equations

from ._core import is_zero
from ._errors import DerivationError, InvalidArgument


def coordinates(D: int) -> tuple[sp.Symbol, ...]:
    """``(t, x)`` for D = 1, ``(t, x, y, z)`` for D = 3, ``(t, x1, ..., xD)`` otherwise (all real)."""
    if not isinstance(D, int) or D < 1:
        raise InvalidArgument(f"D (number of space dimensions) must be a positive integer, got {D!r}")
    names = {1: "t x", 2: "t x y", 3: "t x y z"}.get(D, "t " + " ".join(f"x{i}" for i in range(1, D + 1)))
    return tuple(sp.symbols(names, real=True))


def minkowski(c: sp.Expr, D: int) -> sp.Matrix:
    r""":math:`\mathrm{diag}(-c^2, 1, \dots, 1)` in coordinates ``(t, x^1..x^D)``."""
    return sp.diag(-c**2, *([1] * D))


def optical_metric(c_of_x: sp.Expr) -> sp.Matrix:
    r"""The optical metric :math:`ds^2 = -c(x)^2 dt^2 + dx^2` (1+1 dimensions)."""
    return sp.diag(-c_of_x**2, 1)


def lorentz_boost(v: sp.Expr, c: sp.Expr, D: int) -> sp.Matrix:
    r"""Boost along x: :math:`t' = \gamma(t - v x/c^2)`, :math:`x' = \gamma(x - v t)`, other axes fixed;
    :math:`\gamma = 1/\sqrt{1 - v^2/c^2}`. Acts on column vectors ``(t, x, ...)``."""
    g = 1 / sp.sqrt(1 - v**2 / c**2)
    M = sp.eye(D + 1)
    M[0, 0], M[0, 1], M[1, 0], M[1, 1] = g, -g * v / c**2, -g * v, g
    return M


def galilean_boost(v: sp.Expr, D: int) -> sp.Matrix:
    r"""Galilean boost :math:`t' = t`, :math:`x' = x - v t` (not a symmetry of the wave equation)."""
    M = sp.eye(D + 1)
    M[1, 0] = -v
    return M


def _check_metric(metric: sp.Matrix, coords: Sequence[sp.Symbol]) -> None:
    n = len(coords)
    if not isinstance(metric, sp.MatrixBase) or metric.shape != (n, n):
        raise InvalidArgument(f"metric: expected a {n}x{n} SymPy Matrix for coordinates {tuple(coords)}, "
                              f"got {getattr(metric, 'shape', type(metric).__name__)}")
    if not (metric - metric.T).is_zero_matrix:
        raise InvalidArgument(f"metric: must be symmetric, got {metric}")
    if metric.det() == 0:
        raise InvalidArgument(f"metric: is degenerate (det g = 0): {metric}")


def scalar_lagrangian(metric: sp.Matrix, coords: Sequence[sp.Symbol], phi: sp.Expr) -> sp.Expr:
    r"""The scalar :math:`-\tfrac12 g^{mn}\partial_m\phi\,\partial_n\phi` (the action density is this times
    :math:`\sqrt{|g|}`)."""
    _check_metric(metric, coords)
    ginv = metric.inv()
    grad = [sp.diff(phi, q) for q in coords]
    n = len(coords)
    return -sp.Rational(1, 2) * sp.Add(*[ginv[a, b] * grad[a] * grad[b] for a in range(n) for b in range(n)])


def wave_operator(metric: sp.Matrix, coords: Sequence[sp.Symbol], phi: sp.Expr) -> sp.Expr:
    r""":math:`\Box_g\phi`: the Euler-Lagrange expression of :math:`\sqrt{|g|}\,\mathcal L_{\rm scalar}` over
    :math:`\sqrt{|g|}`.

    The volume factor enters as a generic positive function :math:`V` whose derivatives are then replaced by
    :math:`\partial_m V = V\,\partial_m \det g/(2\det g)` (true for :math:`V = \sqrt{\pm\det g}` of either
    sign), so no ``Abs``/``sign`` of the determinant reaches the result.
    """
    det = sp.factor(metric.det())
    V = sp.Function("V", positive=True)(*coords)
    eqs = euler_equations(V * scalar_lagrangian(metric, coords, phi), [phi], list(coords))
    if len(eqs) != 1:
        raise DerivationError(f"euler_equations returned {len(eqs)} equations for one field")
    el = (eqs[0].lhs - eqs[0].rhs).doit()
    el = el.xreplace({sp.Derivative(V, q): V * sp.diff(det, q) / (2 * det) for q in coords})
    return sp.expand(el / V)


def laplace_beltrami(metric: sp.Matrix, coords: Sequence[sp.Symbol], phi: sp.Expr) -> sp.Expr:
    r"""The textbook form :math:`|g|^{-1/2}\partial_m(\sqrt{|g|}\,g^{mn}\partial_n\phi)`, written as
    :math:`\partial_m(g^{mn}\partial_n\phi) + \tfrac12(\partial_m\det g/\det g)\,g^{mn}\partial_n\phi`
    (for cross-checks and for fields that are not plain functions of the coordinates)."""
    _check_metric(metric, coords)
    ginv = metric.inv()
    det = metric.det()
    n = len(coords)
    grad = [sp.diff(phi, q) for q in coords]
    flux = [sp.Add(*[ginv[a, b] * grad[b] for b in range(n) if ginv[a, b] != 0]) for a in range(n)]
    out = sp.S.Zero
    for a in range(n):
        out += sp.diff(flux[a], coords[a])
        ddet = sp.diff(det, coords[a])
        if ddet != 0:
            out += ddet / (2 * det) * flux[a]
    return out


def wave_residual(metric: sp.Matrix, coords: Sequence[sp.Symbol], phi: sp.Expr) -> sp.Expr:
    r""":math:`\Box_g\phi/g^{tt}`: the wave equation with unit coefficient of :math:`\phi_{tt}` (expanded)."""
    gtt_inv = metric.inv()[0, 0]
    if gtt_inv == 0:
        raise InvalidArgument(f"metric: g^tt = 0, the wave equation has no phi_tt term: {metric}")
    return sp.expand(sp.cancel(sp.together(wave_operator(metric, coords, phi) / gtt_inv)))


# --- symmetry of the wave equation under a linear map of the coordinates -------------------------------------

def _jet_at_image(expr: sp.Expr, f: sp.FunctionClass) -> sp.Expr:
    """Replace every derivative of ``f`` (bare or inside ``Subs``, i.e. evaluated at an image point) by a symbol
    ``f_<slots>`` naming the differentiated argument slots, e.g. ``f_01`` for d^2 f / dy0 dy1."""
    rep: dict[sp.Basic, sp.Symbol] = {}

    def name(d: sp.Derivative) -> sp.Symbol:
        args = d.expr.args
        slots: list[int] = []
        for var, cnt in d.variable_count:
            slots += [args.index(var)] * int(cnt)
        return sp.Symbol("f_" + "".join(map(str, sorted(slots))), real=True)

    for s in expr.atoms(sp.Subs):
        if isinstance(s.expr, sp.Derivative) and s.expr.expr.func == f:
            rep[s] = name(s.expr)
    for d in expr.atoms(sp.Derivative):
        if d.expr.func == f and not any(d in r.atoms(sp.Derivative) for r in rep):
            rep[d] = name(d)
    out = expr.xreplace(rep)
    for a in out.atoms(sp.Function):
        if a.func == f:
            out = out.xreplace({a: sp.Symbol("f_", real=True)})
    return out


def composition_defects(transform: sp.Matrix, metric: sp.Matrix) -> tuple[sp.Expr, sp.Expr]:
    r"""For a constant metric and a linear map :math:`\Lambda` (``transform``, acting on ``(t, x, ...)``):
    :math:`\Box(f\circ\Lambda) - (\Box f)\circ\Lambda` and :math:`\mathcal L[f\circ\Lambda] - \mathcal L[f]\circ\Lambda`
    for a generic function f, with the derivatives of f at :math:`\Lambda x` as jet symbols. Both are exactly 0
    iff :math:`\Lambda` is a symmetry of the wave equation / of its action."""
    n = metric.shape[0]
    coords = coordinates(n - 1)
    if not isinstance(transform, sp.MatrixBase) or transform.shape != (n, n):
        raise InvalidArgument(f"transform: expected a {n}x{n} SymPy Matrix, got "
                              f"{getattr(transform, 'shape', type(transform).__name__)}")
    if transform.free_symbols & set(coords) or metric.free_symbols & set(coords):
        raise InvalidArgument("transform/metric: must not depend on the coordinates (linear maps of a constant "
                              "metric only)")
    f = sp.Function("f")
    y = sp.symbols(f"y0:{n}", real=True)
    image = list(transform * sp.Matrix(coords))
    to_image = dict(zip(y, image))
    # euler_equations needs a field f(t, x, ...) of the coordinates themselves, so the composed field goes through
    # the Laplace-Beltrami form (equal to the Euler-Lagrange one: see the claim's check of the two).
    box_pulled = laplace_beltrami(metric, coords, f(*image))
    box_at_image = laplace_beltrami(metric, y, f(*y)).subs(to_image, simultaneous=True)
    lag_pulled = scalar_lagrangian(metric, coords, f(*image))
    lag_at_image = scalar_lagrangian(metric, y, f(*y)).subs(to_image, simultaneous=True)
    d_box = _jet_at_image(box_pulled, f) - _jet_at_image(box_at_image, f)
    d_lag = _jet_at_image(lag_pulled, f) - _jet_at_image(lag_at_image, f)
    return _reduce_in_jets(d_box), _reduce_in_jets(d_lag)


def _reduce_in_jets(expr: sp.Expr) -> sp.Expr:
    """A polynomial in the jet symbols ``f_*`` with each coefficient brought to a canonical rational form
    (``cancel``); the expression is 0 exactly when every coefficient is (the jets are independent)."""
    jets = sorted((s for s in expr.free_symbols if s.name.startswith("f_")), key=lambda s: s.name)
    if not jets:
        return sp.cancel(sp.together(expr))
    poly = sp.Poly(sp.expand(expr), *jets)
    out = sp.S.Zero
    for monom, coeff in poly.terms():
        cf = sp.cancel(sp.together(coeff))
        if cf != 0 and sp.simplify(cf) != 0:
            out += cf * sp.Mul(*[j**k for j, k in zip(jets, monom)])
    return out


def isometry_defect(transform: sp.Matrix, metric: sp.Matrix) -> sp.Matrix:
    r""":math:`\Lambda^T g \Lambda - g` (zero iff the linear map preserves the metric)."""
    d = (transform.T * metric * transform - metric).applyfunc(lambda e: sp.cancel(sp.together(sp.expand(e))))
    return d.applyfunc(lambda e: e if e == 0 or sp.simplify(e) != 0 else sp.S.Zero)


# --- geodesics ---------------------------------------------------------------------------------------------------

def geodesic_accelerations(metric: sp.Matrix, coords: Sequence[sp.Symbol]) -> tuple[tuple[sp.Symbol, ...],
                                                                                   tuple[sp.Expr, ...]]:
    r"""Geodesic equations from SymPy ``euler_equations`` of :math:`E = \tfrac12 g_{mn}\dot x^m\dot x^n`.

    Returns the velocity symbols ``(u_t, u_x, ...)`` and the accelerations :math:`\ddot x^m` as expressions in
    the coordinates and velocities (so a kernel can evaluate them).
    """
    _check_metric(metric, coords)
    lam = sp.Symbol("lambda", real=True)
    n = len(coords)
    paths = [sp.Function(f"X{k}")(lam) for k in range(n)]
    on_path = dict(zip(coords, paths))
    g = metric.subs(on_path, simultaneous=True)
    vel = [sp.diff(p, lam) for p in paths]
    energy = sp.Rational(1, 2) * sp.Add(*[g[a, b] * vel[a] * vel[b] for a in range(n) for b in range(n)])
    eqs = euler_equations(energy, paths, lam)
    acc = [sp.diff(p, lam, 2) for p in paths]
    # the equations are linear in the accelerations: M a = rhs, M = (minus) the metric on the path
    M, rhs = sp.linear_eq_to_matrix([e.lhs - e.rhs for e in eqs], acc)
    if M.det() == 0:
        raise DerivationError(f"the geodesic equations of {metric} cannot be solved for the accelerations")
    sol = [dict(zip(acc, M.LUsolve(rhs)))]
    u = tuple(sp.Symbol(f"u_{q.name}", real=True) for q in coords)
    back: dict[sp.Basic, sp.Basic] = {v: uu for v, uu in zip(vel, u)}
    back.update({p: q for p, q in zip(paths, coords)})
    # cancel, not simplify: the accelerations are rational in g and its derivatives; trigsimp is slow and unneeded
    out = tuple(sp.cancel(sp.together(sol[0][a].xreplace(back))) for a in acc)
    return u, out


def null_speed(metric: sp.Matrix) -> sp.Expr:
    r""":math:`c = \sqrt{-g_{tt}/g_{xx}}` of a diagonal 1+1 metric (real only where the metric is Lorentzian)."""
    if metric.shape != (2, 2) or metric[0, 1] != 0:
        raise InvalidArgument(f"metric: null_speed needs a diagonal 2x2 metric, got {metric}")
    return sp.sqrt(-metric[0, 0] / metric[1, 1])


def null_ray_defects(metric: sp.Matrix, coords: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    r"""Insert the null ray :math:`(dx/dt)^2 = -g_{tt}/g_{xx}` (i.e. :math:`dx/dt = \pm c(x)`, both signs at once)
    with affine parametrisation :math:`\dot t = 1/(-g_{tt})` (conserved energy 1, static metric) into the geodesic
    equations. With :math:`u = \dot x`, :math:`u^2 = Q(x) = -g_{tt}\dot t^2/g_{xx}` and
    :math:`\ddot x = \tfrac12 Q'(x)`; the defects :math:`\ddot t - a^t` and :math:`\ddot x - a^x`, reduced with
    :math:`u^2 = Q`, are linear in u and their two coefficients (four expressions) are returned; all exactly 0 iff
    both rays are geodesics. No square root is taken, so the check does not depend on the sign of
    :math:`-g_{tt}/g_{xx}` (whether the rays are real is a separate fact: the signature)."""
    t, x = coords
    if metric.has(t):
        raise InvalidArgument(f"metric: null_ray_defects needs a static metric (no t), got {metric}")
    if metric.shape != (2, 2) or metric[0, 1] != 0:
        raise InvalidArgument(f"metric: null_ray_defects needs a diagonal 2x2 metric, got {metric}")
    u, acc = geodesic_accelerations(metric, coords)
    ut = 1 / (-metric[0, 0])
    Q = -metric[0, 0] / metric[1, 1] * ut**2
    ux = u[1]
    d_t = sp.diff(ut, x) * ux - acc[0].subs(u[0], ut)
    d_x = sp.diff(Q, x) / 2 - acc[1].subs(u[0], ut)
    out: list[sp.Expr] = []
    for d in (d_t, d_x):
        poly = sp.Poly(sp.expand(sp.together(d).as_numer_denom()[0]), ux)
        even = sp.Add(*[cf * Q**(k // 2) for (k,), cf in poly.terms() if k % 2 == 0])
        odd = sp.Add(*[cf * Q**(k // 2) for (k,), cf in poly.terms() if k % 2 == 1])
        out += [even, odd]
    return tuple(sp.S.Zero if is_zero(e) else sp.simplify(e) for e in out)


# --- the network's continuum limit ------------------------------------------------------------------------------

def network_continuum_limit(speed: sp.Expr, x: sp.Symbol, courant: sp.Expr, order: int = 4
                            ) -> tuple[sp.Expr, sp.Expr, sp.Function]:
    r"""Taylor-expand the network update (module docstring) with :math:`\tau = r h` and return
    ``(limit, first_order, phi)``: the :math:`h^0` coefficient (the emergent wave residual, in terms of a generic
    field ``phi(t, x)``), the :math:`h^1` coefficient (0 for a second-order consistent update) and ``phi``.

    The update divided by :math:`\tau^2` is
    :math:`[\phi(t+\tau)-2\phi+\phi(t-\tau)]/\tau^2 - h^{-2} c(x)[c(x+h/2)(\phi(x+h)-\phi) - c(x-h/2)(\phi-\phi(x-h))]`.
    """
    t = sp.Symbol("t", real=True)
    h = sp.Symbol("h", positive=True)
    phi = sp.Function("phi")(t, x)

    def shift(expr: sp.Expr, var: sp.Symbol, step: sp.Expr) -> sp.Expr:
        return sp.Add(*[step**k / sp.factorial(k) * sp.diff(expr, var, k) for k in range(order + 1)])

    tau = courant * h
    time_part = (shift(phi, t, tau) - 2 * phi + shift(phi, t, -tau)) / tau**2
    cp, cm = shift(speed, x, h / 2), shift(speed, x, -h / 2)
    space_part = speed * (cp * (shift(phi, x, h) - phi) - cm * (phi - shift(phi, x, -h))) / h**2
    D = sp.expand(time_part - space_part)
    limit = D.coeff(h, 0)
    first = D.coeff(h, 1)
    if any(D.coeff(h, -k) != 0 and not is_zero(D.coeff(h, -k)) for k in (1, 2)):
        raise DerivationError("the network update has a divergent continuum limit")
    return limit, first, phi


__all__ = ["composition_defects", "coordinates", "galilean_boost", "geodesic_accelerations", "isometry_defect",
           "laplace_beltrami", "lorentz_boost", "minkowski", "network_continuum_limit", "null_ray_defects",
           "null_speed", "optical_metric", "scalar_lagrangian", "wave_operator", "wave_residual"]
