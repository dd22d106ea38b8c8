r"""Strategies for the gravity side: metrics as metric-file TOML text (implementation of :mod:`nnqg.strategies`).

Every metric is drawn as the text a user would write in a metric file (``nnqg curvature FILE``) and becomes a
:class:`~nnqg.derivations._curvature.Metric` only through the same loader,
:func:`nnqg.derivations._metric_file.loads_metric` (:func:`load`). Families:

* 1+1 optical metrics :math:`e^{2\sigma}(-c(x)^2 dt^2 + 2 b c\,dt\,dx + dx^2)` of a network's light speed c(x);
* static spherical metrics :math:`-f\,dt^2 + dr^2/h + r^2 d\Omega^2` with random f(r), h(r);
* stationary axisymmetric metrics in Weyl-Lewis-Papapetrou form
  :math:`-f(dt - w\,d\phi)^2 + f^{-1}(e^{2k}(d\rho^2 + dz^2) + \rho^2 d\phi^2)` with random f, w, k of
  :math:`(\rho, z)`;
* FLRW metrics :math:`-dt^2 + a(t)^2 (d\chi^2 + S_k(\chi)^2 d\Omega^2)` with a random scale factor a(t) and
  spatial curvature k in {-1, 0, 1} (flat: Cartesian coordinates);
* random coordinate changes of a known exact solution (:func:`transformed_solutions`): the pull-back
  :math:`g'_{ab}(x') = J^m{}_a J^n{}_b\, g_{mn}(x(x'))`, :math:`J = \partial x/\partial x'`, of a solution is a
  solution of the same equation, so a checker must find it one.

None of the first three is a solution of anything in general; the contracted Bianchi identity holds for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp
from hypothesis import strategies as st

from nnqg.derivations import _metrics as mm
from nnqg.derivations import parse_formula
from nnqg.derivations._metric_file import MetricSpec, loads_metric

from ._strategies_quantum import decimal_text, grid, linear_text

#: positive parameters the families may keep symbolic
_POSITIVE = ("M", "Lambda", "H")


def toml_text(name: str, coords: Sequence[str], g: sp.Matrix, parameters: Sequence[str] = (),
              Lambda: sp.Expr | None = None) -> str:
    """A metric file (the format of ``nnqg curvature``) for the matrix ``g`` in the named coordinates: one
    ``a_b`` entry per non-zero unordered pair, formulas printed by SymPy's ``sstr`` (which the restricted parser
    reads back), positive parameters declared."""
    lines = [f"name = {name!r}".replace("'", '"'), "coordinates = [" + ", ".join(f'"{c}"' for c in coords) + "]"]
    if Lambda is not None:
        lines.append(f'lambda = "{sp.sstr(Lambda)}"')
    if parameters:
        lines.append("[parameters]")
        lines += [f'{p} = "positive"' for p in parameters]
    lines.append("[metric]")
    n = len(coords)
    for i in range(n):
        for j in range(i, n):
            if g[i, j] != 0:
                lines.append(f'{coords[i]}_{coords[j]} = "{sp.sstr(g[i, j])}"')
    return "\n".join(lines) + "\n"


def _expr(text: str, *names: sp.Symbol) -> sp.Expr:
    """One of our own drawn formulas, built by the restricted parser (never ``sympify``)."""
    return parse_formula(text, {s.name: s for s in names}, what="drawn formula")


def load(text: str, source: str = "<drawn metric>") -> MetricSpec:
    """A drawn metric file through the user's loader (:func:`nnqg.derivations._metric_file.loads_metric`)."""
    return loads_metric(text, source)


# ---------------------------------------------------------------------------------------- random functions

@st.composite
def _radial(draw: st.DrawFn, leading: str) -> str:
    r"""A positive-leading function of r: ``leading`` plus up to three terms :math:`c\,r^k`, k in {-2,-1,1,2}."""
    terms = []
    for k in draw(st.lists(st.sampled_from([-1, -2, 2, 1]), max_size=3, unique=True)):
        c = draw(grid("-1", "1", "0.125", "0.5").filter(lambda x: x != 0))
        terms.append((c, f"r**{k}" if k != 1 else "r"))
    return leading if not terms else f"{leading} + {linear_text(terms)}".replace("+ -", "- ")


