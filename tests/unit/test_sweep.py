"""Parameter sweeps (`nnqg sweep`): the spec's validation and limits, the task registry, the dask engine
(worker-count independence, streaming, the Parquet store, resume after an interruption or a damaged part) and the
CLI's exit codes. The measures themselves are tested in test_ensemble_measures.py."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnqg.derivations import InvalidArgument
from nnqg.numerics._ensemble import Ensemble
from nnqg.numerics._task_regression import regression_model
from nnqg.verify import _sweep as S
from nnqg.verify._cli import main

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

BASE = {"sweep": {"seed": 7, "claims": ["fokker_planck", "madelung", "schrodinger"]},
        "task": {"kind": "linear_regression", "n_data": 64},
        "run": {"n_steps": 24, "anchors": [8, 16]},
        "measure": {"bootstrap": 3},
        "grid": {"gamma": [0.05, 0.2], "batch_size": [1, 4], "ensemble": [100], "seeds": [0]}}


def _spec(**over: dict) -> S.SweepSpec:
    d = {k: dict(v) for k, v in BASE.items()}
    for sec, kv in over.items():
        d.setdefault(sec, {}).update(kv)
    return S.parse_spec(d)



# ------------------------------------------------------------------------------------------ the spec

@pytest.mark.parametrize("over, key", [
    ({"sweep": {"claims": ["madelung", "bohm"]}}, "sweep.claims"),
    ({"grid": {"gamma": []}}, "grid.gamma"),
    ({"grid": {"gamma": [0.1, -0.2]}}, "grid.gamma"),
    ({"grid": {"batch_size": [0]}}, "grid.batch_size"),
    ({"grid": {"stepsize": [0.1]}}, "grid.stepsize"),
    ({"task": {"neurons": 3}}, "task.neurons"),
    ({"grid": {"width": [4, 8]}}, "grid.width"),
    ({"run": {"anchors": [1]}}, "run.anchors"),
    ({"measure": {"potential": "quantum"}}, "measure.potential"),
    ({"measure": {"potential": "fitted"}}, "measure.potential: 'fitted' was removed"),
    ({"extra": {"x": 1}}, "extra"),
])
def test_bad_specs_name_the_key(over: dict, key: str) -> None:
    with pytest.raises(InvalidArgument, match=key.replace(".", r"\.")):
        _spec(**over)


def test_seeds_are_per_point_and_do_not_depend_on_order() -> None:
    spec = _spec()
    pts = S.grid_points(spec)
    spawned = np.random.SeedSequence(spec.seed).spawn(len(pts))
    for p in pts:
        assert S.point_seed(spec, p).generate_state(4).tolist() == spawned[p.index].generate_state(4).tolist()
    assert len({tuple(S.point_seed(spec, p).generate_state(2)) for p in pts}) == len(pts)


# ------------------------------------------------------------------------------------------ the engine

def _toy_simulator(spec: S.SweepSpec, point: S.GridPoint, rng: np.random.Generator) -> Ensemble:
    """A small SGD of our own (numpy) on the same regression task: stands in for numerics._sgd so the engine
    tests do not depend on it."""
    n = spec.task.n_data
    x = rng.standard_normal(n)
    y = spec.task.slope * x + spec.task.intercept + spec.task.noise * rng.standard_normal(n)
    qs = np.linalg.lstsq(np.stack([x, np.ones(n)], 1), y, rcond=None)[0]
    q = np.empty((spec.run.n_steps + 1, point.ensemble, 2))
    q[0] = qs + np.asarray(spec.run.init_offset) + spec.run.init_std * rng.standard_normal((point.ensemble, 2))
    for s in range(spec.run.n_steps):
        idx = rng.integers(0, n, (point.ensemble, point.batch_size))
        r = q[s, :, :1] * x[idx] + q[s, :, 1:] - y[idx]
        g = np.stack([(r * x[idx]).mean(1), r.mean(1)], axis=1)
        q[s + 1] = q[s] - point.gamma * g
    loss, grad, cov = regression_model(x, y)
    return Ensemble(q=q, grad_loss=grad, grad_cov=cov, loss=loss)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(S, "SIMULATOR", [_toy_simulator])


def _numbers(table) -> dict:
    d = table.drop_columns(["seconds"]).to_pydict()
    return d


def test_one_and_two_workers_give_identical_numbers(toy: None, tmp_path: Path) -> None:
    spec = _spec()
    r1 = S.run_sweep(spec, tmp_path / "w1", workers=1, processes=False)
    r2 = S.run_sweep(spec, tmp_path / "w2", workers=2, processes=False)
    assert r1.computed == r2.computed == 4 and r1.workers == 1 and r2.workers == 2
    assert _numbers(r1.table) == _numbers(r2.table)
    assert not any(r1.table.column("nonfinite").to_pylist())
    # a different spec seed changes the numbers (the streams really come from the seed)
    r3 = S.run_sweep(_spec(sweep={"seed": 8}), tmp_path / "w3", workers=1, processes=False)
    assert _numbers(r3.table)["fp_distance"] != _numbers(r1.table)["fp_distance"]


def test_interrupted_sweep_keeps_finished_points_and_resume_completes_it(toy: None, tmp_path: Path) -> None:
    spec = _spec()
    full = S.run_sweep(spec, tmp_path / "full", workers=1, processes=False)

    def stop(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        S.run_sweep(spec, tmp_path / "cut", workers=1, processes=False, progress=stop)
    store = S.ResultStore(tmp_path / "cut", spec, resume=True)
    kept = store.done_ids()
    assert 2 <= len(kept) < 4
    seen: list[int] = []
    res = S.run_sweep(spec, tmp_path / "cut", workers=1, processes=False, resume=True,
                      progress=lambda d, t: seen.append(d))
    assert res.skipped == len(kept) and res.computed == 4 - len(kept)
    assert seen[0] == len(kept) and seen[-1] == 4
    assert _numbers(res.table) == _numbers(full.table)
    # without --resume an existing sweep is refused; a different spec is refused even with --resume
    with pytest.raises(InvalidArgument, match="--resume"):
        S.run_sweep(spec, tmp_path / "cut", workers=1, processes=False)
    with pytest.raises(InvalidArgument, match="another spec"):
        S.run_sweep(_spec(sweep={"seed": 9}), tmp_path / "cut", workers=1, processes=False, resume=True)


def test_a_failing_point_is_reported_and_not_stored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def sim(spec, point, rng):
        if point.index == 1:
            raise FloatingPointError("planted")
        return _toy_simulator(spec, point, rng)

    monkeypatch.setattr(S, "SIMULATOR", [sim])
    res = S.run_sweep(_spec(), tmp_path / "f", workers=1, processes=False)
    assert [i for i, _ in res.failed] == [1] and "planted" in res.failed[0][1]
    assert sorted(res.table.column("point_id").to_pylist()) == [0, 2, 3]
    monkeypatch.setattr(S, "SIMULATOR", [_toy_simulator])
    again = S.run_sweep(_spec(), tmp_path / "f", workers=1, processes=False, resume=True)
    assert again.computed == 1 and again.table.num_rows == 4


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(textwrap.dedent(body))
    return p


GOOD = """
[sweep]
seed = 3
claims = ["fokker_planck", "madelung", "schrodinger"]
[task]
kind = "linear_regression"
n_data = 64
[run]
n_steps = 24
anchors = [8, 16]
[measure]
bootstrap = 3
[grid]
gamma = [0.05, 0.2]
batch_size = [1, 4]
ensemble = [100]
"""


@pytest.mark.parametrize("edit, key", [
    (("claims = [\"fokker_planck\", \"madelung\", \"schrodinger\"]", "claims = [\"madelung\", \"wkb\"]"),
     "sweep.claims"),
    (("gamma = [0.05, 0.2]", "gamma = []"), "grid.gamma"),
    (("gamma = [0.05, 0.2]", "gamma = [-0.05]"), "grid.gamma"),
    (("n_data = 64", "n_data = 64\nlayers = 2"), "task.layers"),
])
def test_cli_bad_spec_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture, edit, key) -> None:
    p = _write(tmp_path, GOOD.replace(*edit))
    assert main(["sweep", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err


def test_cli_runs_a_tiny_sweep_with_table_and_figures(toy: None, tmp_path: Path, capsys, monkeypatch) -> None:
    # the CLI's LocalCluster uses processes; threads keep the swapped-in simulator visible in this test
    real = S.run_sweep
    monkeypatch.setattr(S, "run_sweep", lambda *a, **k: real(*a, **{**k, "processes": False}))
    p = _write(tmp_path, GOOD)
    out = tmp_path / "o"
    assert main(["sweep", str(p), "--workers", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 points computed" in text and "fokker_planck" in text
    for f in ("heatmap_fokker_planck.png", "heatmap_madelung.png", "heatmap_schrodinger.png",
              "madelung_within.png"):
        assert (out / "figures" / f).stat().st_size > 1000
    assert main(["sweep", str(p), "--out", str(out)]) == 2  # exists, no --resume
    assert main(["sweep", str(p), "--out", str(out), "--resume"]) == 0
    assert "0 points computed, 4 resumed" in capsys.readouterr().out


def test_vectorised_gradient_covariance_matches_the_shared_simulators_task() -> None:
    sgd = pytest.importorskip("nnqg.numerics._sgd")
    task = sgd.make_regression_task(np.random.default_rng(0), n_data=50)
    loss, grad, cov = regression_model(task.x, task.y)
    qs = np.array([[0.3, -0.7], [1.5, 2.0]])
    for i, q in enumerate(qs):
        assert np.allclose(cov(qs)[i], task.gradient_covariance(q), rtol=1e-12, atol=1e-12)
        assert np.allclose(grad(qs)[i], task.per_example_gradients(q).mean(axis=0), rtol=1e-12, atol=1e-12)


def test_evaluate_point_on_the_shared_simulator_is_finite_and_reproducible() -> None:
    pytest.importorskip("nnqg.numerics._sgd")
    spec = _spec()
    p = S.grid_points(spec)[3]
    a = S.evaluate_point(spec, p, S.point_seed(spec, p))
    b = S.evaluate_point(spec, p, S.point_seed(spec, p))
    a.pop("seconds"), b.pop("seconds")
    assert a == b and not a["nonfinite"]
    assert all(math.isfinite(a[k]) and a[k] >= 0 for k in ("fp_distance", "madelung_distance", "schrodinger_distance"))


@pytest.mark.slow
def test_cli_on_process_workers_with_the_shared_simulator_is_worker_count_independent(tmp_path: Path) -> None:
    """The real path: `nnqg sweep` with a LocalCluster of processes and numerics._sgd, 1 vs 2 workers."""
    pytest.importorskip("nnqg.numerics._sgd")
    import pyarrow.parquet as pq

    p = _write(tmp_path, GOOD)
    for w in (1, 2):
        assert main(["sweep", str(p), "--workers", str(w), "--out", str(tmp_path / f"w{w}")]) == 0
    a, b = (pq.read_table(tmp_path / f"w{w}" / "points").sort_by("point_id").drop_columns(["seconds"]) for w in (1, 2))
    assert a.num_rows == 4 and a.equals(b)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "examples" / "sweeps").glob("*.toml")),
                         ids=lambda p: p.name)
def test_example_specs_are_valid(path: Path) -> None:
    spec = S.load_spec(path)
    assert len(S.grid_points(spec)) >= 4 and set(spec.claims) <= set(S.descriptions(spec.kind))


def test_a_worker_that_dies_mid_sweep_loses_nothing(tmp_path: Path) -> None:
    """Kill one of two worker processes after the first point arrives: the scheduler re-runs its task from the
    same seed, every point is stored once, and the numbers equal an undisturbed run."""
    import os

    from dask.distributed import Client, LocalCluster

    spec = S.load_spec(_write(tmp_path, GOOD))
    ref = S.run_sweep(spec, tmp_path / "ref", workers=1, processes=False)
    killed: list[str] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:

        def kill_one(done: int, total: int) -> None:
            if done >= 1 and not killed:
                addr = sorted(client.scheduler_info()["workers"])[0]
                killed.append(addr)
                try:
                    client.run(os._exit, 1, workers=[addr], wait=False)
                except Exception:  # the worker's connection drops as it dies
                    pass

        res = S.run_sweep(spec, tmp_path / "cut", client=client, progress=kill_one)
    assert killed, "no worker was killed: the test did not exercise the failure"
    assert res.computed == ref.computed == len(S.grid_points(spec)) and not res.failed
    a = res.table.sort_by("point_id").drop_columns(["seconds"])
    b = ref.table.sort_by("point_id").drop_columns(["seconds"])
    assert a.equals(b)


# ------------------------------------------------------------------------------ the network task (width axis)

NET = {"task": {"kind": "tanh_network", "n_data": 64}, "grid": {"width": [1, 2]}}


@pytest.mark.parametrize("over, key", [
    ({"task": {"kind": "tanh_network"}}, "grid.width"),  # the network needs its width axis
    ({**NET, "grid": {"width": [0]}}, "grid.width"),
    ({**NET, "grid": {"width": [2, 2]}}, "grid.width"),
    ({**NET, "run": {"init_offset": [0.5, -0.5]}}, "run.init_offset"),
    ({**NET, "task": {"kind": "tanh_network", "trainable": "hidden"}}, "task.trainable"),
    ({"task": {"trainable": "readout"}}, "task.trainable"),  # the regression has no layers to freeze
    ({**NET, "grid": {"width": [40], "ensemble": [4000]}}, "grid.width"),  # memory guard
    ({**NET, "sweep": {"claims": ["fokker_planck"]}, "grid": {"width": [60], "ensemble": [4000]}},
     "grid.width"),  # memory guard without the Nelson fits
    ({**NET, "grid": {"width": [3], "ensemble": [100]}}, "grid.ensemble"),  # fewer members than basis functions
])
def test_bad_network_specs_name_the_key(over: dict, key: str) -> None:
    with pytest.raises(InvalidArgument, match=key.replace(".", r"\.")):
        _spec(**over)


def test_width_axis_is_a_grid_axis_and_the_memory_guard_counts_parameters() -> None:
    spec = _spec(**NET)
    assert [p.width for p in S.grid_points(spec)] == [1, 2] * 4
    assert [S.n_parameters(spec, w) for w in (1, 3)] == [4, 10]
    ro = _spec(task={**NET["task"], "trainable": "readout"}, grid=NET["grid"])
    assert [S.n_parameters(ro, w) for w in (1, 3)] == [2, 4]
    # 40 read-out neurons fit where 40 fully trained ones do not
    _spec(task={**NET["task"], "trainable": "readout"}, grid={"width": [40], "ensemble": [200]},
          measure={"basis_degree": 1})


@pytest.mark.parametrize("claims, width", [(["fokker_planck"], None), (["fokker_planck"], 3),
                                           (["madelung"], None), (["fokker_planck", "schrodinger"], 3)])
def test_memory_estimate_bounds_the_traced_peak_of_a_point(claims: list, width) -> None:
    """The guard's estimate must not underestimate what a point really holds (numpy's allocations are traced by
    tracemalloc), and should not overstate it by more than 2x."""
    import tracemalloc

    pytest.importorskip("nnqg.numerics._network_sgd")
    over = {**NET, "grid": {"width": [width], "ensemble": [600]}} if width else {"grid": {"ensemble": [600]}}
    spec = _spec(sweep={"claims": claims}, **over)
    p = S.grid_points(spec)[0]
    S.evaluate_point(spec, p, S.point_seed(spec, p))  # compile outside the trace
    tracemalloc.start()
    try:
        S.evaluate_point(spec, p, S.point_seed(spec, p))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = S.point_bytes(spec, width, 600)
    assert peak <= est <= 2 * peak, (peak, est)


def test_longest_points_are_submitted_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On one worker the points run in the order of decreasing cost (widest first): the grid's tail is short."""
    order: list[int] = []

    def sim(spec, point, rng):
        order.append(point.width)
        return _toy_simulator(S.parse_spec({**{k: dict(v) for k, v in BASE.items()}}), point, rng)

    monkeypatch.setattr(S, "SIMULATOR", [sim])
    spec = _spec(**{**NET, "sweep": {"claims": ["fokker_planck"]}, "grid": {"width": [1, 3, 2], "ensemble": [100],
                                                                          "gamma": [0.1], "batch_size": [1]}})
    assert [S.point_cost(spec, p) for p in S.grid_points(spec)] == [100 * 24 * 15, 100 * 24 * 66, 100 * 24 * 36]
    S.run_sweep(spec, tmp_path / "o", workers=1, processes=False)
    assert order == [3, 2, 1]


