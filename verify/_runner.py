"""Run a claim: derivation, calibration, learning evidence, and the program status.

Program status (decides the exit code), in this order: a derivation that does not reduce to exactly 0 ->
FAILED; a non-finite calibration residual -> NONFINITE (never masked); a calibration that fails -> FAILED;
otherwise PASSED, or REPRODUCED for a registered counterexample whose facts were all shown. A calibration that is
INCONCLUSIVE (the estimator could not resolve the question) or NOT RUN is reported as such and does not fail the
program. The learning evidence (SUPPORTED / NOT SUPPORTED / INCONCLUSIVE / NOT TESTED) is a scientific result:
it never changes the program status.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import sympy as sp

from nnqg.derivations import NnqgError
from nnqg.numerics._atomic import atomic_write_bytes

from ._model import FAILED, INCONCLUSIVE, NONFINITE, NOT_RUN, PASSED, REPRODUCED, Claim, LearningEvidence, \
    NumericContext, NumericResult, SymbolicResult, Verdict, calibration_status
from ._registry import claim_source_hash


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
    sym = _symbolic_cached(claim, inputs) if not overrides else claim.derivation(inputs)
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
    res = claim.derivation(inputs)
    SYMBOLIC_STATS["derived"] += 1
    try:
        data = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return res  # results holding unpicklable objects are simply not cached
    atomic_write_bytes(path, data)
    return res
