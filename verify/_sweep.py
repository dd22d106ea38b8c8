r"""Parameter sweeps: how far is a real SGD ensemble from the Fokker-Planck, Madelung and Schrodinger descriptions?

A *sweep spec* (TOML, see ``examples/sweeps/``) names the descriptions to measure, the task, the run settings and a
grid over step size :math:`\gamma`, mini-batch size :math:`B`, width, ensemble size :math:`N` and replicate seeds.
Each grid point runs an ensemble of :math:`N` independent SGD trajectories
:math:`q_{s+1} = q_s - \gamma\,\frac1B\sum_{i\in\text{batch}}\nabla\ell_i(q_s)` (time measured in SGD steps,
:math:`\Delta t = 1`) and evaluates three distances on snapshots :math:`q^{(i)}_s` around a few *anchor* steps
:math:`t` (the ``run.anchors`` of the spec). Every distance is dimensionless, about 0 when the description holds and
of order 1 when its terms do not balance at all; every one carries a Monte-Carlo standard error.

The learner (``task.kind``): the regression :math:`f(x) = q_1x + q_2` (K = 2), or a network with one hidden layer
of ``width`` tanh neurons, :math:`f(x) = \sum_j a_j\tanh(w_jx+b_j) + c`, every weight and bias trained
(K = 3 width + 1) or the read-out only (K = width + 1). The measures below are written for any K; the network's
:math:`\nabla U` and :math:`\Sigma(q)` are evaluated exactly over the data set at every member
(:class:`nnqg.numerics._network_sgd.NetworkModel`). For K > 2 the circulation loop lies in the plane of the first
two parameters.

**Fokker-Planck** (PHYSICS.md section 2, weak form). The prediction is
:math:`\partial_t p = \gamma\nabla\cdot(p\nabla U) + \partial_j\partial_l(D_{jl}p)` with the *model* diffusion
:math:`D(q) = \gamma^2\Sigma(q)/(2B)`, :math:`\Sigma(q)` the per-example gradient covariance over the data set at
:math:`q` (mini-batches drawn with replacement). For test functions
:math:`\varphi_\alpha(q) = z^\alpha e^{-|z|^2/4}`, :math:`|\alpha|\le 2`, :math:`z = (q-\mu_t)/\sigma_t` (ensemble
mean and standard deviations at the anchor), the per-member residual is

.. math:: r_i = \varphi(q^{(i)}_{t+1}) - \varphi(q^{(i)}_t)
          - \big[-\gamma\nabla U\cdot\nabla\varphi + D:\nabla^2\varphi\big](q^{(i)}_t),

at every step t of the window :math:`|t - t_a| \le w` (``measure.window``) of every anchor :math:`t_a` (test
functions standardised at the anchor), averaged per member (members are independent, so the standard error is the
sample standard deviation over members divided by :math:`\sqrt N`).
``fp_distance`` :math:`= \max_\alpha |\bar r_\alpha| / S_\alpha` with
:math:`S_\alpha = \overline{|\gamma\nabla U\cdot\nabla\varphi_\alpha|} + \overline{|D:\nabla^2\varphi_\alpha|}`.
A finite step leaves an :math:`O(\gamma)` part (the :math:`\tfrac12\gamma^2(\nabla U\cdot\nabla)^2\varphi` term of one
SGD step): it is measured, not hidden.

**Madelung** (PHYSICS.md section 4, Nelson's trajectory-level picture with :math:`m = 1/\gamma`,
:math:`\nu = \hbar\gamma/2`). Forward and backward drifts are least-squares fits of one-step increments on
polynomials of total degree :math:`\le d` (``measure.basis_degree``) in :math:`z`, pooled over the window
:math:`|s - t_a| \le w` with a term linear in :math:`s - t_a` (which gives the time derivative):
:math:`b(q) \approx E[q_{s+1}-q_s\mid q_s = q]`, :math:`b_*(q) \approx E[q_s - q_{s-1}\mid q_s = q]`;
current velocity :math:`v = (b+b_*)/2`, osmotic velocity :math:`u = (b-b_*)/2`. The scalar :math:`\nu` is the
ensemble mean of :math:`\operatorname{tr}D(q)/K` (the theory's noise strength; its spread over the ensemble is
reported as ``d_spread``). Two parts:

* osmotic consistency :math:`u = \nu\nabla\ln p`, in weak form (no density estimate):
  :math:`E[u\cdot\nabla\varphi] + \nu E[\nabla^2\varphi] = 0`, per member
  :math:`o_i = \tfrac12(\Delta^+_i - \Delta^-_i)\cdot\nabla\varphi + \nu\,\nabla^2\varphi`; ``osmotic_distance``
  :math:`= \max_\alpha |\bar o_\alpha| / (2\nu\,\overline{|\nabla^2\varphi_\alpha|})`. For any diffusion
  :math:`u = \nabla\cdot(Dp)/p`, so this measures how far SGD noise is from Nelson's scalar, uniform :math:`\nu`.
* the stochastic Newton law (the gradient of the quantum Hamilton-Jacobi equation)
  :math:`\rho = \partial_t v + (v\cdot\nabla)v - (u\cdot\nabla)u - \nu\nabla^2 u + \gamma\nabla V = 0` at the members,
  :math:`\partial_t v` the linear-in-time part of the window fit. ``measure.potential = "loss"`` takes
  :math:`V = U` (the paper's identification of the potential with the loss); ``"fitted"`` takes the least-squares
  best polynomial :math:`V` of degree :math:`\le d+1` (then only what *no* time-independent potential explains
  remains). ``newton_distance`` :math:`= \operatorname{rms}(\rho)/\sum_{\text{terms}}\operatorname{rms}(\text{term})`
  (in [0, 1] by the triangle inequality, up to noise). Mean squares are *cross-fitted*: the drifts are fitted on
  two halves of the ensemble and :math:`\overline{|\rho|^2}` is estimated by :math:`\overline{\rho_A\cdot\rho_B}`,
  which has no positive noise floor (a plain :math:`\overline{|\hat\rho|^2}` would add the fit variance).
  For stationary learning on a quadratic loss with V = U the measure is :math:`(1-\gamma k)/(1+\gamma k)` (the
  backward drift of a stationary reversible AR(1) is exactly :math:`+\gamma k q`): plain SGD is *not* Madelung
  with V = U unless :math:`\gamma k \to 1`. Discrete steps leave O(step) parts in both Nelson measures.

``madelung_distance`` = max(osmotic, newton).

**Schrodinger** (PHYSICS.md section 4): Madelung plus a single-valued :math:`\psi`, i.e. circulation
:math:`\oint v\cdot dq = \gamma\oint\nabla F\cdot dq = 2\pi\hbar\gamma n` (the velocity is :math:`\gamma\nabla F`).
A Gaussian-like ensemble has no node of :math:`p` inside a loop, so :math:`n = 0`. We integrate the fitted
:math:`v` around the one-standard-deviation ellipse of the ensemble at each anchor (trapezoid, 256 points) and
report ``circulation_quanta`` :math:`= \max_t |\Gamma_t| / (2\pi\hbar\gamma)` with :math:`\hbar = 2\nu/\gamma`;
``schrodinger_distance`` = max(madelung_distance, circulation_quanta). (K = 1: no loop, circulation 0.)

**Standard errors.** Weak forms: analytic (member average). Fit-based measures: bootstrap over members
(``measure.bootstrap`` resamples, whole trajectories resampled).

**Within tolerance.** A description holds at a point when every distance it is built from satisfies
:math:`\text{distance} + k\cdot\text{SE} \le \tau` (``measure.tolerance`` :math:`\tau`, ``measure.sigmas`` :math:`k`):
the distance is below :math:`\tau` with confidence, not merely hidden in noise. A point too noisy to tell is *not*
within tolerance.

>>> spec = parse_spec({"sweep": {"seed": 1, "claims": ["fokker_planck"]}, "task": {"kind": "linear_regression"},
...                    "grid": {"gamma": [0.01, 0.02], "batch_size": [1, 4], "ensemble": [200]}})
>>> [(p.gamma, p.batch_size) for p in grid_points(spec)]
[(0.01, 1), (0.01, 4), (0.02, 1), (0.02, 4)]
>>> parse_spec({"sweep": {"seed": 1, "claims": ["fokker_planck"]}, "task": {"kind": "linear_regression"},
...             "grid": {"gamma": [-0.1], "batch_size": [1], "ensemble": [10]}})
Traceback (most recent call last):
...
nnqg.derivations._errors.InvalidArgument: grid.gamma: -0.1 is not a positive step size; use values > 0
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
import tomllib
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nnqg.derivations import InvalidArgument, NnqgError
from nnqg.derivations._files import read_user_text

#: bump when a measure changes: a stored sweep made with another version is not resumed
MEASURE_VERSION = 1
DESCRIPTIONS = ("fokker_planck", "madelung", "schrodinger")
TASK_KINDS = ("linear_regression", "tanh_network")
#: tasks that have a number of neurons (a `grid.width` axis, required for them)
TASKS_WITH_WIDTH: tuple[str, ...] = ("tanh_network",)
#: refuse a point whose Nelson fits would hold more than this many bytes (per-member Gram matrices)
MEMORY_LIMIT = 2 * 1024 ** 3
STORE_FORMAT = "nnqg-sweep/1"


# --------------------------------------------------------------------------------------------------- the spec

@dataclass(frozen=True)
class TaskSpec:
    """The data: x ~ N(0, 1), y = slope x + intercept + noise N(0, 1), ``n_data`` points. The model:

    * ``linear_regression``: f(x) = q1 x + q2 (:func:`nnqg.numerics._sgd.make_regression_task`), K = 2;
    * ``tanh_network``: one hidden layer of ``width`` tanh neurons (the ``grid.width`` axis),
      f(x) = sum_j a_j tanh(w_j x + b_j) + c (:mod:`nnqg.numerics._network_sgd`); ``trainable = "all"`` trains
      every weight and bias (K = 3 width + 1), ``"readout"`` the output layer only (K = width + 1)."""

    kind: str = "linear_regression"
    n_data: int = 256
    noise: float = 1.0
    slope: float = 1.0
    intercept: float = -0.5
    trainable: str = "all"


@dataclass(frozen=True)
class RunSpec:
    n_steps: int = 120
    anchors: tuple[int, ...] = (40, 70, 100)
    #: centre of the initial ensemble, as an offset from the loss minimiser (length K), and its spread
    init_offset: tuple[float, ...] = (0.5, -0.5)  # linear_regression only (the network has no closed-form q*)
    init_std: float = 0.3


@dataclass(frozen=True)
class MeasureSpec:
    basis_degree: int = 2
    tolerance: float = 0.1
    sigmas: float = 2.0
    bootstrap: int = 16
    potential: str = "loss"
    window: int = 4


@dataclass(frozen=True)
class SweepSpec:
    seed: int
    claims: tuple[str, ...]
    task: TaskSpec
    run: RunSpec
    measure: MeasureSpec
    gamma: tuple[float, ...]
    batch_size: tuple[int, ...]
    ensemble: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    width: tuple[int, ...] | None = None
    name: str = "sweep"

    def canonical(self) -> dict[str, Any]:
        d = asdict(self)
        d["measure_version"] = MEASURE_VERSION
        if self.task.kind not in TASKS_WITH_WIDTH:  # keeps the hash of specs written before task.trainable existed
            del d["task"]["trainable"]
        return d

    def spec_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GridPoint:
    index: int
    gamma: float
    batch_size: int
    ensemble: int
    seed: int
    width: int | None = None


_SECTIONS = {
    "sweep": {"seed", "claims", "name"},
    "task": {"kind", "n_data", "noise", "slope", "intercept", "trainable"},
    "run": {"n_steps", "anchors", "init_offset", "init_std"},
    "measure": {"basis_degree", "tolerance", "sigmas", "bootstrap", "potential", "window"},
    "grid": {"gamma", "batch_size", "ensemble", "seeds", "width"},
}


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a TOML sweep spec; every error is an :class:`InvalidArgument` naming the key."""
    p = Path(path)
    text = read_user_text(p, "SPEC")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"SPEC {str(p)!r}: not valid TOML ({exc})") from None
    return parse_spec(data)


