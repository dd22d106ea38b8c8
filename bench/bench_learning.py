"""Benchmark: the gravity-side learning experiments (docs/experiments.md sections 3-5), each in its quick and
default profile, in-process after a warm-up (kernels compiled, training caches cleared before every timed run),
with two baselines side by side in the same run: the claim's calibration alone, and the experiment with BLAS left
on its default threads (the experiments run on one BLAS thread).

    python bench/bench_learning.py [--repeat 3] [--out bench/results/learning.md]

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


def timed(fn: Callable[[], Any], repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        spacetime._TRAINED.clear()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for label, cid in EXPERIMENTS:
        claim = get_claim(cid)
        inputs = claim.default_inputs()
        for quick in (True, False):
            ctx = NumericContext(seed=1, quick=quick)
            claim.learning(ctx, inputs)  # warm-up: kernels, numba
            learn = timed(lambda: claim.learning(ctx, inputs), args.repeat)
            with mock.patch.object(_common, "threadpool_limits", lambda *a, **k: nullcontext()):
                threads = timed(lambda: claim.learning(ctx, inputs), args.repeat)
            cal = timed(lambda: claim.calibration(ctx, inputs), args.repeat) if cid != "duality.report" else float("nan")
            rows.append((label, "quick" if quick else "default", learn, threads, cal))
    load = os.getloadavg()[0]
    lines = [f"Load average at the end: {load:.1f} (2 CPUs). Medians of {args.repeat} runs, seconds.", "",
             "| experiment | profile | learning (1 BLAS thread) | learning (default BLAS threads) | calibration |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c:.2f} | {d:.2f} | {e:.2f} |" for a, b, c, d, e in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
