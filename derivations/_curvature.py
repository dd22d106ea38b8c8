r"""Exact curvature of a metric in any dimension: Christoffel symbols, Riemann, Ricci, Einstein.

For a metric :math:`g_{ab}(x)` in coordinates :math:`x^a`

.. math::
    \Gamma^a{}_{bc} = \tfrac12 g^{ad}(\partial_b g_{dc} + \partial_c g_{db} - \partial_d g_{bc}),\qquad
    R^a{}_{bcd} = \partial_c \Gamma^a{}_{db} - \partial_d \Gamma^a{}_{cb}
                  + \Gamma^a{}_{ce}\Gamma^e{}_{db} - \Gamma^a{}_{de}\Gamma^e{}_{cb},

:math:`R_{bd} = R^a{}_{bad}`, :math:`R = g^{bd}R_{bd}`, :math:`G_{ab} = R_{ab} - \tfrac12 R g_{ab}`.

What makes it fast is the representation, not a better ``simplify``: every component is kept as an element of
the field of rational functions, a pair (numerator, denominator) of python-flint ``fmpz_mpoly`` polynomials
reduced by their gcd, so sums, products and derivatives stay canonical and "is zero" is "the numerator has no
terms" -- an exact decision, never a heuristic. A metric is brought into that field by

* a chart change where trigonometric functions of a coordinate appear: :math:`c = \cos\theta` when only even
  powers of :math:`\sin\theta` occur and :math:`\theta` has no cross term (``g_cc = g_thth / (1 - c^2)``),
  else :math:`u = \tan(\theta/2)` (``sin = 2u/(1+u^2)``, ``cos = (1-u^2)/(1+u^2)``,
  ``d theta = 2 du/(1+u^2)``). The chart change is diagonal, :math:`x^k = \phi(y^k)`, so a covariant
  2-tensor's component :math:`T_{ab}` vanishes in one chart exactly when it vanishes in the other (they differ
  by the factor :math:`\phi'(y^a)\phi'(y^b) \ne 0`): zero checks and the names of non-zero components carry over;
* generators for transcendental functions whose derivatives close: :math:`E = \exp(m)` with
  :math:`\partial_k E = (\partial_k m) E`; an undefined function :math:`f(x, \dots)` and its partial derivatives
  up to a fixed order are generators ("jet variables") with :math:`\partial_k f_\alpha = f_{\alpha + e_k}`;
  :math:`\pi` is a transcendental constant (a variable with zero derivatives).

Zero in the polynomial ring implies zero as a function, so a "holds" verdict is always sound. Where no rational
representation exists (``sqrt`` of a non-square, ``log``, trigonometric functions of non-coordinates, ...) the
engine falls back to plain SymPy expressions with ``cancel`` per component and ``simplify`` for the zero test,
and says so in :attr:`Curvature.path`. A non-zero component is named in the user's coordinates and given a
witness: its value at a random rational point.

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

import itertools
import math
import random
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping, Sequence

import sympy as sp

from ._errors import InvalidArgument

# ----------------------------------------------------------------------------------------------------------------
# The metric


@dataclass(frozen=True)
class Metric:
    """A metric :math:`g_{ab}` (lower indices) in ``coords``; ``parameters`` are the other allowed symbols."""

    name: str
    coords: tuple[sp.Symbol, ...]
    g: sp.ImmutableMatrix
    parameters: tuple[sp.Symbol, ...] = ()

    def __post_init__(self) -> None:
        coords = tuple(self.coords)
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if not isinstance(self.g, sp.ImmutableMatrix):
            object.__setattr__(self, "g", sp.ImmutableMatrix(self.g))
        n = len(coords)
        if n < 2:
            raise InvalidArgument(f"metric {self.name!r}: needs at least 2 coordinates, got {n}")
        if len(set(coords)) != n or not all(isinstance(c, sp.Symbol) for c in coords):
            raise InvalidArgument(f"metric {self.name!r}: coordinates must be distinct symbols, got {coords}")
        if self.g.shape != (n, n):
            raise InvalidArgument(f"metric {self.name!r}: the matrix is {self.g.shape[0]}x{self.g.shape[1]} but "
                                  f"there are {n} coordinates {[c.name for c in coords]}")
        for i in range(n):
            for j in range(i + 1, n):
                if sp.expand(self.g[i, j] - self.g[j, i]) != 0:
                    raise InvalidArgument(f"metric {self.name!r}: not symmetric, g_{coords[i]}{coords[j]} = "
                                          f"{self.g[i, j]} but g_{coords[j]}{coords[i]} = {self.g[j, i]}")

    @property
    def dim(self) -> int:
        return len(self.coords)


def _as_metric(metric: Metric | sp.MatrixBase, coords: Sequence[sp.Symbol] | None) -> Metric:
    if isinstance(metric, Metric):
        if coords is not None and tuple(coords) != metric.coords:
            raise InvalidArgument(f"coords {tuple(coords)} differ from the metric's {metric.coords}")
        return metric
    if coords is None:
        raise InvalidArgument("christoffel(matrix, coords): coords are required for a bare matrix")
    g = sp.ImmutableMatrix(metric)
    params = tuple(sorted(g.free_symbols - set(coords), key=lambda s: s.name))
    return Metric("metric", tuple(coords), g, params)


# ----------------------------------------------------------------------------------------------------------------
# Algebras: the flint rational-function field, and the SymPy-expression fallback.


_ORDER = "lex"


class _NotRational(Exception):
    pass


class FlintField:
    """:math:`\\mathbb Q(v_1, \\dots, v_m)` with derivations :math:`\\partial_k`; elements are reduced pairs
    (numerator, denominator) of ``fmpz_mpoly``."""

    kind = "rational (flint fmpz_mpoly)"

    def __init__(self, names: Sequence[str], derivs: Sequence[Sequence[tuple[int, Any]]]) -> None:
        import flint

        self.ctx = flint.fmpz_mpoly_ctx.get(tuple(names), _ORDER)
        self.gens = self.ctx.gens()
        self.zero = (self.ctx.constant(0), self.ctx.constant(1))
        self.one = (self.ctx.constant(1), self.ctx.constant(1))
        self._one = self.ctx.constant(1)
        self.derivs = derivs  # derivs[k] = [(var index, fraction D_k(var))...]

    # --- construction
    def gen(self, i: int) -> tuple[Any, Any]:
        return (self.gens[i], self._one)

    def const(self, q: Fraction | int) -> tuple[Any, Any]:
        q = Fraction(q)
        return (self.ctx.constant(q.numerator), self.ctx.constant(q.denominator))

    # --- arithmetic
    @staticmethod
    def is_zero(a: tuple[Any, Any]) -> bool:
        return a[0].is_zero()

    def neg(self, a):
        return (-a[0], a[1])

    def mul(self, a, b):
        an, ad = a
        bn, bd = b
        if an.is_zero() or bn.is_zero():
            return self.zero
        if ad.is_one() and bd.is_one():
            return (an * bn, ad)
        g1 = an.gcd(bd)
        g2 = bn.gcd(ad)
        if not g1.is_one():
            an, bd = an // g1, bd // g1
        if not g2.is_one():
            bn, ad = bn // g2, ad // g2
        return self._norm(an * bn, ad * bd)

    def add(self, a, b):
        an, ad = a
        bn, bd = b
        if an.is_zero():
            return b
        if bn.is_zero():
            return a
        if ad == bd:
            n = an + bn
            if n.is_zero():
                return self.zero
            if ad.is_one():
                return (n, ad)
            g = n.gcd(ad)
            return self._norm(n // g, ad // g) if not g.is_one() else (n, ad)
        g = ad.gcd(bd)
        if g.is_one():
            return self._norm(an * bd + bn * ad, ad * bd)
        ad_g, bd_g = ad // g, bd // g
        n = an * bd_g + bn * ad_g
        if n.is_zero():
            return self.zero
        g2 = n.gcd(g)  # Henrici: gcd(n, ad*bd/g) = gcd(n, g) for reduced inputs
        if not g2.is_one():
            n = n // g2
            return self._norm(n, ad_g * (bd // g2))
        return self._norm(n, ad_g * bd)

    def sum(self, terms: Iterable[Any]):
        """Sum with a common denominator built by lcm, reduced once at the end."""
        terms = [t for t in terms if not t[0].is_zero()]
        if not terms:
            return self.zero
        if len(terms) == 1:
            return terms[0]
        den = terms[0][1]
        for _, d in terms[1:]:
            if d != den:
                g = den.gcd(d)
                den = den * (d // g)
        num = self.ctx.constant(0)
        for n, d in terms:
            num = num + (n if d == den else n * (den // d))
        if num.is_zero():
            return self.zero
        g = num.gcd(den)
        if not g.is_one():
            num, den = num // g, den // g
        return self._norm(num, den)

    def scale(self, a, q: Fraction | int):
        return self.mul(a, self.const(q))

    def mul_raw(self, a, b):
        """Product without cancellation (for terms of a sum that is reduced once at the end)."""
        if a[0].is_zero() or b[0].is_zero():
            return self.zero
        return (a[0] * b[0], a[1] * b[1])

    def inv(self, a):
        if a[0].is_zero():
            raise ZeroDivisionError
        return self._norm(a[1], a[0])

    @staticmethod
    def _norm(n, d):
        if d.leading_coefficient() < 0:
            return (-n, -d)
        return (n, d)

    def deriv(self, a, k: int):
        n, d = a
        if n.is_zero():
            return self.zero
        dn = self._dpoly(n, k)
        if d.is_constant():
            return self.mul(dn, (self._one, d)) if not d.is_one() else dn
        dd = self._dpoly(d, k)
        # (n/d)' = n'/d - n d'/d^2
        return self.add(self.mul(dn, (self._one, d)), self.neg(self.mul((n, self._one), self.mul(dd, (self._one, d * d)))))

    def _dpoly(self, p, k: int):
        """:math:`\\partial_k p = \\sum_v (\\partial p/\\partial v)\\, \\partial_k v` as a reduced fraction."""
        terms = []
        for v, dv in self.derivs[k]:
            pv = p.derivative(v)
            if not pv.is_zero():
                terms.append(self.mul((pv, self._one), dv))
        return self.sum(terms)

    def finish(self, a):
        return a

    def point_value(self, a, values: Sequence[Fraction]) -> Fraction:
        import flint

        vals = [flint.fmpq(v.numerator, v.denominator) for v in values]
        n = sum((flint.fmpq(int(c)) * _mono(vals, e) for e, c in a[0].to_dict().items()), flint.fmpq(0))
        d = sum((flint.fmpq(int(c)) * _mono(vals, e) for e, c in a[1].to_dict().items()), flint.fmpq(0))
        if d == 0:
            raise ZeroDivisionError
        q = n / d
        return Fraction(int(q.p), int(q.q))

    def to_sympy(self, a, symbols: Sequence[sp.Expr]) -> sp.Expr:
        def conv(p):
            return sp.Add(*[sp.Integer(int(c)) * sp.Mul(*[s**e for s, e in zip(symbols, ex) if e])
                            for ex, c in p.to_dict().items()])
        return conv(a[0]) / conv(a[1])


def _mono(vals, exps):
    out = 1
    for v, e in zip(vals, exps):
        if e:
            out = out * v**e
    return out


class ExprAlgebra:
    """SymPy expressions, ``cancel`` when a component is finished, ``simplify`` in the zero test."""

    kind = "expression-level (SymPy cancel/simplify)"

    def __init__(self, coords: Sequence[sp.Symbol]) -> None:
        self.coords = tuple(coords)
        self.zero = sp.S.Zero
        self.one = sp.S.One

    def const(self, q):
        q = Fraction(q)
        return sp.Rational(q.numerator, q.denominator)

    @staticmethod
    def is_zero(a) -> bool:
        if a == 0:
            return True
        e = sp.cancel(a)
        if e == 0:
            return True
        return sp.simplify(e) == 0

    def neg(self, a):
        return -a

    def mul(self, a, b):
        return a * b

    mul_raw = mul

    def add(self, a, b):
        return a + b

    def sum(self, terms):
        return sp.Add(*terms)

    def scale(self, a, q):
        return a * self.const(q)

    def inv(self, a):
        if self.is_zero(a):
            raise ZeroDivisionError
        return sp.cancel(1 / a)

    def deriv(self, a, k: int):
        return sp.diff(a, self.coords[k])

    def finish(self, a):
        e = sp.cancel(a)
        return sp.S.Zero if e != 0 and self.is_zero(e) else e

    def to_sympy(self, a, symbols=None) -> sp.Expr:
        return a


# ----------------------------------------------------------------------------------------------------------------
# Bringing SymPy expressions into the field


_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


@dataclass(frozen=True)
class Chart:
    """A diagonal chart change :math:`x^k = \\phi(y^k)` for one coordinate (``kind`` "cos" or "tan_half")."""

    index: int
    coord: sp.Symbol
    new: sp.Symbol
    kind: str

    def describe(self) -> str:
        return f"{self.new} = cos({self.coord})" if self.kind == "cos" else f"{self.new} = tan({self.coord}/2)"

    def trig_map(self) -> dict[sp.Expr, sp.Expr]:
        y, x = self.new, self.coord
        if self.kind == "cos":
            return {sp.cos(x): y}
        s, c = 2 * y / (1 + y**2), (1 - y**2) / (1 + y**2)
        return {sp.sin(x): s, sp.cos(x): c}

    def jacobian_squared(self) -> sp.Expr:
        """:math:`\\phi'(y)^2`."""
        y = self.new
        return 1 / (1 - y**2) if self.kind == "cos" else 4 / (1 + y**2) ** 2

    def jacobian(self) -> sp.Expr:
        if self.kind == "cos":
            raise ValueError("the c = cos(theta) chart has no rational Jacobian; only J^2 is used")
        return 2 / (1 + self.new**2)

    def back(self) -> sp.Expr:
        """The new coordinate as a function of the old one."""
        return sp.cos(self.coord) if self.kind == "cos" else sp.tan(self.coord / 2)


def _rewrite_trig(e: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Express tan, cot, sec, csc of ``x`` through sin and cos of ``x``."""
    rep = {}
    for a in e.atoms(sp.tan, sp.cot, sp.sec, sp.csc):
        if a.args[0] == x:
            rep[a] = a.rewrite(sp.cos) if isinstance(a, (sp.sec,)) else a.rewrite(sp.sin) \
                if isinstance(a, sp.csc) else (sp.sin(x) / sp.cos(x) if isinstance(a, sp.tan) else sp.cos(x) / sp.sin(x))
    return e.xreplace(rep) if rep else e


