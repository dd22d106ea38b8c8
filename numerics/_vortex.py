r"""Circulation of a gradient field on a 2-D grid.

For a vector field :math:`v = (v_x, v_y)` sampled on a uniform grid ``v[i, j] = v(x_i, y_j)`` and an
axis-aligned rectangle whose sides lie on grid lines, :func:`rectangle_circulation` returns
:math:`\oint v\cdot dq` counter-clockwise, each side integrated with the trapezoidal rule (error
:math:`O(h^2)` for a smooth field; the corners keep it from being spectrally accurate).
:func:`central_gradient` is the second-order central difference (one-sided second order at the edges).

>>> import numpy as np
>>> x = y = np.linspace(-2.0, 2.0, 81)
>>> X, Y = np.meshgrid(x, y, indexing="ij")
>>> r2 = X**2 + Y**2 + 1e-300
>>> vx, vy = -Y / r2, X / r2                     # grad(theta): circulation 2 pi around the origin
>>> c = rectangle_circulation(vx, vy, x, y, (-1.0, 1.0, -1.0, 1.0))
>>> bool(abs(c - 2 * np.pi) < 1e-2)
True
"""

from __future__ import annotations

import numpy as np

from nnqg.derivations import InvalidArgument


def central_gradient(f: np.ndarray, hx: float, hy: float) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(\partial_x f, \partial_y f)` by second-order differences on a grid indexed ``[i, j] = (x_i, y_j)``."""
    gx, gy = np.gradient(f, hx, hy, edge_order=2)
    return gx, gy


def _index(grid: np.ndarray, value: float, what: str) -> int:
    h = grid[1] - grid[0]
    k = int(round((value - grid[0]) / h))
    if not 0 <= k < grid.size or abs(grid[k] - value) > 1e-9 * max(1.0, abs(value)):
        raise InvalidArgument(f"{what} = {value!r} is not a grid line of the grid [{grid[0]}, {grid[-1]}] "
                              f"with spacing {h}")
    return k


def rectangle_circulation(vx: np.ndarray, vy: np.ndarray, x: np.ndarray, y: np.ndarray,
                          box: tuple[float, float, float, float]) -> float:
    r""":math:`\oint v\cdot dq` counter-clockwise around ``box = (x0, x1, y0, y1)``; its sides must be grid lines."""
    x0, x1, y0, y1 = box
    if not (x0 < x1 and y0 < y1):
        raise InvalidArgument(f"box: expected (x0, x1, y0, y1) with x0 < x1 and y0 < y1, got {box!r}")
    i0, i1 = _index(x, x0, "box x0"), _index(x, x1, "box x1")
    j0, j1 = _index(y, y0, "box y0"), _index(y, y1, "box y1")
    xs, ys = x[i0:i1 + 1], y[j0:j1 + 1]
    bottom = np.trapezoid(vx[i0:i1 + 1, j0], xs)
    right = np.trapezoid(vy[i1, j0:j1 + 1], ys)
    top = -np.trapezoid(vx[i0:i1 + 1, j1], xs)
    left = -np.trapezoid(vy[i0, j0:j1 + 1], ys)
    return float(bottom + right + top + left)


__all__ = ["central_gradient", "rectangle_circulation"]
