"""Benchmark: the gravity-side learning experiments (docs/experiments.md sections 3-5), each in its quick and
default profile, in-process after a warm-up (kernels compiled, training caches cleared before every timed run):
median wall time and median CPU time of this process (the experiments are single-threaded, so on a machine
shared with other jobs the CPU time is the better estimate of the wall time on an idle one), with the claim's
calibration alone as the baseline beside it and, with ``--threads``, the experiment with BLAS on its default
threads (the experiments run on one BLAS thread).

    python bench/bench_learning.py [--repeat 3] [--threads] [--out bench/results/learning.md]

Targets (issue 12 helper brief): default <= 25 s, quick <= 8 s per experiment on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable
from unittest import mock

from nnqg.verify._model import NumericContext
from nnqg.verify._registry import get_claim
from nnqg.verify.learning import _common, spacetime

EXPERIMENTS = (("3 lorentz.wave_equation", "lorentz.wave_equation"),
               ("4 spacetime.emergent_metric", "spacetime.emergent_metric"),
               ("4 geodesic.wave_packet", "geodesic.wave_packet"),
               ("5 duality.report", "duality.report"))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeat):
        spacetime._TRAINED.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", action="store_true", help="also time the experiments with default BLAS threads")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for label, cid in EXPERIMENTS:
        claim = get_claim(cid)
        inputs = claim.default_inputs()
        for quick in (True, False):
            ctx = NumericContext(seed=1, quick=quick)
            claim.learning(ctx, inputs)  # warm-up: kernels, numba
            load0 = os.getloadavg()[0]
            wall, cpu = timed(lambda: claim.learning(ctx, inputs), args.repeat)
            threads = float("nan")
            if args.threads:
                with mock.patch.object(_common, "threadpool_limits", lambda *a, **k: nullcontext()):
                    threads = timed(lambda: claim.learning(ctx, inputs), args.repeat)[0]
            cal = timed(lambda: claim.calibration(ctx, inputs), args.repeat)[0] if cid != "duality.report" \
                else float("nan")
            rows.append((label, "quick" if quick else "default", wall, cpu, threads, cal, load0))
    lines = [f"Medians of {args.repeat} runs, seconds; load average (2 CPUs) at the start of each row.", "",
             "| experiment | profile | learning wall | learning CPU | learning wall, default BLAS threads | "
             "calibration wall | load |", "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c:.2f} | {d:.2f} | {e:.2f} | {f:.2f} | {g:.1f} |" for a, b, c, d, e, f, g in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
