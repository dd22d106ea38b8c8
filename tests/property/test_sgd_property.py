"""Properties of the SGD simulator and the finite-volume solver (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nnqg.numerics import _sgd
from nnqg.numerics._fp_solver import Grid2D, assemble, gaussian_cell_average, solve

TASK = _sgd.make_regression_task(np.random.default_rng(3), n_data=40)


@given(n=st.integers(1, 50), B=st.integers(1, 6), steps=st.integers(0, 12), every=st.integers(1, 5),
       gamma=st.floats(1e-3, 0.5), seed=st.integers(0, 2**32 - 1))
def test_backends_agree_bit_for_bit(n: int, B: int, steps: int, every: int, gamma: float, seed: int) -> None:
    q0 = np.random.default_rng(seed).standard_normal((n, 2))
    a = _sgd.simulate_sgd(TASK, q0, gamma, B, steps, np.random.default_rng(seed), record_every=every)
    b = _sgd.simulate_sgd(TASK, q0, gamma, B, steps, np.random.default_rng(seed), record_every=every,
                          backend="numpy")
    assert a.shape == (steps // every + 1, n, 2)
    assert np.array_equal(a, b)


@given(q=st.tuples(st.floats(-3, 3), st.floats(-3, 3)), B=st.integers(1, 8))
def test_full_batch_limit_is_gradient_descent(q: tuple[float, float], B: int) -> None:
    """With one data point every mini-batch is the full batch: SGD is deterministic gradient descent."""
    task = _sgd.RegressionTask(np.array([0.7, 0.7]), np.array([0.2, 0.2]))
    out = _sgd.simulate_sgd(task, np.array([q]), 0.1, B, 1, np.random.default_rng(0))
    g = task.per_example_gradients(q).mean(axis=0)
    assert np.allclose(out[1, 0], np.array(q) - 0.1 * g, rtol=1e-12, atol=1e-12)


@given(d=st.floats(0.05, 0.5), k=st.floats(0.2, 2.0), c=st.floats(-0.2, 0.2))
def test_solver_conserves_mass(d: float, k: float, c: float) -> None:
    g = Grid2D((-3.0, -3.0), (3.0, 3.0), (12, 12))

    def coef(q1: np.ndarray, q2: np.ndarray) -> dict[str, np.ndarray]:
        z = 0 * q1
        return {"A11": z + d, "A12": z + c * d, "A22": z + d * (1 + q1**2 / 9), "b1": k * q1, "b2": k * q2 + q1,
                "c0": z}

    p0 = gaussian_cell_average(g, (0.3, -0.2), (0.5, 0.6)).ravel()
    p = solve(assemble(g, coef), p0, [0.5, 1.0])
    assert np.allclose(p.sum(axis=1), p0.sum(), rtol=1e-10)