@dataclass
class _Gen:
    """A generator of the field: its variable name, the SymPy expression it stands for, its derivatives."""

    name: str
    expr: sp.Expr
    deriv: Callable[[int], sp.Expr] | None = None  # derivative w.r.t. coordinate k, as a SymPy expression


@dataclass(frozen=True)
class Prepared:
    """A metric (and extra tensors/scalars) brought into one algebra, with the chart it used."""

    metric: Metric
    algebra: Any
    path: str
    charts: tuple[Chart, ...]
    g: tuple[tuple[Any, ...], ...]
    tensors: tuple[tuple[tuple[Any, ...], ...], ...]
    scalars: tuple[Any, ...]
    symbols: tuple[sp.Expr, ...]  # SymPy expression of each field variable in the user's coordinates

    @property
    def dim(self) -> int:
        return self.metric.dim

    def to_sympy(self, a: Any) -> sp.Expr:
        return self.algebra.to_sympy(a, self.symbols)


def _chart_for(x: sp.Symbol, index: int, exprs: Sequence[sp.Expr], g: sp.MatrixBase,
               force_tan: frozenset[sp.Symbol]) -> Chart | None:
    uses = [a for e in exprs for a in e.atoms(*_TRIG) if x in a.free_symbols]
    if not uses:
        return None
    if any(a.args[0] != x for a in uses):
        raise _NotRational(f"a trigonometric function of {uses[0].args[0]} (only plain coordinates are charted)")
    cross = any(g[index, j] != 0 for j in range(g.shape[0]) if j != index)
    if not cross and x not in force_tan:
        # evenness in sin(x) is decided exactly in the field (an odd power raises _OddSine, then u = tan(x/2))
        return Chart(index, x, sp.Symbol(f"c_{x.name}", real=True), "cos")
    return Chart(index, x, sp.Symbol(f"u_{x.name}", real=True), "tan_half")


