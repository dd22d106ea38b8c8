r"""A terminating exact zero test for expressions rational in commensurate sines, cosines and exponentials and in
square roots: the decision behind "this identity is exactly 0" on drawn inputs.

The class. Besides rational numbers, :math:`\pi` and symbols, the expression may contain

* :math:`\sin a_i`, :math:`\cos a_i`, :math:`\tan a_i` (and cot, sec, csc) whose arguments are rational multiples
  of one another within a group, :math:`a_i = k_i\,\theta` with integers :math:`k_i` (e.g. :math:`\sin \pi x`,
  :math:`\sin 2\pi x`, :math:`\cos 4\pi x`: :math:`\theta = \pi x`);
* :math:`e^{a_i}` likewise, :math:`e^{k_i\theta} = E^{k_i}`, and for arguments :math:`\sum_s q_s s` with rational
  :math:`q_s` one :math:`E_s = e^{s/D_s}` per symbol (SymPy writes :math:`e^{t/4}e^{x/4}` as :math:`e^{(t + x)/4}`);
* half-integer powers :math:`B^{p/2}` of such expressions;
* anything else (undefined functions, their derivatives, nested roots, other fractional powers, other atoms) as
  an independent generator.

The reduction. With :math:`u = \tan(\theta/2)` (Weierstrass), :math:`\cos k\theta + i\sin k\theta =
(1 + iu)^{2k}/(1 + u^2)^k`, so every trigonometric atom of a group becomes a rational function of one symbol
:math:`u`: an exact rewriting, nothing is lost. Each distinct radicand (compared after that rewriting, so that
:math:`(1 + \tfrac{3}{10}\sin 2\pi x)^2` and its expanded form are one radicand) becomes a symbol :math:`L` with
:math:`L^2 = B`. The numerator :math:`N` of the whole expression (the denominator is non-zero where the expression
is defined) is a polynomial in the :math:`L`'s; :math:`L^{2j + r} = B^j L^r` writes it as :math:`P_0 + P_1 L` and

.. math:: P_0 = 0 \text{ and } P_1 = 0 \;\Longrightarrow\; N = 0,

recursively over the :math:`L`'s, the last step a ``cancel`` of a rational function: it always terminates.

Soundness (``True`` only for a true identity): every step is an identity, and a rational function that cancels to
0 as a function of independent generators vanishes at every value of them, so at the values the atoms take.
Completeness (a true identity gives ``True``) holds where the generators are algebraically independent (the
symbols, :math:`\pi`, generic functions, and the Weierstrass or exponential symbol of each group whose
:math:`\theta` is a constant times one symbol) and there is at most one radicand, not a perfect square: then
:math:`1, L` are linearly independent over the field, and a vanishing :math:`P_0 + P_1 L` has
:math:`P_0 = P_1 = 0`. Only there is a non-zero reduction returned as ``False``; elsewhere it is ``None``
(undecided), and the caller falls back to other means.

>>> x = sp.Symbol("x", real=True)
>>> c = 1 + 3 * sp.sin(2 * sp.pi * x) / 10 + sp.cos(4 * sp.pi * x) / 20
>>> decide_zero(sp.cos(4 * sp.pi * x) - 1 + 2 * sp.sin(2 * sp.pi * x)**2)
True
>>> decide_zero(1 / sp.sqrt(c**2 + 1) - sp.sqrt(sp.expand(c**2) + 1) / (1 + c**2))
True
>>> decide_zero(sp.sin(2 * sp.pi * x) - 2 * sp.sin(sp.pi * x) * sp.cos(sp.pi * x) + sp.Rational(1, 10**30))
False
"""

from __future__ import annotations

from math import comb, lcm
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

# tan, cot, sec, csc through sin and cos, hyperbolic functions through exp (it also expands sin and cos of sums and
# of small multiples: identities, harmless to the grouping below)
from ._curv_prepare import rewrite_trig

_TRIG = (sp.sin, sp.cos)


def _groups(args: list[sp.Expr]) -> list[tuple[sp.Expr, dict[sp.Expr, int]]]:
    """Arguments split into commensurate groups: (theta, {argument: k}) with argument = k theta, k an integer."""
    out: list[tuple[sp.Expr, dict[sp.Expr, sp.Rational]]] = []
    for a in sorted(set(args), key=sp.default_sort_key):
        for base, members in out:
            r = sp.cancel(a / base)
            if r.is_Rational and r != 0:
                members[a] = r
                break
        else:
            out.append((a, {a: sp.S.One}))
    result = []
    for base, members in out:
        d = lcm(*[int(r.q) for r in members.values()])
        result.append((base / d, {a: int(r * d) for a, r in members.items()}))
    return result


