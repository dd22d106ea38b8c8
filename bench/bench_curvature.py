"""Benchmark: the exact-solution catalogue (examples/metrics/*.toml) through the nnqg curvature engine and its
second opinion, timed separately, side by side with EinsteinPy 0.5 in the same run.

Usage (EinsteinPy lives in its own venv, not a project dependency):

    python -m venv /work/venvs/einsteinpy && /work/venvs/einsteinpy/bin/pip install "einsteinpy==0.5.*"
    python bench/bench_curvature.py --repeats 5 --cap 60 --einsteinpy-python /work/venvs/einsteinpy/bin/python

Per metric, the check its [expect] table names (R_ab = 0, G_ab + Lambda g_ab = 0 or = 8 pi T_ab):

* engine: ``check(..., second_opinion=False).cpu_seconds`` (process CPU time; ``.seconds`` is the wall-clock
  figure, also reported) -- prepare (charts, generators, conversion to flint) + Christoffel + Ricci (+ Einstein,
  Maxwell stress) + the exact zero test; median and min of ``--repeats`` runs after one warm-up. (Writing
  non-zero components in the user's coordinates for display is not included.)
* second opinion: ``CheckResult.second_opinion.cpu_seconds`` of ``check(...)`` -- the independent evaluation at 3
  random points ("holds") or the recomputation of every witness ("does not hold"); median of the same runs.
  CPU time is the figure that other processes on a shared machine disturb least.
* EinsteinPy 0.5: ``RicciTensor.from_metric`` / ``EinsteinTensor.from_metric`` on the same SymPy metric, then
  ``sympy.simplify`` per component of the residual (T_ab, Lambda as nnqg uses them; the Maxwell stress tensor of a
  [maxwell] file as nnqg computes it), one run in a subprocess with a wall-clock cap; "agree" compares the two
  verdicts (EinsteinPy "holds" when every simplified component is 0).

The metric is sent to the EinsteinPy process as ``sympy.srepr`` strings of the catalogue's own (trusted) files
and rebuilt there with ``sympy.sympify``; no user input is involved.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import sympy as sp

from nnqg.derivations._curv_display import to_user
from nnqg.derivations._curvature import check
from nnqg.derivations._metric_file import load_metric

ROOT = Path(__file__).resolve().parents[1]

_EPY = textwrap.dedent('''
    import json, sys, time
    import sympy as sp
    from einsteinpy.symbolic import EinsteinTensor, MetricTensor, RicciTensor
    d = json.load(open(sys.argv[1]))
    coords = [sp.sympify(c) for c in d["coords"]]
    n = len(coords)
    g = [[sp.sympify(d["g"][i][j]) for j in range(n)] for i in range(n)]
    t0 = time.perf_counter()
    m = MetricTensor(g, coords, "ll")
    if d["equation"] == "ricci_flat":
        arr = RicciTensor.from_metric(m).tensor()
        res = [[arr[i, j] for j in range(n)] for i in range(n)]
    else:
        arr = EinsteinTensor.from_metric(m).tensor()
        lam = sp.sympify(d["Lambda"]) if d["Lambda"] else 0
        T = [[sp.sympify(x) for x in row] for row in d["T"]] if d["T"] else [[0] * n for _ in range(n)]
        res = [[arr[i, j] + lam * g[i][j] - 8 * sp.pi * T[i][j] for j in range(n)] for i in range(n)]
    ok = all(sp.simplify(res[i][j]) == 0 for i in range(n) for j in range(i, n))
    print(json.dumps({"seconds": time.perf_counter() - t0, "holds": ok}))
''')


def _einsteinpy(python: str, spec, equation: str, T, cap: float) -> tuple[str, bool | None]:
    m = spec.metric
    n = m.dim
    data = {"coords": [sp.srepr(c) for c in m.coords],
            "g": [[sp.srepr(m.g[i, j]) for j in range(n)] for i in range(n)], "equation": equation,
            "Lambda": sp.srepr(spec.Lambda) if spec.Lambda is not None and equation != "ricci_flat" else None,
            "T": [[sp.srepr(T[i][j]) for j in range(n)] for i in range(n)] if T is not None else None}
    with tempfile.TemporaryDirectory() as d:
        script, inp = Path(d) / "epy_case.py", Path(d) / "case.json"
        script.write_text(_EPY)
        inp.write_text(json.dumps(data))
        try:
            out = subprocess.run([python, str(script), str(inp)], capture_output=True, text=True, timeout=cap)
        except subprocess.TimeoutExpired:
            return f"> {cap:g} s (cap)", None
    if out.returncode != 0:
        return "error: " + (out.stderr.strip().splitlines() or ["?"])[-1][:70], None
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return f"{r['seconds']:.3g} s ({'holds' if r['holds'] else 'does not hold'})", bool(r["holds"])


def _stress(spec, equation: str, res):
    """T_ab as nnqg uses it, in the user's coordinates ([stress_energy] plus the Maxwell stress tensor)."""
    if equation != "einstein":
        return None
    prep = res.curvature.prepared
    n = spec.metric.dim
    return [[to_user(prep, a, b, prep.tensors[0][a][b]) for b in range(n)] for a in range(n)]