class _OddSine(Exception):
    def __init__(self, coord: sp.Symbol) -> None:
        self.coord = coord


def _even_reduce(F: "FlintField", a, s_index: int, c_index: int, coord: sp.Symbol):
    """Replace :math:`S^2 \\to 1 - c^2` in a reduced fraction that is even in S (else raise _OddSine)."""
    def red(p):
        d = p.to_dict()
        if not any(e[s_index] for e in d):
            return p
        one_minus = F.ctx.constant(1) - F.gens[c_index] ** 2
        out = F.ctx.constant(0)
        groups: dict[int, dict] = {}
        for e, c in d.items():
            if e[s_index] % 2:
                raise _OddSine(coord)
            e2 = list(e)
            k = e2[s_index] // 2
            e2[s_index] = 0
            groups.setdefault(k, {})[tuple(e2)] = c
        for k, terms in groups.items():
            out = out + F.ctx.from_dict(terms) * one_minus ** k
        return out
    n, d = red(a[0]), red(a[1])
    g = n.gcd(d)
    if not g.is_one():
        n, d = n // g, d // g
    return F._norm(n, d)


def _apply_chart(e: sp.Expr, ch: Chart, s_symbol: sp.Symbol | None = None) -> sp.Expr:
    """Rewrite ``e`` in the chart: for "cos", sin(x) -> the placeholder ``s_symbol`` (removed in the field)."""
    x, y = ch.coord, ch.new
    e = _rewrite_trig(e, x)
    if ch.kind == "cos":
        e = e.xreplace({sp.sin(x): s_symbol, sp.cos(x): y})
    else:
        e = e.xreplace(ch.trig_map())
    if x in e.free_symbols:
        raise _NotRational(f"{x} appears outside sin/cos")
    return e


def prepare(metric: Metric, *, tensors: Sequence[sp.MatrixBase] = (), scalars: Sequence[sp.Expr] = (),
            jet_order: int = 3, force_expression: bool = False) -> Prepared:
    """Bring ``metric`` (and covariant 2-tensors / scalars that go with it) into the fastest algebra."""
    n = metric.dim
    coords = metric.coords
    if not force_expression:
        force_tan: frozenset[sp.Symbol] = frozenset()
        reason = ""
        for _ in range(n + 1):
            try:
                return _prepare_rational(metric, tensors, scalars, jet_order, force_tan)
            except _NotRational as exc:
                reason = str(exc)
                break
            except _OddSine as exc:
                force_tan = force_tan | {exc.coord}
    else:
        reason = "requested"
    alg = ExprAlgebra(coords)
    g = tuple(tuple(sp.sympify(metric.g[i, j]) for j in range(n)) for i in range(n))
    Ts = tuple(tuple(tuple(sp.sympify(T[i, j]) for j in range(n)) for i in range(n)) for T in tensors)
    return Prepared(metric, alg, f"{alg.kind}: no rational representation ({reason})", (), g, Ts,
                    tuple(sp.sympify(s) for s in scalars), tuple(coords))


