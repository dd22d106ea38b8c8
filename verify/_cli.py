"""nnqg: check by machine the claims of Vanchurin, "Towards a theory of quantum gravity from neural networks".

Exit codes: 0 every selected claim PASSED (or a registered counterexample REPRODUCED); 1 any FAILED or
NONFINITE; 2 a usage or input error (a message naming the bad input, never a traceback).
"""

from __future__ import annotations

import argparse
import errno
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

from nnqg.derivations import NnqgError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MAX_SEED = 2**63 - 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep its message, no traceback
        self.print_usage(sys.stderr)
        sys.stderr.write(f"nnqg: error: {message}{_did_you_mean(message)}\n")
        raise SystemExit(EXIT_USAGE)


def _did_you_mean(message: str) -> str:
    """A close match for a mistyped command or choice (``nnqg verfy`` -> did you mean 'verify'?)."""
    import difflib

    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not m:
        return ""
    choices = re.findall(r"'([^']*)'", m.group(2)) or [c.strip() for c in m.group(2).split(",")]
    close = difflib.get_close_matches(m.group(1), choices, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


#: shown under every command's help: what the exit status means
EXIT_CODES = """exit codes:
  0  every selected claim PASSED (or a registered counterexample REPRODUCED)
  1  a derivation or calibration FAILED or was NONFINITE: the program's own checks failed
     (a learning verdict, even NOT SUPPORTED, never changes the exit code)
  2  a usage or input error: the message names the input and the fix"""

_FORMAT = argparse.RawDescriptionHelpFormatter


def _epilog(*examples: str, codes: str = EXIT_CODES) -> str:
    return "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + codes


def _seed(text: str) -> int:
    try:
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed {text!r}: expected a non-negative integer") from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"--seed {text!r}: must be between 0 and 2**63-1")
    return v


def _examples(text: str) -> int:
    from ._explore import MAX_EXAMPLES

    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(f"--explore {text!r}: expected a number of examples in 1..{MAX_EXAMPLES}")
    return int(text)


def _workers(text: str) -> int:
    import os

    cpus = os.cpu_count() or 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= cpus:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: expected a number of processes in 1..{cpus} "
                                         f"(the CPUs of this machine)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    from nnqg import __version__

    p = _Parser(prog="nnqg", description=__doc__.split("\n")[0] if __doc__ else None, formatter_class=_FORMAT,
                epilog=_epilog("nnqg verify --seed 1 --json r.json      # every claim, full size",
                               "nnqg verify --quick --claims 'madelung.*'",
                               "nnqg derive madelung.continuity --latex",
                               "nnqg paper --pdf                         # the paper, built with latexmk",
                               "nnqg COMMAND --help                      # a command's options"))
    p.add_argument("--version", action="version", version=f"nnqg {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("claims", help="list every registered claim", formatter_class=_FORMAT,
                   description="List every registered claim: id, theory section, statement, assumptions.",
                   epilog=_epilog("nnqg claims", codes="exit codes:\n  0  always"))

    d = sub.add_parser("derive", help="print a claim's derivation step by step", formatter_class=_FORMAT,
                       description="Print a claim's derivation step by step and its checks (exact identities).",
                       epilog=_epilog("nnqg derive madelung.continuity",
                                      "nnqg derive einstein.field_equations --latex > derivation.tex",
                                      codes="exit codes:\n  0  every identity reduces to 0\n  1  an identity "
                                            "does not\n  2  an unknown claim id"))
    d.add_argument("claim_id", metavar="CLAIM_ID", help="a claim id, as listed by `nnqg claims`")
    d.add_argument("--latex", action="store_true",
                   help="print LaTeX (one align environment in the paper's notation, amsmath only) instead of "
                        "pretty-printed SymPy")

    v = sub.add_parser("verify", help="run the checks: derivation, calibration, learning evidence",
                       formatter_class=_FORMAT,
                       description="Run every selected claim: its derivation (exact identities), its calibration "
                                   "(numerics on constructed solutions) and its learning experiment; print a table "
                                   "of the three parts and, with --json/--html, write the report.",
                       epilog=_epilog("nnqg verify --seed 1 --json r.json",
                                      "nnqg verify --quick --html report.html",
                                      "nnqg verify --claims 'madelung.*,schrodinger.*' --potential 'q**2/2 + q**4/10'",
                                      "nnqg verify --symbolic-only      # derivations only, a few seconds",
                                      "nnqg verify --explore 50 --seed 1 --json explore.json"))
    v.add_argument("--claims", default=None, metavar="GLOB", help="comma-separated glob(s) of claim ids")
    v.add_argument("--seed", type=_seed, default=1,
                   help="seed of every random stream of the numeric parts (default: 1); the same seed gives the "
                        "same report, byte for byte")
    v.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the JSON report here")
    v.add_argument("--html", type=Path, default=None, metavar="PATH",
                   help="write a self-contained HTML report (MathML equations, inline SVG figures) here")
    v.add_argument("--quick", action="store_true", help="smaller numeric checks (CI, a first look)")
    v.add_argument("--timings", action="store_true", help="add wall-clock seconds to the report")
    v.add_argument("--symbolic-only", action="store_true",
                   help="derivations only: skip the calibrations and the learning experiments")
    v.add_argument("--no-learning", action="store_true",
                   help="skip the learning experiments (their part is reported NOT TESTED)")
    v.add_argument("--verbose", action="store_true", help="print every claim's reason under the table")
    v.add_argument("--potential", default=None, metavar="EXPR",
                   help="run the Madelung/Schrodinger claims on a user potential V(q), e.g. 'q**2/2 + q**4/10'")
    v.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set one of a claim's declared inputs (a number in its admissible range, or a formula), "
                        "e.g. gamma_value=0.5; repeatable; an undeclared name or a value out of range is refused")
    v.add_argument("--metric", action="append", default=[], metavar="NAME=FILE",
                   help="replace a claim's metric input NAME by the metric in FILE (the format of nnqg curvature), "
                        "e.g. metrics=my.toml for einstein.bianchi; repeatable")
    v.add_argument("--explore", type=_examples, default=None, metavar="N",
                   help="property-based run: draw N inputs per claim from its strategies (nnqg.strategies), run "
                        "the derivation and calibration (quick profile) on each, shrink a failure to its smallest "
                        "input and print the command that reproduces it")
    v.add_argument("--workers", type=_workers, default=None, metavar="K",
                   help="processes for --explore (default: 2, at most the CPUs); claims run side by side, each "
                        "claim's result is the same for any K")
    # Further commands live in their own modules, verify/_cmd_<name>.py, each with
    # `add_parser(subparsers) -> None` and `run(args) -> int`; this keeps commands independent of each other.
    for mod in _command_modules():
        mod.add_parser(sub)
    return p


