r"""Polynomial algebra for ensemble estimators: monomials :math:`z^\alpha` of standardised parameters, their
derivatives, and the Hermite-type test functions :math:`\varphi_\alpha = z^\alpha e^{-|z|^2/4}` with their
directional derivatives and Hessian contractions, all evaluated at the members of an ensemble.

Multi-indices :math:`\alpha\in\mathbb N^K`, :math:`|\alpha|\le d`, come in graded order (:func:`exponents`); there
are :math:`\binom{K+d}{d}` of them. Derivatives of monomials are exact integer-coefficient monomials,

.. math:: \partial_j z^\alpha = \alpha_j z^{\alpha-e_j},\qquad
          \partial_j\partial_l z^\alpha = \alpha_j(\alpha_l-\delta_{jl}) z^{\alpha-e_j-e_l},

and are contracted entry by entry (:class:`DerivTable`), never stored as (N, M, K) or (N, M, K, K) arrays, so a
contraction costs O(N M) whatever K. The property tests compare every function here with SymPy's exact
derivatives.

>>> exponents(2, 1).tolist()
[[0, 0], [1, 0], [0, 1]]
>>> monomials(np.array([[2.0, 3.0]]), exponents(2, 2), [1, 0]).tolist()   # d/dz1 of 1, z1, z2, z1^2, z1 z2, z2^2
[[0.0, 1.0, 0.0, 4.0, 3.0, 0.0]]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["DerivTable", "exponents", "hermite_terms", "monomials", "powers", "unit"]


def exponents(K: int, degree: int) -> np.ndarray:
    """Multi-indices alpha in N^K with |alpha| <= degree, graded order."""
    out = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(K), d):
            a = [0] * K
            for j in combo:
                a[j] += 1
            out.append(tuple(a))
    return np.array(sorted(out, key=lambda a: (sum(a), tuple(-x for x in a))), dtype=np.int64).reshape(-1, K)


def powers(z: np.ndarray, top: int) -> np.ndarray:
    """pw[j, :, r] = z[:, j]**r, r = 0..top, by repeated products (exact, cheaper than float ** on arrays)."""
    pw = np.ones((z.shape[1], z.shape[0], top + 1))
    for r in range(1, top + 1):
        pw[:, :, r] = pw[:, :, r - 1] * z.T
    return pw


def monomials(z: np.ndarray, E: np.ndarray, order: Sequence[int], pw: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\partial^{order}_z z^\alpha` for every row alpha of E at every point: shape (N, len(E)).
    ``pw``: :func:`powers` of z, when the caller reuses it across orders."""
    N, K = z.shape
    if pw is None:
        pw = powers(z, int(E.max()) if E.size else 0)
    # only rows with alpha >= order survive the derivative; within a row only the coordinates present in alpha
    # contribute a factor other than 1: the cost is O(N * sum over surviving rows of |alpha|), not O(N K len(E))
    alive = np.nonzero(np.all(E >= np.asarray(order)[None, :], axis=1))[0]
    sub = E[alive]
    res = np.ones((N, len(alive)))
    for j in range(K):
        rows = np.nonzero(sub[:, j] > 0)[0]
        if rows.size == 0:
            continue
        k = order[j]
        er = sub[rows, j]
        coef = np.ones(rows.size)
        for r in range(k):
            coef = coef * (er - r)
        res[:, rows] *= coef[None, :] * pw[j][:, er - k]
    if len(alive) == len(E):
        return res
    out = np.zeros((N, len(E)))
    out[:, alive] = res
    return out


def unit(K: int, *js: int) -> list[int]:
    """The derivative order e_j + e_l + ... (a list of K counts) of the coordinates ``js``."""
    o = [0] * K
    for j in js:
        o[j] += 1
    return o


