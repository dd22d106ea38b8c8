"""nnqg.verify: the claim registry, the runner, verdicts, reports and the CLI."""

from ._convergence import Judgement, judge
from ._model import FAILED, NONFINITE, PASSED, REPRODUCED, Claim, Convergence, NumericContext, NumericResult, \
    SymbolicResult, Verdict
from ._registry import all_claims, get_claim, select_claims
from ._report import build_report, dumps, write_report
from ._runner import run_claim

__all__ = [
    "FAILED", "NONFINITE", "PASSED", "REPRODUCED", "Claim", "Convergence", "Judgement", "NumericContext",
    "NumericResult", "SymbolicResult", "Verdict", "all_claims", "build_report", "dumps", "get_claim", "judge",
    "run_claim", "select_claims", "write_report",
]
