r"""Sweep specs: the TOML file of ``nnqg sweep``, its validation, its hash and its grid.

A spec has five tables: ``[sweep]`` (seed, claims: the kind's :func:`descriptions`, name), ``[task]`` (kind and
the kind's own keys, see :mod:`nnqg.numerics._tasks`), ``[run]`` (n_steps, anchors, init_std and the kind's run
keys), ``[measure]`` (basis_degree, window, bootstrap, tolerance, sigmas, potential) and ``[grid]`` (gamma,
batch_size, ensemble, seeds, and width for kinds with neurons); a kind that measures itself refuses the keys of
the ensemble measures (:data:`ENSEMBLE_ONLY`) and its ensemble is a number of replicates. Every key is validated
before any work, every error is an :class:`InvalidArgument` naming ``section.key`` (exit 2). Stated limits: at most :data:`MAX_POINTS` grid points,
seeds in [0, :data:`MAX_SEED`] (the Parquet column is int64), at most :data:`MAX_BOOTSTRAP` bootstrap resamples,
and no point whose trajectory, data and measures would need more than :data:`MEMORY_LIMIT` bytes.

**measure.potential.** Only ``"loss"`` (the paper's identification V = U) is accepted. The former ``"fitted"``
(the best polynomial V of degree d + 1, fitted at each anchor) was removed: with V free at every anchor, the
Newton residual is only the part of the fitted acceleration :math:`\partial_tv + (v\cdot\nabla)v -
(u\cdot\nabla)u - \nu\nabla^2u` that is not a gradient. For every diffusion whose drift is a gradient and whose
noise is scalar (plain gradient descent included) v and u are gradients and so is every term: the residual is 0
whatever the dynamics, i.e. every such ensemble is "Madelung in *some* time-dependent potential". Measured with
the old code (N = 4000, degree 2): plain gradient descent, transient or stationary, gave 0.000-0.019 (SE
0.006-0.032) where V = U gives 0.67-0.90, the same as a true Nelson ground state (0.030 +- 0.021). It cannot tell
the claim from its negation, so it is not a measure of Madelung. An old spec with ``potential = "fitted"`` is
refused with this reason (exit 2); its stored sweeps stay readable with pyarrow.

The hash (:meth:`SweepSpec.spec_hash`) is of the canonical JSON of the validated spec; it is the same for specs
written before the task registry (``legacy_canonical`` of a kind), so ``--resume`` of old directories works.

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
import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.derivations._files import read_user_text
from nnqg.numerics._ensemble_measures import MAX_DEGREE, nelson_bytes, weak_form_bytes
from nnqg.numerics._tasks import COMMON_RUN_KEYS, MIN_REPLICATES, TaskKind, integer, number, show, task_kind, \
    task_kinds

#: bump when a measure changes: a stored sweep made with another version is not resumed
MEASURE_VERSION = 1
DESCRIPTIONS = ("fokker_planck", "madelung", "schrodinger")
#: keys of the ensemble measures, refused for a kind that measures itself (nnqg.numerics._tasks)
ENSEMBLE_ONLY = {"run": ("anchors", "init_std"), "measure": ("basis_degree", "bootstrap", "window", "potential")}
#: refuse a point whose trajectory, data and measures would hold more than this many bytes
MEMORY_LIMIT = 2 * 1024 ** 3
#: the largest grid (points are streamed, never all held; a million points of 0.1 s is a day on 12 cores)
MAX_POINTS = 1_000_000
#: seeds are stored as int64 (Parquet) and fed to numpy's SeedSequence
MAX_SEED = 2 ** 63 - 1
MAX_BOOTSTRAP = 1000
MAX_NAME = 100


# --------------------------------------------------------------------------------------------------- the spec

class _Values:
    """Attribute access to a kind's validated keys (``spec.task.n_data``)."""

    values: tuple[tuple[str, Any], ...]

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            for k, v in object.__getattribute__(self, "values"):
                if k == name:
                    return v
        raise AttributeError(name)

    def params(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass(frozen=True)
class TaskSpec(_Values):
    """``task.kind`` and that kind's validated ``[task]`` keys (defaults filled in), readable as attributes."""

    kind: str
    values: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RunSpec(_Values):
    """The common ``[run]`` keys and the kind's own (e.g. ``init_offset`` of the regression) in ``values``."""

    n_steps: int = 120
    anchors: tuple[int, ...] = (40, 70, 100)
    init_std: float = 0.3
    values: tuple[tuple[str, Any], ...] = ()


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

    @property
    def kind(self) -> TaskKind:
        return task_kind(self.task.kind)

    def canonical(self) -> dict[str, Any]:
        """The validated spec as plain data (the manifest's copy, and what the hash is of)."""
        legacy = self.kind.legacy_canonical
        run = {"n_steps": self.run.n_steps, "anchors": self.run.anchors, "init_std": self.run.init_std,
               **self.run.params(), **legacy.get("run", {})}
        return {"seed": self.seed, "claims": self.claims, "task": {"kind": self.task.kind, **self.task.params()},
                "run": run, "measure": asdict(self.measure), "gamma": self.gamma, "batch_size": self.batch_size,
                "ensemble": self.ensemble, "seeds": self.seeds, "width": self.width, "name": self.name,
                "measure_version": MEASURE_VERSION,
                # rows of a kind with controls hold more columns: a sweep stored before them is not resumed
                **({"controls": 1} if self.kind.measures is not None and self.kind.measures.controls else {})}

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
    "task": {"kind"},  # + the kind's keys
    "run": set(COMMON_RUN_KEYS),  # + the kind's keys
    "measure": {"basis_degree", "tolerance", "sigmas", "bootstrap", "potential", "window"},
    "grid": {"gamma", "batch_size", "ensemble", "seeds", "width"},
}

