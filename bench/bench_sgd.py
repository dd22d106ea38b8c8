"""Benchmark: the SGD-ensemble simulator, numba kernel vs the NumPy-vectorised baseline (same arithmetic).

Usage: ``python bench/bench_sgd.py [--repeats 7] [--out bench/results/sgd.md]``

Each configuration (ensemble size N, batch size B, steps) is run ``--repeats`` times per backend, alternating
backends so machine load affects both alike; the table reports medians (and the min) of wall-clock seconds, the
speed-up median(NumPy)/median(numba), and checks that both backends return identical trajectories. The numba
kernel is compiled (or loaded from its cache) before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

from nnqg.numerics._sgd import make_regression_task, simulate_sgd

CONFIGS = ((10_000, 1, 200), (10_000, 4, 200), (100_000, 2, 100), (100_000, 8, 50))


def _time(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sgd.md")
    args = ap.parse_args(argv)
    task = make_regression_task(np.random.default_rng(0), n_data=256)
    # warm-up: compile / load both numba variants
    for par in (True, False):
        simulate_sgd(task, np.zeros((8, 2)), 0.1, 2, 3, np.random.default_rng(0), parallel=par)
    rows = []
    for N, B, steps in CONFIGS:
        q0 = np.zeros((N, 2))
        times: dict[str, list[float]] = {"numpy": [], "numba": [], "numba_serial": []}
        cpu: dict[str, list[float]] = {"numpy": [], "numba": [], "numba_serial": []}
        runs = {
            "numpy": lambda: simulate_sgd(task, q0, 0.05, B, steps, np.random.default_rng(1), record_every=steps,
                                          backend="numpy"),
            "numba": lambda: simulate_sgd(task, q0, 0.05, B, steps, np.random.default_rng(1), record_every=steps),
            "numba_serial": lambda: simulate_sgd(task, q0, 0.05, B, steps, np.random.default_rng(1),
                                                 record_every=steps, parallel=False),
        }
        same = all(np.array_equal(runs["numpy"](), runs[k]()) for k in ("numba", "numba_serial"))
        for _ in range(args.repeats):  # alternate so load drifts hit every backend alike
            for k, fn in runs.items():
                w, c = _time(fn)
                times[k].append(w)
                cpu[k].append(c)
        med = {k: statistics.median(v) for k, v in times.items()}
        cmed = {k: statistics.median(v) for k, v in cpu.items()}
        rows.append((N, B, steps, med, {k: min(v) for k, v in times.items()}, same, cmed))
        print(f"N={N} B={B} steps={steps}: cpu numpy {cmed['numpy']:.4f}s numba serial {cmed['numba_serial']:.4f}s; "
              f"wall numpy {med['numpy']:.4f}s  numba {med['numba']:.4f}s "
              f"(serial {med['numba_serial']:.4f}s)  speed-up {med['numpy'] / med['numba']:.1f}x "
              f"(serial {med['numpy'] / med['numba_serial']:.1f}x)  identical={same}", flush=True)
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    lines = [
        "# SGD-ensemble simulator: numba vs NumPy",
        "",
        f"Command: `python bench/bench_sgd.py --repeats {args.repeats}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, "
        f"Python {sys.version.split()[0]}, NumPy {np.__version__}, numba {numba.__version__}; "
        f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (above ~1 means other jobs were running).  ",
        "Workload: one SGD step per member = B splitmix64 draws + B per-example gradients of the 2-parameter "
        "regression (256 data points); the trajectory is recorded at the start and the end only. "
        "Medians of the repeats, backends alternated; `identical` = both return the same array bit for bit.",
        "",
        "Wall-clock columns are what a user waits; the CPU columns (process CPU time, all threads) are less "
        "sensitive to other jobs on a loaded machine; the serial-CPU ratio compares one core with one core.",
        "",
        "| N | B | steps | NumPy median (s) | numba parallel median (s) | numba serial median (s) | "
        "speed-up parallel | speed-up serial | NumPy CPU (s) | numba serial CPU (s) | speed-up serial CPU | "
        "identical |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for N, B, steps, med, mn, same, cmed in rows:
        lines.append(f"| {N} | {B} | {steps} | {med['numpy']:.4f} | {med['numba']:.4f} | {med['numba_serial']:.4f} | "
                     f"{med['numpy'] / med['numba']:.1f}x | {med['numpy'] / med['numba_serial']:.1f}x | "
                     f"{cmed['numpy']:.4f} | {cmed['numba_serial']:.4f} | "
                     f"{cmed['numpy'] / cmed['numba_serial']:.1f}x | {'yes' if same else 'NO'} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
