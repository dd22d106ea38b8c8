"""Measure the snapshot-lag bias of the Madelung calibration's lag-dependent residuals (continuity, noise level).

For a user potential (the numerical Crank-Nicolson state of the calibration), R independent ensembles of n
trajectories each (a stream of their own, not the calibration's) are evaluated at the full profile's evaluation
times with the lags given, on the same trajectories for every lag. Printed per component and lag: the mean over
the R ensembles with its standard error from their spread (the bias at N = R n), the mean jackknife SE of one
ensemble next to the spread's SD (is the jackknife SE right?), and the z of the combined mean.

    python bench/madelung_lag_bias.py --potential 'q**2' --replicates 16 --n 64000 --lags 0.2 0.1 0.05
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import sympy as sp

from nnqg.derivations import parse_formula
from nnqg.derivations._madelung import MadelungSymbols
from nnqg.numerics._nelson import jackknife_covariance
from nnqg.verify._model import NumericContext
from nnqg.verify.claims import _nelson_calibration as cal
from nnqg.verify.claims.madelung import default_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="q**2")
    ap.add_argument("--replicates", type=int, default=16)
    ap.add_argument("--n", type=int, default=64000)
    ap.add_argument("--lags", type=float, nargs="+", default=[0.2, 0.1, 0.05])
    ap.add_argument("--times", type=float, nargs="+", default=list(cal.FULL.times))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    q = sp.Symbol("q", real=True)
    V = parse_formula(a.potential, {"q": q}, what="--potential")
    inputs = default_inputs()
    inputs["potential"] = lambda qs: V.subs(q, qs[0])
    prof = cal.FULL
    u = cal.units(inputs)
    t_end = max(a.times) + cal.OFFSET * max(a.lags) + prof.h
    case = cal.nelson_states(u, inputs, t_end + prof.h, prof.h)[0]
    s = MadelungSymbols.make(1)
    ker = inputs["kernel_factory"](inputs["kinetic_coefficient"](s), inputs["fisher_coefficient"](s), case.potential,
                                   prof.test_functions)
    ctx = NumericContext(seed=a.seed)
    offsets = range(-cal.OFFSET, cal.OFFSET + 1)
    steps = sorted({st for L in a.lags for st in cal._snapshot_steps(a.times, L, prof.h, offsets)})
    rows: dict[tuple[float, float, str], list[tuple[float, float]]] = {}
    t0 = time.time()
    for rep in range(a.replicates):
        snaps = cal._simulate(ctx, inputs, case, 0, (0xB1A5, rep), a.n, steps, prof.h)
        for t in a.times:
            n0 = int(round(t / prof.h))
            for L in a.lags:
                sub = int(round(L / prof.h))
                est, labels = cal._time_estimator([snaps[n0 + o * sub] for o in offsets], t, L, case, ker, u,
                                                  prof.groups, "continuity", inputs, lag_dependent_only=True)
                r, cov = jackknife_covariance(lambda g: est(g)[:len(labels)], prof.groups)
                for lab, x, e in zip(labels, r, np.sqrt(np.diag(cov))):
                    rows.setdefault((t, L, lab), []).append((float(x), float(e)))
        cal._SIMULATIONS.clear()
        print(f"replicate {rep + 1}/{a.replicates} done, {time.time() - t0:.0f} s", flush=True)
    out = []
    print(f"V = {V}, {a.replicates} x {a.n} trajectories, seed {a.seed}")
    print(f"{'t':>4} {'lag':>5} {'component':<13} {'mean':>9} {'SE(mean)':>9} {'z':>6} {'SD reps':>8} "
          f"{'jack SE':>8} {'max|z| rep':>10}")
    for (t, L, lab), v in sorted(rows.items(), key=lambda kv: (kv[0][2], kv[0][0], -kv[0][1])):
        x = np.array([p[0] for p in v])
        e = np.array([p[1] for p in v])
        m, sd = float(x.mean()), float(x.std(ddof=1))
        se = sd / math.sqrt(len(x))
        zrep = float(np.max(np.abs(x / e)))
        out.append({"t": t, "lag": L, "component": lab, "mean": m, "se_mean": se, "sd_replicates": sd,
                    "mean_jackknife_se": float(e.mean()), "max_abs_z_replicate": zrep, "values": x.tolist()})
        print(f"{t:4g} {L:5g} {lab:<13} {m:+9.4f} {se:9.4f} {m / se:+6.2f} {sd:8.4f} {e.mean():8.4f} {zrep:10.2f}")
    # calibration of the jackknife SE: (x_i - mean) / jackknife SE_i pooled over replicates, per lag (1 for a right
    # SE and Gaussian residuals; t_{G-1} scatter makes it (G-1)/(G-3))
    for L in a.lags:
        zz = np.concatenate([(np.array([p[0] for p in v]) - np.mean([p[0] for p in v])) / np.array([p[1] for p in v])
                             for (t, LL, lab), v in rows.items() if LL == L])
        corr = math.sqrt(a.replicates / (a.replicates - 1))
        print(f"lag {L:g}: pooled var of centred z = {np.mean((zz * corr) ** 2):.3f} over {zz.size} values "
              f"(expected {(prof.groups - 1) / (prof.groups - 3):.3f}); |z| > 4: {int(np.sum(np.abs(zz * corr) > 4))}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"potential": a.potential, "replicates": a.replicates, "n": a.n, "seed": a.seed,
                       "rows": out}, f, indent=1)


if __name__ == "__main__":
    main()
