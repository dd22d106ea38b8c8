r"""Planted errors: can the verifier say no?

Every claim lists *mutations*: named input overrides (a functional with a wrong coefficient, a metric with a
flipped sign, a potential that is not the one the paper uses, ...) that must turn its verdict to ``FAILED``. The
self-test plants each of them through :func:`nnqg.verify.run_claim` -- the same path a user's input takes, never a
private switch inside a check -- and counts

.. math:: \text{caught} = \#\{\text{mutations } m : \text{verdict}(\text{inputs} \oplus m) = \texttt{FAILED}\}

A mutation counts as caught only when

* the *unmutated* claim passes (``PASSED``, or ``REPRODUCED`` for a registered counterexample) with the same seed
  and size profile: a check that fails anyway proves nothing by failing on a mutant;
* the mutant's verdict is exactly ``FAILED``. ``NONFINITE`` (the check blew up), ``PASSED`` and an exception are
  all reported as *missed*, with the reason.

Each mutant is first run symbolic-only (cheap); when that already gives ``FAILED`` the numeric check is skipped
(``stage = "symbolic"``), otherwise the full claim runs (``stage = "numeric"``). Both runs go through
``run_claim`` with the mutation as ``overrides``.

A toy claim, :math:`(x+1)^2 = x^2 + 2x + c` with input ``c = 1``, and two planted errors, one of which the
check cannot see (it changes an input the check never reads):

>>> import sympy as sp
>>> from nnqg.verify import Claim, SymbolicResult
>>> x = sp.Symbol("x")
>>> toy = Claim(id="toy.square", section="-", statement="(x+1)^2 = x^2 + 2x + c", assumptions=(),
...             default_inputs=lambda: {"c": 1, "unused": 0},
...             derivation=lambda inp: SymbolicResult(checks=(("square", sp.expand((x + 1)**2 - x**2 - 2*x
...                                                                               - inp["c"])),)),
...             mutations=lambda: {"c_is_2": {"c": 2}, "invisible": {"unused": 1}})
>>> rep = run_selftest([toy], seed=1, quick=True)
>>> rep.planted, rep.caught, rep.missed
(2, 1, ('toy.square:invisible',))
>>> rep.ok
False
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ._model import FAILED, PASSED, REPRODUCED, Claim, NumericContext
from ._runner import run_claim

#: called after each planted error with (done, total, result)
OnResult = Callable[[int, int, "PlantedResult"], None]
#: called with a free-text description of what is running (for a progress bar)
OnStatus = Callable[[str], None]


#: the levels a planted error can be made at, named by the mutation's prefix (no prefix: an input such as a
#: functional's coefficient, a metric entry, a potential)
LEVELS = ("simulator", "estimator", "kernel")


def level_of(name: str) -> str:
    """``simulator_noise_x2`` -> ``simulator``; a name without a level prefix is an ``input`` mutation."""
    head = name.split("_", 1)[0]
    return head if head in LEVELS else "input"


@dataclass(frozen=True)
class Mutation:
    """One planted error: ``overrides`` replace entries of the claim's default inputs (a simulator, an estimator
    or a kernel factory is an input too, so every level is planted through the same path)."""

    claim: Claim
    name: str
    overrides: Mapping[str, Any]

    @property
    def id(self) -> str:
        return f"{self.claim.id}:{self.name}"

    @property
    def level(self) -> str:
        return level_of(self.name)


@dataclass(frozen=True)
class Baseline:
    """The unmutated claim's verdict under the same seed and profile."""

    claim_id: str
    status: str
    reason: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, REPRODUCED)


@dataclass(frozen=True)
class PlantedResult:
    """Outcome of one planted error. ``status`` is the mutant's verdict, or ``ERROR`` when the run raised."""

    id: str
    status: str
    caught: bool
    stage: str  # "symbolic", "numeric", "baseline" (not run: the baseline does not pass) or "error"
    reason: str
    seconds: float = 0.0

    @property
    def level(self) -> str:
        return level_of(self.id.split(":", 1)[1])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "status": self.status, "caught": self.caught,
                "stage": self.stage, "reason": self.reason}


