"""The learning experiment of `learning.fokker_planck` (docs/experiments.md, "learning.fokker_planck: the
Fokker-Planck equation of SGD ensembles", registered before it was run).

Ensembles of two-parameter regressions trained by mini-batch SGD, at two step sizes, in a transient (T) and a
stationary (S) regime, are measured against the stated equation with D measured from the per-example gradient
covariance: the diffusion ratio lambda of :mod:`nnqg.numerics._fp_measures`, distance |lambda - 1|. In the same
run and at the same sizes: a positive control (ensembles of the Langevin SDE of the stated equation itself) and a
negative control (the same SDE with the noise variance doubled). The decision is the common rule
(:func:`nnqg.verify._model.decide_learning`) with tau = 0.1, k = 3; every control measurement must have its
required verdict. This module only orchestrates; simulators and estimators live in ``nnqg.numerics``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.numerics import _sgd
from nnqg.numerics._fp_measures import DiffusionRatio, HermiteTests, StatedParts, grid_expectations, \
    osmotic_mismatch, stationary_ratio, transient_ratio, weak_parts
from nnqg.numerics._fp_solver import Grid2D
from nnqg.numerics._langevin import gaussian_cell_masses, ou_moments, quadratic_fit, simulate_langevin

from .._model import LearningEvidence, Measurement, NumericContext, classify, decide_learning

CLAIM_KEY = 2  # the claim's random stream (ctx.rng(2, ...)), as registered
PREREGISTRATION = ('docs/experiments.md, section "learning.fokker_planck: the Fokker-Planck equation of SGD '
                   'ensembles" (registered 2026-11-26)')
TAU, SIGMAS = 0.1, 3.0
STEP_SIZES = (0.1, 0.05)
SUBSTEPS = 8
GROUPS = 32
T_TIME, S_BURN, S_WINDOW = 1.2, 2.0, 2.0  # learning times (gamma x steps)
NOISE_DOUBLED = 2.0
SYSTEM = ("least squares f(x) = q1 x + q2 on 256 generated points, parameters trained by mini-batch SGD "
          "(B = 2, gamma = 0.1 and 0.05), ensembles of independent learners (registered defaults)")
QUANTITY = ("|lambda - 1|, lambda = the factor on the stated diffusion term that balances the equation on the "
            "ensemble (least squares over six Hermite test functions): transient (density at learning time 1.2 "
            "against the finite-volume solution) and stationary (time-integrated weak form)")


def make_task(inputs: Mapping[str, Any], rng: np.random.Generator) -> _sgd.RegressionTask:
    """The learning task of the claim: generated data (``n_data``, ``data_noise``) or ``task_factory(rng)``."""
    if inputs["task_factory"] is None:
        return _sgd.make_regression_task(rng, n_data=int(inputs["n_data"]), noise=float(inputs["data_noise"]))
    task = inputs["task_factory"](rng)
    if not isinstance(task, _sgd.RegressionTask):
        raise InvalidArgument(f"task_factory: must return a RegressionTask, got {type(task).__name__}")
    return task


def stated_equation(inputs: Mapping[str, Any]) -> _sgd.FPEquation:
    return _sgd.fokker_planck_equation(drift_coefficient=inputs["drift_coefficient"],
                                       diffusion_formula=inputs["diffusion_formula"], form=inputs["form"])


def drift_matrix(inputs: Mapping[str, Any], task: _sgd.RegressionTask, gamma: float) -> np.ndarray:
    """A of the stated drift -A (q - q*): the drift coefficient c_d(gamma) times the Hessian of U (U quadratic)."""
    cd = float(inputs["drift_coefficient"](gamma))
    return cd * task.hessian()


def diffusion_at(eq: _sgd.FPEquation, params: Mapping[str, float], q: np.ndarray) -> np.ndarray:
    """The stated D at one point q, as a 2 x 2 matrix."""
    d = eq.values(eq.diffusion, np.asarray(q, float)[None], dict(params))[:, 0]
    return np.array([[d[0], d[1]], [d[1], d[2]]])


def stationary_covariance(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """C with A C + C A = 2 D (the stationary covariance of the OU approximation)."""
    a, V = np.linalg.eigh(A)
    return V @ (2 * (V.T @ D @ V) / (a[:, None] + a[None, :])) @ V.T


class _Setting:
    """Everything one step size needs, from the stated equation (never from the ensembles)."""

    def __init__(self, inputs: Mapping[str, Any], task: _sgd.RegressionTask, eq: _sgd.FPEquation, gamma: float,
                 grid: int) -> None:
        self.gamma, self.task, self.eq = gamma, task, eq
        self.batch = int(inputs["batch_size"])
        self.params = {"gamma": gamma, "B": float(self.batch), **task.moments()}
        self.q_star = task.q_star
        self.A = drift_matrix(inputs, task, gamma)
        self.dcoef = quadratic_fit(lambda q: eq.values(eq.diffusion, q, self.params), self.q_star)
        self.parts = StatedParts(weak_parts(inputs["drift_coefficient"], inputs["diffusion_formula"],
                                            inputs["form"]), self.params)
        # (T): start, observation step, the stated solution on two grids, the drift-only Gaussian
        self.m0 = self.q_star + np.asarray(inputs["q0_offset"], dtype=float)
        self.s0 = float(inputs["q0_std"])
        self.n_t = int(round(T_TIME / gamma))
        refs = [_sgd.fokker_planck_reference(task, gamma=gamma, batch_size=self.batch, equation=eq,
                                             q0_offset=tuple(inputs["q0_offset"]), q0_std=self.s0,
                                             learning_times=(T_TIME,), grid_cells=cells, scheme=inputs["fp_scheme"])
                for cells in (grid, grid // 2)]
        m_fp, C_fp = _grid_moments(refs[0].grid, refs[0].solution[0])
        self.t_tests = HermiteTests((float(m_fp[0]), float(m_fp[1])), float(2 * np.sqrt(np.trace(C_fp) / 2)))
        m_0, C_0 = ou_moments(self.A, np.zeros((2, 2)), self.q_star, self.m0, self.s0**2 * np.eye(2), self.n_t)
        self.t_refs = [(grid_expectations(self.t_tests, r.grid, r.solution[0].reshape(r.grid.n) * r.grid.cell_area),
                        grid_expectations(self.t_tests, r.grid, gaussian_cell_masses(r.grid, m_0, C_0)))
                       for r in refs]
        # (S): start covariance, burn-in, window, test functions
        self.C_s = stationary_covariance(self.A, diffusion_at(eq, self.params, self.q_star))
        self.n_burn, self.n_window = int(round(S_BURN / gamma)), int(round(S_WINDOW / gamma))
        self.s_tests = HermiteTests((float(self.q_star[0]), float(self.q_star[1])),
                                    float(2 * np.sqrt(np.trace(self.C_s) / 2)))

    def starts(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        t0 = self.m0 + self.s0 * rng.standard_normal((n, 2))
        s0 = rng.multivariate_normal(self.q_star, self.C_s, n, method="cholesky")
        return t0, s0

    def measure(self, name: str, t_traj: np.ndarray, s_traj: np.ndarray) -> tuple[DiffusionRatio, DiffusionRatio]:
        """The two registered measurements of one ensemble: (T) with the solver's error in its SE, (S)."""
        fine, coarse = (transient_ratio(t_traj[-1], self.t_tests, e_fp, e_0, label=f"{name} (T)")
                        for e_fp, e_0 in self.t_refs)
        solver = abs(fine.ratio - coarse.ratio) / 3.0
        t = DiffusionRatio(fine.label, fine.ratio, float(np.hypot(fine.se, solver)), fine.orthogonal,
                           fine.n_members, {**fine.details, "Monte-Carlo SE": fine.se,
                                            "solver error estimate |lambda_h - lambda_2h|/3": solver})
        s = stationary_ratio(s_traj[self.n_burn:], self.parts, self.s_tests, groups=GROUPS, label=f"{name} (S)")
        return t, s


