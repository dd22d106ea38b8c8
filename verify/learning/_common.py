"""Helpers shared by the learning experiments: replicate statistics and the controls of a multi-measure
experiment; the size profile, one measurement classified by the pre-registered rule, one run per (seed, profile)
kept for the claims that share it, and the assembly of a :class:`~nnqg.verify._model.LearningEvidence` from
measured systems, controls and comparisons (:func:`~nnqg.verify._model.decide_learning` makes the decision)."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from nnqg.derivations import InvalidArgument

from nnqg.numerics._replicates import mean_se

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


def control_pair(positive: Sequence[Measurement], negative: Sequence[Measurement]
                 ) -> tuple[Measurement, Measurement]:
    """One positive and one negative control for an experiment judged on several distances: the positive
    control is reported by its *largest* distance (it must be SUPPORTED on every measure), the negative by its
    *smallest* (it must be NOT SUPPORTED on every measure), so the controls separate only if they separate on
    each measure. A non-finite distance is chosen first (it makes the control INCONCLUSIVE)."""
    def key(m: Measurement) -> float:
        return math.inf if not math.isfinite(m.distance) else m.distance

    p = max(positive, key=key)
    n = min(negative, key=lambda m: -math.inf if not math.isfinite(m.distance) else m.distance)
    return p, n


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS on one thread: the experiments' matrices are small (at most a few hundred rows), so
    threads only add contention (a 16x256 by 256x256 product took 6x longer with two threads on a loaded 2-core
    machine), and one thread makes the floating-point sums, and so the report, identical on every machine."""
    with threadpool_limits(1, user_api="blas"):
        yield


def merge_settings(registered: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """An experiment's pre-registered settings with ``changes`` applied (planted changes in tests, size maps);
    an unknown key is refused by name.

    >>> merge_settings({"a": 1, "b": 2}, {"b": 3})
    {'a': 1, 'b': 3}
    """
    s = {**registered, **dict(changes or {})}
    unknown = sorted(set(s) - set(registered))
    if unknown:
        raise InvalidArgument(f"settings: unknown keys {unknown}; known: {sorted(registered)}")
    return s
