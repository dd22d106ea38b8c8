"""Power study: the Madelung controls of experiment 5 (duality on one learning network, docs/experiments.md
section 5) against their ensemble size M. For each M and seeds 1..R, the controls exactly as the experiment runs
them (:func:`nnqg.verify.learning.duality.madelung_controls`, the pre-registered settings, seed s = the stream of
``nnqg verify --seed s``): the positive control's (Nelson ground state) Newton distance, the mean and the spread
over seeds, the median bootstrap SE, how many seeds give SUPPORTED (d + k SE <= tau) and the largest d + k SE;
the negative control's (stationary Langevin learning) smallest d - k SE and how many give NOT SUPPORTED; CPU
seconds per seed (both controls). The positive control's value at infinite size is a(1 - a/4)/(1 + (1 - a/2)^2),
the O(a) part of one-step increments (:func:`~nnqg.verify.learning.duality.madelung_controls`).

    python bench/bench_duality_controls.py [--sizes 2000,4000,8000,16000,32000] [--seeds 8] [--nelson-a 0.1]
    python bench/bench_duality_controls.py --timing [--repeat 3]

``--timing``: instead, the experiment's learning part (:func:`nnqg.verify.learning.duality.run`, seed 1) in each
profile, in-process after a warm-up, median CPU and wall seconds, with the registered Madelung control size beside
the 2026-11-25 one (the controls at the learning system's M) as the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from nnqg.verify._model import NOT_SUPPORTED, SUPPORTED, NumericContext, classify
from nnqg.verify.learning import duality
from nnqg.verify.learning._common import one_blas_thread


def timing(repeat: int) -> None:
    """Median CPU and wall seconds of the learning part, registered control size against the 2026-11-25 one."""
    print("| profile | Madelung controls | median CPU [s] | median wall [s] | load |")
    print("| --- | --- | ---: | ---: | ---: |")
    with one_blas_thread():
        for prof in ("quick", "full"):
            ctx = NumericContext(seed=1, quick=prof == "quick")
            old = {f"madelung_control_members_{prof}": duality.SETTINGS[f"members_{prof}"]}
            duality.run(ctx, old)  # warm-up: kernels, numba
            for label, settings in ((f"M_c = {duality.SETTINGS[f'madelung_control_members_{prof}']} (registered)",
                                     None), (f"M_c = M = {duality.SETTINGS[f'members_{prof}']} (2026-11-25)", old)):
                cpu, wall = [], []
                for _ in range(repeat):
                    c0, w0 = time.process_time(), time.perf_counter()
                    duality.run(ctx, settings)
                    cpu.append(time.process_time() - c0)
                    wall.append(time.perf_counter() - w0)
                print(f"| {prof} | {label} | {statistics.median(cpu):.2f} | {statistics.median(wall):.2f} "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,4000,8000,16000,32000")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--nelson-a", type=float, default=duality.SETTINGS["nelson_a"])
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.timing:
        timing(args.repeat)
        return
    s = {**duality.SETTINGS, "nelson_a": args.nelson_a}
    tau, k, a = duality.TAU, duality.SIGMAS, args.nelson_a
    print(f"Nelson ground state a = {a:g}, nu = {s['nelson_nu']:g}; rule tau = {tau:g}, k = {k:g}; value at "
          f"infinite size {a * (1 - a / 4) / (1 + (1 - a / 2) ** 2):.4f}; seeds 1..{args.seeds}\n")
    print("| M | positive: mean d | sd over seeds | median SE | SUPPORTED | max d + k SE | negative: min d - k SE "
          "| NOT SUPPORTED | CPU s per seed |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with one_blas_thread():
        for M in (int(x) for x in args.sizes.split(",")):
            pos, neg, cpu = [], [], []
            for seed in range(1, args.seeds + 1):
                c0 = time.process_time()
                out = duality.madelung_controls(NumericContext(seed=seed), s, M)
                cpu.append(time.process_time() - c0)
                pos.append((out["madelung_positive"]["madelung"], out["madelung_positive"]["madelung_se"]))
                neg.append((out["madelung_negative"]["madelung"], out["madelung_negative"]["madelung_se"]))
            d = np.array([p[0] for p in pos])
            sd = float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")
            n_sup = sum(classify(x, e, tau, k) == SUPPORTED for x, e in pos)
            n_not = sum(classify(x, e, tau, k) == NOT_SUPPORTED for x, e in neg)
            print(f"| {M} | {d.mean():.4f} | {sd:.4f} | {statistics.median(e for _, e in pos):.4f} "
                  f"| {n_sup}/{len(pos)} | {max(x + k * e for x, e in pos):.3f} "
                  f"| {min(x - k * e for x, e in neg):.3f} | {n_not}/{len(neg)} | {statistics.median(cpu):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
