"""nnqg.verify: the claim registry, the runner, verdicts, reports and the CLI.

The package is also the function of the public API: ``nnqg.verify("madelung.*", quick=True)`` runs claims and
returns a :class:`nnqg.Report` (see :func:`nnqg._api.verify`), so ``nnqg.verify`` is both the subpackage and
the call.
"""

import sys as _sys
import types as _types

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


class _CallableModule(_types.ModuleType):
    """``nnqg.verify(...)`` calls :func:`nnqg._api.verify`; attribute access is the subpackage's."""

    def __call__(self, *args, **kwargs):
        from nnqg._api import verify

        return verify(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
