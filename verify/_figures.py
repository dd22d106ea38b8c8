r"""Convergence figures: residual :math:`r` against refinement :math:`h` on log-log axes.

A study with expected order :math:`p` should follow :math:`r \propto h^{p}`: a straight line of slope ``p`` in
log-log axes. The figure shows the measured points, the reference line of slope ``p`` through the finest point
(where the tolerance is judged), and the tolerance at the finest level as a marked bar, so a reader sees both the
rate and the margin. The x axis is the refinement variable and the y axis the quantity plotted, both named from
the study's description; text is set in Computer Modern, the paper's font.

Figures are byte-reproducible: no creation date in the PDF, a fixed SVG hash salt (per claim, so several SVGs
inlined in one HTML page keep distinct element ids) and text kept as text in the SVG.

>>> conv = {"quantity": "grid spacing h", "expected_order": 2.0, "observed_order": 2.0,
...         "points": [[0.1, 1e-2], [0.05, 2.5e-3], [0.025, 6.25e-4]]}
>>> pdf = convergence_figure(conv, fmt="pdf", tolerance=1.3e-3, salt="demo")
>>> pdf[:5], pdf == convergence_figure(conv, fmt="pdf", tolerance=1.3e-3, salt="demo")
(b'%PDF-', True)
>>> svg = convergence_figure(conv, fmt="svg", tolerance=1.3e-3, salt="demo").decode()
>>> svg.lstrip().startswith("<svg"), "<?xml" in svg
(True, False)
"""

from __future__ import annotations

import io
import math
import re
from typing import Any, Mapping

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

#: rcParams under which every figure is drawn and saved (independent of a user's matplotlibrc): Computer Modern,
#: the paper's font (matplotlib ships it), at the size of the paper's \small once the figure is scaled in
_RC = {
    "font.family": "serif",
    "font.serif": ["cmr10"],
    "mathtext.fontset": "cm",
    "axes.formatter.use_mathtext": True,
    "axes.unicode_minus": False,
    "font.size": 10.0,
    "pdf.fonttype": 3,
    "svg.fonttype": "none",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "path.simplify": False,
}


def as_float(v: Any) -> float:
    """A report number (float, or the strings "nan"/"inf"/"-inf" the JSON report uses; None) as a float."""
    if v is None:
        return float("nan")
    if isinstance(v, str):
        return float(v) if v in ("nan", "inf", "-inf") else float("nan")
    return float(v)


def convergence_points(conv: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The (h, residual) pairs of a report's convergence entry, as floats (non-finite ones kept)."""
    return [(as_float(h), as_float(r)) for h, r in conv.get("points", [])]


def convergence_figure(conv: Mapping[str, Any], *, fmt: str, tolerance: float | None = None,
                       salt: str = "nnqg") -> bytes:
    """Draw the study ``conv`` (a report's ``convergence`` entry) as ``fmt`` = "pdf" or "svg"; return the bytes.

    Points with a non-finite or non-positive residual cannot be drawn on log axes; they are listed in the
    figure's note instead of silently dropped.
    """
    if fmt not in ("pdf", "svg"):
        raise ValueError(f"fmt must be 'pdf' or 'svg', got {fmt!r}")
    pts = convergence_points(conv)
    good = [(h, r) for h, r in pts if math.isfinite(h) and math.isfinite(r) and h > 0 and r > 0]
    bad = [(h, r) for h, r in pts if (h, r) not in good]
    p = as_float(conv.get("expected_order"))
    obs = as_float(conv.get("observed_order"))
    x_label, y_label = axis_labels(str(conv.get("quantity", "")))
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"nnqg-{salt}"}):
        fig = Figure(figsize=(4.6, 3.1))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if good:
            hs = [h for h, _ in good]
            rs = [r for _, r in good]
            ax.loglog(hs, rs, "o-", color="#1f5fa8", label=f"measured (order {_fmt(obs)})")
            if math.isfinite(p):
                h_f, r_f = good[-1]
                ref = [r_f * (h / h_f) ** p for h in hs]
                ax.loglog(hs, ref, "--", color="#777777", label=f"slope {p:g} (expected)")
            tol = as_float(tolerance)
            if math.isfinite(tol) and tol > 0:
                # the tolerance is a bound at the finest level: a short bar with its name beside it, not a
                # legend entry (it is not a curve)
                h_f = good[-1][0]
                ax.plot([h_f / 1.25, h_f * 1.25], [tol, tol], "-", color="#b22222", lw=2.0)
                ax.annotate("tolerance", (h_f * 1.3, tol), xytext=(2, 0), textcoords="offset points",
                            va="center", ha="left", fontsize=9, color="#b22222")
            ax.legend(loc="best", fontsize=9, frameon=False)
            _pad_log_x(ax, hs)
        else:
            ax.set_xscale("log")
            ax.set_yscale("log")
        if bad:
            ax.text(0.02, 0.02, "not drawn (non-finite or zero): " + ", ".join(f"h={_fmt(h)}" for h, _ in bad),
                    transform=ax.transAxes, fontsize=8, color="#b22222")
        for axis in (ax.xaxis, ax.yaxis):
            # plain tick labels ("0.002", "1e-05"): mathtext labels cost ~1 s of parsing per figure
            axis.set_major_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
            axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        # fixed margins wide enough for the labels (tight_layout costs ~1 s); the labels are short by
        # construction (axis_labels), so they are never cut
        fig.subplots_adjust(left=0.17, right=0.96, bottom=0.17, top=0.97)
        return _save(fig, fmt, salt)


