"""``nnqg selftest``: plant every registered error and check that each one turns its verdict to FAILED.

Exit codes: 0 every planted error was caught (and at least one was planted); 1 any was missed, or none was
planted; 2 a usage error. ``--json PATH`` writes ``{planted, caught, missed: [ids], ...}`` atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._report import check_output_path

EXIT_OK, EXIT_FAIL = 0, 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _seed

    from ._cli import _FORMAT, _epilog

    p = subparsers.add_parser("selftest", help="plant known errors in every claim and check each is caught",
                              description=__doc__.split("\n")[0].replace("``", ""), formatter_class=_FORMAT,
                              epilog=_epilog("nnqg selftest --quick", "nnqg selftest --claims 'einstein.*' --json s.json",
                                             codes="exit codes:\n  0  every planted error was caught\n  1  one was "
                                                   "not (a check that cannot say no)\n  2  a usage or input error"))
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the JSON result here")
    p.add_argument("--claims", default=None, metavar="GLOB", help="comma-separated glob(s) of claim ids")
    p.add_argument("--quick", action="store_true", help="run the numeric checks at their quick size")
    p.add_argument("--seed", type=_seed, default=1, help="seed of the numeric parts (default: 1)")


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ._cli import _console
    from ._registry import select_claims
    from ._report import atomic_write_text, dumps, versions
    from ._selftest import PlantedResult, planted_errors, run_selftest

    if args.json is not None:
        check_output_path(args.json, "--json")
    claims = select_claims(args.claims)
    out = _console()
    total = len(planted_errors(claims))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=out, transient=True, disable=not out.is_terminal) as prog:
        task = prog.add_task("planting errors", total=total)
        current = {"what": ""}

        def on_status(what: str) -> None:
            current["what"] = what
            prog.update(task, description=what)

        def progress(what: str, frac: float) -> None:
            prog.update(task, description=f"{current['what']}: {what} ({100 * frac:.0f}%)")

        def on_result(done: int, n: int, r: PlantedResult) -> None:
            prog.update(task, completed=done)
            if not out.is_terminal:
                out.print(f"{'caught' if r.caught else 'MISSED':7s} {r.id} ({r.status}, {r.stage}, "
                          f"{r.seconds:.1f} s)", markup=False)

        rep = run_selftest(claims, seed=args.seed, quick=args.quick, on_result=on_result, on_status=on_status,
                           progress=progress)

    t = Table(title=f"nnqg selftest (seed {args.seed}{', quick' if args.quick else ''})")
    for col in ("planted error", "verdict", "caught", "by", "s", "reason"):
        t.add_column(col, overflow="fold")
    for r in rep.results:
        t.add_row(r.id, r.status, "[green]yes[/]" if r.caught else "[red]MISSED[/]", r.stage, f"{r.seconds:.1f}",
                  r.reason)
    out.print(t)
    for b in rep.baselines:
        out.print(f"baseline (unmutated) {b.claim_id}: {b.status} in {b.seconds:.1f} s"
                  + ("" if b.ok else f" -- {b.reason}; its planted errors prove nothing and count as missed"),
                  markup=False)
    if rep.claims_without_mutations:
        out.print("claims without planted errors: " + ", ".join(rep.claims_without_mutations), markup=False)
    out.print(f"planted {rep.planted}, caught {rep.caught}, missed {len(rep.missed)}"
              + (": " + ", ".join(rep.missed) if rep.missed else ""), markup=False)
    if rep.planted == 0:
        out.print("no planted errors among the selected claims: nothing was shown", markup=False)
    if args.json is not None:
        doc = rep.to_json()
        doc["versions"] = versions()
        try:
            atomic_write_text(args.json, dumps(doc))
        except OSError as exc:
            from nnqg.derivations import InvalidArgument

            raise InvalidArgument(f"--json {str(args.json)!r}: cannot write the result ({exc.strerror})") from None
        out.print(f"result written to {args.json}", markup=False)
    return EXIT_OK if rep.ok else EXIT_FAIL