@st.composite
def static_spherical_metrics(draw: st.DrawFn) -> str:
    """Static spherical metrics :math:`-f dt^2 + dr^2/h + r^2 d\\Omega^2`, f and h random functions of r
    (``1 - 2*M/r`` plus random powers), as metric-file text."""
    f = draw(_radial("1 - 2*M/r"))
    h = draw(st.one_of(st.just(None), _radial("1")))
    th, r = mm.TH, mm.R
    F = _expr(f, mm.M, r)
    H = F if h is None else _expr(h, r)
    g = sp.diag(-F, 1 / H, r**2, r**2 * sp.sin(th) ** 2)
    return toml_text("static spherical (drawn)", ("t", "r", "theta", "phi"), g, ("M",))


@st.composite
def _axis_function(draw: st.DrawFn, base: str) -> str:
    """``base`` plus up to two polynomial terms in rho**2 and z (even in rho: regular on the axis)."""
    terms = [(1.0, base)] if base else []
    for term in draw(st.lists(st.sampled_from(["rho**2", "z**2", "z", "rho**2*z"]), max_size=2, unique=True)):
        terms.append((draw(grid("-0.5", "0.5", "0.125", "0.25").filter(lambda x: x != 0)), term))
    return linear_text(terms)


@st.composite
def stationary_axisymmetric_metrics(draw: st.DrawFn) -> str:
    """Weyl-Lewis-Papapetrou metrics with random f (positive near the axis), w, k of (rho, z), as text."""
    rho, z = sp.symbols("rho z", real=True)
    f = sp.exp(_expr(draw(_axis_function("")), rho, z))
    w = _expr(draw(_axis_function("")), rho, z)
    k = _expr(draw(_axis_function("")), rho, z)
    g = sp.zeros(4)
    g[0, 0] = -f
    g[0, 3] = g[3, 0] = f * w
    g[3, 3] = -f * w**2 + rho**2 / f
    g[1, 1] = g[2, 2] = sp.exp(2 * k) / f
    return toml_text("stationary axisymmetric (drawn)", ("t", "rho", "z", "phi"), g)


@st.composite
def scale_factors(draw: st.DrawFn) -> str:
    """Scale factors a(t) > 0 for t > 0: powers, exponentials, cosh, and polynomials."""
    kind = draw(st.sampled_from(["power", "exp", "cosh", "poly"]))
    if kind == "power":
        return f"t**{decimal_text(draw(grid('0.25', '2', '0.25', '0.5')))}"
    rate = linear_text([(draw(grid("0.25", "2", "0.25", "1")), "t")])
    if kind == "exp":
        return f"exp({rate})"
    if kind == "cosh":
        return f"cosh({rate})"
    return linear_text([(1, ""), (draw(grid("0.125", "1", "0.125", "0.5")), "t**2")])


@st.composite
def flrw_metrics(draw: st.DrawFn) -> str:
    r"""FLRW with a random a(t) and k in {0, 1, -1}: flat in Cartesian (t, x, y, z), curved in
    (t, chi, theta, phi) with :math:`S_1 = \sin\chi`, :math:`S_{-1} = \sinh\chi`."""
    t = mm.T
    a = _expr(draw(scale_factors()), t)
    k = draw(st.sampled_from([0, 1, -1]))
    if k == 0:
        g = sp.diag(-1, a**2, a**2, a**2)
        return toml_text("FLRW flat (drawn a(t))", ("t", "x", "y", "z"), g)
    chi = sp.Symbol("chi", real=True)
    S = sp.sin(chi) if k == 1 else sp.sinh(chi)
    g = sp.diag(-1, a**2, a**2 * S**2, a**2 * S**2 * sp.sin(mm.TH) ** 2)
    return toml_text(f"FLRW k = {k} (drawn a(t))", ("t", "chi", "theta", "phi"), g)


# ----------------------------------------------------------------------------- coordinate changes of solutions