def learning_figure(learn: Mapping[str, Any], *, fmt: str, salt: str = "nnqg") -> bytes:
    """A learning experiment at a glance: each measured distance and each control as a point with its error bar
    (``sigmas`` standard errors, the rule's width), the pre-registered threshold as a vertical line; the
    verdict of each row is its label's suffix. ``learn`` is a report's ``learning`` entry."""
    if fmt not in ("pdf", "svg"):
        raise ValueError(f"fmt must be 'pdf' or 'svg', got {fmt!r}")
    k = as_float(learn.get("sigmas"))
    k = k if math.isfinite(k) else 0.0
    rows = [(str(m.get("label", "")), m, "#1f5fa8") for m in learn.get("measured", [])]
    rows += [(str(m.get("label", "")), m, "#555555") for m in learn.get("controls", [])]
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"nnqg-{salt}"}):
        fig = Figure(figsize=(4.6, 1.0 + 0.5 * max(len(rows), 1)))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(rows)))[::-1]
        for y, (label, m, colour) in zip(ys, rows):
            d, se = as_float(m.get("distance")), as_float(m.get("se"))
            if math.isfinite(d):
                ax.errorbar([d], [y], xerr=[[k * se if math.isfinite(se) else 0.0]] * 2, fmt="o", color=colour,
                            capsize=3)
        thr = as_float(learn.get("threshold"))
        if math.isfinite(thr):
            ax.axvline(thr, color="#b22222", ls="--", lw=1.2)
            ax.annotate("threshold", (thr, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                        textcoords="offset points", va="top", fontsize=9, color="#b22222")
        ax.set_yticks(ys)
        ax.set_yticklabels([_wrap_label(_math(lab), m.get("status", "")) for lab, m, _ in rows], fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(_math(_short(f"distance ({learn.get('quantity', '')})", 60)) if learn.get("quantity")
                      else "distance (0: the equation holds)")
        fig.subplots_adjust(left=0.42, right=0.97, bottom=0.6 / fig.get_figheight(),
                            top=1 - 0.25 / fig.get_figheight())
        return _save(fig, fmt, salt)


def _wrap_label(label: str, status: str) -> str:
    """A row label in at most two lines of 28 characters, its verdict on a line of its own."""
    import textwrap

    lines = textwrap.wrap(label, 28) or [""]
    if len(lines) > 2:
        lines = [lines[0], _short(" ".join(lines[1:]), 28)]
    return "\n".join(lines) + (f"\n[{status}]" if status else "")


def axis_labels(quantity: str) -> tuple[str, str]:
    """(x label, y label) of a convergence study from its report description ``"<what> vs <refinement>"``:
    the x axis is the refinement variable, the y axis what is plotted, each cut to fit beside the axes.

    >>> axis_labels("SE-weighted rms residual vs h = N^-1/2")
    ('h = $N^{-1/2}$', 'SE-weighted rms residual')
    >>> axis_labels("")
    ('refinement h', 'residual')
    """
    what, _, ref = quantity.rpartition(" vs ")
    if not what:
        head, _, tail = quantity.rpartition(";")
        if head and re.match(r"\s*h\s*=", tail):  # "<what>, N ~ gamma^-2; h = gamma"
            what, ref = head, tail
        else:
            what, ref = quantity or "residual", "refinement h"
    return _math(_short(ref.strip(), 44)), _math(_short(_clauses(what.strip(), 34), 34))


def _clauses(text: str, n: int) -> str:
    """Drop trailing clauses (", ..." outside parentheses) until ``text`` has at most ``n`` characters."""
    while len(text) > n:
        depth, cut = 0, -1
        for i, ch in enumerate(text):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and text.startswith(", ", i):
                cut = i
        if cut <= 0:
            break
        text = text[:cut]
    return text


def _math(label: str) -> str:
    """Exponents in a label as mathtext (``N^-1/2`` -> :math:`N^{-1/2}`), ``~`` as :math:`\\sim`, underscores of
    identifiers as spaces (Computer Modern text has no underscore), the rest as text."""
    label = re.sub(r"(?<=[A-Za-z])_(?=[A-Za-z])", " ", label).replace(" ~ ", r" $\sim$ ")
    return re.sub(r"(\w)\^(-?[\w./]+)", lambda m: f"${m.group(1)}^{{{m.group(2)}}}$", label)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 3].rstrip() + "..."


def _pad_log_x(ax, hs) -> None:
    """Room right of the finest point for the tolerance's name (log axis: multiplicative padding)."""
    lo, hi = min(hs), max(hs)
    ax.set_xlim(lo / 1.6, hi * 1.3)


def _save(fig: Figure, fmt: str, salt: str) -> bytes:
    """The figure as reproducible bytes: a PDF without dates, or an SVG ready to inline (ids unique to ``salt``)."""
    buf = io.BytesIO()
    if fmt == "pdf":
        fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "ModDate": None})
        return buf.getvalue()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return _prefix_ids(_strip_svg_prolog(buf.getvalue().decode("utf-8")), salt).encode("utf-8")


def _prefix_ids(svg: str, salt: str) -> str:
    """Make every element id unique to this figure (``figure_1`` recurs in every matplotlib SVG; ids must be
    unique in an HTML page holding several), and rewrite the references to them."""
    pre = "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", salt) + "-"
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{pre}{m.group(1)}"', svg)
    return re.sub(r'(url\(#|href="#)([^)"]+)', lambda m: m.group(1) + (pre + m.group(2) if m.group(2) in ids
                                                                      else m.group(2)), svg)


def _strip_svg_prolog(svg: str) -> str:
    """Drop the XML declaration, DOCTYPE and comments so the SVG can be inlined in HTML."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return svg.strip() + "\n"


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "n/a"
