"""Frozen carriers of derived equations.

An :class:`EquationSet` is a tuple of residuals ``R_k`` with the meaning ``R_k = 0`` on solutions.
It is the single source of truth: kernels (numerics) and LaTeX (paper) are generated from it.

>>> import sympy as sp
>>> t, q = sp.symbols("t q", real=True)
>>> p = sp.Function("p")(t, q)
>>> eqs = EquationSet("heat", (("heat", sp.Derivative(p, t) - sp.Derivative(p, q, 2)),))
>>> len(eqs.source_hash)
64
>>> jet(eqs.residuals[0][1], (p,))[0]
-p_qq + p_t
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import sympy as sp


@dataclass(frozen=True)
class Step:
    r"""One step of a derivation: ``lhs = rhs`` (or just ``rhs`` when ``lhs`` is None), with a title.

    ``indices`` names the index values of a matrix or array ``rhs`` (the coordinates of a metric, say), so a
    component prints as :math:`g_{t r}` rather than by position; a square matrix with ``indices`` and no
    ``lhs`` is a metric and prints as its line element :math:`ds^2 = g_{ab}\,dx^a dx^b`."""

    title: str
    rhs: sp.Basic
    lhs: sp.Basic | None = None
    note: str = ""
    indices: tuple[sp.Basic, ...] = ()

    def latex(self) -> str:
        r = sp.latex(self.rhs)
        return r if self.lhs is None else f"{sp.latex(self.lhs)} = {r}"


@dataclass(frozen=True)
class EquationSet:
    """Equations ``R_k = 0``, labelled, with the assumptions under which they were derived."""

    name: str
    residuals: tuple[tuple[str, sp.Expr], ...]
    parameters: tuple[sp.Symbol, ...] = ()
    assumptions: tuple[str, ...] = ()
    steps: tuple[Step, ...] = field(default=(), compare=False)

    @property
    def source_hash(self) -> str:
        """sha256 of the canonical form (``srepr``) of the residuals and their labels."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        for label, expr in self.residuals:
            h.update(label.encode())
            h.update(sp.srepr(expr).encode())
        return h.hexdigest()

    def __getitem__(self, label: str) -> sp.Expr:
        for lab, expr in self.residuals:
            if lab == label:
                return expr
        raise KeyError(label)

    def _repr_latex_(self) -> str:
        body = r" \\ ".join(rf"\text{{{lab}}}:\ & {sp.latex(e)} = 0" for lab, e in self.residuals)
        return rf"$\begin{{aligned}} {body} \end{{aligned}}$"


def derivative_symbol_name(d: sp.Basic) -> str:
    """``Derivative(p(t,q), q, 2)`` -> ``p_qq``; a bare function ``p(t,q)`` -> ``p``."""
    if isinstance(d, sp.Derivative):
        base = d.expr.func.__name__
        suffix = "".join(str(v) * int(n) for v, n in d.variable_count)
        return f"{base}_{suffix}"
    return d.func.__name__


def jet(expr: sp.Expr, functions: Iterable[sp.Expr]) -> tuple[sp.Expr, dict[sp.Symbol, sp.Basic]]:
    r"""Replace every function and derivative by a real jet symbol.

    :math:`\partial_q^2 p(t,q) \mapsto p_{qq}`; returns the new expression and the map symbol -> original,
    so a kernel can be generated from a PDE residual and fed with arrays of the jet values.
    """
    funcs = {f.func for f in functions}
    mapping: dict[sp.Basic, sp.Symbol] = {}
    derivs = sorted(expr.atoms(sp.Derivative), key=lambda d: -sp.count_ops(d) - len(d.variables))
    for d in derivs:
        if d.expr.func in funcs:
            mapping[d] = sp.Symbol(derivative_symbol_name(d), real=True)
    for f in expr.atoms(sp.Function):
        if f.func in funcs:
            mapping[f] = sp.Symbol(derivative_symbol_name(f), real=True)
    out = expr.subs(mapping)
    return out, {v: k for k, v in mapping.items()}


def is_zero(expr: sp.Expr) -> bool:
    """Exact zero test: expand, cancel, then simplify; True only when SymPy returns the literal 0."""
    e = sp.expand(expr)
    if e == 0:
        return True
    e = sp.cancel(sp.together(e))
    if e == 0:
        return True
    return sp.simplify(e) == 0


def free_symbol_names(exprs: Sequence[sp.Basic] | Mapping[str, sp.Basic]) -> set[str]:
    vals = exprs.values() if isinstance(exprs, Mapping) else exprs
    return {s.name for e in vals for s in e.free_symbols}
