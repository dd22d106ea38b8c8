"""Statistics over independent replicates (learning experiments and the sweep kinds that train replicates)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["mean_se"]


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
