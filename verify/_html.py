r"""One self-contained HTML page of a verification run, for readers without TeX; Jupyter renderings.

The page holds the verdict table, each claim's derivation as presentation MathML (SymPy's printer, with the
paper's notation: :math:`p(t, q)` prints as :math:`p`; browsers render MathML natively) and each convergence
study as an inline SVG figure. Nothing is fetched: no scripts, fonts or style sheets from elsewhere. The same
verdicts and report give a byte-identical page.

>>> import sympy as sp
>>> t, q = sp.symbols("t q", real=True)
>>> mathml_block(sp.Derivative(sp.Function("p")(t, q), q) + sp.Symbol("gamma"), "C")  # doctest: +ELLIPSIS
'<div class="eq"><math display="block"><mrow><mi>C</mi><mo>=</mo><mrow><mi>&#947;</mi><mo>+</mo>...<mi>p</mi>...</math></div>'
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE

from nnqg.derivations import InvalidArgument

from ._figures import as_float, convergence_figure, learning_figure
from ._model import FAILED, NONFINITE, REPRODUCED, Claim, SymbolicResult, Verdict
from ._latex import Term, Terms, components, group_terms, signed_terms, tex_width
from ._paper import PART_TITLES, PARTS, ClaimRecord, _is_words, _words, file_stem, part_of, records_from_verdicts, \
    run_info, step_equations
from ._prose import check_families, prose_html, statement_tex, strip_implementation, tex_text_html
from ._report import atomic_write_text

_LATEX_UNICODE = {"nabla": "\u2207", "partial": "\u2202", "oint": "\u222e", "int": "\u222b", "hbar": "\u210f",
                  "cdot": "\u22c5", "infty": "\u221e", "sum": "\u2211", "sqrt": "\u221a", "Box": "\u25a1"}


def _unicode_name(name: str) -> str:
    r"""A symbol name that carries LaTeX (``\mathcal{L}``, ``\delta A/\delta F``) as plain Unicode text."""

    def script(m: re.Match[str]) -> str:
        c = m.group(1)
        for cand in (f"SCRIPT CAPITAL {c}", f"MATHEMATICAL SCRIPT CAPITAL {c}"):
            try:
                return unicodedata.lookup(cand)
            except KeyError:
                pass
        return c

    def command(m: re.Match[str]) -> str:
        cmd = m.group(1)
        if cmd in _LATEX_UNICODE:
            return _LATEX_UNICODE[cmd]
        for cand in (f"GREEK SMALL LETTER {cmd.upper()}", f"GREEK CAPITAL LETTER {cmd.upper()}"):
            if cmd[0].isupper() == ("CAPITAL" in cand):
                try:
                    return unicodedata.lookup(cand)
                except KeyError:
                    pass
        return cmd

    name = re.sub(r"\\math(?:cal|scr)\{([A-Z])\}", script, name)
    name = re.sub(r"\\(?:mathrm|text|operatorname)\{([^{}]*)\}", r"\1", name)
    name = re.sub(r"\\([A-Za-z]+)\s*", command, name)

    def script_chars(table: dict[str, str]) -> Any:
        def repl(m: re.Match[str]) -> str:
            body = m.group(1) if m.group(1) is not None else m.group(2)
            return "".join(table[c] for c in body) if body and all(c in table for c in body) else m.group(0)
        return repl

    name = re.sub(r"_\{([^{}]*)\}|_(\w)", script_chars(_SUB), name)
    name = re.sub(r"\^\{([^{}]*)\}|\^(\w)", script_chars(_SUP), name)
    return name.replace("{", "").replace("}", "").replace("\\,", " ")


_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_SUP = dict(zip("0123456789+-=()in", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱⁿ"))


class PaperMathMLPrinter(MathMLPresentationPrinter):
    """SymPy's presentation-MathML printer with the paper's notation (fields print as their names)."""

    def _print_AppliedUndef(self, expr: AppliedUndef) -> Any:
        if all(isinstance(a, sp.Symbol) for a in expr.args):
            return self._print(sp.Symbol(expr.func.__name__))
        return super()._print_Function(expr)

    def _print_Derivative(self, expr: sp.Derivative) -> Any:
        """:math:`\\partial_q^{2} p`, :math:`\\partial_t \\partial_q F` as in the paper (not d^2/dq^2 fractions)."""
        row = self.dom.createElement("mrow")
        for x, n in expr.variable_count:
            d = self.dom.createElement("mo")
            d.appendChild(self.dom.createTextNode("\u2202"))
            el = self.dom.createElement("msub" if n == 1 else "msubsup")
            el.appendChild(d)
            el.appendChild(self._print(x))
            if n != 1:
                el.appendChild(self._print(sp.Integer(n)))
            row.appendChild(el)
        inner = expr.expr
        if isinstance(inner, (AppliedUndef, sp.Symbol)):
            row.appendChild(self._print(inner))
        else:
            par = self.dom.createElement("mrow")
            for part in ("(", None, ")"):
                if part is None:
                    par.appendChild(self._print(inner))
                else:
                    mo = self.dom.createElement("mo")
                    mo.appendChild(self.dom.createTextNode(part))
                    par.appendChild(mo)
            row.appendChild(par)
        return row

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> Any:
        """A derivative of a field is one factor: no parentheses around it in a product (SymPy's MathML printer
        adds them, the LaTeX printer does not)."""
        if isinstance(item, sp.Derivative) and isinstance(item.expr, (AppliedUndef, sp.Symbol)) \
                and level < PRECEDENCE["Pow"]:  # the base of a power keeps them: (d_q p)^2
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _print_Named(self, sym: Any) -> Any:
        mi = self.dom.createElement("mi")
        mi.appendChild(self.dom.createTextNode(_unicode_name(sym._tex)))
        return mi

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain") -> Any:
        name = sym.name
        if name == "hbar":
            name = "\\hbar"
        if "\\" in name:
            mi = self.dom.createElement("mi")
            mi.appendChild(self.dom.createTextNode(_unicode_name(name)))
            return mi
        return super()._print_Symbol(sym, style)


def _suffix_mathml(suffix: str) -> str:
    """The differentials of a line-element term (``dt^{2}``, ``d\\theta\\, d\\phi``) as MathML."""
    out = []
    for m in re.finditer(r"d(\\[A-Za-z]+|[A-Za-z])(?:\^\{(\d)\})?", suffix):
        var = html.escape(_unicode_name(m.group(1)))
        base = f"<mi>d</mi><mi>{var}</mi>"
        out.append(f"<msup><mrow>{base}</mrow><mn>{m.group(2)}</mn></msup>" if m.group(2) else f"<mrow>{base}</mrow>")
    return "".join(out)


def _term_mathml(t: Term) -> str:
    c = "" if t.coeff == 1 else mathml(t.coeff)
    if isinstance(t.coeff, sp.Add):
        c = f"<mrow><mo>(</mo>{c}<mo>)</mo></mrow>"
    return c + _suffix_mathml(t.suffix)


def mathml(expr: Any) -> str:
    """Presentation MathML (the inner content, no ``<math>``) of a SymPy object, in the paper's notation."""
    if isinstance(expr, str):  # a step stated in words: text, never parsed
        return f"<mtext>{html.escape(expr)}</mtext>"
    if isinstance(expr, Term):
        return _term_mathml(expr)
    if isinstance(expr, Terms):
        return "".join((f"<mo>{_MO['-']}</mo>" if t.sign == "-" else ("<mo>+</mo>" if i else ""))
                       + _term_mathml(t) for i, t in enumerate(expr))
    out = PaperMathMLPrinter().doprint(expr if isinstance(expr, sp.Basic) else sp.sympify(expr, strict=True))
    return out.replace("<mo>-</mo>", "<mo>&#8722;</mo>")  # a minus sign, not a hyphen


