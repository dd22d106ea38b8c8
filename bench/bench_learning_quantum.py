"""Benchmark: the quantum-side learning experiments Q1/Q2 (verify/learning/madelung.py) and Q3
(verify/learning/quantisation.py) at each profile, each in a fresh process, CPU time and wall time side by side.

Each run is a whole process (imports and numba's on-disk cache included, as `nnqg verify` meets them) that runs one
experiment once (the claims of an experiment share its run). CPU time is the child's user + system time
(getrusage), which on a loaded machine measures this work and not the other processes; wall time is what a user
waits. The budget (docs/experiments.md, issue 12): default profile <= 25 s, quick <= 8 s, on 2 cores. Medians of
``--repeat`` runs, with the load average before and after.

    python bench/bench_learning_quantum.py [--repeat 3] [--out bench/results/learning_quantum.md]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

from _markdown import write_markdown  # bench/ is on sys.path when a script runs

CODE = {
    "Q1/Q2 (madelung.py)": "from nnqg.verify.learning import madelung as m; from nnqg.verify._model import "
                           "NumericContext as C; m.run(C(seed=1, quick={quick}))",
    "Q3 (quantisation.py)": "from nnqg.verify.learning import quantisation as m; from nnqg.verify._model import "
                            "NumericContext as C; m.run(C(seed=1, quick={quick}))",
}


def once(code: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results/learning_quantum.md")
    args = ap.parse_args()
    rows = []
    load0 = os.getloadavg()[0]
    for name, code in CODE.items():
        for quick in (False, True):
            runs = [once(code.format(quick=quick)) for _ in range(args.repeat)]
            rows.append((name, "quick" if quick else "default", statistics.median(c for c, _ in runs),
                         statistics.median(w for _, w in runs)))
    load1 = os.getloadavg()[0]
    lines = [f"Command: `python bench/bench_learning_quantum.py --repeat {args.repeat}`; load average "
             f"{load0:.1f} before, {load1:.1f} after (2 CPUs).", "",
             "| experiment | profile | CPU time [s] (median) | wall time [s] (median) |", "|---|---|---:|---:|"]
    lines += [f"| {n} | {p} | {c:.1f} | {w:.1f} |" for n, p, c, w in rows]
    write_markdown(lines, args.out)


if __name__ == "__main__":
    main()
