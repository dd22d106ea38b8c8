r"""Engine results in the user's coordinates, in a form a relativist would paste.

A covariant 2-tensor computed in a chart :math:`y^k = \phi^{-1}(x^k)` is brought back component by component:
:math:`T_{ab} = T'_{ab}\,(dy^a/dx^a)(dy^b/dx^b)` with :math:`dc/d\theta = -\sin\theta` (:math:`c = \cos\theta`)
and :math:`du/d\theta = (1 + u^2)/2` (:math:`u = \tan(\theta/2)`). Numerator and denominator are factored by
flint; each factor that is even in :math:`\cos\theta` is written with :math:`\sin\theta` when that has fewer
terms (:math:`1 - \cos^2\theta \to \sin^2\theta`), and a factor equal to a named abbreviation (:math:`\Sigma`,
:math:`\Delta`) is shown by its name. Derivatives of undetermined functions are written :math:`a'(t)`,
:math:`a''(t)` (one argument) or :math:`H_{xx}` (several).

>>> t = sp.Symbol("t", real=True)
>>> a = sp.Function("a")(t)
>>> pretty_functions(sp.Derivative(a, t, 2) / a)
a''(t)/a(t)
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import sympy as sp

from ._curv_field import FlintField
from ._curv_prepare import Chart, Prepared


def label(kind: str, coords: Sequence[sp.Symbol], *idx: int, latex: bool = False, up: int = 0) -> str:
    """``R_ttheta`` (text) or ``R_{t\\theta}`` (LaTeX); ``up`` leading indices are upper
    (``\\Gamma^{r}_{\\theta\\theta}``)."""
    if not latex:
        if up:
            return f"{kind}^{''.join(str(coords[i]) for i in idx[:up])}_{''.join(str(coords[i]) for i in idx[up:])}"
        return f"{kind}_{''.join(str(coords[i]) for i in idx)}"
    names = [sp.latex(coords[i]) for i in idx]
    kind_tex = {"Gamma": r"\Gamma"}.get(kind, kind)
    sup = f"^{{{' '.join(names[:up])}}}" if up else ""
    return f"{kind_tex}{sup}_{{{' '.join(names[up:])}}}".replace("{ ", "{")


def factor_list(prep: Prepared, a: Any) -> tuple[sp.Expr, list[tuple[Any, int]]]:
    """Content and irreducible factors (flint polynomials with multiplicities, negative for the denominator)."""
    F = prep.algebra
    cn, fn = a[0].factor()
    cd, fd = a[1].factor()
    out = [(q, int(e)) for q, e in fn] + [(q, -int(e)) for q, e in fd]
    return sp.Rational(int(cn), int(cd)), out


def factored(prep: Prepared, a: Any, abbreviations: Mapping[str, Any] | None = None) -> sp.Expr:
    """A field element as a SymPy expression in the field's variables' meanings, numerator and denominator
    factored by flint, trigonometric factors tidied, abbreviations by name."""
    if not isinstance(prep.algebra, FlintField):
        return prep.to_sympy(a)
    F = prep.algebra
    if a[0].is_zero():
        return sp.S.Zero
    content, facs = factor_list(prep, a)
    names = _abbreviation_polys(prep, abbreviations)
    out = [content]
    for ci, x in _cosines(prep):  # (c - 1)^m (c + 1)^m = (-sin^2 x)^m with c = cos x
        c = F.gens[ci]
        minus = [i for i, (q, _) in enumerate(facs) if q == c - 1 or q == 1 - c]
        plus = [i for i, (q, _) in enumerate(facs) if q == c + 1]
        if not minus or not plus:
            continue
        i, j = minus[0], plus[0]
        (qm, em), (qp, ep) = facs[i], facs[j]
        if em * ep <= 0:
            continue
        m = min(abs(em), abs(ep)) * (1 if em > 0 else -1)
        # (1 - c)^m (1 + c)^m = sin^(2m) x, (c - 1)^m (c + 1)^m = (-1)^m sin^(2m) x
        out += [sp.Integer(1 if qm == 1 - c else (-1) ** abs(m)), sp.sin(x) ** (2 * m)]
        facs[i], facs[j] = (qm, em - m), (qp, ep - m)
        facs = [(q, e) for q, e in facs if e != 0]
    ncoord = prep.dim
    for q, e in facs:
        sym = None
        for nm, (poly, _) in names.items():
            if q == poly:
                sym = sp.Symbol(nm)
                break
            if q == -poly:
                sym = sp.Symbol(nm)
                out.append(sp.Integer(-1) ** e)
                break
        if sym is None:
            if _leading_negative(q, ncoord):   # r - 2M rather than 2M - r
                q = -q
                out.append(sp.Integer(-1) ** e)
            sym = _poly_expr(prep, q)
            if sym.could_extract_minus_sign() and not sym.is_Add:
                sym = -sym
                out.append(sp.Integer(-1) ** e)
        out.append(sym ** e)
    return _finish_trig(prep, sp.Mul(*out))


def _cosines(prep: Prepared) -> list[tuple[int, sp.Symbol]]:
    """(field index, coordinate) of every cos x variable: cos charts and sin/cos generator pairs."""
    out = []
    for i, s in enumerate(prep.symbols):
        if isinstance(s, sp.cos) and s.args[0].is_Symbol:
            out.append((i, s.args[0]))
    return out


def _leading_negative(q, ncoord: int) -> bool:
    """The term of highest degree in the coordinates (the first ``ncoord`` variables) has a negative
    coefficient."""
    terms = q.to_dict()
    lead = max(terms, key=lambda e: (sum(e[:ncoord]), e[:ncoord]))
    return int(terms[lead]) < 0


def _abbreviation_polys(prep: Prepared, abbreviations: Mapping[str, Any] | None) -> dict[str, tuple[Any, int]]:
    out = {}
    for name, val in (abbreviations or {}).items():
        n, d = val
        if d.is_one() and not n.is_constant():
            _, fs = n.factor()
            if len(fs) == 1 and int(fs[0][1]) == 1:
                out[name] = (fs[0][0], 1)
    return out


def _poly_expr(prep: Prepared, q) -> sp.Expr:
    """One polynomial factor in the user's coordinates, even cosine factors written with the shorter of
    :math:`\\cos` and :math:`\\sin`."""
    e = FlintField.poly_to_sympy(q, _placeholders(prep))
    for ch in prep.charts:
        if ch.kind == "cos":
            e = _shorter_trig(e, _ph(prep, ch.new), sp.Dummy("s"))
    for vs, vc in _trig_pairs(prep):
        e = _shorter_pair(e, vs, vc)
    return e.xreplace(_meanings(prep))


def _trig_pairs(prep: Prepared) -> list[tuple[sp.Symbol, sp.Symbol]]:
    """Placeholders of sin x, cos x generator pairs (the trig-generator mode)."""
    pos = {s: i for i, s in enumerate(prep.symbols)}
    out = []
    for i, s in enumerate(prep.symbols):
        if isinstance(s, sp.sin) and s.args[0].is_Symbol and sp.cos(s.args[0]) in pos \
                and not any(ch.coord == s.args[0] for ch in prep.charts):
            out.append((sp.Symbol(f"_v{i}"), sp.Symbol(f"_v{pos[sp.cos(s.args[0])]}")))
    return out


def _square_reduced(e: sp.Expr, x: sp.Symbol, y: sp.Symbol) -> sp.Expr:
    """``e`` with :math:`x^{2k+r} \\to x^r (1 - y^2)^k`, expanded."""
    p = sp.Poly(e, x)
    return sp.expand(sp.Add(*[c * x ** (m[0] % 2) * (1 - y**2) ** (m[0] // 2) for m, c in p.terms()]))


def _shorter_pair(e: sp.Expr, s: sp.Symbol, c: sp.Symbol) -> sp.Expr:
    """Of the forms reduced by :math:`s^2 = 1 - c^2` and by :math:`c^2 = 1 - s^2`, the one with fewer terms."""
    if s not in e.free_symbols and c not in e.free_symbols:
        return e
    f1, f2 = _square_reduced(e, s, c), _square_reduced(e, c, s)
    n1, n2 = len(sp.Add.make_args(f1)), len(sp.Add.make_args(f2))
    best = f1 if n1 <= n2 else f2
    return sp.factor(best) if best != 0 else best


def _index_of(prep: Prepared, meaning: sp.Expr) -> int:
    return list(prep.symbols).index(meaning)


def _placeholders(prep: Prepared) -> list[sp.Symbol]:
    return [sp.Symbol(f"_v{i}") for i in range(len(prep.symbols))]


def _ph(prep: Prepared, var: sp.Expr) -> sp.Symbol:
    """The placeholder of the field variable whose meaning is the chart variable ``var``."""
    for i, s in enumerate(prep.symbols):
        if s == _chart_back(prep, var):
            return sp.Symbol(f"_v{i}")
    return sp.Symbol("_none")


def _chart_back(prep: Prepared, var: sp.Symbol) -> sp.Expr:
    for ch in prep.charts:
        if ch.new == var:
            return ch.back()
    return var


def _meanings(prep: Prepared) -> dict[sp.Symbol, sp.Expr]:
    return {sp.Symbol(f"_v{i}"): s for i, s in enumerate(prep.symbols)}


def _shorter_trig(e: sp.Expr, c: sp.Symbol, s: sp.Symbol) -> sp.Expr:
    """If ``e`` (a polynomial in ``c`` = cos x) is even in c, write it with s = sin x when that has fewer
    terms; ``s`` is replaced by sin x through the meaning of ``c``."""
    if c not in e.free_symbols:
        return e
    p = sp.Poly(e, c)
    if any(m[0] % 2 for m in p.monoms()):
        return e
    alt = sp.expand(e.xreplace({c: sp.sqrt(1 - s**2)}))
    if len(sp.Add.make_args(alt)) < len(sp.Add.make_args(sp.expand(e))):
        # s stands for sqrt(1 - c^2) = |sin x|; only even powers occur, so sin x itself is meant
        return alt.xreplace({s: sp.Symbol("_sin_of_" + c.name)})
    return e


def to_user(prep: Prepared, a: int, b: int, value: Any, abbreviations: Mapping[str, Any] | None = None) \
        -> sp.Expr:
    """A covariant 2-tensor component from the prepared chart back to the user's coordinates."""
    if not isinstance(prep.algebra, FlintField):
        return prep.to_sympy(value)
    e = factored(prep, value, abbreviations)
    for ch in prep.charts:
        count = (a == ch.index) + (b == ch.index)
        if count:
            e = e * ch.new_per_old() ** count
    return _finish_trig(prep, e)


