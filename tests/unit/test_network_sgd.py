"""The one-hidden-layer tanh network task (numerics._network_sgd): its gradients against SymPy's derivatives of the
loss, its numba moments against the NumPy reference, the SGD kernel against the model it claims (exactly, on a
data set where SGD is gradient descent; statistically, one step's mean and covariance), and its bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from nnqg.derivations import InvalidArgument
from nnqg.numerics._network_sgd import NetworkModel, make_network_task, simulate_network_sgd


def _sympy_per_example(task, P: np.ndarray, trainable: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-example loss and gradient from SymPy's derivatives of (f - y)^2/2: independent of the hand-written
    backpropagation."""
    W = task.width
    a, w, b = sp.symbols(f"a1:{W + 1}"), sp.symbols(f"w1:{W + 1}"), sp.symbols(f"b1:{W + 1}")
    c, x, y = sp.symbols("c x y")
    params = list(a) + [c] + list(w) + list(b)
    ell = (sum(a[j] * sp.tanh(w[j] * x + b[j]) for j in range(W)) + c - y) ** 2 / 2
    K = 3 * W + 1 if trainable == "all" else W + 1
    f = sp.lambdify([params, x, y], [ell] + [sp.diff(ell, v) for v in params[:K]], "numpy")
    loss = np.empty((len(P), task.x.size))
    grad = np.empty((len(P), task.x.size, K))
    for i, p in enumerate(P):
        out = f(list(p), task.x, task.y)
        loss[i] = out[0]
        grad[i] = np.stack([np.broadcast_to(o, task.x.shape) for o in out[1:]], axis=1)
    return loss, grad