def test_evaluate_point_on_the_network_is_finite_reproducible_and_records_the_width() -> None:
    pytest.importorskip("nnqg.numerics._network_sgd")
    spec = _spec(**NET)
    p = S.grid_points(spec)[1]
    a = S.evaluate_point(spec, p, S.point_seed(spec, p))
    b = S.evaluate_point(spec, p, S.point_seed(spec, p))
    a.pop("seconds"), b.pop("seconds")
    assert a == b and not a["nonfinite"] and a["width"] == 2
    assert all(math.isfinite(a[k]) and a[k] >= 0 for k in ("fp_distance", "madelung_distance", "schrodinger_distance"))


def test_cli_width_sweep_has_a_width_column_and_width_figures(tmp_path: Path, capsys, monkeypatch) -> None:
    pytest.importorskip("nnqg.numerics._network_sgd")
    real = S.run_sweep
    monkeypatch.setattr(S, "run_sweep", lambda *a, **k: real(*a, **{**k, "processes": False}))
    body = GOOD.replace('kind = "linear_regression"', 'kind = "tanh_network"\ntrainable = "readout"') \
        .replace("gamma = [0.05, 0.2]", "gamma = [0.1]").replace("batch_size = [1, 4]", "batch_size = [2]") \
        + "width = [1, 3]\n"
    out = tmp_path / "o"
    assert main(["sweep", str(_write(tmp_path, body)), "--workers", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "width" in text and "2 points computed" in text
    for f in ("heatmap_madelung_w1.png", "heatmap_madelung_w3.png", "width_fokker_planck.png",
              "width_schrodinger.png"):
        assert (out / "figures" / f).stat().st_size > 1000


def test_local_cluster_workers_keep_a_heap_pad() -> None:
    """The sweep's own workers get MALLOC_TOP_PAD_ (dask's trimming alone slows a point down, BENCHMARKS.md) and
    keep dask's single-threaded BLAS."""
    import os

    from dask.distributed import Client

    with S.local_cluster(1) as cluster, Client(cluster) as client:
        env = next(iter(client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TOP_PAD_",
                                                                            "OPENBLAS_NUM_THREADS")}).values()))
    assert env == {"MALLOC_TOP_PAD_": str(S.WORKER_MALLOC_TOP_PAD), "OPENBLAS_NUM_THREADS": "1"}