#: width of one line of an HTML equation, in :func:`~nnqg.verify._paper.tex_width` units
HTML_LINE_BUDGET = 70.0


def mathml_block(rhs: Any, lhs: Any | None = None, suffix: str = "") -> str:
    """``lhs = rhs`` (``rhs`` alone when ``lhs`` is None) as display MathML; ``lhs`` may be a SymPy object or
    prepared MathML text; ``suffix`` is appended MathML (e.g. ``<mo>=</mo><mn>0</mn>``).

    Browsers do not break long formulas, so a long sum is split at its top-level terms (the paper's width
    estimate) into one ``<math>`` per line, continuation lines indented, inside ``<div class="eq">``.
    """
    left = "" if lhs is None else (lhs if isinstance(lhs, str) and lhs.startswith("<") else mathml(
        sp.Symbol(lhs) if isinstance(lhs, str) else lhs)) + "<mo>=</mo>"
    terms = signed_terms(rhs) if isinstance(rhs, (sp.Basic, str, Terms)) else [("", rhs, "")]
    lines = group_terms([tex_width(f"{sg} {tex}") for sg, _, tex in terms], HTML_LINE_BUDGET)
    if len(lines) == 1:
        body = [f"{left}{mathml(rhs)}{suffix}"]
    else:
        body = []
        for k, idx in enumerate(lines):
            row = "".join((f"<mo>{_MO[terms[i][0]]}</mo>" if terms[i][0] else "") + mathml(terms[i][1]) for i in idx)
            body.append((left if k == 0 else "") + row + (suffix if k == len(lines) - 1 else ""))
    cls = ['<math display="block">'] + ['<math display="block" class="cont">'] * (len(body) - 1)
    maths = [f"{c}<mrow>{b}</mrow></math>" for c, b in zip(cls, body)]
    return '<div class="eq">' + "".join(maths) + "</div>"


