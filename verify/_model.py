"""Claims, results and verdicts: plain frozen data.

A :class:`Claim` maps *inputs* (a functional, a potential, a metric, simulation settings: whatever a user could
change through the public path) to three parts, judged and reported apart:

* **derivation** (:class:`SymbolicResult`): exact symbolic identities, each a difference that must be exactly 0;
* **calibration** (:class:`NumericResult`): the derived equations evaluated on *constructed* solutions (a Nelson
  diffusion of a known psi, d'Alembert data, an integrated orbit). It shows that kernels, estimators and solvers
  work; it is not evidence about learning, because the system was built from the answer;
* **learning evidence** (:class:`LearningEvidence`): the same equations measured on a system whose parameters
  move by a learning rule, from data, with a standard error, the detection power, pre-registered controls and
  a verdict SUPPORTED / NOT SUPPORTED / INCONCLUSIVE, or NOT TESTED with the reason.

Planted errors (``mutations``) are modified inputs, so a test or ``nnqg selftest`` mutates exactly what a user
could (a simulator or an estimator is an input too, so planting at those levels uses the same path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from nnqg.derivations import Step

#: the program's own status of a claim (derivation and calibration); decides the exit code
PASSED, FAILED, NONFINITE, REPRODUCED = "PASSED", "FAILED", "NONFINITE", "REPRODUCED"
#: part statuses: derivation EXACT or FAILED; calibration PASSED / FAILED / NONFINITE / INCONCLUSIVE / NOT RUN
EXACT, INCONCLUSIVE, NOT_RUN = "EXACT", "INCONCLUSIVE", "NOT RUN"
#: learning-evidence verdicts: scientific results, never a program failure
SUPPORTED, NOT_SUPPORTED, NOT_TESTED = "SUPPORTED", "NOT SUPPORTED", "NOT TESTED"
LEARNING_STATUSES = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTED)
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
    """Outcome of a calibration (a numeric check on constructed solutions). ``ok`` is the check's own decision
    (residual within tolerance *and* the observed order consistent with the expected one); non-finite residuals
    are caught by the runner. ``inconclusive`` (with ``ok`` False) says the estimator could not resolve the
    question at this size (an unresolved grid, near-nodes, a bias not measurable): reported, not a failure.
    ``ran`` is False when nothing numeric was evaluated (``where`` says why): such a result is NOT RUN, never
    PASSED. ``system`` names the constructed solution in one line; ``rule`` states the decision rule with its
    constants; ``power`` maps a planted effect (e.g. "quantum potential x (1 + eps)") to the smallest size of it
    the rule detects at this profile's size."""

    max_residual: float
    tolerance: float
    ok: bool
    convergence: Convergence | None = None
    where: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    facts: tuple[tuple[str, bool], ...] = ()
    system: str = ""
    rule: str = ""
    power: Mapping[str, float] = field(default_factory=dict)
    inconclusive: bool = False
    ran: bool = True

    @classmethod
    def not_run(cls, why: str, **details: Any) -> "NumericResult":
        """Nothing was evaluated (a user input the numeric part does not cover): NOT RUN, with the reason."""
        return cls(max_residual=float("nan"), tolerance=float("nan"), ok=False, where=why, details=details,
                   ran=False)


@dataclass(frozen=True)
class Measurement:
    """One measured distance from an equation (0 when it holds) with its standard error."""

    label: str
    distance: float
    se: float
    status: str = ""  # the measurement's own verdict under the experiment's rule (controls carry one)
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "distance": _round(self.distance), "se": _round(self.se)}
        if self.status:
            d["status"] = self.status
        if self.details:
            d["details"] = _jsonable(self.details)
        return d