def _prepare_rational(metric: Metric, tensors, scalars, jet_order: int,
                      force_tan: frozenset[sp.Symbol] = frozenset(), trig_generators: bool = False) -> Prepared:
    n = metric.dim
    coords = list(metric.coords)
    g = sp.Matrix(metric.g)
    Ts = [sp.Matrix(T) for T in tensors]
    sc = [sp.sympify(s) for s in scalars]
    everything = list(g) + [e for T in Ts for e in T] + sc
    trig_gens: dict[int, tuple[sp.Symbol, sp.Symbol]] = {}
    if trig_generators:
        # sin x, cos x as free generators with d sin = cos, d cos = -sin: exact as a computation (the free
        # differential ring maps onto the functions), but its zero test ignores sin^2 + cos^2 = 1, so this
        # mode only serves to *compute* (Christoffel symbols for display and code generation), never to decide 0.
        for k, x in enumerate(coords):
            if any(a.args[0] == x for e in everything for a in e.atoms(*_TRIG)):
                S, C = sp.Symbol(f"sin_{x.name}"), sp.Symbol(f"cos_{x.name}")
                trig_gens[k] = (S, C)
                rep = lambda e, x=x, S=S, C=C: _rewrite_trig(e, x).xreplace({sp.sin(x): S, sp.cos(x): C})
                g = g.applyfunc(rep)
                Ts = [T.applyfunc(rep) for T in Ts]
                sc = [rep(e) for e in sc]
        everything = list(g) + [e for T in Ts for e in T] + sc
    # 1. charts for trigonometric coordinates
    charts = []
    for k, x in enumerate(coords):
        ch = _chart_for(x, k, everything, g, force_tan)
        if ch is not None:
            charts.append(ch)
    s_syms: dict[int, sp.Symbol] = {}
    for ch in charts:
        k = ch.index
        s_sym = sp.Symbol(f"S_{ch.coord.name}")
        s_syms[k] = s_sym

        def tr(Mx: sp.Matrix, ch: Chart = ch, k: int = k, s_sym: sp.Symbol = s_sym) -> sp.Matrix:
            Mx = Mx.applyfunc(lambda e: _apply_chart(e, ch, s_sym))
            if ch.kind == "tan_half":  # covariant 2-tensor: T_kj -> J T_kj, T_kk -> J^2 T_kk
                J = ch.jacobian()
                for j in range(n):
                    Mx[k, j] = Mx[k, j] * J
                    if j != k:
                        Mx[j, k] = Mx[j, k] * J
                Mx[k, k] = Mx[k, k] * J
            return Mx  # the cos chart's J^2 = 1/(1 - c^2) on T_kk is applied in the field
        g = tr(g)
        Ts = [tr(T) for T in Ts]
        sc = [_apply_chart(e, ch, s_sym) for e in sc]
        coords[k] = ch.new
    everything = list(g) + [e for T in Ts for e in T] + sc
    # 2. generators: exp(...), undefined functions (jets), pi
    params = [p for p in metric.parameters]
    trig_syms = [x for pair in trig_gens.values() for x in pair]
    extra_syms = sorted({s for e in everything for s in e.free_symbols} - set(coords) - set(params)
                        - set(s_syms.values()) - set(trig_syms),
                        key=lambda s: s.name)
    params += extra_syms
    base = coords + params
    gens: list[_Gen] = []
    for k, (S, C) in trig_gens.items():
        gens.append(_Gen(S.name, sp.sin(metric.coords[k])))
        gens.append(_Gen(C.name, sp.cos(metric.coords[k])))
    gen_of: dict[sp.Expr, sp.Expr] = {}  # replacement of atoms by generator symbols (powers allowed)
    # exponentials: exp(sum c_i m_i) = prod E_{m_i}^(c_i d_i), E_m = exp(m/d_m)
    exps = {a for e in everything for a in e.atoms(sp.exp)}
    terms: dict[sp.Expr, list[Fraction]] = {}
    split: dict[sp.Expr, list[tuple[sp.Expr, Fraction]]] = {}
    for a in exps:
        parts = []
        for term in sp.Add.make_args(sp.expand(a.args[0])):
            c, m = term.as_coeff_Mul()
            if not c.is_Rational:
                raise _NotRational(f"exp({a.args[0]}) has a non-rational coefficient")
            if m == 1:
                raise _NotRational(f"exp({a.args[0]}) has a numeric constant part")
            parts.append((m, Fraction(int(c.p), int(c.q))))
            terms.setdefault(m, []).append(Fraction(int(c.p), int(c.q)))
        split[a] = parts
    gen_syms: dict[sp.Expr, sp.Symbol] = {}
    den: dict[sp.Expr, int] = {}
    for i, (m, cs) in enumerate(sorted(terms.items(), key=lambda kv: sp.default_sort_key(kv[0]))):
        d = math.lcm(*[c.denominator for c in cs])
        den[m] = d
        s = sp.Symbol(f"E{i + 1}")
        gen_syms[m] = s
        gens.append(_Gen(s.name, sp.exp(m / d), deriv=None))
    for a, parts in split.items():
        gen_of[a] = sp.Mul(*[gen_syms[m] ** int(c * den[m]) for m, c in parts])
    # undefined functions of coordinates and their derivatives
    funcs = {a for e in everything for a in e.atoms(sp.core.function.AppliedUndef)}
    jet: dict[tuple[Any, tuple[int, ...]], sp.Symbol] = {}
    for f in sorted(funcs, key=sp.default_sort_key):
        if not all(arg in metric.coords for arg in f.args) or len(set(f.args)) != len(f.args):
            raise _NotRational(f"the function {f} must take distinct coordinates as arguments")
        m = len(f.args)
        for order in range(jet_order + 1):
            for combo in itertools.combinations_with_replacement(range(m), order):
                alpha = tuple(combo.count(i) for i in range(m))
                sname = f.func.__name__ + ("_" + "".join(str(f.args[i]) * a for i, a in enumerate(alpha))
                                           if order else "")
                s = sp.Symbol(sname)
                jet[(f, alpha)] = s
                var_counts = [(f.args[i], a) for i, a in enumerate(alpha) if a]
                gens.append(_Gen(s.name, sp.Derivative(f, *var_counts) if order else f))
    for e in everything:
        for d in e.atoms(sp.Derivative):
            if isinstance(d.expr, sp.core.function.AppliedUndef) and d.expr in funcs:
                alpha = [0] * len(d.expr.args)
                for v, c in d.variable_count:
                    if v not in d.expr.args:
                        raise _NotRational(f"{d} differentiates by a non-argument")
                    alpha[d.expr.args.index(v)] += int(c)
                key = (d.expr, tuple(alpha))
                if key not in jet:
                    raise _NotRational(f"{d} is beyond the jet order {jet_order}")
                gen_of[d] = jet[key]
            else:
                raise _NotRational(f"the derivative {d}")
    for (f, alpha), s in jet.items():
        if sum(alpha) == 0:
            gen_of[f] = s
    # pi is a transcendental constant
    has_pi = any(e.has(sp.pi) for e in everything)
    cos_charts = [ch for ch in charts if ch.kind == "cos"]
    names = [str(s) for s in base] + [gn.name for gn in gens] + (["pi_"] if has_pi else []) + \
        [s_syms[ch.index].name for ch in cos_charts]
    if len(set(names)) != len(names):
        raise _NotRational(f"variable names collide: {names}")
    var_syms = [sp.Symbol(nm) for nm in names]
    index = {s: i for i, s in enumerate(base)}
    gidx = {sp.Symbol(gn.name): len(base) + i for i, gn in enumerate(gens)}

    def replace(e: sp.Expr) -> sp.Expr:
        # derivatives first (they contain the bare function), then functions and exponentials
        ders = {d: gen_of[d] for d in e.atoms(sp.Derivative)}
        e = e.xreplace(ders) if ders else e
        rest = {a: gen_of[a] for a in gen_of if not isinstance(a, sp.Derivative) and e.has(a)}
        e = e.xreplace(rest) if rest else e
        return e.xreplace({sp.pi: var_syms[pi_index]}) if has_pi else e

    # derivations: D_k of every variable (coords -> delta, params -> 0, generators -> their rule)
    F_vars = {**{s: i for s, i in index.items()}, **gidx}
    pi_index = len(base) + len(gens)
    if has_pi:
        F_vars[var_syms[pi_index]] = pi_index
    for i, ch in enumerate(cos_charts):
        F_vars[s_syms[ch.index]] = pi_index + has_pi + i

    def to_field(F, e: sp.Expr):
        return _convert(F, e, F_vars)

    derivs_expr: list[list[tuple[int, sp.Expr]]] = []
    for k in range(n):
        row: list[tuple[int, sp.Expr]] = [(k, sp.S.One)]
        for i, gn in enumerate(gens):
            if gn.name.startswith("E") and isinstance(gn.expr, sp.exp):
                arg = gn.expr.args[0]
                darg = sp.diff(arg, metric.coords[k]) if not charts else \
                    _chart_diff(arg, k, metric.coords, charts)
                if darg != 0:
                    row.append((len(base) + i, replace(darg) * sp.Symbol(gn.name)))
            else:
                pass
        if k in trig_gens:
            S, C = trig_gens[k]
            row.append((gidx[S], C))
            row.append((gidx[C], -S))
        for (f, alpha), s in jet.items():
            if metric.coords[k] in f.args:
                if any(ch.index == k for ch in charts):
                    raise _NotRational(f"{f} depends on the charted coordinate {metric.coords[k]}")
                j = f.args.index(metric.coords[k])
                beta = list(alpha)
                beta[j] += 1
                key = (f, tuple(beta))
                if key in jet:
                    row.append((gidx[s], jet[key]))
                else:
                    row.append((gidx[s], None))  # beyond the jet: an error if it is ever needed
        derivs_expr.append(row)
    F = FlintField(names, [[] for _ in range(n)])
    derivs = []
    for k in range(n):
        row = []
        for v, de in derivs_expr[k]:
            row.append((v, _BeyondJet(names[v]) if de is None else to_field(F, de)))
        derivs.append(row)
    F.derivs = derivs
    def conv(e: sp.Expr):
        a = to_field(F, replace(e))
        for ch in cos_charts:
            a = _even_reduce(F, a, F_vars[s_syms[ch.index]], F_vars[ch.new], ch.coord)
        return a

    def conv_tensor(Mx: sp.Matrix):
        out = [[conv(Mx[i, j]) for j in range(n)] for i in range(n)]
        for ch in cos_charts:  # d theta^2 = dc^2 / (1 - c^2)
            k = ch.index
            out[k][k] = F.mul(out[k][k], F.inv(F.sum([F.one, F.neg(F.mul(F.gen(F_vars[ch.new]),
                                                                          F.gen(F_vars[ch.new])))])))
        return tuple(tuple(r) for r in out)

    gF = conv_tensor(g)
    TF = tuple(conv_tensor(T) for T in Ts)
    sF = tuple(conv(e) for e in sc)
    # what each field variable means in the user's coordinates (for witnesses and display)
    back = {ch.new: ch.back() for ch in charts}
    symbols = tuple([back.get(s, s) for s in base] + [gn.expr for gn in gens] + ([sp.pi] if has_pi else [])
                    + [sp.sin(ch.coord) for ch in cos_charts])
    path = F.kind
    notes = [ch.describe() for ch in charts]
    if gens:
        shown = [f"{gn.name} = {gn.expr}" for gn in gens if gn.name.startswith("E") and isinstance(gn.expr, sp.exp)]
        if shown:
            notes.append("exp generators " + ", ".join(shown))
        if jet:
            notes.append(f"jet variables of {', '.join(sorted({str(f) for f, _ in jet}))} to order {jet_order}")
    if notes:
        path += "; chart " + notes[0] if charts else "; " + notes[0]
        path += "".join("; " + x for x in notes[1:])
    return Prepared(metric, F, path, tuple(charts), gF, TF, sF, symbols)


