"""Benchmark of `nnqg sweep` on dask.distributed: throughput and scheduling overhead.

    python bench/bench_sweep.py [--repeats 3] [--points 12] [--ensemble 1000] [--task regression|network]
                                [--out bench/results/sweep.md]
    python bench/bench_sweep.py --ab REF [--repeats 5] [--points 12] [--ensemble 1000] [--task ...]

Measures, in one run (medians over ``--repeats``):

* baseline: the same grid evaluated by a plain serial loop over ``evaluate_point`` (no dask, no store);
* ``run_sweep`` on a LocalCluster (processes, one thread each) with 1 and 2 workers, clusters started (and warmed
  up: numba compiled in every worker) before the clock starts; the time includes the Parquet store;
* throughput in grid points per minute;
* overhead fraction ``1 - sum(compute per task) / (wall * workers)``: everything that is not the per-point
  computation (scheduling, serialisation, the store, idle workers at the end of the grid);
* the pure per-task dask cost: ``--noop`` trivial tasks submitted and gathered on one worker.

The cluster start-up is reported separately (it is paid once per sweep, not per point).

``--ab REF``: the cost of a point under this tree against git revision REF, in one run: the same grid evaluated
by the serial loop in fresh subprocesses, one per side per repeat, alternating (A, B, B, A, ...), each after a
warm-up point; REF is exported with ``git archive`` and imported in place of the installed package. Reports the
median CPU and wall seconds per point of each side and their ratios (this tree / REF).
"""

from __future__ import annotations

import os

# The serial baseline is one core, like a dask worker (whose nanny sets these): without them OpenBLAS would give
# the in-process loop a second thread. Set before numpy is imported.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, sys, time
if {shim!r}:
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, {shim!r})
sys.path.insert(0, {bench!r})
from bench_sweep import _spec
from nnqg.verify._sweep import evaluate_point, grid_points, point_seed
import nnqg
spec = _spec({points}, {ensemble}, {task!r})
pts = grid_points(spec)
evaluate_point(spec, pts[0], point_seed(spec, pts[0]))
t0, c0 = time.perf_counter(), time.process_time()
comp = sum(evaluate_point(spec, p, point_seed(spec, p))["seconds"] for p in pts)
print(json.dumps({{"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "compute": comp,
                  "n": len(pts), "file": nnqg.__file__}}))
