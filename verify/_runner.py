"""Run a claim: derivation, calibration, learning evidence, and the program status.

Program status (decides the exit code), in this order: a derivation that does not reduce to exactly 0 ->
FAILED; a non-finite calibration residual -> NONFINITE (never masked); a calibration that fails -> FAILED;
otherwise PASSED, or REPRODUCED for a registered counterexample whose facts were all shown. A calibration that is
INCONCLUSIVE (the estimator could not resolve the question) or NOT RUN is reported as such and does not fail the
program. The learning evidence (SUPPORTED / NOT SUPPORTED / INCONCLUSIVE / NOT TESTED) is a scientific result:
it never changes the program status.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from nnqg.derivations import NnqgError
from nnqg.derivations._budget import budget

from ._model import FAILED, INCONCLUSIVE, NONFINITE, NOT_RUN, PASSED, REPRODUCED, Claim, LearningEvidence, \
    NumericContext, NumericResult, SymbolicResult, Verdict, calibration_status
from ._registry import claim_source_hash
from ._symcache import SYMBOLIC_STATS, symbolic_cached  # noqa: F401  (SYMBOLIC_STATS: read by the CLI)


def run_claim(claim: Claim, ctx: NumericContext, overrides: Mapping[str, Any] | None = None, *,
              calibration: bool = True, learning: bool = True) -> Verdict:
    """Run ``claim`` with its default inputs updated by ``overrides`` (a user's potential, a planted error).

    ``calibration=False`` skips the calibration (``--symbolic-only``); ``learning=False`` skips the learning
    experiment (its part is then NOT TESTED with the reason "not run in this invocation")."""
    t0 = time.perf_counter()
    inputs = claim.default_inputs()
    if overrides:
        unknown = sorted(set(overrides) - set(inputs))
        if unknown:
            raise NnqgError(f"claim {claim.id}: unknown inputs {unknown}; it takes {sorted(inputs)}")
        inputs.update(overrides)
    if overrides:  # a user's formula (or a planted error): bounded work, exit 2 with a message if it explodes
        with budget(f"the derivation of {claim.id}"):
            sym = claim.derivation(inputs)
    else:
        sym = symbolic_cached(claim, inputs)
    num: NumericResult | None = None
    if calibration and claim.calibration is not None:
        num = claim.calibration(ctx, inputs)
    learn: LearningEvidence | None = None
    if claim.learning is not None:
        learn = claim.learning(ctx, inputs) if learning else LearningEvidence.not_tested(
            "not run in this invocation (--symbolic-only or --no-learning)")
    status, reason = _decide(claim, sym, num)
    return Verdict(claim=claim, status=status, derivation=sym, calibration=num, learning=learn, reason=reason,
                   source_hash=claim_source_hash(claim), seconds=time.perf_counter() - t0)


def _decide(claim: Claim, sym: SymbolicResult, num: NumericResult | None) -> tuple[str, str]:
    if not sym.ok:
        return FAILED, "derivation not exactly 0: " + ", ".join(sym.failing())
    cs = calibration_status(num)
    if cs == NONFINITE:
        return NONFINITE, f"non-finite calibration residual{(' at ' + num.where) if num.where else ''}"
    if cs == FAILED:
        bad = [lab for lab, v in num.facts if not v]
        why = ("facts not shown: " + ", ".join(bad)) if bad else (num.where or "residual above tolerance")
        return FAILED, "calibration failed: " + why
    note = ""
    if cs == INCONCLUSIVE:
        note = f"; calibration inconclusive: {num.where}"
    elif cs == NOT_RUN and num is not None:
        note = f"; calibration not run: {num.where}"
    elif num is not None and num.where:
        note = f"; calibration: {num.where}"
    if claim.counterexample:
        shown = sym.facts + (num.facts if num is not None and num.ran else ())
        if cs in (INCONCLUSIVE, NOT_RUN) and num is not None:
            return FAILED, "counterexample not reproduced: its numeric facts were not shown" + note
        return REPRODUCED, "counterexample reproduced: " + ", ".join(lab for lab, _ in shown)
    return PASSED, "derivation exact" + note