class _BeyondJet:
    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, i):
        raise _JetOrder(self.name)


class _JetOrder(Exception):
    pass


def _chart_diff(arg: sp.Expr, k: int, coords, charts) -> sp.Expr:
    if any(ch.index == k for ch in charts) and coords[k] in arg.free_symbols:
        raise _NotRational(f"exp of the charted coordinate {coords[k]}")
    return sp.diff(arg, coords[k])


def _convert(F: FlintField, e: sp.Expr, var: Mapping[sp.Symbol, int]):
    """A SymPy expression (polynomial operations only) -> an element of ``F``."""
    if e.is_Integer:
        return F.const(int(e))
    if e.is_Rational:
        return F.const(Fraction(int(e.p), int(e.q)))
    if e.is_Symbol:
        if e in var:
            return F.gen(var[e])
        raise _NotRational(f"the symbol {e}")
    if e.is_Add:
        return F.sum([_convert(F, a, var) for a in e.args])
    if e.is_Mul:
        out = F.one
        for a in e.args:
            out = F.mul(out, _convert(F, a, var))
        return out
    if e.is_Pow and e.exp.is_Integer:
        b = _convert(F, e.base, var)
        k = int(e.exp)
        if k < 0:
            b = F.inv(b)
            k = -k
        return (b[0] ** k, b[1] ** k)
    raise _NotRational(f"{type(e).__name__} {e}")


# ----------------------------------------------------------------------------------------------------------------
# The engine (one implementation for every algebra)


def _inverse(A, g) -> tuple[tuple[Any, ...], ...]:
    """Gauss-Jordan inverse, block by block (connected components of the non-zero pattern)."""
    n = len(g)
    nz = [[not A.is_zero(g[i][j]) for j in range(n)] for i in range(n)]
    seen: set[int] = set()
    inv = [[A.zero] * n for _ in range(n)]
    for s in range(n):
        if s in seen:
            continue
        block, stack = [], [s]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            block.append(i)
            stack.extend(j for j in range(n) if nz[i][j] and j not in seen)
        block.sort()
        m = len(block)
        M = [[g[i][j] for j in block] + [A.one if a == b else A.zero for b in range(m)]
             for a, i in enumerate(block)]
        for c in range(m):
            p = next((r for r in range(c, m) if not A.is_zero(M[r][c])), None)
            if p is None:
                raise InvalidArgument("the metric is degenerate (det g = 0)")
            M[c], M[p] = M[p], M[c]
            pinv = A.inv(M[c][c])
            M[c] = [A.finish(A.mul(x, pinv)) for x in M[c]]
            for r in range(m):
                if r != c and not A.is_zero(M[r][c]):
                    f = M[r][c]
                    M[r] = [A.finish(A.add(x, A.neg(A.mul(f, y)))) for x, y in zip(M[r], M[c])]
        for a, i in enumerate(block):
            for b, j in enumerate(block):
                inv[i][j] = M[a][m + b]
    return tuple(tuple(row) for row in inv)


@dataclass(frozen=True)
class Curvature:
    """Christoffel symbols ``Gamma[a][b][c]`` (:math:`\\Gamma^a{}_{bc}`), Ricci ``R_ab``, scalar, Einstein
    ``G_ab``, all elements of ``prepared.algebra``; ``seconds`` is the wall-clock time of the computation."""

    prepared: Prepared
    ginv: tuple
    Gamma: tuple
    ricci: tuple
    scalar: Any
    einstein: tuple
    seconds: float
    einstein_trace_coefficient: Fraction = Fraction(1, 2)

    @property
    def path(self) -> str:
        return self.prepared.path

    def riemann(self) -> tuple:
        """:math:`R^a{}_{bcd}` (computed on demand)."""
        A, n, Gm = self.prepared.algebra, self.prepared.dim, self.Gamma
        out = [[[[A.zero] * n for _ in range(n)] for _ in range(n)] for _ in range(n)]
        for a, b, c, d in itertools.product(range(n), repeat=4):
            if c >= d:
                continue
            terms = [A.deriv(Gm[a][d][b], c), A.neg(A.deriv(Gm[a][c][b], d))]
            for e in range(n):
                terms.append(A.mul(Gm[a][c][e], Gm[e][d][b]))
                terms.append(A.neg(A.mul(Gm[a][d][e], Gm[e][c][b])))
            v = A.finish(A.sum(terms))
            out[a][b][c][d] = v
            out[a][b][d][c] = A.neg(v)
        return tuple(tuple(tuple(tuple(x) for x in y) for y in z) for z in out)