def _grid_moments(grid: Grid2D, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c1, c2 = np.meshgrid(grid.centres(0), grid.centres(1), indexing="ij")
    w = np.asarray(p).reshape(grid.n) * grid.cell_area
    w = w / w.sum()
    m = np.array([(w * c1).sum(), (w * c2).sum()])
    d1, d2 = c1 - m[0], c2 - m[1]
    return m, np.array([[(w * d1 * d1).sum(), (w * d1 * d2).sum()], [(w * d1 * d2).sum(), (w * d2 * d2).sum()]])


def _finite_or(x: float, other: float) -> float:
    """Sort key: a non-finite value is replaced by ``other`` so it is chosen first (it makes the control
    INCONCLUSIVE)."""
    return x if np.isfinite(x) else other


def _measurement(r: DiffusionRatio, gamma: float) -> Measurement:
    return Measurement(f"{r.label}, gamma = {gamma:g}", r.distance, r.se,
                       classify(r.distance, r.se, TAU, SIGMAS),
                       {"lambda": r.ratio, "orthogonal remainder (reported)": r.orthogonal, "members": r.n_members,
                        **r.details})


def evidence(ctx: NumericContext, inputs: Mapping[str, Any]) -> LearningEvidence:
    """Run the registered experiment (module docstring) and decide it."""
    n = 5000 if ctx.quick else 20000
    grid = 64 if ctx.quick else 128
    task = make_task(inputs, ctx.rng(CLAIM_KEY, 0))
    eq = stated_equation(inputs)
    for gamma in STEP_SIZES:
        A = drift_matrix(inputs, task, gamma)
        D = diffusion_at(eq, {"gamma": gamma, "B": float(inputs["batch_size"]), **task.moments()}, task.q_star)
        if not (np.all(np.linalg.eigvalsh(A) > 0) and np.all(np.linalg.eigvalsh(D) >= 0)):
            return LearningEvidence(status="INCONCLUSIVE", system=SYSTEM, quantity=QUANTITY, threshold=TAU,
                                    sigmas=SIGMAS, preregistration=PREREGISTRATION,
                                    reason=f"the stated equation has no stationary state to measure against at "
                                           f"gamma = {gamma:g} (drift matrix eigenvalues "
                                           f"{np.linalg.eigvalsh(A).round(6).tolist()}, D at q* eigenvalues "
                                           f"{np.linalg.eigvalsh(D).tolist()}): the controls cannot be built")
    measured: list[Measurement] = []
    positive: list[Measurement] = []
    negative: list[Measurement] = []
    details: dict[str, Any] = {"members": n, "grid cells (T reference)": grid, "substeps (controls)": SUBSTEPS}
    for j, gamma in enumerate(STEP_SIZES):
        ctx.report(f"learning experiment, gamma = {gamma:g}", j / len(STEP_SIZES))
        st = _Setting(inputs, task, eq, gamma, grid)
        runs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for k, (name, kind) in enumerate((("SGD", None),
                                          ("positive control: Langevin SDE of the stated equation", 1.0),
                                          ("negative control: the same SDE, noise variance doubled", NOISE_DOUBLED))):
            t0, s0 = st.starts(ctx.rng(CLAIM_KEY, 10, j, k, 0), n)
            rng = ctx.rng(CLAIM_KEY, 10, j, k, 1)
            if kind is None:
                tt = _sgd.simulate_sgd(task, t0, gamma, st.batch, st.n_t, rng)
                ss = _sgd.simulate_sgd(task, s0, gamma, st.batch, st.n_burn + st.n_window, rng)
            else:
                tt = simulate_langevin(st.A, st.q_star, st.dcoef, t0, st.n_t, rng, SUBSTEPS, kind)
                ss = simulate_langevin(st.A, st.q_star, st.dcoef, s0, st.n_burn + st.n_window, rng, SUBSTEPS, kind)
            runs[name] = (tt, ss)
            out = [_measurement(r, gamma) for r in st.measure(name, tt, ss)]
            (measured if kind is None else positive if kind == 1.0 else negative).extend(out)
        details[f"gamma = {gamma:g}"] = _diagnostics(st, *runs["SGD"])
        # added 2026-11-26 after the first run (reported, not judged): the registered measures on the chain with
        # SGD's exact step mean and covariance but Gaussian noise, to separate the finite step from the
        # non-Gaussian mini-batch noise
        t0, s0 = st.starts(ctx.rng(CLAIM_KEY, 10, j, 3, 0), n)
        rng = ctx.rng(CLAIM_KEY, 10, j, 3, 1)
        chain = [simulate_langevin(st.A, st.q_star, st.dcoef, x0, steps, rng, 1, 1.0, scheme="euler")
                 for x0, steps in ((t0, st.n_t), (s0, st.n_burn + st.n_window))]
        details[f"gamma = {gamma:g}"]["Gaussian Euler chain (SGD's step mean and covariance, Gaussian noise): "
                                      "lambda, SE (T, S)"] = [[r.ratio, r.se] for r in st.measure("chain", *chain)]
    # every control measurement must have its verdict (as registered): the rule is applied to the positive one
    # least SUPPORTED (largest d + k SE) and the negative one least NOT SUPPORTED (smallest d - k SE), which
    # have theirs only if all do
    pos = max(positive, key=lambda m: _finite_or(m.distance + SIGMAS * m.se, np.inf))
    neg = min(negative, key=lambda m: _finite_or(m.distance - SIGMAS * m.se, -np.inf))
    status, reason, _ = decide_learning(measured, pos, neg, TAU, SIGMAS)
    controls = tuple(Measurement(c.label, c.distance, c.se, c.status, c.details) for c in positive + negative)
    ctx.report("learning experiment done", 1.0)
    return LearningEvidence(status=status, reason=reason, system=SYSTEM, quantity=QUANTITY,
                            measured=tuple(measured), threshold=TAU, sigmas=SIGMAS,
                            power=TAU + SIGMAS * max(m.se for m in measured), controls=controls,
                            preregistration=PREREGISTRATION, details=details)


def _diagnostics(st: _Setting, tt: np.ndarray, ss: np.ndarray) -> dict[str, Any]:
    """Reported, not judged: the transient by the time-integrated weak form against the stated equation and
    against the second-order modified equation, D variation, Nelson's osmotic mismatch."""
    g, H = st.gamma, st.task.hessian()
    weak = stationary_ratio(tt, st.parts, st.t_tests, groups=GROUPS, label="transient, weak form")
    modified = StatedParts(st.parts.kernel, st.params, st.q_star, extra_drift=(g**2 / 2) * H @ H)
    weak_mod = stationary_ratio(tt, modified, st.t_tests, groups=GROUPS, label="transient, modified equation")
    D = st.eq.values(st.eq.diffusion, tt[-1], st.params)
    lo, hi = np.quantile(D[0] + D[2], [0.01, 0.99])
    return {
        "transient, time-integrated weak form vs the stated equation: lambda, SE": [weak.ratio, weak.se],
        "transient, time-integrated weak form vs the modified equation (drift -gamma (I + gamma H/2) H (q - q*)): "
        "lambda, SE": [weak_mod.ratio, weak_mod.se],
        "tr D max/min over the transient ensemble at learning time 1.2 (1%..99%)": float(hi / lo),
        "Nelson osmotic mismatch of the stationary ensemble": osmotic_mismatch(ss[-1], st.q_star, H, g),
    }


__all__ = ["PREREGISTRATION", "SIGMAS", "TAU", "evidence", "make_task", "stated_equation"]
