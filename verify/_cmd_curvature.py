"""``nnqg curvature METRIC.toml [--check ricci_flat|einstein_lambda|einstein] [--latex]``.

Computes Christoffel symbols, Ricci tensor and scalar and the Einstein tensor of a user's metric exactly and
checks the named equation. Exit 0: it holds; 1: it does not (the non-zero components are printed with a
witness value at a random rational point); 2: bad input (a message naming the file and key).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import sympy as sp

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _FORMAT, _epilog

    p = subparsers.add_parser(
        "curvature", help="curvature of a metric from a TOML file; check a field equation", formatter_class=_FORMAT,
        description="Exact curvature (Christoffel symbols, Ricci, Einstein tensor) of a metric given in a TOML "
                    "file; with --check, whether it solves a field equation exactly.",
        epilog=_epilog("nnqg curvature examples/metrics/schwarzschild.toml --check ricci_flat",
                       "nnqg curvature examples/metrics/reissner_nordstrom.toml --check einstein --latex",
                       codes="exit codes:\n  0  computed (and the checked equation holds)\n  1  the checked "
                             "equation does not hold\n  2  a usage or input error (a bad metric file names its "
                             "entry)"))
    p.add_argument("metric_file", metavar="METRIC.toml")
    p.add_argument("--check", choices=("ricci_flat", "einstein_lambda", "einstein"), default=None,
                   help="ricci_flat: R_ab = 0; einstein_lambda: G_ab + Lambda g_ab = 0; einstein: "
                        "G_ab + Lambda g_ab = 8 pi T_ab with [stress_energy]")
    p.add_argument("--latex", action="store_true", help="print the tensors as LaTeX")
    p.add_argument("--seed", type=int, default=0, help="seed of the witness points (default: 0)")


def _show(e: sp.Expr, latex: bool) -> str:
    return sp.latex(e) if latex else str(e)


def run(args: argparse.Namespace) -> int:
    from nnqg.derivations._curvature import check, christoffel, factored, to_user
    from nnqg.derivations._metric_file import load_metric

    spec = load_metric(args.metric_file)
    m = spec.metric
    equation = args.check or "ricci_flat"
    res = check(m, equation, Lambda=spec.Lambda, stress_energy=spec.stress_energy, seed=args.seed)
    cv = res.curvature
    prep = cv.prepared
    A = prep.algebra
    out = sys.stdout
    out.write(f"metric: {m.name}  coordinates: {', '.join(c.name for c in m.coords)}\n")
    out.write(f"representation: {res.path}\n")
    out.write("Christoffel symbols Gamma^a_bc (non-zero):\n")
    n = m.dim
    G = christoffel(m)  # in the user's coordinates (sin, cos as generators; the symbols are not a tensor)
    for a in range(n):
        for b in range(n):
            for c in range(b, n):
                if G[a][b][c] != 0:
                    out.write(f"  Gamma^{m.coords[a]}_{m.coords[b]}{m.coords[c]} = {_show(G[a][b][c], args.latex)}\n")

    def symmetric(title: str, name: str, T: Any) -> None:
        """The non-zero components a <= b of a symmetric tensor, in the user's coordinates."""
        out.write(f"{title} {name}_ab (non-zero):\n")
        for a in range(n):
            for b in range(a, n):
                if not A.is_zero(T[a][b]):
                    shown = _show(to_user(prep, a, b, T[a][b]), args.latex)
                    out.write(f"  {name}_{m.coords[a]}{m.coords[b]} = {shown}\n")

    symmetric("Ricci tensor", "R", cv.ricci)
    R = factored(prep, cv.scalar)
    for ch in prep.charts:
        R = R.xreplace({ch.new: ch.back()})
    out.write(f"Ricci scalar R = {_show(R, args.latex)}\n")
    symmetric("Einstein tensor", "G", cv.einstein)
    if args.check is None:
        out.write(f"(no --check given; {res.describe().splitlines()[0]})\n")
        return EXIT_OK
    out.write(res.describe() + "\n")
    return EXIT_OK if res.holds else EXIT_FAIL
