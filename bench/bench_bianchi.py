"""Benchmark: the cost of the Bianchi second opinion, side by side with the engine alone in one run.

Per generic metric family of ``einstein.bianchi``: process CPU seconds of the engine's exact divergence alone
(``prepare``, ``compute``, ``einstein_divergence``: the claim's path before the second opinion) and of
``bianchi_check`` (the same plus the second opinion at 3 points), medians of ``--repeat`` runs, alternated.
Then the whole command ``nnqg verify --claims einstein.bianchi --no-learning`` (a fresh NNQG_CACHE_DIR each run,
start-up included): user + system CPU seconds of the child process; with ``--baseline-python PY`` the same command
under another interpreter whose ``nnqg`` is a checkout without the second opinion, runs alternated.

    python bench/bench_bianchi.py [--repeat 3] [--baseline-python PY] [--out bench/results/bianchi.md]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from _markdown import write_markdown  # bench/ is on sys.path when a script runs


def cli_cpu(python: str) -> float:
    """User + system CPU seconds of one `nnqg verify --claims einstein.bianchi --no-learning` child process."""
    with tempfile.TemporaryDirectory() as cache:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([python, "-c", "import sys; from nnqg.verify._cli import main; sys.exit(main())",
                            "verify", "--claims", "einstein.bianchi", "--no-learning"],
                           env=dict(os.environ, NNQG_CACHE_DIR=cache), capture_output=True, text=True,
                           cwd=tempfile.gettempdir())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{python}: exit {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-python", default=None)
    ap.add_argument("--out", default="bench/results/bianchi.md")
    args = ap.parse_args()

    from nnqg.derivations._curvature import bianchi_check, compute, einstein_divergence, prepare
    from nnqg.verify.claims.einstein import bianchi_inputs

    rows = []
    for m in bianchi_inputs()["metrics"]:
        engine, both, referee = [], [], []
        for _ in range(args.repeat):
            c0 = time.process_time()
            einstein_divergence(compute(prepare(m)))
            engine.append(time.process_time() - c0)
            c0 = time.process_time()
            res = bianchi_check(m)
            both.append(time.process_time() - c0)
            referee.append(res.second_opinion.cpu_seconds)
        rows.append((m.name, statistics.median(engine), statistics.median(both), statistics.median(referee)))
    cli: dict[str, list[float]] = {"this tree": []}
    if args.baseline_python:
        cli["baseline"] = []
    for _ in range(args.repeat):
        cli["this tree"].append(cli_cpu(sys.executable))
        if args.baseline_python:
            cli["baseline"].append(cli_cpu(args.baseline_python))
    lines = [f"Command: `python bench/bench_bianchi.py --repeat {args.repeat}"
             + (" --baseline-python PY" if args.baseline_python else "") + "`  ",
             f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores; above ~1 means "
             f"other jobs were running).", "",
             "| metric family | engine alone [CPU s] | engine + second opinion [CPU s] | second opinion [CPU s] |",
             "|---|---:|---:|---:|"]
    lines += [f"| {n} | {e:.3f} | {b:.3f} | {r:.3f} |" for n, e, b, r in rows]
    lines += ["", "| `nnqg verify --claims einstein.bianchi --no-learning` | median CPU s (user + sys) | runs |",
              "|---|---:|---|"]
    lines += [f"| {k} | {statistics.median(v):.2f} | {', '.join(f'{x:.2f}' for x in v)} |" for k, v in cli.items()]
    write_markdown(lines, args.out)


if __name__ == "__main__":
    main()
