"""Benchmark: the cost of one ``--explore`` example per claim, beside the claim's default run.

For each claim: the default inputs are evaluated twice (the first run pays for derivations, kernel generation and
JIT compilation; the second is the baseline: what one `nnqg verify --quick --no-learning` row costs warm), then
K inputs are drawn from the claim's strategies with the given seed and each is evaluated exactly as
``--explore`` evaluates it (:func:`nnqg.verify._explore.evaluate`), without shrinking. CPU time
(``time.process_time``: the machine is shared, wall time measures the other processes too) and wall time, medians
over the drawn examples; "examples/s" is 1 / median CPU seconds. The projection for ``--explore N`` is
sum over claims of (first drawn + (N - 1) x median) CPU seconds, with no failure to shrink.

    python bench/bench_explore.py [--examples 5] [--seed 1] [--claims GLOB] [--out bench/results/explore.md]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample


def main() -> None:
    from nnqg.verify._explore import evaluate
    from nnqg.verify._explore_specs import draws, not_explored_reason, spec_for
    from nnqg.verify._model import NumericContext
    from nnqg.verify._registry import select_claims
    from nnqg.verify._runner import run_claim

    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--claims", default=None)
    ap.add_argument("--project", type=int, default=50, help="N of the projected --explore N total")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    total = 0.0
    for c in select_claims(a.claims):
        if not_explored_reason(c):
            rows.append(f"| {c.id} | - | - | - | - | - | - | not explored |")
            continue
        spec = spec_for(c)
        base = []
        for _ in range(2):
            t0 = time.process_time()
            run_claim(c, NumericContext(seed=a.seed, quick=True), None, learning=False)
            base.append(time.process_time() - t0)
        cpu, wall, kinds = [], [], []

        def condition(draw) -> bool:
            t0, w0 = time.process_time(), time.perf_counter()
            out = evaluate(c, spec, draw, a.seed)
            cpu.append(time.process_time() - t0)
            wall.append(time.perf_counter() - w0)
            kinds.append(out.kind)
            return False

        cfg = settings(max_examples=a.examples, database=None, deadline=None, phases=(Phase.generate,),
                       suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
        try:
            find(draws(c, spec), condition, settings=cfg, random=random.Random(a.seed))
        except NoSuchExample:
            pass
        med = statistics.median(cpu[1:]) if len(cpu) > 1 else cpu[0]
        proj = cpu[0] + (a.project - 1) * med
        total += proj
        outcomes = ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
        rows.append(f"| {c.id} | {base[0]:.2f} | {base[1]:.2f} | {cpu[0]:.2f} | {med:.2f} | "
                    f"{statistics.median(wall):.2f} | {1 / med if med > 0 else float('inf'):.2f} | {proj:.0f} | "
                    f"{outcomes} |")
        print(rows[-1], flush=True)
    head = ["| claim | default, first (CPU s) | default, warm (CPU s) | first drawn (CPU s) | drawn median (CPU s) "
            "| drawn median (wall s) | examples/s (CPU) | projected CPU s at N = %d | outcomes |" % a.project,
            "|---|---|---|---|---|---|---|---|---|"]
    text = "\n".join(head + rows) + f"\n\nprojected total for --explore {a.project}: {total:.0f} CPU s " \
                                    f"({total / 60:.1f} min), no failure to shrink\n"
    print(text)
    if a.out:
        a.out.write_text(f"`python bench/bench_explore.py --examples {a.examples} --seed {a.seed}`\n\n" + text)


if __name__ == "__main__":
    main()