def christoffel_from(A, g, ginv, n: int):
    """:math:`\\Gamma^a{}_{bc} = \\tfrac12 g^{ad}(\\partial_b g_{dc} + \\partial_c g_{db} - \\partial_d g_{bc})`."""
    dg = [[[A.deriv(g[a][b], k) if b >= a else None for b in range(n)] for a in range(n)] for k in range(n)]

    def d(k, a, b):
        return dg[k][a][b] if b >= a else dg[k][b][a]

    low = [[[None] * n for _ in range(n)] for _ in range(n)]
    for dd in range(n):
        for b in range(n):
            for c in range(b, n):
                low[dd][b][c] = A.scale(A.sum([d(b, dd, c), d(c, dd, b), A.neg(d(dd, b, c))]), Fraction(1, 2))
    Gm = [[[A.zero] * n for _ in range(n)] for _ in range(n)]
    for a in range(n):
        for b in range(n):
            for c in range(b, n):
                v = A.finish(A.sum([A.mul(ginv[a][dd], low[dd][b][c]) for dd in range(n)
                                    if not A.is_zero(ginv[a][dd])]))
                Gm[a][b][c] = v
                Gm[a][c][b] = v
    return tuple(tuple(tuple(x) for x in y) for y in Gm)


def compute(prep: Prepared, *, christoffel_hook: Callable[[tuple], tuple] | None = None,
            einstein_trace_coefficient: Fraction = Fraction(1, 2)) -> Curvature:
    """All curvature tensors of a prepared metric. ``christoffel_hook`` (tests and planted errors only, through a
    claim's inputs) may replace the connection before the curvature is built from it."""
    t0 = time.perf_counter()
    A, n, g = prep.algebra, prep.dim, prep.g
    ginv = _inverse(A, g)
    Gm = christoffel_from(A, g, ginv, n)
    if christoffel_hook is not None:
        Gm = christoffel_hook(Gm, prep)
    # R_bd = d_a G^a_db - d_d G^a_ab + G^a_ae G^e_db - G^a_de G^e_ab
    trace = [A.sum([Gm[a][a][b] for a in range(n)]) for b in range(n)]  # G^a_ab
    ric = [[A.zero] * n for _ in range(n)]
    for b in range(n):
        for d in range(b, n):
            terms = [A.deriv(Gm[a][d][b], a) for a in range(n)]
            terms.append(A.neg(A.deriv(trace[b], d)))
            for e in range(n):
                if not A.is_zero(trace[e]) and not A.is_zero(Gm[e][d][b]):
                    terms.append(A.mul(trace[e], Gm[e][d][b]))
            for a in range(n):
                for e in range(n):
                    x, y = Gm[a][d][e], Gm[e][a][b]
                    if not A.is_zero(x) and not A.is_zero(y):
                        terms.append(A.neg(A.mul(x, y)))
            v = A.finish(A.sum(terms))
            ric[b][d] = v
            ric[d][b] = v
    R = A.finish(A.sum([A.mul(ginv[a][b], ric[a][b]) for a in range(n) for b in range(n)
                        if not A.is_zero(ginv[a][b])]))
    halfR = A.scale(R, einstein_trace_coefficient)
    G = tuple(tuple(A.finish(A.add(ric[a][b], A.neg(A.mul(halfR, g[a][b])))) for b in range(n)) for a in range(n))
    return Curvature(prep, ginv, Gm, tuple(tuple(r) for r in ric), R, G, time.perf_counter() - t0,
                     einstein_trace_coefficient)


def curvature(metric: Metric, **kw: Any) -> Curvature:
    """Christoffel, Ricci, scalar and Einstein tensors of ``metric`` in the fastest algebra available."""
    return compute(prepare(metric, **{k: v for k, v in kw.items() if k in ("force_expression", "jet_order")}))


# ----------------------------------------------------------------------------------------------------------------
# Public helpers in the user's coordinates (SymPy expressions)


def christoffel(metric: Metric | sp.MatrixBase, coords: Sequence[sp.Symbol] | None = None) \
        -> tuple[tuple[tuple[sp.Expr, ...], ...], ...]:
    r""":math:`\Gamma^a{}_{bc}` as SymPy expressions in the given coordinates, ``Gamma[a][b][c]``.

    Uses the rational field when the metric is rational in its coordinates with exp / undefined-function
    generators and sin, cos of coordinates as generators (no chart change: the Christoffel symbols are not a
    tensor); otherwise expressions with ``cancel``/``simplify``.

    >>> t, x = sp.symbols("t x", real=True)
    >>> c = sp.Function("c")(x)
    >>> G = christoffel(sp.diag(-c**2, 1), (t, x))
    >>> G[1][0][0], G[0][0][1]
    (c(x)*Derivative(c(x), x), Derivative(c(x), x)/c(x))
    """
    m = _as_metric(metric, coords)
    try:
        prep = _prepare_rational(m, (), (), 2, trig_generators=True)
    except (_NotRational, _JetOrder):
        prep = prepare(m, force_expression=True)
    A, n = prep.algebra, prep.dim
    ginv = _inverse(A, prep.g)
    Gm = christoffel_from(A, prep.g, ginv, n)
    if isinstance(A, ExprAlgebra):
        return tuple(tuple(tuple(sp.simplify(x) if x != 0 else x for x in y) for y in z) for z in Gm)
    return tuple(tuple(tuple(factored(prep, x) for x in y) for y in z) for z in Gm)


def factored(prep: Prepared, a: Any) -> sp.Expr:
    """A field element as a SymPy expression, numerator and denominator factored by flint."""
    if not isinstance(prep.algebra, FlintField):
        return prep.to_sympy(a)
    F = prep.algebra

    def conv(p) -> sp.Expr:
        c, fs = p.factor()
        out = sp.Integer(int(c))
        for q, e in fs:
            out = out * F.to_sympy((q, F._one), prep.symbols) ** int(e)
        return out
    if a[0].is_zero():
        return sp.S.Zero
    return conv(a[0]) / conv(a[1])


def is_zero_exact(expr: sp.Expr) -> bool:
    r"""Exact zero test for expressions rational in symbols, :math:`\exp`, undefined functions and their
    derivatives, and sin/cos/tan of symbols: the trigonometric functions are rewritten with
    :math:`u = \tan(x/2)`, which makes them rational, then ``cancel``. Other expressions go to
    :func:`nnqg.derivations.is_zero`."""
    from ._core import is_zero

    e = sp.sympify(expr)
    trig = [a for a in e.atoms(*_TRIG)]
    # first with sin, cos as independent symbols (zero there implies zero; fast and usually enough)
    free = {a: sp.Dummy() for a in trig}
    if sp.cancel(sp.together(e.xreplace(free))) == 0:
        return True
    if trig and all(a.args[0].is_Symbol for a in trig):
        for x in {a.args[0] for a in trig}:
            u = sp.Dummy(f"u_{x.name}")
            e = _rewrite_trig(e, x).xreplace({sp.sin(x): 2 * u / (1 + u**2), sp.cos(x): (1 - u**2) / (1 + u**2)})
        if not e.atoms(*_TRIG):
            return sp.cancel(sp.together(e)) == 0
    if sp.cancel(sp.together(e)) == 0:
        return True
    return is_zero(e)


