"""``nnqg curvature METRIC.toml [--check ricci_flat|einstein_lambda|einstein] [--equations] [--latex]``.

Computes Christoffel symbols, Ricci tensor and scalar and the Einstein tensor of a user's metric exactly and
checks a field equation (``--check``, else the file's ``[expect] check``, else ``ricci_flat``); an independent
second opinion confirms the verdict. Exit 0: it holds (and matches the file's ``[expect]``); 1: it does not, or
it differs from ``[expect]`` (the non-zero components are printed with a witness value at a random point);
2: bad input (a message naming the file and key) or the time limit; 3: internal inconsistency (the engine and
the second opinion disagree; no verdict).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import sympy as sp

from nnqg.derivations._budget import DEFAULT_SECONDS as DEFAULT_TIME_LIMIT  # one default, the symbolic budget's

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCONSISTENT = 0, 1, 2, 3
MAX_SHOWN_TERMS = 400


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _FORMAT, _epilog

    p = subparsers.add_parser(
        "curvature", help="curvature of a metric from a TOML file; check a field equation", formatter_class=_FORMAT,
        description="Exact curvature (Christoffel symbols, Ricci, Einstein tensor) of a metric given in a TOML "
                    "file, and whether it solves a field equation exactly (--check, else the file's [expect] "
                    "check, else ricci_flat); every verdict is confirmed by an independent second opinion.",
        epilog=_epilog("nnqg curvature examples/metrics/schwarzschild.toml --check ricci_flat",
                       "nnqg curvature examples/metrics/reissner_nordstrom.toml --check einstein --latex",
                       "nnqg curvature examples/metrics/flrw.toml --equations",
                       codes="exit codes:\n  0  the checked equation holds (and agrees with the file's [expect])\n"
                             "  1  it does not hold, or the result differs from [expect]\n  2  a usage or input "
                             "error (a bad metric file names its entry), or --time-limit reached\n  3  internal "
                             "inconsistency: the engine and the second opinion disagree (no verdict)"))
    p.add_argument("metric_file", metavar="METRIC.toml")
    p.add_argument("--check", choices=("ricci_flat", "einstein_lambda", "einstein"), default=None,
                   help="ricci_flat: R_ab = 0; einstein_lambda: G_ab + Lambda g_ab = 0; einstein: "
                        "G_ab + Lambda g_ab = 8 pi T_ab with [stress_energy] and/or [maxwell] (default: the "
                        "file's [expect] check, else ricci_flat)")
    p.add_argument("--equations", action="store_true",
                   help="print only the field equations (the non-zero residual components = 0, one per "
                        "independent equation) and the verdict")
    p.add_argument("--latex", action="store_true", help="print the tensors as LaTeX")
    p.add_argument("--full", action="store_true",
                   help=f"print every component in full (default: a component whose numerator has more than "
                        f"{MAX_SHOWN_TERMS} terms is summarised)")
    p.add_argument("--seed", type=int, default=0, help="seed of the witness and second-opinion points (default: 0)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help=f"stop with exit 2 after this many seconds of computation (default: NNQG_SYMBOLIC_SECONDS, "
                        f"else {DEFAULT_TIME_LIMIT:g}; 0: no limit)")


def run(args: argparse.Namespace) -> int:
    from nnqg.derivations._budget import budget
    from nnqg.derivations._curvature import InconsistentVerdict
    from nnqg.derivations._errors import InvalidArgument
    from nnqg.derivations._metric_file import load_metric

    if args.time_limit is None:  # the symbolic budget's own default (NNQG_SYMBOLIC_SECONDS)
        limit: dict = {}
    elif args.time_limit >= 0:
        limit = {"seconds": args.time_limit or math.inf, "seconds_from": "--time-limit"}
    else:
        raise InvalidArgument(f"--time-limit {args.time_limit:g}: expected a number of seconds >= 0 (0: no limit)")
    spec = load_metric(args.metric_file)
    equation = args.check or spec.expect.check or "ricci_flat"
    try:
        # --time-limit is the symbolic budget's clock (memory: NNQG_SYMBOLIC_MEMORY_MB): one timer, one message
        with budget(f"metric file {str(args.metric_file)!r}: the exact computation", **limit):
            return _run(args, spec, equation)
    except InconsistentVerdict as exc:
        sys.stdout.flush()
        sys.stderr.write(f"nnqg: {exc}\n")
        return EXIT_INCONSISTENT


def _run(args: argparse.Namespace, spec: Any, equation: str) -> int:
    from nnqg.derivations._curv_display import label, pretty_functions, scalar_to_user, to_user
    from nnqg.derivations._curv_field import FlintField
    from nnqg.derivations._curvature import check, christoffel
    from nnqg.derivations._metric_file import printable

    m = spec.metric
    abbreviations = dict(spec.abbreviations)
    res = check(m, equation, Lambda=spec.Lambda, stress_energy=spec.stress_energy, potential=spec.potential,
                seed=args.seed, abbreviations=abbreviations)
    cv = res.curvature
    prep = cv.prepared
    A = prep.algebra
    n = m.dim
    latex = args.latex
    out = sys.stdout

    def show(e: sp.Expr) -> str:
        e = pretty_functions(e, latex)
        return sp.latex(e) if latex else str(e)

    def component(a: int, b: int, value: Any) -> str:
        """A tensor component in the user's coordinates, or a summary when it is too long to read."""
        if not args.full and isinstance(A, FlintField) and len(value[0]) > MAX_SHOWN_TERMS:
            return (f"<a rational function: numerator of {len(value[0])} terms, denominator of "
                    f"{len(value[1])} terms; --full prints it>")
        return show(to_user(prep, a, b, value, abbrev_vals))

    def lab(kind: str, *idx: int, up: int = 0) -> str:
        return label(kind, m.coords, *idx, latex=latex, up=up)

    out.write(f"metric: {printable(m.name)}  coordinates: {', '.join(c.name for c in m.coords)}\n")
    if spec.functions:
        out.write(f"functions: {', '.join(str(f) for f in spec.functions)}\n")
    if spec.reference:
        out.write(f"reference: {spec.reference}\n")
    out.write(f"representation: {res.path}\n")
    abbrev_vals = _abbreviation_elements(prep, abbreviations, res)
    if not args.equations:
        # in the user's coordinates (sin, cos as generators: the Christoffel symbols are not a tensor)
        G = christoffel(m, abbreviations=abbreviations)
        rows = [(a, b, c) for a in range(n) for b in range(n) for c in range(b, n) if G[a][b][c] != 0]
        if rows:
            out.write("Christoffel symbols Gamma^a_bc (non-zero):\n")
            for a, b, c in rows:
                out.write(f"  {lab('Gamma', a, b, c, up=1)} = {show(G[a][b][c])}\n")

        def symmetric(title: str, name: str, T: Any) -> None:
            """The non-zero components a <= b of a symmetric tensor, in the user's coordinates."""
            comps = [(a, b) for a in range(n) for b in range(a, n) if not A.is_zero(T[a][b])]
            if not comps:
                out.write(f"{title} {name}_ab = 0\n")
                return
            out.write(f"{title} {name}_ab (non-zero):\n")
            for a, b in comps:
                out.write(f"  {lab(name, a, b)} = {component(a, b, T[a][b])}\n")

        symmetric("Ricci tensor", "R", cv.ricci)
        R = cv.scalar
        big = not args.full and isinstance(A, FlintField) and len(R[0]) > MAX_SHOWN_TERMS
        shown = f"<numerator of {len(R[0])} terms; --full prints it>" if big else \
            show(scalar_to_user(prep, R, abbrev_vals))
        out.write(f"Ricci scalar R = {shown}\n")
        symmetric("Einstein tensor", "G", cv.einstein)
    if args.equations or (spec.functions and not res.holds and equation != "ricci_flat"):
        _equations(out, res, m, equation, lab, component)
    if abbreviations:
        out.write("where " + ", ".join(f"{k} = {show(v)}" for k, v in abbreviations.items()) + "\n")
    verdict = res.describe(expressions=False)
    if latex:
        verdict = _latex_verdict(res, lab, show)
    elif args.equations:
        verdict = verdict.splitlines()[0]
    elif args.check is None and not spec.expect.check:
        verdict = f"(no --check given: the default) {verdict}"
    out.write(verdict + "\n")
    agrees = _expectation(out, spec, res, equation)
    return EXIT_OK if res.holds and agrees else EXIT_FAIL