@dataclass(frozen=True)
class SolutionCase:
    """A known solution (``base``: its key in :data:`nnqg.derivations._metrics.SOLUTIONS`) after the coordinate
    change ``change`` (old coordinates in terms of the new ones, in words), as metric-file ``text``."""

    base: str
    change: str
    text: str


def pull_back(g: sp.Matrix, coords: Sequence[sp.Symbol], old_of_new: dict[sp.Symbol, sp.Expr]) -> sp.Matrix:
    r"""The metric in new coordinates: :math:`g'_{ab} = J^m{}_a J^n{}_b g_{mn}(x(x'))`, with the new
    coordinates carrying the old names (``old_of_new`` maps an old coordinate to a formula in the new ones;
    coordinates not in it are unchanged)."""
    X = sp.Matrix([old_of_new.get(c, c) for c in coords])
    J = X.jacobian(list(coords))
    g_at = g.xreplace(old_of_new) if old_of_new else g
    out = (J.T * g_at * J).applyfunc(sp.expand)
    return out


#: bases for coordinate changes: key -> (coordinate kind, equation); Kerr and Reissner-Nordstrom are left out
#: (their pull-backs exceed the metric file's formula limits)
BASES = {"minkowski": "cartesian", "flrw_de_sitter": "cartesian", "schwarzschild": "spherical",
         "de_sitter": "spherical", "schwarzschild_de_sitter": "spherical"}

_PYTHAGOREAN = [(3, 5), (5, 13), (8, 17), (7, 25)]  # v = a/b with a rational Lorentz factor