# ----------------------------------------------------------------------------------------------------------------
# Checking field equations


CHECKS = ("ricci_flat", "einstein_lambda", "einstein")


@dataclass(frozen=True)
class Component:
    """A non-zero component ``label`` (user's coordinates) with a witness value at a random rational point."""

    label: str
    expression: sp.Expr
    point: tuple[tuple[str, str], ...]
    value: str


@dataclass(frozen=True)
class CheckResult:
    equation: str
    holds: bool
    path: str
    seconds: float
    nonzero: tuple[Component, ...]
    curvature: Curvature = field(repr=False)

    def describe(self, timing: bool = True) -> str:
        if self.holds:
            return f"{self.equation}: holds exactly ({self.path}" + (f"; {self.seconds:.3g} s)" if timing else ")")
        lines = [f"{self.equation}: does NOT hold ({len(self.nonzero)} non-zero components; {self.path})"]
        for c in self.nonzero:
            pt = ", ".join(f"{k}={v}" for k, v in c.point)
            lines.append(f"  {c.label} = {c.expression}    [at {pt}: {c.value}]")
        return "\n".join(lines)


def _label(kind: str, coords: Sequence[sp.Symbol], a: int, b: int) -> str:
    return f"{kind}_{coords[a]}{coords[b]}"


def residual_tensor(cv: Curvature, equation: str, *, lambda_index: int | None = None,
                    stress_index: int | None = None, kappa_index: int | None = None) -> tuple[str, tuple]:
    """The residual of ``equation`` as a covariant 2-tensor in the prepared algebra.

    ``ricci_flat``: :math:`R_{ab}`; ``einstein_lambda``: :math:`G_{ab} + \\Lambda g_{ab}`; ``einstein``:
    :math:`G_{ab} + \\Lambda g_{ab} - \\kappa T_{ab}` (:math:`\\kappa = 8\\pi G`, default :math:`8\\pi`)."""
    prep = cv.prepared
    A, n = prep.algebra, prep.dim
    if equation == "ricci_flat":
        return "R", cv.ricci
    lam = prep.scalars[lambda_index] if lambda_index is not None else A.zero
    out = []
    for a in range(n):
        row = []
        for b in range(n):
            terms = [cv.einstein[a][b], A.mul(lam, prep.g[a][b])]
            if equation == "einstein" and stress_index is not None:
                kappa = prep.scalars[kappa_index] if kappa_index is not None else None
                T = prep.tensors[stress_index][a][b]
                terms.append(A.neg(A.mul(kappa, T)))
            row.append(A.finish(A.sum(terms)))
        out.append(tuple(row))
    return ("G+Lg" if equation == "einstein_lambda" else "G+Lg-kT"), tuple(out)


def check(metric: Metric, equation: str = "ricci_flat", *, Lambda: sp.Expr | None = None,
          stress_energy: sp.MatrixBase | None = None, kappa: sp.Expr = 8 * sp.pi, seed: int = 0,
          force_expression: bool = False,
          christoffel_hook: Callable | None = None) -> CheckResult:
    r"""Decide exactly whether ``metric`` satisfies ``equation``.

    ``ricci_flat``: :math:`R_{ab} = 0`; ``einstein_lambda``: :math:`G_{ab} + \Lambda g_{ab} = 0`;
    ``einstein``: :math:`G_{ab} + \Lambda g_{ab} = \kappa T_{ab}` with ``stress_energy`` :math:`T_{ab}` (lower
    indices) and :math:`\kappa = 8\pi` (G = 1) by default. ``Lambda`` is an expression in the parameters.
    """
    if equation not in CHECKS:
        raise InvalidArgument(f"--check {equation!r}: expected one of {', '.join(CHECKS)}")
    t0 = time.perf_counter()
    tensors, scalars = [], []
    li = si = ki = None
    if equation in ("einstein_lambda", "einstein"):
        if equation == "einstein_lambda" and Lambda is None:
            raise InvalidArgument("--check einstein_lambda needs a cosmological constant: declare a parameter "
                                  "'Lambda' or give lambda = \"...\"")
        if Lambda is not None:
            li = len(scalars)
            scalars.append(sp.sympify(Lambda))
    if equation == "einstein":
        if stress_energy is None:
            raise InvalidArgument("--check einstein needs a [stress_energy] table (T_mn, lower indices)")
        si = len(tensors)
        tensors.append(sp.ImmutableMatrix(stress_energy))
        ki = len(scalars)
        scalars.append(sp.sympify(kappa))
    prep = prepare(metric, tensors=tensors, scalars=scalars, force_expression=force_expression)
    cv = compute(prep, christoffel_hook=christoffel_hook)
    kind, res = residual_tensor(cv, equation, lambda_index=li, stress_index=si, kappa_index=ki)
    A, n = prep.algebra, prep.dim
    bad = [(a, b) for a in range(n) for b in range(a, n) if not A.is_zero(res[a][b])]
    seconds = time.perf_counter() - t0
    comps = tuple(_witness(prep, kind, a, b, res[a][b], seed) for a, b in bad)
    name = {"ricci_flat": "R_ab = 0", "einstein_lambda": "G_ab + Lambda g_ab = 0",
            "einstein": "G_ab + Lambda g_ab = 8 pi T_ab"}[equation]
    return CheckResult(name, not bad, prep.path, seconds, comps, cv)


def to_user(prep: Prepared, a: int, b: int, value: Any) -> sp.Expr:
    """A covariant 2-tensor component from the prepared chart back to the user's coordinates (numerator and
    denominator factored by flint)."""
    e = factored(prep, value)
    for ch in prep.charts:
        k = ch.index
        if ch.kind == "cos":
            # T_theta theta = T_cc (dc/dtheta)^2 = T_cc (1 - c^2); the c chart is only used without cross terms
            count = (a == k) + (b == k)
            e = e * sp.sqrt(1 - ch.new**2) ** count if count else e
        else:
            J = ch.jacobian()
            e = e / J ** ((a == k) + (b == k))
        e = e.xreplace({ch.new: ch.back()})
    return e


def _witness(prep: Prepared, kind: str, a: int, b: int, value: Any, seed: int) -> Component:
    coords = prep.metric.coords
    expr = to_user(prep, a, b, value)
    rng = random.Random(hash((seed, a, b)) & 0xFFFFFFFF)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    val = None
    pt: dict[sp.Symbol, sp.Rational] = {}
    for _ in range(20):
        pt = {s: sp.Rational(rng.randint(1, 97), rng.randint(7, 41)) for s in syms}
        v = expr.subs(pt)
        # evaluate undefined functions at the point as generic numbers: replace them by random rationals
        repl = {f: sp.Rational(rng.randint(1, 97), rng.randint(7, 41))
                for f in v.atoms(sp.Derivative, sp.core.function.AppliedUndef)}
        v = v.xreplace(repl) if repl else v
        v = sp.nsimplify(v) if v.is_Rational else v
        if v.is_number and v.is_finite and v != 0:
            val = v
            break
    shown = str(val) if val is not None and val.is_Rational else (f"{sp.N(val, 12)}" if val is not None else
                                                                     "no finite non-zero sample found")
    return Component(_label(kind, coords, a, b), expr,
                     tuple((s.name, str(v)) for s, v in pt.items()), shown)


