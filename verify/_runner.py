"""Run a claim: symbolic check, numeric check, verdict.

Status rules (in this order): a symbolic check that does not reduce to exactly 0 -> FAILED; a non-finite
numeric residual -> NONFINITE (never masked); a numeric check that is not ok -> FAILED; otherwise PASSED, or
REPRODUCED for a registered counterexample whose facts were all shown.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import sympy as sp

from nnqg.derivations import NnqgError
from nnqg.numerics._atomic import atomic_write_bytes

from ._model import FAILED, NONFINITE, PASSED, REPRODUCED, Claim, NumericContext, NumericResult, \
    SymbolicResult, Verdict
from ._registry import claim_source_hash


def run_claim(claim: Claim, ctx: NumericContext, overrides: Mapping[str, Any] | None = None,
              numeric: bool = True) -> Verdict:
    """Run ``claim`` with its default inputs updated by ``overrides`` (a user's potential, a planted error)."""
    t0 = time.perf_counter()
    inputs = claim.default_inputs()
    if overrides:
        unknown = sorted(set(overrides) - set(inputs))
        if unknown:
            raise NnqgError(f"claim {claim.id}: unknown inputs {unknown}; it takes {sorted(inputs)}")
        inputs.update(overrides)
    sym = _symbolic_cached(claim, inputs) if not overrides else claim.symbolic(inputs)
    num: NumericResult | None = None
    if numeric and claim.numeric is not None:
        num = claim.numeric(ctx, inputs)
    status, reason = _decide(claim, sym, num)
    return Verdict(claim=claim, status=status, symbolic=sym, numeric=num, reason=reason,
                   source_hash=claim_source_hash(claim), seconds=time.perf_counter() - t0)


def _decide(claim: Claim, sym: SymbolicResult, num: NumericResult | None) -> tuple[str, str]:
    if not sym.ok:
        return FAILED, "symbolic check not exactly 0: " + ", ".join(sym.failing())
    if num is not None:
        vals = [num.max_residual] + ([r for _, r in num.convergence.points] if num.convergence else [])
        if not all(math.isfinite(v) for v in vals):
            return NONFINITE, f"non-finite residual{(' at ' + num.where) if num.where else ''}"
        if not num.ok:
            bad = [lab for lab, v in num.facts if not v]
            why = ("facts not shown: " + ", ".join(bad)) if bad else (num.where or "residual above tolerance")
            return FAILED, "numeric check failed: " + why
    if claim.counterexample:
        return REPRODUCED, "counterexample reproduced: " + ", ".join(lab for lab, _ in sym.facts + (
            num.facts if num else ()))
    return PASSED, "symbolic exact" + (f"; numeric: {num.where}" if num is not None and num.where else "")


#: what the symbolic cache did in this process (printed by `nnqg verify`)
SYMBOLIC_STATS = {"derived": 0, "reused": 0}


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """sha256 of every source file of the installed nnqg package and the SymPy version: any change to the code
    (a derivation, a claim, the parser) invalidates every cached symbolic result."""
    import nnqg

    h = hashlib.sha256(sp.__version__.encode())
    roots = [Path(nnqg.__file__).parent]
    for sub in ("derivations", "numerics", "verify"):
        mod = __import__(f"nnqg.{sub}", fromlist=["_"])
        roots.append(Path(mod.__file__).parent)
    for root in roots:
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _symbolic_cached(claim: Claim, inputs: Mapping[str, Any]) -> SymbolicResult:
    """The claim's symbolic result with its *default* inputs, cached on disk by claim id and code hash."""
    from nnqg.numerics import cache_dir

    d = cache_dir().parent / "symbolic"
    d.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{_code_hash()}|{claim_source_hash(claim)}".encode()).hexdigest()[:24]
    path = d / f"{claim.id}-{key}.pickle"
    if path.exists():
        try:
            with path.open("rb") as fh:
                res = pickle.load(fh)
            if isinstance(res, SymbolicResult):
                SYMBOLIC_STATS["reused"] += 1
                return res
        except Exception:  # a truncated or foreign file: recompute and overwrite
            warnings.warn(f"symbolic cache file {path} is unreadable; re-deriving", RuntimeWarning, stacklevel=2)
    res = claim.symbolic(inputs)
    SYMBOLIC_STATS["derived"] += 1
    try:
        data = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return res  # results holding unpicklable objects are simply not cached
    atomic_write_bytes(path, data)
    return res
