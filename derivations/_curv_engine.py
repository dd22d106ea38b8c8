r"""The curvature engine proper: one implementation for every algebra (the flint field or SymPy expressions).

.. math::
    \Gamma^a{}_{bc} = \tfrac12 g^{ad}(\partial_b g_{dc} + \partial_c g_{db} - \partial_d g_{bc}),\qquad
    R_{bd} = \partial_a\Gamma^a{}_{db} - \partial_d\Gamma^a{}_{ab}
             + \Gamma^a{}_{ae}\Gamma^e{}_{db} - \Gamma^a{}_{de}\Gamma^e{}_{ab},

:math:`R = g^{bd}R_{bd}`, :math:`G_{ab} = R_{ab} - \tfrac12 R g_{ab}`, and the residual of a field equation
as a covariant 2-tensor.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from ._curv_prepare import Prepared
from ._errors import InvalidArgument

def _inverse(A, g) -> tuple[tuple[Any, ...], ...]:
    """Gauss-Jordan inverse, block by block (connected components of the non-zero pattern)."""
    n = len(g)
    nz = [[not A.is_zero(g[i][j]) for j in range(n)] for i in range(n)]
    seen: set[int] = set()
    inv = [[A.zero] * n for _ in range(n)]
    for s in range(n):
        if s in seen:
            continue
        block, stack = [], [s]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            block.append(i)
            stack.extend(j for j in range(n) if nz[i][j] and j not in seen)
        block.sort()
        m = len(block)
        M = [[g[i][j] for j in block] + [A.one if a == b else A.zero for b in range(m)]
             for a, i in enumerate(block)]
        for c in range(m):
            p = next((r for r in range(c, m) if not A.is_zero(M[r][c])), None)
            if p is None:
                raise InvalidArgument("the metric is degenerate (det g = 0)")
            M[c], M[p] = M[p], M[c]
            pinv = A.inv(M[c][c])
            M[c] = [A.finish(A.mul(x, pinv)) for x in M[c]]
            for r in range(m):
                if r != c and not A.is_zero(M[r][c]):
                    f = M[r][c]
                    M[r] = [A.finish(A.add(x, A.neg(A.mul(f, y)))) for x, y in zip(M[r], M[c])]
        for a, i in enumerate(block):
            for b, j in enumerate(block):
                inv[i][j] = M[a][m + b]
    return tuple(tuple(row) for row in inv)


@dataclass(frozen=True)
class Curvature:
    """Christoffel symbols ``Gamma[a][b][c]`` (:math:`\\Gamma^a{}_{bc}`), Ricci ``R_ab``, scalar, Einstein
    ``G_ab``, all elements of ``prepared.algebra``; ``seconds`` is the wall-clock time of the computation."""

    prepared: Prepared
    ginv: tuple
    Gamma: tuple
    ricci: tuple
    scalar: Any
    einstein: tuple
    seconds: float
    einstein_trace_coefficient: Fraction = Fraction(1, 2)

    @property
    def path(self) -> str:
        return self.prepared.path

    def riemann(self) -> tuple:
        """:math:`R^a{}_{bcd}` (computed on demand)."""
        A, n, Gm = self.prepared.algebra, self.prepared.dim, self.Gamma
        out = [[[[A.zero] * n for _ in range(n)] for _ in range(n)] for _ in range(n)]
        for a, b, c, d in itertools.product(range(n), repeat=4):
            if c >= d:
                continue
            terms = [A.deriv(Gm[a][d][b], c), A.neg(A.deriv(Gm[a][c][b], d))]
            for e in range(n):
                terms.append(A.mul(Gm[a][c][e], Gm[e][d][b]))
                terms.append(A.neg(A.mul(Gm[a][d][e], Gm[e][c][b])))
            v = A.finish(A.sum(terms))
            out[a][b][c][d] = v
            out[a][b][d][c] = A.neg(v)
        return tuple(tuple(tuple(tuple(x) for x in y) for y in z) for z in out)


def christoffel_from(A, g, ginv, n: int):
    """:math:`\\Gamma^a{}_{bc} = \\tfrac12 g^{ad}(\\partial_b g_{dc} + \\partial_c g_{db} - \\partial_d g_{bc})`."""
    dg = [[[A.deriv(g[a][b], k) if b >= a else None for b in range(n)] for a in range(n)] for k in range(n)]

    def d(k, a, b):
        return dg[k][a][b] if b >= a else dg[k][b][a]

    low = [[[None] * n for _ in range(n)] for _ in range(n)]
    for dd in range(n):
        for b in range(n):
            for c in range(b, n):
                low[dd][b][c] = A.scale(A.sum([d(b, dd, c), d(c, dd, b), A.neg(d(dd, b, c))]), Fraction(1, 2))
    Gm = [[[A.zero] * n for _ in range(n)] for _ in range(n)]
    for a in range(n):
        for b in range(n):
            for c in range(b, n):
                v = A.finish(A.sum([A.mul(ginv[a][dd], low[dd][b][c]) for dd in range(n)
                                    if not A.is_zero(ginv[a][dd])]))
                Gm[a][b][c] = v
                Gm[a][c][b] = v
    return tuple(tuple(tuple(x) for x in y) for y in Gm)


def compute(prep: Prepared, *, christoffel_hook: Callable[[tuple], tuple] | None = None,
            einstein_trace_coefficient: Fraction = Fraction(1, 2)) -> Curvature:
    """All curvature tensors of a prepared metric. ``christoffel_hook`` (tests and planted errors only, through a
    claim's inputs) may replace the connection before the curvature is built from it."""
    t0 = time.perf_counter()
    A, n, g = prep.algebra, prep.dim, prep.g
    ginv = _inverse(A, g)
    Gm = christoffel_from(A, g, ginv, n)
    if christoffel_hook is not None:
        Gm = christoffel_hook(Gm, prep)
    # R_bd = d_a G^a_db - d_d G^a_ab + G^a_ae G^e_db - G^a_de G^e_ab
    trace = [A.sum([Gm[a][a][b] for a in range(n)]) for b in range(n)]  # G^a_ab
    ric = [[A.zero] * n for _ in range(n)]
    for b in range(n):
        for d in range(b, n):
            terms = [A.deriv(Gm[a][d][b], a) for a in range(n)]
            terms.append(A.neg(A.deriv(trace[b], d)))
            for e in range(n):
                if not A.is_zero(trace[e]) and not A.is_zero(Gm[e][d][b]):
                    terms.append(A.mul(trace[e], Gm[e][d][b]))
            for a in range(n):
                for e in range(n):
                    x, y = Gm[a][d][e], Gm[e][a][b]
                    if not A.is_zero(x) and not A.is_zero(y):
                        terms.append(A.neg(A.mul(x, y)))
            v = A.finish(A.sum(terms))
            ric[b][d] = v
            ric[d][b] = v
    R = A.finish(A.sum([A.mul(ginv[a][b], ric[a][b]) for a in range(n) for b in range(n)
                        if not A.is_zero(ginv[a][b])]))
    halfR = A.scale(R, einstein_trace_coefficient)
    G = tuple(tuple(A.finish(A.add(ric[a][b], A.neg(A.mul(halfR, g[a][b])))) for b in range(n)) for a in range(n))
    return Curvature(prep, ginv, Gm, tuple(tuple(r) for r in ric), R, G, time.perf_counter() - t0,
                     einstein_trace_coefficient)


def einstein_divergence(cv: Curvature) -> tuple[Any, ...]:
    r""":math:`\nabla_a G^a{}_b = \partial_a G^a{}_b + \Gamma^a{}_{ae} G^e{}_b - \Gamma^e{}_{ab} G^a{}_e`
    (the mixed Einstein tensor :math:`G^a{}_b = g^{ac}G_{cb}`); the contracted Bianchi identity says it is 0."""
    prep = cv.prepared
    A, n, Gm, ginv = prep.algebra, prep.dim, cv.Gamma, cv.ginv
    mixed = [[A.finish(A.sum([A.mul(ginv[a][c], cv.einstein[c][b]) for c in range(n)
                              if not A.is_zero(ginv[a][c])])) for b in range(n)] for a in range(n)]
    trace = [A.sum([Gm[a][a][e] for a in range(n)]) for e in range(n)]
    out = []
    for b in range(n):
        terms = [A.deriv(mixed[a][b], a) for a in range(n)]
        for e in range(n):
            terms.append(A.mul(trace[e], mixed[e][b]))
            for a in range(n):
                terms.append(A.neg(A.mul(Gm[e][a][b], mixed[a][e])))
        out.append(A.finish(A.sum(terms)))
    return tuple(out)




def residual_tensor(cv: Curvature, equation: str, *, lambda_index: int | None = None,
                    stress_index: int | None = None, kappa_index: int | None = None) -> tuple[str, tuple]:
    """The residual of ``equation`` as a covariant 2-tensor in the prepared algebra.

    ``ricci_flat``: :math:`R_{ab}` (kind "R"); ``einstein_lambda``: :math:`E_{ab} = G_{ab} + \\Lambda g_{ab}`;
    ``einstein``: :math:`E_{ab} = G_{ab} + \\Lambda g_{ab} - \\kappa T_{ab}` (:math:`\\kappa = 8\\pi G`, default
    :math:`8\\pi`)."""
    prep = cv.prepared
    A, n = prep.algebra, prep.dim
    if equation == "ricci_flat":
        return "R", cv.ricci
    lam = prep.scalars[lambda_index] if lambda_index is not None else A.zero
    out = []
    for a in range(n):
        row = []
        for b in range(n):
            terms = [cv.einstein[a][b], A.mul(lam, prep.g[a][b])]
            if equation == "einstein" and stress_index is not None:
                kappa = prep.scalars[kappa_index] if kappa_index is not None else None
                T = prep.tensors[stress_index][a][b]
                terms.append(A.neg(A.mul(kappa, T)))
            row.append(A.finish(A.sum(terms)))
        out.append(tuple(row))
    return "E", tuple(out)


def maxwell_tensor(cv: Curvature, potential: tuple, four_pi: Any) -> tuple:
    """:math:`T_{ab} = (F_{ac}F_{bd}g^{cd} - \\tfrac14 g_{ab}F_{cd}F^{cd})/(4\\pi)`,
    :math:`F_{ab} = \\partial_a A_b - \\partial_b A_a` (Gaussian units), in the prepared algebra; ``four_pi``
    is :math:`4\\pi` as an element of it."""
    prep = cv.prepared
    A, n, g, gi = prep.algebra, prep.dim, prep.g, cv.ginv
    dA = [[A.deriv(potential[b], k) for b in range(n)] for k in range(n)]
    F = [[A.add(dA[a][b], A.neg(dA[b][a])) for b in range(n)] for a in range(n)]
    FgF = [[A.finish(A.sum([A.mul(A.mul(F[a][c], F[b][d]), gi[c][d]) for c in range(n) for d in range(n)
                            if not A.is_zero(gi[c][d])])) for b in range(n)] for a in range(n)]
    F2 = A.finish(A.sum([A.mul(gi[a][b], FgF[a][b]) for a in range(n) for b in range(n)
                         if not A.is_zero(gi[a][b])]))
    inv4pi = A.inv(four_pi)
    return tuple(tuple(A.finish(A.mul(A.add(FgF[a][b], A.neg(A.scale(A.mul(g[a][b], F2), Fraction(1, 4)))),
                                      inv4pi)) for b in range(n)) for a in range(n))