def test_regression_spec_hash_is_unchanged_by_the_network_options() -> None:
    """`--resume` refuses a directory whose spec hash differs: adding task options for the network must not
    change the hash of a regression spec written before them (this value is the hash of examples/sweeps/tiny.toml
    before `task.trainable` existed)."""
    spec = S.load_spec(Path(__file__).parents[2] / "examples" / "sweeps" / "tiny.toml")
    assert spec.spec_hash() == "462d3392f2908dc6"
    assert "trainable" in _spec(**NET).canonical()["task"]




# ------------------------------------------------------------------------------------------ the task registry

def _toy_kind():
    """A learning system defined in a test: plain gradient descent on U = scale |q|^2/2 with isotropic noise,
    K = 2 (enough to exercise the registry: keys, validation, hash, simulation through evaluate_point)."""
    from nnqg.numerics import _tasks as T

    def simulate(s: T.Setting, rng: np.random.Generator) -> Ensemble:
        k, sig = s.task["scale"], s.gamma / math.sqrt(s.batch_size)
        q = np.empty((s.n_steps + 1, s.n_members, 2))
        q[0] = s.run["start"] + s.init_std * rng.standard_normal((s.n_members, 2))
        for i in range(s.n_steps):
            q[i + 1] = q[i] - s.gamma * k * q[i] + sig * rng.standard_normal((s.n_members, 2))
        return Ensemble(q=q, grad_loss=lambda Q: k * Q, loss=lambda Q: 0.5 * k * np.sum(Q * Q, axis=1),
                        grad_cov=lambda Q: np.broadcast_to(np.eye(2), (len(Q), 2, 2)).copy())

    return T.TaskKind(name="toy_quadratic", summary="test", simulate=simulate, n_parameters=lambda t, w: 2,
                      task_keys={"scale": T.Key(1.0, T.number(True, "curvature"))},
                      run_keys={"start": T.Key(0.0, T.number())}, data_bytes=lambda t: 0)


