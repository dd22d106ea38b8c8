r"""The registry of learning systems a sweep can run (``task.kind`` in a sweep spec).

A *task kind* is a learning system whose parameters move by a learning rule, from data: for one grid point
(step size :math:`\gamma`, batch size B, ensemble size N, optionally a width) it simulates N independent learners
for ``n_steps`` steps and returns an :class:`~nnqg.numerics._ensemble.Ensemble`: the snapshots and the model
functions the estimators of :mod:`nnqg.numerics._ensemble_measures` need (:math:`\nabla U`, :math:`\Sigma(q)`, U,
and optionally :math:`\nabla F` of a model free energy for the continuity measure).

Built-in kinds: ``linear_regression`` (:mod:`._task_regression`), ``tanh_network`` (:mod:`._task_network`),
``shift_ring`` (:mod:`._task_shift_ring`), ``free_energy_network`` (:mod:`._task_free_energy`) and
``grand_canonical`` (:mod:`._task_grand_canonical`).

**Adding a kind** is one module in ``numerics/`` plus one line here:

1. Write ``numerics/_task_<name>.py`` with the simulator ``simulate(setting, rng) -> Ensemble``
   (``setting`` a :class:`Setting`: the kind's validated ``[task]`` and ``[run]`` values, gamma, batch size,
   members, steps, initial spread, width; draw *everything* random, data included, from ``rng``, which is the grid
   point's own stream, so results do not depend on workers or order), ``n_parameters(task, width) -> K``, and
   at the bottom ``KIND = register(TaskKind(name=..., summary=..., simulate=..., n_parameters=...,
   task_keys={...}, run_keys={...}, has_width=..., data_bytes=...))``. Keep heavy imports inside ``simulate``
   only if they are not already imported by ``nnqg.numerics``.
2. Declare every spec key the kind reads in ``task_keys`` / ``run_keys`` as :class:`Key` (default and validator,
   e.g. ``Key(256, integer(2, 10**6), "data set size")``): the spec parser refuses unknown keys, keys of another
   kind and invalid values with a message naming ``section.key`` (exit 2), and the values enter the spec hash.
   ``data_bytes(task)`` estimates the memory of the kind's data set (it joins the sweep's memory guard).
3. Add the module name to :data:`BUILTIN` (dask worker processes look kinds up by name in their own registry,
   so a kind registered only in the client process, e.g. in a notebook, is unknown to them).
4. Test it as the built-ins are tested (tests/unit/test_sweep.py): the model functions against an independent
   computation, and a point evaluated twice from the same seed gives identical numbers. Pre-register what the
   kind is meant to show before mapping it (docs/).

The common keys ``task.kind``, ``run.n_steps``, ``run.anchors`` and ``run.init_std`` belong to every kind and may
not be redeclared; a kind with ``has_width=True`` gets the ``grid.width`` axis (required), others refuse it.

**Kinds that measure themselves.** The kinds above hand the sweep an ensemble of learners and are measured by
the quantum-side estimators (Fokker-Planck, Madelung, Schrodinger). A kind whose learning system is measured by
other estimators (the learned networks of experiments 3 and 4: ``recurrent_predictor`` in
:mod:`._task_recurrent_predictor`, ``learned_couplings`` in :mod:`._task_learned_couplings`) declares
``measures=KindMeasures(...)``: its descriptions (the names ``sweep.claims`` takes for it, each with a one-line
definition of its distance), ``evaluate(setting, rng) -> {description: (distance, se)}`` (``setting.n_members``
independent replicates trained from ``rng``; the distance is their mean, se its standard error) and its
memory estimate. For such a kind ``grid.ensemble`` is the number of replicates (at least
:data:`MIN_REPLICATES`), ``grid.gamma`` the SGD step size of every replicate, ``run.n_steps`` the training
steps, and the ensemble-only keys (``run.anchors``, ``run.init_std``, ``measure.basis_degree``, ``.bootstrap``,
``.window``, ``.potential``) are refused. A kind that also declares ``controls`` (one line for the positive and one
for the negative control, the pre-registered controls of its experiment) returns, besides each description d,
``d + "_positive"`` and ``d + "_negative"``: the controls measured at the same point (same width and replicate
count, drawn from the same stream after the learners), so the sweep can decide the point as the experiment does.

>>> sorted(task_kinds())  # doctest: +NORMALIZE_WHITESPACE
['free_energy_network', 'grand_canonical', 'learned_couplings', 'linear_regression', 'recurrent_predictor',
 'shift_ring', 'tanh_network']
>>> task_kind("linear_regression").n_parameters({}, None)
2
>>> integer(1, 10)(0, "task.layers")
Traceback (most recent call last):
...
nnqg.derivations._errors.InvalidArgument: task.layers: 0 must be >= 1
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from nnqg.derivations import InvalidArgument

from ._ensemble import Ensemble
from ._sgd import MAX_DATA

__all__ = ["BUILTIN", "DATA_KEYS", "MIN_REPLICATES", "Key", "KindMeasures", "Setting", "TaskKind", "choice",
           "flag", "integer", "number", "number_in", "numbers", "register", "show", "task_kind", "task_kinds"]

#: modules that define the built-in kinds (each calls :func:`register` when imported)
BUILTIN = ("nnqg.numerics._task_regression", "nnqg.numerics._task_network", "nnqg.numerics._task_shift_ring",
           "nnqg.numerics._task_free_energy", "nnqg.numerics._task_grand_canonical",
           "nnqg.numerics._task_recurrent_predictor", "nnqg.numerics._task_learned_couplings")
#: spec keys every kind has (handled by the spec parser, not by the kind)
COMMON_TASK_KEYS = ("kind",)
COMMON_RUN_KEYS = ("n_steps", "anchors", "init_std")
#: the fewest replicates of a kind that measures itself (a standard error needs two)
MIN_REPLICATES = 2


# ---------------------------------------------------------------------------------------- key validators

Check = Callable[[Any, str], Any]


def show(v: Any) -> str:
    """``repr(v)`` for a message, shortened: an integer of more than 24 digits is described, not printed (Python
    refuses to print one of more than 4300 digits, and nobody reads one of 30)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** 24:
        return f"an integer of {len(str(abs(v))) if abs(v).bit_length() < 14000 else 'over 4000'} digits"
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def integer(lo: int = 0, hi: int | None = None) -> Check:
    """A validator of an integer in [lo, hi] (booleans refused)."""
    def check(v: Any, key: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidArgument(f"{key}: {show(v)} is not an integer")
        if v < lo:
            raise InvalidArgument(f"{key}: {show(v)} must be >= {lo}")
        if hi is not None and v > hi:
            raise InvalidArgument(f"{key}: {show(v)} must be <= {hi}")
        return v
    return check


def number(positive: bool = False, what: str = "number") -> Check:
    """A validator of a finite number (int or float, returned as float); ``positive``: > 0."""
    def check(v: Any, key: str) -> float:
        f = float("nan")
        if not isinstance(v, bool) and isinstance(v, (int, float)):
            try:
                f = float(v)
            except OverflowError:  # an integer beyond the float range
                pass
        if not math.isfinite(f):
            raise InvalidArgument(f"{key}: {show(v)} is not a finite number")
        if positive and not f > 0:
            raise InvalidArgument(f"{key}: {show(v)} is not a positive {what}; use values > 0")
        return f
    return check


def number_in(lo: float, hi: float, *, open_hi: bool = False) -> Check:
    """A validator of a finite number in [lo, hi] (or [lo, hi) with ``open_hi``), returned as float."""
    one = number()

    def check(v: Any, key: str) -> float:
        f = one(v, key)
        if not (lo <= f < hi if open_hi else lo <= f <= hi):
            raise InvalidArgument(f"{key}: {show(v)} must lie in [{lo:g}, {hi:g}{')' if open_hi else ']'}")
        return f
    return check


def numbers(length: int, what: str = "numbers") -> Check:
    """A validator of a list of exactly ``length`` finite numbers (returned as a tuple of floats)."""
    one = number()

    def check(v: Any, key: str) -> tuple[float, ...]:
        if not isinstance(v, list) or len(v) != length:
            raise InvalidArgument(f"{key}: {show(v)}; give {length} {what}")
        return tuple(one(x, key) for x in v)
    return check


def flag() -> Check:
    """A validator of a boolean (TOML true / false)."""
    def check(v: Any, key: str) -> bool:
        if not isinstance(v, bool):
            raise InvalidArgument(f"{key}: {show(v)} is not a boolean; use true or false")
        return v
    return check


def choice(options: tuple[str, ...], hint: str = "") -> Check:
    """A validator of one of ``options``."""
    def check(v: Any, key: str) -> str:
        if not isinstance(v, str) or v not in options:
            raise InvalidArgument(f"{key}: {show(v)}; use {hint or ' or '.join(repr(o) for o in options)}")
        return v
    return check


@dataclass(frozen=True)
class Key:
    """A spec key of a task kind: its default, its validator ``check(value, "section.key") -> value`` (raising
    :class:`InvalidArgument` naming the key) and a one-line description."""

    default: Any
    check: Check
    doc: str = ""


#: the data of the built-in kinds: x ~ N(0, 1), y = slope x + intercept + noise N(0, 1), n_data points
DATA_KEYS: Mapping[str, Key] = MappingProxyType({
    "n_data": Key(256, integer(2, MAX_DATA - 1), "number of data points (32-bit batch indices)"),
    "noise": Key(1.0, number(True, "noise level"), "standard deviation of the label noise"),
    "slope": Key(1.0, number(), "slope of the data's linear trend"),
    "intercept": Key(-0.5, number(), "intercept of the data's linear trend"),
})


def data_set_bytes(task: Mapping[str, Any]) -> int:
    """Memory of the built-in data set while it is drawn and its moments are taken: about six float arrays of
    ``n_data`` (x, y and the temporaries of their products)."""
    return 48 * int(task["n_data"])


# ----------------------------------------------------------------------------------------------- the kinds

@dataclass(frozen=True)
class Setting:
    """What a simulator gets for one grid point: the kind's validated ``[task]`` and ``[run]`` values (defaults
    filled in), the point's step size, batch size, ensemble size and width (None for kinds without one), and the
    run's number of steps and initial spread."""

    task: Mapping[str, Any]
    run: Mapping[str, Any]
    gamma: float
    batch_size: int
    n_members: int
    n_steps: int
    init_std: float
    width: int | None = None


Evaluate = Callable[[Setting, np.random.Generator], Mapping[str, "tuple[float, float]"]]


@dataclass(frozen=True)
class KindMeasures:
    """The measures of a kind that measures itself (module docstring): ``descriptions`` maps each name
    ``sweep.claims`` accepts to a one-line definition of its distance; ``evaluate(setting, rng)`` returns
    ``{description: (distance, se)}`` for every description (and ``<d>_positive``, ``<d>_negative`` when
    ``controls`` is given: ``{"positive": what, "negative": what}``); ``point_bytes(task, width, replicates,
    n_steps)`` bounds the memory of one point from above; ``width`` says what ``grid.width`` counts."""

    descriptions: Mapping[str, str]
    evaluate: Evaluate
    point_bytes: Callable[[Mapping[str, Any], "int | None", int, int], int]
    width: str = "neurons"
    controls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskKind:
    """A learning system for sweeps (module docstring). ``legacy_canonical`` holds constant entries that specs of
    this kind carried before the registry existed (``{"run": {"init_offset": ()}}`` for the network), so their
    hashes, and with them ``--resume`` of old sweep directories, stay valid; new kinds leave it empty."""

    name: str
    summary: str
    simulate: Callable[[Setting, np.random.Generator], Ensemble] | None  # None for a kind with its own measures
    n_parameters: Callable[[Mapping[str, Any], "int | None"], int]
    task_keys: Mapping[str, Key] = field(default_factory=dict)
    run_keys: Mapping[str, Key] = field(default_factory=dict)
    has_width: bool = False
    data_bytes: Callable[[Mapping[str, Any]], int] = data_set_bytes
    legacy_canonical: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    measures: KindMeasures | None = None  # None: an ensemble for the quantum-side estimators


_KINDS: dict[str, TaskKind] = {}
_LOADED = [False]


def register(kind: TaskKind, *, replace: bool = False) -> TaskKind:
    """Add ``kind`` to the registry (returned, so a module can write ``KIND = register(TaskKind(...))``)."""
    if not isinstance(kind, TaskKind):
        raise InvalidArgument(f"kind: expected a TaskKind, got {type(kind).__name__}")
    if not kind.name.isidentifier():
        raise InvalidArgument(f"kind.name: {kind.name!r}; use an identifier such as 'tanh_network'")
    if kind.name in _KINDS and not replace:
        raise InvalidArgument(f"kind.name: {kind.name!r} is registered already")
    if (kind.simulate is None) == (kind.measures is None):
        raise InvalidArgument(f"kind {kind.name!r}: give either simulate (an ensemble for the quantum-side "
                              "measures) or measures (a KindMeasures), not both or neither")
    for sec, keys, common in (("task", kind.task_keys, COMMON_TASK_KEYS), ("run", kind.run_keys, COMMON_RUN_KEYS)):
        clash = sorted(set(keys) & set(common))
        if clash:
            raise InvalidArgument(f"kind {kind.name!r}: {sec} keys {clash} are common to every kind; rename them")
    _KINDS[kind.name] = kind
    return kind


def task_kinds() -> Mapping[str, TaskKind]:
    """Every registered kind by name (the built-in modules are imported on first use)."""
    if not _LOADED[0]:
        for mod in BUILTIN:
            importlib.import_module(mod)
        _LOADED[0] = True
    return MappingProxyType(_KINDS)


def task_kind(name: Any) -> TaskKind:
    """The kind called ``name``, or an :class:`InvalidArgument` naming ``task.kind``."""
    kinds = task_kinds()
    if not isinstance(name, str) or name not in kinds:
        raise InvalidArgument(f"task.kind: unknown task {show(name)}; known: {sorted(kinds)}")
    return kinds[name]
