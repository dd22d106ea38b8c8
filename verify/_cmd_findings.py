"""``nnqg findings REPORT``: the learning evidence of a JSON report as a Markdown "Findings" block.

Prints the block; ``--readme FILE`` writes it into FILE between its Findings markers instead (atomically), only
from a full run (every claim, learning on, no user inputs). Exit codes: 0 written or printed; 1 ``--readme`` with
a stale report (a claim's sources changed since the run, or a registered claim is missing: re-run
``nnqg verify``); 2 a usage or input error, or ``--readme`` with a partial run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_STALE = 0, 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _FORMAT, _epilog

    p = subparsers.add_parser("findings", help="the learning evidence of a report as the README's Findings",
                              description=__doc__.split("\n")[0].replace("``", ""), formatter_class=_FORMAT,
                              epilog=_epilog("nnqg verify --seed 1 --json r.json && nnqg findings r.json",
                                             "nnqg findings docs/report-seed1.json --readme README.md",
                                             codes="exit codes:\n  0  printed or written\n  1  --readme with a "
                                                   "stale report (re-run nnqg verify)\n  2  a usage or input error, "
                                                   "or --readme with a partial run"))
    p.add_argument("report", type=Path, metavar="REPORT", help="a JSON report of `nnqg verify --json`")
    p.add_argument("--readme", type=Path, default=None, metavar="FILE",
                   help="write the block into FILE between its Findings markers instead of printing it")


def stale_claims(report: dict) -> list[str]:
    """Ids of the claims whose sources changed since the report was written, that the report lacks, or that are no
    longer registered."""
    from ._registry import all_claims, claim_source_hash

    now = {c.id: claim_source_hash(c) for c in all_claims()}
    seen = {e["id"] for e in report["claims"]}
    return [e["id"] for e in report["claims"] if now.get(e["id"]) != e.get("source_hash")] + \
        [cid for cid in now if cid not in seen]


def run(args: argparse.Namespace) -> int:
    from nnqg.derivations._errors import InvalidArgument
    from nnqg.derivations._files import read_user_text
    from nnqg.numerics._atomic import atomic_write_text

    from ._findings import check_learning_entries, findings_markdown, full_run_problem, replace_block
    from ._paper import load_report

    report = load_report(args.report, "REPORT")
    check_learning_entries(report, f"REPORT {str(args.report)!r}")
    block = findings_markdown(report, source=args.report.as_posix())
    stale = stale_claims(report)
    partial = full_run_problem(report)
    if args.readme is None:
        if partial is not None:
            sys.stderr.write(f"nnqg findings: warning: a partial run: {partial}\n")
        if stale:
            sys.stderr.write(f"nnqg findings: warning: {len(stale)} claims changed since the report was written "
                             f"({', '.join(stale)}); re-run nnqg verify\n")
        sys.stdout.write(block)
        return EXIT_OK
    if partial is not None:
        raise InvalidArgument(f"REPORT {str(args.report)!r}: not the README's Findings: {partial}; make one with "
                              f"`nnqg verify --seed {report.get('seed', 1)} --json {args.report}`")
    if stale:
        sys.stderr.write(f"nnqg findings: {args.report}: {len(stale)} claims changed since the report was written "
                         f"({', '.join(stale)}); re-run `nnqg verify --seed {report.get('seed', 1)} --json "
                         f"{args.report}` first; {args.readme} left as it was\n")
        return EXIT_STALE
    text = read_user_text(args.readme, "--readme")
    new = replace_block(text, block, where=f"--readme {str(args.readme)!r}")
    if new != text:
        atomic_write_text(args.readme, new)
    sys.stdout.write(f"{args.readme}: Findings {'updated' if new != text else 'already current'} from "
                     f"{args.report}\n")
    return EXIT_OK