_POTENTIAL_FITTED = (
    "measure.potential: 'fitted' was removed: a potential fitted at each anchor makes the Newton residual vanish "
    "for every diffusion whose drift is a gradient and whose noise is scalar (plain gradient descent included), so "
    "it cannot tell Madelung from its negation (see nnqg.verify._sweep_spec); use 'loss' (V = U) or remove the key")


def descriptions(kind: TaskKind) -> tuple[str, ...]:
    """The names ``sweep.claims`` accepts for ``kind``: its own measures' descriptions, or the quantum-side
    :data:`DESCRIPTIONS`."""
    return tuple(kind.measures.descriptions) if kind.measures is not None else DESCRIPTIONS


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a TOML sweep spec; every error is an :class:`InvalidArgument` naming the key."""
    p = Path(path)
    text = read_user_text(p, "SPEC")
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, and an integer too long for Python to convert
        raise InvalidArgument(f"SPEC {str(p)!r}: not valid TOML ({exc})") from None
    return parse_spec(data)


def _axis(grid: Mapping[str, Any], key: str, conv: Callable[[Any, str], Any]) -> tuple:
    v = grid[key]
    if not isinstance(v, list):
        v = [v]
    if not v:
        raise InvalidArgument(f"grid.{key}: empty list, the grid has no points; give at least one value")
    out = tuple(conv(x, f"grid.{key}") for x in v)
    if len(set(out)) != len(out):
        raise InvalidArgument(f"grid.{key}: repeated values {show(list(v))}; each value once")
    return out


def _kind_values(section: str, given: Mapping[str, Any], kind: TaskKind) -> tuple[tuple[str, Any], ...]:
    keys = kind.task_keys if section == "task" else kind.run_keys
    return tuple((k, key.check(given[k], f"{section}.{k}") if k in given else key.default)
                 for k, key in sorted(keys.items()))


def _name(k: Any) -> str:
    """A key or section name as written (quoted and shortened when it is long or unprintable)."""
    return k if isinstance(k, str) and len(k) <= 60 and k.isprintable() else show(k)


def _check_keys(data: Mapping[str, Any], kind: TaskKind) -> None:
    allowed = {s: set(k) for s, k in _SECTIONS.items()}
    allowed["task"] |= set(kind.task_keys)
    allowed["run"] |= set(kind.run_keys)
    if kind.measures is not None:
        for sec, keys in ENSEMBLE_ONLY.items():
            allowed[sec] -= set(keys)
    for sec in data:
        if sec not in _SECTIONS:
            raise InvalidArgument(f"{_name(sec)}: unknown section; a spec has {sorted(_SECTIONS)}")
        for key in data[sec]:
            if key in allowed[sec]:
                continue
            if key in ENSEMBLE_ONLY.get(sec, ()):
                raise InvalidArgument(f"{sec}.{key}: a key of the ensemble measures (Fokker-Planck, Madelung, "
                                      f"Schrodinger); the task {kind.name!r} is measured by its own "
                                      f"{list(descriptions(kind))}, remove the key")
            owners = sorted(n for n, k in task_kinds().items()
                            if key in (k.task_keys if sec == "task" else k.run_keys if sec == "run" else ()))
            if owners:
                raise InvalidArgument(f"{sec}.{key}: not a key of the task {kind.name!r} ([{sec}] takes "
                                      f"{sorted(allowed[sec])}); it belongs to {owners}")
            raise InvalidArgument(f"{sec}.{_name(key)}: unknown key; [{sec}] takes {sorted(allowed[sec])}")


def parse_spec(data: Mapping[str, Any]) -> SweepSpec:
    """Validate a parsed spec (the dict of a TOML file). Unknown sections or keys (including keys of another task
    kind), missing required keys, empty or invalid axes, out-of-range values and grids beyond the stated limits
    raise :class:`InvalidArgument` naming ``section.key``."""
    for sec in data:
        if sec in _SECTIONS and not isinstance(data[sec], Mapping):
            raise InvalidArgument(f"{sec}: must be a table ([{sec}])")
    tk = data.get("task", {})
    kind = task_kind(tk.get("kind", "linear_regression"))
    _check_keys(data, kind)
    for sec, key in (("sweep", "seed"), ("sweep", "claims"), ("grid", "gamma"), ("grid", "batch_size"),
                     ("grid", "ensemble")):
        if key not in data.get(sec, {}):
            raise InvalidArgument(f"{sec}.{key}: missing (required)")
    sw, rn, ms, gr = (data.get(s, {}) for s in ("sweep", "run", "measure", "grid"))

    seed = integer(0, MAX_SEED)(sw["seed"], "sweep.seed")
    claims = sw["claims"]
    known = descriptions(kind)
    if isinstance(claims, str) or not isinstance(claims, list) or not claims:
        raise InvalidArgument(f"sweep.claims: {show(claims)}; give a non-empty list from {list(known)}")
    for c in claims:
        if c not in known:
            raise InvalidArgument(f"sweep.claims: unknown claim {show(c)} for the task {kind.name!r}; known: "
                                  f"{list(known)}")
    name = sw.get("name", "sweep")
    if not isinstance(name, str):
        raise InvalidArgument(f"sweep.name: {show(name)} is not a string")
    # the name becomes the default output directory sweep-<name>: one path component, printable
    if not 1 <= len(name) <= MAX_NAME or any(c in name for c in "/\\\0") or not name.isprintable():
        raise InvalidArgument(f"sweep.name: {show(name)}; use 1-{MAX_NAME} printable characters without '/' or "
                              "'\\' (it names the output directory sweep-<name>)")

    task = TaskSpec(kind=kind.name, values=_kind_values("task", tk, kind))
    n_steps = integer(5, 10 ** 7)(rn.get("n_steps", RunSpec.n_steps), "run.n_steps")
    own = kind.measures is not None  # a kind that measures itself has no anchors (ENSEMBLE_ONLY)
    anchors = rn.get("anchors", [] if own else list(RunSpec.anchors))
    if not own and (not isinstance(anchors, list) or not anchors):
        raise InvalidArgument(f"run.anchors: {show(anchors)}; give a non-empty list of SGD steps")
    anchors_t = tuple(sorted({integer(0, n_steps)(a, "run.anchors") for a in anchors}))
    run = RunSpec(n_steps=n_steps, anchors=anchors_t,
                  init_std=number(True, "spread")(rn.get("init_std", RunSpec.init_std), "run.init_std"),
                  values=_kind_values("run", rn, kind))

    pot = ms.get("potential", MeasureSpec.potential)
    if pot == "fitted":
        raise InvalidArgument(_POTENTIAL_FITTED)
    if pot != "loss":
        raise InvalidArgument(f"measure.potential: {show(pot)}; the only potential is 'loss' (V = U)")
    measure = MeasureSpec(
        basis_degree=integer(1)(ms.get("basis_degree", MeasureSpec.basis_degree), "measure.basis_degree"),
        tolerance=number(True, "tolerance")(ms.get("tolerance", MeasureSpec.tolerance), "measure.tolerance"),
        sigmas=number()(ms.get("sigmas", MeasureSpec.sigmas), "measure.sigmas"),
        bootstrap=integer(2, MAX_BOOTSTRAP)(ms.get("bootstrap", MeasureSpec.bootstrap), "measure.bootstrap"),
        potential=pot, window=integer(1, n_steps)(ms.get("window", MeasureSpec.window), "measure.window"))
    w = measure.window
    for a in anchors_t:  # empty for a kind that measures itself
        if not w + 1 <= a <= n_steps - w - 1:
            raise InvalidArgument(f"run.anchors: step {a} must lie in [measure.window + 1, run.n_steps - "
                                  f"measure.window - 1] = [{w + 1}, {n_steps - w - 1}] (the measures use the "
                                  "steps t - window - 1 .. t + window + 1)")
    if measure.sigmas < 0:
        raise InvalidArgument(f"measure.sigmas: {measure.sigmas!r} must be >= 0")
    if measure.basis_degree > MAX_DEGREE:
        raise InvalidArgument(f"measure.basis_degree: {measure.basis_degree} > {MAX_DEGREE}; high-degree fits of "
                              "noisy increments are ill-conditioned")

    gamma = _axis(gr, "gamma", number(True, "step size"))
    batch = _axis(gr, "batch_size", integer(1))
    n_data = task.params().get("n_data")
    for b in batch:
        if n_data is not None and b > n_data:
            raise InvalidArgument(f"grid.batch_size: {b} > task.n_data = {n_data}")
    ens = _axis(gr, "ensemble", integer(MIN_REPLICATES if own else 20, 10 ** 9))
    seeds = _axis(gr, "seeds", integer(0, MAX_SEED)) if "seeds" in gr else (0,)
    width = None
    if "width" in gr:
        if not kind.has_width:
            with_width = sorted(n for n, k in task_kinds().items() if k.has_width)
            raise InvalidArgument(f"grid.width: task {kind.name!r} has no width (number of neurons); remove "
                                  f"grid.width or use a task with hidden neurons: {with_width}")
        width = _axis(gr, "width", integer(1, 10 ** 6))
    elif kind.has_width:
        what = kind.measures.width if own else "numbers of hidden neurons"
        raise InvalidArgument(f"grid.width: missing (required for the task {kind.name!r}: the {what}, e.g. "
                              "width = [1, 2, 3])")
    n = math.prod(len(a) for a in (gamma, batch, width or (None,), ens, seeds))
    if n > MAX_POINTS:
        raise InvalidArgument(f"grid: {n:,} points; the limit is {MAX_POINTS:,} (split the grid into several "
                              "specs, or use fewer values per axis)")
    spec = SweepSpec(seed=seed, claims=tuple(claims), task=task, run=run, measure=measure, gamma=gamma,
                     batch_size=batch, ensemble=ens, seeds=seeds, width=width, name=name)
    data_b = kind.data_bytes(task.params())
    if data_b > MEMORY_LIMIT and not own:
        raise InvalidArgument(f"task.n_data: the data set needs about {data_b / 1024 ** 3:.1f} GiB, more than the "
                              f"{MEMORY_LIMIT / 1024 ** 3:.0f} GiB limit of a point; use fewer data points")
    worst = max(((w, n) for w in (width or (None,)) for n in ens), key=lambda wn: point_bytes(spec, *wn))
    need = point_bytes(spec, *worst)
    if need > MEMORY_LIMIT and own:
        raise InvalidArgument(
            f"grid.width: the largest point (width {worst[0]}) needs about {need / 1024 ** 3:.1f} GiB for its data, "
            f"training and measures, more than the {MEMORY_LIMIT / 1024 ** 3:.0f} GiB limit; use a smaller width "
            "or fewer data (the task's n_seq, T)")
    if need > MEMORY_LIMIT:
        raise InvalidArgument(
            f"grid.width/grid.ensemble: the largest point (width {worst[0]}, N = {worst[1]}, K = "
            f"{n_parameters(spec, worst[0])} parameters) needs about {need / 1024 ** 3:.1f} GiB for its trajectory, "
            f"data and measures, more than the {MEMORY_LIMIT / 1024 ** 3:.0f} GiB limit; use fewer neurons, "
            "task.trainable = 'readout', a smaller ensemble, fewer steps or a lower measure.basis_degree")
    if set(claims) & {"madelung", "schrodinger"}:
        for w in (width or (None,)):
            nb = math.comb(n_parameters(spec, w) + measure.basis_degree, measure.basis_degree)
            if min(ens) < 2 * nb:
                raise InvalidArgument(
                    f"grid.ensemble: {min(ens)} members are too few for the Nelson fits at width {w} (K = "
                    f"{n_parameters(spec, w)}, {nb} polynomial basis functions of degree <= "
                    f"{measure.basis_degree}): each half of the ensemble must have at least as many members as "
                    f"basis functions; use ensemble >= {2 * nb}")
    return spec


# ----------------------------------------------------------------------------------------------- the grid

def n_parameters(spec: SweepSpec, width: int | None) -> int:
    """K, the number of trained parameters of the spec's task at this width."""
    return spec.kind.n_parameters(spec.task.params(), width)


