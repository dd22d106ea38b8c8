r"""A second opinion on every curvature verdict, sharing no code with the engine's rational path.

The engine (``_curv_prepare``, ``_curv_field``, ``_curv_engine``) decides :math:`T_{ab} = 0` exactly in a field
of rational functions after charts and generators. This module does not look at any of that: it takes the
metric exactly as the user wrote it (SymPy expressions in the user's coordinates), picks random points, and
evaluates the residual of the field equation there in ball arithmetic (Arb through python-flint's ``arb``,
192-bit midpoints, i.e. about 57 digits, with rigorous error radii):

* :math:`g_{ab}`, :math:`\partial_c g_{ab}` and :math:`\partial_c\partial_d g_{ab}` at the point come from
  truncated Taylor series (``arb_series`` of length 3) along the :math:`n(n+1)/2` directions :math:`e_k` and
  :math:`e_k + e_l`: the order-2 coefficient along :math:`w` is :math:`\tfrac12 w^T H w`, so
  :math:`H_{kl} = c_2(e_k + e_l) - c_2(e_k) - c_2(e_l)`. Each expression is differentiated by Taylor arithmetic
  of its own syntax tree: no chart, no generator, no SymPy ``diff`` of large expressions.
* an undetermined function :math:`f(x, \dots)` is replaced by a random analytic function: at each point its
  value is a random rational in [1/2, 2] and its partial derivatives up to order 6 random rationals in [-1, 1]
  (the Taylor polynomial with those coefficients), so it is generic to the order any curvature needs;
* then the textbook formulas, evaluated numerically: :math:`\Gamma_{abc} = \tfrac12(\partial_b g_{ac} +
  \partial_c g_{ab} - \partial_a g_{bc})`, :math:`\Gamma^a{}_{bc} = g^{ad}\Gamma_{dbc}`,
  :math:`\partial_e g^{ad} = -g^{ap}\,\partial_e g_{pq}\, g^{qd}`,
  :math:`R_{bd} = \partial_a\Gamma^a{}_{bd} - \partial_d\Gamma^a{}_{ab} + \Gamma^a{}_{ae}\Gamma^e{}_{bd}
  - \Gamma^a{}_{de}\Gamma^e{}_{ab}`, :math:`G_{ab} = R_{ab} - \tfrac12 R g_{ab}`,
  :math:`F_{ab} = \partial_a A_b - \partial_b A_a`,
  :math:`T_{ab} = \tfrac1{4\pi}(F_{ac}F_b{}^c - \tfrac14 g_{ab}F_{cd}F^{cd})` for a Maxwell potential.

Decision rule (stated, not tuned): let :math:`S` bound the size of the terms summed into a component (from the
largest entries of :math:`g^{-1}`, :math:`\partial g`, :math:`\partial\partial g`, :math:`\Lambda g` and
:math:`\kappa T` at the point, see :meth:`Referee.residual`). A component is *zero* at a point when its ball lies
within :math:`10^{-30} S` of 0, *non-zero* when the ball excludes :math:`[-10^{-30}S, 10^{-30}S]`; otherwise the
precision is doubled (up to 768 bits) and, if still undecided, the second opinion says so (never "holds").
A non-zero analytic function vanishes to 30 digits at a random point with probability ~0, and rounding
contributes about :math:`10^{-55}S`, so the rule errs neither way in practice; the radius makes it rigorous
about rounding.

Points: coordinates are random rationals in [1/10, 3] (later candidates in [-5, 5]), parameters by their
assumption (positive: (0, 3]; real, nonzero: [-3, 3] without 0). A point where the metric (or the stress
tensor, Lambda, the potential) is not finite and real, or :math:`\det g` is not bounded away from 0, is
skipped: that is also how a metric complex on its whole sampled domain is caught.

>>> t, x = sp.symbols("t x", real=True)
>>> ref = Referee(RefereeProblem((t, x), sp.ImmutableMatrix(sp.diag(-1, x**2)), ()), seed=1)
>>> [ref.decide(ref.residual(p)[0][1][1], ref.residual(p)[1]) for p in ref.points(2)]
['zero', 'zero']
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from math import comb, factorial
from typing import Any, Sequence

import sympy as sp

PREC_BITS = 192
MAX_PREC_BITS = 768
PRECISIONS = (PREC_BITS, 2 * PREC_BITS, MAX_PREC_BITS)
ZERO_DIGITS = 30
MAX_FUNCTION_ORDER = 6
CANDIDATES = 48


class RefereeUnsupported(Exception):
    """The second opinion cannot evaluate a construct (named in the message)."""


@dataclass(frozen=True)
class RefereeProblem:
    """The field equation as the user wrote it. ``equation``: ``ricci_flat`` (:math:`R_{ab}`),
    ``einstein_lambda`` (:math:`G_{ab} + \\Lambda g_{ab}`), ``einstein`` (:math:`G_{ab} + \\Lambda g_{ab} -
    \\kappa (T_{ab} + T^{EM}_{ab})`)."""

    coords: tuple[sp.Symbol, ...]
    g: sp.ImmutableMatrix
    parameters: tuple[sp.Symbol, ...]
    equation: str = "ricci_flat"
    Lambda: sp.Expr | None = None
    stress_energy: sp.ImmutableMatrix | None = None
    kappa: sp.Expr = 8 * sp.pi
    potential: tuple[sp.Expr, ...] | None = None   # Maxwell A_a (lower index), adds its stress tensor


@dataclass(frozen=True)
class SamplePoint:
    """Rational values of the coordinates and parameters, and for each undetermined function its partial
    derivatives :math:`\\partial^\\alpha f` at the point (``alpha`` a multi-index over the function's
    arguments)."""

    values: tuple[tuple[sp.Symbol, Fraction], ...]
    functions: tuple[tuple[sp.Expr, tuple[tuple[tuple[int, ...], Fraction], ...]], ...] = ()

    def value_map(self) -> dict[sp.Symbol, Fraction]:
        return dict(self.values)

    def function_map(self) -> dict[sp.Expr, dict[tuple[int, ...], Fraction]]:
        return {f: dict(d) for f, d in self.functions}

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(name, value) of the coordinates, parameters, and each function's derivatives up to order 2."""
        parts = [(str(s), str(v)) for s, v in self.values]
        for f, data in self.functions:
            low = sorted((a for a, _ in data if sum(a) <= 2), key=lambda a: (sum(a), tuple(-x for x in a)))
            d = dict(data)
            parts += [(_derivative_name(f, f.args, a), str(d[a])) for a in low]
        return tuple(parts)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.pairs())