"""


def _ab(args: argparse.Namespace) -> str:
    """Serial per-point cost of this tree against git revision ``args.ab``, alternating fresh subprocesses."""
    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="nnqg-bench-ab-"))
    try:
        src = tmp / "src"
        src.mkdir()
        archive = subprocess.run(["git", "-C", str(root), "archive", args.ab], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        pkg = tmp / "pkg" / "nnqg"
        shutil.copytree(src / "nnqg", pkg)
        for sub in ("derivations", "numerics", "verify"):
            (pkg / sub).symlink_to(src / sub)
        res: dict[str, list[dict]] = {args.ab: [], "this tree": []}
        for rep in range(args.repeats):
            sides = [args.ab, "this tree"] if rep % 2 == 0 else ["this tree", args.ab]
            for side in sides:
                code = _CHILD.format(shim=str(tmp / "pkg") if side == args.ab else "", bench=str(root / "bench"),
                                     points=args.points, ensemble=args.ensemble, task=args.task)
                out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                     cwd=tmp).stdout
                res[side].append(json.loads(out.strip().splitlines()[-1]))
                print(f"rep {rep}: {side} {res[side][-1]['wall']:.2f} s ({res[side][-1]['file']})", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = res["this tree"][0]["n"]
    per = {k: statistics.median(r["compute"] for r in v) / n for k, v in res.items()}
    cpu = {k: statistics.median(r["cpu"] for r in v) / n for k, v in res.items()}
    lines = [
        f"Command: `python bench/bench_sweep.py --ab {args.ab} --repeats {args.repeats} --points {args.points} "
        f"--ensemble {args.ensemble}" + (" --task network" if args.task == "network" else "") + "`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load average at "
        f"the end {os.getloadavg()[0]:.1f}. {n} points ({args.task}), serial loop in fresh subprocesses, one BLAS "
        f"thread, sides alternating, medians of {args.repeats}.",
        "",
        "| code | CPU per point (s) | wall per point (s) | CPU, all repeats (s, whole grid) |",
        "|---|---|---|---|",
    ]
    for k, v in res.items():
        runs = ", ".join(f"{r['cpu']:.2f}" for r in v)
        lines.append(f"| {k} | {cpu[k]:.3f} | {per[k]:.3f} | {runs} |")
    lines += ["", f"Ratio this tree / {args.ab}: CPU time {cpu['this tree'] / cpu[args.ab]:.3f}, wall time "
              f"{per['this tree'] / per[args.ab]:.3f} (CPU time is the one to read on a loaded machine: wall time "
              "there measures the other processes too)."]
    return "\n".join(lines) + "\n"


def _spec(points: int, ensemble: int, task: str = "regression"):
    from nnqg.verify._sweep import parse_spec

    if task == "network":  # points of unequal cost: width 1, 2, 3 (K = 4, 7, 10 trained parameters)
        gammas, batches = [0.05, 0.2], [1, 8]
        t = {"kind": "tanh_network", "n_data": 256}
        extra = {"width": [1, 2, 3]}
    else:
        gammas = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4][: max(1, points // 2)]
        batches = [1, 8][: max(1, points // len(gammas))]
        t = {"kind": "linear_regression", "n_data": 256}
        extra = {}
    return parse_spec({
        "sweep": {"seed": 11, "claims": ["fokker_planck", "madelung", "schrodinger"], "name": "bench"},
        "task": t,
        "run": {"n_steps": 120, "anchors": [40, 70, 100]},
        "measure": {"window": 6, "bootstrap": 16},
        "grid": {"gamma": gammas, "batch_size": batches, "ensemble": [ensemble], **extra}})


def _noop(i: int) -> int:
    return i


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=12)
    ap.add_argument("--ensemble", type=int, default=1000)
    ap.add_argument("--noop", type=int, default=400)
    ap.add_argument("--task", choices=["regression", "network"], default="regression",
                    help="network: the 12-point width grid of the tanh network (--points ignored)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--ab", default=None, metavar="REF",
                    help="compare the serial cost of a point with git revision REF (e.g. main) instead")
    args = ap.parse_args(argv)
    if args.ab is not None:
        text = _ab(args)
        print(text)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
        return 0

    from dask.distributed import Client

    from nnqg.verify._sweep import evaluate_point, grid_points, local_cluster, point_seed, run_sweep

    spec = _spec(args.points, args.ensemble, args.task)
    pts = grid_points(spec)
    n = len(pts)
    tmp = Path(tempfile.mkdtemp(prefix="nnqg-bench-sweep-"))
    evaluate_point(spec, pts[0], point_seed(spec, pts[0]))  # compile in this process
    rows: dict[str, list[tuple[float, float]]] = {"serial": [], "dask-1": [], "dask-2": []}
    startup: dict[int, list[float]] = {1: [], 2: []}
    noop: list[float] = []
    try:
        for rep in range(args.repeats):
            t0 = time.perf_counter()
            comp = sum(evaluate_point(spec, p, point_seed(spec, p))["seconds"] for p in pts)
            rows["serial"].append((time.perf_counter() - t0, comp))
            print(f"rep {rep}: serial {rows['serial'][-1][0]:.2f} s", file=sys.stderr)
            for w in (1, 2):
                t0 = time.perf_counter()
                cluster = local_cluster(w)  # the cluster `nnqg sweep` starts
                client = Client(cluster)
                startup[w].append(time.perf_counter() - t0)
                try:
                    # warm-up: import and compile in every worker, outside the clock
                    client.run(lambda: evaluate_point(spec, pts[0], point_seed(spec, pts[0])) and None)
                    if w == 1:
                        t0 = time.perf_counter()
                        client.gather(client.map(_noop, range(args.noop), pure=False))
                        noop.append((time.perf_counter() - t0) / args.noop)
                    out = tmp / f"r{rep}-w{w}"
                    res = run_sweep(spec, out, client=client)
                    rows[f"dask-{w}"].append((res.wall_seconds, res.compute_seconds))
                    print(f"rep {rep}: dask {w} workers {res.wall_seconds:.2f} s (compute {res.compute_seconds:.2f})",
                          file=sys.stderr)
                    shutil.rmtree(out)
                finally:
                    client.close()
                    cluster.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    lines = [
        "# `nnqg sweep` benchmark",
        "",
        f"Command: `python bench/bench_sweep.py --repeats {args.repeats} --points {args.points} "
        f"--ensemble {args.ensemble} --noop {args.noop}" + (" --task network" if args.task == "network" else "")
        + "`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average at the end {os.getloadavg()[0]:.1f} (the machine is shared: other processes compete).",
        f"Grid: {n} points ({spec.task.kind}; gamma {list(spec.gamma)}, B {list(spec.batch_size)}"
        + (f", width {list(spec.width)}" if spec.width else "") + f"), ensemble {args.ensemble}, "
        f"{spec.run.n_steps} SGD steps, anchors {list(spec.run.anchors)}, window {spec.measure.window}, "
        f"{spec.measure.bootstrap} bootstrap resamples. Medians of {args.repeats} repeats, all in the same run.",
        "",
        "| mode | wall (s) | points / min | compute per point (s) | overhead fraction |",
        "|---|---|---|---|---|",
    ]
    for mode, vals in rows.items():
        w = 1 if mode != "dask-2" else 2
        wall = med([a for a, _ in vals])
        comp = med([b for _, b in vals])
        over = med([1.0 - b / (a * w) for a, b in vals])
        lines.append(f"| {mode} | {wall:.2f} | {60 * n / wall:.1f} | {comp / n:.3f} | {over:.1%} |")
    s1 = med([a for a, _ in rows["dask-1"]])
    s2 = med([a for a, _ in rows["dask-2"]])
    ser = med([a for a, _ in rows["serial"]])
    per_point = med([b for _, b in rows["dask-1"]]) / n
    lines += [
        "",
        f"* speed-up 2 workers / 1 worker: {s1 / s2:.2f}x; dask 1 worker / serial loop: {ser / s1:.2f}x "
        "(wall-time ratios).",
        f"* pure dask cost per task (no-op tasks, 1 worker): {1e3 * med(noop):.2f} ms, i.e. "
        f"{med(noop) / per_point:.2%} of the compute per point ({per_point:.3f} s).",
        f"* cluster start-up (paid once per sweep): 1 worker {med(startup[1]):.2f} s, 2 workers "
        f"{med(startup[2]):.2f} s.",
        "",
        "Overhead fraction = 1 - (sum of per-point compute measured inside `evaluate_point`) / (wall x workers):",
        "scheduling, serialisation, the Parquet store and workers idle at the end of the grid (with 2 workers and",
        "an odd last task one worker waits). Target: < 5%.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