def point_cost(spec: SweepSpec, point: GridPoint) -> int:
    """A relative cost of a point, for scheduling only: members x steps x basis size of the fits (the measured
    time per point grows like the number of polynomial basis functions C(K + d, d))."""
    K = n_parameters(spec, point.width)
    if spec.kind.measures is not None:  # training replicates: linear in the parameters
        return point.ensemble * spec.run.n_steps * K
    return point.ensemble * spec.run.n_steps * math.comb(K + spec.measure.basis_degree, spec.measure.basis_degree)


def point_bytes(spec: SweepSpec, width: int | None, n_members: int) -> int:
    """An upper estimate of the memory one grid point holds at its peak: the trajectory (n_steps + 1, N, K), and
    the larger of the weak-form measures (:func:`~nnqg.numerics._ensemble_measures.weak_form_bytes`) and the
    Nelson fits (:func:`~nnqg.numerics._ensemble_measures.nelson_bytes`, when requested), with a quarter more for
    temporaries; plus the task's data set. Checked against the traced peak in the tests (it must not
    underestimate). A kind that measures itself gives its own estimate
    (:attr:`~nnqg.numerics._tasks.KindMeasures.point_bytes`)."""
    K = n_parameters(spec, width)
    if spec.kind.measures is not None:
        return spec.kind.measures.point_bytes(spec.task.params(), width, n_members, spec.run.n_steps)
    traj = 8 * (spec.run.n_steps + 1) * n_members * K
    weak = weak_form_bytes(K, n_members)
    nel = 0
    if set(spec.claims) & {"madelung", "schrodinger"}:
        nel = nelson_bytes(K, spec.measure.basis_degree, n_members, len(spec.run.anchors), spec.measure.window)
    return int(1.25 * (traj + max(weak, nel))) + spec.kind.data_bytes(spec.task.params())


