r"""Ensembles of SGD learners on a two-parameter regression, and their distance from the Fokker-Planck equation.

The task: data :math:`(x_n, y_n)`, :math:`n = 1..N_{\rm data}`, model :math:`f(x) = q_1 x + q_2`, per-example
loss :math:`\ell_n(q) = (q_1 x_n + q_2 - y_n)^2/2`, averaged loss :math:`U = \overline{\ell}`, per-example gradient
:math:`g_n = (q_1x_n+q_2-y_n)(x_n, 1)`. One SGD step with step size :math:`\gamma` and batch size B is

.. math:: q \leftarrow q - \frac{\gamma}{B}\sum_{b=1}^{B} g_{n_b}(q),\qquad n_b \text{ uniform, with replacement,}

so :math:`\mathbb E[\Delta q] = -\gamma\nabla U` and :math:`{\rm Cov}[\Delta q] = \gamma^2\Sigma(q)/B` exactly
(:math:`\Sigma` the per-example gradient covariance, quadratic in q), i.e. :math:`D = \gamma^2\Sigma/(2B)` in step
units (docs/theory.md, section 2). D is *measured*: :math:`\Sigma(q)` is built from the data moments
:math:`\overline{x^a y^b}` (:meth:`RegressionTask.moments`), never fitted to the ensemble.

Public API (used by the claim ``learning.fokker_planck`` and by parameter sweeps):

``make_regression_task(rng, n_data=256, slope=1.0, intercept=-0.5, noise=1.0) -> RegressionTask``
    Draws x ~ N(0, 1), y = slope x + intercept + noise N(0, 1).
``simulate_sgd(task, q0, gamma, batch_size, n_steps, rng, record_every=1, backend="numba", parallel=True)``
    q0: (N, 2) initial ensemble. Returns the trajectory, shape ``(n_steps // record_every + 1, N, 2)``: the
    ensemble at steps 0, record_every, 2 record_every, ... Each member draws its mini-batches from its own
    splitmix64 stream seeded from ``rng``; the numba kernel and the NumPy-vectorised baseline
    (``backend="numpy"``) perform the same arithmetic in the same order and return identical arrays.
``fokker_planck_equation(drift_coefficient=None, diffusion_formula=default_diffusion, form="ito") -> FPEquation``
    The stated equation for the task, derived symbolically and compiled (flux-form coefficients, diffusion
    matrix, weak-form integrands for Hermite test functions).
``fokker_planck_reference(task, gamma=..., batch_size=..., ...) -> FPReference``
    The stated equation solved on a grid from a Gaussian initial cloud at given learning times (the ensembles
    are measured against it by :mod:`nnqg.numerics._fp_measures`).

>>> rng = np.random.default_rng(0)
>>> task = make_regression_task(rng, n_data=64)
>>> traj = simulate_sgd(task, np.zeros((4, 2)), 0.1, 2, 10, rng, record_every=5)
>>> traj.shape
(3, 4, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
from numba import njit, prange

from nnqg.derivations import InvalidArgument, derivative_symbol_name, jet
from nnqg.derivations._fokker_planck import DiffusionFormula, FPSymbols, default_diffusion, flux_form, \
    hermite_function, moment_symbols_used, regression_operator, stated_diffusion, weak_form_integrands

from ._codegen import ResidualKernel, compile_residual
from ._fp_solver import Grid2D, assemble, gaussian_cell_average, solve
from ._jitcache import njit_cached

# splitmix64 constants (Steele, Lea & Flood 2014): a Weyl sequence passed through a mixing function
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
MAX_MOMENT_ORDER = 4
MAX_DATA = 2**31  # batch indices use the top 32 bits of each random word


@dataclass(frozen=True)
class RegressionTask:
    """A data set for the two-parameter least-squares model ``f(x) = q1 x + q2``."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x, y = np.asarray(self.x), np.asarray(self.y)
        if x.ndim != 1 or x.shape != y.shape or x.size < 2:
            raise InvalidArgument(f"task data: x and y must be 1-D of equal length >= 2, got {x.shape}, {y.shape}")
        if x.size >= MAX_DATA:
            raise InvalidArgument(f"task data: at most {MAX_DATA - 1} points (32-bit batch indices), got {x.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InvalidArgument("task data: x and y must be finite")

    @property
    def n_data(self) -> int:
        return int(self.x.size)

    def moments(self) -> dict[str, float]:
        """Data means ``M_a_b`` of x^a y^b, a + b <= 4 (the measured coefficients of U and Sigma)."""
        return {f"M_{a}_{b}": float(np.mean(self.x**a * self.y**b))
                for a in range(MAX_MOMENT_ORDER + 1) for b in range(MAX_MOMENT_ORDER + 1 - a) if a + b > 0}

    @property
    def q_star(self) -> np.ndarray:
        """The least-squares minimiser of U."""
        X = np.stack([self.x, np.ones_like(self.x)], axis=1)
        return np.linalg.lstsq(X, self.y, rcond=None)[0]

    def hessian(self) -> np.ndarray:
        X = np.stack([self.x, np.ones_like(self.x)], axis=1)
        return X.T @ X / self.n_data

    def per_example_gradients(self, q: Sequence[float]) -> np.ndarray:
        """g_n(q), shape (n_data, 2)."""
        r = q[0] * self.x + q[1] - self.y
        return np.stack([r * self.x, r], axis=1)

    def gradient_covariance(self, q: Sequence[float]) -> np.ndarray:
        """Per-example gradient covariance at q, computed directly (population, 1/n)."""
        return np.cov(self.per_example_gradients(q), rowvar=False, bias=True)


def make_regression_task(rng: np.random.Generator, n_data: int = 256, slope: float = 1.0,
                         intercept: float = -0.5, noise: float = 1.0) -> RegressionTask:
    """x ~ N(0,1), y = slope x + intercept + noise * N(0,1)."""
    if not isinstance(n_data, (int, np.integer)) or n_data < 2:
        raise InvalidArgument(f"n_data: expected an integer >= 2, got {n_data!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise InvalidArgument(f"noise: expected a finite non-negative number, got {noise!r}")
    x = rng.standard_normal(int(n_data))
    y = slope * x + intercept + noise * rng.standard_normal(int(n_data))
    return RegressionTask(x, y)


# ----------------------------------------------------------------------------------------------------------
# The simulator: numba kernel and the NumPy-vectorised baseline (same arithmetic, same order)


@njit(inline="always")
def _mix(z):  # pragma: no cover - compiled
    """The splitmix64 output function of the state z (the caller advances the state by _GOLDEN first)."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always")
def _index(word, n):  # pragma: no cover - compiled
    """A uniform index in [0, n) from the top 32 bits of a random word (Lemire's multiply-shift: no division)."""
    return ((word >> _S32) * n) >> _S32


_CHUNK = 64  # members advanced together: independent updates interleave, hiding the per-step latency chain


def _sgd_loop(x, y, q0, seeds, gamma, B, n_steps, record_every, out):  # pragma: no cover - compiled below
    N = q0.shape[0]
    nd = np.uint64(x.shape[0])
    step = gamma / B
    n_chunks = (N + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        lo = c * _CHUNK
        m = min(N, lo + _CHUNK) - lo
        s = seeds[lo:lo + m].copy()
        q1 = q0[lo:lo + m, 0].copy()
        q2 = q0[lo:lo + m, 1].copy()
        g1 = np.empty(m)
        g2 = np.empty(m)
        for i in range(m):
            out[0, lo + i, 0] = q1[i]
            out[0, lo + i, 1] = q2[i]
        rec = 1
        for n in range(1, n_steps + 1):
            for i in range(m):
                g1[i] = 0.0
                g2[i] = 0.0
            for b in range(B):
                for i in range(m):
                    z = s[i] + _GOLDEN
                    s[i] = z
                    k = _index(_mix(z), nd)
                    xk = x[k]
                    r = q1[i] * xk + q2[i] - y[k]
                    g1[i] += r * xk
                    g2[i] += r
            for i in range(m):
                q1[i] = q1[i] - step * g1[i]
                q2[i] = q2[i] - step * g2[i]
            if n % record_every == 0:
                for i in range(m):
                    out[rec, lo + i, 0] = q1[i]
                    out[rec, lo + i, 1] = q2[i]
                rec += 1


def cached_variants(fn: Callable) -> tuple[Any, Any]:
    """``(parallel, serial)`` numba dispatchers of one loop, each with its own on-disk cache.

    numba names a cache file after the function's qualified name and line and does not key it by the
    ``parallel`` flag: two cached ``njit`` of the same function share one cache entry, and whichever variant
    was compiled first is loaded for the other (the parallel kernel then ran serially). Copies of the function
    under distinct names keep the entries apart."""
    import types

    out = []
    for suffix, par in (("_parallel", True), ("_serial", False)):
        g = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
        g.__qualname__ = fn.__qualname__ + suffix
        g.__module__ = fn.__module__
        out.append(njit_cached(parallel=par)(g))
    return out[0], out[1]


_sgd_parallel, _sgd_serial = cached_variants(_sgd_loop)


@njit(inline="always")
def _network_example(p, W, n_train, xk, yk, h, g):  # pragma: no cover - compiled
    """The network of nnqg.numerics._network_sgd (one hidden tanh layer, layout (a, c, w, b)) on one example:
    fills g with the gradient of (f(xk; p) - yk)^2/2 in the first n_train coordinates (h: scratch for the hidden
    activations) and returns the residual f - yk."""
    f = p[W]
    for j in range(W):
        h[j] = np.tanh(p[W + 1 + j] * xk + p[2 * W + 1 + j])
        f += p[j] * h[j]
    r = f - yk
    for j in range(W):
        g[j] = r * h[j]
    g[W] = r
    if n_train > W + 1:
        for j in range(W):
            sj = r * p[j] * (1.0 - h[j] * h[j])
            g[W + 1 + j] = sj * xk
            g[2 * W + 1 + j] = sj
    return r


# The network's kernels live here, beside the helpers they inline (_mix, _index, _network_example): numba checks
# only the defining file when it reuses cached machine code, so a kernel inlining another file's helpers could
# run stale code.


def _network_loop(x, y, P0, n_train, width, seeds, gamma, B, n_steps, out):  # pragma: no cover - compiled
    # SGD of the network, the first n_train coordinates trained
    N = P0.shape[0]
    nd = np.uint64(x.shape[0])
    step = gamma / B
    W = width
    for i in prange(N):
        p = P0[i].copy()
        g = np.zeros(n_train)
        ge = np.empty(n_train)
        h = np.empty(W)
        s = seeds[i]
        for k in range(n_train):
            out[0, i, k] = p[k]
        for n in range(1, n_steps + 1):
            g[:] = 0.0
            for _ in range(B):
                s = s + _GOLDEN
                k = _index(_mix(s), nd)
                _network_example(p, W, n_train, x[k], y[k], h, ge)
                for a in range(n_train):
                    g[a] += ge[a]
            for k in range(n_train):
                p[k] -= step * g[k]
            for k in range(n_train):
                out[n, i, k] = p[k]


@njit_cached()
def _network_moments(x, y, P, n_train, W, U, G, C):  # pragma: no cover - compiled
    """Per member: U = mean loss, G = mean gradient, C = population covariance of the per-example gradients."""
    n = x.shape[0]
    g = np.empty(n_train)
    h = np.empty(W)
    acc = np.empty((n_train, n_train))  # the member's sum of g g^T, local: no 3-D indexing in the inner loop
    for i in range(P.shape[0]):
        p = P[i]
        U[i] = 0.0
        G[i, :] = 0.0
        acc[:, :] = 0.0
        for k in range(n):
            r = _network_example(p, W, n_train, x[k], y[k], h, g)
            U[i] += 0.5 * r * r
            for a in range(n_train):
                G[i, a] += g[a]
                ga = g[a]
                for b in range(a + 1):
                    acc[a, b] += ga * g[b]
        U[i] /= n
        for a in range(n_train):
            G[i, a] /= n
        for a in range(n_train):
            for b in range(a + 1):
                C[i, a, b] = acc[a, b] / n - G[i, a] * G[i, b]
                C[i, b, a] = C[i, a, b]


_network_parallel, _network_serial = cached_variants(_network_loop)


def _sgd_numpy(x: np.ndarray, y: np.ndarray, q0: np.ndarray, seeds: np.ndarray, gamma: float, B: int,
               n_steps: int, record_every: int, out: np.ndarray) -> None:
    nd = np.uint64(x.shape[0])
    step = gamma / B
    s = seeds.copy()
    q1 = q0[:, 0].copy()
    q2 = q0[:, 1].copy()
    out[0, :, 0] = q1
    out[0, :, 1] = q2
    rec = 1
    for n in range(1, n_steps + 1):
        g1 = np.zeros_like(q1)
        g2 = np.zeros_like(q2)
        for _ in range(B):
            s += _GOLDEN
            z = s ^ (s >> _S30)
            z *= _MIX1
            z ^= z >> _S27
            z *= _MIX2
            z ^= z >> _S31
            k = ((z >> _S32) * nd) >> _S32
            xk = x[k]
            r = q1 * xk + q2 - y[k]
            g1 += r * xk
            g2 += r
        q1 = q1 - step * g1
        q2 = q2 - step * g2
        if n % record_every == 0:
            out[rec, :, 0] = q1
            out[rec, :, 1] = q2
            rec += 1


BACKENDS = ("numba", "numpy")


def simulate_sgd(task: RegressionTask, q0: np.ndarray, gamma: float, batch_size: int, n_steps: int,
                 rng: np.random.Generator, record_every: int = 1, backend: str = "numba",
                 parallel: bool = True) -> np.ndarray:
    """Run an ensemble of independent SGD learners (see the module docstring); returns (n_rec, N, 2)."""
    q0 = np.ascontiguousarray(np.asarray(q0, dtype=np.float64))
    if q0.ndim != 2 or q0.shape[1] != 2 or q0.shape[0] < 1:
        raise InvalidArgument(f"q0: expected an (N, 2) array of initial parameters, got shape {q0.shape}")
    if not np.all(np.isfinite(q0)):
        raise InvalidArgument("q0: initial parameters must be finite")
    if not (isinstance(gamma, (float, int, np.floating, np.integer)) and np.isfinite(gamma) and gamma > 0):
        raise InvalidArgument(f"gamma: expected a finite step size > 0, got {gamma!r}")
    for name, v in (("batch_size", batch_size), ("record_every", record_every)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise InvalidArgument(f"{name}: expected an integer >= 1, got {v!r}")
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 0:
        raise InvalidArgument(f"n_steps: expected an integer >= 0, got {n_steps!r}")
    if backend not in BACKENDS:
        raise InvalidArgument(f"backend: expected one of {BACKENDS}, got {backend!r}")
    n_rec = int(n_steps) // int(record_every) + 1
    out = np.empty((n_rec, q0.shape[0], 2))
    seeds = rng.integers(0, np.iinfo(np.uint64).max, size=q0.shape[0], dtype=np.uint64, endpoint=True)
    x = np.ascontiguousarray(task.x, dtype=np.float64)
    y = np.ascontiguousarray(task.y, dtype=np.float64)
    args = (x, y, q0, seeds, float(gamma), int(batch_size), int(n_steps), int(record_every), out)
    if backend == "numpy":
        _sgd_numpy(*args)
    elif parallel:
        _sgd_parallel(*args)
    else:
        _sgd_serial(*args)
    return out


# ----------------------------------------------------------------------------------------------------------
# The stated Fokker-Planck equation of the task, compiled


#: Hermite test functions He_k1(z1) He_k2(z2) exp(-|z|^2/2), z = (q - centre)/scale
DEFAULT_TEST_INDICES: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))
FLUX_LABELS = ("A11", "A12", "A22", "b1", "b2", "c0")


@dataclass(frozen=True)
class FPEquation:
    """The stated Fokker-Planck equation of the regression task: the SymPy operator and its kernels."""

    operator: sp.Expr
    flux: ResidualKernel        # A11, A12, A22, b1, b2, c0 at points q
    diffusion: ResidualKernel   # D11, D12, D22 (the stated, measured D)
    weak: ResidualKernel        # adjoint (F^dagger phi) and finite_step, pointwise in (q, jet of phi)
    hermite: ResidualKernel     # jets of the Hermite test functions, "<jet name>_<k>"
    test_indices: tuple[tuple[int, int], ...]
    jet_names: tuple[str, ...]
    description: str = ""

    def values(self, kernel: ResidualKernel, q: np.ndarray, params: dict[str, float],
               **fields: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float).reshape(-1, 2)
        vals = {k: params[k] for k in kernel.parameters}
        return kernel(q1=q[:, 0], q2=q[:, 1], **fields, **vals)

    def weak_integrands(self, q: np.ndarray, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray,
                                                                                np.ndarray]:
        """For every test function k at the points q: phi_k, F^dagger phi_k and the finite-step term,
        each of shape (n_test, n_points)."""
        q = np.asarray(q, dtype=float).reshape(-1, 2)
        nj = len(self.jet_names)
        H = self.values(self.hermite, q, params)
        phi = np.empty((len(self.test_indices), q.shape[0]))
        adj = np.empty_like(phi)
        fs = np.empty_like(phi)
        for k in range(len(self.test_indices)):
            jets = {name: H[k * nj + m] for m, name in enumerate(self.jet_names)}
            out = self.values(self.weak, q, params, **jets)
            phi[k], adj[k], fs[k] = H[k * nj], out[0], out[1]
        return phi, adj, fs


@lru_cache(maxsize=32)
def _equation_cached(drift_key: Any, diffusion_key: Any, form: str,
                     test_indices: tuple[tuple[int, int], ...]) -> FPEquation:
    drift_coefficient, diffusion_formula = drift_key[1], diffusion_key[1]
    s, r, op = regression_operator(drift_coefficient, diffusion_formula, form)
    ff = flux_form(op, s)
    D = stated_diffusion(s, diffusion_formula)
    c1, c2, ell = sp.symbols("c1 c2 ell", real=True)
    z = ((r.q[0] - c1) / ell, (r.q[1] - c2) / ell)
    # weak form: F^dagger phi and the finite-step term, pointwise in the jet of a generic test function phi
    adj, fs = weak_form_integrands(op, s)
    adj_j, back = jet(adj, (s.phi,))
    fs_j, back2 = jet(fs, (s.phi,))
    jet_names = [derivative_symbol_name(_d_phi(s, a)) for a in PHI_JET]
    jet_syms = [sp.Symbol(n, real=True) for n in jet_names]
    extra = {v.name for v in list(back) + list(back2)} - set(jet_names)
    if extra:
        raise InvalidArgument(f"the weak form needs derivatives of the test function beyond order 2: {extra}")
    # the Hermite test functions and their jets (value, first and second derivatives), from SymPy
    herm = []
    for k, idx in enumerate(test_indices):
        phi = hermite_function(idx, z)
        for a, name in zip(PHI_JET, jet_names):
            herm.append((f"{name}_{k}", _d_expr(phi, r.q, a)))
    base = [s.gamma, s.B]
    moments = moment_symbols_used(list(ff.values()) + [D[i][j] for i in range(2) for j in range(2)]
                                  + [adj_j, fs_j])
    tag = f"{form}"
    flux_k = compile_residual([(k, ff[k]) for k in FLUX_LABELS], fields=list(r.q), parameters=base + moments,
                              name=f"fp_flux_{tag}")
    diff_k = compile_residual([("D11", D[0][0]), ("D12", D[0][1]), ("D22", D[1][1])], fields=list(r.q),
                              parameters=base + moments, name="fp_diffusion")
    weak_k = compile_residual([("adjoint", adj_j), ("finite_step", fs_j)], fields=list(r.q) + jet_syms,
                              parameters=base + moments, name=f"fp_weak_{tag}")
    herm_k = compile_residual(herm, fields=list(r.q), parameters=[c1, c2, ell], name="hermite_jets")
    return FPEquation(operator=op, flux=flux_k, diffusion=diff_k, weak=weak_k, hermite=herm_k,
                      test_indices=test_indices, jet_names=tuple(jet_names), description=f"form={form}")


#: the jet of a test function: value, first and second derivatives (multi-indices in (q1, q2))
PHI_JET: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))


def _d_expr(e: sp.Expr, q: Sequence[sp.Symbol], a: tuple[int, int]) -> sp.Expr:
    args = [v for x, n in zip(q, a) for v in [x] * n]
    return sp.diff(e, *args) if args else e


def _d_phi(s: FPSymbols, a: tuple[int, int]) -> sp.Expr:
    return _d_expr(s.phi, s.q, a)


def fokker_planck_equation(drift_coefficient: Callable[[sp.Expr], sp.Expr] | None = None,
                           diffusion_formula: DiffusionFormula = default_diffusion, form: str = "ito",
                           test_indices: Sequence[tuple[int, int]] = DEFAULT_TEST_INDICES) -> FPEquation:
    r"""Derive (SymPy) and compile the stated equation :math:`\partial_n p = c_d\nabla\cdot(p\nabla U) +
    \sum\partial_i\partial_j(D_{ij}p)` for the regression task; ``drift_coefficient(gamma)`` defaults to gamma,
    ``diffusion_formula(gamma, B, Sigma_ij)`` to gamma^2 Sigma_ij/(2B). Kernels are cached on disk by
    :func:`compile_residual`; equal inputs return the same object within a process."""
    idx = tuple((int(a), int(b)) for a, b in test_indices)
    if not idx or any(a < 0 or b < 0 or a + b > 6 for a, b in idx):
        raise InvalidArgument(f"test_indices: expected pairs of non-negative Hermite degrees (sum <= 6), got {idx}")
    return _equation_cached(*equation_keys(drift_coefficient, diffusion_formula), form, idx)


def equation_keys(drift_coefficient: Callable[[sp.Expr], sp.Expr] | None,
                  diffusion_formula: DiffusionFormula) -> tuple["_Keyed", "_Keyed"]:
    """The two formulas keyed by their SymPy output, so equal formulas share one compiled equation (the default
    drift stated explicitly counts as the default)."""
    g, B, S = sp.symbols("gamma B Sigma", positive=True)
    if drift_coefficient is not None and sp.sympify(drift_coefficient(g)) == g:
        drift_coefficient = None
    dkey = None if drift_coefficient is None else sp.srepr(sp.sympify(drift_coefficient(g)))
    fkey = sp.srepr(sp.sympify(diffusion_formula(g, B, S)))
    return _Keyed(dkey, drift_coefficient), _Keyed(fkey, diffusion_formula)


class _Keyed(tuple):
    """(key, payload) compared and hashed by key only (so lru_cache keys callables by what they compute)."""

    def __new__(cls, key: Any, payload: Any) -> "_Keyed":
        return super().__new__(cls, (key, payload))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and len(other) == 2 and self[0] == other[0]


# ----------------------------------------------------------------------------------------------------------
# The stated equation solved on a grid


def default_box(task: RegressionTask, q0_mean: np.ndarray, q0_std: float, gamma: float, batch_size: int,
                margin: float = 5.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """A box holding the initial cloud and the stationary cloud with ``margin`` standard deviations."""
    qs = task.q_star
    H = task.hessian()
    Sig = task.gradient_covariance(qs)
    # stationary OU-like width in step units: var ~ D / (gamma k) = gamma Sigma / (2 B k)
    s_st = float(np.sqrt(gamma * np.max(np.diag(Sig)) / (2 * batch_size) / np.min(np.linalg.eigvalsh(H))))
    w = margin * max(float(q0_std), s_st)
    lo = tuple(float(min(q0_mean[i], qs[i]) - w) for i in range(2))
    hi = tuple(float(max(q0_mean[i], qs[i]) + w) for i in range(2))
    return lo, hi  # type: ignore[return-value]


@dataclass(frozen=True)
class FPReference:
    """The stated equation solved on a grid from the ensemble's initial Gaussian, at the observation steps."""

    grid: Grid2D
    steps: tuple[int, ...]
    learning_times: tuple[float, ...]
    solution: np.ndarray            # (len(steps), n1 * n2) cell averages of p
    mean0: np.ndarray
    std0: float
    params: dict[str, float]
    scheme: str


def fokker_planck_reference(task: RegressionTask, *, gamma: float, batch_size: int,
                            equation: FPEquation | None = None, q0_offset: Sequence[float] = (0.8, -0.6),
                            q0_std: float = 0.25, learning_times: Sequence[float] = (0.4, 0.8, 1.2),
                            grid_cells: int = 128, scheme: str = "central",
                            box: tuple[tuple[float, float], tuple[float, float]] | None = None) -> FPReference:
    r"""Solve the stated equation (default: the derived one) from :math:`\mathcal N(q^*+\text{q0\_offset},
    \text{q0\_std}^2 I)` (exact cell averages) on ``grid_cells``^2 cells, at steps
    :math:`n = \text{round}(\tau/\gamma)` for the learning times :math:`\tau`."""
    eq = fokker_planck_equation() if equation is None else equation
    for name, v in (("gamma", gamma), ("q0_std", q0_std)):
        if not (isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v) and v > 0):
            raise InvalidArgument(f"{name}: expected a finite number > 0, got {v!r}")
    steps = tuple(int(round(t / gamma)) for t in learning_times)
    if not steps or any(n < 1 for n in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
        raise InvalidArgument(f"learning_times {tuple(learning_times)} give steps {steps} at gamma={gamma}: "
                              "they must be >= 1 and strictly increasing")
    params: dict[str, float] = {"gamma": float(gamma), "B": float(batch_size), **task.moments()}
    m0 = task.q_star + np.asarray(q0_offset, dtype=float)
    lo, hi = box if box is not None else default_box(task, m0, q0_std, gamma, batch_size)
    grid = Grid2D(lo, hi, (int(grid_cells), int(grid_cells)))

    def coef(q1: np.ndarray, q2: np.ndarray) -> dict[str, np.ndarray]:
        out = eq.values(eq.flux, np.stack([q1, q2], axis=1), params)
        return {lab: out[k] for k, lab in enumerate(FLUX_LABELS)}

    M = assemble(grid, coef, scheme)
    p0 = gaussian_cell_average(grid, m0, (q0_std, q0_std)).ravel()
    sol = solve(M, p0, [float(n) for n in steps])
    return FPReference(grid=grid, steps=steps, learning_times=tuple(float(t) for t in learning_times),
                       solution=sol, mean0=m0, std0=float(q0_std), params=params, scheme=scheme)


__all__ = ["BACKENDS", "DEFAULT_TEST_INDICES", "FPEquation", "FPReference", "fokker_planck_reference", "RegressionTask",
           "default_box", "fokker_planck_equation", "make_regression_task", "simulate_sgd"]