def _compose(changes: Sequence[dict[sp.Symbol, sp.Expr]], coords: Sequence[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    """Old coordinates in terms of the newest ones after applying ``changes`` in order (each maps a coordinate
    to a formula in the next coordinates, named alike)."""
    cur: dict[sp.Symbol, sp.Expr] = {c: c for c in coords}
    for new in changes:
        cur = {c: e.xreplace(new) for c, e in cur.items()}
    return {c: e for c, e in cur.items() if e != c}


def _spherical_changes(draw: st.DrawFn) -> tuple[dict[sp.Symbol, sp.Expr], list[str]]:
    t, r, th, ph = mm.SPHERICAL
    kinds = draw(st.lists(st.sampled_from(["t_shift_r", "t_shift_log", "t_scale", "r_shift", "r_scale",
                                           "rotating", "twist"]), min_size=1, max_size=2, unique=True))
    changes, words = [], []
    for k in kinds:
        c = sp.Rational(str(draw(grid("0.25", "2", "0.25", "1").filter(lambda x: x != 1 or "scale" not in k))))
        change, word = {
            "t_shift_r": ({t: t + c * r}, f"t -> t + {c}*r"),
            "t_shift_log": ({t: t + c * sp.log(r)}, f"t -> t + {c}*log(r)"),
            "t_scale": ({t: c * t}, f"t -> {c}*t"),
            "r_shift": ({r: r + c}, f"r -> r + {c}"),
            "r_scale": ({r: c * r}, f"r -> {c}*r"),
            "rotating": ({ph: ph + c * t}, f"phi -> phi + {c}*t"),
            "twist": ({ph: ph + c * sp.cos(th)}, f"phi -> phi + {c}*cos(theta)"),
        }[k]
        changes.append(change)
        words.append(word)
    return _compose(changes, mm.SPHERICAL), words


def _cartesian_changes(draw: st.DrawFn) -> tuple[dict[sp.Symbol, sp.Expr], list[str]]:
    t, x, y, z = mm.T, mm.X, mm.Y, mm.Z
    kinds = draw(st.lists(st.sampled_from(["boost", "rotation", "galilean", "t_shift_x2"]), min_size=1,
                          max_size=2, unique=True))
    changes, words = [], []
    for k in kinds:
        if k in ("boost", "rotation"):
            a, b = draw(st.sampled_from(_PYTHAGOREAN))
            sn, cs = sp.Rational(a, b), sp.sqrt(b**2 - a**2) / b
            if k == "boost":  # v = a/b, gamma = 1/sqrt(1 - v^2) = b/sqrt(b^2 - a^2)
                gam = 1 / cs
                changes.append({t: gam * (t + sn * x), x: gam * (x + sn * t)})
                words.append(f"boost along x, v = {sn}")
            else:
                changes.append({x: cs * x - sn * y, y: sn * x + cs * y})
                words.append(f"rotation in (x, y), sin = {sn}")
        elif k == "galilean":
            c = sp.Rational(str(draw(grid("0.25", "2", "0.25", "0.5"))))
            changes.append({x: x + c * t})
            words.append(f"x -> x + {c}*t")
        else:
            c = sp.Rational(str(draw(grid("0.125", "1", "0.125", "0.25"))))
            changes.append({t: t + c * x**2})
            words.append(f"t -> t + {c}*x**2")
    return _compose(changes, (t, x, y, z)), words


@st.composite
def transformed_solutions(draw: st.DrawFn, bases: Sequence[str] | None = None) -> SolutionCase:
    """A known exact solution (one of :data:`BASES`) after one or two random coordinate changes (time shifts
    by functions of r, rescalings, radial shifts, rotating frames, :math:`\\phi \\to \\phi + c\\cos\\theta`;
    boosts, rotations, Galilean shifts, :math:`t \\to t + c x^2`): still a solution of its equation."""
    names = list(BASES) if bases is None else list(bases)
    base = draw(st.sampled_from(names))
    sol = mm.SOLUTIONS[base]()
    m = sol.metric
    sub, words = (_spherical_changes if BASES[base] == "spherical" else _cartesian_changes)(draw)
    g = pull_back(sp.Matrix(m.g), m.coords, sub)
    params = [p.name for p in m.parameters if p.name in _POSITIVE]
    # a Lambda that is a declared parameter is taken by the loader as the cosmological constant
    Lambda = sol.Lambda if sol.Lambda is not None and sol.Lambda not in m.parameters else None
    change = "; ".join(words)
    text = toml_text(f"{m.name} under {change}", [c.name for c in m.coords], g, params, Lambda)
    return SolutionCase(base, change, text)


@st.composite
def two_dimensional_metrics(draw: st.DrawFn, general: bool = True) -> str:
    r"""1+1 metrics in (t, x): the optical metric :math:`-c(x)^2 dt^2 + dx^2` of a network with local light
    speed c(x) (:func:`nnqg.strategies.speed_profiles`); with ``general``, optionally times a conformal factor
    :math:`e^{2\sigma(t, x)}` and with a shift :math:`2 b\,c(x)\,dt\,dx` (|b| < 1 keeps it Lorentzian)."""
    from ._strategies_networks import speed_profiles

    t, x = sp.symbols("t x", real=True)
    c = _expr(draw(speed_profiles()), x)
    sigma = _expr(draw(st.sampled_from(["0", "t/4", "x/4", "(t + x)/8"])), t, x) if general else sp.S.Zero
    b = sp.Rational(str(draw(grid("-0.5", "0.5", "0.25", "0")))) if general else sp.S.Zero
    g = sp.Matrix([[-c**2, b * c], [b * c, 1]]) * sp.exp(2 * sigma)
    return toml_text("optical 1+1 (drawn c(x))", ("t", "x"), g)


#: the metric families of :func:`metric_files`, simplest first
METRIC_FAMILIES: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "two_dimensional": two_dimensional_metrics, "static_spherical": static_spherical_metrics, "flrw": flrw_metrics,
    "stationary_axisymmetric": stationary_axisymmetric_metrics,
    "transformed_solution": lambda: transformed_solutions().map(lambda s: s.text),
}


def metric_files(families: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """Metric-file text from the named families (default: all of :data:`METRIC_FAMILIES`)."""
    names = list(METRIC_FAMILIES) if families is None else list(families)
    unknown = [n for n in names if n not in METRIC_FAMILIES]
    if unknown or not names:
        raise ValueError(f"metric_files: unknown families {unknown}; known: {list(METRIC_FAMILIES)}")
    return st.one_of(*[METRIC_FAMILIES[n]() for n in names])


def metrics(families: Sequence[str] | None = None) -> st.SearchStrategy:
    """:class:`~nnqg.derivations._curvature.Metric` objects: :func:`metric_files` through the user's loader."""
    return metric_files(families).map(lambda text: load(text).metric)