@pytest.fixture
def toy_kind(monkeypatch: pytest.MonkeyPatch):
    from nnqg.numerics import _tasks as T

    T.task_kinds()
    monkeypatch.setattr(T, "_KINDS", dict(T._KINDS))
    return T.register(_toy_kind())


def _toy_spec(task: dict | None = None, run: dict | None = None) -> S.SweepSpec:
    return S.parse_spec({**BASE, "task": {"kind": "toy_quadratic", **(task or {})},
                         "run": {"n_steps": 24, "anchors": [8, 16], **(run or {})}})


def test_a_new_task_kind_is_one_registration_with_its_own_validated_keys(toy_kind, tmp_path: Path) -> None:
    spec = _toy_spec({"scale": 2.0}, {"start": 0.5})
    assert spec.task.scale == 2.0 and spec.run.start == 0.5 and S.n_parameters(spec, None) == 2
    assert spec.canonical()["task"] == {"kind": "toy_quadratic", "scale": 2.0}
    assert _toy_spec({"scale": 3.0}, {"start": 0.5}).spec_hash() != spec.spec_hash()
    with pytest.raises(InvalidArgument, match=r"task\.scale: -1 is not a positive curvature"):
        _toy_spec({"scale": -1})
    with pytest.raises(InvalidArgument, match=r"task\.n_data: not a key of the task 'toy_quadratic'.*linear_regr"):
        _toy_spec({"n_data": 64})
    with pytest.raises(InvalidArgument, match=r"run\.init_offset: not a key .*belongs to \['linear_regression'\]"):
        _toy_spec(run={"init_offset": [0.0, 0.0]})
    with pytest.raises(InvalidArgument, match=r"grid\.width: task 'toy_quadratic' has no width"):
        S.parse_spec({**BASE, "task": {"kind": "toy_quadratic"}, "grid": {**BASE["grid"], "width": [1]}})
    spec = _toy_spec()
    res = S.run_sweep(spec, tmp_path / "toy", workers=1, processes=False)
    assert res.computed == 4 and not res.failed
    # plain gradient descent is far from Madelung with V = U, as the closed form (1 - gk)/(1 + gk) says
    assert min(res.table.column("newton_distance").to_pylist()) > 0.5


def test_the_registry_refuses_a_kind_that_redeclares_a_common_key(toy_kind) -> None:
    from dataclasses import replace

    from nnqg.numerics import _tasks as T

    with pytest.raises(InvalidArgument, match="n_steps"):
        T.register(replace(toy_kind, name="other", run_keys={"n_steps": T.Key(3, T.integer())}))
    with pytest.raises(InvalidArgument, match="registered already"):
        T.register(toy_kind)


def test_points_are_streamed_longest_first_in_the_order_of_a_full_sort() -> None:
    spec = _spec(**{**NET, "sweep": {"claims": ["fokker_planck"]},
                    "grid": {"width": [1, 3, 2], "ensemble": [100, 300, 50], "gamma": [0.1, 0.2],
                             "batch_size": [1, 2], "seeds": [0, 1]}})
    want = sorted(S.grid_points(spec), key=lambda p: (-S.point_cost(spec, p), p.index))
    assert list(S.points_longest_first(spec)) == want
    assert [p.index for p in S.points_longest_first(spec, skip=lambda i: i % 3 == 0)] == \
        [p.index for p in want if p.index % 3]
