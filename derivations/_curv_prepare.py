r"""Bringing a metric into the engine's differential field: charts for trigonometric coordinates, generators for
transcendental functions, each with its derivative rule.

Every transcendental subexpression becomes a *generator*, a new variable :math:`G` of the field, and is admitted
only together with :math:`\partial_k G` expressed in the field (soundness by construction: a generator without a
rule cannot be built, and anything without a rule makes the rational path refuse and fall back):

========================  ==========================================================  =========================
generator                 derivative rule                                             relation
========================  ==========================================================  =========================
:math:`e^{m/d}`           :math:`\partial E = \tfrac1d (\partial m)\, E`
:math:`b^{m/d}` (m const) :math:`\partial P = \tfrac{m}{d}\,\tfrac{\partial b}{b}\, P`   :math:`P^d = b` if m = 1
:math:`\log b`            :math:`\partial L = \partial b / b`
:math:`J_k(z)`            :math:`\partial J_0 = -J_1\partial z`,
                          :math:`\partial J_k = (J_{k-1} - \tfrac kz J_k)\partial z`
:math:`W(z)` (Lambert)    :math:`\partial W = \tfrac{W}{z(1+W)}\partial z`
:math:`\arctan u`         :math:`\partial A = \partial u/(1+u^2)`
:math:`\sin u, \cos u`    :math:`\partial S = C\partial u`,                             :math:`S^2 = 1 - C^2`
                          :math:`\partial C = -S\partial u`
:math:`f_\alpha` (jet)    :math:`\partial_k f_\alpha = f_{\alpha+e_k}`
:math:`\pi`, constants    0
========================  ==========================================================  =========================

The argument of a generator is converted first (it may contain earlier generators), so its rule is an element of
the field; exponents are split by monomial, :math:`e^{2Ht} = E^2` with :math:`E = e^{Ht}`, and
:math:`e^{k\log b}` is the power :math:`b^k` (so :math:`e^{(1-k)\log x}e^{k\log x} = x`). Hyperbolic functions
are rewritten through exponentials.

Charts: where :math:`\sin\theta`, :math:`\cos\theta` of a coordinate occur, :math:`c = \cos\theta` (only even powers
of :math:`\sin\theta`, no cross term of :math:`\theta`) or :math:`u = \tan(\theta/2)`; the chart change
:math:`x^k = \phi(y^k)` is diagonal, so a covariant 2-tensor transforms component by component:
:math:`T_{ab} = T'_{ab}\,(\partial y^a/\partial x^a)(\partial y^b/\partial x^b)`, with
:math:`dc/d\theta = -\sin\theta` and :math:`du/d\theta = (1 + u^2)/2`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

import sympy as sp

from ._curv_field import BeyondJet, ExprAlgebra, FlintField, JetOrder, NotRational

_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)
_HYPERBOLIC = (sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch)


# ------------------------------------------------------------------------------------------------------------
# Charts


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

    def jacobian(self) -> sp.Expr:
        """:math:`dx/dy` for the tan-half chart, :math:`2/(1 + u^2)`."""
        if self.kind == "cos":
            raise ValueError("the c = cos(theta) chart has no rational Jacobian; only J^2 is used")
        return 2 / (1 + self.new**2)

    def new_per_old(self) -> sp.Expr:
        """:math:`dy/dx` in the user's coordinate: :math:`-\\sin x` (cos chart), :math:`1/\\cos^2(x/2)/2`
        written as :math:`(1 + \\tan^2(x/2))/2` (tan-half chart)."""
        x = self.coord
        if self.kind == "cos":
            return -sp.sin(x)
        return (1 + sp.tan(x / 2) ** 2) / 2

    def back(self) -> sp.Expr:
        """The new coordinate as a function of the old one."""
        return sp.cos(self.coord) if self.kind == "cos" else sp.tan(self.coord / 2)


def rewrite_trig(e: sp.Expr) -> sp.Expr:
    """tan, cot, sec, csc through sin and cos; hyperbolic functions through exponentials; sin and cos of sums
    and small integer multiples by the addition theorems."""
    rep: dict[sp.Expr, sp.Expr] = {}
    for a in e.atoms(sp.tan, sp.cot, sp.sec, sp.csc, *_HYPERBOLIC):
        x = a.args[0]
        ex, emx = sp.exp(x), sp.exp(-x)
        rep[a] = {sp.tan: lambda: sp.sin(x) / sp.cos(x), sp.cot: lambda: sp.cos(x) / sp.sin(x),
                  sp.sec: lambda: 1 / sp.cos(x), sp.csc: lambda: 1 / sp.sin(x),
                  sp.sinh: lambda: (ex - emx) / 2, sp.cosh: lambda: (ex + emx) / 2,
                  sp.tanh: lambda: (ex - emx) / (ex + emx), sp.coth: lambda: (ex + emx) / (ex - emx),
                  sp.sech: lambda: 2 / (ex + emx), sp.csch: lambda: 2 / (ex - emx)}[type(a)]()
    for a in e.atoms(sp.sin, sp.cos):
        # sin(x + y), cos(2x): through sin and cos of the plain symbols (addition theorems)
        arg = a.args[0]
        if arg.is_Add or (arg.is_Mul and arg.as_coeff_Mul()[0].is_Integer and abs(arg.as_coeff_Mul()[0]) <= 8):
            ex = sp.expand_trig(a)
            if ex != a:
                rep[a] = ex
    if not rep:
        return e
    out = e.xreplace(rep)
    return rewrite_trig(out) if out.atoms(sp.tan, sp.cot, sp.sec, sp.csc, *_HYPERBOLIC) else out


class OddSine(Exception):
    def __init__(self, coord: sp.Symbol) -> None:
        self.coord = coord


def _chart_for(x: sp.Symbol, index: int, exprs: Sequence[sp.Expr], g: sp.MatrixBase,
               force_tan: frozenset[sp.Symbol]) -> Chart | None:
    uses = [a for e in exprs for a in e.atoms(sp.sin, sp.cos) if a.args[0] == x]
    if not uses:
        return None
    cross = any(g[index, j] != 0 for j in range(g.shape[0]) if j != index)
    if not cross and x not in force_tan:
        # evenness in sin(x) is decided exactly in the field (an odd power raises OddSine, then u = tan(x/2))
        return Chart(index, x, sp.Symbol(f"c_{x.name}", real=True), "cos")
    return Chart(index, x, sp.Symbol(f"u_{x.name}", real=True), "tan_half")


def _coordinates_outside_trig(exprs: Sequence[sp.Expr], coords: Sequence[sp.Symbol]) -> set[sp.Symbol]:
    """Coordinates that occur other than as the argument of sin/cos (or as an undetermined function's
    argument)."""
    out = set()
    for x in coords:
        trig = {a: sp.Dummy() for e in exprs for a in e.atoms(sp.sin, sp.cos) if a.args[0] == x}
        if any(x in e.xreplace(trig).free_symbols for e in exprs):
            out.add(x)
    return out


def _apply_chart(e: sp.Expr, ch: Chart, s_symbol: sp.Symbol | None) -> sp.Expr:
    """Rewrite ``e`` in the chart: for "cos", sin(x) -> the placeholder ``s_symbol`` (removed in the field)."""
    x, y = ch.coord, ch.new
    if ch.kind == "cos":
        e = e.xreplace({sp.sin(x): s_symbol, sp.cos(x): y})
    else:
        e = e.xreplace(ch.trig_map())
    if x in e.free_symbols:
        raise NotRational(f"{x} appears outside sin/cos")
    return e


def _even_reduce(F: FlintField, a, s_index: int, c_index: int, coord: sp.Symbol):
    """Replace :math:`S^2 \\to 1 - c^2` in a reduced fraction that is even in S (else raise OddSine)."""
    def red(p):
        if p.degrees()[s_index] == 0:
            return p
        one_minus = F.ctx.constant(1) - F.gens[c_index] ** 2
        out = F.ctx.constant(0)
        groups: dict[int, dict] = {}
        for e, c in p.to_dict().items():
            if e[s_index] % 2:
                raise OddSine(coord)
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


# ------------------------------------------------------------------------------------------------------------
# Generators


@dataclass
class Generator:
    """A field variable standing for a transcendental function: ``meaning`` in the user's coordinates,
    ``rule(F, k)`` its derivative by coordinate ``k`` (None when it is 0 for every k), ``relation`` an
    algebraic relation ``(d, base)`` meaning :math:`G^d = b` (base as a walked SymPy expression)."""

    symbol: sp.Symbol
    kind: str
    meaning: sp.Expr
    args: tuple[sp.Expr, ...] = ()    # walked arguments (polynomial in field variables)
    param: Any = None                 # kind-specific data (exponent monomial, Bessel order, jet index ...)
    relation: tuple[int, sp.Expr] | None = None
    level: int = 0
    display: str = ""


@dataclass
class _Family:
    """Powers :math:`X^c` of one exponential or power (c rational) seen while walking; becomes the generator
    :math:`X^{1/d}`, :math:`d` = lcm of the denominators of the c."""

    kind: str                # "exp" (X = exp(m)) or "pow" (X = base^m)
    base: sp.Expr | None     # walked base ("pow")
    m: sp.Expr               # walked monomial
    placeholder: sp.Symbol
    coefficients: set[Fraction]
    level: int


class _Walker:
    """Rewrites SymPy expressions (already in the chart) as polynomials in field variables, registering a
    generator for every transcendental atom."""

    def __init__(self, coords: Sequence[sp.Symbol], charted: set[sp.Symbol], params: Sequence[sp.Symbol],
                 reserved: set[sp.Symbol], jet_order: int) -> None:
        self.coords = list(coords)              # coordinates of the chart (derivation index = position)
        self.charted = charted                  # chart coordinates (no undetermined functions of them)
        self.params = list(params)
        self.reserved = reserved                # chart placeholders (S)
        self.jet_order = jet_order
        self.families: dict[tuple, _Family] = {}
        self.gens: dict[tuple, Generator] = {}
        self.bessel: dict[sp.Expr, list[Any]] = {}   # walked argument -> [max order, level]
        self.jets: dict[sp.Expr, dict[tuple[int, ...], sp.Symbol]] = {}
        self.levels: dict[sp.Symbol, int] = {}
        self.memo: dict[sp.Expr, sp.Expr] = {}
        self.pi = sp.Symbol("pi_const")
        self.uses_pi = False
        self._count = itertools.count(1)

    # --- helpers
    def _level(self, e: sp.Expr) -> int:
        return max((self.levels.get(s, 0) for s in e.free_symbols), default=0)

    def _placeholder_power(self, kind: str, base: sp.Expr | None, m: sp.Expr, c: Fraction) -> sp.Expr:
        key = (kind, base, m)
        fam = self.families.get(key)
        if fam is None:
            ph = sp.Symbol(f"_F{next(self._count)}", positive=True)
            lvl = 1 + max(self._level(m), self._level(base) if base is not None else 0)
            fam = _Family(kind, base, m, ph, set(), lvl)
            self.families[key] = fam
            self.levels[ph] = lvl
        fam.coefficients.add(c)
        return sp.Pow(fam.placeholder, sp.Rational(c.numerator, c.denominator))

    def _gen(self, key: tuple, kind: str, args: tuple[sp.Expr, ...], param: Any = None) -> sp.Symbol:
        g = self.gens.get(key)
        if g is None:
            s = sp.Symbol(f"_G{next(self._count)}")
            lvl = 1 + max((self._level(a) for a in args), default=0)
            g = Generator(s, kind, sp.S.Zero, args, param, None, lvl)
            self.gens[key] = g
            self.levels[s] = lvl
        return g.symbol

    def _const_free(self, e: sp.Expr) -> bool:
        """True when ``e`` depends on no coordinate and no undetermined function."""
        return not (e.free_symbols & set(self.coords)) and not e.atoms(sp.core.function.AppliedUndef) \
            and not (e.free_symbols & self.reserved)

    # --- the walk
    def walk(self, e: sp.Expr) -> sp.Expr:
        hit = self.memo.get(e)
        if hit is None:
            hit = self._walk(e)
            self.memo[e] = hit
        return hit

    def _walk(self, e: sp.Expr) -> sp.Expr:
        if e.is_Rational:
            return e
        if e.is_Symbol:
            if e in self.coords or e in self.reserved or e in self.params:
                return e
            self.params.append(e)
            return e
        if e is sp.pi:
            self.uses_pi = True
            return self.pi
        if e is sp.E:
            return self._placeholder_power("exp", None, sp.S.One, Fraction(1))
        if e.is_Add:
            return sp.Add(*[self.walk(a) for a in e.args])
        if e.is_Mul:
            return sp.Mul(*[self.walk(a) for a in e.args])
        if e.is_Pow:
            return self._pow(e.base, e.exp)
        if isinstance(e, sp.exp):
            return self._exp(e.args[0])
        if isinstance(e, sp.log):
            u = sp.cancel(self.walk(e.args[0]))
            return self._gen(("log", u), "log", (u,))
        if isinstance(e, (sp.sin, sp.cos)):
            # sin u, cos u of a non-coordinate u: a pair of generators, d sin u = cos u du, sin^2 = 1 - cos^2
            u = sp.cancel(self.walk(e.args[0]))
            s_ = self._gen(("sin", u), "sin", (u,))
            c_ = self._gen(("cos", u), "cos", (u,))
            return s_ if isinstance(e, sp.sin) else c_
        if isinstance(e, sp.atan):
            u = sp.cancel(self.walk(e.args[0]))
            return self._gen(("atan", u), "atan", (u,))
        if isinstance(e, sp.LambertW):
            if len(e.args) != 1:
                raise NotRational("LambertW on a branch other than the principal one")
            z = sp.cancel(self.walk(e.args[0]))
            return self._gen(("lambertw", z), "lambertw", (z,))
        if isinstance(e, sp.besselj):
            nu, z = e.args
            if not nu.is_Integer:
                raise NotRational(f"besselj of the non-integer order {nu}")
            n = abs(int(nu))
            zw = sp.cancel(self.walk(z))
            rec = self.bessel.setdefault(zw, [1, 1 + self._level(zw)])
            rec[0] = max(rec[0], n)
            sign = -1 if (int(nu) < 0 and n % 2) else 1
            return sign * self._bessel_symbol(zw, n)
        if isinstance(e, sp.core.function.AppliedUndef):
            return self._jet(e, (0,) * len(e.args))
        if isinstance(e, sp.Derivative):
            f = e.expr
            if not isinstance(f, sp.core.function.AppliedUndef):
                raise NotRational(f"the derivative {e}")
            alpha = [0] * len(f.args)
            for v, c in e.variable_count:
                if v not in f.args:
                    raise NotRational(f"{e} differentiates by a non-argument")
                alpha[f.args.index(v)] += int(c)
            return self._jet(f, tuple(alpha))
        raise NotRational(f"{type(e).__name__} {e}")

    def _bessel_symbol(self, zw: sp.Expr, n: int) -> sp.Symbol:
        key = ("besselj", zw, n)
        g = self.gens.get(key)
        if g is None:
            s = sp.Symbol(f"_J{n}_{next(self._count)}")
            lvl = self.bessel[zw][1]
            g = Generator(s, "besselj", sp.S.Zero, (zw,), n, None, lvl)
            self.gens[key] = g
            self.levels[s] = lvl
        return g.symbol

    def _jet(self, f: sp.Expr, alpha: tuple[int, ...]) -> sp.Symbol:
        if len(set(f.args)) != len(f.args) or not all(a in self.coords for a in f.args):
            raise NotRational(f"the function {f} must take distinct coordinates as arguments")
        if any(a in self.charted for a in f.args):
            raise NotRational(f"{f} depends on a charted coordinate")
        if sum(alpha) > self.jet_order:
            raise JetOrder(str(f))
        table = self.jets.get(f)
        if table is None:
            table = {}
            for order in range(self.jet_order + 1):
                for combo in itertools.combinations_with_replacement(range(len(f.args)), order):
                    a = tuple(combo.count(i) for i in range(len(f.args)))
                    s = sp.Symbol(f"_j{next(self._count)}")
                    table[a] = s
                    self.levels[s] = 0
            self.jets[f] = table
        return table[alpha]

    def _split(self, e: sp.Expr) -> list[tuple[Fraction, sp.Expr]]:
        out = []
        for term in sp.Add.make_args(sp.expand(e)):
            c, m = term.as_coeff_Mul()
            if not c.is_Rational:
                raise NotRational(f"the coefficient {c} in an exponent")
            out.append((Fraction(int(c.p), int(c.q)), m))
        return out

    def _exp(self, arg: sp.Expr) -> sp.Expr:
        out = []
        for c, m in self._split(arg):
            if m == 1:
                out.append(self._placeholder_power("exp", None, sp.S.One, c))
                continue
            if isinstance(m, sp.LambertW) and c.denominator == 1 and len(m.args) == 1:
                # W e^W = z: e^(c W(z)) = (z / W(z))^c
                out.append((self.walk(m.args[0]) / self.walk(m)) ** c.numerator)
                continue
            logs = [f for f in sp.Mul.make_args(m) if isinstance(f, sp.log)]
            if len(logs) == 1:
                k = m / logs[0]
                if self._const_free(k):
                    # exp(c k log b) = b^(c k)
                    out.append(self._pow(logs[0].args[0], sp.Rational(c.numerator, c.denominator) * k))
                    continue
            out.append(self._placeholder_power("exp", None, self.walk(m), c))
        return sp.Mul(*out)

    def _pow(self, base: sp.Expr, x: sp.Expr) -> sp.Expr:
        if x.is_Integer:
            return self.walk(base) ** x
        if not self._const_free(x):
            return self._exp(x * sp.log(base))
        b = sp.cancel(self.walk(base))  # one generator per function: (x - y)^2 and x^2 - 2xy + y^2 alike
        out = []
        for c, m in self._split(x):
            if m == 1:
                if c.denominator == 1:
                    out.append(b ** c.numerator)
                else:
                    out.append(self._placeholder_power("pow", b, sp.S.One, c))
            else:
                out.append(self._placeholder_power("pow", b, self.walk(m), c))
        return sp.Mul(*out)

    # --- after the walk: families become generators
    def finalize(self) -> tuple[list[Generator], dict[sp.Symbol, sp.Expr]]:
        """The generators in an order where each one's arguments use only earlier ones, and the substitution
        of the family placeholders."""
        for z, (top, _) in list(self.bessel.items()):
            for order in range(top + 1):
                self._bessel_symbol(z, order)
        subst: dict[sp.Symbol, sp.Expr] = {}
        gens: list[Generator] = []
        for fam in sorted(self.families.values(), key=lambda f: f.level):
            d = math.lcm(*[c.denominator for c in fam.coefficients])
            s = sp.Symbol(f"_P{next(self._count)}", positive=True)
            m = fam.m.xreplace(subst)
            if fam.kind == "exp":
                gens.append(Generator(s, "exp", sp.S.Zero, (m,), d, None, fam.level))
            else:
                b = fam.base.xreplace(subst)
                rel = (d, b) if m == 1 else None
                gens.append(Generator(s, "pow", sp.S.Zero, (b, m), d, rel, fam.level))
            subst[fam.placeholder] = s**d
            self.levels[s] = fam.level
        for g in self.gens.values():
            g.args = tuple(a.xreplace(subst) for a in g.args)
            gens.append(g)
        # a stable order by level (arguments use lower levels only); Bessel orders of one argument together
        gens.sort(key=lambda g: (g.level, g.param if g.kind == "besselj" else -1))
        return gens, subst


# ------------------------------------------------------------------------------------------------------------
# The prepared metric


@dataclass(frozen=True)
class Prepared:
    """A metric (and extra tensors/scalars) brought into one algebra, with the chart it used."""

    metric: Any
    algebra: Any
    path: str
    charts: tuple[Chart, ...]
    g: tuple[tuple[Any, ...], ...]
    tensors: tuple[tuple[tuple[Any, ...], ...], ...]
    scalars: tuple[Any, ...]
    symbols: tuple[sp.Expr, ...]  # SymPy expression of each field variable in the user's coordinates
    generators: tuple[Generator, ...] = ()
    covectors: tuple[tuple[Any, ...], ...] = ()

    @property
    def dim(self) -> int:
        return self.metric.dim

    def to_sympy(self, a: Any) -> sp.Expr:
        return self.algebra.to_sympy(a, self.symbols)


def prepare(metric: Any, *, tensors: Sequence[sp.MatrixBase] = (), scalars: Sequence[sp.Expr] = (),
            covectors: Sequence[Sequence[sp.Expr]] = (), jet_order: int = 3,
            force_expression: bool = False) -> Prepared:
    """Bring ``metric`` (and covariant 2-tensors, covectors and scalars that go with it) into the fastest
    algebra."""
    n = metric.dim
    if not force_expression:
        force_tan: frozenset[sp.Symbol] = frozenset()
        reason = ""
        order = jet_order
        for _ in range(2 * n + 4):
            try:
                return prepare_rational(metric, tensors, scalars, order, force_tan, covectors=covectors)
            except NotRational as exc:
                reason = str(exc)
                break
            except OddSine as exc:
                force_tan = force_tan | {exc.coord}
            except JetOrder as exc:
                if order >= 6:
                    reason = f"derivatives of {exc} beyond order {order}"
                    break
                order += 1
    else:
        reason = "requested"
    return prepare_expression(metric, tensors, scalars, reason, covectors)


def prepare_expression(metric: Any, tensors: Sequence[sp.MatrixBase], scalars: Sequence[sp.Expr],
                       reason: str, covectors: Sequence[Sequence[sp.Expr]] = ()) -> Prepared:
    n = metric.dim
    alg = ExprAlgebra(metric.coords)
    g = tuple(tuple(sp.sympify(metric.g[i, j]) for j in range(n)) for i in range(n))
    Ts = tuple(tuple(tuple(sp.sympify(T[i, j]) for j in range(n)) for i in range(n)) for T in tensors)
    return Prepared(metric, alg, f"{alg.kind}: no rational representation ({reason})", (), g, Ts,
                    tuple(sp.sympify(s) for s in scalars), tuple(metric.coords),
                    covectors=tuple(tuple(sp.sympify(x) for x in v) for v in covectors))


def prepare_rational(metric: Any, tensors: Sequence[sp.MatrixBase], scalars: Sequence[sp.Expr], jet_order: int,
                     force_tan: frozenset[sp.Symbol] = frozenset(), trig_generators: bool = False,
                     covectors: Sequence[Sequence[sp.Expr]] = ()) -> Prepared:
    """The rational representation (raises :class:`NotRational`, :class:`OddSine` or :class:`JetOrder`).

    ``trig_generators``: instead of charts, :math:`\\sin x`, :math:`\\cos x` of a coordinate are generators
    :math:`S, C` with :math:`\\partial_x S = C`, :math:`\\partial_x C = -S` and the relation
    :math:`S^2 = 1 - C^2` (components stay in the user's coordinates; used for the Christoffel symbols, which
    are not a tensor). Coordinates that an undetermined function depends on get such generators in any case."""
    n = metric.dim
    user = list(metric.coords)
    coords = list(user)
    g = sp.Matrix(metric.g).applyfunc(rewrite_trig)
    Ts = [sp.Matrix(T).applyfunc(rewrite_trig) for T in tensors]
    sc = [rewrite_trig(sp.sympify(s)) for s in scalars]
    cov = [[rewrite_trig(sp.sympify(x)) for x in v] for v in covectors]
    everything = list(g) + [e for T in Ts for e in T] + sc + [x for v in cov for x in v]
    trig_pairs: dict[int, tuple[sp.Symbol, sp.Symbol]] = {}
    charts: list[Chart] = []
    s_syms: dict[int, sp.Symbol] = {}
    # sin, cos of a coordinate are generators instead of a chart where the coordinate also occurs outside them
    # (x sin x, exp(x) sin x) or an undetermined function depends on it (a chart would need its derivative by the
    # chart variable); all of them in the trig-generator mode
    pair_coords = set(user) if trig_generators else _coordinates_outside_trig(everything, user)
    for k, x in enumerate(user):
        if x in pair_coords:
            if not any(a.args[0] == x for e in everything for a in e.atoms(sp.sin, sp.cos)):
                continue
            S, C = sp.Symbol(f"_sin_{k}"), sp.Symbol(f"_cos_{k}")
            trig_pairs[k] = (S, C)

            def rep(e, x=x, S=S, C=C):
                return e.xreplace({sp.sin(x): S, sp.cos(x): C})
            g = g.applyfunc(rep)
            Ts = [T.applyfunc(rep) for T in Ts]
            sc = [rep(e) for e in sc]
            cov = [[rep(e) for e in v] for v in cov]
    if not trig_generators:
        everything = list(g) + [e for T in Ts for e in T] + sc + [x for v in cov for x in v]
        for k, x in enumerate(user):
            ch = _chart_for(x, k, everything, g, force_tan)
            if ch is not None:
                charts.append(ch)
        for ch in charts:
            k = ch.index
            s_sym = sp.Symbol(f"_S_{k}")
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
            # a covector: A_y = A_x dx/dy, dtheta/dc = -1/sin(theta), dtheta/du = J
            factor = -1 / s_sym if ch.kind == "cos" else ch.jacobian()
            cov = [[_apply_chart(e * factor if j == k else e, ch, s_sym) for j, e in enumerate(v)] for v in cov]
            coords[k] = ch.new
    # walk every expression: generators with their arguments
    reserved = set(s_syms.values()) | {s for pair in trig_pairs.values() for s in pair}
    walker = _Walker(coords, {ch.new for ch in charts}, list(metric.parameters), reserved, jet_order)
    gw = sp.Matrix(n, n, lambda i, j: walker.walk(g[i, j]))
    Tw = [sp.Matrix(n, n, lambda i, j, T=T: walker.walk(T[i, j])) for T in Ts]
    sw = [walker.walk(e) for e in sc]
    cw = [[walker.walk(e) for e in v] for v in cov]
    gens, subst = walker.finalize()
    if subst:
        gw = gw.xreplace(subst)
        Tw = [T.xreplace(subst) for T in Tw]
        sw = [e.xreplace(subst) for e in sw]
        cw = [[e.xreplace(subst) for e in v] for v in cw]
    jet_syms = [(f, a, s) for f, table in walker.jets.items() for a, s in table.items()]
    trig_syms = [s for k in sorted(trig_pairs) for s in trig_pairs[k]]
    cos_charts = [ch for ch in charts if ch.kind == "cos"]
    variables = (coords + walker.params + ([walker.pi] if walker.uses_pi else []) + trig_syms
                 + [s for _, _, s in jet_syms] + [gn.symbol for gn in gens]
                 + [s_syms[ch.index] for ch in cos_charts])
    index = {s: i for i, s in enumerate(variables)}
    if len(index) != len(variables):
        raise NotRational("variable names collide")
    F = FlintField([f"v{i}" for i in range(len(variables))], [[(k, None)] for k in range(n)])
    for k in range(n):
        F.set_rules(k, [(k, F.one)])

    def conv(e: sp.Expr):
        a = _convert(F, e, index)
        for ch in cos_charts:
            a = _even_reduce(F, a, index[s_syms[ch.index]], index[ch.new], ch.coord)
        return a

    # trigonometric generator pairs: d sin = cos, d cos = -sin, sin^2 = 1 - cos^2
    for k, (S, C) in trig_pairs.items():
        F.add_rule(k, index[S], F.gen(index[C]))
        F.add_rule(k, index[C], F.neg(F.gen(index[S])))
        F.relate(index[S], 2, F.add(F.one, F.neg(F.pow(F.gen(index[C]), 2))))
    # jets: d_k f_alpha = f_(alpha + e_k)
    for f, table in walker.jets.items():
        for alpha, s in table.items():
            for j, arg in enumerate(f.args):
                k = coords.index(arg)
                beta = list(alpha)
                beta[j] += 1
                nxt = table.get(tuple(beta))
                F.add_rule(k, index[s], F.gen(index[nxt]) if nxt is not None else BeyondJet(str(f)))
    # generators in order: each rule is built from already-ruled variables
    bessel = {(gn.args[0], gn.param): gn.symbol for gn in gens if gn.kind == "besselj"}
    trig = {(gn.kind, gn.args[0]): gn.symbol for gn in gens if gn.kind in ("sin", "cos")}
    for gn in gens:
        _add_generator_rules(F, gn, conv, index, n, bessel, trig)
    gF = _conv_tensor(F, conv, gw, cos_charts, index, n)
    TF = tuple(_conv_tensor(F, conv, T, cos_charts, index, n) for T in Tw)
    sF = tuple(conv(e) for e in sw)
    cF = tuple(tuple(conv(e) for e in v) for v in cw)
    # what each field variable means in the user's coordinates (for witnesses and display)
    meaning: dict[sp.Symbol, sp.Expr] = {ch.new: ch.back() for ch in charts}
    meaning.update({s_syms[ch.index]: sp.sin(ch.coord) for ch in cos_charts})
    for k, (S, C) in trig_pairs.items():
        meaning[S], meaning[C] = sp.sin(user[k]), sp.cos(user[k])
    meaning[walker.pi] = sp.pi
    for f, table in walker.jets.items():
        for alpha, s in table.items():
            vc = [(f.args[i], a) for i, a in enumerate(alpha) if a]
            meaning[s] = sp.Derivative(f, *vc) if vc else f
    counts: dict[str, int] = {}
    for gn in gens:
        gn.meaning = _meaning(gn, meaning)
        meaning[gn.symbol] = gn.meaning
        letter = {"exp": "E", "pow": "P", "log": "L", "atan": "A", "lambertw": "W", "besselj": "J", "sin": "S",
                  "cos": "C"}[gn.kind]
        counts[letter] = counts.get(letter, 0) + 1
        gn.display = f"{letter}{counts[letter]}"
    symbols = tuple(meaning.get(v, v) for v in variables)
    path = F.kind
    notes = [ch.describe() for ch in charts]
    if trig_pairs:
        notes.append("sin, cos generators with sin^2 + cos^2 = 1")
    shown = [f"{gn.display} = {gn.meaning}" for gn in gens if gn.kind != "besselj"]
    if any(gn.kind == "besselj" for gn in gens):
        shown.append("Bessel J_k with J_0' = -J_1, J_k' = J_(k-1) - k J_k/z")
    if shown:
        notes.append("generators " + ", ".join(shown))
    if walker.jets:
        notes.append(f"jet variables of {', '.join(sorted(str(f) for f in walker.jets))} to order {jet_order}")
    if notes:
        path += ("; chart " if charts else "; ") + notes[0] + "".join("; " + x for x in notes[1:])
    return Prepared(metric, F, path, tuple(charts), gF, TF, sF, symbols, tuple(gens), cF)


def _meaning(gn: Generator, meaning: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    args = [a.xreplace(meaning) for a in gn.args]
    if gn.kind == "exp":
        return sp.exp(args[0] / gn.param)
    if gn.kind == "pow":
        return args[0] ** (args[1] / gn.param)
    if gn.kind == "log":
        return sp.log(args[0])
    if gn.kind == "atan":
        return sp.atan(args[0])
    if gn.kind == "lambertw":
        return sp.LambertW(args[0])
    if gn.kind in ("sin", "cos"):
        return (sp.sin if gn.kind == "sin" else sp.cos)(args[0])
    if gn.kind == "besselj":
        return sp.besselj(gn.param, args[0])
    raise AssertionError(gn.kind)


def _add_generator_rules(F: FlintField, gn: Generator, conv: Callable, index: dict, n: int,
                         bessel: dict[tuple[sp.Expr, int], sp.Symbol],
                         trig: dict[tuple[str, sp.Expr], sp.Symbol]) -> None:
    """Append :math:`\\partial_k G` for every coordinate k (the rule of the generator's kind)."""
    G = F.gen(index[gn.symbol])
    args = [conv(a) for a in gn.args]
    if gn.kind == "pow" and gn.relation is not None:
        F.relate(index[gn.symbol], gn.param, args[0])
    if gn.kind == "sin":              # sin^2 u = 1 - cos^2 u
        C = F.gen(index[trig[("cos", gn.args[0])]])
        F.relate(index[gn.symbol], 2, F.add(F.one, F.neg(F.mul(C, C))))
    for k in range(n):
        da = F.deriv(args[0], k)
        if F.is_zero(da) and gn.kind != "pow":
            continue
        if gn.kind in ("sin", "cos"):  # d sin u = cos u du, d cos u = -sin u du
            other = F.gen(index[trig[("cos" if gn.kind == "sin" else "sin", gn.args[0])]])
            rule = F.mul(da, other if gn.kind == "sin" else F.neg(other))
        elif gn.kind == "exp":          # d e^(m/d) = (dm/d) e^(m/d)
            rule = F.mul(F.scale(da, Fraction(1, gn.param)), G)
        elif gn.kind == "pow":        # d b^(m/d) = (m/d) (db/b) b^(m/d), m constant
            if F.is_zero(da):
                continue
            rule = F.mul(F.mul(F.scale(args[1], Fraction(1, gn.param)), F.mul(da, F.inv(args[0]))), G)
        elif gn.kind == "log":
            rule = F.mul(da, F.inv(args[0]))
        elif gn.kind == "atan":
            rule = F.mul(da, F.inv(F.add(F.one, F.mul(args[0], args[0]))))
        elif gn.kind == "lambertw":   # W' = W / (z (1 + W))
            rule = F.mul(da, F.mul(G, F.inv(F.mul(args[0], F.add(F.one, G)))))
        elif gn.kind == "besselj":    # J_0' = -J_1, J_k' = J_(k-1) - (k/z) J_k
            k_ord = gn.param
            if k_ord == 0:
                rule = F.neg(F.mul(da, F.gen(index[bessel[(gn.args[0], 1)]])))
            else:
                prev = F.gen(index[bessel[(gn.args[0], k_ord - 1)]])
                rule = F.mul(da, F.add(prev, F.neg(F.mul(F.scale(G, k_ord), F.inv(args[0])))))
        else:
            raise AssertionError(gn.kind)
        if not F.is_zero(rule):
            F.add_rule(k, index[gn.symbol], F.finish(rule))


def _conv_tensor(F: FlintField, conv: Callable, Mx: sp.Matrix, cos_charts: Sequence[Chart], index: dict,
                 n: int):
    out = [[conv(Mx[i, j]) if j >= i else None for j in range(n)] for i in range(n)]
    for i in range(n):
        for j in range(i):
            out[i][j] = out[j][i]
    for ch in cos_charts:  # d theta^2 = dc^2 / (1 - c^2)
        k = ch.index
        c = F.gen(index[ch.new])
        out[k][k] = F.mul(out[k][k], F.inv(F.add(F.one, F.neg(F.mul(c, c)))))
    return tuple(tuple(r) for r in out)


def _convert(F: FlintField, e: sp.Expr, var: dict[sp.Symbol, int]):
    """A SymPy expression (polynomial operations only) -> an element of ``F``."""
    if e.is_Integer:
        return F.const(int(e))
    if e.is_Rational:
        return F.const(Fraction(int(e.p), int(e.q)))
    if e.is_Symbol:
        if e in var:
            return F.gen(var[e])
        raise NotRational(f"the symbol {e}")
    if e.is_Add:
        return F.sum([_convert(F, a, var) for a in e.args])
    if e.is_Mul:
        out = F.one
        for a in e.args:
            out = F.mul(out, _convert(F, a, var))
        return out
    if e.is_Pow and e.exp.is_Integer:
        return F.pow(_convert(F, e.base, var), int(e.exp))
    raise NotRational(f"{type(e).__name__} {e}")