def _derivative_name(f: sp.Expr, args: Sequence[sp.Expr], alpha: tuple[int, ...]) -> str:
    name = f.func.__name__
    if not any(alpha):
        return name
    if len(args) == 1:
        return name + "'" * alpha[0]
    return name + "_" + "".join(str(args[i]) * k for i, k in enumerate(alpha))


# ----------------------------------------------------------------------------------------------------------------
# Expressions as a tape of instructions over unique subexpressions


@dataclass
class _Tape:
    ops: list[tuple] = field(default_factory=list)
    index: dict[sp.Expr, int] = field(default_factory=dict)
    varying: list[bool] = field(default_factory=list)   # depends on a coordinate (or a function of them)


class _Compiler:
    def __init__(self, coords: Sequence[sp.Symbol]) -> None:
        self.coords = list(coords)
        self.tape = _Tape()
        self.functions: set[sp.Expr] = set()
        self.symbols: set[sp.Symbol] = set()
        self.max_order = 0

    def add(self, e: sp.Expr) -> int:
        t = self.tape
        hit = t.index.get(e)
        if hit is not None:
            return hit
        op, var = self._op(e)
        t.ops.append(op)
        t.varying.append(var)
        t.index[e] = len(t.ops) - 1
        return len(t.ops) - 1

    def _op(self, e: sp.Expr) -> tuple[tuple, bool]:
        vary = self.tape.varying
        if e.is_Rational:
            return ("num", Fraction(int(e.p), int(e.q))), False
        if e.is_Float:
            return ("num", Fraction(str(e))), False
        if e is sp.pi:
            return ("pi",), False
        if e is sp.E:
            return ("e",), False
        if e is sp.I or e is sp.nan or e.is_infinite:
            return ("nan",), False                                 # not a real value: the point is skipped
        if e.is_Symbol:
            if e in self.coords:
                return ("coord", self.coords.index(e)), True
            self.symbols.add(e)
            return ("param", e), False
        if isinstance(e, sp.core.function.AppliedUndef):
            self._function(e)
            return ("fn", e, (0,) * len(e.args)), True
        if isinstance(e, sp.Derivative):
            f = e.expr
            if not isinstance(f, sp.core.function.AppliedUndef):
                raise RefereeUnsupported(f"the derivative {e}")
            alpha = [0] * len(f.args)
            for v, c in e.variable_count:
                if v not in f.args:
                    raise RefereeUnsupported(f"{e}: a derivative by a non-argument")
                alpha[f.args.index(v)] += int(c)
            self._function(f)
            self.max_order = max(self.max_order, sum(alpha))
            return ("fn", f, tuple(alpha)), True
        if e.is_Add or e.is_Mul:
            idx = [self.add(a) for a in e.args]
            return ("add" if e.is_Add else "mul", idx), any(vary[i] for i in idx)
        if e.is_Pow:
            b, x = self.add(e.base), e.exp
            if x.is_Integer:
                return ("ipow", b, int(x)), vary[b]
            xi = self.add(x)
            return ("pow", b, xi), vary[b] or vary[xi]
        if isinstance(e, sp.besselj):
            nu, z = (self.add(a) for a in e.args)
            if vary[nu]:
                raise RefereeUnsupported(f"{e}: a Bessel order that depends on a coordinate")
            return ("besselj", nu, z), vary[z]
        if isinstance(e, sp.LambertW):
            if len(e.args) != 1:
                raise RefereeUnsupported(f"{e}: a branch other than the principal one")
            a = self.add(e.args[0])
            return ("lambertw", a), vary[a]
        name = type(e).__name__
        if name in ("Heaviside", "DiracDelta") and len(e.args) == 2 and e.args[1].is_Integer:
            a = self.add(e.args[0])                    # DiracDelta(x, k): a derivative, also 0 away from x = 0
            return ("DiracDelta", a), vary[a]
        if name in _UNARY and len(e.args) == 1:
            a = self.add(e.args[0])
            return (name, a), vary[a]
        raise RefereeUnsupported(f"{name} ({e})")

    def _function(self, f: sp.Expr) -> None:
        if len(set(f.args)) != len(f.args) or not all(a in self.coords for a in f.args):
            raise RefereeUnsupported(f"the function {f} must take distinct coordinates as arguments")
        self.functions.add(f)