def _int(v: Any, key: str, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidArgument(f"{key}: {v!r} is not an integer")
    if v < lo:
        raise InvalidArgument(f"{key}: {v!r} must be >= {lo}")
    return v


def _float(v: Any, key: str, positive: bool = False, what: str = "number") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise InvalidArgument(f"{key}: {v!r} is not a finite number")
    if positive and not float(v) > 0:
        raise InvalidArgument(f"{key}: {v!r} is not a positive {what}; use values > 0")
    return float(v)


def _axis(grid: Mapping[str, Any], key: str, conv: Callable[[Any, str], Any]) -> tuple:
    v = grid[key]
    if not isinstance(v, list):
        v = [v]
    if not v:
        raise InvalidArgument(f"grid.{key}: empty list, the grid has no points; give at least one value")
    out = tuple(conv(x, f"grid.{key}") for x in v)
    if len(set(out)) != len(out):
        raise InvalidArgument(f"grid.{key}: repeated values {list(v)}; each value once")
    return out


def parse_spec(data: Mapping[str, Any]) -> SweepSpec:
    """Validate a parsed spec (the dict of a TOML file). Unknown sections or keys, missing required keys, empty
    or invalid axes raise :class:`InvalidArgument` naming ``section.key``."""
    for sec in data:
        if sec not in _SECTIONS:
            raise InvalidArgument(f"{sec}: unknown section; a spec has {sorted(_SECTIONS)}")
        if not isinstance(data[sec], Mapping):
            raise InvalidArgument(f"{sec}: must be a table ([{sec}])")
        for key in data[sec]:
            if key not in _SECTIONS[sec]:
                raise InvalidArgument(f"{sec}.{key}: unknown key; [{sec}] takes {sorted(_SECTIONS[sec])}")
    for sec, key in (("sweep", "seed"), ("sweep", "claims"), ("grid", "gamma"), ("grid", "batch_size"),
                     ("grid", "ensemble")):
        if key not in data.get(sec, {}):
            raise InvalidArgument(f"{sec}.{key}: missing (required)")
    sw, tk, rn, ms, gr = (data.get(s, {}) for s in ("sweep", "task", "run", "measure", "grid"))

    seed = _int(sw["seed"], "sweep.seed")
    claims = sw["claims"]
    if isinstance(claims, str) or not isinstance(claims, list) or not claims:
        raise InvalidArgument(f"sweep.claims: {claims!r}; give a non-empty list from {list(DESCRIPTIONS)}")
    for c in claims:
        if c not in DESCRIPTIONS:
            raise InvalidArgument(f"sweep.claims: unknown claim {c!r}; known: {list(DESCRIPTIONS)}")
    name = sw.get("name", "sweep")
    if not isinstance(name, str):
        raise InvalidArgument(f"sweep.name: {name!r} is not a string")

    kind = tk.get("kind", TaskSpec.kind)
    if kind not in TASK_KINDS:
        raise InvalidArgument(f"task.kind: unknown task {kind!r}; known: {list(TASK_KINDS)}")
    trainable = tk.get("trainable", TaskSpec.trainable)
    if "trainable" in tk and kind not in TASKS_WITH_WIDTH:
        raise InvalidArgument(f"task.trainable: only for a network task {list(TASKS_WITH_WIDTH)}; the task {kind!r} "
                              "trains both of its parameters")
    if trainable not in ("all", "readout"):
        raise InvalidArgument(f"task.trainable: {trainable!r}; use 'all' (every weight and bias) or 'readout'")
    task = TaskSpec(kind=kind, n_data=_int(tk.get("n_data", TaskSpec.n_data), "task.n_data", 2),
                    noise=_float(tk.get("noise", TaskSpec.noise), "task.noise", True, "noise level"),
                    slope=_float(tk.get("slope", TaskSpec.slope), "task.slope"),
                    intercept=_float(tk.get("intercept", TaskSpec.intercept), "task.intercept"),
                    trainable=trainable)

    n_steps = _int(rn.get("n_steps", RunSpec.n_steps), "run.n_steps", 5)
    anchors = rn.get("anchors", list(RunSpec.anchors))
    if not isinstance(anchors, list) or not anchors:
        raise InvalidArgument(f"run.anchors: {anchors!r}; give a non-empty list of SGD steps")
    anchors_t = tuple(sorted({_int(a, "run.anchors") for a in anchors}))
    if kind == "linear_regression":
        off = rn.get("init_offset", list(RunSpec.init_offset))
        if not isinstance(off, list) or len(off) != 2:
            raise InvalidArgument(f"run.init_offset: {off!r}; give 2 numbers (one per parameter)")
        offset = tuple(_float(x, "run.init_offset") for x in off)
    else:
        if "init_offset" in rn:
            raise InvalidArgument(f"run.init_offset: only for linear_regression; the {kind} ensemble starts around "
                                  "its random initial network (run.init_std sets the spread)")
        offset = ()
    run = RunSpec(n_steps=n_steps, anchors=anchors_t, init_offset=offset,
                  init_std=_float(rn.get("init_std", RunSpec.init_std), "run.init_std", True, "spread"))

    pot = ms.get("potential", MeasureSpec.potential)
    if pot not in ("loss", "fitted"):
        raise InvalidArgument(f"measure.potential: {pot!r}; use 'loss' (V = U) or 'fitted'")
    measure = MeasureSpec(
        basis_degree=_int(ms.get("basis_degree", MeasureSpec.basis_degree), "measure.basis_degree", 1),
        tolerance=_float(ms.get("tolerance", MeasureSpec.tolerance), "measure.tolerance", True, "tolerance"),
        sigmas=_float(ms.get("sigmas", MeasureSpec.sigmas), "measure.sigmas"),
        bootstrap=_int(ms.get("bootstrap", MeasureSpec.bootstrap), "measure.bootstrap", 2),
        potential=pot, window=_int(ms.get("window", MeasureSpec.window), "measure.window", 1))
    w = measure.window
    for a in anchors_t:
        if not w + 1 <= a <= n_steps - w - 1:
            raise InvalidArgument(f"run.anchors: step {a} must lie in [measure.window + 1, run.n_steps - "
                                  f"measure.window - 1] = [{w + 1}, {n_steps - w - 1}] (the measures use the "
                                  "steps t - window - 1 .. t + window + 1)")
    if measure.sigmas < 0:
        raise InvalidArgument(f"measure.sigmas: {measure.sigmas!r} must be >= 0")
    if measure.basis_degree > 4:
        raise InvalidArgument(f"measure.basis_degree: {measure.basis_degree} > 4; high-degree fits of noisy "
                              "increments are ill-conditioned")

    gamma = _axis(gr, "gamma", lambda v, k: _float(v, k, True, "step size"))
    batch = _axis(gr, "batch_size", lambda v, k: _int(v, k, 1))
    for b in batch:
        if b > task.n_data:
            raise InvalidArgument(f"grid.batch_size: {b} > task.n_data = {task.n_data}")
    ens = _axis(gr, "ensemble", lambda v, k: _int(v, k, 20))
    seeds = _axis(gr, "seeds", lambda v, k: _int(v, k)) if "seeds" in gr else (0,)
    width = None
    if "width" in gr:
        if task.kind not in TASKS_WITH_WIDTH:
            raise InvalidArgument(f"grid.width: task {task.kind!r} has no width (number of neurons); remove "
                                  f"grid.width or use a task with hidden neurons: {list(TASKS_WITH_WIDTH)}")
        width = _axis(gr, "width", lambda v, k: _int(v, k, 1))
    elif task.kind in TASKS_WITH_WIDTH:
        raise InvalidArgument(f"grid.width: missing (required for the task {task.kind!r}: the numbers of hidden "
                              "neurons, e.g. width = [1, 2, 3])")
    spec = SweepSpec(seed=seed, claims=tuple(claims), task=task, run=run, measure=measure, gamma=gamma,
                     batch_size=batch, ensemble=ens, seeds=seeds, width=width, name=name)
    worst = max(((w, n) for w in (width or (None,)) for n in ens), key=lambda wn: point_bytes(spec, *wn))
    need = point_bytes(spec, *worst)
    if need > MEMORY_LIMIT:
        raise InvalidArgument(
            f"grid.width/grid.ensemble: the largest point (width {worst[0]}, N = {worst[1]}, K = "
            f"{n_parameters(task, worst[0])} parameters) needs about {need / 1024 ** 3:.1f} GiB for its trajectory "
            f"and measures, more than the {MEMORY_LIMIT / 1024 ** 3:.0f} GiB limit; use fewer neurons, "
            "task.trainable = 'readout', a smaller ensemble or a lower measure.basis_degree")
    if set(claims) & {"madelung", "schrodinger"}:
        for w in (width or (None,)):
            nb = math.comb(n_parameters(task, w) + measure.basis_degree, measure.basis_degree)
            if min(ens) < 2 * nb:
                raise InvalidArgument(
                    f"grid.ensemble: {min(ens)} members are too few for the Nelson fits at width {w} (K = "
                    f"{n_parameters(task, w)}, {nb} polynomial basis functions of degree <= "
                    f"{measure.basis_degree}): each half of the ensemble must have at least as many members as "
                    f"basis functions; use ensemble >= {2 * nb}")
    return spec


def n_parameters(task: TaskSpec, width: int | None) -> int:
    """K, the number of trained parameters of the task at this width."""
    if task.kind == "linear_regression":
        return 2
    assert width is not None
    return 3 * width + 1 if task.trainable == "all" else width + 1


def point_cost(spec: SweepSpec, point: GridPoint) -> int:
    """A relative cost of a point, for scheduling only: members x steps x basis size of the fits (the measured
    time per point grows like the number of polynomial basis functions C(K + d, d))."""
    K = n_parameters(spec.task, point.width)
    return point.ensemble * spec.run.n_steps * math.comb(K + spec.measure.basis_degree, spec.measure.basis_degree)


def point_bytes(spec: SweepSpec, width: int | None, n_members: int) -> int:
    """An upper estimate of the memory one grid point holds at its peak: the trajectory (n_steps + 1, N, K), and
    the larger of the weak-form measures (about fourteen (N, M) arrays of test-function terms, M = C(K + 2, 2),
    and three (N, K, K) diffusion arrays) and the Nelson fits (:func:`nelson_bytes`, when requested), with a
    quarter more for temporaries. Checked against the traced peak in the tests (it must not underestimate)."""
    K = n_parameters(spec.task, width)
    traj = 8 * (spec.run.n_steps + 1) * n_members * K
    weak = 8 * n_members * (14 * math.comb(K + 2, 2) + 3 * K * K)
    nel = 0
    if set(spec.claims) & {"madelung", "schrodinger"}:
        nel = nelson_bytes(K, spec.measure.basis_degree, n_members, len(spec.run.anchors), spec.measure.window)
    return int(1.25 * (traj + max(weak, nel)))


def nelson_bytes(K: int, degree: int, n_members: int, n_anchors: int, window: int = 6) -> int:
    """Bytes held by the Nelson fits (:class:`_AnchorDesign`): for each anchor the per-member window sums
    (N, 3, nb, nb) and 2 x (N, 2, nb, K), the basis derivatives (K + 1) x (N, nb) and the potential basis
    gradients (N, K, Mv), nb = C(K + d, d), Mv = C(K + d + 1, d + 1); plus the temporaries of one anchor's
    window: the basis at 2 window + 1 steps and one Gram product (N, nb, nb)."""
    nb = math.comb(K + degree, degree)
    mv = math.comb(K + degree + 1, degree + 1)
    per_anchor = n_members * (3 * nb * nb + 4 * nb * K + (K + 1) * nb + K * mv)
    temp = n_members * ((2 * window + 1) * (nb + 2 * K) + nb * nb)
    return 8 * (n_anchors * per_anchor + temp)


def grid_points(spec: SweepSpec) -> list[GridPoint]:
    """The grid in a fixed order (gamma, batch_size, width, ensemble, seeds; last varies fastest)."""
    widths: Sequence[int | None] = spec.width if spec.width is not None else (None,)
    return [GridPoint(index=i, gamma=g, batch_size=b, width=w, ensemble=n, seed=s)
            for i, (g, b, w, n, s) in enumerate(itertools.product(spec.gamma, spec.batch_size, widths,
                                                                  spec.ensemble, spec.seeds))]


def point_seed(spec: SweepSpec, point: GridPoint) -> np.random.SeedSequence:
    """Child ``point.index`` of ``SeedSequence(spec.seed)`` (what ``.spawn`` would hand out): an independent
    stream per point, whatever worker runs it and in whatever order."""
    return np.random.SeedSequence(spec.seed, spawn_key=(point.index,))


# ------------------------------------------------------------------------------------------ the SGD back end

@dataclass(frozen=True)
class Ensemble:
    """Consecutive SGD snapshots ``q[s, i, :]`` (s = 0..n_steps) and the model that produced them."""

    q: np.ndarray
    grad_loss: Callable[[np.ndarray], np.ndarray]  # (N, K) -> (N, K): grad U
    grad_cov: Callable[[np.ndarray], np.ndarray]  # (N, K) -> (N, K, K): per-example gradient covariance Sigma(q)
    loss: Callable[[np.ndarray], np.ndarray]  # (N, K) -> (N,)


def regression_model(x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable, Callable]:
    r"""Loss, gradient and per-example gradient covariance of :math:`\ell_n = (q_1x_n+q_2-y_n)^2/2`, vectorised
    over an ensemble (N, 2), from the data moments :math:`M_{ab} = \overline{x^a y^b}`: with
    :math:`r = q_1x+q_2-y`, :math:`\nabla U = (\overline{rx}, \overline r)` and
    :math:`\Sigma = \overline{r^2 (x,1)(x,1)^T} - \nabla U\nabla U^T` (population covariance, 1/n, as for
    mini-batches drawn with replacement).

    >>> x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.0, 3.0])
    >>> loss, grad, cov = regression_model(x, y)
    >>> q = np.array([[0.5, -0.2]])
    >>> g = np.stack([(q[0, 0] * x + q[0, 1] - y) * x, q[0, 0] * x + q[0, 1] - y], axis=1)
    >>> bool(np.allclose(cov(q)[0], np.cov(g.T, bias=True)) and np.allclose(grad(q)[0], g.mean(axis=0)))
    True
    """
    M = {(a, b): float(np.mean(x ** a * y ** b)) for a in range(5) for b in range(3) if a + b <= 4}

    def loss(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]
        return 0.5 * (q1 ** 2 * M[2, 0] + q2 ** 2 + M[0, 2] + 2 * q1 * q2 * M[1, 0] - 2 * q1 * M[1, 1]
                      - 2 * q2 * M[0, 1])

    def grad(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]
        return np.stack([q1 * M[2, 0] + q2 * M[1, 0] - M[1, 1], q1 * M[1, 0] + q2 - M[0, 1]], axis=1)

    def cov(q: np.ndarray) -> np.ndarray:
        q1, q2 = q[:, 0], q[:, 1]

        def r2x(k: int) -> np.ndarray:  # mean of r^2 x^k
            return (q1 ** 2 * M[k + 2, 0] + q2 ** 2 * M[k, 0] + M[k, 2] + 2 * q1 * q2 * M[k + 1, 0]
                    - 2 * q1 * M[k + 1, 1] - 2 * q2 * M[k, 1])

        g = grad(q)
        out = np.empty((q.shape[0], 2, 2))
        out[:, 0, 0] = r2x(2) - g[:, 0] ** 2
        out[:, 0, 1] = out[:, 1, 0] = r2x(1) - g[:, 0] * g[:, 1]
        out[:, 1, 1] = r2x(0) - g[:, 1] ** 2
        return out

    return loss, grad, cov


def _default_simulator(spec: SweepSpec, point: GridPoint, rng: np.random.Generator) -> Ensemble:
    """The shared simulators :mod:`nnqg.numerics._sgd` and :mod:`nnqg.numerics._network_sgd` (numba, serial:
    dask provides the parallelism). The data set, the initial network and the ensemble are all drawn from the
    point's own stream."""
    try:
        from nnqg.numerics import _network_sgd, _sgd
    except ImportError:  # pragma: no cover - an installation without the simulator
        raise NnqgError("the SGD simulators nnqg.numerics._sgd/_network_sgd are not available in this "
                        "installation") from None
    t = spec.task
    if t.kind == "tanh_network":
        assert point.width is not None
        net = _network_sgd.make_network_task(rng, point.width, n_data=t.n_data, slope=t.slope,
                                             intercept=t.intercept, noise=t.noise)
        model = _network_sgd.NetworkModel(net, trainable=t.trainable)
        q0 = model.initial_ensemble(rng, point.ensemble, spec.run.init_std)
        q = _network_sgd.simulate_network_sgd(model, q0, point.gamma, point.batch_size, spec.run.n_steps, rng)
        return Ensemble(q=q, grad_loss=model.grad, grad_cov=model.grad_cov, loss=model.loss)
    task = _sgd.make_regression_task(rng, n_data=t.n_data, slope=t.slope, intercept=t.intercept, noise=t.noise)
    centre = task.q_star + np.asarray(spec.run.init_offset)
    q0 = centre + spec.run.init_std * rng.standard_normal((point.ensemble, 2))
    q = _sgd.simulate_sgd(task, q0, point.gamma, point.batch_size, spec.run.n_steps, rng, record_every=1,
                          parallel=False)
    loss, grad, cov = regression_model(task.x, task.y)
    return Ensemble(q=q, grad_loss=grad, grad_cov=cov, loss=loss)


#: the simulator used by :func:`evaluate_point`, ``(spec, point, rng) -> Ensemble``; tests may swap it
SIMULATOR: list[Callable[[SweepSpec, GridPoint, np.random.Generator], Ensemble]] = [_default_simulator]


# ------------------------------------------------------------------------------------------ polynomial algebra

def _exponents(K: int, degree: int) -> np.ndarray:
    """Multi-indices alpha in N^K with |alpha| <= degree, graded order."""
    out = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(K), d):
            a = [0] * K
            for j in combo:
                a[j] += 1
            out.append(tuple(a))
    return np.array(sorted(out, key=lambda a: (sum(a), tuple(-x for x in a))), dtype=np.int64).reshape(-1, K)


