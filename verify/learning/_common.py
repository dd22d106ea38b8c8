"""Helpers shared by the learning experiments: replicate statistics and the controls of a multi-measure
experiment."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from nnqg.derivations import InvalidArgument

from .._model import Measurement


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean over independent replicates and its standard error, sample sd (ddof 1) / sqrt(R); NaN when a value
    is not finite (never masked) and SE 0 for identical values.

    >>> mean_se([1.0, 2.0, 3.0])
    (2.0, 0.5773502691896258)
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


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
