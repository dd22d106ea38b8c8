r"""Load a user's metric from a TOML file (format in the README, section "The metric file").

.. code-block:: toml

    name = "Schwarzschild"
    coordinates = ["t", "r", "theta", "phi"]
    [parameters]
    M = "positive"
    [metric]
    t_t = "-(1 - 2*M/r)"
    r_r = "1/(1 - 2*M/r)"
    theta_theta = "r**2"
    phi_phi = "r**2*sin(theta)**2"

Keys of ``[metric]`` (and the optional ``[stress_energy]``) are ``a_b`` with coordinate names, lower indices,
one per unordered pair; absent pairs are 0. Formulas are parsed by :func:`nnqg.derivations.parse_formula`
(never evaluated as Python) with the coordinates, parameters, undetermined functions (``[functions]``,
e.g. ``a = ["t"]``, used as ``a`` or ``a(t)``, derivatives ``diff(a(t), t)``) and abbreviations
(``[abbreviations]``, named subexpressions, also used to name factors in the output) as the allowed names;
exponents may be symbolic (``r**k``); ``besselj(n, x)`` and ``LambertW(x)`` are available. ``[maxwell]`` gives
an electromagnetic potential :math:`A_a` whose stress tensor joins :math:`T_{ab}`; ``[expect]`` states what the
file should satisfy (``check``, ``holds``, the ``nonzero`` residual components). An optional
``lambda = "..."`` gives the cosmological constant (default: the parameter ``Lambda`` if declared).

Limits (bounded work): at most :data:`MAX_COORDINATES` coordinates, :data:`MAX_PARAMETERS` parameters,
:data:`MAX_FUNCTIONS` functions of at most 4 arguments, :data:`MAX_ABBREVIATIONS` abbreviations; names are
ASCII identifiers; the metric must be real (a formula that is provably complex is refused) and non-degenerate.

>>> spec = loads_metric('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nx_x = "1"\n', "inline")
>>> spec.metric.g
Matrix([
[-1, 0],
[ 0, 1]])
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp

from ._curv_metric import Metric
from ._errors import InvalidArgument
from ._files import read_user_text
from ._parser import CONSTANTS, FUNCTIONS, parse_formula

ASSUMPTIONS = {"positive": {"positive": True}, "real": {"real": True}, "nonzero": {"real": True, "nonzero": True}}
CHECK_NAMES = ("ricci_flat", "einstein_lambda", "einstein")
_TOP_KEYS = {"name", "reference", "coordinates", "parameters", "functions", "abbreviations", "metric",
             "stress_energy", "maxwell", "lambda", "expect"}
_EXPECT_KEYS = {"check", "holds", "nonzero"}
MAX_COORDINATES = 8
MAX_PARAMETERS = 32
MAX_FUNCTIONS = 8
MAX_FUNCTION_ARGS = 4
MAX_ABBREVIATIONS = 16
MAX_NAME = 120
_EXTRA_VOCABULARY = ("besselj", "LambertW", "diff")


@dataclass(frozen=True)
class Expectation:
    """What a metric file says it satisfies: the equation (``check``), whether it ``holds``, and the
    non-zero residual components (``nonzero``: (a, b) index pairs -> closed form, or None when only named)."""

    check: str | None = None
    holds: bool | None = None
    nonzero: tuple[tuple[tuple[int, int], sp.Expr | None], ...] | None = None


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    Lambda: sp.Expr | None
    stress_energy: sp.ImmutableMatrix | None
    source: str
    functions: tuple[sp.Expr, ...] = ()
    abbreviations: tuple[tuple[str, sp.Expr], ...] = ()
    potential: tuple[sp.Expr, ...] | None = None
    expect: Expectation = field(default_factory=Expectation)
    reference: str = ""


def load_metric(path: str | Path) -> MetricSpec:
    """Read and validate a metric file; every problem is an :class:`InvalidArgument` naming the file and key."""
    p = Path(path)
    return loads_metric(read_user_text(p, "metric file"), str(p))


def printable(text: str, limit: int = MAX_NAME) -> str:
    """``text`` with control and other non-printable characters shown escaped (an ANSI escape in a name must
    not reach the terminal), cut to ``limit`` characters."""
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def loads_metric(text: str, source: str = "<string>") -> MetricSpec:
    def bad(msg: str) -> InvalidArgument:
        return InvalidArgument(f"{source}: {msg}")

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: an integer beyond Python's digit limit
        raise bad(f"not valid TOML ({printable(str(exc), 200)})") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise bad(f"unknown keys {[printable(u) for u in unknown]}; allowed: {sorted(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise bad("'name' must be a string")
    name = printable(name)
    reference = data.get("reference", "")
    if not isinstance(reference, str):
        raise bad("'reference' must be a string")
    reserved = set(FUNCTIONS) | set(CONSTANTS) | set(_EXTRA_VOCABULARY)
    coords_raw = data.get("coordinates")
    if not isinstance(coords_raw, list) or not coords_raw or not all(isinstance(c, str) for c in coords_raw):
        raise bad("'coordinates' must be a list of names, e.g. [\"t\", \"r\", \"theta\", \"phi\"]")
    if len(coords_raw) < 2:
        raise bad(f"'coordinates' needs at least 2 names, got {coords_raw}")
    if len(coords_raw) > MAX_COORDINATES:
        raise bad(f"'coordinates' has {len(coords_raw)} names; the limit is {MAX_COORDINATES} (exact curvature of "
                  f"larger metrics is beyond what nnqg curvature computes in bounded time)")
    if len(set(coords_raw)) != len(coords_raw):
        raise bad(f"'coordinates' has repeated names: {coords_raw}")
    for c in coords_raw:
        if not _plain_name(c) or c in reserved or "_" in c:
            raise bad(f"coordinate name {printable(c)!r} is not allowed (use a plain ASCII identifier without "
                      f"'_', e.g. theta for θ, not one of the function or constant names {sorted(reserved)})")
    coords = tuple(sp.Symbol(c, real=True) for c in coords_raw)
    taken = set(coords_raw) | reserved

    params_raw = data.get("parameters", {})
    if not isinstance(params_raw, dict):
        raise bad("[parameters] must be a table of name = \"positive\" | \"real\" | \"nonzero\"")
    if len(params_raw) > MAX_PARAMETERS:
        raise bad(f"[parameters] declares {len(params_raw)} names; the limit is {MAX_PARAMETERS}")
    def fresh(nm: str, what: str) -> None:
        """A new name: a plain ASCII identifier not taken by a coordinate, parameter, function or constant."""
        if not _plain_name(nm) or nm in taken:
            raise bad(f"{what} name {printable(nm)!r} is not allowed (a plain ASCII identifier, not a "
                      f"coordinate, parameter, function or constant)")
        taken.add(nm)

    params = []
    for pname, kind in params_raw.items():
        fresh(pname, "parameter")
        if not isinstance(kind, str) or kind not in ASSUMPTIONS:
            shown = printable(repr(kind), 60)
            raise bad(f"parameter {pname!r}: expected one of {sorted(ASSUMPTIONS)} as a string (M = \"positive\"),"
                      f" got {shown}")
        params.append(sp.Symbol(pname, **ASSUMPTIONS[kind]))
    names: dict[str, sp.Basic] = {s.name: s for s in (*coords, *params)}

    funcs_raw = data.get("functions", {})
    if not isinstance(funcs_raw, dict):
        raise bad("[functions] must be a table of name = [coordinates], e.g. a = [\"t\"]")
    if len(funcs_raw) > MAX_FUNCTIONS:
        raise bad(f"[functions] declares {len(funcs_raw)} functions; the limit is {MAX_FUNCTIONS}")
    functions: dict[str, sp.Expr] = {}
    for fname, args in funcs_raw.items():
        fresh(fname, "function")
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args) \
                or len(set(args)) != len(args) or not set(args) <= set(coords_raw):
            raise bad(f"[functions] {fname}: give its arguments as a list of distinct coordinates from "
                      f"{coords_raw}, e.g. {fname} = [\"{coords_raw[0]}\"]; got {printable(repr(args), 80)}")
        if len(args) > MAX_FUNCTION_ARGS:
            raise bad(f"[functions] {fname}: at most {MAX_FUNCTION_ARGS} arguments")
        functions[fname] = sp.Function(fname)(*[coords[coords_raw.index(a)] for a in args])
        names[fname] = functions[fname]
    vocabulary = _vocabulary(functions, coords)

    def formula(v: Any, what: str) -> sp.Expr:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = repr(v)
        e = parse_formula(v, names, what=f"{source} {what}", functions=vocabulary, symbolic_exponents=True)
        _real(e, f"{source} {what}")
        return e

    abbrev_raw = data.get("abbreviations", {})
    if not isinstance(abbrev_raw, dict):
        raise bad("[abbreviations] must be a table of name = \"formula\", e.g. Sigma = \"r**2 + a**2*cos(theta)**2\"")
    if len(abbrev_raw) > MAX_ABBREVIATIONS:
        raise bad(f"[abbreviations] has {len(abbrev_raw)} entries; the limit is {MAX_ABBREVIATIONS}")
    abbreviations = []
    for aname, v in abbrev_raw.items():
        fresh(aname, "abbreviation")
        e = formula(v, f"[abbreviations] {aname}")
        names[aname] = e
        abbreviations.append((aname, e))
    n = len(coords)

    def table(key: str, required: bool) -> sp.ImmutableMatrix | None:
        raw = data.get(key)
        if raw is None:
            if required:
                raise bad(f"[{key}] is missing: give g_ab entries like t_t = \"-1\"")
            return None
        if not isinstance(raw, dict) or not raw:
            raise bad(f"[{key}] must be a non-empty table of entries like t_t = \"-1\"")
        M = sp.zeros(n, n)
        seen: dict[tuple[int, int], str] = {}
        for k, v in raw.items():
            i, j = _pair(k, coords_raw, f"[{key}]", bad)
            pair = (min(i, j), max(i, j))
            if pair in seen:
                raise bad(f"[{key}] gives the pair ({coords_raw[pair[0]]}, {coords_raw[pair[1]]}) twice: "
                          f"{seen[pair]!r} and {k!r} (one entry per unordered pair; the tensor is symmetric)")
            seen[pair] = k
            e = formula(v, f"[{key}] {k}")
            M[i, j] = e
            M[j, i] = e
        return sp.ImmutableMatrix(M)

    g = table("metric", True)
    assert g is not None
    metric = Metric(name, coords, g, tuple(params))
    if _degenerate(g, coords, params, tuple(functions.values())):
        raise bad("the metric is degenerate (det g = 0): every coordinate needs a non-zero row")
    T = table("stress_energy", False)
    potential = None
    maxwell_raw = data.get("maxwell")
    if maxwell_raw is not None:
        if not isinstance(maxwell_raw, dict) or not maxwell_raw:
            raise bad("[maxwell] must be a table of potential components A_a, e.g. t = \"-Q/r\"")
        A = [sp.S.Zero] * n
        for k, v in maxwell_raw.items():
            if k not in coords_raw:
                raise bad(f"[maxwell] key {printable(k)!r} is not a coordinate from {coords_raw} (the keys name "
                          f"the lower index of A_a)")
            A[coords_raw.index(k)] = formula(v, f"[maxwell] {k}")
        potential = tuple(A)
    lam = data.get("lambda")
    Lambda = None
    if lam is not None:
        Lambda = formula(lam, "lambda")
    elif "Lambda" in names and "Lambda" in params_raw:
        Lambda = names["Lambda"]
    expect = _expectation(data.get("expect"), coords_raw, formula, bad)
    return MetricSpec(metric, Lambda, T, source, tuple(functions.values()), tuple(abbreviations), potential,
                      expect, printable(reference, 300))


def _plain_name(s: str) -> bool:
    return isinstance(s, str) and s.isascii() and s.isidentifier() and not s.startswith("_")


def _pair(k: str, coords_raw: list[str], where: str, bad) -> tuple[int, int]:
    parts = k.split("_")
    if len(parts) != 2 or parts[0] not in coords_raw or parts[1] not in coords_raw:
        raise bad(f"{where} key {printable(k)!r} is not 'a_b' with coordinates a, b from {coords_raw}")
    return coords_raw.index(parts[0]), coords_raw.index(parts[1])


def _vocabulary(functions: dict[str, sp.Expr], coords: tuple[sp.Symbol, ...]) -> dict[str, Any]:
    """The metric file's callables beyond the parser's: declared functions, ``diff``, ``besselj``,
    ``LambertW``."""

    def applied(fname: str, f: sp.Expr):
        def build(*args: sp.Expr) -> sp.Expr:
            if tuple(args) != tuple(f.args):
                raise InvalidArgument(f"{fname}(...) takes its declared arguments "
                                      f"({', '.join(map(str, f.args))}) exactly, got ({', '.join(map(str, args))})")
            return f
        return build

    def diff(*args: sp.Expr) -> sp.Expr:
        if len(args) < 2:
            raise InvalidArgument("diff(f, x[, n], ...) needs an expression and at least one coordinate")
        spec: list[Any] = []
        for a in args[1:]:
            if a in coords:
                spec.append(a)
            elif a.is_Integer and 1 <= int(a) <= 4 and spec and spec[-1] in coords:
                spec.append(int(a))
            else:
                raise InvalidArgument(f"diff: {a} is not a coordinate or a derivative order 1..4 after one")
        return sp.diff(args[0], *spec)

    def besselj(*args: sp.Expr) -> sp.Expr:
        if len(args) != 2 or args[0].free_symbols & set(coords) or args[0].has(sp.core.function.AppliedUndef):
            raise InvalidArgument("besselj(n, x) takes an order n (a number or parameters, not a coordinate) "
                                  "and an argument x")
        return sp.besselj(args[0], args[1])

    def lambertw(*args: sp.Expr) -> sp.Expr:
        if len(args) != 1:
            raise InvalidArgument("LambertW(x) takes one argument (the principal branch)")
        return sp.LambertW(args[0])

    out: dict[str, Any] = {nm: applied(nm, f) for nm, f in functions.items()}
    out.update({"diff": diff, "besselj": besselj, "LambertW": lambertw})
    return out


def _real(e: sp.Expr, what: str) -> None:
    """Refuse a formula that is provably not real (the second opinion catches one complex at its points)."""
    if e.has(sp.I) or e.is_real is False:
        raise InvalidArgument(f"{what}: {printable(str(e), 80)} is not real (e.g. the square root or logarithm of "
                              f"a negative quantity); a metric, stress tensor or potential must be real on its "
                              f"domain")


def _degenerate(g: sp.ImmutableMatrix, coords, params, functions) -> bool:
    """det g vanishes at three random points (rational coordinates and parameters, functions = 1 + their
    arguments' sum / 7): a numeric check of bounded cost; the engine decides degeneracy exactly later."""
    import mpmath

    rng = random.Random("nnqg-metric-degenerate")
    n = g.shape[0]
    with mpmath.workdps(30):
        for _ in range(3):
            pt = {s: sp.Rational(rng.randint(11, 290), 100) for s in (*coords, *params)}
            fvals = {f: 1 + sum(f.args, sp.S.Zero).xreplace(pt) / 7 for f in functions}
            try:
                rows = []
                for i in range(n):
                    row = []
                    for j in range(n):
                        e = g[i, j]
                        if e.has(sp.Derivative):
                            e = e.xreplace({d: sp.Rational(1, 3) for d in e.atoms(sp.Derivative)})
                        v = complex(e.xreplace(fvals).xreplace(pt).evalf(30))
                        row.append(mpmath.mpc(v))
                    rows.append(row)
                det = mpmath.det(mpmath.matrix(rows))
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                continue
            if mpmath.isfinite(det) and abs(det) > mpmath.mpf(10) ** -20:
                return False
    # zero (or not finite) at every point: decide exactly for small metrics
    if n <= 4:
        try:
            return sp.cancel(sp.together(sp.Matrix(g).det(method="berkowitz"))) == 0
        except (TypeError, ValueError):
            return False
    return False


def _expectation(raw: Any, coords_raw: list[str], formula, bad) -> Expectation:
    if raw is None:
        return Expectation()
    if not isinstance(raw, dict):
        raise bad("[expect] must be a table: check = \"ricci_flat\", holds = true, nonzero = {...}")
    unknown = sorted(set(raw) - _EXPECT_KEYS)
    if unknown:
        raise bad(f"[expect] unknown keys {[printable(u) for u in unknown]}; allowed: {sorted(_EXPECT_KEYS)}")
    chk = raw.get("check")
    if chk is not None and chk not in CHECK_NAMES:
        raise bad(f"[expect] check = {printable(repr(chk), 60)}: expected one of {list(CHECK_NAMES)}")
    holds = raw.get("holds")
    if holds is not None and not isinstance(holds, bool):
        raise bad("[expect] holds must be true or false")
    nz_raw = raw.get("nonzero")
    nonzero = None
    if nz_raw is not None:
        items: list[tuple[str, Any]]
        if isinstance(nz_raw, list) and all(isinstance(k, str) for k in nz_raw):
            items = [(k, None) for k in nz_raw]
        elif isinstance(nz_raw, dict):
            items = list(nz_raw.items())
        else:
            raise bad("[expect] nonzero must be a list of components [\"t_t\", ...] or a table t_t = \"formula\"")
        out = []
        for k, v in items:
            i, j = _pair(k, coords_raw, "[expect] nonzero", bad)
            out.append(((min(i, j), max(i, j)), formula(v, f"[expect] nonzero {k}") if v is not None else None))
        nonzero = tuple(out)
        if holds is None:
            holds = not out
    return Expectation(chk, holds, nonzero)