def _abbreviation_elements(prep: Any, abbreviations: dict, res: Any) -> dict | None:
    from nnqg.derivations._curv_field import FlintField

    if not abbreviations or not isinstance(prep.algebra, FlintField):
        return None
    k = len(prep.scalars) - len(abbreviations)
    return {nm: prep.scalars[k + i] for i, nm in enumerate(abbreviations)}


def _equations(out: Any, res: Any, m: Any, equation: str, lab, component) -> None:
    """The residual components that are not 0, as equations, one per independent equation (a component that is
    a multiple of an earlier one by a factor free of the functions is left out)."""
    from nnqg.derivations._curv_field import FlintField

    prep = res.curvature.prepared
    A = prep.algebra
    n = m.dim
    from nnqg.derivations._curvature import EQUATION_NAMES

    title = EQUATION_NAMES[equation]
    comps = [(a, b) for a in range(n) for b in range(a, n) if not A.is_zero(res.residual[a][b])]
    if not comps:
        out.write(f"Field equations ({title}): satisfied identically\n")
        return
    jets = _jet_indices(prep) if isinstance(A, FlintField) else None
    kept: list[tuple[int, int]] = []
    for a, b in comps:
        if jets is not None and any(_proportional(A, res.residual[a][b], res.residual[c][d], jets)
                                    for c, d in kept):
            continue
        kept.append((a, b))
    out.write(f"Field equations ({title}), {len(kept)} independent:\n")
    for a, b in kept:
        out.write(f"  {lab(res.kind, a, b)}:  {component(a, b, res.residual[a][b])} = 0\n")


