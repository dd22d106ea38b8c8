"""``nnqg paper``: write the paper's generated LaTeX (and build the PDF with ``--pdf``).

Without ``--report`` the verification runs first (same options as ``nnqg verify``); with ``--report r.json``
the numbers come from that report and the derivations are recomputed from the registered claims. Exit codes:
0 the files were written (and the PDF built); 1 the PDF build failed (LaTeX errors, undefined references);
2 a usage or input error, including ``--pdf`` without latexmk and a TeX distribution.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ._cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, _seed


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _FORMAT, _epilog

    p = subparsers.add_parser(
        "paper", help="write the paper's LaTeX (and build its PDF with --pdf)", formatter_class=_FORMAT,
        description="Write the paper's generated LaTeX: one section per claim (statement, derivation, checks, "
                    "calibration, learning evidence), the learning experiments, the verdicts; --pdf builds it "
                    "with latexmk (about a minute).",
        epilog=_epilog("nnqg paper --pdf                         # runs the verification first (full size)",
                       "nnqg verify --json r.json && nnqg paper --report r.json --pdf",
                       "nnqg paper --quick --claims 'madelung.*' --pdf --png docs/paper",
                       codes="exit codes:\n  0  the files were written (and the PDF built); the paper reports "
                             "failed claims, it does not fail on them\n  1  the PDF build failed (a LaTeX error, "
                             "an undefined reference or citation)\n  2  a usage or input error, including --pdf "
                             "without latexmk and a TeX distribution"))
    p.add_argument("--out", type=Path, default=Path("paper/generated"), metavar="DIR",
                   help="directory of the generated files (default: paper/generated)")
    p.add_argument("--report", type=Path, default=None, metavar="PATH",
                   help="take the numbers from this JSON report (nnqg verify --json) instead of running")
    p.add_argument("--pdf", action="store_true", help="build the PDF with latexmk (needs a TeX distribution)")
    p.add_argument("--main", type=Path, default=None, metavar="PATH",
                   help="the paper's main.tex (default: paper/main.tex here, else the one installed with nnqg)")
    p.add_argument("--png", type=Path, default=None, metavar="PREFIX",
                   help="with --pdf: render the first two pages to PREFIX-1.png, PREFIX-2.png (pdftoppm)")
    p.add_argument("--claims", default=None, metavar="GLOB", help="comma-separated glob(s) of claim ids")
    p.add_argument("--seed", type=_seed, default=1,
                   help="seed of the numeric parts when nnqg paper runs the verification (default: 1)")
    p.add_argument("--quick", action="store_true", help="smaller numeric checks")
    p.add_argument("--symbolic-only", action="store_true",
                   help="derivations only: skip the calibrations and the learning experiments")


def run(args: argparse.Namespace) -> int:
    from nnqg.derivations import InvalidArgument

    from ._model import NumericContext
    from ._paper import load_report, records_from_report, records_from_verdicts, write_paper
    from ._paper_build import build_pdf, default_main_tex
    from ._registry import select_claims
    from ._report import build_report
    from ._runner import run_claim

    unknown: list[str] = []
    if args.png is not None and not args.pdf:
        raise InvalidArgument("--png renders pages of the PDF: give --pdf too")
    if args.out.exists() and not args.out.is_dir():
        raise InvalidArgument(f"--out {str(args.out)!r} exists and is not a directory; give a folder for the "
                              "generated .tex files")
    if args.report is not None:
        if args.claims is not None or args.quick or args.symbolic_only:
            raise InvalidArgument("--report takes the run from the report; --claims, --quick and "
                                  "--symbolic-only apply only when nnqg paper runs the verification itself")
        report = load_report(args.report)
        records, unknown = records_from_report(report)
        for cid in unknown:
            sys.stderr.write(f"nnqg paper: warning: the report names claim {cid!r}, which is not registered; "
                             f"left out\n")
    else:
        verdicts = []
        for c in select_claims(args.claims):
            sys.stderr.write(f"verifying {c.id}\n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                verdicts.append(run_claim(c, NumericContext(seed=args.seed, quick=args.quick),
                                          calibration=not args.symbolic_only, learning=not args.symbolic_only))
        report = build_report(verdicts, seed=args.seed, quick=args.quick)
        records = records_from_verdicts(verdicts, report)
    for r in records:
        if r.stale:
            sys.stderr.write(f"nnqg paper: warning: the report entry of {r.claim.id} comes from a different "
                             f"version of its source; the paper says so\n")
    files = write_paper(records, report, args.out, unknown)
    print(f"wrote {len(files)} files to {args.out} ({len(records)} claims)")
    if not args.pdf:
        return EXIT_OK
    main_tex = args.main if args.main is not None else default_main_tex()
    res = _build_with_spinner(args.out, main_tex, build_pdf)
    for line in res.overfull:
        sys.stderr.write(f"nnqg paper: warning: {line}\n")
    for line in res.undefined:
        sys.stderr.write(f"nnqg paper: error: {line}\n")
    for line in res.errors:
        sys.stderr.write(f"nnqg paper: LaTeX: {line}\n")
    if not res.ok:
        sys.stderr.write(f"nnqg paper: the PDF build failed; see {res.log}\n")
        return EXIT_FAIL
    print(f"PDF written to {res.pdf}")
    if args.png is not None:
        from ._paper_build import render_pages

        for f in render_pages(res.pdf, args.png):
            print(f"page written to {f}")
    return EXIT_OK


def _build_with_spinner(out: Path, main_tex: Path, build_pdf) -> object:
    """latexmk takes a minute or so: a spinner with the elapsed time on a terminal, one line otherwise."""
    from rich.console import Console

    con = Console(stderr=True, highlight=False)
    if not con.is_terminal:
        sys.stderr.write("building the PDF with latexmk (pdflatex and BibTeX; about a minute)\n")
        return build_pdf(out, main_tex)
    with con.status("building the PDF with latexmk (about a minute): 0 s") as status:
        return build_pdf(out, main_tex, progress=lambda sec: status.update(
            f"building the PDF with latexmk (about a minute): {sec:.0f} s"))


__all__ = ["EXIT_USAGE", "add_parser", "run"]
