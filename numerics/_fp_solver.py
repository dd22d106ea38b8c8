r"""Finite-volume method of lines for a two-dimensional Fokker-Planck equation in conservative form.

The stated operator (derived in :mod:`nnqg.derivations._fokker_planck`) is brought to flux form

.. math:: \partial_t p = \sum_i \partial_i\Big(\sum_j A_{ij}(q)\,\partial_j p + b_i(q)\,p\Big) + c_0(q)\,p ,

and the coefficients ``A11, A12, A22, b1, b2, c0`` are evaluated pointwise by a kernel generated from the SymPy
expressions (:func:`nnqg.numerics.compile_residual`). On a uniform grid of cells with averages
:math:`p_{ij}` the flux through the face between cells (i, j) and (i+1, j) is

.. math:: F_{i+\frac12,j} = A_{11}\frac{p_{i+1,j}-p_{ij}}{h_1}
          + A_{12}\frac{p_{i,j+1}-p_{i,j-1}+p_{i+1,j+1}-p_{i+1,j-1}}{4h_2}
          + b_1\,\frac{p_{ij}+p_{i+1,j}}{2}

(coefficients at the face centre; ``scheme="central"``, second order), or with the drift term taken from the
upwind cell (``scheme="upwind"``, first order; kept as a planted error and for comparison). Then
:math:`\dot p_{ij} = (F_{i+\frac12,j}-F_{i-\frac12,j})/h_1 + (G_{i,j+\frac12}-G_{i,j-\frac12})/h_2 + c_0 p_{ij}`:
what leaves one cell enters its neighbour, so mass is conserved to round-off when c0 = 0. The boundary is
closed (zero flux), cells outside the grid count as p = 0 in the cross term. The linear system
:math:`\dot p = M p` is integrated exactly in time by the action of the matrix exponential
(:func:`expm_action`, deterministic), so the only discretisation error is the spatial one.

>>> g = Grid2D((-4.0, -4.0), (4.0, 4.0), (40, 40))
>>> coef = lambda q1, q2: {"A11": 0 * q1 + 0.5, "A12": 0 * q1, "A22": 0 * q1 + 0.5, "b1": q1, "b2": q2,
...                        "c0": 0 * q1}
>>> M = assemble(g, coef)
>>> p0 = gaussian_cell_average(g, (1.0, 0.0), (0.5, 0.5)).ravel()
>>> p = solve(M, p0, [1.0])[0]
>>> bool(abs(p.sum() - p0.sum()) < 1e-12 * p0.sum())    # mass conserved
True
"""

from __future__ import annotations

from dataclasses import dataclass
from math import erf, sqrt
from typing import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sps

from nnqg.derivations import InvalidArgument

CoefficientFn = Callable[[np.ndarray, np.ndarray], Mapping[str, np.ndarray]]
SCHEMES = ("central", "upwind")


@dataclass(frozen=True)
class Grid2D:
    """Uniform cell grid on the box [lo, hi] with n = (n1, n2) cells."""

    lo: tuple[float, float]
    hi: tuple[float, float]
    n: tuple[int, int]

    def __post_init__(self) -> None:
        if any(int(k) < 3 for k in self.n):
            raise InvalidArgument(f"grid cells n must be at least 3 per axis, got {self.n}")
        if any(not (b > a) for a, b in zip(self.lo, self.hi)):
            raise InvalidArgument(f"grid box: need lo < hi, got lo={self.lo}, hi={self.hi}")

    @property
    def h(self) -> tuple[float, float]:
        return ((self.hi[0] - self.lo[0]) / self.n[0], (self.hi[1] - self.lo[1]) / self.n[1])

    @property
    def cell_area(self) -> float:
        return self.h[0] * self.h[1]

    def edges(self, axis: int) -> np.ndarray:
        return np.linspace(self.lo[axis], self.hi[axis], self.n[axis] + 1)

    def centres(self, axis: int) -> np.ndarray:
        e = self.edges(axis)
        return 0.5 * (e[1:] + e[:-1])

    def refined(self, factor: int = 2) -> "Grid2D":
        return Grid2D(self.lo, self.hi, (self.n[0] * factor, self.n[1] * factor))