_UNARY = {"exp", "log", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth", "sech", "csch",
          "asin", "acos", "atan", "Abs", "sign", "Heaviside", "DiracDelta"}


# ----------------------------------------------------------------------------------------------------------------
# Evaluation: constants as arb, coordinate-dependent values as arb_series along one direction


def _series_fn(name: str, a):
    """A unary function of an ``arb`` or an ``arb_series``."""
    import flint

    if name in ("exp", "log", "sin", "cos", "tan", "asin", "acos", "atan"):
        return getattr(a, name)()
    if name == "cot":
        return a.cos() / a.sin()
    if name == "sec":
        return 1 / a.cos()
    if name == "csc":
        return 1 / a.sin()
    if name in ("sinh", "cosh", "tanh", "coth", "sech", "csch"):
        ep, em = a.exp(), (-a).exp()
        return {"sinh": (ep - em) / 2, "cosh": (ep + em) / 2, "tanh": (ep - em) / (ep + em),
                "coth": (ep + em) / (ep - em), "sech": 2 / (ep + em), "csch": 2 / (ep - em)}[name]
    if name in ("Abs", "sign", "Heaviside", "DiracDelta"):
        # piecewise constant away from 0 (where the value is what SymPy's derivatives of Abs produce)
        v = a if isinstance(a, flint.arb) else _coeff(a, 0)
        if v.contains(0):
            return flint.arb("nan")
        s = 1 if v > 0 else -1
        return {"Abs": a * s, "sign": flint.arb(s), "Heaviside": flint.arb(1 if s > 0 else 0),
                "DiracDelta": flint.arb(0)}[name]
    raise RefereeUnsupported(name)


def _coeff(s, i: int):
    import flint

    c = s.coeffs()
    return c[i] if i < len(c) else flint.arb(0)


def _compose(s, derivatives: Sequence[Any]):
    """:math:`f(s) = \\sum_k f^{(k)}(s_0)\\,\\delta^k/k!` for a series :math:`s = s_0 + \\delta` from
    :math:`f(s_0), f'(s_0), \\dots` (as many as the series is long)."""
    import flint

    d = s - _coeff(s, 0)
    out = flint.arb_series([derivatives[0]], prec=s.prec)
    power = flint.arb_series([1], prec=s.prec)
    for k, fk in enumerate(derivatives[1:s.prec], start=1):
        power = power * d
        out = out + (fk / factorial(k)) * power
    return out