@pytest.mark.parametrize("trainable", ["all", "readout"])
def test_gradients_and_covariance_match_sympy(trainable: str) -> None:
    rng = np.random.default_rng(0)
    task = make_network_task(rng, width=2, n_data=30)
    model = NetworkModel(task, trainable)
    Q = model.initial_ensemble(rng, 4, spread=0.7)
    loss, grad = _sympy_per_example(task, model.full(Q), trainable)
    U, G, C = model.moments(Q)
    r, g = model.per_example(model.full(Q))
    assert np.allclose(g, grad, rtol=1e-12, atol=1e-12)
    assert np.allclose(U, loss.mean(axis=1), rtol=1e-12)
    assert np.allclose(G, grad.mean(axis=1), rtol=1e-12, atol=1e-13)
    for i in range(len(Q)):
        assert np.allclose(C[i], np.cov(grad[i].T, bias=True), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("trainable", ["all", "readout"])
def test_on_identical_examples_sgd_is_gradient_descent_of_the_model(trainable: str) -> None:
    """Every mini-batch of a data set of copies of one example has the full gradient: the kernel must reproduce
    q <- q - gamma grad U step by step, and leave the frozen coordinates alone."""
    rng = np.random.default_rng(1)
    task = make_network_task(rng, width=3, n_data=8)
    task = type(task)(x=np.full(8, 0.7), y=np.full(8, -0.3), width=3, init=task.init)
    model = NetworkModel(task, trainable)
    q0 = model.initial_ensemble(rng, 5, spread=0.2)
    traj = simulate_network_sgd(model, q0, 0.15, 3, 20, rng)
    ref = q0.copy()
    for s in range(1, 21):
        ref = ref - 0.15 * model.grad(ref)
        assert np.allclose(traj[s], ref, rtol=1e-12, atol=1e-12), s
    # a planted error: descent with the wrong sign of the hidden-layer gradient is told apart
    if trainable == "all":
        bad = q0.copy()
        for _ in range(20):
            g = model.grad(bad)
            g[:, 4:] *= -1
            bad = bad - 0.15 * g
        assert not np.allclose(traj[-1], bad, rtol=1e-6)


def test_one_sgd_step_has_the_models_drift_and_diffusion() -> None:
    r"""From one point q, E[dq] = -gamma grad U and Cov[dq] = gamma^2 Sigma / B (with replacement). 200k members:
    the mean is judged by its z-scores, the covariance by its relative error against its own sampling error;
    the same test refuses a covariance with the wrong B (a planted factor 2)."""
    rng = np.random.default_rng(2)
    task = make_network_task(rng, width=2, n_data=64)
    model = NetworkModel(task, "all")
    gamma, B, N = 0.1, 2, 200_000
    q = np.tile(model.initial_ensemble(rng, 1, 0.3), (N, 1))
    dq = np.diff(simulate_network_sgd(model, q, gamma, B, 1, rng, parallel=True), axis=0)[0]
    _, G, C = model.moments(q[:1])
    mean_se = dq.std(axis=0, ddof=1) / np.sqrt(N)
    z = (dq.mean(axis=0) + gamma * G[0]) / mean_se
    assert np.all(np.abs(z) < 5), z
    emp = np.cov(dq.T)
    # sampling error of a covariance entry: sqrt((C_ii C_jj + C_ij^2) / N) for Gaussian-like increments, and the
    # increments of B = 2 draws are far from Gaussian, so allow 8 of those
    want = gamma ** 2 * C[0] / B
    err = 8 * np.sqrt((np.outer(np.diag(emp), np.diag(emp)) + emp ** 2) / N)
    assert np.all(np.abs(emp - want) < err), np.max(np.abs(emp - want) / err)
    assert not np.all(np.abs(emp - want / 2) < err)


def test_same_seed_same_trajectory_serial_or_parallel() -> None:
    task = make_network_task(np.random.default_rng(3), width=2, n_data=32)
    model = NetworkModel(task, "all")
    q0 = model.initial_ensemble(np.random.default_rng(4), 300, 0.1)
    a = simulate_network_sgd(model, q0, 0.1, 4, 30, np.random.default_rng(5), parallel=False)
    b = simulate_network_sgd(model, q0, 0.1, 4, 30, np.random.default_rng(5), parallel=True)
    c = simulate_network_sgd(model, q0, 0.1, 4, 30, np.random.default_rng(6), parallel=False)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("call, name", [
    (lambda r: make_network_task(r, width=0), "width"),
    (lambda r: make_network_task(r, width=2.5), "width"),
    (lambda r: make_network_task(r, width=2, n_data=1), "n_data"),
    (lambda r: NetworkModel(make_network_task(r, width=2), "hidden"), "trainable"),
    (lambda r: simulate_network_sgd(NetworkModel(make_network_task(r, 2)), np.zeros((3, 5)), 0.1, 1, 2, r), "q0"),
    (lambda r: simulate_network_sgd(NetworkModel(make_network_task(r, 2)), np.full((3, 7), np.nan), 0.1, 1, 2, r),
     "q0"),
    (lambda r: simulate_network_sgd(NetworkModel(make_network_task(r, 2)), np.zeros((3, 7)), -0.1, 1, 2, r),
     "gamma"),
    (lambda r: simulate_network_sgd(NetworkModel(make_network_task(r, 2)), np.zeros((3, 7)), 0.1, 0, 2, r),
     "batch_size"),
])
def test_bad_input_names_it(call, name: str) -> None:
    with pytest.raises(InvalidArgument, match=name):
        call(np.random.default_rng(0))


@pytest.mark.parametrize("simulator", ["regression", "network"])
def test_parallel_kernels_stay_parallel_after_the_serial_ones_were_cached(tmp_path, simulator: str) -> None:
    """numba keys its on-disk cache by the function's name, not by ``parallel``: with one function behind both
    variants, a serial compile cached first was loaded for the parallel one (which then never started a thread).
    In a fresh cache: compile the serial kernel in one process, then run the parallel one in another and check
    numba's thread pool was started."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NNQG_CACHE_DIR": str(tmp_path)}  # the sealed jit cache lives under it
    call = {
        "regression": "s.simulate_sgd(s.make_regression_task(r, 16), np.zeros((8, 2)), 0.1, 1, 2, r, parallel={par})",
        "network": "m = n.NetworkModel(n.make_network_task(r, 2, 16)); "
                   "n.simulate_network_sgd(m, m.initial_ensemble(r, 8, 0.1), 0.1, 1, 2, r, parallel={par})",
    }[simulator]
    run = f"""
import numpy as np, numba
from nnqg.numerics import _network_sgd as n, _sgd as s
r = np.random.default_rng(0)
{call}
try:
    print(numba.threading_layer())
except ValueError:
    print("no threads")
"""
    out = [subprocess.run([sys.executable, "-c", run.format(par=par)], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() for par in (False, True)]
    assert out[0] == "no threads" and out[1] != "no threads", out


def test_the_kept_moments_follow_the_contents_of_the_ensemble() -> None:
    """grad and grad_cov share one pass over the data per snapshot: an ensemble changed in place, or a returned
    array changed by the caller, must not give stale numbers."""
    rng = np.random.default_rng(7)
    model = NetworkModel(make_network_task(rng, width=2, n_data=20))
    Q = model.initial_ensemble(rng, 3, 0.3)
    g = model.grad(Q)
    g[:] = 0.0
    assert np.array_equal(model.grad(Q), model.moments(Q)[1])
    Q[1] += 0.5
    U, G, C = model.moments(Q)
    assert np.array_equal(model.grad(Q), G) and np.array_equal(model.grad_cov(Q), C)
    assert np.array_equal(model.loss(Q), U)