_MO = {"+": "+", "-": "&#8722;"}


def _lhs_mathml(lhs_tex: str | None) -> str | None:
    """The left-hand side the paper prints (LaTeX of a symbol with an optional index) as MathML."""
    if lhs_tex is None:
        return None
    m = re.fullmatch(r"(.*?)_\{([^{}]*)\}", lhs_tex)
    if m and not m.group(1).startswith("\\left("):
        base, idx = m.group(1), m.group(2)
        return f"<msub><mi>{html.escape(_unicode_name(base))}</mi><mi>{html.escape(_unicode_name(idx))}</mi></msub>"
    m = re.fullmatch(r"\\left\((.*)\\right\)_\{([^{}]*)\}", lhs_tex)
    if m:
        return (f"<msub><mrow><mo>(</mo><mi>{html.escape(_unicode_name(m.group(1)))}</mi><mo>)</mo></mrow>"
                f"<mi>{html.escape(_unicode_name(m.group(2)))}</mi></msub>")
    if lhs_tex == "ds^{2}":
        return "<msup><mrow><mi>d</mi><mi>s</mi></mrow><mn>2</mn></msup>"
    return f"<mi>{html.escape(_unicode_name(lhs_tex))}</mi>"


def step_blocks(step: Any) -> list[str]:
    """The MathML of one derivation step: the same equations as the paper (a metric as its line element, other
    matrices per component labelled by their index names)."""
    if step.lhs is not None and not isinstance(step.rhs, (sp.MatrixBase, sp.NDimArray, tuple, list)) \
            and not isinstance(step.rhs, sp.Equality):
        return [mathml_block(step.rhs, step.lhs)]
    return [mathml_block(rhs, _lhs_mathml(lhs)) for lhs, rhs in step_equations(step, "")]


# --------------------------------------------------------------------------------------------------- the page

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; } h4 { font-size: 1rem; margin: 1rem 0 0.3rem; }
table.verdicts { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
table.verdicts th, table.verdicts td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left;
       vertical-align: top; }
