"""The SDE integrator with and without its per-trajectory stiff-step substeps (numerics/_nelson.py, simulate).

Per state: the closed-form free packet and coherent state of the default inputs, and two Morse states found by
``--explore`` (docs/madelung.md): the Morse-box state (the NONFINITE finding) and the hamilton_jacobi Morse-wall
state. Each is simulated from t = 0 to 1.2 (N trajectories, the state's own SDE step, one snapshot at the end) with
the substeps (the default) and with the plain scheme (a stability bound no step exceeds), alternately, ``--repeat``
times each; printed: the medians side by side, their ratio, and the integrator's counts (trajectory-steps
substepped, the most substeps of one step, trajectories that left the box). The seed is the same for both, so a
state without stiff steps gives the same trajectories both ways (checked).

    python bench/bench_nelson_substeps.py --repeat 5 --n 40000 --out bench/results/nelson_substeps.md
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from _markdown import write_markdown
from nnqg.numerics import _nelson
from nnqg.numerics._nelson_states import drift_table
from nnqg.verify._explore_inputs import Draw, draw_overrides
from nnqg.verify._explore_specs import SPECS
from nnqg.verify._registry import get_claim
from nnqg.verify.claims import _nelson_calibration as cal

STATES = {
    "Morse box (gamma 4.1, c 1.15, s0 0.55; V = (1 - exp(-(q - 1)))^2)":
        (Draw(params=(("gamma_value", 4.1), ("c_value", 1.15), ("user_state.s0", 0.55)),
              potential="(1 - exp(-(q - 1)))**2"), 0.005),
    "Morse wall (c 1.15, q0 -0.75; V = 3.25 (1 - exp(-q))^2)":
        (Draw(params=(("c_value", 1.15), ("user_state.q0", -0.75)), potential="3.25*(1 - exp(-q))**2"), 0.005),
}


def _cases(h_default: float):
    claim = get_claim("madelung.hamilton_jacobi")
    base = claim.default_inputs()
    u = cal.units(base)
    for case in cal.nelson_states(u, base, 1.3, h_default):
        yield case.table.name + " (default inputs)", base, case.table, h_default
    for name, (draw, h) in STATES.items():
        inputs = {**base, **draw_overrides(claim, SPECS[claim.id], draw)}
        case = cal.nelson_states(cal.units(inputs), inputs, 1.3, h)[0]
        yield name, inputs, case.table, h


def _run(table, inputs, h: float, n: int, bound: float, seed: int) -> tuple[float, np.ndarray, dict]:
    saved = _nelson.STABILITY_BOUND
    _nelson.STABILITY_BOUND = bound
    try:
        rng = np.random.default_rng(seed)
        nu = float(inputs["noise_rule"](table.hbar, table.m))
        stats: dict = {}
        q0 = table.sample0(rng, n)
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            out = _nelson.simulate(q0, drift_table(table, inputs["drift_rule"]), nu, h, [int(round(1.2 / h))], rng,
                                   walls=not table.spec.get("closed_form"), stats=stats)
        return time.perf_counter() - t0, out, stats
    finally:
        _nelson.STABILITY_BOUND = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=40000)
    ap.add_argument("--h", type=float, default=cal.QUICK.h, help="SDE step of the closed-form states")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="bench/results/nelson_substeps.md")
    a = ap.parse_args()
    rows = ["| state | h | N | plain median s | substeps median s | ratio | trajectory-steps substepped | "
            "max substeps | left the box: plain / substeps |", "|---|---|---|---|---|---|---|---|---|"]
    for name, inputs, table, h in _cases(a.h):
        _run(table, inputs, h, 1000, 1.0, a.seed)  # compile / load the kernels outside the timing
        plain, sub = [], []
        for _ in range(a.repeat):
            t, qp, sp_ = _run(table, inputs, h, a.n, math.inf, a.seed)
            plain.append(t)
            t, qs, ss = _run(table, inputs, h, a.n, 1.0, a.seed)
            sub.append(t)
        if ss["stiff_steps"] == 0 and not np.array_equal(qp, qs):
            raise SystemExit(f"{name}: no stiff step, yet the trajectories differ")
        mp, ms = statistics.median(plain), statistics.median(sub)
        rows.append(f"| {name} | {h:g} | {a.n} | {mp:.3f} | {ms:.3f} | {ms / mp:.2f} | {ss['stiff_steps']} of "
                    f"{a.n * int(round(1.2 / h))} | {ss['max_substeps']} | {sp_['left_box']} / {ss['left_box']} |")
    write_markdown([f"`python bench/bench_nelson_substeps.py --repeat {a.repeat} --n {a.n}` (t = 0..1.2, medians "
                    f"of {a.repeat}, plain and substeps alternated in one process)", "", *rows], a.out)


if __name__ == "__main__":
    main()
