"""Run a claim: symbolic check, numeric check, verdict.

Status rules (in this order): a symbolic check that does not reduce to exactly 0 -> FAILED; a non-finite
numeric residual -> NONFINITE (never masked); a numeric check that is not ok -> FAILED; otherwise PASSED, or
REPRODUCED for a registered counterexample whose facts were all shown.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

from nnqg.derivations import NnqgError
from nnqg.derivations._budget import budget

from ._model import FAILED, NONFINITE, PASSED, REPRODUCED, Claim, NumericContext, NumericResult, \
    SymbolicResult, Verdict
from ._registry import claim_source_hash
from ._symcache import SYMBOLIC_STATS, symbolic_cached  # noqa: F401  (SYMBOLIC_STATS: read by the CLI)


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
    if overrides:  # a user's formula (or a planted error): bounded work, exit 2 with a message if it explodes
        with budget(f"the symbolic check of {claim.id}"):
            sym = claim.symbolic(inputs)
    else:
        sym = symbolic_cached(claim, inputs)
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
