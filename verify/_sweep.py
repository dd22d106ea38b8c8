r"""Parameter sweeps: how far is a real SGD ensemble from the Fokker-Planck, Madelung and Schrodinger descriptions?

``nnqg sweep SPEC.toml`` runs, for every point of a grid over step size :math:`\gamma`, mini-batch size B, width,
ensemble size N and replicate seeds (the spec: :mod:`nnqg.verify._sweep_spec`), an ensemble of N independent
learners of a registered learning system (``task.kind``: :mod:`nnqg.numerics._tasks`) and measures its distances
from the three descriptions with the estimators of :mod:`nnqg.numerics._ensemble_measures` (definitions, standard
errors, what each can and cannot tell, power). The row of a point (:data:`~nnqg.verify._sweep_store.COLUMNS`):

* ``fp_distance``, ``fp_se``: weak-form Fokker-Planck with the model diffusion :math:`\gamma^2\Sigma/(2B)`;
* ``nu``, ``d_spread``: Nelson's scalar noise strength (mean tr D / K) and the relative spread of D's eigenvalues;
* ``osmotic_distance``: the weak osmotic relation (tests that the noise is scalar and uniform: it holds for every
  constant scalar-noise diffusion, so it tests :math:`\nu`, not Madelung);
* ``newton_distance``: Nelson's stochastic Newton law with V = U, :math:`m = 1/\gamma` (this is the part that
  tells Madelung from plain learning: :math:`(1-\gamma k)/(1+\gamma k)` for stationary SGD on a quadratic loss);
* ``madelung_distance`` = max(osmotic, newton); ``circulation_quanta`` of the current velocity around the
  one-sigma ellipse; ``schrodinger_distance`` = max(madelung, circulation);
* ``*_within``: the description holds at the point when every distance it is built from satisfies
  distance + sigmas x SE <= tolerance (a point too noisy to tell is *not* within).

The engine (:func:`run_sweep`): points are streamed to dask.distributed (a LocalCluster, or a cluster at
``--scheduler``) longest first, at most a few per worker in flight; rows are stored as they finish
(:mod:`nnqg.verify._sweep_store`), so an interrupted sweep resumes; every point draws from its own stream,
child ``index`` of ``SeedSequence(sweep.seed)``, so the numbers do not depend on workers or order. Tables and
heat maps: :mod:`nnqg.verify._sweep_figures`.

A kind that measures itself (``KindMeasures`` in :mod:`nnqg.numerics._tasks`: the learned networks of learning
experiments 3 and 4) replaces the columns above by ``<d>_distance``, ``<d>_se``, ``<d>_within`` for each of its
descriptions d (:func:`nnqg.verify._sweep_store.columns`); the within rule is the same. With its experiment's
controls measured at the point, it adds their distances and SEs and ``<d>_decision`` (SUPPORTED, NOT SUPPORTED or
INCONCLUSIVE by the experiments' rule, INCONCLUSIVE whenever the controls do not separate).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nnqg.derivations import InvalidArgument
from nnqg.numerics._ensemble import Ensemble
from nnqg.numerics._ensemble_measures import fokker_planck_distance, nelson_distances, within_tolerance
from nnqg.numerics._tasks import Setting

from ._model import Measurement, decide_learning
from ._sweep_figures import DESCRIPTION_COLUMNS, description_columns, skipped_figures, summarise, write_figures
from ._sweep_spec import DESCRIPTIONS, MEASURE_VERSION, GridPoint, SweepSpec, descriptions, grid_points, \
    iter_points, load_spec, n_parameters, n_points, parse_spec, point_bytes, point_cost, point_seed, \
    points_longest_first
from ._sweep_store import COLUMNS, ResultStore, SweepStoreWarning

__all__ = ["COLUMNS", "DESCRIPTIONS", "DESCRIPTION_COLUMNS", "MEASURE_VERSION", "SIMULATOR", "GridPoint",
           "ResultStore", "SweepOutcome", "SweepSpec", "SweepStoreWarning", "available_cpus", "descriptions",
           "evaluate_point",
           "setting",
           "grid_points", "iter_points", "load_spec", "local_cluster", "n_parameters", "n_points", "parse_spec",
           "point_bytes", "point_cost", "point_seed", "run_sweep", "simulate", "skipped_figures", "summarise",
           "write_figures"]


# ----------------------------------------------------------------------------------------------- one point

def setting(spec: SweepSpec, point: GridPoint) -> Setting:
    """What the spec's task kind gets for one grid point."""
    return Setting(task=spec.task.params(), run=spec.run.params(), gamma=point.gamma, batch_size=point.batch_size,
                   n_members=point.ensemble, n_steps=spec.run.n_steps, init_std=spec.run.init_std, width=point.width)


def simulate(spec: SweepSpec, point: GridPoint, rng: np.random.Generator) -> Ensemble:
    """The ensemble of one grid point, from the spec's registered task kind."""
    return spec.kind.simulate(setting(spec, point), rng)