def _command_modules() -> list:
    import importlib
    import pkgutil

    from nnqg import verify as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_cmd_"):
            mods.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
    return mods


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # bare `nnqg`: the whole help (stdout), and exit 2 like any call without a command
        build_parser().print_help()
        sys.stderr.write("nnqg: error: give a COMMAND (listed above)\n")
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    if args.command is None:  # options but no command (e.g. `nnqg --seed 1`)
        build_parser().print_usage(sys.stderr)
        sys.stderr.write("nnqg: error: give a COMMAND (nnqg --help lists them)\n")
        return EXIT_USAGE
    from nnqg.derivations import _budget

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            rc = _dispatch(args)
            sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
            return rc
    except NnqgError as exc:
        from nnqg.derivations._budget import UnworkableFormula

        prefix = f"--potential {args.potential!r}: " if isinstance(exc, UnworkableFormula) and \
            getattr(args, "potential", None) is not None else ""
        sys.stderr.write(f"nnqg: error: {prefix}{exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("nnqg: interrupted; no partial report was written\n")
        return 130
    except _budget.Stop as stop:  # a budget's tick outside every handler of its block (a one-line window)
        sys.stderr.write(f"nnqg: error: {_budget.stop_message(stop)}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        _stdout_to_devnull()
        sys.stderr.write("nnqg: error: the output pipe was closed before all output was written (e.g. by `head`)\n")
        return EXIT_USAGE
    except OSError as exc:  # the environment, not nnqg: a full disk, a read-only folder, a name too long
        sys.stderr.write(f"nnqg: error: {_environment_error(exc)}\n")
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "claims":
        return _cmd_claims()
    if args.command == "derive":
        return _cmd_derive(args.claim_id, args.latex)
    if args.command == "verify":
        return _cmd_verify(args)
    for mod in _command_modules():
        if mod.__name__.rsplit("._cmd_", 1)[1] == args.command:
            return int(mod.run(args))
    return EXIT_USAGE


_HINTS = {errno.ENOSPC: "free some space or write somewhere else", errno.EDQUOT: "free some space or write "
          "somewhere else", errno.EROFS: "choose a writable location", errno.EACCES: "choose a writable location",
          errno.EPERM: "choose a writable location", errno.ENAMETOOLONG: "give a shorter name"}


def _environment_error(exc: OSError) -> str:
    where = f" ({str(exc.filename)!r})" if exc.filename else ""
    hint = _HINTS.get(exc.errno or 0, "check the file and folder named")
    return f"{exc.strerror or type(exc).__name__}{where}; {hint}"


def _stdout_to_devnull() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's final flush does not fail a second time."""
    import os

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """nnqg's own warnings as one line naming their class; others as Python prints them."""
    from nnqg.numerics import CacheWarning

    if issubclass(category, CacheWarning):
        sys.stderr.write(f"nnqg: warning ({category.__name__}): {message}\n")
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _console():
    from rich.console import Console

    import os

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit 1, the code of a FAILED claim: main() says what happened
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    con = _Console(stderr=False, highlight=False)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        con = _Console(stderr=False, highlight=False, width=160)
    return con


def _cmd_claims() -> int:
    from rich.table import Table

    from ._registry import all_claims

    t = Table(title="nnqg claims", show_lines=True)
    for col in ("id", "section", "statement", "assumptions"):
        t.add_column(col, overflow="fold")
    for c in all_claims():
        t.add_row(c.id, c.section, c.statement + (" [counterexample]" if c.counterexample else ""),
                  "\n".join("- " + a for a in c.assumptions))
    _console().print(t)
    return EXIT_OK


def _cmd_derive(claim_id: str, latex: bool) -> int:
    import sympy as sp

    from ._registry import get_claim

    c = get_claim(claim_id)
    res = c.derivation(c.default_inputs())
    if latex:  # plain text to paste: no colours, no wrapping
        from ._paper import derivation_align

        sys.stdout.write(derivation_align(c, res))
        return EXIT_OK if res.ok else EXIT_FAIL
    out = _console()
    out.print(f"[bold]{c.id}[/bold]  (docs/theory.md, section {c.section})\n{c.statement}\n")
    for i, s in enumerate(res.steps, 1):
        out.print(f"[bold]Step {i}. {s.title}[/bold]" + (f"  ({s.note})" if s.note else ""))
        body = sp.pretty(s.rhs, use_unicode=True) if s.lhs is None else \
            sp.pretty(sp.Eq(s.lhs, s.rhs, evaluate=False), use_unicode=True)
        out.print(body, markup=False)
        out.print()
    for lab, e in res.checks:
        out.print(f"check {lab}: " + ("0 (exact)" if e == 0 else f"NOT ZERO: {e}"), markup=False)
    for lab, v in res.facts:
        out.print(f"fact {lab}: {v}", markup=False)
    return EXIT_OK if res.ok else EXIT_FAIL


def _cmd_verify(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from nnqg.numerics import KERNEL_STATS

    from ._model import FAILED, NONFINITE, NumericContext
    from ._registry import select_claims
    from ._report import build_report, write_report
    from ._runner import run_claim

    from ._report import check_output_paths

    check_output_paths(((args.json, "--json"), (args.html, "--html")))
    claims = select_claims(args.claims)
    out = _console()
    if args.explore is not None:
        from ._explore import run_explore

        return run_explore(args, claims, out)
    if args.workers is not None:
        from nnqg.derivations import InvalidArgument

        raise InvalidArgument("--workers applies to --explore only (the other claims run in one process)")
    overrides: dict[str, dict] = {}
    notes: list[str] = []
    selected = claims
    if args.potential is not None:  # validated before any claim runs; claims without a potential are skipped
        from .claims._user import prepare_potential

        claims, overrides, notes = prepare_potential(args.potential, claims, symbolic_only=args.symbolic_only,
                                                     quick=args.quick)
    if args.param or args.metric:
        from ._explore_inputs import user_overrides

        skipped = [c for c in selected if c not in claims]
        for cid, o in user_overrides(claims, args.param, args.metric, skipped, "--potential").items():
            overrides.setdefault(cid, {}).update(o)
    verdicts = []
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[done]}/{task.total}"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=out, transient=True,
                  disable=not out.is_terminal) as prog:
        task = prog.add_task("verifying", total=len(claims), done=0)
        for k, c in enumerate(claims):
            prog.update(task, description=f"{c.id}", completed=k, done=k)

            def progress(what: str, frac: float, _c=c, _k=k) -> None:
                # the bar advances inside a claim too, so the remaining time is estimated all along
                frac = min(max(float(frac), 0.0), 1.0)
                prog.update(task, description=f"{_c.id}: {what} ({100 * frac:.0f}%)", completed=_k + frac)

            ctx = NumericContext(seed=args.seed, quick=args.quick, progress=progress)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                v = run_claim(c, ctx, overrides.get(c.id), calibration=not args.symbolic_only,
                              learning=not (args.symbolic_only or args.no_learning))
            verdicts.append(v)
            prog.update(task, completed=k + 1, done=k + 1)
            if not out.is_terminal:
                out.print(f"{c.id}: {v.headline}", markup=False)
    print_verdicts(out, verdicts, title=f"nnqg verify (seed {args.seed}{', quick' if args.quick else ''})",
                   verbose=args.verbose)
    if args.potential is not None:
        from .claims._user import state_lines

        for line in state_lines(verdicts) + notes:
            out.print(line, markup=False)
    from ._runner import SYMBOLIC_STATS

    out.print(f"cache: derivations {SYMBOLIC_STATS['reused']} reused, {SYMBOLIC_STATS['derived']} derived; "
              f"kernels {KERNEL_STATS['reused']} reused, {KERNEL_STATS['generated']} generated, "
              f"{KERNEL_STATS['rebuilt']} rebuilt; machine code {KERNEL_STATS.get('jit_reused', 0)} loaded, "
              f"{KERNEL_STATS.get('jit_compiled', 0)} compiled; {time.perf_counter() - t0:.1f} s")
    # how the report was made: a reader (nnqg findings, the paper) can tell a partial run from a full one
    run = {"claims": args.claims or "*", "calibration": not args.symbolic_only,
           "learning": not (args.symbolic_only or args.no_learning), "potential": args.potential,
           "param": list(args.param or []), "metric": list(args.metric or [])}
    if args.json is not None:
        rep = build_report(verdicts, seed=args.seed, quick=args.quick, timings=args.timings, extra={"run": run})
        write_report(rep, args.json)
        out.print(f"report written to {args.json}")
    if args.html is not None:
        from ._html import write_html

        write_html(verdicts, build_report(verdicts, seed=args.seed, quick=args.quick, timings=args.timings,
                                          extra={"run": run}), args.html)
        out.print(f"HTML report written to {args.html}")
    bad = [v for v in verdicts if v.status in (FAILED, NONFINITE)]
    return EXIT_FAIL if bad else EXIT_OK


#: colours of part statuses in the terminal
COLOUR = {"PASSED": "green", "EXACT": "green", "SUPPORTED": "green", "REPRODUCED": "cyan", "FAILED": "red",
          "NOT SUPPORTED": "bold red", "NONFINITE": "magenta", "INCONCLUSIVE": "yellow", "NOT RUN": "dim",
          "NOT TESTED": "dim"}


def print_verdicts(out, verdicts, *, title: str, verbose: bool = False) -> None:
    """The verdict table: one short row per claim, its three parts side by side (fits 80 columns); then the
    reasons: every claim's with ``verbose``, otherwise those of parts that are not plainly fine."""
    from rich import box
    from rich.table import Table

    from ._model import EXACT, NOT_SUPPORTED, NOT_TESTED, PASSED, SUPPORTED

    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("claim", no_wrap=True)
    for col in ("derivation", "calibration", "learning"):
        t.add_column(col, no_wrap=True)
    for v in verdicts:
        cells = [v.derivation_status, v.calibration_status, v.learning_status]
        if v.claim.counterexample and v.calibration_status == PASSED:
            cells[1] = v.status  # REPRODUCED
        t.add_row(v.claim.id, *(f"[{COLOUR.get(x, 'white')}]{x}[/]" for x in cells))
    out.print(t)
    notes = []
    for v in verdicts:
        show = verbose or v.derivation_status != EXACT or v.calibration_status not in (PASSED, "NOT RUN") \
            or v.learning_status not in (SUPPORTED, NOT_TESTED)
        if not show:
            continue
        lines = [f"[bold]{v.claim.id}[/]: {v.headline}"]
        if verbose or v.status not in (PASSED, "REPRODUCED"):
            lines.append(f"  program: {v.status}: {v.reason}")
        if v.learning is not None and (verbose or v.learning_status != NOT_TESTED):
            col = COLOUR.get(v.learning_status, "white")
            lines.append(f"  learning [{col}]{v.learning_status}[/]: {v.learning.reason}")
        elif verbose:
            lines.append(f"  learning: {v.claim.learning_note}")
        notes.append("\n".join(lines))
    if notes:
        out.print("\n".join(notes), highlight=False)
    n_nots = sum(v.learning_status == NOT_SUPPORTED for v in verdicts)
    if n_nots:
        out.print(f"[bold red]{n_nots} claim(s) NOT SUPPORTED by their learning experiment[/]: a scientific "
                  "result, reported above; it does not change the exit code.", highlight=False)


if __name__ == "__main__":
    raise SystemExit(main())