def _cos_sin(k: int, u: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    r""":math:`(\cos k\theta, \sin k\theta)` in :math:`u = \tan(\theta/2)`: real and imaginary parts of
    :math:`(1 + iu)^{2|k|}/(1 + u^2)^{|k|}`."""
    n = 2 * abs(k)
    re = sp.Add(*[comb(n, j) * (-1) ** (j // 2) * u**j for j in range(0, n + 1, 2)])
    im = sp.Add(*[comb(n, j) * (-1) ** (j // 2) * u**j for j in range(1, n + 1, 2)])
    den = (1 + u**2) ** abs(k)
    return re / den, (im if k >= 0 else -im) / den


def _single_symbol_multiple(theta: sp.Expr) -> bool:
    """theta = (a constant) x (one symbol): its Weierstrass symbol is independent of every other generator."""
    syms = theta.free_symbols
    if len(syms) != 1:
        return False
    (s,) = syms
    return sp.cancel(theta / s).free_symbols == set()


def _linear_terms(a: sp.Expr) -> dict[sp.Symbol, sp.Rational] | None:
    """{s: q_s} if ``a`` = sum_s q_s s with rational q_s (no constant), else None."""
    out: dict[sp.Symbol, sp.Rational] = {}
    for term in sp.Add.make_args(a):
        q, sym = term.as_coeff_Mul()
        if not (q.is_Rational and sym.is_Symbol) or sym in out:
            return None
        out[sym] = q
    return out


_OTHER_TRIG = (sp.tan, sp.cot, sp.sec, sp.csc, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch)


def _is_root(p: sp.Expr) -> bool:
    """A half-integer power whose base has no fractional power (a radicand of the class)."""
    return (p.is_Pow and p.exp.is_Rational and p.exp.q == 2
            and not any(q.exp.is_Rational and q.exp.q != 1 for q in p.base.atoms(sp.Pow)))


class _Field:
    """The expression in a field of rational functions over QQ (sparse polynomials, never ``expand`` on expression
    trees). Generators: the Weierstrass symbol u of each trigonometric group, E of each exponential group, L of
    each distinct radicand, and every other leaf (symbols, pi, opaque atoms)."""

    def __init__(self, e: sp.Expr) -> None:
        self.complete = True
        self.independent = True
        self.atoms: dict[sp.Expr, sp.Expr] = {}  # sin/cos/exp atom -> rational expression in its group's symbol
        new_syms: list[sp.Symbol] = []
        for theta, members in _groups([a.args[0] for a in e.atoms(*_TRIG)]):
            self.independent &= _single_symbol_multiple(theta)
            u = sp.Dummy("u", real=True)
            new_syms.append(u)
            for a, k in members.items():
                self.atoms[sp.cos(a)], self.atoms[sp.sin(a)] = _cos_sin(k, u)
        # exp of sum_s q_s s (rational q_s; SymPy merges exp(t/4) exp(x/4) into exp(t/4 + x/4)): one symbol
        # E_s = exp(s/D_s) per coordinate, D_s the common denominator of its q_s; other arguments by groups
        exps = [a.args[0] for a in e.atoms(sp.exp)]
        linear = {a: _linear_terms(a) for a in exps}
        dens: dict[sp.Symbol, int] = {}
        for terms in linear.values():
            for sym, q in (terms or {}).items():
                dens[sym] = lcm(dens.get(sym, 1), int(q.q))
        Es = {sym: sp.Dummy(f"E_{sym}", positive=True) for sym in sorted(dens, key=sp.default_sort_key)}
        new_syms += list(Es.values())
        for a, terms in linear.items():
            if terms is not None:
                self.atoms[sp.exp(a)] = sp.Mul(*[Es[sym] ** int(q * dens[sym]) for sym, q in terms.items()])
        for theta, members in _groups([a for a in exps if linear[a] is None]):
            self.independent &= _single_symbol_multiple(theta)
            E = sp.Dummy("E", positive=True)
            new_syms.append(E)
            for a, k in members.items():
                self.atoms[sp.exp(a)] = E**k
        roots = sorted({p for p in e.atoms(sp.Pow) if _is_root(p)}, key=sp.default_sort_key)
        leaves: set[sp.Expr] = set()
        self._leaves(e, leaves)
        for p in roots:
            self._leaves(p.base, leaves)
        Ls = [sp.Dummy("L") for _ in roots]
        gens = [*sorted(leaves, key=sp.default_sort_key), *new_syms, *Ls]
        self.K, *g = sp.polys.fields.field(gens or [sp.Dummy()], sp.QQ)
        self.gen = dict(zip(gens, g))
        self.memo: dict[sp.Expr, Any] = {}
        #: (L, B) per distinct radicand B, compared in the field: equal radicands written apart share one L, and
        #: B' = R^2 B with R a positive monomial (exp(t/8)^2 X and X) is R L (sqrt(a b) = sqrt(a) sqrt(b) for a > 0)
        self.radicands: list[tuple[Any, Any]] = []
        self.root_of: dict[sp.Expr, Any] = {}
        for p, L in zip(roots, Ls):
            B = self.of(p.base)
            root = next((R * M for M, C in self.radicands for R in [self._positive_sqrt(B / C)] if R is not None),
                        None)
            if root is None:
                root = self.gen[L]
                self.radicands.append((root, B))
            self.root_of[p] = root ** int(p.exp.p)

    def _positive_sqrt(self, r: Any) -> Any:
        """R > 0 with R^2 = r if r is a positive rational times even powers of positive generators, else None."""
        if (r.numer - r.denom).is_zero:
            return self.K.one
        out = self.K.one
        for poly in (r.numer, r.denom):
            if len(poly.terms()) != 1:
                return None
            (monom, coeff), = poly.terms()
            q = sp.Rational(coeff.numerator, coeff.denominator)
            half = sp.sqrt(q)
            if q <= 0 or not half.is_Rational:
                return None
            R = self.K(sp.QQ(int(half.p), int(half.q)))
            for sym, gen, k in zip(self.K.symbols, self.K.gens, monom):
                if k % 2 or (k and not sym.is_positive):
                    return None
                R *= gen ** (k // 2)
            out = out * R if poly is r.numer else out / R
        return out

    def _leaves(self, e: sp.Expr, out: set) -> None:
        if e in self.atoms or _is_root(e) or e.is_Rational:
            return
        if e.is_Add or e.is_Mul or (e.is_Pow and e.exp.is_Integer):
            for a in e.args:
                self._leaves(a, out)
            return
        if not (e.is_Symbol or e == sp.pi or isinstance(e, (AppliedUndef, sp.Derivative))):
            # a float, i, a constant other than pi, an opaque power, any other function (log, atan, Abs, ...: they
            # obey identities of their own, e.g. log(xy) = log x + log y): sound as a generator, not complete
            self.complete = False
        out.add(e)

    def of(self, e: sp.Expr) -> Any:
        """``e`` as an element of the field (sums, products and integer powers done there)."""
        v = self.memo.get(e)
        if v is not None:
            return v
        if e.is_Rational:
            v = self.K(sp.QQ(int(e.p), int(e.q)))
        elif e in self.atoms:
            v = self.of(self.atoms[e])
        elif e in self.gen:
            v = self.gen[e]
        elif e in self.root_of:
            v = self.root_of[e]
        elif e.is_Add:
            v = self.K.zero
            for a in e.args:
                v += self.of(a)
        elif e.is_Mul:
            v = self.K.one
            for a in e.args:
                v *= self.of(a)
        else:  # an integer power (every other node is a generator)
            v = self.of(e.base) ** int(e.exp)
        self.memo[e] = v
        return v


def decide_zero(expr: sp.Expr) -> bool | None:
    """``True``: ``expr`` is identically 0; ``False``: it is not; ``None``: not decided (module docstring)."""
    e = sp.sympify(expr)
    if e.atoms(*_OTHER_TRIG):
        e = rewrite_trig(e)
    F = _Field(e)
    if _reduce(F.of(e).numer, F.radicands):
        return True
    if not (F.complete and F.independent) or len(F.radicands) > 1:
        return None
    if F.radicands and _is_square(F.radicands[0][1]):
        return None
    return False


def _reduce(num: Any, radicands: list[tuple[Any, Any]]) -> bool:
    """Whether the polynomial ``num`` is 0 modulo L^2 = B for each radicand (P_0 = P_1 = 0, recursively)."""
    if num == 0:
        return True
    if not radicands:
        return False
    (L, B), rest = radicands[0], radicands[1:]
    i = num.ring.gens.index(L.numer)
    K = B.field
    parts = [K.zero, K.zero]
    for monom, coeff in num.terms():
        m0 = monom[:i] + (0,) + monom[i + 1:]
        parts[monom[i] % 2] += K(num.ring({m0: coeff})) * B ** (monom[i] // 2)
    return all(_reduce(p.numer, rest) for p in parts)


def _is_square(B: Any) -> bool:
    """Whether the rational function ``B`` is a perfect square (every irreducible factor to an even power)."""
    return all(m % 2 == 0 for poly in (B.numer, B.denom) for _, m in poly.factor_list()[1])