#: the simulator used by :func:`evaluate_point`, ``(spec, point, rng) -> Ensemble``; tests may swap it
SIMULATOR: list[Callable[[SweepSpec, GridPoint, np.random.Generator], Ensemble]] = [simulate]


def evaluate_point(spec: SweepSpec, point: GridPoint, seed_seq: np.random.SeedSequence) -> dict[str, Any]:
    """Run one grid point: simulate the ensemble and measure its distance from each requested description.

    Returns a flat dict of numbers (the row stored for the point). Distances of descriptions not requested are
    NaN; ``nonfinite`` is True when a requested distance came out NaN or infinite (never masked)."""
    t0 = time.perf_counter()
    rng_sim, rng_boot = (np.random.default_rng(s) for s in seed_seq.spawn(2))
    m, nan = spec.measure, float("nan")
    row: dict[str, Any] = {
        "point_id": point.index, "gamma": point.gamma, "batch_size": point.batch_size,
        "width": -1 if point.width is None else point.width, "ensemble": point.ensemble, "seed": point.seed,
    }
    if spec.kind.measures is not None:
        return _own_measures(spec, point, rng_sim, row, t0)
    ens = SIMULATOR[0](spec, point, rng_sim)
    want = set(spec.claims)
    common = dict(gamma=point.gamma, batch_size=point.batch_size, anchors=spec.run.anchors, window=m.window)
    with np.errstate(all="ignore"):
        fp = fokker_planck_distance(ens, **common) if "fokker_planck" in want else None
        nl = nelson_distances(ens, **common, degree=m.basis_degree, n_boot=m.bootstrap, rng=rng_boot,
                              circulation="schrodinger" in want) if want & {"madelung", "schrodinger"} else None
    row["fp_distance"] = fp.distance if fp else nan
    row["fp_se"] = fp.se if fp else nan
    row["fp_within"] = within_tolerance(row["fp_distance"], row["fp_se"], m.tolerance, m.sigmas) if fp else False
    circ = nl.circulation if nl else None
    row.update({k: float(v) for k, v in (
        ("nu", nl.nu if nl else nan), ("d_spread", nl.d_spread if nl else nan),
        ("osmotic_distance", nl.osmotic.distance if nl else nan), ("osmotic_se", nl.osmotic.se if nl else nan),
        ("newton_distance", nl.newton.distance if nl else nan), ("newton_se", nl.newton.se if nl else nan),
        # without the Schrodinger description the circulation is not measured: 0 +- 0, as stored before
        ("circulation_quanta", circ.quanta if circ else (0.0 if nl else nan)),
        ("circulation_se", circ.se if circ else (0.0 if nl else nan)))})
    osm_ok = within_tolerance(row["osmotic_distance"], row["osmotic_se"], m.tolerance, m.sigmas)
    newt_ok = within_tolerance(row["newton_distance"], row["newton_se"], m.tolerance, m.sigmas)
    mad = max(row["osmotic_distance"], row["newton_distance"]) if nl else nan
    row["madelung_distance"] = mad
    row["madelung_within"] = bool(nl) and osm_ok and newt_ok
    circ_ok = within_tolerance(row["circulation_quanta"], row["circulation_se"], m.tolerance, m.sigmas)
    want_s = "schrodinger" in spec.claims
    row["schrodinger_distance"] = max(mad, row["circulation_quanta"]) if want_s else nan
    row["schrodinger_within"] = bool(want_s and row["madelung_within"] and circ_ok)
    if "madelung" not in spec.claims:
        row["madelung_within"] = False
        row["madelung_distance"] = nan
    requested = [row[description_columns(spec, d)[0]] for d in spec.claims]
    row["nonfinite"] = not all(math.isfinite(x) for x in requested)
    row["seconds"] = time.perf_counter() - t0
    return row


def _own_measures(spec: SweepSpec, point: GridPoint, rng: np.random.Generator, row: dict[str, Any], t0: float
                  ) -> dict[str, Any]:
    """The row of a point of a kind that measures itself: ``<d>_distance``, ``<d>_se`` from the kind's
    ``evaluate`` for each of its descriptions d, ``<d>_within`` by the same rule as the ensemble measures
    (distance + sigmas x SE <= tolerance); for a kind with controls also the controls' distances and SEs and
    ``<d>_decision``, the experiments' rule (:func:`~nnqg.verify._model.decide_learning` with the spec's tolerance
    and sigmas): INCONCLUSIVE when the controls do not separate at the point, else the point's own status. Only
    the requested descriptions decide ``nonfinite``."""
    m = spec.measure
    got = spec.kind.measures.evaluate(setting(spec, point), rng)
    for d in spec.kind.measures.descriptions:
        dist, se = (float(x) for x in got[d])
        row[f"{d}_distance"], row[f"{d}_se"] = dist, se
        row[f"{d}_within"] = within_tolerance(dist, se, m.tolerance, m.sigmas)
        if spec.kind.measures.controls:
            ctl = []
            for role in ("positive", "negative"):
                cd, cse = (float(x) for x in got[f"{d}_{role}"])
                row[f"{d}_{role}_distance"], row[f"{d}_{role}_se"] = cd, cse
                ctl.append(Measurement(f"{role} control", cd, cse))
            row[f"{d}_decision"] = decide_learning([Measurement(d, dist, se)], *ctl, m.tolerance, m.sigmas)[0]
    row["nonfinite"] = not all(math.isfinite(row[f"{d}_distance"]) for d in spec.claims)
    row["seconds"] = time.perf_counter() - t0
    return row


