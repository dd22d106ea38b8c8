"""The summary table and figures of a finished sweep: per (gamma, B) cell (and width) the median distance from each
description and the fraction of points within tolerance, as rows and as heat maps; for a kind whose points carry
their experiment's controls, also the tally of the points' decisions (SUPPORTED / NOT SUPPORTED / INCONCLUSIVE:
a distance alone is not a decision when the controls do not separate).

Heat maps are drawn for at most :data:`MAX_HEATMAP_AXIS` values of gamma and of B and :data:`MAX_HEATMAP_WIDTHS`
widths (a larger grid gets the table and the Parquet data, and :func:`write_figures` says what it skipped): a heat
map of thousands of cells is unreadable and its image size unbounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ._model import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from ._sweep_spec import SweepSpec

MAX_HEATMAP_AXIS = 40
MAX_HEATMAP_WIDTHS = 12

#: description -> (distance column, within column)
DESCRIPTION_COLUMNS = {"fokker_planck": ("fp_distance", "fp_within"),
                       "madelung": ("madelung_distance", "madelung_within"),
                       "schrodinger": ("schrodinger_distance", "schrodinger_within")}


#: decision statuses in the order a tally lists them, with their short forms in the terminal table
DECISIONS = ((SUPPORTED, "S"), (NOT_SUPPORTED, "NS"), (INCONCLUSIVE, "I"))


def decision_tally(counts: dict[str, int]) -> str:
    """``"S 2, NS 1, I 1"``: the non-zero counts of a cell's decisions (S SUPPORTED, NS NOT SUPPORTED,
    I INCONCLUSIVE)."""
    return ", ".join(f"{short} {counts[full]}" for full, short in DECISIONS if counts.get(full))


def description_columns(spec: SweepSpec, description: str) -> tuple[str, str]:
    """(distance column, within column) of a description: :data:`DESCRIPTION_COLUMNS` for the quantum-side ones,
    ``<d>_distance``, ``<d>_within`` for the descriptions of a kind that measures itself."""
    if spec.kind.measures is not None:
        return f"{description}_distance", f"{description}_within"
    return DESCRIPTION_COLUMNS[description]


def summarise(spec: SweepSpec, table: Any) -> list[dict[str, Any]]:
    """One row per (gamma, B) cell, per width when the spec has a width axis: for each requested description
    the median distance over the other axes (ensemble, seeds) and the fraction of those points within
    tolerance; for a kind with controls, ``<d>_decisions``: the count of each decision (:data:`DECISIONS`) over
    the cell's points and ``<d>_supported`` the fraction SUPPORTED. ``width`` is -1 without a width axis."""
    cols = table.to_pydict()
    n = len(cols["point_id"])
    groups: dict[tuple[float, int, int], list[int]] = {}
    for i in range(n):
        groups.setdefault((cols["gamma"][i], cols["batch_size"][i], cols["width"][i]), []).append(i)
    out = []
    for (g, b, w) in sorted(groups):
        idx = groups[(g, b, w)]
        row: dict[str, Any] = {"gamma": g, "batch_size": b, "width": w, "points": len(idx)}
        for d in spec.claims:
            dc, wc = description_columns(spec, d)
            vals = np.array([cols[dc][i] for i in idx], dtype=float)
            row[f"{d}_median"] = float(np.median(vals)) if np.all(np.isfinite(vals)) else float("nan")
            row[f"{d}_within"] = float(np.mean([bool(cols[wc][i]) for i in idx]))
            if f"{d}_decision" in cols:
                got = [cols[f"{d}_decision"][i] for i in idx]
                row[f"{d}_decisions"] = {full: got.count(full) for full, _ in DECISIONS}
                row[f"{d}_supported"] = got.count(SUPPORTED) / len(got)
        out.append(row)
    return out


def skipped_figures(spec: SweepSpec) -> str | None:
    """Why :func:`write_figures` draws nothing for this spec (a grid beyond the figure limits), or None."""
    n_w = len(spec.width) if spec.width is not None else 1
    if len(spec.gamma) > MAX_HEATMAP_AXIS or len(spec.batch_size) > MAX_HEATMAP_AXIS or n_w > MAX_HEATMAP_WIDTHS:
        return (f"no figures: the grid has {len(spec.gamma)} gamma, {len(spec.batch_size)} B and {n_w} width values; "
                f"heat maps are drawn for at most {MAX_HEATMAP_AXIS} gamma and B values and {MAX_HEATMAP_WIDTHS} "
                "widths (the results are in DIR/points)")
    return None


