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

import re
from typing import Any, Mapping, Sequence

import sympy as sp

from sympy.polys.polyutils import expr_from_dict

from ._curv_field import FlintField
from ._curv_prepare import Prepared


def label(kind: str, coords: Sequence[sp.Symbol], *idx: int, latex: bool = False, up: int = 0) -> str:
    """``R_ttheta`` (text) or ``R_{t\\theta}`` (LaTeX); ``up`` leading indices are upper
    (``\\Gamma^{r}_{\\theta\\theta}``)."""
    if not latex:
        if up:
            return f"{kind}^{''.join(str(coords[i]) for i in idx[:up])}_{''.join(str(coords[i]) for i in idx[up:])}"
        return f"{kind}_{''.join(str(coords[i]) for i in idx)}"
    names = [sp.latex(coords[i]) for i in idx]
    kind_tex = {"Gamma": r"\Gamma"}.get(kind, kind)
    sup = f"^{{{_tex_join(names[:up])}}}" if up else ""
    return f"{kind_tex}{sup}_{{{_tex_join(names[up:])}}}"


def _tex_join(names: Sequence[str]) -> str:
    """Juxtaposed index names; a space only where a command would run into a letter (``\\phi r``)."""
    out = ""
    for nm in names:
        if out and re.search(r"\\[A-Za-z]+$", out) and nm[:1].isalpha():
            out += " "
        out += nm
    return out


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
        q = _tidy_poly(prep, q)
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
        out.append(sym ** e)
    return sp.Mul(*out)


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
                out[name] = (_tidy_poly(prep, fs[0][0]), 1)
    return out


def _tidy_poly(prep: Prepared, q):
    """Where :math:`\\sin x` and :math:`\\cos x` are both variables (a cos chart's placeholder, sin/cos
    generators) the shorter of the forms reduced by :math:`\\sin^2 = 1 - \\cos^2` and by
    :math:`\\cos^2 = 1 - \\sin^2`."""
    F = prep.algebra
    for si, ci in _trig_variables(prep):
        a = _swap_square(F, q, si, ci)
        b = _swap_square(F, a, ci, si)
        q = b if len(b) < len(a) else a
    return q


def _poly_expr(prep: Prepared, q) -> sp.Expr:
    """One polynomial factor in the user's coordinates."""
    return expr_from_dict({e: sp.Integer(int(c)) for e, c in q.to_dict().items()}, *prep.symbols)


def _trig_variables(prep: Prepared) -> list[tuple[int, int]]:
    """(index of sin x, index of cos x) for every coordinate x whose sine and cosine are both field variables."""
    pos = {s: i for i, s in enumerate(prep.symbols)}
    out = []
    for i, s in enumerate(prep.symbols):
        if isinstance(s, sp.sin) and s.args[0].is_Symbol and sp.cos(s.args[0]) in pos:
            out.append((i, pos[sp.cos(s.args[0])]))
    return out


def _swap_square(F: FlintField, q, x: int, y: int):
    """``q`` with :math:`v_x^{2k+r} \\to v_x^r (1 - v_y^2)^k`."""
    terms = q.to_dict()
    if all(e[x] < 2 for e in terms):
        return q
    groups: dict[int, dict] = {}
    for e, c in terms.items():
        k, r = divmod(e[x], 2)
        e2 = list(e)
        e2[x] = r
        groups.setdefault(k, {})[tuple(e2)] = c
    one_minus = F.ctx.constant(1) - F.gens[y] ** 2
    out = F.ctx.constant(0)
    for k, t in groups.items():
        out = out + F.ctx.from_dict(t) * one_minus**k
    return out


def _indexed_to_user(prep: Prepared, indices: tuple[int, ...], value: Any,
                     abbreviations: Mapping[str, Any] | None = None) -> sp.Expr:
    """A covariant component with lower ``indices`` from the prepared chart back to the user's coordinates: one
    factor new-per-old of each chart for every index it rescales."""
    if not isinstance(prep.algebra, FlintField):
        return prep.to_sympy(value)
    e = factored(prep, value, abbreviations)
    for ch in prep.charts:
        count = sum(i == ch.index for i in indices)
        if count:
            e = e * ch.new_per_old() ** count
    return e


def to_user(prep: Prepared, a: int, b: int, value: Any, abbreviations: Mapping[str, Any] | None = None) \
        -> sp.Expr:
    """A covariant 2-tensor component from the prepared chart back to the user's coordinates."""
    return _indexed_to_user(prep, (a, b), value, abbreviations)


def covector_to_user(prep: Prepared, b: int, value: Any) -> sp.Expr:
    """A covector component :math:`V_b` from the prepared chart back to the user's coordinates."""
    return _indexed_to_user(prep, (b,), value)


def scalar_to_user(prep: Prepared, value: Any, abbreviations: Mapping[str, Any] | None = None) -> sp.Expr:
    return _indexed_to_user(prep, (), value, abbreviations)


# ------------------------------------------------------------------------------------------------ functions


def pretty_functions(e: sp.Expr, latex: bool = False) -> sp.Expr:
    """Derivatives of undetermined functions as :math:`a'(t)` (one argument) or :math:`H_{xx}` (several);
    a function of several arguments as its bare name; with ``latex`` every function as its bare name
    (:math:`a'^2/a^2`)."""
    rep: dict[sp.Expr, sp.Expr] = {}
    for d in e.atoms(sp.Derivative):
        f = d.expr
        if not isinstance(f, sp.core.function.AppliedUndef):
            continue
        if len(f.args) == 1:
            primed = f.func.__name__ + "'" * int(d.derivative_count)
            rep[d] = sp.Symbol(primed) if latex else sp.Function(primed)(*f.args)
        else:
            sub = "".join(str(v) * int(c) for v, c in d.variable_count)
            rep[d] = sp.Symbol(f"{f.func.__name__}_{sub}")
    e = e.xreplace(rep) if rep else e
    multi = {f: sp.Symbol(f.func.__name__) for f in e.atoms(sp.core.function.AppliedUndef)
             if len(f.args) > 1 or latex}
    return e.xreplace(multi) if multi else e
