"""``nnqg sweep SPEC.toml``: map the distance of real SGD ensembles from the Fokker-Planck, Madelung and
Schrodinger descriptions over a grid of hyperparameters, on dask.distributed (see :mod:`nnqg.verify._sweep`).

Exit codes: 0 every grid point finished with finite distances (distances above tolerance are results, not
failures); 1 a point raised or gave a non-finite distance; 2 a bad spec or option (the message names the key);
130 interrupted (finished points are stored; ``--resume`` continues).
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
#: cells of the summary printed in the terminal (a large grid's summary is in the Parquet data)
MAX_TABLE_ROWS = 200


def _workers(text: str) -> int:
    try:
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: expected a positive integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: must be >= 1")
    return v


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from ._cli import _FORMAT, _epilog

    s = subparsers.add_parser(
        "sweep", help="map SGD ensembles' distance from FP/Madelung/Schrodinger over a grid", formatter_class=_FORMAT,
        description="Measure, over a grid of step size, batch size, width and ensemble size, how far real SGD "
                    "ensembles are from the Fokker-Planck, Madelung and Schrodinger descriptions, or (task kinds "
                    "recurrent_predictor, learned_couplings) how far the networks of learning experiments 3 and 4 "
                    "are from their own descriptions (dask).",
        epilog=_epilog("nnqg sweep examples/sweeps/tiny.toml --workers 2",
                       "nnqg sweep examples/sweeps/gamma_batch.toml --out runs/gb --resume",
                       "nnqg sweep SPEC.toml --scheduler tcp://HOST:8786",
                       codes="exit codes:\n  0  the sweep finished (the distances are results, not failures)\n"
                             "  1  a point raised or gave a non-finite distance, or points are missing\n"
                             "  2  a usage or input error (a bad spec names its key)\n"
                             "  130  interrupted (finished points are stored; --resume continues)"))
    s.add_argument("spec", type=Path, metavar="SPEC.toml")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster here)")
    s.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help="LocalCluster workers (default and maximum: the CPUs of this machine); not with "
                        "--scheduler")
    s.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result directory (default: sweep-<spec name>)")
    s.add_argument("--resume", action="store_true", help="continue a sweep in --out, skipping finished points")


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn
    from rich.markup import escape
    from rich.table import Table

    from ._cli import _console
    from ._sweep import SweepStoreWarning, load_spec, run_sweep, skipped_figures, summarise, write_figures
    from ._sweep_figures import decision_tally

    spec = load_spec(args.spec)
    out_dir = args.out if args.out is not None else Path(f"sweep-{spec.name}")
    con = _console()
    last = [-1]

    with Progress(TextColumn("sweep {task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("points"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=con, transient=False,
                  disable=not con.is_terminal) as prog:
        task = prog.add_task(spec.name, total=None)

        def progress(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)
            if not con.is_terminal:  # a log line every tenth of the grid
                tenth = (10 * done) // max(total, 1)
                if tenth != last[0]:
                    last[0] = tenth
                    el = prog.tasks[0].elapsed or 0.0
                    rem = prog.tasks[0].time_remaining
                    eta = "?" if rem is None else f"{rem:.0f} s"
                    con.print(f"sweep: {done}/{total} points, {el:.0f} s elapsed, ETA {eta}", markup=False)

        try:
            with warnings.catch_warnings():  # an unreadable stored part: reported below, once
                warnings.simplefilter("ignore", SweepStoreWarning)
                res = run_sweep(spec, out_dir, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                                progress=progress)
        except KeyboardInterrupt:
            sys.stderr.write(f"nnqg: sweep interrupted; finished points are stored in {out_dir} "
                             "(run again with --resume)\n")
            return 130

    summ = summarise(spec, res.table)
    t = Table(title=escape(f"nnqg sweep {spec.name}: median distance over (ensemble, seeds) "
                           f"[fraction of points within tolerance {spec.measure.tolerance:g} at "
                           f"{spec.measure.sigmas:g} SE]"))
    t.add_column("gamma")
    t.add_column("B")
    if spec.width is not None:
        t.add_column("width")
    t.add_column("points")
    decided = [d for d in spec.claims if summ and f"{d}_decisions" in summ[0]]
    for d in spec.claims:
        t.add_column(d)
        if d in decided:
            t.add_column(f"{d} decisions")
    for part, reason in res.dropped_parts:
        sys.stderr.write(f"nnqg: warning: sweep part {part} was unreadable ({reason}); set aside in "
                         f"{out_dir / 'damaged'}, its points were computed again\n")
    for r in summ[:MAX_TABLE_ROWS]:
        cells = []
        for d in spec.claims:
            m = r[f"{d}_median"]
            cells.append(escape(("nan" if not math.isfinite(m) else f"{m:.3g}") + f" [{r[f'{d}_within']:.2g}]"))
            if d in decided:
                cells.append(escape(decision_tally(r[f"{d}_decisions"])))
        w = [str(r["width"])] if spec.width is not None else []
        t.add_row(f"{r['gamma']:g}", str(r["batch_size"]), *w, str(r["points"]), *cells)
    con.print(t)
    if len(summ) > MAX_TABLE_ROWS:
        con.print(f"... {len(summ) - MAX_TABLE_ROWS} more cells (every row is in {out_dir}/points)", markup=False)
    figs = write_figures(spec, res.table, out_dir / "figures")
    rows = res.table.num_rows
    nonfinite = sum(bool(x) for x in res.table.column("nonfinite").to_pylist())
    con.print(f"{res.computed} points computed, {res.skipped} resumed, {len(res.failed)} failed, "
              f"{nonfinite} non-finite; {rows}/{res.total} stored in {out_dir} ({res.wall_seconds:.1f} s, "
              f"{res.workers} workers)", markup=False)
    con.print(skipped_figures(spec) or "figures: " + ", ".join(str(p) for p in figs), markup=False)
    for idx, err in res.failed:
        sys.stderr.write(f"nnqg: sweep point {idx} failed: {err}\n")
    return EXIT_FAIL if res.failed or nonfinite or rows < res.total else EXIT_OK
