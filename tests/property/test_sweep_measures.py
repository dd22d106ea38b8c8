"""The ensemble estimators' polynomial algebra (numerics._polynomials) against SymPy: the monomial derivatives and the test functions'
directional derivatives and Hessian contractions (which the measures use instead of full Hessians) equal the
exact derivatives of phi_alpha = z^alpha exp(-|z|^2/4), z = (q - mu)/sd, for random K, points and weights."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from nnqg.numerics import _polynomials as P

finite = st.floats(-2.0, 2.0, allow_nan=False)


@lru_cache(maxsize=None)
def _exact(K: int):
    """Lambdified phi_alpha, its gradient and its Hessian in q (alpha over |alpha| <= 2), from SymPy."""
    q = sp.symbols(f"q0:{K}", real=True)
    mu = sp.symbols(f"m0:{K}", real=True)
    sd = sp.symbols(f"s0:{K}", positive=True)
    z = [(q[j] - mu[j]) / sd[j] for j in range(K)]
    g = sp.exp(-sum(x * x for x in z) / 4)
    phis = [sp.Mul(*[z[j] ** int(a[j]) for j in range(K)]) * g for a in P.exponents(K, 2)]
    val = sp.lambdify([q, mu, sd], phis, "numpy")
    grad = sp.lambdify([q, mu, sd], [[sp.diff(p, v) for v in q] for p in phis], "numpy")
    hess = sp.lambdify([q, mu, sd], [[[sp.diff(p, a, b) for b in q] for a in q] for p in phis], "numpy")
    return val, grad, hess


@st.composite
def cases(draw):
    K = draw(st.integers(1, 3))
    n = draw(st.integers(1, 4))
    arr = lambda *shape: np.array(draw(st.lists(finite, min_size=int(np.prod(shape)),  # noqa: E731
                                                max_size=int(np.prod(shape))))).reshape(shape)
    sd = np.array(draw(st.lists(st.floats(0.3, 3.0), min_size=K, max_size=K)))
    A = arr(n, K, K)
    return K, arr(n, K), arr(K), sd, arr(n, K), A + A.transpose(0, 2, 1)


@given(cases())
def test_test_function_contractions_equal_sympy_derivatives(case) -> None:
    K, q, mu, sd, v, W = case
    val, grad, hess = _exact(K)
    E = P.exponents(K, 2)
    got_val, (got_dir,), (got_w, got_lap) = P.hermite_terms(q, mu, sd, E, [v], [W, None])
    for i in range(len(q)):
        ex_val = np.array(val(q[i], mu, sd), dtype=float)
        ex_grad = np.array(grad(q[i], mu, sd), dtype=float)  # (M, K)
        ex_hess = np.array(hess(q[i], mu, sd), dtype=float)  # (M, K, K)
        scale = 1.0 + np.abs(ex_hess).max() * (1 + np.abs(W[i]).max())
        assert np.allclose(got_val[i], ex_val, rtol=1e-12, atol=1e-12)
        assert np.allclose(got_dir[i], ex_grad @ v[i], rtol=1e-10, atol=1e-12 * scale)
        assert np.allclose(got_w[i], np.einsum("mjl,jl->m", ex_hess, W[i]), rtol=1e-10, atol=1e-12 * scale)
        assert np.allclose(got_lap[i], np.trace(ex_hess, axis1=1, axis2=2), rtol=1e-10, atol=1e-12 * scale)


@given(st.integers(1, 4), st.integers(0, 3), st.data())
def test_monomial_derivatives_equal_sympy(K: int, degree: int, data) -> None:
    order = data.draw(st.lists(st.integers(0, 2), min_size=K, max_size=K))
    z = np.array(data.draw(st.lists(finite, min_size=2 * K, max_size=2 * K))).reshape(2, K)
    zs = sp.symbols(f"z0:{K}")
    E = P.exponents(K, degree)
    got = P.monomials(z, E, order)
    for r, a in enumerate(E):
        d = sp.Mul(*[zs[j] ** int(a[j]) for j in range(K)])
        for j, k in enumerate(order):
            d = sp.diff(d, zs[j], k) if k else d
        f = sp.lambdify([zs], d, "numpy")
        assert np.allclose(got[:, r], [float(f(list(row))) for row in z], rtol=1e-12, atol=1e-12)


def test_exponents_are_graded_and_complete() -> None:
    E = P.exponents(3, 2)
    assert len(E) == 10 and E[0].tolist() == [0, 0, 0] and sorted(E.sum(axis=1).tolist()) == E.sum(axis=1).tolist()
    assert {tuple(a) for a in E} == {(a, b, c) for a in range(3) for b in range(3) for c in range(3) if a + b + c <= 2}
