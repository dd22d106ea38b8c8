r"""Exact curvature of a metric in any dimension, every verdict confirmed by an independent second opinion.

For a metric :math:`g_{ab}(x)` in coordinates :math:`x^a`

.. math::
    \Gamma^a{}_{bc} = \tfrac12 g^{ad}(\partial_b g_{dc} + \partial_c g_{db} - \partial_d g_{bc}),\qquad
    R^a{}_{bcd} = \partial_c \Gamma^a{}_{db} - \partial_d \Gamma^a{}_{cb}
                  + \Gamma^a{}_{ce}\Gamma^e{}_{db} - \Gamma^a{}_{de}\Gamma^e{}_{cb},

:math:`R_{bd} = R^a{}_{bad}`, :math:`R = g^{bd}R_{bd}`, :math:`G_{ab} = R_{ab} - \tfrac12 R g_{ab}`.

The engine (modules ``_curv_field``, ``_curv_prepare``, ``_curv_engine``) keeps every component in a field of
rational functions (python-flint ``fmpz_mpoly`` pairs reduced by their gcd): "is zero" is "the numerator has no
terms". A metric enters that field through charts for trigonometric coordinates and generators for
transcendental functions, each generator carrying its derivative rule (soundness by construction); where no
rational representation exists it falls back to SymPy expressions and says so in :attr:`CheckResult.path`.

Every verdict of :func:`check` is then confirmed by :mod:`._curvature_referee`, which shares no code with the
engine: the metric as written, its Taylor jets at random points in ball arithmetic, the textbook formulas.
"holds" is returned only if every residual component is 0 at every sample point; each non-zero component's
witness (its value at a sample point) is recomputed. When the two disagree, :class:`InconsistentVerdict` is
raised naming the component and the point: never a verdict. The contracted Bianchi identity
(:func:`bianchi_check`) is confirmed the same way by :mod:`._bianchi_referee` (third-order jets).

>>> t, r, th, ph = sp.symbols("t r theta phi", real=True)
>>> M = sp.Symbol("M", positive=True)
>>> f = 1 - 2 * M / r
>>> schw = Metric("Schwarzschild", (t, r, th, ph), sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(th)**2), (M,))
>>> res = check(schw, "ricci_flat")
>>> res.holds, res.path
(True, 'rational (flint fmpz_mpoly); chart c_theta = cos(theta)')
>>> christoffel(schw)[1][0][0]
M*(-2*M + r)/r**3
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import sympy as sp

from ._curv_display import covector_to_user, factored, label, pretty_functions, to_user
from ._curv_engine import Curvature, christoffel_from, compute, einstein_divergence, maxwell_tensor, \
    residual_tensor, _inverse
from ._curv_field import ExprAlgebra, FlintField, JetOrder, NotRational
from ._curv_metric import Metric, _as_metric
from ._curv_prepare import Chart, Prepared, prepare, prepare_rational
from ._curv_variation import HilbertVariation, hilbert_variation, is_zero_exact, maxwell_stress
from ._bianchi_referee import BianchiReferee
from ._curvature_referee import Referee, RefereeProblem, RefereeUnsupported, SamplePoint
from ._errors import InvalidArgument, NnqgError

__all__ = [
    "BianchiResult", "CHECKS", "CheckResult", "Chart", "Component", "Curvature", "HilbertVariation",
    "InconsistentVerdict", "Metric", "Prepared", "bianchi_check", "check", "christoffel", "compute", "curvature",
    "einstein_divergence", "factored", "hilbert_variation", "is_zero_exact", "maxwell_stress", "prepare", "to_user",
]

CHECKS = ("ricci_flat", "einstein_lambda", "einstein")
EQUATION_NAMES = {"ricci_flat": "R_ab = 0", "einstein_lambda": "E_ab = G_ab + Lambda g_ab = 0",
                  "einstein": "E_ab = G_ab + Lambda g_ab - 8 pi T_ab = 0"}
#: random points at which the second opinion confirms "holds"
SECOND_OPINION_POINTS = 3


class InconsistentVerdict(NnqgError):
    """The engine and the second opinion disagree: an internal error of nnqg, never a verdict (exit 3)."""


def curvature(metric: Metric, **kw: Any) -> Curvature:
    """Christoffel, Ricci, scalar and Einstein tensors of ``metric`` in the fastest algebra available."""
    return compute(prepare(metric, **{k: v for k, v in kw.items() if k in ("force_expression", "jet_order")}))


# ----------------------------------------------------------------------------------------------------------------
# Christoffel symbols in the user's coordinates


def christoffel(metric: Metric | sp.MatrixBase, coords: Sequence[sp.Symbol] | None = None, *,
                abbreviations: Mapping[str, sp.Expr] | None = None) -> tuple[tuple[tuple[sp.Expr, ...], ...], ...]:
    r""":math:`\Gamma^a{}_{bc}` as SymPy expressions in the given coordinates, ``Gamma[a][b][c]``.

    Uses the rational field with :math:`\sin x`, :math:`\cos x` of coordinates as generators (with
    :math:`\sin^2 + \cos^2 = 1`; no chart change, the Christoffel symbols are not a tensor), else expressions
    with ``cancel``/``simplify``.

    >>> t, x = sp.symbols("t x", real=True)
    >>> c = sp.Function("c")(x)
    >>> G = christoffel(sp.diag(-c**2, 1), (t, x))
    >>> G[1][0][0], G[0][0][1]
    (c(x)*Derivative(c(x), x), Derivative(c(x), x)/c(x))
    """
    m = _as_metric(metric, coords)
    names = list(abbreviations or {})
    try:
        prep = prepare_rational(m, (), [sp.sympify(v) for v in (abbreviations or {}).values()], 2,
                                trig_generators=True)
    except (NotRational, JetOrder):
        prep = prepare(m, force_expression=True)
    A, n = prep.algebra, prep.dim
    ginv = _inverse(A, prep.g)
    Gm = christoffel_from(A, prep.g, ginv, n)
    if isinstance(A, ExprAlgebra):
        return tuple(tuple(tuple(sp.simplify(x) if x != 0 else x for x in y) for y in z) for z in Gm)
    ab = {nm: prep.scalars[i] for i, nm in enumerate(names)}
    return tuple(tuple(tuple(factored(prep, x, ab) for x in y) for y in z) for z in Gm)


# ----------------------------------------------------------------------------------------------------------------
# Checking field equations


@dataclass(frozen=True)
class Component:
    """A non-zero component ``label`` (user's coordinates), its expression, and a witness: its value at a sample
    point (``point``: name = value pairs), recomputed by the second opinion (``second``)."""

    label: str
    expression: sp.Expr
    point: tuple[tuple[str, str], ...]
    value: str
    second: str = ""
    index: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class SecondOpinion:
    """What the second opinion did: ``points`` evaluated, ``seconds`` spent, a one-line ``summary``."""

    points: int
    seconds: float
    summary: str
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class CheckResult:
    equation: str
    holds: bool
    path: str
    seconds: float
    nonzero: tuple[Component, ...]
    curvature: Curvature = field(repr=False)
    kind: str = "R"
    residual: tuple = field(default=(), repr=False)
    second_opinion: SecondOpinion | None = None
    cpu_seconds: float = 0.0          # process CPU time of the engine's verdict (``seconds`` is wall-clock)

    def describe(self, timing: bool = True, expressions: bool = True) -> str:
        so = f"; second opinion: {self.second_opinion.summary}" if self.second_opinion else ""
        if self.holds:
            return (f"{self.equation}: holds exactly ({self.path}" + (f"; {self.seconds:.3g} s" if timing else "")
                    + ")" + so)
        k = len(self.nonzero)
        lines = [f"{self.equation}: does NOT hold ({k} non-zero component{'s' if k != 1 else ''}; {self.path})"
                 + so]
        for c in self.nonzero:
            pt = ", ".join(f"{k}={v}" for k, v in c.point)
            shown = f" = {pretty_functions(c.expression)}   " if expressions else " is not 0:"
            lines.append(f"  {c.label}{shown} [at {pt}: {c.value}]")
        return "\n".join(lines)


def check(metric: Metric, equation: str = "ricci_flat", *, Lambda: sp.Expr | None = None,
          stress_energy: sp.MatrixBase | None = None, kappa: sp.Expr = 8 * sp.pi,
          potential: Sequence[sp.Expr] | None = None, seed: int = 0, force_expression: bool = False,
          christoffel_hook: Callable | None = None, second_opinion: bool = True,
          points: int = SECOND_OPINION_POINTS, abbreviations: Mapping[str, sp.Expr] | None = None) -> CheckResult:
    r"""Decide exactly whether ``metric`` satisfies ``equation``, confirmed by the second opinion.

    ``ricci_flat``: :math:`R_{ab} = 0`; ``einstein_lambda``: :math:`G_{ab} + \Lambda g_{ab} = 0`;
    ``einstein``: :math:`G_{ab} + \Lambda g_{ab} = \kappa T_{ab}` with ``stress_energy`` :math:`T_{ab}` (lower
    indices) plus the Maxwell stress tensor of ``potential`` :math:`A_a` if given, :math:`\kappa = 8\pi`
    (G = 1) by default. ``Lambda`` is an expression in the parameters. Raises :class:`InconsistentVerdict`
    when engine and second opinion disagree; ``second_opinion=False`` only for measuring the engine alone.
    """
    if equation not in CHECKS:
        raise InvalidArgument(f"--check {equation!r}: expected one of {', '.join(CHECKS)}")
    t0, c0 = time.perf_counter(), time.process_time()
    n = metric.dim
    tensors, scalars, covectors = [], [], []
    li = si = ki = pi4 = None
    if equation in ("einstein_lambda", "einstein"):
        if equation == "einstein_lambda" and Lambda is None:
            raise InvalidArgument("--check einstein_lambda needs a cosmological constant: declare a parameter "
                                  "'Lambda' or give lambda = \"...\"")
        if Lambda is not None:
            li = len(scalars)
            scalars.append(sp.sympify(Lambda))
    if equation == "einstein":
        if stress_energy is None and potential is None:
            raise InvalidArgument("--check einstein needs a [stress_energy] table (T_mn, lower indices) or a "
                                  "[maxwell] potential")
        T = sp.ImmutableMatrix(stress_energy) if stress_energy is not None else sp.zeros(n, n)
        si = len(tensors)
        tensors.append(T)
        ki = len(scalars)
        scalars.append(sp.sympify(kappa))
        if potential is not None:
            covectors.append(tuple(sp.sympify(a) for a in potential))
            pi4 = len(scalars)
            scalars.append(4 * sp.pi)
    ab_names = list(abbreviations or {})
    ab_index = len(scalars)
    scalars.extend(sp.sympify(v) for v in (abbreviations or {}).values())
    prep = prepare(metric, tensors=tensors, scalars=scalars, covectors=covectors, force_expression=force_expression)
    cv = compute(prep, christoffel_hook=christoffel_hook)
    A = prep.algebra
    if pi4 is not None:
        Tm = maxwell_tensor(cv, prep.covectors[0], prep.scalars[pi4])
        total = tuple(tuple(A.add(prep.tensors[si][a][b], Tm[a][b]) for b in range(n)) for a in range(n))
        prep = _with_tensor(prep, si, total)
        cv = _with_prepared(cv, prep)
    kind, res = residual_tensor(cv, equation, lambda_index=li, stress_index=si, kappa_index=ki)
    bad = [(a, b) for a in range(n) for b in range(a, n) if not A.is_zero(res[a][b])]
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    abbrev = {nm: prep.scalars[ab_index + i] for i, nm in enumerate(ab_names)} \
        if isinstance(A, FlintField) else None
    exprs = {(a, b): to_user(prep, a, b, res[a][b], abbrev) for a, b in bad}
    # witnesses are evaluated with the abbreviations written out
    spelled = {sp.Symbol(nm): sp.sympify(v) for nm, v in (abbreviations or {}).items()}
    name = EQUATION_NAMES[equation]
    if not second_opinion:
        comps = tuple(Component(label(kind, metric.coords, a, b), exprs[(a, b)], (), "not evaluated", "", (a, b))
                      for a, b in bad)
        return CheckResult(name, not bad, prep.path, seconds, comps, cv, kind, res, None, cpu)
    problem = RefereeProblem(tuple(metric.coords), sp.ImmutableMatrix(metric.g), tuple(metric.parameters),
                             equation, sp.sympify(Lambda) if Lambda is not None else None,
                             sp.ImmutableMatrix(stress_energy) if stress_energy is not None else None,
                             sp.sympify(kappa), tuple(sp.sympify(a) for a in potential) if potential else None)
    comps, opinion = _second_opinion(problem, metric, kind, bad, exprs, seed, points, name, prep.path, spelled)
    return CheckResult(name, not bad, prep.path, seconds, comps, cv, kind, res, opinion, cpu)


def _with_tensor(prep: Prepared, i: int, T: tuple) -> Prepared:
    from dataclasses import replace

    tensors = list(prep.tensors)
    tensors[i] = T
    return replace(prep, tensors=tuple(tensors))


def _with_prepared(cv: Curvature, prep: Prepared) -> Curvature:
    from dataclasses import replace

    return replace(cv, prepared=prep)


# ----------------------------------------------------------------------------------------------------------------
# The second opinion


def _sample(make: Callable[[], Any], metric: Metric, name: str, npoints: int) -> tuple[Any, list[SamplePoint]]:
    """A second opinion made by ``make`` and its first ``npoints`` sample points; a construct it cannot
    evaluate is an :class:`InconsistentVerdict`, a metric with no valid point an :class:`InvalidArgument`."""
    try:
        ref = make()
        pts = ref.points(max(npoints, 1))
    except RefereeUnsupported as exc:
        raise InconsistentVerdict(f"internal inconsistency: the second opinion cannot evaluate {exc}; no "
                                  f"verdict on {name} for {metric.name!r}") from None
    if not pts:
        raise InvalidArgument(f"metric {metric.name!r}: it is not finite, real and non-degenerate at any of the "
                              f"sampled points (coordinates in [1/10, 3] and [-5, 5], parameters by their "
                              f"assumption); a metric must be real on its domain")
    return ref, pts


def _second_opinion(problem: RefereeProblem, metric: Metric, kind: str, bad: list[tuple[int, int]],
                    exprs: Mapping[tuple[int, int], sp.Expr], seed: int, npoints: int, name: str,
                    path: str, spelled: Mapping[sp.Symbol, sp.Expr]) -> tuple[tuple[Component, ...], SecondOpinion]:
    t0, c0 = time.perf_counter(), time.process_time()
    coords = metric.coords
    ref, pts = _sample(lambda: Referee(problem, seed), metric, name, npoints)

    def lab(a: int, b: int) -> str:
        return label(kind, coords, a, b)

    def where(p: SamplePoint) -> str:
        return p.describe()

    if not bad:
        for p in pts[:npoints]:
            ok, comp, val = ref.all_zero(p)
            if not ok:
                raise InconsistentVerdict(
                    f"internal inconsistency: the engine says {name} holds exactly ({path}), but the second "
                    f"opinion finds {lab(*comp)} = {_show_ball(val)} at {where(p)}. No verdict: please report "
                    f"this metric.")
        return (), SecondOpinion(len(pts[:npoints]), time.perf_counter() - t0,
                                 f"every component 0 at {len(pts[:npoints])} random points (ball arithmetic, "
                                 f"{_digits()} digits)", time.process_time() - c0)
    # does not hold: every zero component of the engine is zero at the first point, every non-zero one is
    # recomputed at its witness point
    first = pts[0]
    n = metric.dim
    for a in range(n):
        for b in range(a, n):
            if (a, b) in exprs:
                continue
            verdict, val = ref.component(first, a, b)
            if verdict != "zero":
                raise InconsistentVerdict(
                    f"internal inconsistency: the engine says {lab(a, b)} = 0, but the second opinion finds "
                    f"{_show_ball(val)} at {where(first)} ({path}). No verdict: please report this metric.")
    comps = []
    for (a, b), expr in exprs.items():
        witness = None
        for p in pts:
            ev = _engine_value(ref, expr.xreplace(spelled) if spelled else expr, p)
            if ev is None or (isinstance(ev, Fraction) and ev == 0) or \
                    (not isinstance(ev, Fraction) and ev.contains(0)):
                continue
            verdict, val = ref.component(p, a, b)
            if verdict != "nonzero" or not _agree(ev, val):
                raise InconsistentVerdict(
                    f"internal inconsistency: the engine's {lab(a, b)} = {pretty_functions(expr)} is {_show(ev)} "
                    f"at {where(p)}, the second opinion finds {_show_ball(val)} ({path}). No verdict: please "
                    f"report this metric.")
            witness = (p, ev, val)
            break
        if witness is None:
            verdict, val = ref.component(pts[0], a, b)
            raise InconsistentVerdict(
                f"internal inconsistency: the engine says {lab(a, b)} is not 0 ({path}) but its expression "
                f"{pretty_functions(expr)} vanishes or is not finite at every sample point; the second opinion "
                f"finds {_show_ball(val)} at {where(pts[0])}. No verdict: please report this metric.")
        p, ev, val = witness
        comps.append(Component(lab(a, b), expr, p.pairs(), _show(ev), _show_ball(val), (a, b)))
    return tuple(comps), SecondOpinion(len(pts), time.perf_counter() - t0,
                                       f"each witness recomputed ({_digits()}-digit ball arithmetic)",
                                       time.process_time() - c0)


@dataclass(frozen=True)
class BianchiResult:
    """:math:`V_b = \\nabla_a G^a{}_b` by the engine: ``components[b]`` is 0 (exactly) or the non-zero
    component in the user's coordinates, confirmed by :mod:`._bianchi_referee`; ``path`` is the engine's
    algebra and chart."""

    components: tuple[sp.Expr, ...]
    path: str
    second_opinion: SecondOpinion


def bianchi_check(metric: Metric, *, trace_coefficient: Fraction = Fraction(1, 2),
                  christoffel_hook: Callable | None = None, seed: int = 0,
                  points: int = SECOND_OPINION_POINTS) -> BianchiResult:
    r"""The contracted Bianchi identity :math:`\nabla_a G^a{}_b = 0` for ``metric`` (with
    :math:`G_{ab} = R_{ab} - c R g_{ab}`, :math:`c` = ``trace_coefficient``), decided exactly by the engine and
    confirmed by the second opinion of :mod:`._bianchi_referee`: a component the engine calls 0 must be "zero"
    at every one of ``points`` random points ("undecided" is a disagreement), a non-zero one must be "non-zero"
    at its witness point with the engine's value to 25 digits. Raises :class:`InconsistentVerdict` otherwise.
    ``christoffel_hook`` plants an engine error (tests and mutations only).

    >>> t, r, th, ph = sp.symbols("t r theta phi", real=True)
    >>> A, B = sp.Function("A")(r), sp.Function("B")(r)
    >>> res = bianchi_check(Metric("static A, B", (t, r, th, ph), sp.diag(-A, B, r**2, r**2 * sp.sin(th)**2)))
    >>> res.components, res.second_opinion.summary
    ((0, 0, 0, 0), 'confirmed at 3 random points (ball arithmetic, 57 digits)')
    >>> bianchi_check(Metric("static A, B", (t, r, th, ph), sp.diag(-A, B, r**2, r**2 * sp.sin(th)**2)),
    ...               trace_coefficient=Fraction(1)).components[1] != 0
    True
    """
    prep = prepare(metric)
    cv = compute(prep, christoffel_hook=christoffel_hook, einstein_trace_coefficient=Fraction(trace_coefficient))
    div = einstein_divergence(cv)
    A = prep.algebra
    exprs = [sp.S.Zero if A.is_zero(d) else covector_to_user(prep, b, d) for b, d in enumerate(div)]
    t0, c0 = time.perf_counter(), time.process_time()
    problem = RefereeProblem(tuple(metric.coords), sp.ImmutableMatrix(metric.g), tuple(metric.parameters))
    ref, pts = _sample(lambda: BianchiReferee(problem, seed, trace_coefficient=Fraction(trace_coefficient)),
                       metric, "nabla_a G^a_b = 0", points)
    coords = metric.coords
    for b, expr in enumerate(exprs):
        lab = f"nabla_a G^a_{coords[b]}"
        if expr == 0:
            for p in pts:
                verdict, val = ref.divergence_decisions(p)[b]
                if verdict != "zero":
                    raise InconsistentVerdict(
                        f"internal inconsistency: the engine says {lab} = 0 ({prep.path}), but the second opinion "
                        f"finds {_show_ball(val)} ({verdict}) at {p.describe()}. No verdict: please report this "
                        f"metric.")
            continue
        for p in pts:
            ev = _engine_value(ref, expr, p)
            if ev is None or (isinstance(ev, Fraction) and ev == 0) or \
                    (not isinstance(ev, Fraction) and ev.contains(0)):
                continue
            verdict, val = ref.divergence_decisions(p)[b]
            if verdict != "nonzero" or not _agree(ev, val):
                raise InconsistentVerdict(
                    f"internal inconsistency: the engine's {lab} = {pretty_functions(expr)} is {_show(ev)} at "
                    f"{p.describe()}, the second opinion finds {_show_ball(val)} ({verdict}) ({prep.path}). No "
                    f"verdict: please report this metric.")
            break
        else:
            raise InconsistentVerdict(
                f"internal inconsistency: the engine says {lab} is not 0 ({prep.path}) but its expression "
                f"{pretty_functions(expr)} vanishes or is not finite at every sample point. No verdict: please "
                f"report this metric.")
    opinion = SecondOpinion(len(pts), time.perf_counter() - t0,
                            f"confirmed at {len(pts)} random points (ball arithmetic, {_digits()} digits)",
                            time.process_time() - c0)
    return BianchiResult(tuple(exprs), prep.path, opinion)


def _digits() -> int:
    from ._curvature_referee import PREC_BITS

    return int(PREC_BITS * 0.30103)


def _engine_value(ref: Referee, expr: sp.Expr, p: SamplePoint) -> Any:
    """The engine's printed component at ``p``: a Fraction when everything is rational there, else an ``arb``
    ball; None when it is not finite and real there (the formula is evaluated, not re-derived)."""
    exact = ref.exact_value(expr, p)
    if exact is not None:
        return exact
    try:
        v = ref.value(expr, p)
    except RefereeUnsupported:
        return None
    return v if v.is_finite() else None


def _agree(ev: Any, ball: Any) -> bool:
    """Engine value (Fraction or ball) and second-opinion ball agree to 25 significant digits."""
    import flint

    with flint.ctx.workprec(256):
        x = flint.arb(flint.fmpq(ev.numerator, ev.denominator)) if isinstance(ev, Fraction) else ev
        d = abs(x - ball)
        tol = abs(x) * flint.arb(10) ** -25 + flint.arb(10) ** -60
        return bool(d.upper() <= tol.upper() + ball.rad() + x.rad())


def _show(v: Any) -> str:
    if isinstance(v, Fraction):
        return str(v)
    return _show_ball(v)


def _show_ball(b: Any) -> str:
    import flint

    if b is None:
        return "?"
    if not b.is_finite():
        return "not finite"
    with flint.ctx.workprec(64):
        return b.mid().str(12, radius=False)