@dataclass(frozen=True)
class LearningEvidence:
    """The claim's equation measured on a system that learns (see :func:`decide_learning` for the rule).

    ``system``: the learning system in one line (model, data, learning rule); ``quantity``: what ``measured``'s
    distance is (0 when the equation holds); ``threshold`` and ``sigmas``: the pre-registered rule;
    ``power``: the smallest distance the rule declares NOT SUPPORTED at this size (threshold + sigmas * SE);
    ``controls``: a positive control (built to satisfy the equation; must come out SUPPORTED) and a negative
    one (must come out NOT SUPPORTED), measured in the same run, at the same sizes unless the pre-registration states otherwise; ``preregistration``: where the
    rule was stated before the run (docs/experiments.md section)."""

    status: str
    reason: str
    system: str = ""
    quantity: str = ""
    measured: tuple[Measurement, ...] = ()
    threshold: float = float("nan")
    sigmas: float = float("nan")
    power: float = float("nan")
    controls: tuple[Measurement, ...] = ()
    preregistration: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def not_tested(cls, why: str) -> "LearningEvidence":
        return cls(status=NOT_TESTED, reason=why)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"status": self.status, "reason": self.reason}
        if self.status != NOT_TESTED:
            d.update({"system": self.system, "quantity": self.quantity,
                      "measured": [m.to_json() for m in self.measured], "threshold": _round(self.threshold),
                      "sigmas": _round(self.sigmas), "power": _round(self.power),
                      "controls": [c.to_json() for c in self.controls],
                      "preregistration": self.preregistration, "details": _jsonable(self.details)})
        return d


def classify(distance: float, se: float, threshold: float, sigmas: float) -> str:
    r"""The pre-registered rule for one distance :math:`d` with standard error :math:`s`:
    SUPPORTED when :math:`d + k s \le \tau` (below the threshold with confidence), NOT SUPPORTED when
    :math:`d - k s > \tau`, otherwise INCONCLUSIVE (too noisy to tell); a non-finite value is INCONCLUSIVE.

    >>> classify(0.02, 0.01, 0.1, 3), classify(0.6, 0.05, 0.1, 3), classify(0.1, 0.05, 0.1, 3)
    ('SUPPORTED', 'NOT SUPPORTED', 'INCONCLUSIVE')
    """
    if not (math.isfinite(distance) and math.isfinite(se)):
        return INCONCLUSIVE
    if distance + sigmas * se <= threshold:
        return SUPPORTED
    if distance - sigmas * se > threshold:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide_learning(measured: Sequence[Measurement], positive: Measurement | None, negative: Measurement | None,
                    threshold: float, sigmas: float) -> tuple[str, str, tuple[Measurement, ...]]:
    """The verdict of a learning experiment: each control classified by :func:`classify`; when the positive
    control is not SUPPORTED or the negative not NOT SUPPORTED the measure cannot tell and the verdict is
    INCONCLUSIVE by definition; otherwise the learning system's verdict is that of its measurements (every one
    SUPPORTED -> SUPPORTED, any NOT SUPPORTED -> NOT SUPPORTED, else INCONCLUSIVE). Returns (status, reason,
    controls with their statuses)."""
    controls = []
    for c, want, role in ((positive, SUPPORTED, "positive"), (negative, NOT_SUPPORTED, "negative")):
        if c is not None:
            controls.append(Measurement(f"{role} control: {c.label}", c.distance, c.se,
                                        classify(c.distance, c.se, threshold, sigmas), c.details))
    bad = [c for c, want in zip(controls, (SUPPORTED, NOT_SUPPORTED)[:len(controls)]) if c.status != want]
    if positive is not None and negative is not None and bad:
        return INCONCLUSIVE, ("the controls do not separate: " + "; ".join(
            f"{c.label} is {c.status} ({c.distance:.3g} +- {c.se:.2g})" for c in bad)), tuple(controls)
    statuses = [classify(m.distance, m.se, threshold, sigmas) for m in measured]
    if not statuses:
        return INCONCLUSIVE, "nothing was measured", tuple(controls)
    if NOT_SUPPORTED in statuses:
        st = NOT_SUPPORTED
    elif all(x == SUPPORTED for x in statuses):
        st = SUPPORTED
    else:
        st = INCONCLUSIVE
    what = "; ".join(f"{m.label}: {m.distance:.3g} +- {m.se:.2g}" for m in measured)
    rule = f"threshold {threshold:g}, {sigmas:g} SE"
    return st, f"{what} ({rule})", tuple(controls)


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
    """One claim of the paper. ``derivation`` maps inputs to the exact identities; ``calibration`` (optional)
    checks the derived equations on constructed solutions; ``learning`` (optional) measures them on a system that
    learns. Where a part does not exist, ``calibration_note`` / ``learning_note`` say why (printed as the NOT RUN /
    NOT TESTED reason)."""

    id: str
    section: str
    statement: str
    assumptions: tuple[str, ...]
    default_inputs: Callable[[], dict[str, Any]]
    derivation: Callable[[Mapping[str, Any]], SymbolicResult]
    calibration: Callable[[NumericContext, Mapping[str, Any]], NumericResult] | None = None
    learning: Callable[[NumericContext, Mapping[str, Any]], LearningEvidence] | None = None
    counterexample: bool = False
    #: planted errors: name -> input overrides that must turn the verdict to FAILED
    mutations: Callable[[], dict[str, dict[str, Any]]] = field(default=lambda: {})
    #: the files whose source defines this claim (hashed into source_hash)
    modules: tuple[str, ...] = ()
    calibration_note: str = "no calibration: the claim is an exact identity, checked by its derivation"
    learning_note: str = "no learning experiment exists for this claim yet"
    #: the input a user potential (``--potential``) replaces, or None when the claim does not use a potential
    potential_input: str | None = None

    def _repr_latex_(self) -> str:
        from ._paper import claim_repr_latex

        return claim_repr_latex(self)

    def _repr_html_(self) -> str:
        from ._html import claim_repr_html

        return claim_repr_html(self)


