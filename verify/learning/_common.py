"""What the quantum-side learning experiments share: the size profile, one measurement classified by the
pre-registered rule, and the assembly of a :class:`~nnqg.verify._model.LearningEvidence` from measured systems,
controls and comparisons (:func:`~nnqg.verify._model.decide_learning` makes the decision)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .._model import NOT_SUPPORTED, SUPPORTED, LearningEvidence, Measurement, NumericContext, classify, decide_learning

EXPERIMENTS = "docs/experiments.md"


@dataclass(frozen=True)
class Profile:
    """Sizes of one profile: learners, steps, anchor steps, window (|s - t| <= window), bootstrap resamples."""

    n_members: int
    n_steps: int
    anchors: tuple[int, ...]
    window: int
    n_boot: int

    def to_json(self) -> dict[str, Any]:
        return {"n_members": self.n_members, "n_steps": self.n_steps, "anchors": list(self.anchors),
                "window": self.window, "n_boot": self.n_boot}


def kept(store: dict, ctx: NumericContext, compute: Callable[[NumericContext], Any]) -> Any:
    """``compute(ctx)`` once per (seed, profile), kept in ``store`` (the last two): one experiment's run serves
    every claim that reads it; its draws depend on the seed only, never on the order of the claims."""
    key = (int(ctx.seed), bool(ctx.quick))
    if key not in store:
        if len(store) >= 2:
            store.pop(next(iter(store)))
        store[key] = compute(ctx)
    return store[key]


def stream(seed: int, *key: int) -> np.random.Generator:
    """The stream ``NumericContext(seed).rng(*key)``: a function of the seed and the key only, so an experiment
    run once per (seed, profile) and shared by several claims draws what each claim would draw alone."""
    return NumericContext(seed=seed).rng(*key)


def measure(label: str, distance: float, se: float, tau: float, k: float,
            details: Mapping[str, Any] | None = None) -> Measurement:
    """A measurement with its own status under the rule (tau, k)."""
    return Measurement(label, float(distance), float(se), classify(float(distance), float(se), tau, k),
                       dict(details or {}))


def evidence(*, system: str, quantity: str, measured: Sequence[Measurement], positive: Measurement,
             negative: Measurement, tau: float, k: float, section: str, details: Mapping[str, Any],
             comparisons: Sequence[Measurement] = (), override: tuple[str, str] | None = None) -> LearningEvidence:
    """The verdict of the rule on ``measured`` with its controls; ``comparisons`` are reported beside the verdict
    (with their own statuses) and do not enter it; ``override`` (status, why) replaces a verdict the rule gave when a
    pre-registered extra condition applies (e.g. a zero winding). The power is the largest tau + k SE over the
    measured systems: a distance that large is declared NOT SUPPORTED in every one of them."""
    status, reason, controls = decide_learning(measured, positive, negative, tau, k)
    separated = [c.status for c in controls] == [SUPPORTED, NOT_SUPPORTED]
    if override is not None and separated:
        status, reason = override[0], f"{override[1]}; {reason}"
    ses = [m.se for m in measured if math.isfinite(m.se)]
    power = tau + k * max(ses) if ses else float("nan")
    d = dict(details)
    if comparisons:
        d["comparisons (reported, not part of the verdict)"] = [c.to_json() for c in comparisons]
    return LearningEvidence(status=status, reason=reason, system=system, quantity=quantity,
                            measured=tuple(measured), threshold=tau, sigmas=k, power=power, controls=controls,
                            preregistration=f"{EXPERIMENTS}, {section}", details=d)
