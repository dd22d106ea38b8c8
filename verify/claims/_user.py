"""User input to the claims: ``nnqg verify --potential EXPR``.

The formula is parsed by the restricted parser (``q`` for one trainable variable, or ``q1, q2`` for two) and
becomes the input ``potential`` -- a callable from the tuple of coordinate symbols to a SymPy expression -- of
every selected claim that takes a potential. The claims then run their symbolic and numeric checks on it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy as sp

from nnqg.derivations import InvalidArgument, parse_formula

from .._model import Claim

_Q = sp.Symbol("q", real=True)
_Q1, _Q2 = sp.symbols("q1 q2", real=True)


def parse_potential(text: str) -> tuple[sp.Expr, Callable[[tuple[sp.Symbol, ...]], sp.Expr], int]:
    """Parse ``text`` into V; returns (expression, callable on coordinate tuples, dimension 1 or 2)."""
    expr = parse_formula(text, {"q": _Q, "q1": _Q1, "q2": _Q2}, what="--potential")
    names = {s.name for s in expr.free_symbols}
    if "q" in names and names & {"q1", "q2"}:
        raise InvalidArgument(f"--potential {text!r}: use either q (one trainable variable) or q1, q2 (two), "
                              "not both")
    if names & {"q1", "q2"}:
        return expr, (lambda qs: expr.xreplace({_Q1: qs[0], _Q2: qs[1]}) if len(qs) == 2 else
                      _dimension_error(text, len(qs))), 2
    return expr, (lambda qs: expr.xreplace({_Q: qs[0]}) if len(qs) == 1 else _dimension_error(text, len(qs))), 1


def _dimension_error(text: str, k: int) -> sp.Expr:
    raise InvalidArgument(f"--potential {text!r} is written for a different number of trainable variables "
                          f"than a claim asked for (K = {k}); use q for K = 1 or q1, q2 for K = 2")


def potential_overrides(text: str, claims: Sequence[Claim]) -> dict[str, dict[str, Any]]:
    """Input overrides, per claim id, that put the user's potential into every claim that takes one."""
    expr, fn, dim = parse_potential(text)
    out: dict[str, dict[str, Any]] = {}
    for c in claims:
        inputs = c.default_inputs()
        if "potential" not in inputs:
            continue
        o: dict[str, Any] = {"potential": fn}
        if "K_values" in inputs:
            o["K_values"] = (dim,)
        if "potential_text" in inputs:
            o["potential_text"] = text
        out[c.id] = o
    if not out:
        raise InvalidArgument(f"--potential {text!r}: none of the selected claims takes a potential "
                              f"(selected: {', '.join(c.id for c in claims)}); try --claims 'madelung.*,schrodinger.*'")
    return out