def gaussian_cell_average(grid: Grid2D, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Exact cell averages of the product Gaussian N(mean, diag(std^2)) (erf differences), shape (n1, n2)."""
    parts = []
    for ax in range(2):
        e = (grid.edges(ax) - mean[ax]) / (sqrt(2.0) * std[ax])
        cdf = 0.5 * (1.0 + np.array([erf(v) for v in e]))
        parts.append(np.diff(cdf) / grid.h[ax])
    return np.outer(parts[0], parts[1])


def assemble(grid: Grid2D, coefficients: CoefficientFn, scheme: str = "central") -> sps.csr_matrix:
    """The sparse matrix M of the semi-discrete system dp/dt = M p (p = cell averages, C order (i, j))."""
    if scheme not in SCHEMES:
        raise InvalidArgument(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    n1, n2 = grid.n
    h1, h2 = grid.h
    c1, c2 = grid.centres(0), grid.centres(1)
    e1, e2 = grid.edges(0), grid.edges(1)
    idx = np.arange(n1 * n2).reshape(n1, n2)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []

    def face_terms(axis: int) -> None:
        # faces normal to `axis` between cell L = (i, j) and R = (i, j) + e_axis
        if axis == 0:
            F1, F2 = np.meshgrid(e1[1:-1], c2, indexing="ij")
            L, R = idx[:-1, :], idx[1:, :]
            h, ht = h1, h2
        else:
            F1, F2 = np.meshgrid(c1, e2[1:-1], indexing="ij")
            L, R = idx[:, :-1], idx[:, 1:]
            h, ht = h2, h1
        co = coefficients(F1.ravel(), F2.ravel())
        Aii = np.asarray(co["A11" if axis == 0 else "A22"], dtype=float).reshape(F1.shape)
        Aij = np.asarray(co["A12"], dtype=float).reshape(F1.shape)
        b = np.asarray(co["b1" if axis == 0 else "b2"], dtype=float).reshape(F1.shape)
        terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (face mask, cell, weight) of the flux
        full = np.ones(F1.shape, dtype=bool)
        if scheme == "central":
            terms += [(full, R, Aii / h + b / 2), (full, L, -Aii / h + b / 2)]
        else:
            up_right = b > 0  # transport velocity -b < 0: the upwind cell is R
            terms += [(full, R, Aii / h + np.where(up_right, b, 0.0)),
                      (full, L, -Aii / h + np.where(up_right, 0.0, b))]
        # cross derivative along the other axis: (p[+1] - p[-1]) averaged over the two cells, zero outside
        for cell in (L, R):
            if axis == 0:
                plus = np.full(cell.shape, -1)
                plus[:, :-1] = cell[:, :-1] + 1
                minus = np.full(cell.shape, -1)
                minus[:, 1:] = cell[:, 1:] - 1
            else:
                plus = np.full(cell.shape, -1)
                plus[:-1, :] = cell[:-1, :] + n2
                minus = np.full(cell.shape, -1)
                minus[1:, :] = cell[1:, :] - n2
            terms += [(plus >= 0, plus, Aij / (4 * ht)), (minus >= 0, minus, -Aij / (4 * ht))]
        for mask, cell, w in terms:
            m = mask.ravel()
            cc = cell.ravel()[m]
            ww = w.ravel()[m]
            for target, sign in ((L, 1.0), (R, -1.0)):
                rows.append(target.ravel()[m])
                cols.append(cc)
                vals.append(sign * ww / h)

    face_terms(0)
    face_terms(1)
    C1, C2 = np.meshgrid(c1, c2, indexing="ij")
    c0 = np.asarray(coefficients(C1.ravel(), C2.ravel())["c0"], dtype=float)
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(c0.ravel() * np.ones(n1 * n2))
    M = sps.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n1 * n2, n1 * n2))
    return M.tocsr()


def expm_action(M: sps.spmatrix, v: np.ndarray, t: float, theta: float = 4.0, max_terms: int = 80) -> np.ndarray:
    r""":math:`e^{tM}v` by a scaled, shifted Taylor series (the scheme of Al-Mohy & Higham, SIAM J. Sci.
    Comput. 33 (2011), with a fixed scaling instead of their norm *estimates*): shift by
    :math:`\mu = \mathrm{tr}M/n`, split :math:`t` into s steps with :math:`\|t(M-\mu)/s\|_1 \le \theta`
    (exact 1-norm), sum each step's series until two successive terms are below double precision.

    Unlike :func:`scipy.sparse.linalg.expm_multiply` (whose ``onenormest`` draws random vectors from NumPy's
    global generator) every operation is deterministic, so the same seed gives bit-identical reports."""
    n = M.shape[0]
    mu = float(M.diagonal().sum()) / n
    A = (M - mu * sps.identity(n, format="csr")).tocsr()
    norm = float(abs(A).sum(axis=0).max()) * t
    s = max(1, int(np.ceil(norm / theta)))
    h = t / s
    eta = np.exp(mu * h)
    f = np.asarray(v, dtype=float).copy()
    tol = 2.0**-53
    for _ in range(s):
        b = f.copy()
        c1 = float(np.abs(b).max())
        for j in range(1, max_terms + 1):
            b = (h / j) * (A @ b)
            f += b
            c2 = float(np.abs(b).max())
            if c1 + c2 <= tol * float(np.abs(f).max()):
                break
            c1 = c2
        f *= eta
    return f


def solve(M: sps.csr_matrix, p0: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """p(t) = exp(t M) p0 at the increasing ``times`` (t >= 0), shape (len(times), len(p0))."""
    ts = [float(t) for t in times]
    if any(t < 0 for t in ts) or any(b < a for a, b in zip(ts, ts[1:])):
        raise InvalidArgument(f"times must be non-negative and increasing, got {ts}")
    out = np.empty((len(ts), p0.size))
    p, t_prev = np.asarray(p0, dtype=float).ravel(), 0.0
    for k, t in enumerate(ts):
        if t > t_prev:
            p = expm_action(M, p, t - t_prev)
        out[k] = p
        t_prev = t
    return out


def coarse_masses(grid: Grid2D, p: np.ndarray, factor: int) -> np.ndarray:
    """Masses of blocks of factor x factor cells (the bins of a histogram nested in the grid)."""
    n1, n2 = grid.n
    if n1 % factor or n2 % factor:
        raise InvalidArgument(f"factor {factor} must divide the grid cells {grid.n}")
    m = np.asarray(p).reshape(n1, n2) * grid.cell_area
    return m.reshape(n1 // factor, factor, n2 // factor, factor).sum(axis=(1, 3))


__all__ = ["CoefficientFn", "Grid2D", "SCHEMES", "assemble", "coarse_masses", "expm_action", "gaussian_cell_average",
           "solve"]
