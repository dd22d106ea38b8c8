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
(never evaluated as Python) with the coordinates and parameters as the allowed names. An optional
``lambda = "..."`` gives the cosmological constant (default: the parameter ``Lambda`` if declared).

>>> spec = loads_metric('coordinates = ["t", "x"]\n[metric]\nt_t = "-1"\nx_x = "1"\n', "inline")
>>> spec.metric.g
Matrix([
[-1, 0],
[ 0, 1]])
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from ._curvature import Metric
from ._errors import InvalidArgument
from ._files import read_user_text
from ._parser import CONSTANTS, FUNCTIONS, parse_formula

ASSUMPTIONS = {"positive": {"positive": True}, "real": {"real": True}, "nonzero": {"real": True, "nonzero": True}}
_TOP_KEYS = {"name", "coordinates", "parameters", "metric", "stress_energy", "lambda"}


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    Lambda: sp.Expr | None
    stress_energy: sp.ImmutableMatrix | None
    source: str


def load_metric(path: str | Path) -> MetricSpec:
    """Read and validate a metric file; every problem is an :class:`InvalidArgument` naming the file and key."""
    p = Path(path)
    return loads_metric(read_user_text(p, "metric file"), str(p))


def loads_metric(text: str, source: str = "<string>") -> MetricSpec:
    def bad(msg: str) -> InvalidArgument:
        return InvalidArgument(f"{source}: {msg}")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise bad(f"not valid TOML ({exc})") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise bad(f"unknown keys {unknown}; allowed: {sorted(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise bad("'name' must be a string")
    coords_raw = data.get("coordinates")
    if not isinstance(coords_raw, list) or not coords_raw or not all(isinstance(c, str) for c in coords_raw):
        raise bad("'coordinates' must be a list of names, e.g. [\"t\", \"r\", \"theta\", \"phi\"]")
    if len(coords_raw) < 2:
        raise bad(f"'coordinates' needs at least 2 names, got {coords_raw}")
    if len(set(coords_raw)) != len(coords_raw):
        raise bad(f"'coordinates' has repeated names: {coords_raw}")
    reserved = set(FUNCTIONS) | set(CONSTANTS)
    for c in coords_raw:
        if not c.isidentifier() or c.startswith("_") or c in reserved or "_" in c:
            raise bad(f"coordinate name {c!r} is not allowed (use a plain identifier without '_', not one of "
                      f"the function or constant names {sorted(reserved)})")
    coords = tuple(sp.Symbol(c, real=True) for c in coords_raw)
    params_raw = data.get("parameters", {})
    if not isinstance(params_raw, dict):
        raise bad("[parameters] must be a table of name = \"positive\" | \"real\" | \"nonzero\"")
    params = []
    for pname, kind in params_raw.items():
        if not pname.isidentifier() or pname.startswith("_") or pname in reserved or pname in coords_raw:
            raise bad(f"parameter name {pname!r} is not allowed (a plain identifier, not a coordinate, "
                      f"function or constant)")
        if kind not in ASSUMPTIONS:
            raise bad(f"parameter {pname!r}: {kind!r} is not one of {sorted(ASSUMPTIONS)}")
        params.append(sp.Symbol(pname, **ASSUMPTIONS[kind]))
    names = {s.name: s for s in (*coords, *params)}
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
            parts = k.split("_")
            if len(parts) != 2 or parts[0] not in coords_raw or parts[1] not in coords_raw:
                raise bad(f"[{key}] key {k!r} is not 'a_b' with coordinates a, b from {coords_raw}")
            i, j = coords_raw.index(parts[0]), coords_raw.index(parts[1])
            pair = (min(i, j), max(i, j))
            if pair in seen:
                raise bad(f"[{key}] gives the pair ({coords_raw[pair[0]]}, {coords_raw[pair[1]]}) twice: "
                          f"{seen[pair]!r} and {k!r} (one entry per unordered pair; the tensor is symmetric)")
            seen[pair] = k
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = repr(v)
            e = parse_formula(v, names, what=f"{source} [{key}] {k}")
            M[i, j] = e
            M[j, i] = e
        return sp.ImmutableMatrix(M)

    g = table("metric", True)
    assert g is not None
    metric = Metric(name, coords, g, tuple(params))
    det = sp.cancel(sp.together(sp.Matrix(g).det(method="berkowitz")))
    if det == 0:
        raise bad("the metric is degenerate (det g = 0): every coordinate needs a non-zero row")
    T = table("stress_energy", False)
    lam = data.get("lambda")
    Lambda = None
    if lam is not None:
        if isinstance(lam, (int, float)) and not isinstance(lam, bool):
            lam = repr(lam)
        Lambda = parse_formula(lam, names, what=f"{source} lambda")
    elif "Lambda" in names:
        Lambda = names["Lambda"]
    return MetricSpec(metric, Lambda, T, source)
