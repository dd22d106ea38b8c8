"""Benchmark: generated numba residual kernels vs what a user would pick instead.

On one Kerr-derived expression (the radial geodesic acceleration -Gamma^r_ab u^a u^b in Boyer-Lindquist
coordinates, built by SymPy from the metric) and a 10^6-point input, in one run, medians of repeated runs:
- nnqg kernel (CSE'd, fused loop, @njit), serial and parallel=True;
- sympy.lambdify(..., "numpy", cse=True) and cse=False;
- symengine.Lambdify(..., backend="llvm", cse=True) (if symengine is installed), evaluated on the same arrays.

    python bench/bench_kernels.py [--points 1000000] [--repeat 7] [--out bench/results/kernels.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sympy as sp


def kerr_radial_acceleration() -> tuple[sp.Expr, list[sp.Symbol], list[sp.Symbol]]:
    t, r, th, ph = sp.symbols("t r theta phi", real=True)
    M, a = sp.symbols("M a", real=True)
    ut, ur, uth, uph = sp.symbols("u_t u_r u_theta u_phi", real=True)
    Sigma = r**2 + a**2 * sp.cos(th) ** 2
    Delta = r**2 - 2 * M * r + a**2
    g = sp.zeros(4, 4)
    g[0, 0] = -(1 - 2 * M * r / Sigma)
    g[0, 3] = g[3, 0] = -2 * M * a * r * sp.sin(th) ** 2 / Sigma
    g[1, 1] = Sigma / Delta
    g[2, 2] = Sigma
    g[3, 3] = (r**2 + a**2 + 2 * M * a**2 * r * sp.sin(th) ** 2 / Sigma) * sp.sin(th) ** 2
    x = [t, r, th, ph]
    u = [ut, ur, uth, uph]
    # Gamma^r_ab u^a u^b with g^rr = Delta/Sigma (g_r. is diagonal)
    s = 0
    for A in range(4):
        for B in range(4):
            s += (sp.diff(g[1, B], x[A]) + sp.diff(g[1, A], x[B]) - sp.diff(g[A, B], r)) * u[A] * u[B]
    expr = -Delta / (2 * Sigma) * s
    return expr, [r, th, ut, ur, uth, uph], [M, a]


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up (JIT, caches)
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("NNQG_CACHE_DIR", tempfile.mkdtemp(prefix="nnqg-bench-"))
    from nnqg.numerics import compile_residual

    expr, fields, params = kerr_radial_acceleration()
    ops = int(sp.count_ops(expr))
    rng = np.random.default_rng(0)
    n = args.points
    data = {
        "r": rng.uniform(3, 20, n), "theta": rng.uniform(0.2, 2.9, n), "u_t": rng.uniform(1, 2, n),
        "u_r": rng.uniform(-1, 1, n), "u_theta": rng.uniform(-0.1, 0.1, n), "u_phi": rng.uniform(-0.1, 0.1, n),
    }
    pv = {"M": 1.0, "a": 0.7}
    arrays = [data[s.name] for s in fields]
    ks = compile_residual([("acc", expr)], fields=fields, parameters=params, name="bench_kerr")
    kp = compile_residual([("acc", expr)], fields=fields, parameters=params, name="bench_kerr_par", parallel=True)
    out = np.empty((1, n))
    res: dict[str, float] = {}
    res["nnqg numba kernel (serial)"] = median_time(lambda: ks(out=out, **data, **pv), args.repeat)
    res["nnqg numba kernel (parallel=True)"] = median_time(lambda: kp(out=out, **data, **pv), args.repeat)
    ref = ks(**data, **pv)[0]
    f_cse = sp.lambdify(fields + params, expr, "numpy", cse=True)
    f_plain = sp.lambdify(fields + params, expr, "numpy")
    res["sympy.lambdify numpy cse=True"] = median_time(lambda: f_cse(*arrays, pv["M"], pv["a"]), args.repeat)
    res["sympy.lambdify numpy (no cse)"] = median_time(lambda: f_plain(*arrays, pv["M"], pv["a"]), args.repeat)
    assert np.allclose(f_cse(*arrays, pv["M"], pv["a"]), ref, rtol=1e-10, atol=1e-12)
    try:
        import symengine as se

        f_se = se.Lambdify(fields + params, [expr], backend="llvm", cse=True)
        stacked = np.column_stack(arrays + [np.full(n, pv["M"]), np.full(n, pv["a"])])
        res["symengine Lambdify llvm cse=True"] = median_time(lambda: f_se(stacked), args.repeat)
        assert np.allclose(np.ravel(f_se(stacked)), ref, rtol=1e-10, atol=1e-12)
    except ImportError:
        print("symengine not installed: skipped (pip install symengine)", file=sys.stderr)
    base = res["sympy.lambdify numpy cse=True"]
    lines = [
        "## Residual kernels vs lambdify and symengine-LLVM",
        "",
        f"Command: `python bench/bench_kernels.py --points {n} --repeat {args.repeat}`",
        f"Expression: Kerr radial geodesic acceleration, {ops} operations (sympy count_ops); {n} points; "
        f"median of {args.repeat} runs after a warm-up; {os.cpu_count()} cores; Python {platform.python_version()}.",
        "",
        "| method | median time [ms] | speed-up vs lambdify cse=True |",
        "|---|---:|---:|",
    ]
    for k, v in res.items():
        lines.append(f"| {k} | {1e3 * v:.1f} | {base / v:.1f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