def _powers(z: np.ndarray, top: int) -> np.ndarray:
    """pw[j, :, r] = z[:, j]**r, r = 0..top, by repeated products (exact, cheaper than float ** on arrays)."""
    pw = np.ones((z.shape[1], z.shape[0], top + 1))
    for r in range(1, top + 1):
        pw[:, :, r] = pw[:, :, r - 1] * z.T
    return pw


def _mono(z: np.ndarray, E: np.ndarray, order: Sequence[int], pw: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\partial^{order}_z z^\alpha` for every row alpha of E at every point: shape (N, len(E)).
    ``pw``: :func:`_powers` of z, when the caller reuses it across orders."""
    N, K = z.shape
    if pw is None:
        pw = _powers(z, int(E.max()) if E.size else 0)
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


def _unit(K: int, *js: int) -> list[int]:
    o = [0] * K
    for j in js:
        o[j] += 1
    return o


@dataclass(frozen=True)
class _Fit:
    """A vector polynomial P(q) = sum_alpha C[alpha] z^alpha, z = (q - mu)/sd."""

    mu: np.ndarray
    sd: np.ndarray
    E: np.ndarray
    C: np.ndarray  # (n_basis, K_out)

    def z(self, q: np.ndarray) -> np.ndarray:
        return (q - self.mu) / self.sd

    def value(self, q: np.ndarray) -> np.ndarray:
        return _mono(self.z(q), self.E, [0] * q.shape[1]) @ self.C

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """J[i, o, j] = dP_o/dq_j."""
        z = self.z(q)
        K = q.shape[1]
        return np.stack([(_mono(z, self.E, _unit(K, j)) @ self.C) / self.sd[j] for j in range(K)], axis=2)

    def laplacian(self, q: np.ndarray) -> np.ndarray:
        z = self.z(q)
        K = q.shape[1]
        return sum((_mono(z, self.E, _unit(K, j, j)) @ self.C) / self.sd[j] ** 2 for j in range(K))


def _fit(q: np.ndarray, y: np.ndarray, E: np.ndarray) -> _Fit:
    mu, sd = q.mean(axis=0), q.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    A = _mono((q - mu) / sd, E, [0] * q.shape[1])
    return _Fit(mu, sd, E, _lstsq(A, y))


def _lstsq(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares by the normal equations of the small Gram matrix (columns are polynomials of standardised
    variables, degree <= 4, so the Gram matrix is well conditioned). BLAS is single-threaded in dask workers
    (the nanny sets OMP/OPENBLAS_NUM_THREADS=1), so one task per core does not oversubscribe the CPUs; in a plain
    process it may use several threads, which can change the last digits (1e-15 relative) of a point's row."""
    return np.linalg.lstsq(A.T @ A, A.T @ y, rcond=None)[0]


@dataclass(frozen=True)
class _DerivTable:
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
    def of(E: np.ndarray) -> "_DerivTable":
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
        out = _DerivTable(reduced=reduced, first=arrays(first), second=arrays(second))
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


_DERIV_TABLES: dict[tuple, _DerivTable] = {}


def _test_functions(q: np.ndarray, mu: np.ndarray, sd: np.ndarray, E: np.ndarray,
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

    The derivatives of m are contracted entry by entry (:class:`_DerivTable`), never stored as (N, M, K) or
    (N, M, K, K) arrays: cost and memory O(N M) per term."""
    z = (q - mu) / sd
    N, K = z.shape
    M = len(E)
    top = int(E.max()) if E.size else 0
    pw = _powers(z, top)
    g = np.exp(-0.25 * np.sum(z * z, axis=1))[:, None]
    m = _mono(z, E, [0] * K, pw)
    table = _DerivTable.of(E)
    red = _mono(z, table.reduced, [0] * K, pw) if (vectors or matrices) else None
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


# ----------------------------------------------------------------------------------------------- the measures

def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum(np.atleast_2d(x) ** 2, axis=-1))))


def _window(t: int, w: int) -> range:
    return range(t - w, t + w + 1)


def fokker_planck_distance(ens: Ensemble, gamma: float, batch_size: int, anchors: Sequence[int], window: int = 0
                           ) -> dict[str, Any]:
    """Weak-form Fokker-Planck residual (module docstring), per member averaged over the steps
    ``t - window .. t + window`` of every anchor t: ``fp_distance``, ``fp_se`` and the test function ``fp_worst``
    (index into the graded multi-indices) where it is largest."""
    q = ens.q
    K = q.shape[2]
    E = _exponents(K, 2)
    r_sum = 0.0
    s_drift = 0.0
    s_diff = 0.0
    count = 0
    for t in anchors:
        mu, sd = q[t].mean(axis=0), q[t].std(axis=0)
        for s in _window(t, window):
            qs, q1 = q[s], q[s + 1]
            D = gamma ** 2 * ens.grad_cov(qs) / (2.0 * batch_size)
            v0, (drift,), (diff,) = _test_functions(qs, mu, sd, E, [-gamma * ens.grad_loss(qs)], [D])
            v1, _, _ = _test_functions(q1, mu, sd, E)
            r_sum = r_sum + (v1 - v0) - drift - diff
            s_drift = s_drift + np.abs(drift)
            s_diff = s_diff + np.abs(diff)
            count += 1
    r = r_sum / count
    N = r.shape[0]
    R = r.mean(axis=0)
    se = r.std(axis=0, ddof=1) / math.sqrt(N)
    S = (s_drift / count).mean(axis=0) + (s_diff / count).mean(axis=0)
    rel = np.abs(R) / S
    k = int(np.argmax(rel))
    return {"fp_distance": float(rel[k]), "fp_se": float(se[k] / S[k]), "fp_worst": float(k),
            "fp_rel": rel, "fp_rel_se": se / S}


@dataclass(frozen=True)
class _AnchorDesign:
    r"""Everything about anchor t that does not depend on which members are used: the basis
    :math:`z^\alpha` at every member and window step (z standardised once, by the full ensemble at t: the span of
    polynomials of total degree <= d is invariant under affine maps, so fitted values do not depend on it), the
    one-step increments, and the derivatives of the basis at the anchor."""

    w: int
    base_t: np.ndarray  # (N, nb) basis at the anchor
    # per-member sums over the window (s - t = tau) of x x^T, tau x x^T, tau^2 x x^T and of x dq^T, tau x dq^T
    # (x the basis at q_s, dq the forward or backward increment): a fit on any multiset of members is then a
    # sum of these over the members, O(N nb^2), whatever the window length
    gram: np.ndarray  # (N, 3, nb, nb)
    rhs_fwd: np.ndarray  # (N, 2, nb, K)
    rhs_bwd: np.ndarray  # (N, 2, nb, K)
    d1: np.ndarray  # (K, N, nb) d/dq_j of the basis at t
    lap: np.ndarray  # (N, nb) Laplacian (in q) of the basis at t
    pot_grad: np.ndarray  # (N, K, M) gradients of the degree-(d+1) potential basis at t
    grad_loss: np.ndarray  # (N, K) grad U at t
    loop_base: np.ndarray  # (L, nb) basis on the one-sigma ellipse
    loop_tangent: np.ndarray  # (L, K) dq/dtheta on the ellipse

    @staticmethod
    def make(q: np.ndarray, t: int, w: int, E: np.ndarray, ens: Ensemble) -> "_AnchorDesign":
        qt = q[t]
        N, K = qt.shape
        mu, sd = qt.mean(axis=0), qt.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        steps = list(_window(t, w))
        tau = np.array([float(s - t) for s in steps])
        X = np.stack([_mono((q[s] - mu) / sd, E, [0] * K) for s in steps], axis=1)  # (N, S, nb)
        Xt = X.transpose(0, 2, 1)
        # batched matmuls over members: sums over the window of tau^p x x^T and tau^p x dq^T
        gram = np.stack([Xt @ (X * (tau ** p)[None, :, None]) for p in range(3)], axis=1)
        fwd = np.stack([q[s + 1] - q[s] for s in steps], axis=1)  # (N, S, K)
        bwd = np.stack([q[s] - q[s - 1] for s in steps], axis=1)
        rhs_f = np.stack([Xt @ (fwd * (tau ** p)[None, :, None]) for p in range(2)], axis=1)
        rhs_b = np.stack([Xt @ (bwd * (tau ** p)[None, :, None]) for p in range(2)], axis=1)
        z = (qt - mu) / sd
        d1 = np.stack([_mono(z, E, _unit(K, j)) / sd[j] for j in range(K)])
        lap = sum(_mono(z, E, _unit(K, j, j)) / sd[j] ** 2 for j in range(K))
        Ev = _exponents(K, int(E.sum(axis=1).max()) + 1)[1:]
        pot_grad = np.stack([_mono(z, Ev, _unit(K, j)) / sd[j] for j in range(K)], axis=1)
        if K >= 2:  # the one-sigma ellipse of the first two parameters (the others at their mean)
            L = np.linalg.cholesky(np.cov(qt.T)[:2, :2])
            th = np.linspace(0.0, 2 * np.pi, 257)[:-1]
            pts = np.tile(mu, (len(th), 1))
            pts[:, :2] += np.stack([np.cos(th), np.sin(th)], axis=1) @ L.T
            tang = np.zeros((len(th), K))
            tang[:, :2] = np.stack([-np.sin(th), np.cos(th)], axis=1) @ L.T
            loop_base = _mono((pts - mu) / sd, E, [0] * K)
        else:
            loop_base, tang = np.zeros((0, len(E))), np.zeros((0, K))
        return _AnchorDesign(w=w, base_t=_mono((qt - mu) / sd, E, [0] * K), gram=gram, rhs_fwd=rhs_f,
                             rhs_bwd=rhs_b, d1=d1, lap=lap, pot_grad=pot_grad,
                             grad_loss=ens.grad_loss(qt), loop_base=loop_base, loop_tangent=tang)

    def fit(self, rows: np.ndarray, backward: bool) -> tuple[np.ndarray, np.ndarray]:
        """Pooled least squares over the window of increments on z^alpha and z^alpha (s - t) for the members
        ``rows``: coefficients (nb, K) of the drift at t and of its time derivative."""
        # a resample repeats members: weight each member by its multiplicity (one product, no copies)
        c = np.bincount(rows, minlength=self.gram.shape[0]).astype(float)
        rhs = self.rhs_bwd if backward else self.rhs_fwd
        G = (c @ self.gram.reshape(len(c), -1)).reshape(self.gram.shape[1:])
        R = (c @ rhs.reshape(len(c), -1)).reshape(rhs.shape[1:])
        nb = G.shape[1]
        A = np.block([[G[0], G[1]], [G[1], G[2]]])
        C = np.linalg.lstsq(A, np.concatenate([R[0], R[1]]), rcond=None)[0]
        return C[:nb], C[nb:]


def _halves(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two halves of a (re)sample for cross-fitting, split by member (even and odd member index): a member the
    bootstrap draws several times stays in one half, so the halves' fit noise is independent, as it is for the
    whole ensemble (idx = 0..N-1, where these are idx[0::2] and idx[1::2]). Measured over 40 independent
    ensembles of a Nelson ground state, the bootstrap SE of the Newton distance is then 1.11x their spread; split
    by position in the resample (a member in both halves) it was 0.79x, an underestimate."""
    return idx[idx % 2 == 0], idx[idx % 2 == 1]


def _nelson_at(d: _AnchorDesign, idx: np.ndarray, nu: float, gamma: float, potential: str) -> dict[str, Any]:
    r"""Newton-law terms and circulation at an anchor for the members ``idx`` (a bootstrap resample or all).

    Mean squares are *cross-fitted*: the drifts are fitted on two disjoint halves A, B of ``idx`` and
    :math:`\overline{|\rho|^2}` is estimated by :math:`\overline{\rho_A\cdot\rho_B}` over all of ``idx``;
    the fit noise of the halves is independent, so the estimate has no positive noise floor (it is clipped at 0
    when noise makes it negative). The same for the mean square of every term."""
    halves = _halves(idx)
    base_t = d.base_t[idx]
    d1 = d.d1[:, idx]  # (K, n, nb)
    lap = d.lap[idx]
    per_half = []
    circ = 0.0
    for h in halves:
        (cb, cdb), (cbs, cdbs) = d.fit(h, False), d.fit(h, True)
        cv, cu, cdv = 0.5 * (cb + cbs), 0.5 * (cb - cbs), 0.5 * (cdb + cdbs)
        v, u, dvdt = base_t @ cv, base_t @ cu, base_t @ cdv
        vJ = np.einsum("jnm,mo->noj", d1, cv)  # d v_o / d q_j
        uJ = np.einsum("jnm,mo->noj", d1, cu)
        conv_v = np.einsum("noj,nj->no", vJ, v)
        conv_u = np.einsum("noj,nj->no", uJ, u)
        lap_u = nu * (lap @ cu)
        lhs = dvdt + conv_v - conv_u - lap_u
        if potential == "loss":
            force = gamma * d.grad_loss[idx]
        else:  # the best polynomial V of degree d+1 for this half: lhs = -gamma grad V
            P = d.pot_grad[idx]
            A = P.reshape(-1, P.shape[2])
            force = (A @ _lstsq(A, -lhs.reshape(-1))).reshape(lhs.shape)
        per_half.append((lhs + force, [dvdt, conv_v, conv_u, lap_u, force]))
        if len(d.loop_base):  # v is linear in the fit: the mean of the halves' circulations is unbiased
            vv = d.loop_base @ cv
            circ += 0.5 * float(np.sum(vv * d.loop_tangent) * (2 * np.pi / len(vv)))
    (rA, tA), (rB, tB) = per_half

    def cross(x: np.ndarray, y: np.ndarray) -> float:
        return max(float(np.mean(np.sum(x * y, axis=1))), 0.0)

    return {"rho_sq": cross(rA, rB), "term_sq": [cross(x, y) for x, y in zip(tA, tB)], "circulation": circ}


def nelson_distances(ens: Ensemble, gamma: float, batch_size: int, anchors: Sequence[int], degree: int,
                     potential: str, n_boot: int, rng: np.random.Generator, want_circulation: bool = True,
                     window: int = 4) -> dict[str, Any]:
    """Osmotic, stochastic-Newton and circulation measures of the Madelung/Schrodinger descriptions
    (module docstring), with standard errors (analytic for osmotic, bootstrap over members for the others)."""
    if window < 1:
        raise InvalidArgument(f"window: {window} < 1; the time derivative of v needs a window of steps")
    q = ens.q
    N, K = q.shape[1], q.shape[2]
    E = _exponents(K, degree)
    # nu: the theory's scalar noise strength, ensemble mean of tr D / K over the anchors; d_spread: the relative
    # spread of the eigenvalues of D(q) over members and anchors (0 for Nelson's scalar, uniform nu)
    eig = []
    for t in anchors:
        D = gamma ** 2 * ens.grad_cov(q[t]) / (2.0 * batch_size)
        eig.append(np.linalg.eigvalsh(D))
    eig_a = np.concatenate(eig)
    nu = float(np.mean(eig_a))
    d_spread = float(np.std(eig_a) / nu) if nu > 0 else float("nan")

    # osmotic consistency, weak form with the test functions' gradients, averaged over each window per member
    Et = _exponents(K, 2)
    o_sum = 0.0
    s_sum = 0.0
    count = 0
    for t in anchors:
        mu, sd = q[t].mean(axis=0), q[t].std(axis=0)
        for s in _window(t, window):
            qs = q[s]
            half = 0.5 * ((q[s + 1] - qs) - (qs - q[s - 1]))
            _, (du,), (lap,) = _test_functions(qs, mu, sd, Et, [half], [None])
            o_sum = o_sum + du + nu * lap
            s_sum = s_sum + 2 * nu * np.abs(lap)
            count += 1
    o = o_sum / count
    O = o.mean(axis=0)
    o_se = o.std(axis=0, ddof=1) / math.sqrt(N)
    S = (s_sum / count).mean(axis=0)
    orel = np.abs(O) / S
    ko = int(np.argmax(orel))

    designs = [_AnchorDesign.make(q, t, window, E, ens) for t in anchors]

    def stats(idx: np.ndarray) -> tuple[float, float]:
        rho = 0.0
        terms = np.zeros(5)
        circ = 0.0
        for d in designs:
            r = _nelson_at(d, idx, nu, gamma, potential)
            rho += r["rho_sq"]
            terms += np.array(r["term_sq"])
            circ = max(circ, abs(r["circulation"]))
        n_a = len(anchors)
        scale = float(np.sum(np.sqrt(terms / n_a)))
        newton = math.sqrt(rho / n_a) / scale if scale > 0 else float("nan")
        hbar = 2 * nu / gamma
        return newton, (circ / (2 * math.pi * hbar * gamma) if want_circulation else 0.0)

    newton, quanta = stats(np.arange(N))
    boots = np.array([stats(rng.integers(0, N, N)) for _ in range(n_boot)])
    return {"nu": nu, "d_spread": d_spread,
            "osmotic_distance": float(orel[ko]), "osmotic_se": float(o_se[ko] / S[ko]),
            "osm_rel": orel, "osm_rel_se": o_se / S,
            "newton_distance": newton, "newton_se": float(np.std(boots[:, 0], ddof=1)),
            "circulation_quanta": quanta, "circulation_se": float(np.std(boots[:, 1], ddof=1))}


def _within(dist: float, se: float, tol: float, k: float) -> bool:
    return bool(math.isfinite(dist) and math.isfinite(se) and dist + k * se <= tol)


def evaluate_point(spec: SweepSpec, point: GridPoint, seed_seq: np.random.SeedSequence) -> dict[str, Any]:
    """Run one grid point: simulate the SGD ensemble and measure its distance from each requested description.

    Returns a flat dict of numbers (the row stored for the point). Distances of descriptions not requested are
    NaN; ``nonfinite`` is True when a requested distance came out NaN or infinite (never masked)."""
    t0 = time.perf_counter()
    rng_sim, rng_boot = (np.random.default_rng(s) for s in seed_seq.spawn(2))
    ens = SIMULATOR[0](spec, point, rng_sim)
    m, nan = spec.measure, float("nan")
    row: dict[str, Any] = {
        "point_id": point.index, "gamma": point.gamma, "batch_size": point.batch_size,
        "width": -1 if point.width is None else point.width, "ensemble": point.ensemble, "seed": point.seed,
    }
    with np.errstate(all="ignore"):
        want = set(spec.claims)
        fp = fokker_planck_distance(ens, point.gamma, point.batch_size, spec.run.anchors, m.window) \
            if "fokker_planck" in want else {}
        nl = nelson_distances(ens, point.gamma, point.batch_size, spec.run.anchors, m.basis_degree,
                              m.potential, m.bootstrap, rng_boot, want_circulation="schrodinger" in want,
                              window=m.window) \
            if want & {"madelung", "schrodinger"} else {}
    row["fp_distance"] = fp.get("fp_distance", nan)
    row["fp_se"] = fp.get("fp_se", nan)
    row["fp_within"] = _within(row["fp_distance"], row["fp_se"], m.tolerance, m.sigmas) if fp else False
    for k in ("nu", "d_spread", "osmotic_distance", "osmotic_se", "newton_distance", "newton_se",
              "circulation_quanta", "circulation_se"):
        row[k] = float(nl.get(k, nan))
    osm_ok = _within(row["osmotic_distance"], row["osmotic_se"], m.tolerance, m.sigmas)
    newt_ok = _within(row["newton_distance"], row["newton_se"], m.tolerance, m.sigmas)
    mad = max(row["osmotic_distance"], row["newton_distance"]) if nl else nan
    row["madelung_distance"] = mad
    row["madelung_within"] = bool(nl) and osm_ok and newt_ok
    circ_ok = _within(row["circulation_quanta"], row["circulation_se"], m.tolerance, m.sigmas)
    want_s = "schrodinger" in spec.claims
    row["schrodinger_distance"] = max(mad, row["circulation_quanta"]) if want_s else nan
    row["schrodinger_within"] = bool(want_s and row["madelung_within"] and circ_ok)
    if "madelung" not in spec.claims:
        row["madelung_within"] = False
        row["madelung_distance"] = nan
    col = {"fokker_planck": "fp_distance", "madelung": "madelung_distance", "schrodinger": "schrodinger_distance"}
    requested = [row[col[d]] for d in spec.claims]
    row["nonfinite"] = not all(math.isfinite(x) for x in requested)
    row["seconds"] = time.perf_counter() - t0
    return row


COLUMNS = ("point_id", "gamma", "batch_size", "width", "ensemble", "seed", "fp_distance", "fp_se", "fp_within",
           "nu", "d_spread", "osmotic_distance", "osmotic_se", "newton_distance", "newton_se", "circulation_quanta",
           "circulation_se", "madelung_distance", "madelung_within", "schrodinger_distance", "schrodinger_within",
           "nonfinite", "seconds")


# ------------------------------------------------------------------------------------------------- the store

class ResultStore:
    """Parquet parts plus a JSON manifest in one directory.

    ``points/part-<uuid>.parquet`` holds the rows of points finished together; each part is written to a
    temporary name and renamed (atomic on POSIX), so a crash leaves either a whole part or none. The set of
    finished points is
    the union of ``point_id`` over the parts on disk (the manifest is a readable index, rewritten atomically after
    each part, and never the only record). ``manifest.json`` also holds the spec and its hash, so ``--resume``
    refuses a directory made from another spec."""

    def __init__(self, root: str | os.PathLike[str], spec: SweepSpec, *, resume: bool) -> None:
        self.root = Path(root)
        self.spec = spec
        self.manifest_path = self.root / "manifest.json"
        self.parts_dir = self.root / "points"  # only Parquet parts: pyarrow/pandas can read the directory
        if self.root.exists() and not self.root.is_dir():
            raise InvalidArgument(f"--out {str(self.root)!r}: exists and is not a directory")
        if self.manifest_path.exists():
            try:
                man = json.loads(self.manifest_path.read_text())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"--out {str(self.root)!r}: unreadable manifest.json ({exc})") from None
            started = any(self.parts_dir.glob("part-*.parquet"))
            if not resume and (started or man.get("spec_hash") != spec.spec_hash()):
                raise InvalidArgument(f"--out {str(self.root)!r}: already holds a sweep; pass --resume to continue "
                                      "it or choose another --out")
            if man.get("spec_hash") != spec.spec_hash():
                raise InvalidArgument(f"--resume: {str(self.root)!r} holds a sweep of another spec (hash "
                                      f"{man.get('spec_hash')} != {spec.spec_hash()}); use another --out")
        elif self.parts_dir.is_dir() and any(self.parts_dir.glob("part-*.parquet")):
            raise InvalidArgument(f"--out {str(self.root)!r}: has result parts but no manifest.json; choose "
                                  "another --out")
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._write_manifest()

    def parts(self) -> list[Path]:
        return sorted(self.parts_dir.glob("part-*.parquet"))

    def done_ids(self) -> set[int]:
        import pyarrow.parquet as pq

        done: set[int] = set()
        for p in self.parts():
            done.update(int(x) for x in pq.read_table(p, columns=["point_id"]).column("point_id").to_pylist())
        return done

    def append(self, rows: Sequence[Mapping[str, Any]]) -> Path | None:
        if not rows:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{k: r[k] for k in COLUMNS} for r in rows], schema=_schema())
        name = f"part-{uuid.uuid4().hex[:12]}.parquet"
        tmp = self.parts_dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:  # the part is on disk before it becomes visible under its final name
            os.fsync(fh.fileno())
        os.replace(tmp, self.parts_dir / name)
        self._write_manifest()
        return self.parts_dir / name

    def read(self) -> Any:
        """All finished rows as one ``pyarrow.Table`` sorted by point id (duplicates, which only a manual copy
        of parts could create, are dropped)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = self.parts()
        if not parts:
            return _schema().empty_table()
        t = pa.concat_tables([pq.read_table(p) for p in parts]).sort_by("point_id")
        ids = t.column("point_id").to_pylist()
        keep = [i for i, x in enumerate(ids) if i == 0 or x != ids[i - 1]]
        return t.take(keep)

    def _write_manifest(self) -> None:
        man = {"format": STORE_FORMAT, "spec_hash": self.spec.spec_hash(), "spec": self.spec.canonical(),
               "total_points": len(grid_points(self.spec)), "columns": list(COLUMNS),
               "parts": [f"points/{p.name}" for p in self.parts()]}
        tmp = self.root / ".manifest.json.tmp"
        tmp.write_text(json.dumps(man, indent=1, sort_keys=True))
        os.replace(tmp, self.manifest_path)


def _schema() -> Any:
    import pyarrow as pa

    types = {"point_id": pa.int64(), "batch_size": pa.int64(), "width": pa.int64(), "ensemble": pa.int64(),
             "seed": pa.int64(), "fp_within": pa.bool_(), "madelung_within": pa.bool_(),
             "schrodinger_within": pa.bool_(), "nonfinite": pa.bool_()}
    return pa.schema([(c, types.get(c, pa.float64())) for c in COLUMNS])


# ------------------------------------------------------------------------------------------------ the engine

#: glibc padding kept at the top of the heap in worker processes (see :func:`local_cluster`)
WORKER_MALLOC_TOP_PAD = 64 * 1024 ** 2


def local_cluster(workers: int, processes: bool = True) -> Any:
    """A dask ``LocalCluster`` of ``workers`` single-threaded workers for sweeps.

    dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc return freed heap to the
    system at once; a point allocates many short-lived arrays of a few MB, and re-faulting them made a point
    1.2-1.6x slower in a worker than in a plain process (BENCHMARKS.md). ``MALLOC_TOP_PAD_`` keeps 64 MiB of
    padding per worker instead (measured: as fast as a plain process), while trimming beyond it stays on."""
    import logging

    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TOP_PAD_": WORKER_MALLOC_TOP_PAD}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=":0",
                            silence_logs=logging.ERROR)


@dataclass(frozen=True)
class SweepOutcome:
    total: int
    skipped: int  # finished before (--resume)
    computed: int
    failed: tuple[tuple[int, str], ...]  # (point id, error) of points whose task raised
    wall_seconds: float
    compute_seconds: float  # sum of per-point compute time measured inside evaluate_point
    workers: int
    table: Any = field(repr=False, default=None)  # pyarrow.Table of every finished point


ProgressCb = Callable[[int, int], None]


def run_sweep(spec: SweepSpec, out: str | os.PathLike[str], *, scheduler: str | None = None,
              workers: int | None = None, resume: bool = False, processes: bool = True,
              progress: ProgressCb | None = None, flush_seconds: float = 2.0, flush_rows: int = 64,
              client: Any = None) -> SweepOutcome:
    """Evaluate every grid point not yet stored on dask.distributed and store the rows as they finish.

    ``scheduler``: address of an existing cluster (``tcp://host:8786``); otherwise a ``LocalCluster`` with
    ``workers`` single-threaded workers (processes, or threads when ``processes=False``). Rows are flushed to a
    new Parquet part every ``flush_seconds`` or ``flush_rows`` rows, and on any exit (including Ctrl-C); a task
    lost with a dying worker is re-run by the scheduler from the same seed, so the stored number is the same."""
    store = ResultStore(out, spec, resume=resume)
    points = grid_points(spec)
    done = store.done_ids() if resume else set()
    todo = [p for p in points if p.index not in done]
    total = len(points)
    if progress:
        progress(len(done), total)
    t0 = time.perf_counter()
    failed: list[tuple[int, str]] = []
    computed = 0
    compute_s = 0.0
    n_workers = 0
    if todo:
        from dask.distributed import Client, as_completed

        own_cluster = own_client = None
        try:
            if client is None:
                if scheduler is not None:
                    try:
                        client = own_client = Client(scheduler, timeout="10s")
                    except (OSError, TimeoutError, ValueError) as exc:
                        raise InvalidArgument(f"--scheduler {scheduler!r}: cannot connect ({exc})") from None
                else:
                    own_cluster = local_cluster(workers or os.cpu_count() or 1, processes=processes)
                    client = own_client = Client(own_cluster)
            n_workers = len(client.scheduler_info().get("workers", {}))
            tag = spec.spec_hash()[:8]
            # longest points first (submitted first, and dask runs higher priority first among queued tasks): the
            # grid's tail is then short points, which keeps workers from idling at the end when costs differ (e.g.
            # along the width axis); the numbers do not depend on the order (one seed per point)
            futs = [client.submit(evaluate_point, spec, p, point_seed(spec, p), key=f"nnqg-sweep-{tag}-{p.index}",
                                  pure=False, priority=point_cost(spec, p))
                    for p in sorted(todo, key=lambda p: (-point_cost(spec, p), p.index))]
            buf: list[dict[str, Any]] = []
            last = time.perf_counter()
            n_done = len(done)
            try:
                for fut in as_completed(futs):
                    n_done += 1
                    try:
                        row = fut.result()
                    except Exception as exc:  # a bug or a numeric exception in one point: record, go on
                        idx = int(str(fut.key).rsplit("-", 1)[1])
                        failed.append((idx, f"{type(exc).__name__}: {exc}"))
                    else:
                        buf.append(row)
                        computed += 1
                        compute_s += float(row["seconds"])
                        if len(buf) >= flush_rows or time.perf_counter() - last >= flush_seconds:
                            store.append(buf)
                            buf, last = [], time.perf_counter()
                    if progress:  # after the row is buffered: an interrupt raised here still keeps it
                        progress(n_done, total)
            finally:
                store.append(buf)  # Ctrl-C, a lost scheduler: what arrived is kept
                for f in futs:
                    f.release()
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    return SweepOutcome(total=total, skipped=len(done), computed=computed, failed=tuple(failed),
                        wall_seconds=time.perf_counter() - t0, compute_seconds=compute_s, workers=n_workers,
                        table=store.read())


# ---------------------------------------------------------------------------------------- summary and figures

#: description -> (distance column, within column)
DESCRIPTION_COLUMNS = {"fokker_planck": ("fp_distance", "fp_within"),
                       "madelung": ("madelung_distance", "madelung_within"),
                       "schrodinger": ("schrodinger_distance", "schrodinger_within")}


def summarise(spec: SweepSpec, table: Any) -> list[dict[str, Any]]:
    """One row per (gamma, B) cell, per width when the spec has a width axis: for each requested description
    the median distance over the other axes (ensemble, seeds) and the fraction of those points within
    tolerance. ``width`` is -1 without a width axis."""
    cols = table.to_pydict()
    n = len(cols["point_id"])
    groups: dict[tuple[float, int, int], list[int]] = {}
    for i in range(n):
        groups.setdefault((cols["gamma"][i], cols["batch_size"][i], cols["width"][i]), []).append(i)
    out = []
    for (g, b, w) in sorted(groups):
        idx = groups[(g, b, w)]
        row: dict[str, Any] = {"gamma": g, "batch_size": b, "width": w, "points": len(idx)}
        for d in spec.claims:
            dc, wc = DESCRIPTION_COLUMNS[d]
            vals = np.array([cols[dc][i] for i in idx], dtype=float)
            row[f"{d}_median"] = float(np.median(vals)) if np.all(np.isfinite(vals)) else float("nan")
            row[f"{d}_within"] = float(np.mean([bool(cols[wc][i]) for i in idx]))
        out.append(row)
    return out


def write_figures(spec: SweepSpec, table: Any, directory: str | os.PathLike[str]) -> list[Path]:
    """Heat maps over (gamma, B): median distance per description (cells with every point within tolerance
    outlined), and the fraction of points where the Madelung description is within tolerance; one set per width
    (suffix ``_w<width>``) when the spec has a width axis, plus ``width_<description>.png``: the median
    distance against the number of neurons, one line per (gamma, B) cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    summ = summarise(spec, table)
    gs, bs = list(spec.gamma), list(spec.batch_size)
    widths = list(spec.width) if spec.width is not None else [-1]
    paths = []

    def grid_of(key: str, width: int) -> np.ndarray:
        a = np.full((len(bs), len(gs)), np.nan)
        for r in summ:
            if r["width"] == width:
                a[bs.index(r["batch_size"]), gs.index(r["gamma"])] = r[key]
        return a

    def draw(a: np.ndarray, title: str, cbar: str, within: np.ndarray | None, fname: str, vmax: float | None
             ) -> None:
        fig, ax = plt.subplots(figsize=(max(5.0, 2.0 + 0.9 * len(gs)), max(3.4, 1.6 + 0.6 * len(bs))))
        im = ax.imshow(a, origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax)
        ax.set_xticks(range(len(gs)), [f"{g:g}" for g in gs])
        ax.set_yticks(range(len(bs)), [str(b) for b in bs])
        ax.set_xlabel("step size gamma")
        ax.set_ylabel("mini-batch size B")
        ax.set_title(title, fontsize=9)
        top = vmax or (np.nanmax(a) if np.any(np.isfinite(a)) else 1.0) or 1.0
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, "nan" if not np.isfinite(v) else f"{v:.2g}", ha="center", va="center", fontsize=7,
                    color="w" if np.isfinite(v) and v < 0.6 * top else "k")
            if within is not None and within[i, j] == 1.0:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        fig.colorbar(im, ax=ax, label=cbar)
        fig.tight_layout()
        fig.savefig(d / fname, dpi=120)
        plt.close(fig)
        paths.append(d / fname)

    tol = spec.measure.tolerance
    for w in widths:
        sfx, wt = ("", "") if w < 0 else (f"_w{w}", f", width {w}")
        for desc in spec.claims:
            draw(grid_of(f"{desc}_median", w),
                 f"{desc}{wt}: median distance from the description\n(red box: every point within tolerance "
                 f"{tol:g})", "distance (0 = description holds)", grid_of(f"{desc}_within", w),
                 f"heatmap_{desc}{sfx}.png", None)
        if "madelung" in spec.claims:
            draw(grid_of("madelung_within", w),
                 f"Madelung description within tolerance {tol:g}{wt}\n(fraction of the points in each cell)",
                 "fraction within", None, f"madelung_within{sfx}.png", 1.0)
    if len(widths) > 1:
        for desc in spec.claims:
            fig, ax = plt.subplots(figsize=(6.0, 4.0))
            for g in gs:
                for b in bs:
                    ys = [next((r[f"{desc}_median"] for r in summ if (r["gamma"], r["batch_size"], r["width"])
                                == (g, b, w)), np.nan) for w in widths]
                    ax.plot(widths, ys, "o-", label=f"gamma {g:g}, B {b}")
            ax.axhline(tol, color="red", ls="--", lw=1, label=f"tolerance {tol:g}")
            ax.set_xticks(widths)
            ax.set_xlabel("width (hidden neurons)")
            ax.set_ylabel("median distance")
            ax.set_title(f"{desc}: distance against the number of neurons ({spec.task.trainable} trained)",
                         fontsize=9)
            if len(gs) * len(bs) <= 10:
                ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(d / f"width_{desc}.png", dpi=120)
            plt.close(fig)
            paths.append(d / f"width_{desc}.png")
    return paths