def _jet_indices(prep: Any) -> list[int]:
    return [i for i, s in enumerate(prep.symbols)
            if isinstance(s, (sp.Derivative, sp.core.function.AppliedUndef))]


def _proportional(A: Any, x: Any, y: Any, jets: list[int]) -> bool:
    """x / y is free of the functions and their derivatives (so x = 0 and y = 0 are the same equation)."""
    q = A.mul(x, A.inv(y))
    return all(q[0].degrees()[i] == 0 and q[1].degrees()[i] == 0 for i in jets)


def _latex_verdict(res: Any, lab, show) -> str:
    if res.holds:
        return f"% {res.describe(timing=False)}"
    lines = [f"% {res.describe(timing=False).splitlines()[0]}"]
    for c in res.nonzero:
        a, b = c.index
        lines.append(f"{lab(res.kind, a, b)} = {show(c.expression)} "
                     f"% at {', '.join(f'{k}={v}' for k, v in c.point)}: {c.value}")
    return "\n".join(lines)


def _expectation(out: Any, spec: Any, res: Any, equation: str) -> bool:
    """Compare with the file's ``[expect]`` (only when it is about this equation); print one line."""
    exp = spec.expect
    if exp.holds is None or (exp.check or "ricci_flat") != equation:
        return True
    problems = []
    if exp.holds != res.holds:
        problems.append(f"expected {'holds' if exp.holds else 'does not hold'}")
    if exp.nonzero is not None and not res.holds:
        got = {c.index for c in res.nonzero}
        want = {ij for ij, _ in exp.nonzero}
        coords = spec.metric.coords
        if got != want:
            problems.append(f"expected non-zero components {sorted(_name(coords, ij) for ij in want)}, got "
                            f"{sorted(_name(coords, ij) for ij in got)}")
        else:
            problems += _closed_forms(spec, res, equation)
    if problems:
        out.write("expectation of the file: DIFFERS (" + "; ".join(problems) + ")\n")
        return False
    out.write("expectation of the file: agrees\n")
    return True


def _name(coords: Any, ij: tuple[int, int]) -> str:
    return f"{coords[ij[0]]}_{coords[ij[1]]}"


def _closed_forms(spec: Any, res: Any, equation: str) -> list[str]:
    """Each expected closed form against the second opinion's value of that component at its sample points."""
    from nnqg.derivations._curvature_referee import Referee, RefereeProblem

    forms = [(ij, f) for ij, f in spec.expect.nonzero if f is not None]
    if not forms:
        return []
    m = spec.metric
    ref = Referee(RefereeProblem(m.coords, m.g, m.parameters, equation, spec.Lambda, spec.stress_energy,
                                 8 * sp.pi, spec.potential), seed=1)
    bad = []
    for (a, b), f in forms:
        for p in ref.points(3):
            if not ref.agrees(p, a, b, f):
                bad.append(f"{_name(m.coords, (a, b))} is not {f} at {p.describe()}")
                break
    return bad
