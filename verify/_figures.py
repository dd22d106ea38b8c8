r"""Convergence figures: residual :math:`r` against refinement :math:`h` on log-log axes.

A study with expected order :math:`p` should follow :math:`r \propto h^{p}`: a straight line of slope ``p`` in
log-log axes. The figure shows the measured points, the reference line of slope ``p`` through the finest point
(where the tolerance is judged), and the tolerance at the finest level, so a reader sees both the rate and the
margin.

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

#: rcParams under which every figure is drawn and saved (independent of a user's matplotlibrc)
_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
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
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"nnqg-{salt}"}):
        fig = Figure(figsize=(4.6, 3.0))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if good:
            hs = [h for h, _ in good]
            rs = [r for _, r in good]
            ax.loglog(hs, rs, "o-", color="#1f5fa8", label=f"residual (observed order {_fmt(obs)})")
            if math.isfinite(p):
                h_f, r_f = good[-1]
                ref = [r_f * (h / h_f) ** p for h in hs]
                ax.loglog(hs, ref, "--", color="#777777", label=f"slope {p:g} (expected)")
            tol = as_float(tolerance)
            if math.isfinite(tol) and tol > 0:
                ax.loglog([good[-1][0]], [tol], "v", color="#b22222", label="tolerance at finest h")
            ax.legend(loc="best", fontsize=8, frameon=False)
        else:
            ax.set_xscale("log")
            ax.set_yscale("log")
        if bad:
            ax.text(0.02, 0.02, "not drawn (non-finite or zero): " + ", ".join(f"h={_fmt(h)}" for h, _ in bad),
                    transform=ax.transAxes, fontsize=7, color="#b22222")
        for axis in (ax.xaxis, ax.yaxis):
            # plain tick labels ("0.002", "1e-05"): mathtext labels cost ~1 s of parsing per figure
            axis.set_major_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
            axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
        ax.set_xlabel(f"refinement: {conv.get('quantity', 'h')}")
        ax.set_ylabel("max residual")
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.15, top=0.97)  # fixed: tight_layout costs ~1 s
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