# ----------------------------------------------------------------------------------------------------------------
# Divergence of the Einstein tensor (contracted Bianchi identity)


def einstein_divergence(cv: Curvature) -> tuple[Any, ...]:
    r""":math:`\nabla_a G^a{}_b = \partial_a G^a{}_b + \Gamma^a{}_{ae} G^e{}_b - \Gamma^e{}_{ab} G^a{}_e`
    (the mixed Einstein tensor :math:`G^a{}_b = g^{ac}G_{cb}`); the contracted Bianchi identity says it is 0."""
    prep = cv.prepared
    A, n, Gm, ginv = prep.algebra, prep.dim, cv.Gamma, cv.ginv
    mixed = [[A.finish(A.sum([A.mul(ginv[a][c], cv.einstein[c][b]) for c in range(n)
                              if not A.is_zero(ginv[a][c])])) for b in range(n)] for a in range(n)]
    trace = [A.sum([Gm[a][a][e] for a in range(n)]) for e in range(n)]
    out = []
    for b in range(n):
        terms = [A.deriv(mixed[a][b], a) for a in range(n)]
        for e in range(n):
            terms.append(A.mul(trace[e], mixed[e][b]))
            for a in range(n):
                terms.append(A.neg(A.mul(Gm[e][a][b], mixed[a][e])))
        out.append(A.finish(A.sum(terms)))
    return tuple(out)


def maxwell_stress(prep_metric: Metric, potential: Sequence[sp.Expr]) -> tuple[sp.ImmutableMatrix, sp.Expr]:
    r"""Electromagnetic stress tensor (Gaussian units) of a potential :math:`A_a`:
    :math:`F_{ab} = \partial_a A_b - \partial_b A_a`,
    :math:`T_{ab} = \frac{1}{4\pi}(F_{ac}F_b{}^c - \tfrac14 g_{ab}F_{cd}F^{cd})`, as SymPy expressions (cancelled),
    and the largest :math:`|\nabla_a F^{ab}|` component (0 when Maxwell's equations hold)."""
    m = prep_metric
    n, x = m.dim, m.coords
    g = sp.Matrix(m.g)
    gi = g.inv()
    F = sp.Matrix(n, n, lambda a, b: sp.diff(potential[b], x[a]) - sp.diff(potential[a], x[b]))
    Fup = gi * F * gi.T
    F2 = sum(F[a, b] * Fup[a, b] for a in range(n) for b in range(n))
    Fmixed = F * gi  # F_a^c = F_ad g^dc
    T = sp.Matrix(n, n, lambda a, b: sp.cancel((sum(F[a, c] * Fmixed[b, c] for c in range(n))
                                               - g[a, b] * F2 / 4) / (4 * sp.pi)))
    # Maxwell: d_a (sqrt(-g) F^ab) = 0, with sqrt(-g) kept symbolic through its square
    detg = sp.factor(g.det())
    sq = sp.sqrt(-detg)
    div = [sp.simplify(sum(sp.diff(sq * Fup[a, b], x[a]) for a in range(n)) / sq) for b in range(n)]
    return sp.ImmutableMatrix(T), sp.Add(*[abs(d) for d in div])


# ----------------------------------------------------------------------------------------------------------------
# Variation of the Einstein-Hilbert action on a metric ansatz


@dataclass(frozen=True)
class HilbertVariation:
    r"""For each function f of the ansatz: SymPy's Euler-Lagrange expression :math:`\delta S/\delta f` of the
    reduced action, and the stated :math:`-\sqrt{-g}\,(G^{mn} + \Lambda g^{mn})\,\partial g_{mn}/\partial f`."""

    functions: tuple[sp.Expr, ...]
    lagrangian: sp.Expr
    euler_lagrange: tuple[sp.Expr, ...]
    stated: tuple[sp.Expr, ...]
    differences: tuple[sp.Expr, ...]


def hilbert_variation(metric: Metric, functions: Sequence[sp.Expr], Lambda: sp.Expr, *,
                      lagrangian: Callable[[sp.Expr, sp.Expr], sp.Expr] = lambda R, L: R - 2 * L,
                      trace_coefficient: Fraction = Fraction(1, 2),
                      angular: sp.Expr | None = None, compare: bool = True) -> HilbertVariation:
    r"""Vary :math:`S = \int d^nx \sqrt{-g}\,\mathcal L(R, \Lambda)` (default :math:`R - 2\Lambda`) over the
    functions of a metric ansatz with SymPy's ``euler_equations`` and compare with
    :math:`\delta S/\delta f = -\sqrt{-g}(G^{mn} + \Lambda g^{mn})\,\partial g_{mn}/\partial f`, which is what
    :math:`\delta S = -\int\sqrt{-g}(G^{mn} + \Lambda g^{mn})\delta g_{mn}` gives (up to a boundary term).
    ``angular`` is a factor of :math:`\sqrt{-g}` integrated out of the reduced action (e.g. :math:`\sin\theta`);
    the ansatz must be compatible with the principle of symmetric criticality (spherical symmetry is)."""
    from sympy.calculus.euler import euler_equations

    from ._core import is_zero

    prep = prepare(metric)
    cv = compute(prep, einstein_trace_coefficient=trace_coefficient)
    n = metric.dim
    R = prep.to_sympy(cv.scalar)
    for ch in prep.charts:
        R = R.xreplace({ch.new: ch.back()})
    G = sp.Matrix(n, n, lambda a, b: to_user(prep, a, b, cv.einstein[a][b]))
    g = sp.Matrix(metric.g)
    gi = g.inv()
    Gup = gi * G * gi
    det = sp.factor(-g.det())
    if angular is not None:
        det = sp.factor(det / angular**2)
    vol = sp.sqrt(det)
    L = vol * lagrangian(R, Lambda)
    variables = sorted({v for f in functions for v in f.args}, key=lambda s: metric.coords.index(s))
    if not compare:  # only the Lagrangian and the stated variation (e.g. for a numeric check)
        stated_only = tuple(-vol * sp.Add(*[(Gup[a, b] + Lambda * gi[a, b]) * sp.diff(g[a, b], f)
                                            for a in range(n) for b in range(n) if sp.diff(g[a, b], f) != 0])
                            for f in functions)
        return HilbertVariation(tuple(functions), L, (), stated_only, ())
    eqs = euler_equations(L, list(functions), variables)
    el, stated, diffs = [], [], []
    for f, eq in zip(functions, eqs):
        e = eq.lhs - eq.rhs
        s = -vol * sp.Add(*[(Gup[a, b] + Lambda * gi[a, b]) * sp.diff(g[a, b], f)
                            for a in range(n) for b in range(n) if sp.diff(g[a, b], f) != 0])
        d = e - s
        el.append(e)
        stated.append(s)
        diffs.append(sp.S.Zero if is_zero_exact(d) or is_zero(d) else sp.simplify(d))
    return HilbertVariation(tuple(functions), L, tuple(el), tuple(stated), tuple(diffs))
