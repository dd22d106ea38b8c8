r"""Strategies for networks: sizes, weight structures and the speed profiles of emergent metrics
(implementation of :mod:`nnqg.strategies`).

A weight structure is drawn as a :class:`WeightStructure`: a name and a callable :math:`n \mapsto W`
(``2n x 2n`` for the two-population networks of the Lorentz claims, ``n x n`` otherwise), so a claim that takes
``weights`` as an input gets it through the same path as a user's callable. Random matrices come from a NumPy
generator seeded by a drawn integer (hypothesis shrinks the seed, the structure's parameters and the size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sps
from hypothesis import strategies as st

from nnqg.numerics._network import shift_matrix

from ._strategies_quantum import decimal_text, grid, linear_text


@st.composite
def network_sizes(draw: st.DrawFn, block: int = 4, min_blocks: int = 4, max_size: int = 1024) -> int:
    """Network sizes n: a multiple of ``block`` with at least ``min_blocks`` blocks, at most ``max_size``;
    shrinks towards the smallest."""
    if block < 1 or min_blocks < 1 or block * min_blocks > max_size:
        raise ValueError(f"network_sizes: no size fits block={block}, min_blocks={min_blocks}, max_size={max_size}")
    return block * draw(st.integers(min_blocks, max_size // block))


@dataclass(frozen=True)
class WeightStructure:
    """A named weight structure: ``build(n)`` returns the weight matrix for a network of size parameter n."""

    name: str
    build: Callable[[int], sps.csr_matrix]

    def __call__(self, n: int) -> sps.csr_matrix:
        return self.build(n)

    def __repr__(self) -> str:
        return f"WeightStructure({self.name!r})"


def _two_population(k: int) -> Callable[[int], sps.csr_matrix]:
    def build(n: int) -> sps.csr_matrix:
        S = shift_matrix(n, k)
        return sps.block_diag((S, S.T), format="csr")
    return build


@st.composite
def shift_structures(draw: st.DrawFn, max_shift: int = 3) -> WeightStructure:
    r"""Two-population shift networks :math:`W = \mathrm{diag}(S^k, S^{-k})` (right- and left-movers moving k
    neurons per update): permutation matrices, for which the averaged states obey the wave equation."""
    k = draw(st.integers(1, max_shift))
    return WeightStructure(f"two-population shift by {k}", _two_population(k))


@st.composite
def random_structures(draw: st.DrawFn) -> WeightStructure:
    """Generic (not claimed) structures for a user's tests: a random permutation, a sparse random matrix with a
    drawn density, a dense Gaussian matrix scaled by 1/sqrt(n); each from a drawn seed."""
    kind = draw(st.sampled_from(["permutation", "sparse", "dense"]))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(grid("0.05", "0.5", "0.05", "0.1"))

    def build(n: int) -> sps.csr_matrix:
        rng = np.random.default_rng(seed)
        if kind == "permutation":
            return sps.csr_matrix((np.ones(n), (np.arange(n), rng.permutation(n))), shape=(n, n))
        if kind == "sparse":
            return sps.random(n, n, density=density, random_state=rng, format="csr")
        return sps.csr_matrix(rng.standard_normal((n, n)) / np.sqrt(n))
    return WeightStructure(f"{kind} (seed {seed}{', density ' + decimal_text(density) if kind == 'sparse' else ''})", build)


@st.composite
def speed_profiles(draw: st.DrawFn, max_modes: int = 2) -> str:
    r"""Periodic local light speeds on the unit ring, as formulas in x:
    :math:`c(x) = 1 + \sum_j a_j \sin(2\pi j x + \varphi_j)` with :math:`\sum |a_j| \le 0.5` (so c >= 1/2),
    phases 0 or :math:`\pi/2` (sin or cos)."""
    terms: list[tuple[float, str]] = [(1, "")]
    budget = 0.5
    for j in range(1, draw(st.integers(1, max_modes)) + 1):
        a = draw(grid(-budget, budget, "0.05", "0.3" if j == 1 and budget >= 0.3 else "0"))
        budget = round(budget - abs(a), 10)
        fn = draw(st.sampled_from(["sin", "cos"]))
        terms.append((a, f"{fn}({'2' if j == 1 else 2 * j}*pi*x)"))
    return linear_text(terms)