td.reason { font-size: 0.82rem; min-width: 22rem; }
td.claim { min-width: 11rem; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: 0.92em; }
.status { font-weight: bold; padding: 0.05rem 0.4rem; border-radius: 0.25rem; color: #fff; white-space: nowrap; }
.PASSED, .SUPPORTED, .EXACT { background: #2e7d32; } .REPRODUCED { background: #00838f; }
.FAILED, .NOT-SUPPORTED { background: #c62828; } .INCONCLUSIVE { background: #b26a00; }
.NOT-RUN, .NOT-TESTED { background: #616161; }
.NONFINITE { background: #8e24aa; }
math[display="block"] { display: block; overflow-x: auto; overflow-y: hidden; padding: 0.35rem 0;
       font-size: 1.1rem; }
.step-title { margin: 0.6rem 0 0; }
div.eq { margin: 0.2rem 0; } math.cont { padding-left: 3em; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #444; }
.note { color: #8a4b00; }
""" + "\n"
#: inline math of the prose (also in Jupyter, where the page's style sheet is absent)
_MATH_CSS = ('span.m { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", serif; '
             "font-style: italic; white-space: nowrap; }")
_CSS += _MATH_CSS + "\n"

_PART_TITLES = PART_TITLES


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _num(x: Any) -> str:
    if x is None:
        return "&#8211;"
    v = as_float(x)
    return _e(f"{v:.3g}")


def _breakable(cid: str) -> str:
    """A claim id that may wrap after its dots and underscores (and nowhere else)."""
    return _e(cid).replace(".", ".<wbr>").replace("_", "_<wbr>")


def _status(s: str) -> str:
    return f'<span class="status {_e(s.replace(" ", "-"))}">{_e(s)}</span>'


def _anchor(cid: str) -> str:
    return "claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", cid)


def verdict_table_html(records: Sequence[ClaimRecord]) -> str:
    """The verdict table: one row per claim (linking to its section), its three parts side by side."""
    rows = []
    for r in records:
        rows.append(f'<tr><td class="claim"><a href="#{_anchor(r.claim.id)}"><code>{_breakable(r.claim.id)}</code></a></td>'
                    f"<td>{_e((r.entry.get('derivation') or {}).get('status', '?'))}</td>"
                    f"<td>{_status(r.cal.get('status', 'NOT RUN'))}</td>"
                    f"<td>{_status(r.learn.get('status', 'NOT TESTED'))}</td>"
                    f'<td class="reason">{_e(r.entry.get("headline", ""))}</td></tr>')
    return ('<table class="verdicts"><thead><tr><th>claim</th><th>derivation</th><th>calibration</th>'
            "<th>learning evidence</th><th>in words</th></tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>")


def symbolic_html(claim: Claim, sym: SymbolicResult) -> str:
    """A claim's derivation steps (MathML) and its symbolic checks."""
    out = []
    if sym.steps:
        out.append("<h4>Derivation</h4><ol class=\"steps\">")
        for s in sym.steps:
            title = prose_html(strip_implementation(s.title)) + (f" ({prose_html(s.note)})" if s.note else "")
            if _is_words(s):
                out.append(f'<li><p class="step-title">{title}: {prose_html(_words(s))}.</p></li>')
                continue
            out.append(f'<li><p class="step-title">{title}</p>' + "".join(step_blocks(s)) + "</li>")
        out.append("</ol>")
    fams = check_families(sym.checks, sym.facts)
    out.append(f"<h4>Checks: {len(sym.checks)} identities, {len(sym.facts)} facts "
               f"({'all exact' if sym.ok else 'not all exact'})</h4><ul>")
    for f in fams:
        where = "; ".join(prose_html(i) for i in f.instances[:4]) + (
            f"; {len(f.instances)} cases in all" if len(f.instances) > 4 else "")
        status = ("shown" if f.fact else "0") if f.ok else "<strong>fails</strong>"
        out.append(f"<li>{prose_html(f.text)}: {status} ({f.n}{': ' + where if where else ''})</li>")
    for lab, e in sym.checks:
        if e != 0:
            out.append(f"<li>{prose_html(strip_implementation(lab))}: does <strong>not</strong> reduce to 0; "
                       "remainder " + mathml_block(e) + "</li>")
    if not sym.checks and not sym.facts:
        out.append("<li>(no symbolic check registered)</li>")
    out.append("</ul>")
    return "\n".join(out)


def numeric_html(rec: ClaimRecord, figures: bool = True) -> str:
    """The calibration (residual, tolerance, observed order, power, the convergence figure as inline SVG) and the
    learning evidence of one claim."""
    c, e = rec.claim, rec.cal
    out = ["<h4>Calibration (constructed solutions)</h4>"]
    if e.get("status", "NOT RUN") == "NOT RUN" or e.get("max_residual") is None:
        out.append(f"<p>{_status('NOT RUN')} {prose_html(e.get('reason', c.calibration_note))}.</p>")
        return "\n".join(out) + learning_html(rec)
    if e.get("system"):
        out.append(f"<p>System: {prose_html(e['system'])}.</p>")
    conv = e.get("convergence")
    s = (f"{_status(e.get('status', '?'))} Maximum residual {_num(e.get('max_residual'))}, tolerance "
         f"{_num(e.get('tolerance'))}")
    if conv:
        s += (f"; observed order {_num(conv.get('observed_order'))} (expected {_num(conv.get('expected_order'))}) "
              f"over {len(conv.get('points', []))} refinements of {_e(conv.get('quantity', 'h'))}")
    out.append(f"<p>{s}.</p>")
    if e.get("rule"):
        out.append(f"<p>Decision rule: {prose_html(e['rule'])}.</p>")
    for k, v in sorted((e.get("power") or {}).items()):
        out.append(f"<p>Power: {prose_html(k)} is detected from {_num(v)}.</p>")
    if e.get("where"):
        out.append(f"<p>Details: {prose_html(e['where'])}.</p>")
    if figures and conv and conv.get("points"):
        svg = convergence_figure(conv, fmt="svg", tolerance=as_float(e.get("tolerance")), salt=c.id).decode()
        out.append(f"<figure>{svg}<figcaption>Calibration: {prose_html(conv.get('quantity', 'residual'))}, "
                   "log-log; dashed: the expected slope through the finest point; the red bar marks the tolerance "
                   "at the finest level.</figcaption></figure>")
    return "\n".join(out) + learning_html(rec)


def learning_html(rec: ClaimRecord) -> str:
    """The learning evidence of one claim: verdict, system, measured distances, controls."""
    e = rec.learn
    out = ["<h4>Learning evidence</h4>",
           f"<p>{_status(e.get('status', 'NOT TESTED'))} {prose_html(e.get('reason', ''))}.</p>"]
    if e.get("status", "NOT TESTED") != "NOT TESTED":
        out.append(f"<p>Learning system: {prose_html(e.get('system', ''))}. Measured: "
                   f"{prose_html(e.get('quantity', ''))}; threshold {_num(e.get('threshold'))} at "
                   f"{_num(e.get('sigmas'))} standard errors; the smallest distance declared NOT SUPPORTED at "
                   f"these sizes is {_num(e.get('power'))}."
                   + (f" Pre-registration: {prose_html(e['preregistration'])}." if e.get("preregistration") else "")
                   + "</p>")
        rows = [(m, "measured") for m in e.get("measured", [])] + [(m, "control") for m in e.get("controls", [])]
        if rows:
            out.append('<table class="verdicts"><thead><tr><th>measurement</th><th>distance</th><th>SE</th>'
                       "<th>verdict</th></tr></thead><tbody>" + "".join(
                           f"<tr><td>{prose_html(m.get('label', ''))}</td><td class=\"num\">{_num(m.get('distance'))}"
                           f"</td><td class=\"num\">{_num(m.get('se'))}</td><td>"
                           f"{_status(m.get('status', '') or '--')}</td></tr>" for m, _ in rows) + "</tbody></table>")
            svg = learning_figure(e, fmt="svg", salt="learning-" + rec.claim.id).decode()
            out.append(f"<figure>{svg}<figcaption>Learning evidence: each distance with its error bar "
                       f"({_num(e.get('sigmas'))} standard errors) and the threshold (dashed).</figcaption></figure>")
    return "\n".join(out)


def claim_section_html(rec: ClaimRecord) -> str:
    c, e = rec.claim, rec.entry
    out = [f'<section class="claim" id="{_anchor(c.id)}">',
           f"<h3><code>{_e(c.id)}</code> {_status(rec.status)}</h3>",
           f"<p><em>{_e(rec.headline)}. Theory: docs/theory.md, section {_e(c.section)}"
           + ("; registered counterexample" if c.counterexample else "") + f".</em></p>",
           f"<p><strong>Claim.</strong> {tex_text_html(statement_tex(c.id, c.statement))}</p>"]
    if c.assumptions:
        out.append("<h4>Assumptions</h4><ul>" + "".join(f"<li>{prose_html(a)}</li>" for a in c.assumptions)
                   + "</ul>")
    out.append(symbolic_html(c, rec.derivation))
    out.append(numeric_html(rec))
    out.append(f"<p><strong>Verdict</strong> {_status(rec.status)} {prose_html(e.get('reason', ''))}. "
               f"Source hash <code>{_e(str(e.get('source_hash', ''))[:16])}</code>.</p>")
    if rec.stale:
        out.append('<p class="note">The report entry was produced from a different version of this claim\'s '
                   "source than the derivation shown; rerun <code>nnqg verify</code>.</p>")
    out.append("</section>")
    return "\n".join(out)


def html_page(records: Sequence[ClaimRecord], report: Mapping[str, Any]) -> str:
    """The whole self-contained page."""
    info = run_info(report)
    vers = ", ".join(f"{_e(k)} {_e(v)}" for k, v in sorted(info.versions.items()))
    bad = [r for r in records if r.status in (FAILED, NONFINITE)]
    repro = [r for r in records if r.status == REPRODUCED]
    learn: dict[str, int] = {}
    for r in records:
        st = str(r.learn.get("status", "NOT TESTED"))
        learn[st] = learn.get(st, 0) + 1
    summary = (f"{len(records)} claims. The program's checks (derivation and calibration): "
               f"{len(records) - len(bad) - len(repro)} passed, {len(bad)} failed or non-finite, {len(repro)} "
               f"registered counterexample(s) reproduced. Learning evidence: "
               + ", ".join(f"{n} {st}" for st, n in sorted(learn.items())) + ".")
    body = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>nnqg verify report</title>", f"<style>{_CSS}</style></head><body>",
        "<header><h1>nnqg verify: Towards a theory of quantum gravity from neural networks</h1>",
        f"<p>Seed {_e(info.seed)}, {'quick' if info.quick else 'full'} size profile"
        + ("" if info.calibration else ", symbolic checks only") + f"; {vers}.</p>",
        f"<p>{_e(summary)}</p></header>",
        "<h2>Verdicts</h2>", verdict_table_html(records),
    ]
    for part in PARTS:
        rs = [r for r in records if part_of(r.claim) == part]
        if rs:
            body.append(f"<h2>{_e(_PART_TITLES[part])}</h2>")
            body += [claim_section_html(r) for r in rs]
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def write_html(verdicts: Sequence[Verdict], report_dict: Mapping[str, Any], path: Path) -> None:
    """Write the HTML page of ``verdicts`` (numbers from ``report_dict``, as built by ``build_report``)."""
    path = Path(path)
    if path.is_dir():
        raise InvalidArgument(f"--html {str(path)!r} is a directory; give a file name such as report.html")
    atomic_write_text(path, html_page(records_from_verdicts(verdicts, report_dict), report_dict))


# -------------------------------------------------------------------------------------------- Jupyter (HTML)


def claim_repr_html(claim: Claim) -> str:
    """``Claim._repr_html_``: statement, assumptions and the derivation with the default inputs (MathML)."""
    sym = claim.derivation(claim.default_inputs())
    return (f"<div><p><code>{_e(claim.id)}</code> (docs/theory.md, section {_e(claim.section)}): "
            f"{tex_text_html(statement_tex(claim.id, claim.statement))}</p>"
            + ("<ul>" + "".join(f"<li>{prose_html(a)}</li>" for a in claim.assumptions) + "</ul>" if claim.assumptions
               else "") + f'<style>{_MATH_CSS}</style>' + symbolic_html(claim, sym) + "</div>")


def verdict_repr_html(verdict: Verdict) -> str:
    """``Verdict._repr_html_``: the claim's section as on the HTML page, figure included."""
    from ._report import build_report

    rep = build_report([verdict], seed=0, quick=False)
    return claim_section_html(records_from_verdicts([verdict], rep)[0])


@dataclass(frozen=True)
class ReportView:
    """A run for Jupyter: ``ReportView(verdicts, report)`` renders the verdict table (``_repr_html_``,
    ``_repr_latex_``); :meth:`page` is the whole page :func:`write_html` writes."""

    verdicts: tuple[Verdict, ...]
    report: Mapping[str, Any]

    def _repr_html_(self) -> str:
        return verdict_table_html(records_from_verdicts(self.verdicts, self.report))

    def _repr_latex_(self) -> str:
        rows = [r"\text{%s} & \text{%s} & \text{%s} & \text{%s}" % (
            e["id"].replace("_", r"\_"), (e.get("derivation") or {}).get("status", "?"),
            (e.get("calibration") or {}).get("status", "NOT RUN"), (e.get("learning") or {}).get("status", "NOT TESTED"))
            for e in self.report.get("claims", [])]
        return ("$$\\begin{array}{llll}\\text{claim} & \\text{derivation} & \\text{calibration} & "
                "\\text{learning} \\\\ \\hline\n" + " \\\\\n".join(rows) + "\n\\end{array}$$")

    def page(self) -> str:
        return html_page(records_from_verdicts(self.verdicts, self.report), self.report)


def _latex_num(x: Any) -> str:
    if x is None:
        return "-"
    v = as_float(x)
    return sp.latex(sp.Float(v, 3)) if v == v and abs(v) != float("inf") else r"\text{%s}" % x


__all__ = ["PaperMathMLPrinter", "ReportView", "claim_repr_html", "html_page", "mathml", "mathml_block",
           "verdict_repr_html", "write_html"]
