"""Benchmark: the nnqg curvature engine against plain SymPy (`cancel` per component) and EinsteinPy 0.5.

Usage (EinsteinPy lives in a separate venv, not a project dependency):

    python bench/bench_curvature.py --repeats 5 --cap 120 --einsteinpy-python /tmp/bench-venv/bin/python

Each engine timing is the median of ``--repeats`` runs after imports (prepare + compute + zero test). The plain
SymPy path (the engine's expression-level fallback) and EinsteinPy (per-component `simplify`, as in its docs)
run in a subprocess with a wall-clock cap and are reported as "> cap" when they do not finish.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time

import sympy as sp

from nnqg.derivations import _metrics as mm
from nnqg.derivations._curvature import check

CASES = {
    "Schwarzschild (R = 0)": lambda: mm.schwarzschild(),
    "Schwarzschild-de Sitter (G + Lambda g = 0)": lambda: mm.schwarzschild_de_sitter(),
    "de Sitter (G + Lambda g = 0)": lambda: mm.de_sitter(),
    "FLRW, H^2 = Lambda/3 (G + Lambda g = 0)": lambda: mm.flrw_de_sitter(),
    "Reissner-Nordstrom (G = 8 pi T)": lambda: mm.reissner_nordstrom(),
    "Kerr (R = 0)": lambda: mm.kerr(),
    "Kerr, 3Mr in Delta (R != 0, 5 components)": lambda: mm.kerr(3),
    "Kerr-de Sitter (G + Lambda g = 0)": lambda: mm.kerr_de_sitter(),
}
EINSTEINPY_CASES = ("Schwarzschild-de Sitter (G + Lambda g = 0)", "Kerr (R = 0)")

_EPY = textwrap.dedent('''
    import sys, time, json
    import sympy as sp
    from einsteinpy.symbolic import MetricTensor, RicciTensor, EinsteinTensor
    which = sys.argv[1]
    t, r, th, ph = sp.symbols("t r theta phi")
    M, a, L = sp.symbols("M a Lambda")
    t0 = time.perf_counter()
    if which == "sds":
        f = 1 - 2*M/r - L*r**2/3
        g = sp.diag(-f, 1/f, r**2, r**2*sp.sin(th)**2).tolist()
        m = MetricTensor(g, (t, r, th, ph))
        G = EinsteinTensor.from_metric(m)
        arr = G.tensor() + L*sp.Array(g)
    else:
        rho2 = r**2 + a**2*sp.cos(th)**2
        g = sp.zeros(4)
        g[0, 0] = -(1 - 2*M*r/rho2)
        g[0, 3] = g[3, 0] = -2*M*a*r*sp.sin(th)**2/rho2
        g[1, 1] = rho2/(r**2 - 2*M*r + a**2)
        g[2, 2] = rho2
        g[3, 3] = (r**2 + a**2 + 2*M*a**2*r*sp.sin(th)**2/rho2)*sp.sin(th)**2
        m = MetricTensor(g.tolist(), (t, r, th, ph))
        arr = RicciTensor.from_metric(m).tensor()
    ok = all(sp.simplify(arr[i, j]) == 0 for i in range(4) for j in range(4))
    print(json.dumps({"seconds": time.perf_counter() - t0, "holds": ok}))
''')

_PLAIN = textwrap.dedent('''
    import sys, time, json
    from nnqg.derivations import _metrics as mm
    from nnqg.derivations._curvature import check
    from bench_curvature import CASES
    s = CASES[sys.argv[1]]()
    t0 = time.perf_counter()
    res = check(s.metric, s.equation, Lambda=s.Lambda, stress_energy=s.stress_energy, force_expression=True)
    print(json.dumps({"seconds": time.perf_counter() - t0, "holds": res.holds}))
''')


def _capped(cmd: list[str], cap: float, cwd: str | None = None) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=cap, cwd=cwd)
    except subprocess.TimeoutExpired:
        return f"> {cap:g} s (cap)"
    if out.returncode != 0:
        return "error: " + (out.stderr.strip().splitlines() or ["?"])[-1][:80]
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return f"{d['seconds']:.3g} s ({'holds' if d['holds'] else 'does not hold'})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--plain-cap", type=float, default=60.0)
    ap.add_argument("--einsteinpy-python", default=None)
    args = ap.parse_args()
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for name, make in CASES.items():
        s = make()
        check(s.metric, s.equation, Lambda=s.Lambda, stress_energy=s.stress_energy)  # warm-up (first-call caches)
        times, cpu, holds, path = [], [], None, ""
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            res = check(s.metric, s.equation, Lambda=s.Lambda, stress_energy=s.stress_energy)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            holds, path = res.holds, res.path
        plain = _capped([sys.executable, "-c", _PLAIN, name], args.plain_cap, cwd=here)
        epy = "-"
        if args.einsteinpy_python and name in EINSTEINPY_CASES:
            with open(os.path.join(here, "_epy_case.py"), "w") as fh:
                fh.write(_EPY)
            epy = _capped([args.einsteinpy_python, os.path.join(here, "_epy_case.py"),
                           "sds" if "Sitter" in name else "kerr"], args.cap)
            os.unlink(os.path.join(here, "_epy_case.py"))
        rows.append((name, statistics.median(times), min(times), statistics.median(cpu), holds, plain, epy, path))
        print(f"{name}: {statistics.median(times):.4f} s wall, {statistics.median(cpu):.4f} s CPU (holds={holds}); "
              f"plain SymPy {plain}; EinsteinPy {epy}", flush=True)
    print()
    print("| metric / equation | nnqg engine: wall median (min) | CPU median | verdict | plain SymPy cancel "
          "| EinsteinPy 0.5 simplify | representation |")
    print("|---|---|---|---|---|---|---|")
    for name, med, mn, cpu_med, holds, plain, epy, path in rows:
        print(f"| {name} | {med * 1000:.1f} ms ({mn * 1000:.1f} ms) | {cpu_med * 1000:.1f} ms | "
              f"{'holds' if holds else 'does not hold'} | {plain} | {epy} | {path} |")


if __name__ == "__main__":
    main()