class Referee:
    """The second opinion for one :class:`RefereeProblem`; ``seed`` fixes the random points and functions."""

    def __init__(self, problem: RefereeProblem, seed: int = 0) -> None:
        self.problem = problem
        n = len(problem.coords)
        self.n = n
        comp = _Compiler(problem.coords)
        self.g_idx = [[comp.add(sp.sympify(problem.g[i, j])) if j >= i else None for j in range(n)]
                      for i in range(n)]
        self.T_idx = None
        if problem.stress_energy is not None:
            self.T_idx = [[comp.add(sp.sympify(problem.stress_energy[i, j])) for j in range(n)] for i in range(n)]
        self.A_idx = [comp.add(sp.sympify(a)) for a in problem.potential] if problem.potential else None
        self.L_idx = comp.add(sp.sympify(problem.Lambda)) if problem.Lambda is not None else None
        self.k_idx = comp.add(sp.sympify(problem.kappa))
        self.tape = comp.tape
        self.functions = sorted(comp.functions, key=sp.default_sort_key)
        self.seed = seed
        known = set(problem.parameters)
        self.parameters = tuple(problem.parameters) + tuple(sorted(comp.symbols - known, key=lambda s: s.name))
        self._points: list[SamplePoint] | None = None
        self._const_cache: dict[tuple[int, int], tuple[SamplePoint, list]] = {}
        self._decisions: dict[int, tuple[SamplePoint, dict]] = {}
        # coordinates the problem depends on: derivatives by the others vanish exactly
        used: set[int] = set()
        for op in self.tape.ops:
            if op[0] == "coord":
                used.add(op[1])
            elif op[0] == "fn":
                used.update(problem.coords.index(a) for a in op[1].args)
        self.active = sorted(used)

    # --- points
    def _draw(self, rng: random.Random, wide: bool) -> SamplePoint:
        vals: list[tuple[sp.Symbol, Fraction]] = []
        for c in self.problem.coords:
            vals.append((c, Fraction(rng.randint(-500, 500), 100) or Fraction(1, 7) if wide
                         else Fraction(rng.randint(10, 300), 100)))
        for p in self.parameters:
            v = Fraction(rng.randint(1, 300), 100)
            if not p.is_positive and not p.is_nonnegative and rng.random() < 0.5:
                v = -v
            vals.append((p, v))
        funcs = []
        for f in self.functions:
            m = len(f.args)
            data = []
            for order in range(MAX_FUNCTION_ORDER + 1):
                for alpha in _multi_indices(m, order):
                    v = Fraction(rng.randint(50, 200), 100) if order == 0 else Fraction(rng.randint(-100, 100), 100)
                    data.append((alpha, v))
            funcs.append((f, tuple(data)))
        return SamplePoint(tuple(vals), tuple(funcs))

    def points(self, k: int) -> list[SamplePoint]:
        """The first ``k`` sample points where the problem is finite, real and non-degenerate (fewer if the
        candidates run out)."""
        if self._points is None:
            self._points = []
            self._rng = random.Random(f"nnqg-referee:{self.seed}")
            self._drawn = 0
        while len(self._points) < k and self._drawn < CANDIDATES:
            p = self._draw(self._rng, wide=self._drawn >= CANDIDATES // 2)
            self._drawn += 1
            if self._valid(p):
                self._points.append(p)
        return self._points[:k]

    def _valid(self, p: SamplePoint) -> bool:
        import flint

        try:
            with flint.ctx.workprec(PREC_BITS):
                vals = self._consts(p)
                n = self.n
                g = [[vals[self.g_idx[min(i, j)][max(i, j)]] for j in range(n)] for i in range(n)]
                extra = [vals[i] for row in (self.T_idx or []) for i in row] + \
                    [vals[i] for i in (self.A_idx or [])] + ([vals[self.L_idx]] if self.L_idx is not None else [])
                if not all(x.is_finite() for row in g for x in row) or not all(x.is_finite() for x in extra):
                    return False
                det = flint.arb_mat(g).det()
                return det.is_finite() and not det.contains(0)
        except (ZeroDivisionError, ValueError, ArithmeticError):
            return False

    # --- evaluation of the tape
    def _evaluate(self, p: SamplePoint, direction: Sequence[int] | None, consts: list | None = None,
                  length: int = 3) -> list:
        return _run_tape(self.tape, self.problem.coords, p, direction, consts, length=length)

    def _consts(self, p: SamplePoint) -> list:
        """Values of the tape at ``p`` (kept per point and precision)."""
        import flint

        key = (id(p), flint.ctx.prec)
        hit = self._const_cache.get(key)
        if hit is None or hit[0] is not p:
            hit = (p, self._evaluate(p, None))
            self._const_cache[key] = hit
        return hit[1]

    def value(self, expr: sp.Expr, p: SamplePoint) -> Any:
        """Any expression in the problem's symbols and functions at ``p`` (an ``arb``)."""
        import flint

        comp = _Compiler(self.problem.coords)
        i = comp.add(sp.sympify(expr))
        with flint.ctx.workprec(PREC_BITS):
            return _run_tape(comp.tape, self.problem.coords, p, None)[i]

    def exact_value(self, expr: sp.Expr, p: SamplePoint) -> Fraction | None:
        """``expr`` at ``p`` in exact rational arithmetic; None when that needs an irrational operation (or
        divides by 0)."""
        comp = _Compiler(self.problem.coords)
        try:
            i = comp.add(sp.sympify(expr))
            v = _run_tape(comp.tape, self.problem.coords, p, None, exact=True, last=i)[i]
        except (RefereeUnsupported, _Inexact, ZeroDivisionError, KeyError):
            return None
        return Fraction(int(v.p), int(v.q))

    def agrees(self, p: SamplePoint, a: int, b: int, expr: sp.Expr) -> bool:
        """Residual component (a, b) at ``p`` equals ``expr`` there (their difference decides "zero")."""
        import flint

        verdict, val = self.component(p, a, b)
        with flint.ctx.workprec(PREC_BITS):
            res, scale = self.residual(p)
            return self.decide(val - self.value(expr, p), scale + abs(val)) == "zero"


    def _directional(self, p: SamplePoint) -> tuple[list, dict[tuple[int, int], list]]:
        """Values of every tape entry, and its Taylor series along :math:`e_k` (key (k, k)) and
        :math:`e_k + e_l` (key (k, l), k < l)."""
        n = self.n
        consts = self._consts(p)
        dirs: dict[tuple[int, int], list] = {}
        for i, k in enumerate(self.active):
            for l in self.active[i:]:
                w = [0] * n
                w[k] = w[l] = 1
                dirs[(k, l)] = self._evaluate(p, w, consts)
        return consts, dirs

    # --- the residual
    def residual(self, p: SamplePoint, prec: int = PREC_BITS) -> tuple[list[list[Any]], Any]:
        """The residual tensor at ``p`` (``arb`` entries, lower indices) and the scale :math:`S` of its terms:
        with :math:`A, B, C` the largest entries of :math:`|g^{-1}|`, :math:`|\\partial g|`,
        :math:`|\\partial\\partial g|`, :math:`S = (n^3 (AB)^2 + n^2(AC + (AB)^2) + 1)(1 + n^2 A \\max|g|)
        + |\\Lambda| \\max|g| + |\\kappa| \\max|T|`, a bound on the terms summed into one component."""
        import flint

        with flint.ctx.workprec(prec):
            return self._residual(p)

    def _residual(self, p: SamplePoint):
        import flint

        n = self.n
        consts, dirs = self._directional(p)
        zero = flint.arb(0)

        def coeffs(idx: int, k: int, l: int) -> tuple[Any, Any]:
            v = dirs[(k, l)][idx]
            if isinstance(v, flint.arb):
                return zero, zero
            return _coeff(v, 1), _coeff(v, 2)

        g = [[consts[self.g_idx[min(a, b)][max(a, b)]] for b in range(n)] for a in range(n)]
        act = self.active
        zeros = [[zero] * n for _ in range(n)]
        dg = {k: [[zero] * n for _ in range(n)] for k in act}                 # dg[k][a][b] = d_k g_ab
        ddg = {(k, l): [[zero] * n for _ in range(n)] for k in act for l in act}  # d_k d_l g_ab
        for a in range(n):
            for b in range(a, n):
                idx = self.g_idx[a][b]
                if not self.tape.varying[idx]:
                    continue
                c2 = {}
                for k in act:
                    d1, c2[k] = coeffs(idx, k, k)
                    dg[k][a][b] = dg[k][b][a] = d1
                    ddg[(k, k)][a][b] = ddg[(k, k)][b][a] = 2 * c2[k]      # c_2(e_k) = H_kk / 2
                for i, k in enumerate(act):
                    for l in act[i + 1:]:
                        hkl = coeffs(idx, k, l)[1] - c2[k] - c2[l]        # c_2(e_k + e_l) = H_kk/2 + H_kl + H_ll/2
                        ddg[(k, l)][a][b] = ddg[(k, l)][b][a] = hkl
                        ddg[(l, k)][a][b] = ddg[(l, k)][b][a] = hkl
        dgf = [dg.get(k, zeros) for k in range(n)]
        return self._tensors(p, consts, g, dgf, ddg, zeros, dirs)

    def _tensors(self, p, consts, g, dg, ddg, zeros, dirs):
        import flint

        arb, mat = flint.arb, flint.arb_mat
        n = self.n
        act = self.active
        zero = arb(0)
        G = mat(g)
        gi_m = G.inv()
        gi = [[gi_m[a, b] for b in range(n)] for a in range(n)]
        # Christoffel symbols of the first kind, Gamma_abc, as the n x n^2 matrix Low[a, b n + c]
        low = [[[(dg[b][a][c] + dg[c][a][b] - dg[a][b][c]) / 2 for c in range(n)] for b in range(n)]
               for a in range(n)]
        Low = mat(n, n * n, [low[a][b][c] for a in range(n) for b in range(n) for c in range(n)])
        Gm = gi_m * Low                                             # Gamma^a_bc = g^ad Gamma_dbc
        Gam = [[[Gm[a, b * n + c] for c in range(n)] for b in range(n)] for a in range(n)]
        # d_e g^ad = -g^ap (d_e g_pq) g^qd and d_e Gamma_abc for the coordinates the metric depends on
        dgi = {e: -(gi_m * mat(dg[e]) * gi_m) for e in act}
        def dd(e: int, k: int) -> list:
            return ddg.get((e, k), zeros)
        dlow = {e: [[[(dd(e, b)[a][c] + dd(e, c)[a][b] - dd(e, a)[b][c]) / 2 for c in range(n)]
                     for b in range(n)] for a in range(n)] for e in act}
        # X_bd = d_a Gamma^a_bd = sum_a [(d_a g^ap) Gamma_pbd + g^ap d_a Gamma_pbd]
        v = mat(1, n, [sum((dgi[a][a, q] for a in act), zero) for q in range(n)])
        X = v * Low
        for a in act:
            X += mat(1, n, [gi[a][q] for q in range(n)]) * \
                mat(n, n * n, [dlow[a][q][b][c] for q in range(n) for b in range(n) for c in range(n)])
        # Y_bd = d_d Gamma^a_ab = sum_ap [(d_d g^ap) Gamma_pab + g^ap d_d Gamma_pab]
        L2 = mat(n * n, n, [low[q][a][b] for a in range(n) for q in range(n) for b in range(n)])
        gflat = mat(1, n * n, [gi[a][q] for a in range(n) for q in range(n)])
        Y: dict[int, Any] = {}
        for d in act:
            Y[d] = mat(1, n * n, [dgi[d][a, q] for a in range(n) for q in range(n)]) * L2 + gflat * \
                mat(n * n, n, [dlow[d][q][a][b] for a in range(n) for q in range(n) for b in range(n)])
        # Gamma^a_ae Gamma^e_bd and Gamma^a_de Gamma^e_ab = tr(Gamma_(d) Gamma_(b)), Gamma_(b)[e, a] = Gamma^e_ab
        trace = mat(1, n, [sum((Gam[a][a][e] for a in range(n)), zero) for e in range(n)])
        Q = trace * Gm
        Gb = [mat(n, n, [Gam[e][a][b] for e in range(n) for a in range(n)]) for b in range(n)]
        ric = [[zero] * n for _ in range(n)]
        for b in range(n):
            for d in range(b, n):
                y = Y[d][0, b] if d in Y else zero
                P = Gb[d] * Gb[b]
                tr = sum((P[i, i] for i in range(n)), zero)
                ric[b][d] = ric[d][b] = X[0, b * n + d] - y + Q[0, b * n + d] - tr
        A = max((abs(x) for row in gi for x in row), default=zero)
        B = max((abs(x) for k in act for row in dg[k] for x in row), default=zero)
        C = max((abs(x) for m in ddg.values() for row in m for x in row), default=zero)
        scale = n**3 * (A * B) ** 2 + n**2 * (A * C + (A * B) ** 2) + 1
        eq = self.problem.equation
        if eq == "ricci_flat":
            return ric, scale
        R = sum((gi[a][b] * ric[a][b] for a in range(n) for b in range(n)), zero)
        lam = consts[self.L_idx] if self.L_idx is not None else zero
        kappa = consts[self.k_idx]
        T = [[zero] * n for _ in range(n)]
        if eq == "einstein":
            if self.T_idx is not None:
                T = [[consts[self.T_idx[a][b]] for b in range(n)] for a in range(n)]
            if self.A_idx is not None:
                Tm = self._maxwell(p, dirs, gi, g)
                T = [[T[a][b] + Tm[a][b] for b in range(n)] for a in range(n)]
        res = [[ric[a][b] - R * g[a][b] / 2 + lam * g[a][b] - (kappa * T[a][b] if eq == "einstein" else zero)
                for b in range(n)] for a in range(n)]
        gmax = max(abs(x) for row in g for x in row)
        Tmax = max((abs(x) for row in T for x in row), default=zero)
        scale = scale * (1 + n * n * A * gmax) + abs(lam) * gmax + abs(kappa) * Tmax
        return res, scale

    def _maxwell(self, p, dirs, gi, g):
        """:math:`T_{ab} = \\frac1{4\\pi}(F_{ac}F_{bd}g^{cd} - \\frac14 g_{ab}F_{cd}F^{cd})`."""
        import flint

        arb = flint.arb
        n = self.n
        zero = arb(0)
        dA = [[zero] * n for _ in range(n)]  # dA[k][b] = d_k A_b
        for b, idx in enumerate(self.A_idx):
            if not self.tape.varying[idx]:
                continue
            for k in self.active:
                v = dirs[(k, k)][idx]
                dA[k][b] = _coeff(v, 1) if not isinstance(v, arb) else zero
        F = [[dA[a][b] - dA[b][a] for b in range(n)] for a in range(n)]
        Fup = [[sum((gi[a][c] * F[c][d] * gi[d][b] for c in range(n) for d in range(n)), zero)
                for b in range(n)] for a in range(n)]
        F2 = sum((F[a][b] * Fup[a][b] for a in range(n) for b in range(n)), zero)
        pi = arb.pi()
        return [[(sum((F[a][c] * F[b][d] * gi[c][d] for c in range(n) for d in range(n)), zero)
                  - g[a][b] * F2 / 4) / (4 * pi) for b in range(n)] for a in range(n)]

    # --- decisions
    def decide(self, value: Any, scale: Any) -> str:
        """``"zero"``, ``"nonzero"`` or ``"undecided"`` by the rule of the module docstring."""
        import flint

        tol = scale * _tenth_power(flint.ctx.prec)
        if not value.is_finite() or not tol.is_finite():
            return "undecided"
        mag_hi = abs(value).upper()
        if mag_hi <= tol.lower():
            return "zero"
        if abs(value).lower() > tol.upper():
            return "nonzero"
        return "undecided"

    def decisions(self, p: SamplePoint) -> dict[tuple[int, int], tuple[str, Any]]:
        """Every residual component (a <= b) at ``p``: its decision and value; the precision is raised while any
        stays undecided (kept per point)."""
        hit = self._decisions.get(id(p))
        if hit is not None and hit[0] is p:
            return hit[1]
        n = self.n
        for prec in PRECISIONS:
            res, scale = self.residual(p, prec)
            out = {(a, b): (self.decide(res[a][b], scale), res[a][b]) for a in range(n) for b in range(a, n)}
            if all(v != "undecided" for v, _ in out.values()):
                break
        self._decisions[id(p)] = (p, out)
        return out

    def component(self, p: SamplePoint, a: int, b: int) -> tuple[str, Any]:
        """Decision and value of residual component (a, b) at ``p``."""
        return self.decisions(p)[(min(a, b), max(a, b))]

    def all_zero(self, p: SamplePoint) -> tuple[bool, tuple[int, int] | None, Any]:
        """Whether every residual component is zero at ``p``; else the first that is not (or stays undecided
        at the highest precision), with its value."""
        for ab, (verdict, value) in self.decisions(p).items():
            if verdict != "zero":
                return False, ab, value
        return True, None, None


def _tenth_power(prec: int, _cache: dict = {}) -> Any:
    """:math:`10^{-30}` (ZERO_DIGITS) as an ``arb`` at the working precision."""
    import flint

    hit = _cache.get(prec)
    if hit is None:
        hit = _cache[prec] = flint.arb(10) ** (-ZERO_DIGITS)
    return hit


class _Inexact(Exception):
    """An operation that leaves the rationals (in exact evaluation)."""


def _run_tape(tape: _Tape, coords: Sequence[sp.Symbol], p: SamplePoint, direction: Sequence[int] | None,
              consts: list | None = None, *, exact: bool = False, last: int | None = None,
              length: int = 3) -> list:
    """Every tape entry (up to ``last``) at ``p``: an ``arb``, or an ``arb_series`` of ``length`` coefficients
    along ``direction`` (None: values only); ``consts`` are earlier values reused for the entries that do not
    vary. ``exact``: ``fmpq`` numbers and rational operations only (:class:`_Inexact` otherwise)."""
    import flint

    arb = flint.arb
    num = flint.fmpq if exact else (lambda a, b: arb(flint.fmpq(a, b)))
    vals = dict(p.values)
    fdata = p.function_map()
    ops = tape.ops if last is None else tape.ops[:last + 1]
    out: list[Any] = [None] * len(ops)
    for i, op in enumerate(ops):
        if consts is not None and not tape.varying[i]:
            out[i] = consts[i]
            continue
        kind = op[0]
        if kind == "num":
            out[i] = num(op[1].numerator, op[1].denominator)
        elif kind == "coord":
            v = vals[coords[op[1]]]
            x = num(v.numerator, v.denominator)
            out[i] = x if direction is None else flint.arb_series([x, direction[op[1]]], prec=length)
        elif kind == "param":
            v = vals.get(op[1])
            if v is None:
                raise RefereeUnsupported(f"no value for the symbol {op[1]}")
            out[i] = num(v.numerator, v.denominator)
        elif kind == "fn":
            if exact:
                v = fdata[op[1]][op[2]]
                out[i] = num(v.numerator, v.denominator)
            else:
                out[i] = _function_value(coords, op[1], op[2], fdata, direction, length)
        elif kind == "add":
            acc = out[op[1][0]]
            for j in op[1][1:]:
                acc = acc + out[j]
            out[i] = acc
        elif kind == "mul":
            acc = out[op[1][0]]
            for j in op[1][1:]:
                acc = acc * out[j]
            out[i] = acc
        elif kind == "ipow":
            b, k = out[op[1]], op[2]
            out[i] = b**k if k >= 0 else 1 / (b ** (-k))
        elif exact:
            raise _Inexact(kind)
        elif kind == "pi":
            out[i] = arb.pi()
        elif kind == "e":
            out[i] = arb(1).exp()
        elif kind == "nan":
            out[i] = arb("nan")
        elif kind == "pow":
            out[i] = _power(out[op[1]], out[op[2]])
        elif kind == "besselj":
            out[i] = _bessel(out[op[1]], out[op[2]])
        elif kind == "lambertw":
            out[i] = out[op[1]].lambertw()
        else:
            out[i] = _series_fn(kind, out[op[1]])
    return out


def _function_value(coords: Sequence[sp.Symbol], f: sp.Expr, alpha: tuple[int, ...], fdata: dict, direction,
                    length: int = 3):
    """:math:`\\partial^\\alpha f(x + s w) = \\sum_j s^j \\sum_{|\\beta| = j} w^\\beta\\,
    \\partial^{\\alpha+\\beta} f(x)/\\beta!` to order ``length - 1`` (the random function's Taylor data)."""
    import flint

    data = fdata[f]

    def d(beta: tuple[int, ...]) -> Any:
        v = data.get(beta)
        if v is None:
            raise RefereeUnsupported(f"derivatives of {f} beyond order {MAX_FUNCTION_ORDER}")
        return flint.arb(flint.fmpq(v.numerator, v.denominator))

    v0 = d(alpha)
    if direction is None:
        return v0
    idx = [list(coords).index(a) for a in f.args]
    w = [direction[k] for k in idx]
    m = len(idx)
    coeffs = [v0]
    for j in range(1, length):
        c = flint.arb(0)
        for beta in _multi_indices(m, j):
            weight = 1
            for wk, bk in zip(w, beta):
                weight *= wk**bk
            if weight:
                c += flint.fmpq(weight, _factorial_of(beta)) * d(tuple(a + b for a, b in zip(alpha, beta)))
        coeffs.append(c)
    return flint.arb_series(coeffs, prec=length)


def _factorial_of(beta: Sequence[int]) -> int:
    out = 1
    for b in beta:
        out *= factorial(b)
    return out


def _power(b, x):
    """:math:`b^x` (real): :math:`e^{x\\log b}` for :math:`b > 0`; a negative base is complex unless the
    exponent is an integer (not a real point)."""
    import flint

    b0 = b if isinstance(b, flint.arb) else _coeff(b, 0)
    if isinstance(x, flint.arb) and x.is_exact() and x.is_integer():
        k = int(x.unique_fmpz())
        return b**k if k >= 0 else 1 / b ** (-k)
    if not (b0 > 0):
        return flint.arb("nan")
    return (x * b.log()).exp()


def _bessel(nu, z):
    """:math:`J_\\nu(z)` of an ``arb`` or a series: :math:`J_\\nu' = (J_{\\nu-1} - J_{\\nu+1})/2`, applied
    repeatedly."""
    import flint

    if isinstance(z, flint.arb):
        return z.bessel_j(nu)
    z0 = _coeff(z, 0)
    # J^{(k)}_nu = 2^{-k} sum_i (-1)^i C(k, i) J_{nu - k + 2i}
    ders = [sum(((-1) ** i * comb(k, i) * z0.bessel_j(nu - k + 2 * i) for i in range(k + 1)), flint.arb(0))
            / 2**k for k in range(z.prec)]
    return _compose(z, ders)


def _multi_indices(m: int, order: int) -> list[tuple[int, ...]]:
    out = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            out.append(tuple(prefix + [left]))
            return
        for k in range(left, -1, -1):
            rec(prefix + [k], left - k, slots - 1)
    if m == 0:
        return [()]
    rec([], order, m)
    assert len(out) == comb(order + m - 1, m - 1)
    return out
