r"""A metric :math:`g_{ab}(x)` in coordinates :math:`x^a`: plain data shared by the curvature engine and its
second opinion (neither imports the other).

>>> t, x = sp.symbols("t x", real=True)
>>> Metric("flat", (t, x), sp.diag(-1, 1)).dim
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from ._errors import InvalidArgument


@dataclass(frozen=True)
class Metric:
    """A metric :math:`g_{ab}` (lower indices) in ``coords``; ``parameters`` are the other allowed symbols."""

    name: str
    coords: tuple[sp.Symbol, ...]
    g: sp.ImmutableMatrix
    parameters: tuple[sp.Symbol, ...] = ()

    def __post_init__(self) -> None:
        coords = tuple(self.coords)
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if not isinstance(self.g, sp.ImmutableMatrix):
            object.__setattr__(self, "g", sp.ImmutableMatrix(self.g))
        n = len(coords)
        if n < 2:
            raise InvalidArgument(f"metric {self.name!r}: needs at least 2 coordinates, got {n}")
        if len(set(coords)) != n or not all(isinstance(c, sp.Symbol) for c in coords):
            raise InvalidArgument(f"metric {self.name!r}: coordinates must be distinct symbols, got {coords}")
        if self.g.shape != (n, n):
            raise InvalidArgument(f"metric {self.name!r}: the matrix is {self.g.shape[0]}x{self.g.shape[1]} but "
                                  f"there are {n} coordinates {[c.name for c in coords]}")
        for i in range(n):
            for j in range(i + 1, n):
                if sp.expand(self.g[i, j] - self.g[j, i]) != 0:
                    raise InvalidArgument(f"metric {self.name!r}: not symmetric, g_{coords[i]}{coords[j]} = "
                                          f"{self.g[i, j]} but g_{coords[j]}{coords[i]} = {self.g[j, i]}")

    @property
    def dim(self) -> int:
        return len(self.coords)


def _as_metric(metric: Metric | sp.MatrixBase, coords: Sequence[sp.Symbol] | None) -> Metric:
    if isinstance(metric, Metric):
        if coords is not None and tuple(coords) != metric.coords:
            raise InvalidArgument(f"coords {tuple(coords)} differ from the metric's {metric.coords}")
        return metric
    if coords is None:
        raise InvalidArgument("christoffel(matrix, coords): coords are required for a bare matrix")
    g = sp.ImmutableMatrix(metric)
    params = tuple(sorted(g.free_symbols - set(coords), key=lambda s: s.name))
    return Metric("metric", tuple(coords), g, params)