def _axes(spec: SweepSpec) -> tuple[Sequence[Any], ...]:
    return (spec.gamma, spec.batch_size, spec.width if spec.width is not None else (None,), spec.ensemble,
            spec.seeds)


def n_points(spec: SweepSpec) -> int:
    return math.prod(len(a) for a in _axes(spec))


def _point(spec: SweepSpec, ix: tuple[int, int, int, int, int], index: int) -> GridPoint:
    g, b, w, n, s = (ax[i] for ax, i in zip(_axes(spec), ix))
    return GridPoint(index=index, gamma=g, batch_size=b, width=w, ensemble=n, seed=s)


def iter_points(spec: SweepSpec) -> Iterator[GridPoint]:
    """The grid in a fixed order (gamma, batch_size, width, ensemble, seeds; last varies fastest), one point at a
    time (a grid is never held whole)."""
    shape = tuple(len(a) for a in _axes(spec))
    for index, ix in enumerate(np.ndindex(*shape)):
        yield _point(spec, ix, index)


def grid_points(spec: SweepSpec) -> list[GridPoint]:
    """:func:`iter_points` as a list (for small grids and tests)."""
    return list(iter_points(spec))


def points_longest_first(spec: SweepSpec, skip: Callable[[int], bool] = lambda i: False) -> Iterator[GridPoint]:
    """The points not ``skip``-ped, by decreasing :func:`point_cost`, ties by index: the order of submission (the
    grid's tail is then short points, which keeps workers from idling at the end when costs differ). The cost
    depends on (width, ensemble) only, so the order is generated class by class without holding the grid."""
    G, B, W, N, S = (len(a) for a in _axes(spec))
    cls: dict[int, list[tuple[int, int]]] = {}
    for wi in range(W):
        for ni in range(N):
            p = _point(spec, (0, 0, wi, ni, 0), 0)
            cls.setdefault(point_cost(spec, p), []).append((wi, ni))
    for cost in sorted(cls, reverse=True):
        pairs = sorted(cls[cost])
        for gi in range(G):
            for bi in range(B):
                for wi, ni in pairs:  # for fixed (gamma, B) the index grows with (width, ensemble, seed)
                    for si in range(S):
                        index = (((gi * B + bi) * W + wi) * N + ni) * S + si
                        if not skip(index):
                            yield _point(spec, (gi, bi, wi, ni, si), index)


def point_seed(spec: SweepSpec, point: GridPoint) -> np.random.SeedSequence:
    """Child ``point.index`` of ``SeedSequence(spec.seed)`` (what ``.spawn`` would hand out): an independent
    stream per point, whatever worker runs it and in whatever order."""
    return np.random.SeedSequence(spec.seed, spawn_key=(point.index,))
