r"""The two algebras of the curvature engine: a differential field of rational functions (python-flint), and
SymPy expressions as the fallback.

:class:`FlintField` is :math:`\mathbb Q(v_1, \dots, v_m)` with derivations :math:`\partial_k`
(:math:`k` = coordinate index) given on the variables: :math:`\partial_k v = D_k(v)`, itself an element of the
field. An element is a pair (numerator, denominator) of ``fmpz_mpoly`` reduced by their gcd, so "is zero" is
"the numerator has no terms". Some variables satisfy an algebraic relation :math:`G^d = b` (a root
:math:`G = b^{1/d}`, e.g. :math:`\sqrt{2M/r}`): :meth:`FlintField.reduce` rewrites :math:`G^e` as
:math:`G^{e \bmod d} b^{\lfloor e/d \rfloor}`, so the zero test sees the relation. Soundness never depends on
the reduction (it only applies identities); completeness of the zero test does.

>>> F = FlintField(["x", "G"], [[]])
>>> F.set_rules(0, [(0, F.one)])
>>> F.relate(1, 2, F.gen(0))            # G^2 = x
>>> g = F.gen(1)
>>> F.is_zero(F.add(F.mul(g, g), F.neg(F.gen(0))))
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable, Sequence

import sympy as sp
from sympy.polys.polyutils import expr_from_dict

_ORDER = "lex"


class NotRational(Exception):
    """The expression has no representation in the field (the engine falls back to SymPy expressions)."""


class JetOrder(Exception):
    """A derivative beyond the prepared jet order of an undetermined function was needed."""


class BeyondJet:
    """Placeholder for :math:`\\partial_k f_\\alpha` beyond the jet order: raises :class:`JetOrder` when used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, i: int) -> Any:
        raise JetOrder(self.name)


class FlintField:
    """:math:`\\mathbb Q(v_1, \\dots, v_m)` with derivations :math:`\\partial_k`; elements are reduced pairs
    (numerator, denominator) of ``fmpz_mpoly``."""

    kind = "rational (flint fmpz_mpoly)"

    def __init__(self, names: Sequence[str], derivs: Sequence[Sequence[tuple[int, Any]]]) -> None:
        import flint

        self.names = tuple(names)
        self.ctx = flint.fmpz_mpoly_ctx.get(tuple(names), _ORDER)
        self.gens = self.ctx.gens()
        self._one = self.ctx.constant(1)
        self.zero = (self.ctx.constant(0), self._one)
        self.one = (self._one, self._one)
        self.derivs: list[list[tuple[int, Any]]] = [list(r) for r in derivs]
        # algebraic relations G^d = b, in the order they are reduced (outer roots first)
        self.relations: list[tuple[int, int, tuple[Any, Any]]] = []

    # --- construction
    def gen(self, i: int) -> tuple[Any, Any]:
        return (self.gens[i], self._one)

    def const(self, q: Fraction | int) -> tuple[Any, Any]:
        q = Fraction(q)
        return (self.ctx.constant(q.numerator), self.ctx.constant(q.denominator))

    def set_rules(self, k: int, rules: Sequence[tuple[int, Any]]) -> None:
        """:math:`\\partial_k v_i = D` for each ``(i, D)`` (variables not listed have derivative 0)."""
        while len(self.derivs) <= k:
            self.derivs.append([])
        self.derivs[k] = list(rules)

    def add_rule(self, k: int, i: int, d: Any) -> None:
        self.derivs[k].append((i, d))

    def relate(self, i: int, d: int, base: tuple[Any, Any]) -> None:
        """Declare :math:`v_i^d = b`; relations added later are reduced first (their bases may contain earlier
        roots)."""
        self.relations.insert(0, (i, d, base))

    # --- arithmetic
    def is_zero(self, a: tuple[Any, Any]) -> bool:
        if a[0].is_zero():
            return True
        if not self.relations:
            return False
        return self._reduce_poly(a[0])[0].is_zero()

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

    def inv(self, a):
        if self.is_zero(a):
            raise ZeroDivisionError
        return self._norm(a[1], a[0])

    def pow(self, a, k: int):
        if k < 0:
            a, k = self.inv(a), -k
        return (a[0] ** k, a[1] ** k)

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
        return self.add(self.mul(dn, (self._one, d)),
                        self.neg(self.mul((n, self._one), self.mul(dd, (self._one, d * d)))))

    def _dpoly(self, p, k: int):
        """:math:`\\partial_k p = \\sum_v (\\partial p/\\partial v)\\, \\partial_k v` as a reduced fraction."""
        terms = []
        for v, dv in self.derivs[k]:
            pv = p.derivative(v)
            if not pv.is_zero():
                terms.append(self.mul((pv, self._one), dv))
        return self.sum(terms)

    # --- algebraic relations
    def _reduce_poly(self, p) -> tuple[Any, Any]:
        """``p`` with every :math:`G^e` (:math:`e \\ge d`) rewritten through :math:`G^d = b`, as a fraction."""
        num, den = p, self._one
        for i, d, (bn, bd) in self.relations:
            if num.degrees()[i] < d:
                continue
            terms = num.to_dict()
            top = max((e[i] // d for e in terms), default=0)
            if top == 0:
                continue
            groups: dict[int, dict] = {}
            for e, c in terms.items():
                q, r = divmod(e[i], d)
                e2 = list(e)
                e2[i] = r
                groups.setdefault(q, {})[tuple(e2)] = c
            out = self.ctx.constant(0)
            for q, part in groups.items():
                out = out + self.ctx.from_dict(part) * bn ** q * bd ** (top - q)
            num, den = out, den * bd ** top
        return num, den

    def reduce(self, a):
        """``a`` with numerator and denominator reduced by the algebraic relations, gcd-normalised."""
        if not self.relations or a[0].is_zero():
            return a
        n, nd = self._reduce_poly(a[0])
        if n.is_zero():
            return self.zero
        d, dd = self._reduce_poly(a[1])
        n, d = n * dd, d * nd
        g = n.gcd(d)
        if not g.is_one():
            n, d = n // g, d // g
        return self._norm(n, d)

    def finish(self, a):
        return self.reduce(a)

    # --- evaluation and conversion
    def to_sympy(self, a, symbols: Sequence[sp.Expr]) -> sp.Expr:
        return self.poly_to_sympy(a[0], symbols) / self.poly_to_sympy(a[1], symbols)

    @staticmethod
    def poly_to_sympy(p, symbols: Sequence[sp.Expr]) -> sp.Expr:
        return expr_from_dict({ex: sp.Integer(int(c)) for ex, c in p.to_dict().items()}, *symbols)


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

    def pow(self, a, k: int):
        return a**k

    def deriv(self, a, k: int):
        return sp.diff(a, self.coords[k])

    def finish(self, a):
        e = sp.cancel(a)
        return sp.S.Zero if e != 0 and self.is_zero(e) else e

    def to_sympy(self, a, symbols=None) -> sp.Expr:
        return a