@dataclass(frozen=True)
class DerivTable:
    r"""The non-zero first and second derivatives of the monomials :math:`z^\alpha`, alpha the rows of E:
    :math:`\partial_j z^\alpha = \alpha_j z^{\alpha-e_j}`,
    :math:`\partial_j\partial_l z^\alpha = \alpha_j(\alpha_l-\delta_{jl}) z^{\alpha-e_j-e_l}`, with j, l in the
    support of alpha only. Entries are grouped in *slots* (the k-th derivative entry of every row), so within a
    slot each row appears once and a contraction is a few vectorised updates: cost and memory O(N len(E)) per
    contraction instead of the O(N len(E) K^2) of the full derivative arrays."""

    reduced: np.ndarray  # exponents alpha - e_j and alpha - e_j - e_l that occur, one row each
    first: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]  # (rows, j, coef, reduced row)
    second: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]  # (rows, j, l, ...)

    @staticmethod
    def of(E: np.ndarray) -> "DerivTable":
        key = (E.shape, E.tobytes())
        hit = _DERIV_TABLES.get(key)
        if hit is not None:
            return hit
        red: dict[tuple[int, ...], int] = {}
        first: list[list[tuple]] = []
        second: list[list[tuple]] = []

        def slot(store: list, k: int, entry: tuple) -> None:
            while len(store) <= k:
                store.append([])
            store[k].append(entry)

        for r, a in enumerate(E):
            supp = [int(j) for j in np.nonzero(a)[0]]
            for k, j in enumerate(supp):
                b = a.copy()
                b[j] -= 1
                slot(first, k, (r, j, float(a[j]), red.setdefault(tuple(b), len(red))))
            k = 0
            for j in supp:
                for l in supp:
                    c = float(a[j] * (a[l] - (1 if j == l else 0)))
                    if c:
                        b = a.copy()
                        b[j] -= 1
                        b[l] -= 1
                        slot(second, k, (r, j, l, c, red.setdefault(tuple(b), len(red))))
                        k += 1

        def arrays(store: list) -> tuple:  # per slot: one array per column; the coefficient (next to last) float
            return tuple(tuple(np.array(col, dtype=float if i == len(entries[0]) - 2 else np.int64)
                               for i, col in enumerate(zip(*entries))) for entries in store)

        K = E.shape[1]
        reduced = np.array(sorted(red, key=red.get), dtype=np.int64).reshape(-1, K)
        out = DerivTable(reduced=reduced, first=arrays(first), second=arrays(second))
        _DERIV_TABLES[key] = out
        return out

    def directional(self, red: np.ndarray, u: np.ndarray, n_rows: int) -> np.ndarray:
        r""":math:`\sum_j u_j\partial_j z^\alpha` (N, len(E)); ``red`` the reduced monomials at the points,
        ``u`` (N, K)."""
        out = np.zeros((red.shape[0], n_rows))
        for rows, js, coef, ridx in self.first:
            out[:, rows] += coef * u[:, js] * red[:, ridx]
        return out

    def contracted(self, red: np.ndarray, W: np.ndarray, n_rows: int) -> np.ndarray:
        r""":math:`\sum_{jl} W_{jl}\partial_j\partial_l z^\alpha` (N, len(E)); W (N, K, K) or (K, K)."""
        out = np.zeros((red.shape[0], n_rows))
        for rows, js, ls, coef, ridx in self.second:
            w = W[:, js, ls] if W.ndim == 3 else W[js, ls][None, :]
            out[:, rows] += coef * w * red[:, ridx]
        return out


_DERIV_TABLES: dict[tuple, DerivTable] = {}


def hermite_terms(q: np.ndarray, mu: np.ndarray, sd: np.ndarray, E: np.ndarray,
                  vectors: Sequence[np.ndarray] = (), matrices: Sequence[np.ndarray | None] = ()
                  ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    r"""Test functions :math:`\varphi_\alpha = z^\alpha e^{-|z|^2/4}`, z = (q-mu)/sd, at the points q (N, K):
    the values (N, M), the directional derivatives :math:`v\cdot\nabla\varphi_\alpha` for each v (N, K) in
    ``vectors``, and the contractions :math:`W:\nabla^2\varphi_\alpha` for each symmetric W (N, K, K) in
    ``matrices`` (``None``: the identity, i.e. the Laplacian), all in q. With :math:`m = z^\alpha`,
    :math:`g = e^{-|z|^2/4}`, :math:`\tilde v_j = v_j/sd_j`, :math:`\tilde W_{jl} = W_{jl}/(sd_j sd_l)`:

    .. math:: v\cdot\nabla\varphi = \big[\tilde v\cdot\nabla_z m - \tfrac12(\tilde v\cdot z)m\big]g,\qquad
              W:\nabla^2\varphi = \big[\tilde W:\nabla_z^2 m - (\tilde Wz)\cdot\nabla_z m
              + m(\tfrac14 z^T\tilde Wz - \tfrac12\operatorname{tr}\tilde W)\big]g.

    The derivatives of m are contracted entry by entry (:class:`DerivTable`), never stored as (N, M, K) or
    (N, M, K, K) arrays: cost and memory O(N M) per term."""
    z = (q - mu) / sd
    N, K = z.shape
    M = len(E)
    top = int(E.max()) if E.size else 0
    pw = powers(z, top)
    g = np.exp(-0.25 * np.sum(z * z, axis=1))[:, None]
    m = monomials(z, E, [0] * K, pw)
    table = DerivTable.of(E)
    red = monomials(z, table.reduced, [0] * K, pw) if (vectors or matrices) else None
    dirs = []
    for v in vectors:
        vt = v / sd
        dirs.append((table.directional(red, vt, M) - 0.5 * np.sum(vt * z, axis=1)[:, None] * m) * g)
    contr = []
    for W in matrices:
        if W is None:  # the Laplacian: W~ = diag(1/sd^2), the same at every point
            Wt = np.diag(1.0 / sd ** 2)
            Wz = z * np.diag(Wt)[None, :]
            tr = np.full(N, np.trace(Wt))
        else:
            Wt = W / (sd[:, None] * sd[None, :])
            Wz = np.einsum("njl,nl->nj", Wt, z)
            tr = np.trace(Wt, axis1=1, axis2=2)
        acc = table.contracted(red, Wt, M) - table.directional(red, Wz, M)
        acc += m * (0.25 * np.sum(z * Wz, axis=1) - 0.5 * tr)[:, None]
        contr.append(acc * g)
    return m * g, dirs, contr