def calibration_status(n: NumericResult | None) -> str:
    """PASSED / FAILED / NONFINITE / INCONCLUSIVE / NOT RUN of a calibration result (None: not run)."""
    if n is None or not n.ran:
        return NOT_RUN
    vals = [n.max_residual] + ([r for _, r in n.convergence.points] if n.convergence else [])
    if not all(math.isfinite(v) for v in vals):
        return NONFINITE
    if n.ok:
        return PASSED
    return INCONCLUSIVE if n.inconclusive else FAILED


@dataclass(frozen=True)
class Verdict:
    """A claim's three parts and the program status that decides the exit code (``status``: FAILED when the
    derivation or the calibration fails, NONFINITE on a non-finite calibration residual, REPRODUCED for a
    registered counterexample whose facts were shown, PASSED otherwise). ``headline`` words the parts."""

    claim: Claim
    status: str
    derivation: SymbolicResult
    calibration: NumericResult | None
    learning: LearningEvidence | None
    reason: str
    source_hash: str
    seconds: float = 0.0

    @property
    def derivation_status(self) -> str:
        return EXACT if self.derivation.ok else FAILED

    @property
    def calibration_status(self) -> str:
        return calibration_status(self.calibration)

    @property
    def learning_status(self) -> str:
        return NOT_TESTED if self.learning is None else self.learning.status

    @property
    def headline(self) -> str:
        """The claim's status in words, from its parts, e.g. "derived; calibrated; learning: NOT SUPPORTED"."""
        d = {EXACT: "derived exactly", FAILED: "derivation FAILED"}[self.derivation_status]
        c = {PASSED: "calibrated", FAILED: "calibration FAILED", NONFINITE: "calibration NONFINITE",
             INCONCLUSIVE: "calibration inconclusive", NOT_RUN: "no calibration"}[self.calibration_status]
        if self.claim.counterexample:
            c += f"; counterexample {'reproduced' if self.status == REPRODUCED else 'NOT reproduced'}"
        return f"{d}; {c}; learning: {self.learning_status}"

    def _repr_latex_(self) -> str:
        from ._paper import verdict_repr_latex

        return verdict_repr_latex(self)

    def _repr_html_(self) -> str:
        from ._html import verdict_repr_html

        return verdict_repr_html(self)

    def to_json(self, timings: bool = False) -> dict[str, Any]:
        n = self.calibration
        cal: dict[str, Any] = {"status": self.calibration_status}
        if n is None:
            cal["reason"] = self.claim.calibration_note
        elif not n.ran:
            cal["reason"] = n.where
            if n.details:
                cal["details"] = _jsonable(n.details)
        else:
            cal.update({
                "system": n.system, "rule": n.rule,
                "max_residual": _round(n.max_residual), "tolerance": _round(n.tolerance),
                "convergence": None if n.convergence is None else n.convergence.to_json(),
                "power": _jsonable(n.power), "where": n.where, "details": _jsonable(n.details),
                "facts": [{"fact": lab, "shown": bool(v)} for lab, v in n.facts],
            })
        learn = (LearningEvidence.not_tested(self.claim.learning_note) if self.learning is None
                 else self.learning).to_json()
        sym = self.derivation
        d: dict[str, Any] = {
            "id": self.claim.id,
            "status": self.status,
            "headline": self.headline,
            "derivation": {"status": self.derivation_status, "identities": len(sym.checks),
                           "facts": len(sym.facts), "failing": sym.failing()},
            "calibration": cal,
            "learning": learn,
            "assumptions": list(self.claim.assumptions),
            "source_hash": self.source_hash,
            "reason": self.reason,
        }
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