def _ms(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cap", type=float, default=60.0, help="wall-clock cap of one EinsteinPy run (s)")
    ap.add_argument("--einsteinpy-python", default=None)
    ap.add_argument("--only", default=None, help="comma-separated file stems")
    args = ap.parse_args()
    files = sorted((ROOT / "examples" / "metrics").glob("*.toml"))
    if args.only:
        keep = set(args.only.split(","))
        files = [f for f in files if f.stem in keep]
    rows = []
    t_start = time.perf_counter()
    for f in files:
        spec = load_metric(f)
        eq = spec.expect.check or "ricci_flat"
        kw = dict(Lambda=spec.Lambda, stress_energy=spec.stress_energy, potential=spec.potential)
        res = check(spec.metric, eq, **kw)  # warm-up, and the verdict with its second opinion
        eng, so, eng_wall, so_wall = [], [], [], []
        for _ in range(args.repeats):
            e = check(spec.metric, eq, second_opinion=False, **kw)
            o = check(spec.metric, eq, **kw).second_opinion
            eng.append(e.cpu_seconds)
            eng_wall.append(e.seconds)
            so.append(o.cpu_seconds)
            so_wall.append(o.seconds)
        epy, agree = "-", ""
        if args.einsteinpy_python:
            epy, held = _einsteinpy(args.einsteinpy_python, spec, eq, _stress(spec, eq, res), args.cap)
            agree = "-" if held is None else ("yes" if held == res.holds else "**NO**")
        row = (f.stem, eq, "holds" if res.holds else "does not hold", statistics.median(eng), min(eng),
               statistics.median(so), epy, agree, statistics.median(eng_wall), statistics.median(so_wall))
        rows.append(row)
        print(f"{f.stem}: engine {_ms(row[3])}, second opinion {_ms(row[5])} "
              f"({row[5] / row[3]:.0%}); EinsteinPy {epy} {agree}", flush=True)
    print(f"\n(total wall time of the benchmark: {time.perf_counter() - t_start:.0f} s)\n")
    print("| metric | check | nnqg verdict | engine CPU median (min) | second opinion CPU median | ratio | "
          "engine / second opinion wall median | EinsteinPy 0.5 simplify (wall) | agree |")
    print("|---|---|---|---|---|---|---|---|---|")
    for stem, eq, verdict, med, mn, so, epy, agree, ew, sw in rows:
        print(f"| {stem} | {eq} | {verdict} | {_ms(med)} ({_ms(mn)}) | {_ms(so)} | {so / med:.0%} | "
              f"{_ms(ew)} / {_ms(sw)} | {epy} | {agree} |")
    worst = max(rows, key=lambda r: r[3])
    print(f"\nslowest engine: {worst[0]} {_ms(worst[3])} CPU; engine total {_ms(sum(r[3] for r in rows))}, "
          f"second opinion total {_ms(sum(r[5] for r in rows))} (CPU)")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
