"""User input to the claims: ``nnqg verify --potential EXPR``.

The formula is parsed by the restricted parser (``q`` for one trainable variable, or ``q1, q2`` for two) and
becomes the input named by :attr:`Claim.potential_input` -- a callable from the tuple of coordinate symbols to a
SymPy expression -- of every selected claim that takes a potential; the others are skipped (and the CLI says so).

The potential is validated *before* any claim runs (:func:`prepare_potential`), every refusal an
:class:`InvalidArgument` naming ``--potential``:

* it must be real: a formula SymPy proves non-real (it contains the imaginary unit after parsing, e.g.
  ``sqrt(-Abs(q))`` = ``I*sqrt(Abs(q))``), or one that takes a non-real value at a point where the calibrations
  evaluate it (``log(q)`` at q < 0), is refused;
* it must be finite on the calibrations' grids (``1/q`` at q = 0);
* a potential in q1, q2 is accepted only with ``--symbolic-only``: the calibrations are one-dimensional.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np
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


def real_potential(V: sp.Expr, what: str = "--potential") -> None:
    """Refuse a potential SymPy proves non-real (the imaginary unit survives parsing, or ``is_real`` is False)."""
    if V.has(sp.I) or V.is_real is False:
        raise InvalidArgument(f"{what}: V = {V} is not real (the Madelung pair and the Schrodinger equation need "
                              "a real potential); write a real formula")


def check_on_grid(V: sp.Expr, x: np.ndarray, what: str = "--potential") -> None:
    """Evaluate V (in q) at the points ``x``: in complex arithmetic, so that a non-real value is seen as such
    (refused, naming the point), then as the calibrations do (NumPy floats), refusing a non-finite value."""
    f = sp.lambdify(_Q, V, "numpy")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            cval = np.broadcast_to(np.asarray(f(x.astype(complex)), dtype=complex), x.shape)
            rval = np.broadcast_to(np.asarray(f(x), dtype=complex), x.shape)
        except (ValueError, TypeError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
            raise InvalidArgument(f"{what}: V = {V} cannot be evaluated on the grid ({type(exc).__name__}: "
                                  f"{exc})") from None
    re, im = cval.real, cval.imag
    nonreal = np.isfinite(re) & np.isfinite(im) & (np.abs(im) > 1e-12 * np.maximum(1.0, np.abs(re)))
    if nonreal.any():
        j = int(np.flatnonzero(nonreal)[0])
        raise InvalidArgument(f"{what}: V = {V} is not real on the grid the calibrations use: V({x[j]:.6g}) = "
                              f"{re[j]:.6g} + {im[j]:.6g} i; a potential must be real on the box [-12.5, 12.5]")
    bad = ~np.isfinite(rval.real) | (rval.imag != 0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(f"{what}: V = {V} is not finite at q = {x[j]:.6g}, a point of the grid the "
                              "calibrations use (the box [-12.5, 12.5]); give a potential finite there")


def potential_grids(quick: bool) -> list[np.ndarray]:
    """The grids on which the calibrations that take a potential evaluate it (their default inputs)."""
    from . import madelung, schrodinger

    st = madelung.default_inputs()["user_state"]
    grids = [np.linspace(-float(st["box"]), float(st["box"]), int(st["points"]))]
    grids += schrodinger.equivalence_grids(schrodinger.equivalence_inputs(), quick)
    return grids


def prepare_potential(text: str, claims: Sequence[Claim], *, symbolic_only: bool = False, quick: bool = False) \
        -> tuple[tuple[Claim, ...], dict[str, dict[str, Any]], list[str]]:
    """Validate ``--potential`` before any claim runs. Returns (the claims that take a potential, their input
    overrides by claim id, notes for the user: which claims were skipped)."""
    expr, fn, dim = parse_potential(text)
    takes = tuple(c for c in claims if c.potential_input is not None)
    skipped = [c.id for c in claims if c.potential_input is None]
    if not takes:
        raise InvalidArgument(f"--potential {text!r}: none of the selected claims takes a potential "
                              f"(selected: {', '.join(c.id for c in claims)}); try --claims "
                              "'madelung.*,schrodinger.*'")
    real_potential(expr, f"--potential {text!r}")
    if dim == 2 and not symbolic_only:
        raise InvalidArgument(f"--potential {text!r} is written in q1, q2 (two trainable variables), but the "
                              f"calibrations of {', '.join(c.id for c in takes)} are one-dimensional: write V in q, "
                              "or add --symbolic-only to check the derivations with K = 2")
    if dim == 1:
        for x in potential_grids(quick):
            check_on_grid(expr, x, f"--potential {text!r}")
    out: dict[str, dict[str, Any]] = {}
    for c in takes:
        inputs = c.default_inputs()
        o: dict[str, Any] = {c.potential_input: fn}
        if "K_values" in inputs:
            o["K_values"] = (dim,)
        out[c.id] = o
    notes = []
    if skipped:
        notes.append(f"--potential: skipped {', '.join(skipped)} (they do not take a potential)")
    return takes, out, notes


def potential_overrides(text: str, claims: Sequence[Claim]) -> dict[str, dict[str, Any]]:
    """Input overrides, per claim id, that put the user's potential into every claim that takes one (validated
    as by :func:`prepare_potential`, symbolic-only rules: a potential in q1, q2 is accepted)."""
    return prepare_potential(text, claims, symbolic_only=True)[1]


def state_lines(verdicts: Sequence[Any]) -> list[str]:
    """One line per calibration that ran on a user's potential: the constructed state it used."""
    lines = []
    for v in verdicts:
        n = v.calibration
        if n is None or not n.ran:
            continue
        for st in n.details.get("states", ()):
            if st.get("closed_form"):
                continue
            keys = ("centre", "width", "momentum", "m", "hbar", "box", "grid_points", "dx", "dt", "t_final")
            desc = ", ".join(f"{k} {_fmt(st[k])}" for k in keys if k in st)
            lines.append(f"{v.claim.id}: state used: {desc}")
    return lines


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, (int, float)) and math.isfinite(v) else str(v)


__all__ = ["check_on_grid", "parse_potential", "potential_grids", "potential_overrides", "prepare_potential",
           "real_potential", "state_lines"]