# ------------------------------------------------------------------------------------------------ the engine

#: glibc padding kept at the top of the heap in worker processes (see :func:`local_cluster`)
WORKER_MALLOC_TOP_PAD = 64 * 1024 ** 2


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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
    dropped_parts: tuple[tuple[str, str], ...] = ()  # (part, reason) of unreadable parts set aside


ProgressCb = Callable[[int, int], None]


def _check_workers(workers: Any, scheduler: str | None) -> None:
    if workers is None:
        return
    if scheduler is not None:
        raise InvalidArgument("--workers: only for the local cluster; the cluster at --scheduler has its own")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgument(f"--workers {workers!r}: give an integer >= 1")
    cpus = available_cpus()
    if workers > cpus:
        raise InvalidArgument(f"--workers {workers}: this machine gives nnqg {cpus} CPUs; use at most {cpus} (one "
                              "single-threaded worker per CPU), or --scheduler to run on a cluster")


def run_sweep(spec: SweepSpec, out: str | os.PathLike[str], *, scheduler: str | None = None,
              workers: int | None = None, resume: bool = False, processes: bool = True,
              progress: ProgressCb | None = None, flush_seconds: float = 2.0, flush_rows: int = 64,
              client: Any = None, in_flight: int | None = None) -> SweepOutcome:
    """Evaluate every grid point not yet stored on dask.distributed and store the rows as they finish.

    ``scheduler``: address of an existing cluster (``tcp://host:8786``); otherwise a ``LocalCluster`` with
    ``workers`` single-threaded workers (processes, or threads when ``processes=False``; at most the CPUs this
    machine gives the process, and no more than there are points to run). Points are submitted longest first and
    streamed: at most ``in_flight`` (default 4 per worker, at least 8) are submitted and not yet finished, so a
    large grid starts storing at once and is never held whole. Rows are flushed to a new Parquet part every
    ``flush_seconds`` or ``flush_rows`` rows, and on any exit (including Ctrl-C); a task lost with a dying worker
    is re-run by the scheduler from the same seed, so the stored number is the same."""
    _check_workers(workers, scheduler)
    if in_flight is not None and (isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1):
        raise InvalidArgument(f"in_flight: {in_flight!r}; give an integer >= 1")
    store = ResultStore(out, spec, resume=resume)
    total = n_points(spec)
    done = {i for i in store.done_ids() if 0 <= i < total} if resume else set()
    n_todo = total - len(done)
    if progress:
        progress(len(done), total)
    t0 = time.perf_counter()
    failed: list[tuple[int, str]] = []
    computed = 0
    compute_s = 0.0
    n_workers = 0
    if n_todo:
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
                    own_cluster = local_cluster(min(workers or available_cpus(), n_todo), processes=processes)
                    client = own_client = Client(own_cluster)

            def window() -> tuple[int, int]:
                n = len(client.scheduler_info().get("workers", {}))
                return n, in_flight or max(8, 4 * n)

            n_workers, cap = window()
            tag = spec.spec_hash()[:8]
            order = points_longest_first(spec, skip=done.__contains__)
            live: dict[str, Any] = {}
            ac = as_completed()

            def submit_more() -> None:
                while len(live) < cap:
                    p = next(order, None)
                    if p is None:
                        return
                    # dask runs higher priority first among queued tasks: the longest, as submitted
                    f = client.submit(evaluate_point, spec, p, point_seed(spec, p), key=f"nnqg-sweep-{tag}-{p.index}",
                                      pure=False, priority=point_cost(spec, p))
                    live[f.key] = f
                    ac.add(f)

            submit_more()
            buf: list[dict[str, Any]] = []
            last = time.perf_counter()
            n_done = len(done)
            try:
                for fut in ac:
                    live.pop(fut.key, None)
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
                            n_workers, cap = window()  # a cluster may have grown or shrunk
                    fut.release()
                    if progress:  # after the row is buffered: an interrupt raised here still keeps it
                        progress(n_done, total)
                    submit_more()
            finally:
                store.append(buf)  # Ctrl-C, a lost scheduler: what arrived is kept
                for f in live.values():
                    f.release()
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    table = store.read()
    return SweepOutcome(total=total, skipped=len(done), computed=computed, failed=tuple(failed),
                        wall_seconds=time.perf_counter() - t0, compute_seconds=compute_s, workers=n_workers,
                        table=table, dropped_parts=tuple(store.dropped))