def scalar_to_user(prep: Prepared, value: Any, abbreviations: Mapping[str, Any] | None = None) -> sp.Expr:
    if not isinstance(prep.algebra, FlintField):
        return prep.to_sympy(value)
    return _finish_trig(prep, factored(prep, value, abbreviations))


def _finish_trig(prep: Prepared, e: sp.Expr) -> sp.Expr:
    rep = {}
    for s in e.free_symbols:
        if s.name.startswith("_sin_of_"):
            for ch in prep.charts:
                if _ph(prep, ch.new).name == s.name[len("_sin_of_"):]:
                    rep[s] = sp.sin(ch.coord)
    return e.xreplace(rep) if rep else e


# ------------------------------------------------------------------------------------------------ functions


def pretty_functions(e: sp.Expr) -> sp.Expr:
    """Derivatives of undetermined functions as :math:`a'(t)` (one argument) or :math:`H_{xx}` (several);
    a function of several arguments as its bare name."""
    rep: dict[sp.Expr, sp.Expr] = {}
    for d in e.atoms(sp.Derivative):
        f = d.expr
        if not isinstance(f, sp.core.function.AppliedUndef):
            continue
        if len(f.args) == 1:
            rep[d] = sp.Function(f.func.__name__ + "'" * int(d.derivative_count))(*f.args)
        else:
            sub = "".join(str(v) * int(c) for v, c in d.variable_count)
            rep[d] = sp.Symbol(f"{f.func.__name__}_{sub}")
    e = e.xreplace(rep) if rep else e
    multi = {f: sp.Symbol(f.func.__name__) for f in e.atoms(sp.core.function.AppliedUndef) if len(f.args) > 1}
    return e.xreplace(multi) if multi else e