@dataclass(frozen=True)
class SelftestReport:
    seed: int
    quick: bool
    baselines: tuple[Baseline, ...]
    results: tuple[PlantedResult, ...]
    claims_without_mutations: tuple[str, ...]

    @property
    def planted(self) -> int:
        return len(self.results)

    @property
    def caught(self) -> int:
        return sum(r.caught for r in self.results)

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.results if not r.caught)

    @property
    def ok(self) -> bool:
        """All planted errors caught, and at least one was planted (an empty self-test shows nothing)."""
        return self.planted > 0 and self.caught == self.planted

    @property
    def by_level(self) -> dict[str, tuple[int, int]]:
        """level -> (planted, caught)."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            p, c = out.get(r.level, (0, 0))
            out[r.level] = (p + 1, c + int(r.caught))
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        """``{planted, caught, missed: [ids], ...}``; no wall-clock figures, so one seed gives one report."""
        return {
            "planted": self.planted, "caught": self.caught, "missed": list(self.missed),
            "by_level": {k: {"planted": p, "caught": c} for k, (p, c) in self.by_level.items()},
            "seed": self.seed, "quick": self.quick,
            "baselines": [{"id": b.claim_id, "status": b.status, "reason": b.reason} for b in self.baselines],
            "results": [r.to_json() for r in self.results],
            "claims_without_mutations": list(self.claims_without_mutations),
        }


def planted_errors(claims: Sequence[Claim]) -> list[Mutation]:
    """Every mutation of ``claims``, in claim order then mutation-name order (deterministic ids)."""
    out: list[Mutation] = []
    for c in claims:
        muts = c.mutations()
        for name in sorted(muts):
            out.append(Mutation(claim=c, name=name, overrides=dict(muts[name])))
    return out


def _describe(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:300]


def _baseline(claim: Claim, ctx: NumericContext) -> Baseline:
    t0 = time.perf_counter()
    try:
        v = run_claim(claim, ctx, learning=False)  # plants sit in derivations and calibrations
    except Exception as exc:  # a claim that cannot even run unmutated: every mutant of it is missed
        return Baseline(claim.id, "ERROR", _describe(exc), time.perf_counter() - t0)
    return Baseline(claim.id, v.status, v.reason, time.perf_counter() - t0)


def plant(m: Mutation, ctx: NumericContext) -> PlantedResult:
    """Run one mutant: symbolic-only first (cheap); the full claim only when the symbolic check does not fail."""
    t0 = time.perf_counter()
    try:
        v = run_claim(m.claim, ctx, m.overrides, calibration=False, learning=False)
        stage = "symbolic"
        if v.status != FAILED and m.claim.calibration is not None:
            v = run_claim(m.claim, ctx, m.overrides, calibration=True, learning=False)
            stage = "numeric"
    except Exception as exc:
        return PlantedResult(m.id, "ERROR", False, "error",
                             f"the mutant raised instead of giving a verdict: {_describe(exc)}",
                             time.perf_counter() - t0)
    caught = v.status == FAILED
    reason = v.reason if caught else f"verdict {v.status}, not FAILED: {v.reason}"
    return PlantedResult(m.id, v.status, caught, stage, reason, time.perf_counter() - t0)


def run_selftest(claims: Sequence[Claim], *, seed: int = 1, quick: bool = True,
                 on_result: OnResult | None = None, on_status: OnStatus | None = None,
                 progress: Callable[[str, float], None] | None = None) -> SelftestReport:
    """Plant every mutation of ``claims`` (see the module docstring) and collect the outcomes."""
    mutations = planted_errors(claims)
    by_claim: dict[str, list[Mutation]] = {}
    for m in mutations:
        by_claim.setdefault(m.claim.id, []).append(m)
    ctx = NumericContext(seed=seed, quick=quick, progress=progress)
    baselines: list[Baseline] = []
    results: list[PlantedResult] = []
    total = len(mutations)
    with warnings.catch_warnings():
        # overflow/invalid warnings are expected from planted errors; non-finite results are judged, not warned
        warnings.simplefilter("ignore", RuntimeWarning)
        for c in claims:
            muts = by_claim.get(c.id)
            if not muts:
                continue
            if on_status is not None:
                on_status(f"{c.id}: unmutated baseline")
            base = _baseline(c, ctx)
            baselines.append(base)
            for m in muts:
                if on_status is not None:
                    on_status(m.id)
                if base.ok:
                    r = plant(m, ctx)
                else:
                    r = PlantedResult(m.id, "NOT RUN", False, "baseline",
                                      f"the unmutated claim is {base.status} ({base.reason}), so a FAILED mutant "
                                      f"would prove nothing")
                results.append(r)
                if on_result is not None:
                    on_result(len(results), total, r)
    without = tuple(c.id for c in claims if c.id not in by_claim)
    return SelftestReport(seed=seed, quick=quick, baselines=tuple(baselines), results=tuple(results),
                          claims_without_mutations=without)
