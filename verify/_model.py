"""Claims, results and verdicts: plain frozen data.

A :class:`Claim` maps *inputs* (a functional, a potential, a metric, simulation settings: whatever a user could
change through the public path) to a :class:`SymbolicResult` and a :class:`NumericResult`. Planted errors
(`mutations`) are modified inputs, so a test or `nnqg selftest` mutates exactly what a user could.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp

from nnqg.derivations import Step

PASSED, FAILED, NONFINITE, REPRODUCED = "PASSED", "FAILED", "NONFINITE", "REPRODUCED"
ProgressFn = Callable[[str, float], None]


@dataclass(frozen=True)
class SymbolicResult:
    """``checks``: label -> the simplified difference that must be exactly 0; ``ok`` iff all are 0."""

    checks: tuple[tuple[str, sp.Expr], ...]
    steps: tuple[Step, ...] = ()
    facts: tuple[tuple[str, bool], ...] = ()  # extra boolean facts (e.g. for counterexamples)

    @property
    def ok(self) -> bool:
        return all(e == 0 for _, e in self.checks) and all(v for _, v in self.facts)

    def failing(self) -> list[str]:
        return [lab for lab, e in self.checks if e != 0] + [lab for lab, v in self.facts if not v]


@dataclass(frozen=True)
class Convergence:
    """A convergence study: residual at each refinement ``h`` and the observed order (log-log slope)."""

    quantity: str
    expected_order: float
    points: tuple[tuple[float, float], ...]  # (h, residual), h decreasing

    @property
    def observed_order(self) -> float:
        h = np.array([p[0] for p in self.points], dtype=float)
        r = np.array([p[1] for p in self.points], dtype=float)
        if len(h) < 2 or not np.all(np.isfinite(r)) or np.any(r <= 0) or np.any(h <= 0):
            return float("nan")
        slope = np.polyfit(np.log(h), np.log(r), 1)[0]
        return float(slope)

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "observed_order": _round(self.observed_order),
                "expected_order": self.expected_order,
                "points": [[_round(h), _round(r)] for h, r in self.points]}


@dataclass(frozen=True)
class NumericResult:
    """Outcome of a numeric check. ``ok`` is the check's own decision (residual within tolerance *and* the
    observed order consistent with the expected one); non-finite residuals are caught by the runner."""

    max_residual: float
    tolerance: float
    ok: bool
    convergence: Convergence | None = None
    where: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    facts: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class NumericContext:
    """What a numeric check may use: its own random stream, the size profile, a progress callback."""

    seed: int
    quick: bool = False
    progress: ProgressFn | None = None

    def rng(self, *key: int) -> np.random.Generator:
        """An independent stream per (seed, claim, key): results do not depend on the order claims run in."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, *key]))

    def report(self, what: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(what, fraction)


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    assumptions: tuple[str, ...]
    default_inputs: Callable[[], dict[str, Any]]
    symbolic: Callable[[Mapping[str, Any]], SymbolicResult]
    numeric: Callable[[NumericContext, Mapping[str, Any]], NumericResult] | None = None
    counterexample: bool = False
    #: planted errors: name -> input overrides that must turn the verdict to FAILED
    mutations: Callable[[], dict[str, dict[str, Any]]] = field(default=lambda: {})
    #: the files whose source defines this claim (hashed into source_hash)
    modules: tuple[str, ...] = ()

    def _repr_latex_(self) -> str:
        from ._paper import claim_repr_latex

        return claim_repr_latex(self)

    def _repr_html_(self) -> str:
        from ._html import claim_repr_html

        return claim_repr_html(self)


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    status: str
    symbolic: SymbolicResult
    numeric: NumericResult | None
    reason: str
    source_hash: str
    seconds: float = 0.0

    def _repr_latex_(self) -> str:
        from ._paper import verdict_repr_latex

        return verdict_repr_latex(self)

    def _repr_html_(self) -> str:
        from ._html import verdict_repr_html

        return verdict_repr_html(self)

    def to_json(self, timings: bool = False) -> dict[str, Any]:
        n = self.numeric
        d: dict[str, Any] = {
            "id": self.claim.id,
            "status": self.status,
            "symbolic_ok": self.symbolic.ok,
            "max_residual": None if n is None else _round(n.max_residual),
            "tolerance": None if n is None else _round(n.tolerance),
            "convergence": None if n is None or n.convergence is None else n.convergence.to_json(),
            "assumptions": list(self.claim.assumptions),
            "source_hash": self.source_hash,
            "reason": self.reason,
        }
        if n is not None:
            d["where"] = n.where
            d["details"] = _jsonable(n.details)
        if timings:
            d["seconds"] = round(self.seconds, 3)
        return d


def _round(x: float) -> float | None | str:
    """Floats in the report carry 12 significant digits: stable across BLAS/libm last-bit noise."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.12g}")


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _round(float(v))
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, sp.Basic):
        return str(v)
    return v if isinstance(v, (str, type(None))) else str(v)