def write_figures(spec: SweepSpec, table: Any, directory: str | os.PathLike[str]) -> list[Path]:
    """Heat maps over (gamma, B): median distance per description (cells with every point within tolerance
    outlined), and the fraction of points where the Madelung description is within tolerance; one set per width
    (suffix ``_w<width>``) when the spec has a width axis; for a kind with controls ``decision_<description>.png``:
    the tally of the points' decisions per cell, coloured by the fraction SUPPORTED; plus
    ``width_<description>.png``: the median
    distance against the number of neurons, one line per (gamma, B) cell. Nothing beyond the figure limits
    (:func:`skipped_figures`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if skipped_figures(spec):
        return paths
    summ = summarise(spec, table)
    gs, bs = list(spec.gamma), list(spec.batch_size)
    widths = list(spec.width) if spec.width is not None else [-1]
    by_cell = {(r["gamma"], r["batch_size"], r["width"]): r for r in summ}

    def cells(width: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(row, column, summary row) of every computed (gamma, B) cell at this width."""
        for i, b in enumerate(bs):
            for j, g in enumerate(gs):
                r = by_cell.get((g, b, width))
                if r is not None:
                    yield i, j, r

    def grid_of(key: str, width: int) -> np.ndarray:
        a = np.full((len(bs), len(gs)), np.nan)
        for i, j, r in cells(width):
            a[i, j] = r[key]
        return a

    def draw(a: np.ndarray, title: str, cbar: str, within: np.ndarray | None, fname: str, vmax: float | None,
             labels: dict[tuple[int, int], str] | None = None) -> None:
        fig, ax = plt.subplots(figsize=(max(5.0, 2.0 + 0.9 * len(gs)), max(3.4, 1.6 + 0.6 * len(bs))))
        im = ax.imshow(a, origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax)
        ax.set_xticks(range(len(gs)), [f"{g:g}" for g in gs])
        ax.set_yticks(range(len(bs)), [str(b) for b in bs])
        ax.set_xlabel("step size gamma")
        ax.set_ylabel("mini-batch size B")
        ax.set_title(title, fontsize=9)
        top = vmax or (np.nanmax(a) if np.any(np.isfinite(a)) else 1.0) or 1.0
        for (i, j), v in np.ndenumerate(a):
            text = labels.get((i, j), "") if labels is not None else "nan" if not np.isfinite(v) else f"{v:.2g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="w" if np.isfinite(v) and v < 0.6 * top else "k")
            if within is not None and within[i, j] == 1.0:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        fig.colorbar(im, ax=ax, label=cbar)
        fig.tight_layout()
        fig.savefig(d / fname, dpi=120)
        plt.close(fig)
        paths.append(d / fname)

    tol = spec.measure.tolerance
    for w in widths:
        sfx, wt = ("", "") if w < 0 else (f"_w{w}", f", width {w}")
        for desc in spec.claims:
            draw(grid_of(f"{desc}_median", w),
                 f"{desc}{wt}: median distance from the description\n(red box: every point within tolerance "
                 f"{tol:g})", "distance (0 = description holds)", grid_of(f"{desc}_within", w),
                 f"heatmap_{desc}{sfx}.png", None)
        for desc in spec.claims:
            if f"{desc}_decisions" not in summ[0]:
                continue
            tallies = {(i, j): decision_tally(r[f"{desc}_decisions"]).replace(", ", "\n") for i, j, r in cells(w)}
            draw(grid_of(f"{desc}_supported", w),
                 f"{desc}{wt}: decisions (controls measured at each point)\n"
                 "S supported, NS not supported, I inconclusive",
                 "fraction of points SUPPORTED", None, f"decision_{desc}{sfx}.png", 1.0, tallies)
        if "madelung" in spec.claims:
            draw(grid_of("madelung_within", w),
                 f"Madelung description within tolerance {tol:g}{wt}\n(fraction of the points in each cell)",
                 "fraction within", None, f"madelung_within{sfx}.png", 1.0)
    if len(widths) > 1:
        for desc in spec.claims:
            fig, ax = plt.subplots(figsize=(6.0, 4.0))
            for g in gs:
                for b in bs:
                    ys = [by_cell[(g, b, w)][f"{desc}_median"] if (g, b, w) in by_cell else np.nan
                          for w in widths]
                    ax.plot(widths, ys, "o-", label=f"gamma {g:g}, B {b}")
            ax.axhline(tol, color="red", ls="--", lw=1, label=f"tolerance {tol:g}")
            ax.set_xticks(widths)
            ms = spec.kind.measures
            ax.set_xlabel(f"width ({ms.width if ms is not None else 'hidden neurons'})")
            ax.set_ylabel("median distance")
            trained = dict(spec.task.values).get("trainable")  # not every kind with a width axis has the key
            ax.set_title(f"{desc}: distance against the number of neurons"
                         + (f" ({trained} trained)" if trained else ""), fontsize=9)
            if len(gs) * len(bs) <= 10:
                ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(d / f"width_{desc}.png", dpi=120)
            plt.close(fig)
            paths.append(d / f"width_{desc}.png")
    return paths
